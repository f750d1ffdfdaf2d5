"""What the window tests share: footage the demo model can search, and a user's gestures.

Plain helpers (a real drag-and-drop, typing a query, holding a job still) live here; the
fixtures built on them (``footage``, ``window``, ``indexed``) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from core.demo.library import DEMO_SPLIT_SEED
from core.demo.synthetic import Scene, VideoSpec, generate, plan, render

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


def make_footage(root: Path) -> tuple[Path, dict[str, str], Path, str]:
    """Ten demo-style videos, one 24 s video of two scenes, and a corrupt file.

    Returns (folder, {caption: video path}, long video path, caption of its second scene).
    """
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


def drop(window, paths: list[Path]) -> None:
    """A real drag-and-drop of files from a file manager onto the window."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    action = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    with warnings.catch_warnings():  # PySide marks the (only) QPoint constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(200, 200), action, mime, buttons, mods)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(QPointF(200, 200), action, mime, buttons, mods))


def drop_and_pause(qtbot, window, folder: Path, after: int) -> None:
    """Drop ``folder`` and pause its indexing job once ``after`` videos are done."""

    def hold(p) -> None:
        if p.state == "indexing" and p.files_done >= after and not window.engine.paused:
            window.engine.pause()

    window.engine.progress.connect(hold)
    drop(window, [folder])
    qtbot.waitUntil(lambda: window.engine.paused, timeout=60_000)
    window.engine.progress.disconnect(hold)


def search(qtbot, window, text: str):
    window.search_box.setFocus()
    window.search_box.clear()
    qtbot.keyClicks(window.search_box, text)  # typed: the box searches by itself after a pause
    qtbot.waitUntil(
        lambda: window.response is not None and window.response.request.text == text,
        timeout=15_000,
    )
    return window.response


def drop_and_index(qtbot, window, folders: list[Path], timeout: int = 120_000) -> None:
    """Drop folders on the window and wait until they are watched, scanned and indexed (a
    folder of copies of indexed videos needs no indexing job at all)."""
    wanted = {str(Path(f).resolve()) for f in folders}
    drop(window, folders)

    def done() -> bool:
        snap = window.snapshot
        watched = {f.path for f in snap.folders}
        return wanted <= watched and window.engine.idle and snap.pending == 0

    qtbot.waitUntil(done, timeout=timeout)
    qtbot.wait(100)  # the last snapshot and messages are delivered


def visible_texts(root) -> list[str]:
    """Every text a person sees in ``root`` now: labels, buttons, menus, the title, the
    status bar and the results grid (tooltips are for details, and are left out)."""
    from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QMainWindow, QMenu

    texts = [root.windowTitle()]
    for w in root.findChildren(QLabel) + root.findChildren(QAbstractButton):
        if w.isVisibleTo(root) and w.text():
            texts.append(w.text())
    for edit in root.findChildren(QLineEdit):
        if edit.isVisibleTo(root):
            texts += [edit.text(), edit.placeholderText()]
    for menu in root.findChildren(QMenu):
        texts += [a.text() for a in menu.actions()]
    if isinstance(root, QMainWindow):
        texts.append(root.statusBar().currentMessage())
        model = getattr(root, "results_model", None)
        if model is not None:
            texts += [str(model.index(i).data()) for i in range(model.rowCount())]
    return [t for t in texts if t]
