"""Frame sampling by timestamp on videos written by OpenCV."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.ingest.sample import SamplingError, probe, sample_frames


def _write_video(path: Path, seconds: float, fps: float, size=(96, 64)) -> Path:
    """Frame i is filled with grey level (i * 5) % 250, so a frame's index can be read back."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for i in range(int(seconds * fps)):
        writer.write(np.full((size[1], size[0], 3), (i * 5) % 250, np.uint8))
    writer.release()
    return path


def test_one_frame_per_second_at_the_right_times(tmp_path) -> None:
    video = _write_video(tmp_path / "clip.mp4", seconds=5, fps=10)
    info = probe(video)
    assert (info.width, info.height, info.frame_count) == (96, 64, 50)
    assert info.fps == pytest.approx(10) and info.duration == pytest.approx(5)
    frames = list(sample_frames(video, rate=1.0))
    assert [round(f.t, 2) for f in frames] == [0.0, 1.0, 2.0, 3.0, 4.0]
    for k, frame in enumerate(frames):
        assert frame.rgb.shape == (64, 96, 3) and frame.rgb.dtype == np.uint8
        # frame index 10k -> grey level 50k % 250 (lossy codec: allow a small error)
        assert abs(float(frame.rgb.mean()) - (10 * k * 5) % 250) < 6


def test_higher_rate_and_odd_fps(tmp_path) -> None:
    video = _write_video(tmp_path / "odd.mp4", seconds=3, fps=7)
    times = [f.t for f in sample_frames(video, rate=2.0)]
    assert len(times) == 6
    assert all(abs(t - k * 0.5) <= 1 / 7 + 1e-6 for k, t in enumerate(times))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\x00\x01garbage" * 1000, "decode"),
        (b"hello, I am a text file\n", "decode"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path, content, message) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(SamplingError, match=message):
        list(sample_frames(bad))
    with pytest.raises(SamplingError):
        probe(bad)


def test_truncated_video_yields_what_decodes_or_a_clear_error(tmp_path) -> None:
    video = _write_video(tmp_path / "full.mp4", seconds=4, fps=10)
    data = video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    try:
        frames = list(sample_frames(cut))
    except SamplingError as exc:  # mp4 index at the end: nothing decodable is acceptable too
        assert "cut.mp4" in str(exc)
    else:
        assert len(frames) <= 4


def test_missing_file(tmp_path) -> None:
    with pytest.raises(SamplingError, match="no such file"):
        probe(tmp_path / "nope.mp4")


def _with_rotation(src: Path, dst: Path, degrees: int) -> Path:
    """A copy of an MP4 whose track header carries a display rotation, as phones write it."""
    data = bytearray(src.read_bytes())
    tkhd = data.find(b"tkhd")
    version = data[tkhd + 4]
    # type, version+flags, times/track id/reserved/duration (v0: 20 bytes, v1: 32), reserved,
    # layer/alternate group/volume/reserved: then the 3x3 display matrix (16.16 and 2.30 fixed).
    matrix = tkhd + 4 + 4 + (32 if version == 1 else 20) + 8 + 8
    one, w = 1 << 16, 1 << 30
    sin = {90: one, 270: -one}[degrees]
    data[matrix : matrix + 36] = struct.pack(">9i", 0, sin, 0, -sin, 0, 0, 0, 0, w)
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize(("degrees", "turns"), [(90, -1), (270, 1)])
def test_rotation_metadata_is_honoured(tmp_path, degrees, turns) -> None:
    """Portrait phone clips are stored landscape plus a rotation flag: frames come out upright."""
    writer = cv2.VideoWriter(str(tmp_path / "a.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5, (96, 64))
    picture = np.zeros((64, 96, 3), np.uint8)
    picture[:32, :48] = (0, 0, 255)  # a red quarter, top left
    picture[32:, 48:] = (255, 255, 0)
    for _ in range(10):
        writer.write(picture)
    writer.release()
    rotated = _with_rotation(tmp_path / "a.mp4", tmp_path / "r.mp4", degrees)
    info = probe(rotated)
    assert info.rotation == degrees and (info.width, info.height) == (64, 96)
    frame = next(iter(sample_frames(rotated))).rgb
    upright = np.rot90(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB), turns)
    assert frame.shape == (96, 64, 3)
    assert np.abs(frame.astype(float) - upright).mean() < 8
