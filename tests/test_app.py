"""The desktop app, driven as a user would: drop a folder, watch it index, search, preview.

Everything runs on the real window (offscreen), the real engine threads and the shipped demo
model; the videos are synthetic scenes the demo model was not trained on.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from core.demo import DEMO_SPLIT_SEED
from core.models import DEMO_MODEL
from core.synthetic import Scene, VideoSpec, generate, plan, render
from desktop_app.main_window import MainWindow

SEED = 4242


class LoopLatency:
    """The longest gap between ticks of a 10 ms timer: how long the UI thread was blocked."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.worst = 0.0
        self._last = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self._last)
        self._last = now

    def stop(self) -> float:
        self.timer.stop()
        return self.worst


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> tuple[Path, dict[str, str], Path, str]:
    """Ten demo-style videos, one 24 s video of two scenes, and a corrupt file.

    Returns (folder, {caption: video path}, long video path, caption of its second scene).
    """
    root = tmp_path_factory.mktemp("footage")
    generate(root / "set", 10, SEED, split_seed=DEMO_SPLIT_SEED, test_only=True)
    data = json.loads((root / "set" / "data.json").read_text())
    files = {v["video_id"]: str((root / "set" / v["file"]).resolve()) for v in data["videos"]}
    captions = {s["caption"]: files[s["video_id"]] for s in data["sentences"]}
    # a longer video: one scene for 12 s, then another for 12 s
    scenes = [
        s.scenes[0]
        for s in plan(12, SEED + 1, split_seed=DEMO_SPLIT_SEED, test_only=True, temporal_fraction=0)
    ]
    a = scenes[0]
    b = next(s for s in scenes if s.obj.colour != a.obj.colour and s.obj.shape != a.obj.shape)
    spec = VideoSpec("long", "test", (a, Scene(b.obj, b.count, b.motion, a.background)))
    long_video = root / "set" / "videos" / "long.mp4"
    render(spec, long_video, size=96, fps=8, seconds=24, seed=SEED)
    (root / "set" / "videos" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000)
    return root / "set" / "videos", captions, long_video.resolve(), spec.scenes[1].caption()


@pytest.fixture
def window(qtbot, monkeypatch) -> MainWindow:
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")
    w = MainWindow(model=str(DEMO_MODEL))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.snapshot is not None, timeout=30_000)
    yield w
    w.close()


def drop(window: MainWindow, paths: list[Path]) -> None:
    """A real drag-and-drop of files from a file manager onto the window."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    action = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(200, 200), action, mime, buttons, mods)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(QPointF(200, 200), action, mime, buttons, mods))


def search(qtbot, window: MainWindow, text: str):
    window.search_box.setFocus()
    window.search_box.clear()
    qtbot.keyClicks(window.search_box, text)  # typed: the box searches by itself after a pause
    qtbot.waitUntil(
        lambda: window.response is not None and window.response.request.text == text,
        timeout=15_000,
    )
    return window.response


def test_drop_index_search_preview(qtbot, window, footage) -> None:
    folder, captions, long_video, second_scene = footage
    assert window.center.currentWidget() is window.welcome  # first run: "drop a folder here"
    assert window.provider_label.text() == "Provider: CPU (CPU forced by setting)"
    assert window.model_label.text() == f"Model: {window.status.title}"

    progress = []
    finished = []
    window.engine.progress.connect(progress.append)
    window.engine.jobFinished.connect(finished.append)
    latency = LoopLatency()
    latency.start()
    drop(window, [folder])
    qtbot.waitUntil(lambda: bool(finished), timeout=180_000)
    worst = latency.stop()

    # indexing reported progress, file by file, and finished with every good video
    assert finished[0].encoded == 11 and finished[0].failed == 1
    done = [p.files_done for p in progress]
    assert done == sorted(done) and len(set(done)) >= 5
    assert progress[-1].files_total == 12
    qtbot.waitUntil(lambda: window.snapshot.indexed == 11, timeout=5_000)
    assert window.center.currentWidget() is window.results_stack
    assert not window.indexing_bar.isVisible()
    # the corrupt file is in the problems panel, with its reason
    rows = window.problems.rows()
    assert [name for name, _ in rows] == ["broken.mp4"]
    assert "decode" in rows[0][1]
    assert window.problems_button.isVisible() and window.problems_button.text() == "1 problem"

    # typing a caption shows its video first
    caption, video = next(iter(captions.items()))
    response = search(qtbot, window, caption)
    assert response.error is None and response.results
    assert response.results[0].path == video
    assert window.results_view.isVisible()

    # a moment in the middle of a longer video: selecting it plays it from its start
    response = search(qtbot, window, second_scene)
    best = response.results[0]
    assert best.path == str(long_video)
    assert best.t0 >= 8.0, best  # the second scene starts at 12 s
    window.results_view.setFocus()
    window.select_result(window.results_model.first_result_row())
    qtbot.waitUntil(lambda: window.player.playing, timeout=10_000)
    qtbot.waitUntil(lambda: window.player.position > best.t0, timeout=10_000)
    assert best.t0 <= window.player.position <= best.t1
    assert window.player.timeline.moments and window.detail_title.text() == "long.mp4"

    print(
        f"worst UI-thread gap while indexing: {worst * 1000:.1f} ms; {len(progress)} progress updates"
    )
    assert worst < 0.100, f"the UI thread was blocked for {worst * 1000:.0f} ms while indexing"
