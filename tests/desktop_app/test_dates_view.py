"""Browsing by date, the date range, sorting by date, the best second and hover scrubbing.

The pure parts (month sections, the scrubber's marks, the model's layout) with hand-made
results; the window with the demo footage indexed, its files' dates set by hand.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage

from core.query.ranking import SearchResult
from desktop_app import main_window
from desktop_app.date_sections import scrubber_marks, sections, shot_detail
from desktop_app.results import HeaderRole, ResultsModel, scrub_time
from tests.app_support import drop


def shot(year: int, month: int, day: int = 10) -> float:
    return datetime(year, month, day, 12).timestamp()


def card(name: str, ts: float | None, score: float = 0.5, t0: float = 0.0) -> SearchResult:
    return SearchResult(
        f"/v/{name}.mp4", t0, t0 + 8, score, None, hash(name) % 1000, (int(t0),),
        relevance=score, captured_ts=ts, captured_source=None if ts is None else "quicktime",
        best_t=t0 + 3,
    )  # fmt: skip


def test_month_sections_and_the_scrubber_marks() -> None:
    results = [
        card("a", shot(2024, 7, 20)), card("b", shot(2024, 7, 2)), card("c", shot(2024, 3)),
        card("d", shot(2019, 12)), card("e", None),
    ]  # fmt: skip
    grouped = sections(results)
    assert [(s.title, s.count) for s, _ in grouped] == [
        ("July 2024", 2), ("March 2024", 1), ("December 2019", 1), ("Date unknown", 1),
    ]  # fmt: skip
    rows = [(s, i * 10) for i, (s, _) in enumerate(grouped)]
    assert scrubber_marks(rows) == [
        ("2024", 0, True), ("Jul", 0, False), ("Mar", 10, False),
        ("2019", 20, True), ("Dec", 20, False), ("Undated", 30, True),
    ]  # fmt: skip
    assert "from the phone's recording date" in shot_detail(results[0])
    assert shot_detail(results[-1]) == "Shooting date unknown"


def test_the_browse_layout_shows_every_video_under_its_month(qapp) -> None:
    model = ResultsModel()
    videos = [card(f"v{i}", shot(2023, 12 - i // 3), score=0.0) for i in range(30)]
    model.set_results(videos, browsing=True)
    headers = [model.index(i).data(HeaderRole) for i in range(model.rowCount())]
    titles = [h.title for h in headers if h is not None]
    assert titles[:3] == ["December 2023", "November 2023", "October 2023"] and len(titles) == 10
    assert len(model.shown_results()) == 30  # no "Show more": browsing lists them all
    assert [r for _, r in model.section_rows()][:2] == [0, 4]
    assert not model.flags(model.index(0)) & Qt.ItemFlag.ItemIsSelectable


def test_sorted_by_date_the_best_matches_are_laid_out_newest_first(qapp) -> None:
    model = ResultsModel()
    strong = [card(f"s{i}", shot(2020 + i, 1), score=0.9) for i in range(3)]
    weak = [card(f"w{i}", shot(2025, 6), score=0.05) for i in range(30)]
    by_date = sorted(strong + weak, key=lambda r: -(r.captured_ts or 0))
    model.set_results(by_date, by_date=True)
    shown = model.shown_results()
    assert {r.path for r in shown} >= {r.path for r in strong}  # the cut goes by match...
    assert not any(r.path.startswith("/v/w2") for r in shown)  # ...not by date
    stamps = [r.captured_ts for r in shown]
    assert stamps == sorted(stamps, reverse=True)  # ...and is laid out by date


def test_a_decoded_best_second_becomes_the_thumbnail_and_hover_scrubs(qapp) -> None:
    model = ResultsModel()
    r = card("a", shot(2022, 5), t0=16)
    model.set_results([r], {})
    picture = QImage(32, 18, QImage.Format.Format_RGB32)
    picture.fill(QColor("red"))
    model.add_frames({(r.path, 19_000): ("/cache/a/000019000.jpg", picture)})
    assert model.shown_results()[0].thumbnail == "/cache/a/000019000.jpg"
    assert model.pixmap(model.shown_results()[0]) is not None

    assert scrub_time(r, 0.0) == pytest.approx(16.5) and scrub_time(r, 0.99) == 23.5
    wanted = model.scrub(r, 0.3)
    assert wanted == (r, scrub_time(r, 0.3))  # not decoded yet: asked for
    pixmap, where = model.scrub_pixmap(r)
    assert pixmap is None and 0.3 < where < 0.4
    model.add_frames({(r.path, round(wanted[1] * 1000)): ("/cache/a/x.jpg", picture)})
    assert model.scrub(r, 0.3) is None  # cached now
    assert model.scrub_pixmap(r)[0] is not None
    model.stop_scrub()
    assert model.scrub_pixmap(r) is None


@pytest.fixture
def dated_footage(footage, tmp_path):
    """The demo footage copied, each file's modification time a month apart in 2021-2022."""
    import shutil

    folder = tmp_path / "dated"
    shutil.copytree(footage[0], folder)
    when = {}
    for i, video in enumerate(sorted(folder.glob("*.mp4"))):
        stamp = shot(2021 + i // 12, 1 + i % 12)
        os.utime(video, (stamp, stamp))
        when[video.name] = stamp
    return folder, when


def test_the_window_browses_filters_by_date_and_opens_at_the_moment(
    qtbot, window, dated_footage, monkeypatch
) -> None:
    folder, when = dated_footage
    finished: list[object] = []
    window.engine.jobFinished.connect(finished.append)
    drop(window, [folder])
    qtbot.waitUntil(lambda: bool(finished), timeout=180_000)
    # an empty box: every indexed video by date, newest first, with the scrubber beside
    qtbot.waitUntil(
        lambda: window.browsing and window.response is not None
        and len(window.response.results) == len(when) - 1,  # broken.mp4 is not indexed
        timeout=30_000,
    )  # fmt: skip
    model = window.results_model
    titles = [h.title for h, _ in model.section_rows()]
    indexed = sorted((t for name, t in when.items() if name != "broken.mp4"), reverse=True)
    assert titles == [f"{datetime.fromtimestamp(t):%B %Y}" for t in indexed]  # newest first
    assert window.scrubber.isVisible() and window.scrubber.labels()[:2] == ["2021", "Dec"]
    assert "newest first" in window.summary.text()
    window.scrubber.jump.emit(model.section_rows()[-1][1])  # the scrubber scrolls the grid
    assert window.results_view.verticalScrollBar().value() > 0

    # a range: only what was shot in it, in the browse view and in a search
    window.date_filter.set_range(date(2021, 3, 1), date(2021, 5, 31))
    qtbot.waitUntil(lambda: window.response.request.when.bounded, timeout=15_000)
    months = {datetime.fromtimestamp(r.captured_ts).month for r in window.response.results}
    assert months == {3, 4, 5}
    window.search_box.setText("a red circle")
    window.search_box.submit(force=True)
    qtbot.waitUntil(
        lambda: window.response.request.text == "a red circle" and bool(window.response.results),
        timeout=15_000,
    )
    assert all(3 <= datetime.fromtimestamp(r.captured_ts).month <= 5 for r in model.results)
    # each card's thumbnail becomes the picture of its best second, made in the background
    # (a tuple-keyed dict sent through Signal(dict) was dropped by PySide: this failed first)
    serial = window.response.request.serial
    qtbot.waitUntil(
        lambda: all(
            Path(r.thumbnail).stem == f"{round(r.best_t * 1000):09d}" for r in model.shown_results()
        ),
        timeout=15_000,
    )

    assert window.response.request.serial == serial  # no other search brought them
    window.date_filter.set_order("date")
    qtbot.waitUntil(lambda: window.response.request.order == "date", timeout=15_000)
    assert model.by_date and model.section_rows()
    assert not window.group_button.isEnabled()  # month headers, not video headers

    # the preview starts at the best second; Open starts the player there
    first = model.shown_results()[0]
    window.select_result(model.row_of(first))
    assert window.player.t0 == first.t0 and window.preview_pane.result.best_t is not None
    started = []
    monkeypatch.setattr(main_window, "start_player", started.append)
    monkeypatch.setenv("PATH", str(_fake_mpv(window, folder.parent)))
    monkeypatch.setenv("CLIPSEEK_PLAYER", "mpv")  # the suite forces the default handler
    window.open_current()
    assert started and started[0].argv[0].endswith("mpv")
    best = window.preview_pane.result.start
    assert started[0].argv[1] == f"--start={best:g}" and started[0].argv[-1] == first.path
    assert window.statusBar().currentMessage().startswith("Opened in mpv at 0:")

    # hovering a card asks for frames across its range
    view = window.results_view
    rect = view.visualRect(model.index(model.row_of(first)))
    wanted: list[tuple[SearchResult, float]] = []
    view.frameWanted.connect(lambda r, t: wanted.append((r, t)))
    for x in (rect.left() + 5, rect.center().x(), rect.right() - 5):
        qtbot.mouseMove(view.viewport(), QPoint(x, rect.center().y()))
    qtbot.waitUntil(lambda: len({round(t, 2) for _, t in wanted}) >= 2, timeout=5_000)
    assert all(first.t0 <= t <= first.t1 for _, t in wanted)


def _fake_mpv(window, where: Path) -> Path:
    """A folder holding an executable named mpv (never run: start_player is replaced)."""
    bin_dir = where / "bin"
    bin_dir.mkdir(exist_ok=True)
    mpv = bin_dir / "mpv"
    mpv.write_text("#!/bin/sh\nexit 0\n")
    mpv.chmod(0o755)
    return bin_dir


def test_a_hovered_frame_is_asked_for_once_and_the_cache_is_bounded(qapp) -> None:
    from desktop_app.results import FRAME_CACHE

    model = ResultsModel()
    r = card("a", shot(2022, 5), t0=0)
    model.set_results([r], {})
    assert model.scrub(r, 0.1) is not None
    assert model.scrub(r, 0.1) is None and model.scrub(r, 0.12) is None  # asked already
    picture = QImage(8, 8, QImage.Format.Format_RGB32)
    model.add_frames({(f"/v/{i}.mp4", 1000): ("/c/x.jpg", picture) for i in range(500)})
    assert len(model._frames) == FRAME_CACHE  # the oldest went
    model.set_results([r], {})
    assert model.scrub(r, 0.1) is not None  # a new search may try a failed frame again


def test_sorted_by_date_a_video_opened_from_the_timeline_shows_every_moment(qapp) -> None:
    model = ResultsModel()
    moments = [card("long", shot(2020, 1), score=0.9 if i == 0 else 0.01, t0=8.0 * i)
               for i in range(12)]  # fmt: skip
    others = [card(f"o{i}", shot(2021, 1 + i), score=0.9) for i in range(10)]
    model.set_results(others + moments, by_date=True)
    before = [m for m in model.shown_results() if m.path == "/v/long.mp4"]
    model.expand("/v/long.mp4")
    after = [m for m in model.shown_results() if m.path == "/v/long.mp4"]
    assert len(before) < 12 == len(after)
