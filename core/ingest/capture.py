"""When (and where) a video was shot, read from its container's tags: no frame is decoded.

The file's modification time is what a copy, a sync or an edit last did to it, not when it was
filmed, so the tags that cameras and phones write come first, most trustworthy first:

1. ``com.apple.quicktime.creationdate`` — iPhones: local time *with* its zone, so the offset
   the clip was shot in is kept (a trip abroad reads in the time it was there);
2. Matroska ``DATE_RECORDED`` — without a zone it is taken as this machine's local time;
3. a Sony XDCAM/AVCHD sidecar ``<stem>M01.XML`` with ``<CreationDate value="…"/>``;
4. ``creation_time`` — written by most muxers, in UTC, but also rewritten by many tools that
   copy a file (so it comes after the camera's own records);
5. the modification time, as local time.

Placeholders are common (QuickTime's zero date 1904-01-01, the Unix epoch, a clock that was
never set), so dates before 1971 or more than a day ahead are treated as absent. A video PyAV
cannot read costs nothing but its tags: this never raises for a bad file.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path

import av

from core.ingest.mp4_tags import read_mp4_tags
from core.pathnames import openable

log = logging.getLogger(__name__)

#: Every value of :attr:`Capture.source` (the order of preference is in the module notes).
SOURCES = ("quicktime", "container", "matroska", "sidecar", "mtime")

_QUICKTIME_DATE = "com.apple.quicktime.creationdate"
_MATROSKA_DATE = "date_recorded"
_CONTAINER_DATE = "creation_time"
#: ffmpeg reads MP4's ©xyz atom as ``location``; iPhones write the Apple key.
_LOCATION_KEYS = ("com.apple.quicktime.location.iso6709", "location")

#: A sidecar is a small file: reading more would only cost time on a slow share.
_SIDECAR_LIMIT = 64 * 1024
_SIDECAR_DATE = re.compile(rb"<CreationDate\s+value\s*=\s*\"([^\"]+)\"", re.IGNORECASE)

_EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
_WHEN = re.compile(
    r"(UTC\s+)?(\d{4})[-:](\d{2})[-:](\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Capture:
    """When a video was shot, where that was read, and where it was shot if the file says."""

    captured_at: datetime | None  # timezone-aware; None only if even the mtime is unknown
    source: str  # one of SOURCES
    location: str | None = None  # ISO 6709 as found, e.g. "+48.8583+002.2945+035.000/"

    def iso(self) -> str | None:
        """ISO 8601 to the second with the offset the clip was shot in (what people read)."""
        return None if self.captured_at is None else self.captured_at.isoformat("T", "seconds")

    def timestamp(self) -> float | None:
        """POSIX seconds: the instant, for sorting clips shot in different zones together."""
        return None if self.captured_at is None else self.captured_at.timestamp()


def parse_when(text: str) -> datetime | None:
    """A date as muxers and cameras write it, or None when it is not one.

    Takes ``T`` or a space between date and time, ``-`` or ``:`` in the date (EXIF style),
    fractional seconds of any length, and a zone as ``Z``, ``UTC``, ``+02``, ``+0200`` or
    ``+02:00`` (or a leading ``UTC``, MediaInfo's style). Without a zone the time is read as
    this machine's local time. The result is always timezone-aware; whether the date is
    plausible (not a placeholder) is the caller's question.
    """
    return _parse(text, None)


def read_capture(path: Path, mtime_ns: int | None = None) -> Capture:
    """The best capture time this file offers (see the module notes for the order).

    ``mtime_ns`` is the modification time the scanner already read, to spare a second stat.
    """
    tags = _tags(path)
    location = next((tags[k] for k in _LOCATION_KEYS if tags.get(k)), None)

    def found(when: datetime | None, source: str) -> Capture | None:
        return Capture(when, source, location) if _plausible(when) else None

    capture = (
        found(_tag_date(tags, _QUICKTIME_DATE, None), "quicktime")
        or found(_tag_date(tags, _MATROSKA_DATE, None), "matroska")
        or found(_sidecar_date(path), "sidecar")
        # ffmpeg wrote creation_time without a zone ("2012-03-04 05:06:07") until 2016: UTC.
        or found(_tag_date(tags, _CONTAINER_DATE, UTC), "container")
    )
    if capture is not None:
        return capture
    if mtime_ns is None:
        try:
            mtime_ns = os.stat(path).st_mtime_ns
        except OSError:
            return Capture(None, "mtime", location)
    when = _local(mtime_ns)  # an unset clock (1970) or one far ahead is no date either
    return Capture(when if _plausible(when) else None, "mtime", location)


def _parse(text: str, naive: tzinfo | None) -> datetime | None:
    """:func:`parse_when`, reading a time without a zone in ``naive`` (None: local time)."""
    match = _WHEN.fullmatch(text.strip())
    if match is None:
        return None
    utc, year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        clock = (int(hour or 0), int(minute or 0), int(second or 0), micro)
        when = datetime(int(year), int(month), int(day), *clock)
        tz = _zone(zone) if zone else UTC if utc else naive
        return when.replace(tzinfo=tz) if tz is not None else when.astimezone()
    except (ValueError, OverflowError, OSError):  # no such day, or beyond the local clock
        return None


def _zone(text: str) -> timezone:
    """``Z``/``UTC``/``GMT`` or ``±HH[[:]MM]`` as a fixed offset (ValueError if out of range)."""
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return timezone(-offset if text[0] == "-" else offset)


def _plausible(when: datetime | None) -> bool:
    """Not a placeholder: on or after 1971 and at most a day ahead of this machine's clock."""
    return when is not None and _EARLIEST <= when <= datetime.now(UTC) + timedelta(days=1)


def _tags(path: Path) -> dict[str, str]:
    """Container then stream tags, keys lower-cased, the first of each name kept; empty when
    the file cannot be read (only the tags are lost: the mtime still answers). MP4 and MOV are
    read from their boxes (core.ingest.mp4_tags: ~1 ms, against 20-34 ms for PyAV's open,
    which probes the streams); other containers (Matroska, AVI, MPEG-TS) through PyAV."""
    try:  # MP4 and QuickTime (phones, most cameras): a few box headers, nothing probed
        boxes = read_mp4_tags(path)
    except OSError as error:
        log.debug("no tags read from %s: %s", path, error)
        return {}
    if boxes is not None:
        return boxes
    tags: dict[str, str] = {}
    try:
        with av.open(openable(path), metadata_errors="ignore") as container:
            dicts = [container.metadata, *(stream.metadata for stream in container.streams)]
            for metadata in dicts:
                for key, value in metadata.items():
                    tags.setdefault(key.lower(), str(value).strip())
    except Exception as error:  # any damage in a user's file must not stop a scan
        log.debug("no tags read from %s: %s", path, error)
    return tags


def _tag_date(tags: dict[str, str], key: str, naive: tzinfo | None) -> datetime | None:
    value = tags.get(key)
    return _parse(value, naive) if value else None


def _sidecar_date(path: Path) -> datetime | None:
    """``CreationDate`` from Sony's ``C0001M01.XML`` beside ``C0001.MP4`` (either case)."""
    for name in (f"{path.stem}M01.XML", f"{path.stem}M01.xml"):
        try:
            with open(path.with_name(name), "rb") as file:
                head = file.read(_SIDECAR_LIMIT)
        except OSError:
            continue
        match = _SIDECAR_DATE.search(head)
        if match is not None:
            return _parse(match.group(1).decode("ascii", "replace"), None)
    return None


def _local(mtime_ns: int) -> datetime | None:
    """A modification time as this machine's local time, with its offset on that date."""
    try:
        return datetime.fromtimestamp(mtime_ns / 1e9, UTC).astimezone()
    except (ValueError, OverflowError, OSError):
        return None
