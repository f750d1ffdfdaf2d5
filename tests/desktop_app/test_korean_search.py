"""Typing Korean in the window: the demo's multilingual student reads it, the results line says
so in words, and the Search setting sends the same sentence to the English model instead."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QInputMethodEvent

from core.demo.korean import HELD_OUT_STYLES, korean_captions
from core.demo.library import DEMO_SPLIT_SEED
from core.demo.synthetic import plan
from tests.app_support import SEED


def type_korean(qtbot, window, text: str):
    """Korean arrives as an input method composes it: each syllable shown as it is built
    (pre-edit), then committed. (QTest's key clicks know ASCII only.)"""
    box = window.search_box
    box.setFocus()
    box.clear()
    for syllable in text:
        composing = QInputMethodEvent(syllable, [])
        QCoreApplication.sendEvent(box, composing)
        committed = QInputMethodEvent()
        committed.setCommitString(syllable)
        QCoreApplication.sendEvent(box, committed)
    assert box.text() == text
    qtbot.waitUntil(
        lambda: window.response is not None and window.response.request.text == text,
        timeout=15_000,
    )
    return window.response


def test_korean_typed_in_the_window_finds_its_video(qtbot, indexed, footage) -> None:
    window = indexed
    specs = plan(10, SEED, split_seed=DEMO_SPLIT_SEED, test_only=True)
    found = 0
    for spec in specs[2:6]:  # phrasings the student never trained on
        video = str((Path(footage[0]) / f"{spec.video_id}.mp4").resolve())
        sentence = korean_captions(spec, HELD_OUT_STYLES)[1]
        response = type_korean(qtbot, window, sentence)
        assert response.route is not None and response.route.tower == "multilingual"
        assert response.route.language == "ko"
        found += bool(response.results) and response.results[0].path == video
        summary = window.summary.text() + window.summary.toolTip()
        assert "read as Korean by the multilingual model" in summary
    assert found >= 3

    # the setting: "Always English" sends the same sentence to CLIP's own tower, at once
    window.apply_preferences(replace(window.prefs, query_language="en"))
    qtbot.waitUntil(
        lambda: window.response.route is not None and window.response.route.tower == "clip",
        timeout=15_000,
    )
    assert "read by the English model, as Settings ask" in window.summary.text()
    window.apply_preferences(replace(window.prefs, query_language="auto"))


def test_the_settings_dialog_offers_the_query_language(qtbot, window) -> None:
    from desktop_app.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.prefs, multilingual=window.snapshot.multilingual)
    qtbot.addWidget(dialog)
    combo = dialog.language_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["auto", "en", "multi"]
    assert combo.currentData() == "auto"
    assert dialog.language_note.text() == (
        "Other languages are read by ClipSeek demo Korean + English student."
    )
    assert dialog.speech_note.text() == ""  # not given: no line
    with_speech = SettingsDialog(window.prefs, speech=window.snapshot.speech)
    qtbot.addWidget(with_speech)
    assert with_speech.speech_note.text().startswith("What is said is searched in subtitles only")
    combo.setCurrentIndex(2)
    assert dialog.preferences().query_language == "multi"
