"""Rules written once: the CLI and the window read a time alike, and constants have one home."""

from __future__ import annotations


def test_the_cli_and_the_window_print_the_same_second() -> None:
    from core import times
    from core.cli import library as library_cli
    from desktop_app import formatting

    assert library_cli.clock is times.clock is formatting.clock
    assert times.clock(82.99999999) == "1:23"  # the CLI truncated this to 1:22
    assert times.clock(3723.2) == "1:02:03" and times.clock(-1) == "0:00"


def test_segment_hop_and_openai_constants_have_one_home() -> None:
    from core.ingest.segments import DEFAULT_HOP, DEFAULT_WINDOW, SegmentRule
    from core.model.preprocess import OPENAI_MEAN, OPENAI_STD
    from export import architectures

    assert SegmentRule.of_length(6.0) == SegmentRule(6.0, 3.0)
    assert SegmentRule.of_length(DEFAULT_WINDOW) == SegmentRule() == SegmentRule(8.0, DEFAULT_HOP)
    assert architectures.OPENAI_MEAN is OPENAI_MEAN and architectures.OPENAI_STD is OPENAI_STD
