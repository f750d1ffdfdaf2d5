"""When a video was shot, from its tags: each source in its order, placeholders ignored, and no
bad file ever raising. The videos are written with PyAV, tags included, into tmp_path."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import av
import numpy as np
import pytest

from core.ingest.capture import SOURCES, Capture, parse_when, read_capture

#: FFmpeg's mov muxer writes arbitrary keys (Apple's ``mdta`` atoms) only when asked.
APPLE_TAGS = {"movflags": "use_metadata_tags"}
EIFFEL = "+48.8583+002.2945+035.000/"
#: 2019-07-14 13:32:10 UTC, which is 15:32:10 in Paris (summer time).
INSTANT = datetime(2019, 7, 14, 13, 32, 10, tzinfo=UTC).timestamp()
KNOWN_MTIME_NS = 1_500_000_000_123_456_789


def write(
    path: Path,
    tags: dict[str, str] | None = None,
    *,
    stream_tags: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """A 64x64, 10-frame mpeg4 video at ``path`` carrying these container and stream tags."""
    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        container.metadata.update(tags or {})
        stream.metadata.update(stream_tags or {})
        for i in range(10):
            rgb = np.full((64, 64, 3), i * 20, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    os.utime(path, ns=(KNOWN_MTIME_NS, KNOWN_MTIME_NS))
    return path


def tags_of(path: Path) -> dict[str, str]:
    """What FFmpeg reads back from the container (to show the writer did what a test needs)."""
    with av.open(str(path)) as container:
        return dict(container.metadata)


@pytest.fixture
def paris() -> Iterator[None]:
    """This machine's local zone set to Europe/Paris, for times stored without a zone."""
    if not hasattr(time, "tzset"):
        pytest.skip("the local zone can only be changed where time.tzset exists")
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_creation_time_gives_the_utc_instant(tmp_path: Path) -> None:
    path = write(tmp_path / "clip.mp4", {"creation_time": "2019-07-14T13:32:10.000000Z"})
    capture = read_capture(path)
    assert capture.source == "container"
    assert capture.timestamp() == INSTANT
    assert capture.iso() == "2019-07-14T13:32:10+00:00"
    assert capture.location is None


def test_apple_creationdate_keeps_its_offset_and_beats_creation_time(tmp_path: Path) -> None:
    tags = {
        "com.apple.quicktime.creationdate": "2019-07-14T15:32:10+0200",
        "creation_time": "2019-07-20T08:00:00Z",  # what a later copy or edit would have set
        "com.apple.quicktime.location.ISO6709": EIFFEL,
    }
    path = write(tmp_path / "IMG_0001.MOV", tags, options=APPLE_TAGS)
    assert tags_of(path)["com.apple.quicktime.creationdate"] == "2019-07-14T15:32:10+0200"
    capture = read_capture(path)
    assert capture.source == "quicktime"
    assert capture.iso() == "2019-07-14T15:32:10+02:00"
    assert capture.captured_at is not None
    assert capture.captured_at.utcoffset() == timedelta(hours=2)
    assert capture.timestamp() == INSTANT
    assert capture.location == EIFFEL


def test_apple_keys_in_an_mp4_too(tmp_path: Path) -> None:
    tags = {"com.apple.quicktime.creationdate": "2019-07-14T08:32:10-0500"}
    capture = read_capture(write(tmp_path / "clip.mp4", tags, options=APPLE_TAGS))
    assert (capture.source, capture.iso()) == ("quicktime", "2019-07-14T08:32:10-05:00")
    assert capture.timestamp() == INSTANT


def test_matroska_date_recorded_without_zone_is_local_time(tmp_path: Path, paris: None) -> None:
    tags = {"DATE_RECORDED": "2019-07-14 15:32:10", "creation_time": "2019-07-20T08:00:00Z"}
    capture = read_capture(write(tmp_path / "clip.mkv", tags))
    assert capture.source == "matroska"
    assert capture.iso() == "2019-07-14T15:32:10+02:00"
    assert capture.timestamp() == INSTANT


