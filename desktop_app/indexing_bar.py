"""Indexing in the status bar: how far, how fast, how long; pause, resume, stop, and go on.

The counts are the library's own (the same snapshot the library panel shows), so "3 of 8
indexed" here always agrees with the panel; the job's progress adds the speed and the time
left. After the user stops indexing the bar stays, saying how many videos wait, with a
*Resume* button: stopping is never a dead end.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QToolButton,
    QWidget,
)

from core import Progress, SpeechProgress
from desktop_app.formatting import duration, plural
from desktop_app.text_fit import ElidedLabel

#: The detail's room: as wide as it usually reads (a longer one is cut, whole in its tooltip).
DETAIL_ROOM = "12.5 frames/s · about 45 min left"


class IndexingBar(QWidget):
    pauseRequested = Signal()
    resumeRequested = Signal()  # a paused job goes on
    cancelRequested = Signal()
    restartRequested = Signal()  # indexing was stopped: index what waits

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("indexingBar")
        self.state = QLabel("", self)
        self.state.setObjectName("indexingState")
        font = self.state.font()
        font.setBold(True)
        self.state.setFont(font)
        # "Indexing" and "Paused" take the same room, and the detail keeps its place while
        # paused (empty): pausing used to shift the bar and its buttons sideways
        bold = self.state.fontMetrics()
        self.state.setMinimumWidth(
            max(bold.horizontalAdvance(w) for w in ("Indexing", "Paused", "Transcribing"))
        )
        self.bar = QProgressBar(self)
        self.bar.setMinimumWidth(160)
        self.bar.setMaximumWidth(360)
        self.bar.setTextVisible(True)
        self.label = ElidedLabel("", self, Qt.TextElideMode.ElideRight)
        self.label.setObjectName("indexingDetail")
        self.label.setFixedWidth(self.label.fontMetrics().horizontalAdvance(DETAIL_ROOM))
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
        self.resume_button = QPushButton("Resume indexing", self)
        self.resume_button.setObjectName("resumeIndexing")
        self.resume_button.setToolTip("Index the videos that wait")
        self.resume_button.clicked.connect(self._restart)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.state)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.resume_button)
        self.paused = False
        self.stopped = False  # the user stopped indexing and videos wait
        self.running = False
        self.last: Progress | None = None
        #: The speech pass after indexing (what was said), while it runs; None otherwise.
        self.speech: SpeechProgress | None = None
        self._counts = (0, 0, 0)  # indexed, videos, failed
        self._pending = 0  # videos waiting to be indexed
        self._show_paused(False)
        self.resume_button.hide()
        self.hide()

    # -- from the engine -----
    def update_progress(self, p: Progress) -> None:
        self.last = p
        self.speech = None
        self.running = p.state in ("indexing", "paused")
        if self.running:
            self.stopped = False
        self._show_paused(p.state == "paused")
        if p.state == "paused":
            detail = ""
        else:
            left = duration(p.eta_seconds)
            detail = f"{p.frames_per_second:.1f} frames/s" + (f" · {left} left" if left else "")
        self.label.setText(detail)
        self.setToolTip(f"Indexing {Path(p.current).name}" if p.current else "")
        self._refresh()

    def update_speech(self, p: SpeechProgress) -> None:
        """The speech pass: the same bar, pause and stop, counting videos transcribed."""
        self.speech = p
        self.running = p.state in ("transcribing", "paused")
        self._show_paused(p.state == "paused")
        speed = f"{p.realtime_factor:.1f}× real time" if p.audio_seconds >= 1 else ""
        self.label.setText("" if p.state == "paused" else speed)
        self.setToolTip(f"Transcribing what is said in {Path(p.current).name}" if p.current else "")
        self._refresh()

    def finish_speech(self) -> None:
        self.speech = None
        self.running = False
        self._refresh()

    def set_counts(self, indexed: int, videos: int, failed: int, pending: int) -> None:
        """The library's counts (the panel's snapshot): the bar's numbers."""
        self._counts = (indexed, videos, failed)
        if self.stopped and pending == 0:
            self.stopped = False
        self._pending = pending
        self._refresh()

    def finish(self, stopped_by_user: bool, pending: int) -> None:
        """The job ended; if the user stopped it with videos left, offer to go on."""
        self.running = False
        self.stopped = stopped_by_user and pending > 0
        self._pending = pending
        self._refresh()

    # -- internals -----
    def _refresh(self) -> None:
        indexed, videos, failed = self._counts
        self.bar.setRange(0, max(1, videos))
        self.bar.setValue(min(videos, indexed + failed))
        self.bar.setFormat(f"{indexed} of {videos} indexed")
        failed_text = f" · {failed} failed" if failed else ""
        speech = self.speech
        if self.running and speech is not None:
            self.state.setText("Paused" if self.paused else "Transcribing")
            self.bar.setRange(0, max(1, speech.files_total))
            self.bar.setValue(speech.files_done + speech.files_failed)
            failed_text = f" · {speech.files_failed} failed" if speech.files_failed else ""
            self.bar.setFormat(
                f"{speech.files_done} of {speech.files_total} transcribed{failed_text}"
            )
            for widget in (self.bar, self.pause_button, self.cancel_button, self.label):
                widget.show()
            self.resume_button.hide()
            self._fit_bar()
            self.show()
        elif self.running:
            self.state.setText("Paused" if self.paused else "Indexing")
            self.bar.show()
            self.pause_button.show()
            self.cancel_button.show()
            self.resume_button.hide()
            self.label.show()  # empty while paused, in the same place
            self.bar.setFormat(f"{indexed} of {videos} indexed{failed_text}")
            self._fit_bar()
            self.show()
        elif self.stopped:
            self.state.setText("Indexing stopped")
            self.label.setText(f"{plural(self._pending, 'video')} waiting")
            self.label.show()
            self.bar.show()
            self.pause_button.hide()
            self.cancel_button.hide()
            self.resume_button.show()
            self.show()
        else:
            self.hide()

    def _fit_bar(self) -> None:
        """Room for the bar's own words: at its 160 px minimum, "18 of 25 indexed · 4 failed"
        was clipped at its edge (seen living with the window). It only grows when the counts
        gain a digit or the first failure, never when pausing."""
        fm = self.bar.fontMetrics()
        need = fm.horizontalAdvance(self.bar.text()) + 24
        if need > self.bar.minimumWidth():
            self.bar.setMinimumWidth(min(need, self.bar.maximumWidth()))

    def _show_paused(self, paused: bool) -> None:
        self.paused = paused
        icon = QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause
        self.pause_button.setIcon(self.style().standardIcon(icon))
        what = "transcribing" if self.speech is not None else "indexing"
        self.pause_button.setToolTip(f"Resume {what}" if paused else f"Pause {what}")

    def _pause_or_resume(self) -> None:
        if self.paused:
            self._show_paused(False)
            self.resumeRequested.emit()
        else:
            self._show_paused(True)
            self.pauseRequested.emit()
        self._refresh()

    def _restart(self) -> None:
        self.stopped = False
        self._refresh()
        self.restartRequested.emit()
