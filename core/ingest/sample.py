"""Sampling frames from a video at a fixed rate, by timestamp, in constant memory.

Two decoders, one contract (a frame at or after each grid time, with its true timestamp):

* **PyAV, planned** (:mod:`core.ingest.fast_decode`), the default: decodes only keyframes near
  grid times and the reference frames a grid time between keyframes needs. 3–8x less CPU on
  phone footage (keyframe every 0.5–2 s); never slower, since a plan never decodes more than
  reading on would.
* **OpenCV, sequential** (below), the reference and the fallback: used when PyAV cannot open a
  file, when the file has no usable timestamps, or when the planned decode fails part-way (it
  then goes on from the last frame kept). ``CLIPSEEK_DECODER=opencv`` forces it.

The reference sampler: CLIP4Clip seeks for every sampled frame; on phone footage with long
keyframe intervals each seek decodes from the previous keyframe, several times the work of simply
reading on. It reads sequentially: ``grab()`` every frame (cheap: no colour conversion) and
``retrieve()`` only the ones kept. Frames are chosen by their presentation timestamp, not
``index / fps``, because phones record variable frame rate and the nominal fps drifts from the
real clock over a long clip. OpenCV applies rotation metadata itself (portrait phone videos come
out upright; the PyAV path turns frames itself); the rotation is recorded for the library.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.pathnames import openable

log = logging.getLogger(__name__)

# FFmpeg and OpenCV print their own complaints about broken files ("moov atom not found") to
# stderr; ClipSeek reports every such file itself, in one line, so their noise is turned down.
# OpenCV reads the FFmpeg level when a capture opens, so setting it here (on import) is enough.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class SamplingError(RuntimeError):
    """A file that cannot be decoded as video; the message says why, in one line."""


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    frame_count: int
    duration: float
    rotation: int


@dataclass(frozen=True)
class SampledFrame:
    """One kept frame: its presentation time in seconds and its RGB pixels."""

    t: float
    rgb: np.ndarray


def _open(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise SamplingError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise SamplingError(f"{path}: empty file")
    if not os.access(path, os.R_OK):
        raise SamplingError(f"{path}: not readable (permission denied)")
    # OpenCV crashes on a name that is not valid UTF-8: it gets a plain-named link instead.
    cap = cv2.VideoCapture(openable(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise SamplingError(f"{path}: not a video ClipSeek can decode")
    return cap


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Size, rate, length and rotation of a video, from its container metadata."""
    path = Path(path)
    cap = _open(path)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        rotation = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
    finally:
        cap.release()
    if width <= 0 or height <= 0:
        raise SamplingError(f"{path}: no video stream")
    duration = count / fps if fps > 0 and count > 0 else 0.0
    return VideoInfo(path, width, height, fps, count, duration, rotation)


DECODER_ENV = "CLIPSEEK_DECODER"
DECODERS = ("auto", "pyav", "opencv")
_WARNED: set[str] = set()


def decoder_choice() -> str:
    """``auto`` (PyAV planned, OpenCV when it cannot), ``pyav`` (no fallback: for tests and
    benchmarks) or ``opencv``, from ``$CLIPSEEK_DECODER``."""
    choice = os.environ.get(DECODER_ENV, "auto").strip().lower() or "auto"
    if choice not in DECODERS:  # a typo must not fail every video: said once, then ignored
        if choice not in _WARNED:
            _WARNED.add(choice)
            log.warning("%s=%r is not one of %s: using auto", DECODER_ENV, choice, DECODERS)
        return "auto"
    return choice


def sample_frames(
    path: str | os.PathLike[str], rate: float = 1.0, decoder: str | None = None
) -> Iterator[SampledFrame]:
    """Yield a frame at or after each multiple of ``1 / rate`` seconds (see the module
    docstring for which decoder reads it). Raises :class:`SamplingError` if nothing can be
    decoded; a file that breaks part-way yields what decoded before the damage."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    choice = decoder or decoder_choice()
    if choice == "opencv":
        yield from reference_frames(path, rate)
        return
    from core.ingest.fast_decode import Unsupported, fast_frames

    last: float | None = None
    try:
        for kept in fast_frames(Path(path), rate):
            last = kept.t
            yield SampledFrame(t=kept.t, rgb=kept.rgb)
        if last is not None:
            return
        raise Unsupported("no frame")
    except Unsupported as why:
        if choice == "pyav":
            raise SamplingError(f"{path}: {why}") from None
        log.info("%s: read with OpenCV (%s)", path, why)
    for frame in reference_frames(path, rate):
        if last is None or frame.t > last + 1e-6:
            yield frame


def reference_frames(path: str | os.PathLike[str], rate: float = 1.0) -> Iterator[SampledFrame]:
    """Yield the first frame at or after each multiple of ``1 / rate`` seconds (OpenCV).

    Memory stays constant (one decoded frame at a time) however long the video is. Raises
    :class:`SamplingError` if nothing can be decoded at all; a file that breaks part-way
    (truncated download) yields what decoded before the damage.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    path = Path(path)
    cap = _open(path)
    step = 1.0 / rate
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    next_t = 0.0
    index = -1
    yielded = 0
    try:
        while cap.grab():
            index += 1
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if t <= 0.0 and index > 0 and fps > 0:  # some containers report no timestamps
                t = index / fps
            if t + 1e-6 < next_t:
                continue
            ok, bgr = cap.retrieve()
            if not ok or bgr is None:
                continue
            yield SampledFrame(t=t, rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            yielded += 1
            while next_t <= t + 1e-6:  # a long gap (VFR, dropped frames) skips whole steps
                next_t += step
    finally:
        cap.release()
    if yielded == 0:
        raise SamplingError(f"{path}: no frame could be decoded")