def test_matroska_date_recorded_in_a_stream_with_its_zone(tmp_path: Path) -> None:
    # The Matroska muxer upper-cases tag names: the key is found in any case.
    path = write(tmp_path / "clip.mkv", stream_tags={"date_recorded": "2019-07-14T15:32:10+0200"})
    capture = read_capture(path)
    assert (capture.source, capture.iso()) == ("matroska", "2019-07-14T15:32:10+02:00")


def test_sony_sidecar_beats_creation_time(tmp_path: Path) -> None:
    path = write(tmp_path / "C0001.MP4", {"creation_time": "2019-07-20T08:00:00Z"})
    (tmp_path / "C0001M01.XML").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<NonRealTimeMeta xmlns="urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.00">\n'
        '\t<Duration value="10"/>\n'
        '\t<CreationDate value="2019-07-14T15:32:10+02:00"/>\n'
        "</NonRealTimeMeta>\n",
        encoding="utf-8",
    )
    capture = read_capture(path)
    assert (capture.source, capture.iso()) == ("sidecar", "2019-07-14T15:32:10+02:00")
    assert capture.timestamp() == INSTANT


def test_a_sidecar_without_a_date_is_passed_over(tmp_path: Path) -> None:
    path = write(tmp_path / "C0002.MP4", {"creation_time": "2019-07-14T13:32:10Z"})
    (tmp_path / "C0002M01.XML").write_bytes(b"<NonRealTimeMeta>\xff\xfe</NonRealTimeMeta>")
    assert read_capture(path).source == "container"


def test_mp4_location_atom(tmp_path: Path) -> None:
    path = write(tmp_path / "clip.mp4", {"location": " +48.8583+002.2945/ "})
    assert tags_of(path)["location"].strip() == "+48.8583+002.2945/"
    capture = read_capture(path)
    assert capture.location == "+48.8583+002.2945/"
    assert capture.source == "mtime"  # a place alone says nothing of the time


def test_no_tags_falls_back_to_the_modification_time(tmp_path: Path) -> None:
    path = write(tmp_path / "clip.mp4")
    capture = read_capture(path)
    assert capture.source == "mtime"
    assert capture.timestamp() == pytest.approx(KNOWN_MTIME_NS / 1e9, abs=1e-6)
    assert capture.captured_at is not None and capture.captured_at.utcoffset() is not None
    # The scanner's own reading of the mtime is used as given...
    assert read_capture(path, mtime_ns=KNOWN_MTIME_NS + 10**9).timestamp() == pytest.approx(
        KNOWN_MTIME_NS / 1e9 + 1, abs=1e-6
    )
    # ...unless it is no date either: an unset clock (1970), or one far in the future
    for bogus in (0, int(4e18)):
        assert read_capture(path, mtime_ns=bogus) == Capture(None, "mtime")


def test_mtime_reads_in_local_time(tmp_path: Path, paris: None) -> None:
    mtime_ns = int(INSTANT * 1e9)
    capture = read_capture(write(tmp_path / "clip.mp4"), mtime_ns=mtime_ns)
    assert capture.iso() == "2019-07-14T15:32:10+02:00"


def test_placeholder_dates_are_ignored(tmp_path: Path) -> None:
    tags = {
        "com.apple.quicktime.creationdate": "1904-01-01T00:00:00+0000",
        "creation_time": "1970-01-01T00:00:00Z",
    }
    path = write(tmp_path / "clip.mov", tags, options=APPLE_TAGS)
    assert tags_of(path)["creation_time"] == "1970-01-01T00:00:00Z"
    assert read_capture(path).source == "mtime"


def test_a_placeholder_gives_way_to_the_next_source(tmp_path: Path) -> None:
    tags = {
        "com.apple.quicktime.creationdate": "1904-01-01T00:00:00+0000",
        "creation_time": "2019-07-14T13:32:10Z",
    }
    capture = read_capture(write(tmp_path / "clip.mov", tags, options=APPLE_TAGS))
    assert (capture.source, capture.timestamp()) == ("container", INSTANT)


def test_a_date_in_the_future_is_ignored(tmp_path: Path) -> None:
    later = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert read_capture(write(tmp_path / "clip.mp4", {"creation_time": later})).source == "mtime"


