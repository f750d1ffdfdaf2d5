"""The window with hostile input: names that are not UTF-8, a full disk, a read-only library."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from core.errors import DiskFull
from desktop_app.drops import dropped_paths, paths_from_uri_list
from tests.app_support import drop, search
from tests.videos import write_video

BAD = b"bad\xff.mp4"


def test_a_uri_list_keeps_the_bytes_of_a_name() -> None:
    raw = b"# a comment\r\nfile:///media/usb/bad%FF.mp4\r\nfile://localhost/x/caf%C3%A9\r\n"
    raw += b"http://example.com/not-a-file\r\n"
    assert paths_from_uri_list(raw) == [os.fsdecode(b"/media/usb/bad\xff.mp4"), "/x/café"]
    mime = QMimeData()
    mime.setData("text/uri-list", b"file:///media/usb/bad%FF.mp4\r\n")
    assert dropped_paths(mime) == [os.fsdecode(b"/media/usb/bad\xff.mp4")]
    assert mime.urls()[0].toLocalFile() == "/media/usb/bad\ufffd.mp4"  # Qt alone: no such file


def _drop_raw(window, folder_bytes: bytes) -> None:
    """A file manager's drop of a folder whose name is not UTF-8 (percent-encoded bytes)."""
    from urllib.parse import quote

    mime = QMimeData()
    mime.setData("text/uri-list", b"file://" + quote(folder_bytes).encode() + b"\r\n")
    action = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(200, 200), action, mime, buttons, mods)
    QApplication.sendEvent(window, enter)
    QApplication.sendEvent(window, QDropEvent(QPointF(200, 200), action, mime, buttons, mods))


def test_a_folder_named_in_latin1_is_indexed_shown_and_previewed(qtbot, window, tmp_path) -> None:
    folder = os.fsencode(tmp_path) + b"/Urlaub \xe9t\xe9"  # 'été' in Latin-1
    os.mkdir(folder)
    for i in range(3):
        write_video(tmp_path / f"v{i}.mp4", seed=80 + i, seconds=8)
    os.rename(os.fsencode(tmp_path / "v0.mp4"), folder + b"/" + BAD)
    os.rename(os.fsencode(tmp_path / "v1.mp4"), folder + b"/plain.mp4")
    os.rename(os.fsencode(tmp_path / "v2.mp4"), folder + b"/caf\xe9.mp4")
    messages: list[str] = []
    window.engine.message.connect(lambda level, text: messages.append(text))
    _drop_raw(window, folder)
    qtbot.waitUntil(lambda: window.snapshot.indexed == 3 and window.engine.idle, timeout=120_000)
    assert not any("failed" in m.lower() for m in messages), messages
    response = search(qtbot, window, "a scene")
    names = {os.fsencode(Path(r.path).name) for r in response.results}
    assert names == {BAD, b"plain.mp4", b"caf\xe9.mp4"}
    model = window.results_model
    odd = next(r for r in model.shown_results() if r.path.endswith("\udcff.mp4"))
    row = model.row_of(odd)
    assert model.index(row).data().startswith("bad\ufffd.mp4 ")  # readable, not Qt's 'bad.mp4'
    assert model.index(row).data(Qt.ItemDataRole.ToolTipRole).count("\ufffd") == 3
    window.results_view.setCurrentIndex(model.index(row))
    qtbot.waitUntil(lambda: window.player.path is not None, timeout=10_000)
    source = window.player.player.source().toLocalFile()
    assert os.path.samefile(source, os.fsdecode(folder + b"/" + BAD))  # the right file plays
    assert window.preview_pane.title.text() == "bad\ufffd.mp4"
    panel = window.library_panel  # the folder list hands back the real name, not Qt's
    panel.list.setCurrentRow(1)
    real = os.fsdecode(os.fsencode(tmp_path.resolve()) + b"/Urlaub \xe9t\xe9")
    assert panel.selected_folder() == real
    assert panel.list.item(1).text().startswith("Urlaub \ufffdt\ufffd")
    window.engine.remove_folder(panel.selected_folder())
    qtbot.waitUntil(lambda: window.snapshot.videos == 0, timeout=30_000)


def test_a_name_qt_mangled_is_found_again(tmp_path) -> None:
    from core.pathnames import recover

    os.makedirs(os.fsencode(tmp_path) + b"/caf\xe9/sub")
    real = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9/sub")
    assert recover(str(tmp_path) + "/caf\ufffd/sub") == real  # as a Qt file dialog returns it
    assert recover(str(tmp_path) + "/nothing\ufffd") == str(tmp_path) + "/nothing\ufffd"


def test_a_full_disk_stops_indexing_with_resume(qtbot, window, tmp_path, monkeypatch) -> None:
    from core.ingest import job as indexing

    for i in range(2):
        write_video(tmp_path / "v" / f"v{i}.mp4", seed=90 + i, seconds=6)
    real = indexing.IndexJob._finish_video
    full = [True]

    def disk_full(self, p):
        if full[0]:
            raise DiskFull("the disk holding the library is full (3 MB free): /lib; …")
        return real(self, p)

    monkeypatch.setattr(indexing.IndexJob, "_finish_video", disk_full)
    messages: list[str] = []
    window.engine.message.connect(lambda level, text: messages.append(text))

    drop(window, [tmp_path / "v"])
    qtbot.waitUntil(
        lambda: any("disk holding the library is full" in m for m in messages), timeout=60_000
    )
    bar = window.indexing_bar
    qtbot.waitUntil(lambda: bar.resume_button.isVisible(), timeout=10_000)
    assert bar.state.text() == "Indexing stopped"
    full[0] = False  # space is back
    qtbot.mouseClick(bar.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.snapshot.indexed == 2, timeout=60_000)


def test_a_clip_of_an_odd_name_is_suggested_a_plain_one() -> None:
    from core import suggest_name

    name = suggest_name(os.fsdecode(b"/media/usb/caf\xe9 1.mp4"), 83, 91)
    assert name == "caf_ 1_00-01-23_to_00-01-31.mp4" and name.encode("utf-8")
