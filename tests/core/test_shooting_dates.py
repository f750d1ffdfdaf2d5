"""When videos were shot, through the library: dates read at indexing, an older library
migrated without decoding, date ranges inside the index query, browsing, sorting by date, and
the best-matching second of a moment."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.ingest import capture, sample
from core.library import Library
from core.model.encoder import Encoder, l2_normalise
from core.query.period import Period, PeriodError
from core.store.layout import DB_NAME
from tests.library_support import clipseek, index_all
from tests.videos import frame_at, pattern, write_tagged_video, write_video


@pytest.fixture(scope="module")
def encoder(tiny_seqtransf) -> Encoder:
    return Encoder(tiny_seqtransf[1], force_cpu=True)


def _local(year: int, month: int, day: int = 1) -> float:
    return datetime(year, month, day, 12).astimezone().timestamp()


def _dated_folder(root: Path) -> dict[str, float]:
    """Five videos: three dated by mtime only (2017, 2019-07, 2021), one by creation_time,
    one by an iPhone's creationdate. Returns name → the POSIX time each should get."""
    when = {}
    for i, (name, year, month) in enumerate(
        [("old.mp4", 2017, 3), ("summer.mp4", 2019, 7), ("late.mp4", 2021, 11)]
    ):
        write_video(root / name, seed=300 + i, seconds=12)
        when[name] = _local(year, month)
        os.utime(root / name, (when[name], when[name]))
    write_tagged_video(
        root / "camera.mp4", 310, {"creation_time": "2019-08-02T10:00:00.000000Z"}, seconds=12
    )
    when["camera.mp4"] = datetime.fromisoformat("2019-08-02T10:00:00+00:00").timestamp()
    write_tagged_video(
        root / "phone.mov",
        311,
        {
            "com.apple.quicktime.creationdate": "2020-05-17T18:30:00+0200",
            "creation_time": "2020-05-17T16:30:05.000000Z",
        },
        seconds=12,
    )
    when["phone.mov"] = datetime.fromisoformat("2020-05-17T18:30:00+02:00").timestamp()
    return when


@pytest.fixture(scope="module")
def dated(tmp_path_factory, encoder) -> tuple[Path, Path, dict[str, float]]:
    base = tmp_path_factory.mktemp("dated")
    when = _dated_folder(base / "videos")
    with Library(encoder, base / "lib") as lib:
        index_all(lib, base / "videos")
    return base / "videos", base / "lib", when


def test_each_video_gets_its_shooting_time_and_where_it_came_from(dated, encoder) -> None:
    _videos, root, when = dated
    with Library(encoder, root) as lib:
        shown = {Path(r.path).name: r for r in lib.browse()}
    assert set(shown) == set(when)
    for name, ts in when.items():
        assert shown[name].captured_ts == pytest.approx(ts, abs=1), name
    sources = {name: r.captured_source for name, r in shown.items()}
    assert sources == {
        "old.mp4": "mtime", "summer.mp4": "mtime", "late.mp4": "mtime",
        "camera.mp4": "container", "phone.mov": "quicktime",
    }  # fmt: skip
    assert shown["phone.mov"].captured_at == "2020-05-17T18:30:00+02:00"  # the zone it was shot in
    assert shown["camera.mp4"].captured_at == "2019-08-02T10:00:00+00:00"


def test_browse_is_newest_first_one_card_per_video_and_keeps_the_folder_filter(
    dated, encoder, tmp_path
) -> None:
    videos, root, when = dated
    with Library(encoder, root) as lib:
        cards = lib.browse()
        names = [Path(r.path).name for r in cards]
        assert names == sorted(when, key=lambda n: -when[n])
        for r in cards:  # the whole video, its thumbnail from the middle
            assert r.t0 == 0 and r.t1 == pytest.approx(r.duration)
            assert r.thumbnail and Path(r.thumbnail).is_file()
            assert 0 < r.start < r.t1
        summer = lib.browse(when=Period.parse("2019-07", "2019-09"))
        assert [Path(r.path).name for r in summer] == ["camera.mp4", "summer.mp4"]
        assert lib.browse(folders=[videos], limit=2) == cards[:2]
        outside = tmp_path / "elsewhere"
        outside.mkdir()
        with pytest.raises(Exception, match="not inside a watched folder"):
            lib.browse(folders=[outside])