def test_a_corrupt_file_falls_back_to_mtime(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    os.utime(path, ns=(KNOWN_MTIME_NS, KNOWN_MTIME_NS))
    capture = read_capture(path)
    assert capture == Capture(capture.captured_at, "mtime")
    assert capture.timestamp() == pytest.approx(KNOWN_MTIME_NS / 1e9, abs=1e-6)


def test_a_corrupt_file_still_has_its_sidecar(tmp_path: Path) -> None:
    # The camera wrote the XML when it shot the clip: a damaged clip does not make it wrong.
    path = tmp_path / "C0003.MP4"
    path.write_bytes(b"not a video at all" * 100)
    (tmp_path / "C0003M01.xml").write_text('<CreationDate value="2019-07-14T15:32:10+02:00"/>')
    capture = read_capture(path)
    assert (capture.source, capture.timestamp()) == ("sidecar", INSTANT)


def test_a_truncated_file_does_not_raise(tmp_path: Path) -> None:
    path = write(tmp_path / "clip.mp4", {"creation_time": "2019-07-14T13:32:10Z"})
    path.write_bytes(path.read_bytes()[:100])
    assert read_capture(path).source in SOURCES


def test_a_missing_file(tmp_path: Path) -> None:
    capture = read_capture(tmp_path / "gone.mp4")
    assert capture == Capture(None, "mtime")
    assert capture.iso() is None and capture.timestamp() is None
    assert read_capture(tmp_path / "gone.mp4", mtime_ns=KNOWN_MTIME_NS).source == "mtime"


def test_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    plain = write(tmp_path / "plain.mp4", {"creation_time": "2019-07-14T13:32:10Z"})
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/bad\xff.mp4"))
    try:
        plain.rename(odd)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    assert read_capture(odd).timestamp() == INSTANT


PLUS2 = timezone(timedelta(hours=2))


def on_14_july(h: int, m: int, s: int = 0, us: int = 0, tz: timezone = UTC) -> datetime:
    """A time on the day of the examples (keeps the table below one line a case)."""
    return datetime(2019, 7, 14, h, m, s, us, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-07-14T13:32:10.000000Z", on_14_july(13, 32, 10)),
        ("2019-07-14T15:32:10+0200", on_14_july(15, 32, 10, tz=PLUS2)),
        ("2019-07-14T15:32:10+02:00", on_14_july(15, 32, 10, tz=PLUS2)),
        ("2019-07-14T15:32:10+02", on_14_july(15, 32, 10, tz=PLUS2)),
        ("2019-07-14T08:02:10-05:30", on_14_july(8, 2, 10, tz=timezone(-timedelta(hours=5.5)))),
        ("2019-07-14T13:32:10.1234567Z", on_14_july(13, 32, 10, 123456)),
        ("2019-07-14 13:32:10.5 UTC", on_14_july(13, 32, 10, 500000)),
        ("UTC 2019-07-14 13:32:10", on_14_july(13, 32, 10)),
        ("2019:07:14 13:32:10Z", on_14_july(13, 32, 10)),
        ("  2019-07-14 13:32Z\n", on_14_july(13, 32)),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    parsed = parse_when(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == expected.utcoffset()


def test_parse_when_without_a_zone_is_local_time(paris: None) -> None:
    for text in ("2019-07-14 15:32:10", "2019-07-14T15:32:10", "2019-07-14"):
        parsed = parse_when(text)
        assert parsed is not None and parsed.utcoffset() == timedelta(hours=2), text
    assert parse_when("2019-07-14 15:32:10") == datetime(2019, 7, 14, 13, 32, 10, tzinfo=UTC)
    assert parse_when("2019-01-14 15:32:10") == datetime(2019, 1, 14, 14, 32, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2019", "2019-13-01 00:00:00", "2019-02-30", "2019-07-14T25:00:00Z"]
)
def test_parse_when_refuses_what_is_not_a_date(text: str) -> None:
    assert parse_when(text) is None


def test_iso_is_to_the_second() -> None:
    when = datetime(2019, 7, 14, 15, 32, 10, 999999, tzinfo=timezone(timedelta(hours=2)))
    capture = Capture(when, "quicktime", EIFFEL)
    assert capture.iso() == "2019-07-14T15:32:10+02:00"
    assert capture.timestamp() == pytest.approx(INSTANT + 0.999999)
