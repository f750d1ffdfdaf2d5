"""Saving a moment as a video file: ask where, show progress with Cancel, cut on a thread of its
own (it touches no library), and say how it went."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from core import SearchResult, readable
from desktop_app.background import BackgroundTask, TaskControl
from desktop_app.text_fit import fit_title


def save_moment(
    parent: QWidget,
    result: SearchResult,
    *,
    on_saved: Callable[[str], None],
    on_error: Callable[[str], None],
) -> BackgroundTask[str] | None:
    """Ask for a file name and start saving; None if the user chose none. The task belongs to
    ``parent`` (it dies with it); ``on_saved`` gets the path, ``on_error`` a sentence."""
    # Loaded on first use: cutting clips needs PyAV's muxers, which starting the app does not.
    from core import SegmentExportCancelled, SegmentExportError, save_segment, suggest_name

    default = str(Path.home() / suggest_name(result.path, result.t0, result.t1))
    dest, _ = QFileDialog.getSaveFileName(
        parent, "Save the moment as a video", default, "Videos (*.mp4 *.mov *.mkv)"
    )
    if not dest:
        return None
    dialog = QProgressDialog(f"Saving {readable(Path(dest).name)}…", "Cancel", 0, 100, parent)
    dialog.setWindowTitle("Save clip")
    fit_title(dialog)  # a small dialog: the desktop cut its title to "Save c…pSeek"
    dialog.setMinimumDuration(300)
    source, t0, t1 = result.path, result.t0, result.t1

    def save(control: TaskControl) -> str:
        save_segment(
            source, t0, t1, dest, on_progress=control.progress, cancel=control.cancel_event
        )
        return dest

    def saved(path: str) -> None:
        dialog.reset()
        on_saved(path)

    def failed(exc: BaseException) -> None:
        dialog.reset()
        on_error(f"Could not save the clip: {exc}")

    task: BackgroundTask[str] = BackgroundTask(
        parent,
        save,
        on_success=saved,
        on_failure=failed,
        on_progress=lambda fraction: dialog.setValue(int(fraction * 100)),
        on_cancelled=dialog.reset,
        cancelled_by=(SegmentExportCancelled,),
        expected=(SegmentExportError, OSError),
        name="clipseek-save-clip",
    )
    dialog.canceled.connect(task.cancel)
    task.start()
    return task
