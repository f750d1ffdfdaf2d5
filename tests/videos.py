"""Synthetic test videos written with OpenCV: every second of every video looks different.

Each second shows its own random arrangement of coloured rectangles (seeded by video and
second), held for the whole second, so the frame sampled at time t identifies (video, second)
exactly, whatever the decoder's timing jitter.
"""

from __future__ import annotations

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
