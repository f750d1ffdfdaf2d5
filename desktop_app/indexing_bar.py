"""Indexing progress in the status bar: files x/y, rate, ETA, with pause, resume and cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStyle, QToolButton, QWidget

from core.indexing import Progress
from desktop_app.formatting import duration


class IndexingBar(QWidget):
    pauseRequested = Signal()
    resumeRequested = Signal()
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("indexingBar")
        self.bar = QProgressBar(self)
        self.bar.setMinimumWidth(220)
        self.bar.setMaximumWidth(320)
        self.bar.setTextVisible(True)
        self.label = QLabel("", self)
        self.label.setObjectName("indexingDetail")
        self.label.setMinimumWidth(260)
        self.pause_button = QToolButton(self)
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setAutoRaise(True)
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_DialogCancelButton)
        )
        self.cancel_button.setToolTip("Stop indexing (finished videos stay searchable)")
        self.cancel_button.clicked.connect(self.cancelRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        self.paused = False
        self._show_paused(False)
        self.last: Progress | None = None
        self.hide()

    def update_progress(self, p: Progress) -> None:
        self.last = p
        self.setVisible(p.state in ("indexing", "paused"))
        self.bar.setRange(0, max(1, p.files_total))
        self.bar.setValue(p.files_done)
        self.bar.setFormat(f"{p.files_done} / {p.files_total} files")
        self._show_paused(p.state == "paused")
        if p.state == "paused":
            detail = "Paused"
        else:
            detail = f"{p.frames_per_second:.1f} frames/s · {duration(p.eta_seconds)} left"
        if p.files_failed:
            detail += f" · {p.files_failed} failed"
        self.label.setText(detail)
        self.setToolTip(f"Indexing {Path(p.current).name}" if p.current else "")

    def finish(self) -> None:
        self.hide()

    def _show_paused(self, paused: bool) -> None:
        self.paused = paused
        icon = QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause
        self.pause_button.setIcon(self.style().standardIcon(icon))
        self.pause_button.setToolTip("Resume indexing" if paused else "Pause indexing")

    def _pause_or_resume(self) -> None:
        if self.paused:
            self._show_paused(False)
            self.resumeRequested.emit()
        else:
            self._show_paused(True)
            self.pauseRequested.emit()
