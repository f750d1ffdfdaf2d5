"""The window says which model and provider are active, or why there is none."""

from __future__ import annotations

from desktop_app.main_window import MainWindow


def test_window_shows_model_and_provider(qtbot, tiny_seqtransf, monkeypatch) -> None:
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")
    window = MainWindow(model=str(tiny_seqtransf[1]))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=30_000)
    assert window.status.ok
    assert window.model_label.text() == "Model: tiny-seqTransf"
    assert window.provider_label.text() == "Running on the CPU"
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
    assert window.provider_label.text() == ""
    window.close()


def test_a_broken_model_folder_is_explained(qtbot, tmp_path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    window = MainWindow(model=str(tmp_path))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.status is not None, timeout=30_000)
    assert not window.status.ok
    assert "unreadable" in window.welcome.model_note.text()
    window.close()
