"""The window says which model and provider are active, or why there is none."""

from __future__ import annotations

from PySide6.QtWidgets import QMenu

from desktop_app.main_window import MainWindow


def test_window_shows_model_and_provider(qtbot, tiny_seqtransf, monkeypatch) -> None:
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")
    window = MainWindow(model=str(tiny_seqtransf[1]))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=30_000)
    assert window.status.ok
    assert window.status_line.model_label.text() == "Model: tiny-seqTransf"
    assert window.status_line.provider_label.text() == "Running on the CPU"
    assert window.engine.encoder is not None
    assert window.center.currentWidget() is window.welcome
    assert "tiny-seqTransf" in window.welcome.model_note.text()
    window.close()


def test_window_explains_missing_model(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("core.model.registry.DEMO_MODEL", tmp_path / "no-demo-model")
    window = MainWindow()
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.status is not None, timeout=30_000)
    assert not window.status.ok
    assert "no model installed" in window.welcome.model_note.text()
    assert window.status_line.provider_label.text() == ""
    window.close()


def test_a_broken_model_folder_is_explained(qtbot, tmp_path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    window = MainWindow(model=str(tmp_path))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.status is not None, timeout=30_000)
    assert not window.status.ok
    assert "unreadable" in window.welcome.model_note.text()
    window.close()


def test_the_menus_hold_every_command_with_its_shortcut(qtbot, window) -> None:
    """What the Shortcuts dialog promises is in the menus, and the View toggles stay in step
    with the buttons they mirror."""
    shortcuts = {
        a.text(): a.shortcut().toString()
        for menu in window.menuBar().findChildren(QMenu)
        for a in menu.actions()
        if not a.isSeparator()
    }
    assert {
        "Add folder…": "Ctrl+O",
        "Rescan all folders": "F5",
        "Search by picture…": "Ctrl+I",
        "Settings…": "Ctrl+,",
        "Quit": "Ctrl+Q",
        "Keyboard shortcuts": "F1",
        "Group results by video": "Ctrl+G",
    }.items() <= shortcuts.items()
    window.menus.group_action.trigger()
    assert window.group_button.isChecked()
    window.group_button.click()
    assert not window.menus.group_action.isChecked()
    window.menus.problems_action.trigger()
    assert window.status_line.problems_button.isChecked() and window.problems.isVisible()
