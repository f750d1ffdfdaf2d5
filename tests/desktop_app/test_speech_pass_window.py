"""The window runs the speech pass after indexing: the indexing bar says "Transcribing" with
its own count, pause holds it, and what was said is searchable when it ends. The transcriber is
the stand-in of tests/core/test_speech_pass.py (known sentences; no Whisper weights here)."""

from __future__ import annotations

from pathlib import Path

from tests.app_support import drop, search
from tests.core.test_speech_pass import StandIn
from tests.videos import write_video


def test_the_speech_pass_follows_indexing_in_the_bar(qtbot, window, tmp_path, monkeypatch):
    from desktop_app import engine as engine_module

    standin = StandIn(delay=0.15)
    monkeypatch.setattr(engine_module, "speech_model_folder", lambda explicit=None: tmp_path)
    monkeypatch.setattr(engine_module, "open_transcriber", lambda folder, force_cpu=False: standin)
    folder = tmp_path / "videos"
    write_video(folder / "party.mp4", seed=1, seconds=20)
    write_video(folder / "hike.mp4", seed=2, seconds=10)
    seen: list[tuple[str, str, str]] = []
    bar = window.indexing_bar

    def look(_p) -> None:
        seen.append((bar.state.text(), bar.bar.format(), bar.pause_button.toolTip()))

    window.engine.speechProgress.connect(look)
    finished: list[object] = []
    window.engine.speechFinished.connect(finished.append)
    drop(window, [folder])
    qtbot.waitUntil(lambda: bool(seen), timeout=120_000)
    window.engine.pause()
    qtbot.wait(600)
    held = len(standin.calls)
    assert window.engine.paused and bar.state.text() == "Paused"
    qtbot.wait(600)
    assert len(standin.calls) == held  # nothing moved while paused
    window.engine.resume()
    qtbot.waitUntil(lambda: bool(finished), timeout=60_000)
    assert ("Transcribing", "0 of 2 transcribed", "Pause transcribing") in seen
    assert len(finished[0].transcribed) == 2
    qtbot.waitUntil(lambda: not bar.isVisible(), timeout=5_000)
    assert "Transcribed what is said in 2 videos" in window.statusBar().currentMessage()
    response = search(qtbot, window, "we are lost")
    best = response.results[0]
    assert Path(best.path).name == "hike.mp4" and best.speech is not None
