"""Segment thumbnails: small JPEGs in the cache folder, named by content fingerprint and time.

Naming by fingerprint (not path) means a renamed or moved video keeps its thumbnails, and a
cleared cache is refilled on demand by seeking the video (:func:`ensure`).

While a video is decoded, :class:`ThumbnailWriter` keeps only the last window's worth of small
frames and writes, for each segment window, the frame nearest its middle — the same frame
:func:`core.ingest.segments.plan_segments` names as ``thumb_t`` — so
memory stays constant however long the video is.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from pathlib import Path

import cv2
import numpy as np

from core.ingest.segments import SegmentRule, nearest
from core.pathnames import openable

log = logging.getLogger(__name__)

THUMB_WIDTH = 320
JPEG_QUALITY = 82


def thumb_path(root: Path, fingerprint: str, t: float) -> Path:
    return root / fingerprint[:2] / fingerprint / f"{round(t * 1000):09d}.jpg"


def shrink(rgb: np.ndarray, width: int = THUMB_WIDTH) -> np.ndarray:
    h, w = rgb.shape[:2]
    if w <= width:
        return rgb
    height = max(1, round(h * width / w))
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def write_jpeg(path: Path, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:
        raise OSError(f"could not encode thumbnail {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data.tobytes())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise


class ThumbnailWriter:
    """Fed every sampled frame of one video in order; writes one JPEG per segment window."""

    def __init__(self, root: Path, fingerprint: str, rule: SegmentRule, step: float) -> None:
        self.root, self.fingerprint, self.rule, self.step = root, fingerprint, rule, step
        self._recent: deque[tuple[float, np.ndarray]] = deque()
        self._k = 0  # next window not yet written
        self._written: set[float] = set()

    def _window(self, k: int) -> tuple[float, float]:
        start = k * self.rule.hop
        return start, start + self.rule.window

    def _write(self, t: float) -> None:
        if t in self._written:
            return
        for ft, small in self._recent:
            if ft == t:
                try:
                    write_jpeg(thumb_path(self.root, self.fingerprint, t), small)
                except OSError as exc:  # a full disk must not stop indexing
                    log.warning("thumbnail not written: %s", exc)
                self._written.add(t)
                return

    def _emit(self, k: int, end: float) -> None:
        start, stop = self._window(k)
        times = [t for t, _ in self._recent if start - 1e-6 <= t < stop - 1e-6]
        if times:
            self._write(nearest(times, (start + min(stop, end)) / 2))

    def add(self, t: float, rgb: np.ndarray) -> None:
        # Windows that ended before this frame are complete: write their thumbnails.
        while self._window(self._k)[1] - 1e-6 <= t:
            self._emit(self._k, float("inf"))
            self._k += 1
        self._recent.append((t, shrink(rgb)))
        keep_from = self._k * self.rule.hop - 1e-6
        while self._recent and self._recent[0][0] < keep_from:
            self._recent.popleft()

    def finish(self, last_t: float) -> None:
        end = last_t + self.step
        while self._k * self.rule.hop < end:
            self._emit(self._k, end)
            self._k += 1


def cached(root: Path, fingerprint: str, t: float) -> str | None:
    """The thumbnail file for (fingerprint, t) if it is in the cache (a string: a search asks
    for hundreds of these, and pathlib costs ten times what ``os.path`` does here)."""
    path = os.path.join(root, fingerprint[:2], fingerprint, f"{round(t * 1000):09d}.jpg")
    return path if os.path.isfile(path) else None


def ensure(root: Path, fingerprint: str, video: Path, t: float) -> Path | None:
    """The thumbnail for (video, t), re-made by seeking the video if the cache lost it."""
    hit = cached(root, fingerprint, t)
    if hit is not None:
        return Path(hit)
    path = thumb_path(root, fingerprint, t)
    cap = cv2.VideoCapture(openable(video), cv2.CAP_FFMPEG)  # never a non-UTF-8 name
    try:
        if not cap.isOpened():
            return None
        cap.set(cv2.CAP_PROP_POS_MSEC, t * 1000.0)
        ok, bgr = cap.read()
        if not ok or bgr is None:
            return None
        write_jpeg(path, shrink(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        return path
    except OSError as exc:
        log.warning("thumbnail for %s at %.1fs: %s", video.name, t, exc)
        return None
    finally:
        cap.release()
