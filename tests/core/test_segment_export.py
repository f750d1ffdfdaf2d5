"""Saving a moment as its own video: a frame-exact cut with sound, clear errors, no leftovers."""

from __future__ import annotations

import os
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from core.clips import (  # noqa: E402
    SegmentExportCancelled,
    SegmentExportError,
    save_segment,
    suggest_name,
    video_encoder,
)

FPS = 25
RATE = 44100
COLOURS = [(230, 30, 30), (30, 200, 30), (30, 30, 230), (230, 230, 30), (30, 230, 230),
           (230, 30, 230), (250, 250, 250), (128, 64, 0), (0, 0, 0), (100, 100, 100)]  # fmt: skip


def tone(second: int) -> float:
    """Each second of the sound track has its own pitch, so the cut can be heard to be right."""
    return 300.0 + 100.0 * second


def make_source(
    path: Path, seconds: int = 10, audio: bool = True, rotation: int | None = None
) -> Path:
    """Each second its own colour; one keyframe every 10 s, so a keyframe cut would be wrong."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = 160, 120, "yuv420p"
        v.codec_context.gop_size = 250
        v.options = {"keyint": "250", "min-keyint": "250", "sc_threshold": "0"}
        if rotation is not None:
            v.set_display_rotation(rotation)
        a = out.add_stream("aac", rate=RATE) if audio else None
        if a is not None:
            a.layout = "stereo"
        for i in range(seconds * FPS):
            img = np.empty((120, 160, 3), np.uint8)
            img[:] = COLOURS[(i // FPS) % len(COLOURS)]
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            for p in v.encode(frame):
                out.mux(p)
        if a is not None:
            n = 1024
            for k in range(seconds * RATE // n):
                idx = np.arange(n) + k * n
                pitch = tone(0) + (tone(1) - tone(0)) * (idx // RATE)
                wave = (0.2 * np.sin(2 * np.pi * pitch * idx / RATE)).astype(np.float32)
                af = av.AudioFrame.from_ndarray(np.stack([wave, wave]), "fltp", "stereo")
                af.sample_rate, af.pts, af.time_base = RATE, k * n, Fraction(1, RATE)
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode(None):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    return path


class Clip:
    def __init__(self, path: Path) -> None:
        with av.open(str(path)) as c:
            self.format = c.format.name
            self.frames = []
            self.rotation = 0
            for f in c.decode(video=0):
                self.rotation = f.rotation
                self.frames.append(f.to_ndarray(format="rgb24"))
        self.seconds = len(self.frames) / FPS
        self.sound = None
        with av.open(str(path)) as c:
            if c.streams.audio:
                self.rate = c.streams.audio[0].codec_context.sample_rate
                self.channels = c.streams.audio[0].codec_context.channels
                self.sound = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])

    def colour_of(self, i: int) -> int:
        mean = self.frames[i].astype(int).mean(axis=(0, 1))
        return int(np.argmin([np.abs(mean - c).max() for c in COLOURS]))

    def pitch(self, start: float, end: float) -> float:
        assert self.sound is not None
        part = self.sound[int(start * self.rate) : int(end * self.rate)]
        spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))
        return float(np.fft.rfftfreq(len(part), 1 / self.rate)[spectrum.argmax()])


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return make_source(tmp_path_factory.mktemp("src") / "party.mp4")


def test_the_cut_is_frame_exact_and_keeps_the_sound_in_step(source, tmp_path) -> None:
    seen: list[float] = []
    out = save_segment(source, 3.0, 5.0, tmp_path / "clip.mp4", on_progress=seen.append)
    assert out == tmp_path / "clip.mp4"
    clip = Clip(out)
    assert abs(clip.seconds - 2.0) <= 1 / FPS
    # A keyframe cut would start at second 0 (red); a frame-exact one at second 3.
    assert clip.colour_of(0) == 3 and clip.colour_of(-1) == 4
    assert clip.sound is not None and clip.channels == 2 and clip.rate == RATE
    assert abs(len(clip.sound) / RATE - 2.0) < 0.05
    # The sound is cut at the same place: second 3's pitch at the start, second 4's at the end.
    assert abs(clip.pitch(0.05, 0.45) - tone(3)) < 10
    assert abs(clip.pitch(1.55, 1.95) - tone(4)) < 10
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 5
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary file left


def test_a_start_between_frames_begins_with_the_frame_on_screen(source, tmp_path) -> None:
    clip = Clip(save_segment(source, 2.99, 4.0, tmp_path / "clip.mp4"))
    # 2.99 s is inside the last frame of second 2 (2.96–3.00): that frame comes first.
    assert clip.colour_of(0) == 2 and clip.colour_of(1) == 3 and clip.colour_of(-1) == 3
    assert len(clip.frames) == 26


def test_an_end_past_the_video_is_clamped(source, tmp_path) -> None:
    clip = Clip(save_segment(source, 8.0, 60.0, tmp_path / "tail.mp4"))
    assert abs(clip.seconds - 2.0) <= 1 / FPS
    assert clip.colour_of(0) == 8 and clip.colour_of(-1) == 9
    assert clip.sound is not None and abs(len(clip.sound) / RATE - 2.0) < 0.05


def test_video_without_sound_and_other_containers(tmp_path) -> None:
    src = make_source(tmp_path / "silent.mp4", seconds=4, audio=False, rotation=90)
    for name, fmt in (("out.mkv", "matroska"), ("out.mov", "mov")):
        clip = Clip(save_segment(src, 1.0, 3.0, tmp_path / name))
        assert fmt in clip.format
        assert clip.sound is None and abs(clip.seconds - 2.0) <= 1 / FPS
        assert clip.colour_of(0) == 1 and clip.colour_of(-1) == 2
    # A portrait phone video stays portrait: the rotation travels with the clip.
    assert Clip(tmp_path / "out.mov").rotation == 90


def test_bad_requests_say_why(source, tmp_path) -> None:
    cases = [
        ((source, 5, 5, tmp_path / "a.mp4"), "after the start"),
        ((source, 30, 40, tmp_path / "a.mp4"), r"only 10\.0 s long"),
        ((source, 1, 2, source), "overwrite the video"),
        ((source, 1, 2, source.parent / "." / source.name), "overwrite the video"),
        ((tmp_path / "gone.mp4", 0, 1, tmp_path / "a.mp4"), "no such video"),
        ((source, 1, 2, tmp_path / "no" / "such" / "a.mp4"), "cannot write to the folder"),
        ((source, 1, 2, tmp_path / "a.gif"), r"cannot save as \.gif"),
        ((source, 1, 2, tmp_path), "is a folder"),
    ]
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    cases.append(((junk, 0, 1, tmp_path / "b.mp4"), r"junk\.mp4 is not a video"))
    for args, message in cases:
        with pytest.raises(SegmentExportError, match=message) as info:
            save_segment(*args)
        assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.mp4"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs folder permissions")
def test_a_read_only_folder_is_refused(source, tmp_path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(SegmentExportError, match="cannot write to the folder"):
            save_segment(source, 1, 2, locked / "a.mp4")
    finally:
        locked.chmod(0o700)


def test_cancel_leaves_nothing_and_keeps_an_older_file(source, tmp_path) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(SegmentExportCancelled):
        save_segment(source, 1, 8, tmp_path / "c.mp4", cancel=stop)
    assert list(tmp_path.iterdir()) == []

    older = tmp_path / "c.mp4"
    older.write_bytes(b"the user's older file")
    stop = threading.Event()
    seen: list[float] = []

    def progress(fraction: float) -> None:
        seen.append(fraction)
        if fraction > 0.3:
            stop.set()  # halfway through writing

    with pytest.raises(SegmentExportCancelled):
        save_segment(source, 1, 9, older, on_progress=progress, cancel=stop)
    assert 0.3 < seen[-1] < 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["c.mp4"]
    assert older.read_bytes() == b"the user's older file"
    # Without a cancel the older file is replaced.
    assert Clip(save_segment(source, 1, 2, older)).colour_of(0) == 1


def test_encoder_and_suggested_name() -> None:
    assert video_encoder() in {"libx264", "libopenh264", "mpeg4"}
    assert suggest_name("/v/birthday.mov", 83.4, 91) == "birthday_00-01-23_to_00-01-31.mp4"
    assert suggest_name("/v/trip.mp4", 3725, 3730.5) == "trip_01-02-05_to_01-02-10.mp4"
