"""A span of shooting time a search or the browse view is limited to.

People say "summer 2019" or "before the move", so the ends are days, months or years in local
time (``2019``, ``2019-07``, ``2019-07-14``) or exact instants (ISO 8601, with or without an
offset). ``after`` is inclusive and ``before`` exclusive, the usual half-open range: "after 2019
and before 2020" is the year 2019 exactly. The values kept are POSIX seconds, what the
catalog's ``captured_ts`` column is indexed by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


class PeriodError(ValueError):
    """A date that cannot be read, or a range that ends before it starts."""


#: Days a range may name: what every platform's clock converts (Windows' localtime refuses
#: dates before 1970) and what a video can have been shot on.
FIRST_DAY, LAST_DAY = date(1971, 1, 1), date(2100, 12, 31)


def _local(d: date) -> float:
    """The first second of a local calendar day, as POSIX seconds (kept within the days a
    clock converts: a "to" date of 31 Dec 9999 overflowed the day after it)."""
    d = min(max(d, FIRST_DAY), LAST_DAY + timedelta(days=1))
    return datetime.combine(d, time()).astimezone().timestamp()


def parse_bound(text: str) -> float:
    """POSIX seconds for one end of a range.

    A partial date means its first local second, at either end: ``--after 2019`` starts on
    1 January 2019 and ``--before 2020`` excludes 2020. Raises :class:`PeriodError` with the
    forms accepted.
    """
    text = text.strip()
    m = _PARTIAL.match(text)
    try:
        if m:
            year, month, day = (int(g) if g else None for g in m.groups())
            assert year is not None
            return _local(date(year, month or 1, day or 1))
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (when if when.tzinfo else when.astimezone()).timestamp()
    except (ValueError, OverflowError, OSError):
        raise PeriodError(
            f"cannot read the date {text!r}: use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 time"
        ) from None


def day_after(d: date) -> float:
    """The end of an inclusive "to" day (the window's date control): the next day's start."""
    return _local(min(d, LAST_DAY) + timedelta(days=1))


@dataclass(frozen=True)
class Period:
    """[after, before) in POSIX seconds; None leaves that end open."""

    after: float | None = None
    before: float | None = None

    def __post_init__(self) -> None:
        if self.after is not None and self.before is not None and self.before <= self.after:
            raise PeriodError("the range ends before it starts (--before is not after --after)")

    @property
    def bounded(self) -> bool:
        return self.after is not None or self.before is not None

    @classmethod
    def parse(cls, after: str | None = None, before: str | None = None) -> Period:
        """From the command line's ``--after`` and ``--before``."""
        return cls(
            None if after is None else parse_bound(after),
            None if before is None else parse_bound(before),
        )

    @classmethod
    def days(cls, first: date | None, last: date | None) -> Period:
        """From a "from … to …" pair of days, both included (the window's date range)."""
        return cls(
            None if first is None else _local(first), None if last is None else day_after(last)
        )

    def describe(self) -> str:
        """Words for a status line: "shot 2019-07-01 – 2019-08-31"."""
        if not self.bounded:
            return "any time"
        fmt = "%Y-%m-%d"
        start = None if self.after is None else datetime.fromtimestamp(self.after).strftime(fmt)
        last = None
        if self.before is not None:
            last = (datetime.fromtimestamp(self.before) - timedelta(seconds=1)).strftime(fmt)
        if start and last:
            return f"shot {start} – {last}"
        return f"shot since {start}" if start else f"shot up to {last}"


ANY_TIME = Period()
