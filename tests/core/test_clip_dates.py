"""A saved clip keeps when and where its moment was shot: the source's shooting date plus the
clip's start, in the source's zone, and its place, read back the way a scan reads them."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

av = pytest.importorskip("av")

from core.clips import save_segment  # noqa: E402
from core.ingest.capture import read_capture  # noqa: E402
from tests.videos import write_tagged_video  # noqa: E402

SEOUL = "+37.5665+126.9780/"
PLUS2 = timezone(timedelta(hours=2))
#: box.mp4's day: 9 June 2014, 14:03:20 where it was shot (two hours ahead of UTC).
SHOT = datetime(2014, 6, 9, 14, 3, 20, tzinfo=PLUS2)
#: 2017-07-14 02:40:00 UTC: a modification time that is the only date a file has.
MTIME_NS = 1_500_000_000 * 10**9


def dated_source(path: Path, *, location: str | None = SEOUL) -> Path:
    """A 6 s video shot at SHOT (+02:00), tagged as a phone (MP4/MOV) or a camcorder (MKV)."""
    if path.suffix == ".mkv":
        tags = {"DATE_RECORDED": "2014-06-09T14:03:20+02:00"}
        if location:
            tags["LOCATION"] = location
    else:
        tags = {
            "com.apple.quicktime.creationdate": "2014-06-09T14:03:20+0200",
            "creation_time": "2014-06-09T12:03:20.000000Z",
        }
        if location:
            tags["com.apple.quicktime.location.ISO6709"] = location
    return write_tagged_video(path, 1, tags, size=(64, 48))


@pytest.fixture(autouse=True)
def out_folder(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()


def container_tags(path: Path) -> dict[str, str]:
    """What FFmpeg (ffprobe's library) reads from the clip's container, keys lower-cased."""
    with av.open(str(path)) as container:
        return {key.lower(): value for key, value in container.metadata.items()}


@pytest.mark.parametrize(
    ("source_name", "clip_name"),
    [
        ("box.mp4", "clip.mp4"),
        ("IMG_0001.mov", "clip.mov"),
        ("camcorder.mkv", "clip.mkv"),
        ("IMG_0002.mov", "clip.mkv"),
        ("camcorder.mkv", "clip.mp4"),
    ],
)
def test_a_clip_starts_when_its_moment_was_shot(
    tmp_path: Path, source_name: str, clip_name: str
) -> None:
    source = dated_source(tmp_path / source_name)
    assert read_capture(source).captured_at == SHOT  # the source is what the test says
    clip = save_segment(source, 2.0, 4.0, tmp_path / "out" / clip_name)
    capture = read_capture(clip)
    assert capture.captured_at == SHOT + timedelta(seconds=2)
    assert capture.iso() == "2014-06-09T14:03:22+02:00"  # the zone it was shot in, kept
    assert capture.location == SEOUL
    assert capture.source in ("quicktime", "matroska")
    tags = container_tags(clip)
    assert tags["creation_time"].startswith("2014-06-09T12:03:22")  # UTC, for every other tool
    if clip.suffix == ".mkv":
        assert tags["date_recorded"] == "2014-06-09T14:03:22+02:00"
    else:
        assert tags["com.apple.quicktime.creationdate"] == "2014-06-09T14:03:22+0200"
        assert tags["com.apple.quicktime.location.iso6709"] == SEOUL


def test_the_start_is_rounded_to_the_second(tmp_path: Path) -> None:
    source = dated_source(tmp_path / "box.mp4", location=None)
    capture = read_capture(save_segment(source, 1.6, 3.0, tmp_path / "out" / "clip.mp4"))
    assert capture.captured_at == SHOT + timedelta(seconds=2)
    assert capture.location is None


def test_a_utc_creation_time_gives_a_utc_clip(tmp_path: Path) -> None:
    source = write_tagged_video(
        tmp_path / "android.mp4", 2, {"creation_time": "2014-06-09T12:03:20.000000Z"},
        size=(64, 48),
    )  # fmt: skip
    assert read_capture(source).source == "container"
    capture = read_capture(save_segment(source, 3.0, 4.0, tmp_path / "out" / "clip.mov"))
    assert capture.iso() == "2014-06-09T12:03:23+00:00"
    assert capture.location is None


def test_a_source_without_any_date_gives_a_clip_without_one(tmp_path: Path) -> None:
    source = write_tagged_video(tmp_path / "undated.mp4", 3, {}, size=(64, 48))
    os.utime(source, ns=(0, 0))  # a clock never set: not even the mtime is a date
    assert read_capture(source).captured_at is None
    for name in ("clip.mp4", "clip.mov", "clip.mkv"):
        clip = save_segment(source, 1.0, 2.0, tmp_path / "out" / name)
        tags = container_tags(clip)
        assert not {"creation_time", "date_recorded", "com.apple.quicktime.creationdate"} & set(
            tags
        ), tags
        assert read_capture(clip).source == "mtime"  # the clip's own file date, nothing invented


@pytest.mark.parametrize("clip_name", ["clip.mp4", "clip.mkv"])
def test_a_date_from_the_mtime_is_carried_as_creation_time_only(
    tmp_path: Path, clip_name: str
) -> None:
    source = write_tagged_video(tmp_path / "copied.mp4", 4, {}, size=(64, 48))
    os.utime(source, ns=(MTIME_NS, MTIME_NS))
    assert read_capture(source).source == "mtime"
    clip = save_segment(source, 2.0, 3.0, tmp_path / "out" / clip_name)
    capture = read_capture(clip)
    assert capture.source == "container"  # the weakest tag a clip can carry
    assert capture.captured_at == datetime.fromtimestamp(1_500_000_002, UTC)
    tags = container_tags(clip)
    assert "com.apple.quicktime.creationdate" not in tags and "date_recorded" not in tags