def test_a_date_range_returns_k_moments_of_that_range_only(dated, encoder) -> None:
    _videos, root, _when = dated
    with Library(encoder, root) as lib:
        year_2019 = Period.parse("2019", "2020")
        in_range = len(lib.catalog.segment_ids_captured(year_2019.after, year_2019.before))
        assert in_range == 4  # two 12 s videos, two 8 s windows each
        hits = lib.search("a dog on the beach", 3, merge=False, when=year_2019)
        assert len(hits) == 3  # a narrow range still fills k
        assert {Path(r.path).name for r in hits} <= {"summer.mp4", "camera.mp4"}
        assert all(year_2019.after <= r.captured_ts < year_2019.before for r in hits)
        scores = [r.score for r in hits]
        assert scores == sorted(scores, reverse=True)
        # the same moments, in the same order, as the unfiltered search restricted afterwards
        every = lib.search("a dog on the beach", 200, merge=False)
        kept = [(r.path, r.t0) for r in every if Path(r.path).name in ("summer.mp4", "camera.mp4")]
        assert [(r.path, r.t0) for r in hits] == kept[:3]
        assert lib.search("a dog", 5, when=Period.parse("2030")) == []
        since = lib.search("a dog", 40, merge=False, when=Period.parse(after="2020-05-17"))
        assert {Path(r.path).name for r in since} == {"phone.mov", "late.mp4"}


def test_results_sort_by_date_newest_first(dated, encoder) -> None:
    _videos, root, _when = dated
    with Library(encoder, root) as lib:
        ranked = lib.search("people", 12)
        by_date = lib.search("people", 12, order="date")
    assert sorted(ranked, key=lambda r: (r.path, r.t0)) == sorted(
        by_date, key=lambda r: (r.path, r.t0)
    )
    stamps = [r.captured_ts for r in by_date]
    assert stamps == sorted(stamps, reverse=True)
    with pytest.raises(ValueError, match="unknown order"):
        Library.search(lib, "x", order="size")  # closed library: fails on the order first


def test_periods_read_what_people_type() -> None:
    assert Period.parse("2019", "2020").after == pytest.approx(_local(2019, 1, 1) - 12 * 3600)
    assert Period.parse(before="2019-07").before == pytest.approx(_local(2019, 7, 1) - 12 * 3600)
    exact = Period.parse("2019-07-14T10:00:00+02:00")
    assert exact.after == datetime.fromisoformat("2019-07-14T08:00:00+00:00").timestamp()
    for bad in ("last summer", "2019-13", "14/07/2019"):
        with pytest.raises(PeriodError, match="YYYY-MM-DD"):
            Period.parse(bad)
    with pytest.raises(PeriodError, match="ends before it starts"):
        Period.parse("2020", "2019")
    assert Period.parse("2019-07-01", "2019-09-01").describe() == "shot 2019-07-01 – 2019-08-31"


def test_an_old_library_gains_dates_without_decoding_a_frame(tmp_path, encoder, monkeypatch):
    videos = tmp_path / "videos"
    write_video(videos / "a.mp4", seed=1, seconds=9)
    write_tagged_video(videos / "b.mp4", 2, {"creation_time": "2018-06-01T09:00:00Z"})
    stamp = _local(2016, 2)
    os.utime(videos / "a.mp4", (stamp, stamp))
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, videos)
        before = {(r.path, r.t0, r.t1) for r in lib.search("a cat", 20, merge=False)}
    # Make it a schema-1 library, as ClipSeek wrote them before it knew dates.
    db = sqlite3.connect(tmp_path / "lib" / DB_NAME)
    db.execute("DROP INDEX videos_captured")
    for column in ("captured_at", "captured_ts", "captured_source", "location"):
        db.execute(f"ALTER TABLE videos DROP COLUMN {column}")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()

    def no_decoding(*args, **kwargs):
        raise AssertionError("a frame was decoded during the migration")

    monkeypatch.setattr(sample, "sample_frames", no_decoding)
    monkeypatch.setattr(Encoder, "encode_pixels", no_decoding)
    monkeypatch.setattr(capture.av, "open", no_decoding)  # MP4: not even a stream probed
    with Library(encoder, tmp_path / "lib") as lib:
        assert lib.catalog.migrated
        results = lib.search("a cat", 20, merge=False)
        assert {(r.path, r.t0, r.t1) for r in results} == before  # nothing lost
        shot = {Path(r.path).name: (r.captured_source, r.captured_ts) for r in results}
        assert shot["a.mp4"] == ("mtime", pytest.approx(stamp, abs=1))
        assert shot["b.mp4"][0] == "container"
        assert lib.sync().pending == 0  # nothing to index again
    with Library(encoder, tmp_path / "lib") as lib:
        assert not lib.catalog.migrated


