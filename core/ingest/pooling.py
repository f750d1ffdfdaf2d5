"""Frame vectors → moment vectors, through the bundle's head (meanP, seqLSTM or seqTransf).

The one place segments are pooled: indexing a video, re-cutting a library to a new segment
length (from stored frame vectors, no decoding) and copying nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from core.ingest.segments import SegmentSpan

#: Segments pooled per head call: bounds the padded batch's memory for long videos.
POOL_BATCH = 64


class FramePooler(Protocol):
    """What pooling needs of the encoder: its head over padded frame batches."""

    def pool_frames(self, frames: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


def pool_segments(
    encoder: FramePooler, frames: np.ndarray, spans: Sequence[SegmentSpan]
) -> np.ndarray:
    """Segment vectors [S, D] from a video's raw frame vectors [N, D] and its planned spans."""
    out = []
    for start in range(0, len(spans), POOL_BATCH):
        chunk = spans[start : start + POOL_BATCH]
        longest = max(s.last_frame - s.first_frame + 1 for s in chunk)
        batch = np.zeros((len(chunk), longest, frames.shape[1]), np.float32)
        mask = np.zeros((len(chunk), longest), np.float32)
        for row, s in enumerate(chunk):
            n = s.last_frame - s.first_frame + 1
            batch[row, :n] = frames[s.first_frame : s.last_frame + 1]
            mask[row, :n] = 1.0
        out.append(encoder.pool_frames(batch, mask))
    return np.concatenate(out) if out else np.zeros((0, frames.shape[1]), np.float32)
