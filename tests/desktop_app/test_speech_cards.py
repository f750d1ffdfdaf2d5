"""Moments found by what was said, in the window (issue 26, item 3): the card shows the spoken
line cut around its first match with the matched words bold, the preview starts at the first
matched word, and the detail pane says the whole line, when it was said and where it comes from.

Subtitles are read while indexing, so the demo model is all these need."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QFont, QFontMetrics, QTextLayout
from PySide6.QtWidgets import QApplication

from core.query.ranking import SearchResult, SpeechMatch
from desktop_app.formatting import said_at, speech_source
from desktop_app.preview_pane import said_text
from desktop_app.results import (
    ResultRole,
    ResultsModel,
    SpeechRole,
    card_tooltip,
    marked_font,
    speech_room,
    spoken_line,
)
from desktop_app.text_fit import ELLIPSIS, elide_around
from tests.app_support import drop_and_index, search
from tests.desktop_app.test_korean_search import type_korean
from tests.videos import write_video

PARTY_SRT = """1
00:00:12,000 --> 00:00:15,000
happy birthday <i>grandma</i>

2
00:00:16,000 --> 00:00:18,000
we are lost again
"""
KOREAN_SRT = "1\n00:00:02,000 --> 00:00:04,500\n생일 축하해요 할머니\n"
#: A long line whose matched word comes last: a card must not show its start alone.
LONG_LINE = (
    "and then after a very long time of waiting at the airport for the delayed flight with "
    "all the bags and the children asleep on the floor we finally saw the zebra"
)
LONG_SRT = f"1\n00:00:03,000 --> 00:00:08,000\n{LONG_LINE}\n"
#: What a speech model hears in 30 s of a talk: one segment, six hundred characters.
TALK = " ".join(["so what we wanted to say about the garden this year is that"] * 5
                + ["the walrus"] + ["and the roses came back after all that rain"] * 3)  # fmt: skip
TALK_SRT = f"1\n00:00:01,000 --> 00:00:09,000\n{TALK}\n"


def _footage(folder: Path) -> Path:
    write_video(folder / "party.mp4", seed=1, seconds=20)
    write_video(folder / "beach.mp4", seed=2, seconds=10)
    write_video(folder / "korea.mp4", seed=3, seconds=10)
    write_video(folder / "airport.mp4", seed=4, seconds=10)
    (folder / "party.srt").write_text(PARTY_SRT, encoding="utf-8")
    (folder / "korea.ko.srt").write_bytes(KOREAN_SRT.encode("cp949"))
    (folder / "airport.srt").write_text(LONG_SRT, encoding="utf-8")
    write_video(folder / "talk.mp4", seed=5, seconds=10)
    (folder / "talk.srt").write_text(TALK_SRT, encoding="utf-8")
    return folder


def _speech(text: str, spans: tuple[tuple[int, int], ...], **kw) -> SpeechMatch:
    values = {"start": 12.0, "end": 15.0, "language": "", "source": "subtitle"} | kw
    return SpeechMatch(text, spans=spans, **values)


def _moment(name: str, speech: SpeechMatch | None = None) -> SearchResult:
    return SearchResult(f"/v/{name}.mp4", 8.0, 16.0, 0.3, None, 1, (1,), relevance=0.9,
                        speech=speech)  # fmt: skip


def _card_rows(window) -> list[int]:
    model = window.results_model
    return [i for i in range(model.rowCount()) if model.result(model.index(i)) is not None]


def _painted_width(text: str, font: QFont) -> float:
    layout = QTextLayout(text, font)
    layout.beginLayout()
    line = layout.createLine()
    line.setLineWidth(100_000)
    layout.endLayout()
    return line.naturalTextWidth()


# -- the words -----
def test_where_a_line_comes_from_reads_as_words() -> None:
    assert speech_source("subtitle", "") == "subtitles"
    assert speech_source("subtitle", "ko") == "subtitles, Korean"
    assert speech_source("model", "ko") == "heard by the speech model, Korean"
    assert speech_source("model", "xx") == "heard by the speech model"
    assert said_at(12.0, 15.4) == "said at 0:12–0:15"


def test_a_long_line_is_cut_around_its_first_match(qtbot) -> None:
    font = QApplication.font()
    fm, bold = QFontMetrics(font), QFontMetrics(marked_font(font))
    at = LONG_LINE.index("zebra")
    shown, kept = elide_around(fm, bold, LONG_LINE, ((at, at + 5),), 180)
    assert shown.startswith(ELLIPSIS) and shown.endswith("zebra")  # the match, never cut away
    assert [shown[a:b] for a, b in kept] == ["zebra"]
    assert fm.horizontalAdvance(shown) <= 180
    assert not shown[1:].startswith(" ")
    # a match near the start: only the end is cut
    shown, kept = elide_around(fm, bold, LONG_LINE, ((4, 8),), 180)
    assert shown.startswith("and then") and shown.endswith(ELLIPSIS)
    assert [shown[a:b] for a, b in kept] == ["then"]
    # in the middle: a little of what comes before it, then what follows
    at = LONG_LINE.index("airport")
    shown, kept = elide_around(fm, bold, LONG_LINE, ((at, at + 7),), 180)
    assert shown.startswith(ELLIPSIS) and shown.endswith(ELLIPSIS)
    assert [shown[a:b] for a, b in kept] == ["airport"]
    assert shown.index("airport") > 1  # (some words before it)
    # a line that fits is whole
    assert elide_around(fm, bold, "we are lost", ((7, 11),), 500) == ("we are lost", ((7, 11),))


def test_a_card_line_fits_its_card_and_marks_the_match(qtbot) -> None:
    font = QApplication.font()
    at = LONG_LINE.index("zebra")
    r = _moment("airport", _speech(LONG_LINE, ((at, at + 5),)))
    for width in (120, 200, 320):
        line = spoken_line(r, font, width)
        assert line is not None and line.marked_words() == ["zebra"], width
        assert line.text.startswith("\u201c" + ELLIPSIS) and line.text.endswith("zebra\u201d")
        said = QFontMetrics(font).horizontalAdvance("said ")
        assert _painted_width(line.text, font) + said <= width + 2, width
    # a subtitle's line breaks become spaces; the marks follow the words
    two_lines = _moment("party", _speech("happy  birthday\ngrandma", ((0, 5), (7, 15))))
    line = spoken_line(two_lines, font, 400)
    assert line is not None and line.text == "\u201chappy birthday grandma\u201d"
    assert line.marked_words() == ["happy", "birthday"]
    assert spoken_line(_moment("beach"), font, 400) is None


def test_a_card_says_what_was_said_in_its_tooltip_and_text(qtbot) -> None:
    r = _moment("korea", _speech("생일 축하해요 할머니", ((0, 2),), start=2.0, end=4.5,
                                 language="ko"))  # fmt: skip
    assert "Said at 0:02–0:04 (subtitles, Korean): \u201c생일 축하해요 할머니\u201d" in (
        card_tooltip(r)
    )
    # seen live: "Relevance 100 of 100 (similarity -0.348)" read as a contradiction
    assert "found by what was said; the picture's similarity 0.300" in card_tooltip(r)
    assert "(similarity 0.300)" in card_tooltip(_moment("beach"))
    model = ResultsModel()
    model.set_results([r, _moment("beach")])
    assert model.index(0).data().endswith("said \u201c생일 축하해요 할머니\u201d")
    assert model.index(0).data(SpeechRole) == r.speech
    assert model.index(1).data(SpeechRole) is None
    assert "said" not in model.index(1).data()
    assert said_text(r) == "Said at 0:02–0:04 (subtitles, Korean): \u201c생일 축하해요 할머니\u201d"


def test_the_room_for_a_spoken_line_comes_from_the_picture_not_the_card() -> None:
    font = QApplication.font() if QApplication.instance() else QFont()
    # at most one line's height: the picture keeps most of its 16:9
    assert 0 <= speech_room(font) <= QFontMetrics(font).height() + 2


# -- in the window -----
@pytest.fixture
def spoken(qtbot, window, tmp_path):
    window.resize(1280, 800)
    drop_and_index(qtbot, window, [_footage(tmp_path / "videos")])
    return window


def test_a_search_by_what_was_said_shows_and_plays_the_line(qtbot, spoken) -> None:
    window = spoken
    response = search(qtbot, window, "happy birthday")
    assert response.results and Path(response.results[0].path).name == "party.mp4"
    model, view = window.results_model, window.results_view
    rows = _card_rows(window)
    first = model.index(rows[0])
    r = first.data(ResultRole)
    assert Path(r.path).name == "party.mp4" and r.speech is not None
    line = view.itemDelegate().spoken_line(first)
    assert line is not None and "happy birthday grandma" in line.text
    assert line.marked_words() == ["happy", "birthday"]
    assert "happy birthday grandma" in first.data()
    # cards with and without a spoken line are the same size: the grid never jumps
    sizes = {view.visualRect(model.index(i)).size().toTuple() for i in rows}
    assert len(sizes) == 1, sizes
    assert any(model.index(i).data(SpeechRole) is None for i in rows)  # (both kinds shown)
    # selected, it plays from the first matched word
    window.select_result(rows[0])
    qtbot.waitUntil(lambda: window.current_result() is not None, timeout=5_000)
    assert window.current_result().start == pytest.approx(12.0, abs=0.5)
    qtbot.waitUntil(lambda: window.player.player.position() > 0, timeout=10_000)
    assert window.player.position == pytest.approx(12.0, abs=0.5)
    speech = window.preview_pane.speech
    assert speech.isVisible()
    assert speech.toolTip() == "Said at 0:12–0:15 (subtitles): \u201chappy birthday grandma\u201d"
    assert "<b>happy</b> <b>birthday</b> grandma" in speech.text()
    # a moment found by what was seen says nothing of speech
    seen = next(i for i in rows if model.index(i).data(SpeechRole) is None)
    window.select_result(seen)
    qtbot.waitUntil(lambda: window.current_result().speech is None, timeout=5_000)
    assert not speech.isVisible()


def test_korean_said_is_marked_on_its_card(qtbot, spoken) -> None:
    window = spoken
    type_korean(qtbot, window, "생일")
    model = window.results_model
    first = model.index(_card_rows(window)[0])
    assert Path(first.data(ResultRole).path).name == "korea.mp4"
    line = window.results_view.itemDelegate().spoken_line(first)
    assert line is not None and line.marked_words() == ["생일"]
    assert "생일 축하해요 할머니" in line.text
    window.select_result(_card_rows(window)[0])
    qtbot.waitUntil(lambda: window.current_result() is not None, timeout=5_000)
    assert "(subtitles, Korean)" in window.preview_pane.speech.toolTip()


def test_a_long_spoken_line_never_widens_the_window(qtbot, spoken) -> None:
    window = spoken
    search(qtbot, window, "said: zebra")
    rows = _card_rows(window)
    first = window.results_model.index(rows[0])
    line = window.results_view.itemDelegate().spoken_line(first)
    assert line is not None and line.marked_words() == ["zebra"]
    window.resize(800, 600)
    window.select_result(rows[0])
    qtbot.waitUntil(lambda: window.current_result() is not None, timeout=5_000)
    qtbot.wait(200)
    assert window.size() == QSize(800, 600)
    hint = window.minimumSizeHint()
    assert hint.width() <= 800 and hint.height() <= 600, hint
    assert LONG_LINE in window.preview_pane.speech.toolTip()
    pane = window.preview_pane
    assert pane.speech.geometry().bottom() <= pane.height()
    assert window.player.height() >= 120  # the video keeps room above the line
    # a model's 30 s segment: the pane shows the part around the match, the video keeps room
    search(qtbot, window, "said: walrus")
    window.select_result(_card_rows(window)[0])
    qtbot.waitUntil(lambda: window.current_result().path.endswith("talk.mp4"), timeout=5_000)
    qtbot.wait(200)
    assert window.size() == QSize(800, 600)
    assert window.player.height() >= 120, window.player.height()
    lines = pane.speech.height() / pane.speech.fontMetrics().lineSpacing()
    assert lines <= 5.5, lines  # (the whole segment took ten lines of a 408 px pane)
    assert "<b>walrus</b>" in pane.speech.text()
    assert TALK in pane.speech.toolTip()  # all of it, for whoever wants it
