"""The results grid's model: what is laid out first, a few per video, more on request.

Driven with hand-made results (relevance as core.query.relevance gives it) through the model's
public API, the way the window uses it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from core.query.ranking import SearchResult
from desktop_app.results import (
    PAGE,
    PER_VIDEO,
    Header,
    More,
    MoreRole,
    ResultsModel,
    card_width,
    header_detail,
    header_layout,
    time_badge,
)


def moment(video: str, t0: float, relevance: float) -> SearchResult:
    return SearchResult(
        f"/v/{video}.mp4", t0, t0 + 8, relevance, None, hash(video) % 1000, (int(t0),),
        relevance=relevance,
    )  # fmt: skip


def rows(model: ResultsModel) -> list[object]:
    out = []
    for i in range(model.rowCount()):
        index = model.index(i)
        out.append(
            index.data(MoreRole)
            or index.data(Qt.ItemDataRole.UserRole + 2)
            or index.data(Qt.ItemDataRole.UserRole + 1)
        )
    return out


def strong_and_weak() -> list[SearchResult]:
    """Six strong moments of one long video, two of another, then a tail of weak ones."""
    strong = [moment("party", t, 0.95 - t / 1000) for t in (40, 0, 80, 120, 160, 200)]
    strong += [moment("beach", t, 0.9 - t / 1000) for t in (8, 48)]
    weak = [moment(f"other{i}", 0, 0.3 - i / 100) for i in range(30)]
    return sorted(strong + weak, key=lambda r: -r.score)


def test_a_long_video_shows_three_cards_and_a_tile_for_the_rest(qtbot) -> None:
    model = ResultsModel()
    model.set_results(strong_and_weak(), {})
    laid = rows(model)
    party = [r for r in laid if isinstance(r, SearchResult) and "party" in r.path]
    assert len(party) == PER_VIDEO
    tile = next(r for r in laid if isinstance(r, More) and r.path)
    assert tile == More(6 - PER_VIDEO, "/v/party.mp4")
    assert laid.index(tile) == laid.index(party[-1]) + 1  # right after the video's last card
    # the weak tail waits behind "Show more"
    assert not any(isinstance(r, SearchResult) and "other" in r.path for r in laid)
    assert isinstance(laid[-1], More) and laid[-1].path is None
    # choosing the tile lays out every moment of the video
    model.activate(model.index(laid.index(tile)))
    party = [r for r in model.shown_results() if "party" in r.path]
    assert len(party) == 6 and not any(isinstance(r, More) and r.path for r in rows(model))


def test_show_more_adds_a_page_and_a_refresh_keeps_what_was_opened(qtbot) -> None:
    model = ResultsModel()
    results = strong_and_weak()
    model.set_results(results, {})
    limit = model.limit
    more = model.rowCount() - 1
    assert model.activate(model.index(more))  # Show more
    assert model.limit == min(len(results), limit + PAGE)
    model.expand("/v/party.mp4")
    opened = len(model.shown_results())
    model.set_results(results, {}, keep_view=True)  # the same search, refreshed while indexing
    assert len(model.shown_results()) == opened
    model.set_results(results, {})  # a new search starts from its best again
    assert model.limit == limit and not model.expanded


def test_grouped_headers_then_moments_in_time_order(qtbot) -> None:
    model = ResultsModel()
    model.set_grouped(True)
    model.set_results(strong_and_weak(), {})
    laid = rows(model)
    assert isinstance(laid[0], Header) and laid[0].path == "/v/party.mp4"
    times = [r.t0 for r in laid[1 : 1 + PER_VIDEO]]
    assert times == sorted(times)
    assert laid[1 + PER_VIDEO] == More(3, "/v/party.mp4")
    assert isinstance(laid[2 + PER_VIDEO], Header) and laid[2 + PER_VIDEO].path == "/v/beach.mp4"


def test_a_tiny_library_shows_everything(qtbot) -> None:
    model = ResultsModel()
    results = [
        SearchResult(f"/v/{i}.mp4", 0, 8, 0.5 - i / 100, None, i, (i,)) for i in range(5)
    ]  # no relevance: too few moments to tell what stands out
    model.set_results(results, {})
    assert len(model.shown_results()) == 5 and not any(isinstance(r, More) for r in rows(model))


def test_cards_share_the_width_of_the_view() -> None:
    for width in range(230, 2000, 37):
        w = card_width(width, 5)
        columns = max(1, (width - 6) // (w + 5))
        used = columns * w + (columns + 1) * 5
        assert used < width and width - used <= w // 2 + columns + 6, (width, w, columns)


def test_header_names_that_fit_are_never_cut(qtbot) -> None:
    from PySide6.QtGui import QFont, QFontMetrics

    font = QFont()
    font.setBold(True)
    fm = QFontMetrics(font)
    for name in ("bike.mp4", "a.mp4", "IMG_0412.MOV", "birthday party 2019.mp4"):
        text, width = header_layout(fm, name, 600)
        assert text == name and width >= fm.horizontalAdvance(name)
    long = "a very long file name that goes on and on and on and on and on forever.mp4"
    text, width = header_layout(fm, long, 300)
    assert text != long and "…" in text and width <= 200


def test_a_square_clip_is_shown_whole_not_cropped_to_16_9(qtbot) -> None:
    """Seen in the screenshots: a square clip's thumbnail was cropped to the card's 16:9 box,
    cutting off the shape at its top that the search had matched."""
    from PySide6.QtGui import QColor, QImage

    from desktop_app.results import ResultsView

    square = QImage(200, 200, QImage.Format.Format_RGB32)
    square.fill(QColor(20, 20, 20))
    for y in range(0, 16):  # a red band along the top edge
        for x in range(200):
            square.setPixelColor(x, y, QColor(230, 0, 0))
    r = SearchResult("/v/square.mp4", 0, 8, 0.9, "/thumbs/sq.jpg", 1, (1,), relevance=0.9)
    model = ResultsModel()
    view = ResultsView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(600, 500)
    view.show()
    model.set_results([r], {"/thumbs/sq.jpg": square})
    qtbot.wait(50)
    shot = view.viewport().grab().toImage()
    card = view.visualRect(model.index(0))
    reds = sum(
        1
        for x in range(card.left(), card.right(), 3)
        for y in range(card.top(), card.top() + card.height() // 2, 2)
        if (c := shot.pixelColor(x, y)).red() > 180 and c.green() < 60
    )
    assert reds > 20, "the top of the picture is not on the card"


def test_a_group_header_counts_the_moments_laid_out_under_it(qtbot) -> None:
    """box.mp4 has five moments, two above the cut and three behind Show more: its header
    said "5 moments" over two cards. It says how many of them are shown."""
    box = [moment("box", t, 0.9 - t / 1000) for t in (0, 16)]
    box += [moment("box", t, 0.1 - t / 1000) for t in (32, 48, 64)]
    weak = [moment(f"other{i}", 0, 0.5 - i / 100) for i in range(30)]
    model = ResultsModel()
    model.set_grouped(True)
    model.set_results(sorted(box + weak + strong_and_weak()[:8], key=lambda r: -r.score), {})
    laid = rows(model)
    words = {}
    for i, row in enumerate(laid):
        if isinstance(row, Header):
            under = 0
            for below in laid[i + 1 :]:
                if not isinstance(below, SearchResult):
                    break
                under += 1
            words[row.path] = (under, header_detail(row))
    assert words["/v/box.mp4"] == (2, "2 of 5 moments shown · /v")
    # three cards and a tile for the other three: the tile says the rest
    assert words["/v/party.mp4"] == (3, "3 of 6 moments shown · /v")
    assert words["/v/beach.mp4"] == (2, "2 moments · /v")  # all of them: nothing to explain
    model.expand("/v/box.mp4")
    box_header = next(r for r in rows(model) if isinstance(r, Header) and "box" in r.path)
    assert header_detail(box_header) == "5 moments · /v"


def test_a_browse_card_shows_its_videos_length_a_moment_its_range() -> None:
    """A whole video's card read "0:00 – 0:06" on its picture (seen living with the window)."""
    video = SearchResult("/v/a.mp4", 0.0, 6.0, 0.0, None, 1, (1,), duration=6.0)
    assert time_badge(video, browsing=True) == "0:06"
    assert time_badge(moment("a", 8.0, 0.9)) == "0:08 – 0:16"
