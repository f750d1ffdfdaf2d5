"""Cutting a video's sampled frames into the segments that get searched.

Default: 8-second windows every 4 seconds (50 % overlap), at 1 frame/s.

* CLIP4Clip was trained on MSR-VTT clips of 10–30 s read as at most 12 frames at 1 fps, so a
  window of up to 12 frames is what the temporal heads know; 8 frames keep every frame (no
  thinning) and leave room for higher sampling rates.
* The moments people look for in personal footage — candles blown out, a first step, a goal —
  last a few seconds. A window much longer than the moment dilutes it with what comes before and
  after; a much shorter one gives the temporal heads too little motion to read.
* With 50 % overlap any moment up to 4 s long lies wholly inside some window, instead of being
  cut in half by a boundary. Neighbouring windows that both match are merged in the results, so
  the overlap does not show up as duplicates.

Rule: windows start at 0, ``hop``, 2·``hop``…; a window keeps the frames whose time falls in
[start, start + length); an empty window is dropped, and so is one whose frames are all in the
previous window (the tail of a video). The last window ends one sampling step after its last
frame, so a 2.5 s clip is one segment [0, 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SegmentSpan:
    """A time range of a video and the frames it pools (indices into the video's frames)."""

    t0: float
    t1: float
    first_frame: int
    last_frame: int
    thumb_t: float


DEFAULT_WINDOW = 8.0
DEFAULT_HOP = 4.0


@dataclass(frozen=True)
class SegmentRule:
    window: float = DEFAULT_WINDOW
    hop: float = DEFAULT_HOP

    @classmethod
    def of_length(cls, seconds: float) -> SegmentRule:
        """Windows of ``seconds`` every half window (the 50 % overlap explained above)."""
        return cls(seconds, seconds / 2)

    def __post_init__(self) -> None:
        if self.window <= 0 or self.hop <= 0:
            raise ValueError("segment length and hop must be positive")
        if self.hop > self.window:
            raise ValueError("the hop between segments cannot exceed their length")


@dataclass(frozen=True)
class LibrarySettings:
    """How a library samples and cuts: frames per second and the segment rule. Recorded when
    the library is made; a different rate is a different library."""

    sample_rate: float
    segment: SegmentRule

    @property
    def step(self) -> float:
        """Seconds between sampled frames."""
        return 1.0 / self.sample_rate


def nearest(times: Sequence[float], middle: float) -> float:
    """The time closest to ``middle`` (the earlier one on a tie): a segment's thumbnail frame."""
    return min(times, key=lambda t: abs(t - middle))


def plan_segments(times: Sequence[float], step: float, rule: SegmentRule) -> list[SegmentSpan]:
    """Segments over sampled frame ``times`` (sorted seconds), ``step`` = 1 / sampling rate.

    ``thumb_t`` is the frame time nearest the window's middle, a time that a thumbnail exists for
    (see :func:`core.ingest.thumbnails.pick`).
    """
    if not times:
        return []
    end = float(times[-1]) + step
    spans: list[SegmentSpan] = []
    n = len(times)
    first = 0
    k = 0
    prev_last = -1
    while k * rule.hop < end:
        start = k * rule.hop
        stop = start + rule.window
        while first < n and times[first] < start - 1e-6:
            first += 1
        last = first
        while last < n and times[last] < stop - 1e-6:
            last += 1
        last -= 1
        k += 1
        if last < first or last <= prev_last:
            continue
        t1 = min(stop, end)
        middle = (start + t1) / 2
        thumb = nearest(times[first : last + 1], middle)
        spans.append(SegmentSpan(start, t1, first, last, float(thumb)))
        prev_last = last
    return spans
