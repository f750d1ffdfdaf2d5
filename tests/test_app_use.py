"""Defects found by using the window as a new user would (issue 13), each kept by a test.

The window is the real one (offscreen), on the demo model and the shared footage.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from tests.app_support import drop, search


def _still(video: Path, seconds: float, out: Path) -> Path:
    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_MSEC, seconds * 1000)
    ok, frame = cap.read()
    cap.release()
    assert ok
    cv2.imwrite(str(out), frame)
    return out


def _image_answered(window) -> bool:
    r = window.response
    return r is not None and r.request.image is not None and r.request.text is None


def test_picture_searches_work_after_a_text_search(qtbot, indexed, footage, tmp_path) -> None:
    """Search by picture and Find similar used to do nothing once the box held text: clearing
    the box submitted an empty search, which threw the picture's results away."""
    window = indexed
    long_video = footage[2]
    search(qtbot, window, footage[3])
    assert window.results_model.rowCount() > 0

    drop(window, [_still(long_video, 18, tmp_path / "still.png")])  # by picture, box full
    qtbot.waitUntil(lambda: _image_answered(window), timeout=15_000)
    qtbot.wait(300)  # anything that would clear the results has happened by now
    assert window.results_model.rowCount() > 0
    assert window.current_result() is None or window.results_model.results
    assert window.results_model.results[0].path == str(long_video)
    assert "still.png" in window.summary.text()

    search(qtbot, window, footage[3])  # text again, then "Similar" on a result
    window.select_result(window.results_model.first_result_row())
    chosen = window.current_result()
    window.action_buttons["similar"].click()
    qtbot.waitUntil(
        lambda: _image_answered(window) and not isinstance(window.response.request.image, str),
        timeout=15_000,
    )
    qtbot.wait(300)
    assert window.results_model.rowCount() > 0
    assert window.results_model.results[0].path == chosen.path
    assert window.search_box.text() == ""

    # typing the very same words again searches by text again
    search(qtbot, window, footage[3])
    assert window.response.request.text == footage[3]
