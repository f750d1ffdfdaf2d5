"""Segment windows and the thumbnail chosen for each, streaming and offline alike."""

from __future__ import annotations

import numpy as np
import pytest

from core.ingest.segments import SegmentRule, plan_segments
from core.ingest.thumbnails import ThumbnailWriter, thumb_path

DEFAULT = SegmentRule()


def spans(times, step=1.0, rule=DEFAULT):
    return [(s.t0, s.t1, s.first_frame, s.last_frame) for s in plan_segments(times, step, rule)]


def test_default_windows_overlap_by_half_and_tail_is_not_duplicated() -> None:
    times = [float(t) for t in range(10)]  # a 10 s clip at 1 frame/s
    assert spans(times) == [(0.0, 8.0, 0, 7), (4.0, 10.0, 4, 9)]


def test_short_clip_is_one_segment_ending_one_step_after_its_last_frame() -> None:
    assert spans([0.0, 1.0, 2.0]) == [(0.0, 3.0, 0, 2)]
    assert spans([0.0]) == [(0.0, 1.0, 0, 0)]
    assert spans([]) == []


def test_every_frame_is_in_some_segment_and_gaps_drop_empty_windows() -> None:
    times = [0.0, 1.0, 2.0, 30.0, 31.0]  # variable frame rate / a long gap
    out = spans(times)
    covered = {i for _, _, a, b in out for i in range(a, b + 1)}
    assert covered == set(range(len(times)))
    assert all(b >= a for _, _, a, b in out)
    assert out[-1][1] == 32.0


def test_rule_validation() -> None:
    with pytest.raises(ValueError):
        SegmentRule(4.0, 8.0)
    with pytest.raises(ValueError):
        SegmentRule(0.0, 0.0)


@pytest.mark.parametrize("count", [1, 3, 8, 9, 10, 17, 23])
@pytest.mark.parametrize("rule", [SegmentRule(), SegmentRule(6.0, 2.0), SegmentRule(5.0, 5.0)])
def test_streaming_thumbnails_cover_exactly_the_planned_thumbnail_frames(
    tmp_path, count, rule
) -> None:
    times = [0.5 * i for i in range(count)]
    writer = ThumbnailWriter(tmp_path, "ab-cdef", rule, step=0.5)
    for t in times:
        writer.add(t, np.full((90, 640, 3), int(t * 10) % 255, np.uint8))
    writer.finish(times[-1])
    for span in plan_segments(times, 0.5, rule):
        path = thumb_path(tmp_path, "ab-cdef", span.thumb_t)
        assert path.is_file(), (span, sorted(p.name for p in path.parent.iterdir()))
    written = list((tmp_path / "ab" / "ab-cdef").iterdir())
    assert len(written) <= len(plan_segments(times, 0.5, rule)) + 2
