"""Saving a moment as its own video: a frame-exact cut with sound, clear errors, no leftovers."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from core.segment_export import (  # noqa: E402
    SegmentExportCancelled,
    SegmentExportError,
    save_segment,
    suggest_name,
)

FPS = 25
COLOURS = [(230, 30, 30), (30, 200, 30), (30, 30, 230), (230, 230, 30), (30, 230, 230),
           (230, 30, 230), (250, 250, 250), (128, 64, 0), (0, 0, 0), (100, 100, 100)]  # fmt: skip


def make_source(path: Path, seconds: int = 10, audio: bool = True) -> Path:
    """Each second its own colour; a keyframe only every 10 s, so a keyframe cut would be wrong."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = 160, 120, "yuv420p"
        v.codec_context.gop_size = 250
        v.options = {"keyint": "250", "min-keyint": "250", "sc_threshold": "0"}
        a = out.add_stream("aac", rate=44100) if audio else None
        if a is not None:
            a.layout = "stereo"
        for i in range(seconds * FPS):
            img = np.empty((120, 160, 3), np.uint8)
            img[:] = COLOURS[(i // FPS) % len(COLOURS)]
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for p in v.encode(frame):
                out.mux(p)
        if a is not None:
            n = 1024
            for k in range(seconds * 44100 // n):
                t = (np.arange(n) + k * n) / 44100
                wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
                af = av.AudioFrame.from_ndarray(
                    np.stack([wave, wave]), format="fltp", layout="stereo"
                )
                af.sample_rate, af.pts, af.time_base = 44100, k * n, Fraction(1, 44100)
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode(None):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    return path


def read(path: Path) -> tuple[list[np.ndarray], float, float | None]:
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        audio = None
        if c.streams.audio:
            samples = sum(f.samples for f in c.decode(audio=0))
            audio = samples / c.streams.audio[0].codec_context.sample_rate
    return frames, len(frames) / FPS, audio


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return make_source(tmp_path_factory.mktemp("src") / "party.mp4")


def test_the_cut_is_frame_exact_and_keeps_the_sound(source, tmp_path) -> None:
    seen = []
    out = save_segment(source, 3.0, 5.0, tmp_path / "clip.mp4", on_progress=seen.append)
    frames, seconds, audio = read(out)
    assert abs(seconds - 2.0) <= 1 / FPS
    assert np.abs(frames[0].astype(int).mean(axis=(0, 1)) - COLOURS[3]).max() < 25  # second 3
    assert np.abs(frames[-1].astype(int).mean(axis=(0, 1)) - COLOURS[4]).max() < 25  # second 4
    assert audio is not None and abs(audio - 2.0) < 0.15
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary file left


def test_video_without_sound(tmp_path) -> None:
    src = make_source(tmp_path / "silent.mp4", seconds=4, audio=False)
    _frames, seconds, audio = read(save_segment(src, 1.0, 3.0, tmp_path / "out.mp4"))
    assert audio is None and abs(seconds - 2.0) <= 1 / FPS


def test_errors_and_cancel_leave_nothing(source, tmp_path) -> None:
    with pytest.raises(SegmentExportError, match="after the start"):
        save_segment(source, 5, 5, tmp_path / "a.mp4")
    with pytest.raises(SegmentExportError, match=r"only 10\.0 s long"):
        save_segment(source, 30, 40, tmp_path / "a.mp4")
    with pytest.raises(SegmentExportError, match="overwrite"):
        save_segment(source, 1, 2, source)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(SegmentExportError, match=r"junk\.mp4"):
        save_segment(junk, 0, 1, tmp_path / "b.mp4")
    stop = threading.Event()
    stop.set()
    with pytest.raises(SegmentExportCancelled):
        save_segment(source, 1, 8, tmp_path / "c.mp4", cancel=stop)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.mp4"]


def test_suggested_name() -> None:
    assert suggest_name("/v/birthday.mov", 83.4, 91) == "birthday_00-01-23_to_00-01-31.mp4"
