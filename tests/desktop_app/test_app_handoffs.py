"""Issue 23: what the window says when it hands a file to the desktop, and what it shows after
switching libraries. The real window (offscreen) on the demo model and the shared footage."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from tests.app_support import search


def test_open_without_a_system_player_says_so_like_show_file(
    qtbot, indexed, footage, monkeypatch, caplog
) -> None:
    """No player and no default handler: a status-bar line (no modal, no ERROR in the log),
    the path copied, and the players that would open a moment at its second named."""
    window = indexed
    monkeypatch.setattr("desktop_app.main_window.open_in_system_player", lambda path: False)
    boxes: list[str] = []
    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, lambda *a, **k: boxes.append(str(a)))
    search(qtbot, window, footage[3])
    window.select_result(window.results_model.first_result_row())
    QApplication.clipboard().clear()
    with caplog.at_level(logging.DEBUG):
        window.action_buttons["open"].click()
    r = window.current_result()
    message = window.statusBar().currentMessage()
    assert "No video player could open" in message and Path(r.path).name in message, message
    assert "mpv" in message and "VLC" in message, message
    assert QApplication.clipboard().text() == r.path
    assert not boxes
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


def test_switching_libraries_runs_the_query_in_the_box_on_the_new_one(
    qtbot, indexed, footage
) -> None:
    """The box and the results agree after a switch: the query still in the box is the
    search shown, answered by the library just opened (and by the old one on the way back)."""
    window = indexed
    query = next(iter(footage[1]))
    search(qtbot, window, query)
    own = window.snapshot.root
    window.engine.open_demo(videos=10)  # File > Open the demo library (fewer videos)
    qtbot.waitUntil(lambda: window.snapshot.demo and window.snapshot.indexed == 10, timeout=60_000)

    def answered_here() -> bool:
        r, folder = window.response, window.snapshot.folders[0].path
        return (
            r is not None
            and r.request.text == query
            and bool(r.results)
            and all(x.path.startswith(folder) for x in r.results)
        )

    assert window.search_box.text() == query
    qtbot.waitUntil(answered_here, timeout=20_000)
    assert window.results_stack.currentWidget() is window.results_area
    assert query in window.summary.text()

    window.demo_banner.button.click()  # back to my library: the same query, answered there
    qtbot.waitUntil(lambda: window.snapshot.root == own, timeout=30_000)
    assert window.search_box.text() == query
    qtbot.waitUntil(answered_here, timeout=20_000)
    assert window.results_stack.currentWidget() is window.results_area


def test_the_demo_banner_suggests_a_search_that_finds_its_own_video_first(
    qtbot, window, monkeypatch
) -> None:
    """With this draw of demo videos the first caption finds another video first; the banner
    suggests one whose own video the window then shows first."""
    from core.demo.library import demo_pairs, make_demo_videos

    monkeypatch.setattr(
        "desktop_app.engine.make_demo_videos",
        lambda root, videos: make_demo_videos(root, videos=videos, seed=8),
    )
    window.engine.open_demo(videos=10)
    qtbot.waitUntil(
        lambda: (
            window.snapshot.demo
            and window.snapshot.indexed == 10
            and "Try “" in window.demo_banner.label.text()
        ),
        timeout=120_000,
    )
    example = window.demo_banner.label.text().split("“")[1].rstrip("”.")
    video = {caption: path for path, caption in demo_pairs()}[example]
    response = search(qtbot, window, example)
    assert response.results[0].path == video, (example, response.results[0].path)
