"""Results by when they were shot: month sections, their words, and the scrubber's marks.

Pure functions over :class:`core.SearchResult` (no widgets), so that grouping is tested as it
is: the browse view and a date-sorted search both lay cards out under "July 2019" headers, the
scrubber beside the grid lists the same sections by year, and a card says when it was shot.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import SearchResult

UNKNOWN = "Date unknown"

#: Where a date came from, as a person would say it (core.ingest.capture.SOURCES).
SOURCE_WORDS = {
    "quicktime": "the phone's recording date",
    "container": "the file's creation date",
    "matroska": "the recording date",
    "sidecar": "the camera's metadata file",
    "mtime": "the file's modification time (the video carries no date)",
}


def month_title(r: SearchResult) -> str:
    shot = r.shot()
    return UNKNOWN if shot is None else f"{shot:%B %Y}"


def shot_text(r: SearchResult, *, with_time: bool = False) -> str:
    """ "14 Jul 2019" (or with the time of day); "" when the date is unknown."""
    shot = r.shot()
    if shot is None:
        return ""
    day = f"{shot.day} {shot:%b %Y}"
    return f"{day}, {shot:%H:%M}" if with_time else day


def shot_detail(r: SearchResult) -> str:
    """A tooltip line: when, and from what (a modification time is only a guess)."""
    if r.captured_ts is None:
        return "Shooting date unknown"
    source = SOURCE_WORDS.get(r.captured_source or "", r.captured_source or "unknown")
    return f"Shot {shot_text(r, with_time=True)}, from {source}"


@dataclass(frozen=True)
class Section:
    """A month of results: its header's words and how many cards follow it."""

    title: str
    count: int
    year: str  # "2019", or "" for undated results: what the scrubber groups by


def sections(results: list[SearchResult]) -> list[tuple[Section, list[SearchResult]]]:
    """Consecutive results of one month under one section, in the order given (the caller
    sorts: newest first). A month met again later (a date-sorted list never does) starts a
    new section rather than moving cards out of order."""
    out: list[tuple[Section, list[SearchResult]]] = []
    for r in results:
        title = month_title(r)
        if out and out[-1][0].title == title:
            out[-1][1].append(r)
            continue
        shot = r.shot()
        out.append((Section(title, 0, "" if shot is None else str(shot.year)), [r]))
    return [(Section(s.title, len(group), s.year), group) for s, group in out]


def scrubber_marks(titles: list[tuple[Section, int]]) -> list[tuple[str, int, bool]]:
    """(label, row, is_year) for the scrubber: each year once, then its months by short name,
    each pointing at its section's header row."""
    marks: list[tuple[str, int, bool]] = []
    year = None
    for section, row in titles:
        if section.year != year:
            year = section.year
            marks.append((section.year or "Undated", row, True))
            if not section.year:
                continue
        if section.year:
            marks.append((section.title.split()[0][:3], row, False))
    return marks
