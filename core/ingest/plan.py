"""Which frames to decode for a 1-frame-per-step index, planned from packets alone.

A demux pass gives every frame's presentation time and keyframe flag without decoding anything.
From that, for each grid time ``w`` (0, step, 2·step, …):

* a **keyframe in [w, w + tolerance]** is taken when there is one: decoding it needs no other
  frame;
* otherwise the **first frame at or after w**, which needs the reference frames from the
  keyframe that governs it (non-reference frames in between are skipped by the decoder).

Kept frames therefore never lie before their grid time, as with the reference sampler (the
first frame at or after each grid time), and never more than ``tolerance`` after it unless no
frame exists sooner. The tolerance is half a step, at most 0.5 s: a kept frame stays nearer its
own grid time than any other, so every moment keeps the frames it had, and at 1 frame/s a phone
clip's keyframe (every 0.5–1 s) is hit for most grid times.

Frames needed form decode ranges ``[governing keyframe, frame]`` in decode order; a range for a
leading picture of an open GOP (shown before its keyframe, decoded after it) starts one keyframe
earlier, since it refers to the GOP before. Packets outside every range are never decoded: on
files without an index (MPEG-TS, AVI without idx1, fragmented MP4) skipping packets costs only
reading them, where seeking would be unreliable.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

#: The most a kept frame may lie after its grid time to be taken for being a keyframe.
MAX_TOLERANCE = 0.5


def tolerance(step: float) -> float:
    """Half a step, at most :data:`MAX_TOLERANCE` seconds."""
    return min(MAX_TOLERANCE, 0.5 * step)


@dataclass(frozen=True)
class Packet:
    """What demuxing tells about one frame: its decode position, time and keyframe flag."""

    index: int  # position in decode order
    t: float  # presentation time, seconds from the stream's start
    key: bool


@dataclass(frozen=True)
class DecodePlan:
    """The frames to keep, and which packets must go through the decoder to get them."""

    keep: tuple[int, ...]  # packet indices of kept frames, in presentation order
    ranges: tuple[tuple[int, int], ...]  # [first, last] packet indices to decode, merged
    grid: tuple[float, ...]  # the grid time each kept frame stands for

    @property
    def decoded(self) -> int:
        """Packets sent to the decoder (an upper bound on frames decoded)."""
        return sum(b - a + 1 for a, b in self.ranges)


def plan(packets: Sequence[Packet], step: float) -> DecodePlan:
    """The plan for a ``1 / step`` frames-per-second index of a stream's packets."""
    if step <= 0:
        raise ValueError("step must be positive")
    if not packets:
        return DecodePlan((), (), ())
    tol = tolerance(step)
    shown = sorted(packets, key=lambda p: (p.t, p.index))
    times = [p.t for p in shown]
    key_times = [p.t for p in shown if p.key]
    keys_shown = [p for p in shown if p.key]
    keep: list[int] = []
    grid: list[float] = []
    last = times[-1]
    k = 0
    eps = 1e-6
    while True:
        w = k * step
        if w > last + eps:
            break
        j = bisect.bisect_left(key_times, w - eps)
        if j < len(key_times) and key_times[j] <= w + tol + eps:
            chosen = keys_shown[j]
        else:
            chosen = shown[bisect.bisect_left(times, w - eps)]
        if not keep or chosen.index != keep[-1]:
            keep.append(chosen.index)
            grid.append(w)
        # a gap longer than a step (VFR, dropped frames) skips the grid times it covers
        k = max(k + 1, int((chosen.t + eps) // step) + 1)
    return DecodePlan(tuple(keep), _ranges(packets, keep), tuple(grid))


def _ranges(packets: Sequence[Packet], keep: Sequence[int]) -> tuple[tuple[int, int], ...]:
    by_index = sorted(packets, key=lambda p: p.index)
    position = {p.index: i for i, p in enumerate(by_index)}
    key_positions = [i for i, p in enumerate(by_index) if p.key]
    spans: list[tuple[int, int]] = []
    for index in keep:
        pos = position[index]
        j = bisect.bisect_right(key_positions, pos) - 1
        if j < 0:
            start = 0  # no keyframe before it: decode from the stream's start
        else:
            start = key_positions[j]
            if by_index[pos].t < by_index[start].t and j > 0:  # a leading picture
                start = key_positions[j - 1]
        spans.append((by_index[start].index, index))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple(merged)
