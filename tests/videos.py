"""Synthetic test videos written with OpenCV: every second of every video looks different.

Each second shows its own random arrangement of coloured rectangles (seeded by video and
second), held for the whole second, so the frame sampled at time t identifies (video, second)
exactly, whatever the decoder's timing jitter.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np


def pattern(seed: int, second: int, size: tuple[int, int] = (128, 96)) -> np.ndarray:
    """The BGR picture shown during ``second`` of video ``seed``."""
    w, h = size
    rng = np.random.default_rng([seed, second])
    img = np.empty((h, w, 3), np.uint8)
    img[:] = rng.integers(0, 256, 3)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 8)), int(rng.integers(0, h - 8))
        x1, y1 = x0 + int(rng.integers(8, w // 2)), y0 + int(rng.integers(8, h // 2))
        img[y0:y1, x0:x1] = rng.integers(0, 256, 3)
    return img


def write_video(
    path: Path, seed: int, seconds: int = 6, fps: int = 10, size: tuple[int, int] = (128, 96)
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened(), path
    for second in range(seconds):
        frame = pattern(seed, second, size)
        for _ in range(fps):
            writer.write(frame)
    writer.release()
    return path


def frame_at(path: Path, t: float) -> np.ndarray:
    """The RGB frame a video shows at ``t`` seconds (a still to search by)."""
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_MSEC, t * 1000)
    ok, bgr = cap.read()
    cap.release()
    assert ok, (path, t)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def still(path: Path, t: float, out: Path) -> Path:
    """The frame at ``t`` written as a picture file (what a user drops on the window)."""
    cv2.imwrite(str(out), cv2.cvtColor(frame_at(path, t), cv2.COLOR_RGB2BGR))
    return out


#: Bits of a frame's index drawn as black/white blocks along the top of a coded test video.
INDEX_BITS = 12
_BLOCK = 16


def write_indexed_video(
    path: Path,
    *,
    codec: str = "libx264",
    fps: int = 30,
    seconds: float = 6,
    gop: int = 30,
    size: tuple[int, int] = (192, 96),
    container: str | None = None,
    times: list[float] | None = None,
    open_gop: bool = False,
) -> Path:
    """A video whose every frame shows its own index (read back by :func:`index_of`), written
    with PyAV: H.264 with B-frames or HEVC (open GOP on request), a fixed keyframe interval,
    any container, and optionally irregular frame ``times`` (variable frame rate)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    count = len(times) if times is not None else round(fps * seconds)
    out = av.open(str(path), "w", format=container)
    stream = out.add_stream(codec, rate=fps)
    stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
    stream.codec_context.gop_size = gop
    if codec == "libx264":
        stream.codec_context.options = {
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2"
            + (":open-gop=1" if open_gop else ""),
            "preset": "veryfast",
        }
    elif codec == "libx265":
        stream.codec_context.options = {
            "x265-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=3:log-level=none"
            + (":open-gop=1" if open_gop else ":open-gop=0"),
            "preset": "ultrafast",
        }
    base = 1000
    if times is not None:
        stream.codec_context.time_base = Fraction(1, base)
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    for i in range(count):
        img = np.roll(texture, 2 * i, axis=1)
        img[: _BLOCK + 8] = 128
        for bit in range(INDEX_BITS):
            on = (i >> bit) & 1
            img[4 : 4 + _BLOCK, 4 + bit * _BLOCK : 4 + (bit + 1) * _BLOCK - 2] = 255 if on else 0
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        if times is not None:
            frame.pts = round(times[i] * base)
            frame.time_base = Fraction(1, base)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def index_of(rgb: np.ndarray) -> int:
    """The frame index a :func:`write_indexed_video` frame shows."""
    value = 0
    for bit in range(INDEX_BITS):
        block = rgb[4 : 4 + _BLOCK, 4 + bit * _BLOCK : 4 + (bit + 1) * _BLOCK - 2]
        value |= int(block.mean() > 128) << bit
    return value


def write_tagged_video(
    path: Path,
    seed: int,
    tags: dict[str, str],
    seconds: int = 6,
    fps: int = 5,
    size: tuple[int, int] = (128, 96),
) -> Path:
    """A video like :func:`write_video` whose container carries ``tags`` (creation_time,
    com.apple.quicktime.creationdate, ...), written with PyAV as a camera or phone would."""
    import av  # PyAV: only these tests need a muxer that writes tags

    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "use_metadata_tags"} if path.suffix in (".mov", ".mp4") else {}
    with av.open(str(path), "w", options=options) as out:
        for key, value in tags.items():
            out.metadata[key] = value
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for second in range(seconds):
            rgb = cv2.cvtColor(pattern(seed, second, size), cv2.COLOR_BGR2RGB)
            for _ in range(fps):
                out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))
    return path