def test_the_best_second_of_a_moment_is_its_best_scoring_frame(tmp_path, encoder) -> None:
    videos = tmp_path / "videos"
    write_video(videos / "a.mp4", seed=21, seconds=20)
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, videos)
        query = l2_normalise(encoder.encode_text("a red balloon")[None])[0]
        dim = encoder.embed_dim
        for r in lib.search("a red balloon", 4):
            times, frames = lib.catalog.frames(r.video_id, dim)
            inside = (times >= r.t0 - 1e-6) & (times <= r.t1 + 1e-6)
            scores = l2_normalise(frames[inside]) @ query
            assert r.best_t == pytest.approx(times[inside][int(np.argmax(scores))])
            assert r.t0 <= r.start <= r.t1
        # a picture: the frame it was taken from is the best second, and its thumbnail shows it
        best = lib.search_image(frame_at(videos / "a.mp4", 13.5), 1)[0]
        assert 13 <= best.best_t < 14
        thumb = lib.frame_thumbnail(best, best.best_t)
        assert thumb and Path(thumb).is_file()
        want = cv2.resize(pattern(21, 13), cv2.imread(thumb).shape[1::-1])
        assert np.abs(cv2.imread(thumb).astype(int) - want).mean() < 12
        assert lib.search("a red balloon", 1)[0].to_json()["best_t"] is not None


def test_search_and_browse_from_the_command_line(dated, tiny_seqtransf) -> None:
    _videos, root, _when = dated
    common = ["--model", tiny_seqtransf[1], "--library", root, "--cpu"]
    out = clipseek(
        "search", "a walk", "-k", "4", "--after", "2019", "--before", "2020", "--json", *common
    )
    found = json.loads(out.stdout)
    assert found["query"]["after"] == "2019" and len(found["results"]) >= 1
    for r in found["results"]:
        assert Path(r["path"]).name in ("summer.mp4", "camera.mp4")
        assert r["captured_at"].startswith("2019-") and r["captured_source"] in (
            "mtime",
            "container",
        )
        assert r["t0"] <= r["best_t"] <= r["t1"]
    bad = clipseek("search", "a walk", "--after", "last summer", *common, check=False)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    none = clipseek("search", "a walk", "--after", "2031", *common).stdout
    assert "no indexed video was shot since 2031-01-01" in none
    listing = clipseek("browse", *common).stdout
    assert listing.index("May 2020") < listing.index("August 2019") < listing.index("March 2017")
    cards = json.loads(clipseek("browse", "--json", "--before", "2018", *common).stdout)
    assert [Path(r["path"]).name for r in cards["results"]] == ["old.mp4"]


def test_a_video_without_a_recorded_length_browses_whole(tmp_path, encoder) -> None:
    videos = tmp_path / "videos"
    write_video(videos / "long.mp4", seed=5, seconds=24)
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, videos)
        lib.catalog.conn.execute("UPDATE videos SET duration = NULL")  # indexed before lengths
        lib.catalog.conn.commit()
        card = lib.browse()[0]
        assert card.t1 == pytest.approx(24) and 8 < card.start < 16  # not its first window


def test_copies_folded_into_one_moment_decode_from_the_file_that_is_there(
    tmp_path, encoder
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_video(a / "clip.mp4", seed=8, seconds=12)
    b.mkdir()
    (b / "clip.mp4").write_bytes((a / "clip.mp4").read_bytes())
    stamp = _local(2018, 4)
    os.utime(b / "clip.mp4", (stamp, stamp))
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, a, b)
        (a / "clip.mp4").rename(tmp_path / "away.mp4")  # one copy goes offline, unscanned
        for r in lib.search_image(frame_at(b / "clip.mp4", 5.5), 3):
            assert r.path == str((b / "clip.mp4").resolve()) and r.online
            assert r.captured_ts == pytest.approx(stamp, abs=1)  # the kept copy's own date
            assert lib.frame_thumbnail(r, r.start) is not None


def test_ranges_that_reach_past_any_clock_still_work() -> None:
    wide = Period.days(None, date(9999, 12, 31))  # a date field's own maximum
    assert wide.before is not None and not Period.days(date(1900, 1, 2), None).before
    assert Period.parse("9999-12-31").after > Period.parse("2100").after
