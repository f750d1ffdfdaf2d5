"""The dialog that installs OpenAI CLIP ViT-B/32: progress, cancel, retry, clear errors."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core import (
    DEFAULT_SOURCE,
    InstallCancelled,
    InstallError,
    InstallProgress,
    ModelSource,
    install_model,
)
from desktop_app.formatting import duration

log = logging.getLogger(__name__)

STAGES = {
    "connecting": "Connecting to the Hugging Face hub…",
    "downloading": "Downloading the weights…",
    "verifying": "Checking the download…",
    "converting": "Converting the model for this computer…",
    "done": "Installed",
}


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


class _Signals(QObject):
    """Carries the worker thread's news to the UI thread (queued connections).

    It has no parent, so it lives as long as the worker needs it even if the dialog is gone, and
    it only ever sends: nothing is ever delivered to it, so it may be freed in any thread.
    """

    progress = Signal(object)  # InstallProgress
    finished = Signal(str, str)  # bundle path, error ("" when fine; "cancelled")


def _install_worker(
    source: ModelSource,
    models_dir: str | None,
    hub_url: str | None,
    signals: _Signals,
    cancel: threading.Event,
) -> None:
    """The install, in its own thread, reporting through ``signals``.

    It holds no reference to the dialog on purpose: a dialog without a parent belongs to Python,
    and if its last reference went away in this thread PySide would delete the QDialog here, off
    the UI thread, and crash the app some time later.
    """
    try:
        path = install_model(
            source,
            models_dir=models_dir,
            hub_url=hub_url,
            on_progress=signals.progress.emit,
            cancel=cancel,
        )
        outcome = (str(path), "")
    except InstallCancelled:
        outcome = ("", "cancelled")
    except (InstallError, OSError) as exc:
        outcome = ("", str(exc))
    except Exception as exc:  # a bug: say so in the dialog rather than hang on "Converting"
        log.exception("installing %s failed", source.name)
        outcome = ("", f"{type(exc).__name__}: {exc}")
    signals.finished.emit(*outcome)


class ModelInstallDialog(QDialog):
    """Downloads and converts a model in a background thread; call :meth:`start`, then ``exec``.

    Signals: ``installed(str)`` with the bundle folder, then the dialog accepts. Cancel (or
    closing the window) stops the work and rejects; the partial download is kept for next time.
    Widgets tests read: ``stage_label``, ``progress_bar``, ``detail_label``, ``error_label``,
    ``cancel_button``, ``retry_button``; ``result_path`` and ``error`` hold the outcome.
    """

    installed = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        source: ModelSource = DEFAULT_SOURCE,
        models_dir: str | None = None,
        hub_url: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.source, self.models_dir, self.hub_url = source, models_dir, hub_url
        self.setWindowTitle(f"Install {source.name}")
        self.setObjectName("modelInstallDialog")
        self.setMinimumWidth(520)
        title = QLabel(f"Install {source.name}", self)
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + 2)
        title.setFont(font)
        size = f" (about {source.size / 1e6:,.0f} MB)" if source.size else ""
        intro = QLabel(
            f"ClipSeek downloads the model's weights{size} once from the Hugging Face hub,"
            " checks them and converts them on this computer. Your videos and searches never"
            " leave it.",
            self,
        )
        intro.setWordWrap(True)
        self.stage_label = QLabel("", self)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setTextVisible(True)
        self.detail_label = QLabel("", self)
        self.detail_label.setStyleSheet("color: palette(placeholder-text);")
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("installError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.clicked.connect(self.start)
        self.retry_button.hide()
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 16)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addWidget(self.stage_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.detail_label)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        self._signals = _Signals()  # no parent: see _install_worker
        self._signals.progress.connect(self._show_progress)
        self._signals.finished.connect(self._finished)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.result_path: str | None = None
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self.error = None
        self.error_label.hide()
        self.detail_label.show()
        self.progress_bar.show()
        self.retry_button.hide()
        self.cancel_button.setText("Cancel")
        self.stage_label.setText(STAGES["connecting"])
        self.detail_label.setText("")
        self.progress_bar.setRange(0, 0)
        self._cancel = threading.Event()
        self._thread = threading.Thread(
            target=_install_worker,
            args=(self.source, self.models_dir, self.hub_url, self._signals, self._cancel),
            name="clipseek-install",
            daemon=True,
        )
        self._thread.start()

    def _show_progress(self, p: InstallProgress) -> None:
        if self._cancel.is_set():
            return  # "Cancelling…" stays until the worker stops
        self.stage_label.setText(STAGES.get(p.stage, p.stage))
        if p.stage in ("downloading", "verifying") and p.bytes_total:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * p.bytes_done / p.bytes_total))
            if p.stage == "downloading":
                rate = f" · {p.bytes_per_second / 1e6:.1f} MB/s" if p.bytes_per_second else ""
                eta = f" · {duration(p.eta_seconds)} left" if p.eta_seconds is not None else ""
                text = f"{_mb(p.bytes_done)} of {_mb(p.bytes_total)}{rate}{eta}"
            else:
                text = f"{p.message} {_mb(p.bytes_done)} of {_mb(p.bytes_total)}".strip()
            self.detail_label.setText(text)
        else:
            self.progress_bar.setRange(0, 0)  # busy: no fraction to show
            self.detail_label.setText(p.message)

    def _finished(self, path: str, error: str) -> None:
        if error == "cancelled":
            super().reject()  # already closed by Cancel; this covers a cancel from elsewhere
            return
        if error:
            self.error = error
            self.stage_label.setText("The model could not be installed")
            self.progress_bar.hide()
            self.detail_label.hide()
            self.error_label.setText(error[:1].upper() + error[1:])
            self.error_label.show()
            self.retry_button.show()
            self.cancel_button.setText("Close")
            self.adjustSize()  # room for the message: the intro must not be squeezed
            return
        self.result_path = path
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        self.stage_label.setText(f"Installed {self.source.name}")
        self.detail_label.setText(str(Path(path)))
        self.installed.emit(path)
        self.accept()

    def _cancel_or_close(self) -> None:
        self.reject()

    def reject(self) -> None:
        """Cancel (Esc, the window's close button, Cancel): the worker stops at its next step."""
        if self.running:
            self._cancel.set()  # the worker answers "cancelled"; the .part file stays
            self.stage_label.setText("Cancelling…")
        super().reject()
