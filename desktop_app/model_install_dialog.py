"""The dialog that installs OpenAI CLIP ViT-B/32: what it will do first (the download's size, the
folder, the precision), then, once asked with Install, progress, cancel, retry, clear errors.

A second choice installs M-CLIP's multilingual text model after it (searching in other
languages): the same download, check and assembly steps, the same precision choice. A third
installs a Whisper speech model (tiny, base or small) last, for searching what is said: a
download and checks only (it is already in CTranslate2's format)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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
    MULTILINGUAL_DOWNLOAD_BYTES,
    MULTILINGUAL_SOURCE,
    SPEECH_SOURCES,
    InstallCancelled,
    InstallError,
    InstallProgress,
    ModelSource,
    SpeechSource,
    already_installed,
    install_model,
    install_multilingual,
    install_speech,
    installed_speech,
    precision_for_this_machine,
)
from core import (
    models_dir as default_models_dir,
)
from desktop_app.background import BackgroundTask, TaskControl
from desktop_app.formatting import duration

STAGES = {
    "connecting": "Connecting to the Hugging Face hub…",
    "downloading": "Downloading the weights…",
    "verifying": "Checking the download…",
    "converting": "Converting the model for this computer…",
    "done": "Installed",
}


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


@dataclass(frozen=True)
class _TowerProgress:
    """Progress of the second install (the multilingual text model), told apart in the labels."""

    progress: InstallProgress


@dataclass(frozen=True)
class _SpeechProgress:
    """Progress of the third install (the Whisper speech model)."""

    progress: InstallProgress


#: The size offered first: base, between tiny (the fastest, the weakest) and small (the
#: slowest, the best) in Whisper's own accuracy tables.
DEFAULT_SPEECH_SIZE = "base"


class ModelInstallDialog(QDialog):
    """Downloads and converts a model in a background thread. Opened, it only says what will
    happen; its Install button (or :meth:`start`) starts the work.

    Signals: ``progressed(InstallProgress)`` as it goes; ``installed(str)`` with the bundle
    folder, then the dialog accepts. Cancel (or
    closing the window) stops the work and rejects; the partial download is kept for next time.
    Widgets tests read: ``plan_label``, ``folder_label``, ``int8_box``, ``multilingual_box``,
    ``speech_box``, ``speech_size`` (tiny, base, small), ``install_button``, ``stage_label``,
    ``progress_bar``, ``detail_label``, ``error_label``, ``cancel_button``, ``retry_button``;
    ``result_path``, ``tower_path`` (the multilingual text model's folder, when chosen),
    ``speech_path`` (the speech model's) and ``error`` hold the outcome. A retry after the image
    model was installed and a later one failed does not install the image model again; a speech
    model of the same pin already installed is not fetched again.
    """

    installed = Signal(str)
    progressed = Signal(object)  # each InstallProgress, as the dialog shows it

    def __init__(
        self,
        parent: QWidget | None = None,
        source: ModelSource = DEFAULT_SOURCE,
        models_dir: str | None = None,
        hub_url: str | None = None,
        tower_source: ModelSource = MULTILINGUAL_SOURCE,
        speech_sources: Mapping[str, SpeechSource] | None = None,
    ) -> None:
        super().__init__(parent)
        self.source, self.models_dir, self.hub_url = source, models_dir, hub_url
        self.tower_source = tower_source
        self.speech_sources = dict(speech_sources or SPEECH_SOURCES)
        self.setWindowTitle(f"Install {source.name}")
        self.setObjectName("modelInstallDialog")
        self.setMinimumWidth(520)
        title = QLabel(f"Install {source.name}", self)
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + 2)
        title.setFont(font)
        intro = QLabel(
            "ClipSeek downloads the model's weights once from the Hugging Face hub, checks them"
            " and converts them on this computer. Your videos and searches never leave it.",
            self,
        )
        intro.setWordWrap(True)
        # what Install will do, said before anything starts: the size is core's, not retyped
        size = f"{_mb(source.size)}" if source.size else "its size is read from the hub"
        self.plan_label = QLabel(f"Download: {size}, once ({source.filename})", self)
        self.plan_label.setObjectName("installPlan")
        folder = str(Path(models_dir) if models_dir else default_models_dir())
        self.folder_label = QLabel(self)
        self.folder_label.setObjectName("installFolder")
        self.folder_label.setToolTip(folder)
        metrics = self.folder_label.fontMetrics()
        shown = metrics.elidedText(folder, Qt.TextElideMode.ElideMiddle, 400)
        self.folder_label.setText(f"Installed in: {shown}")
        #: The int8 image tower indexes 1.7x faster on a processor, with vectors within 0.03 %
        #: of the full model's; with an NVIDIA GPU the full model is the better choice.
        self.int8_box = QCheckBox("Faster on this computer's processor (int8 image model)", self)
        self.int8_box.setObjectName("installInt8")
        self.int8_box.setChecked(
            source.precision == "int8" or precision_for_this_machine() == "int8"
        )
        self.int8_box.setToolTip(
            "Indexes about 1.7 times faster without an NVIDIA graphics card; its results are"
            " practically the same. Its library is separate from the full model's."
        )
        #: M-CLIP's XLM-R text model, installed after the image model when chosen: queries in
        #: Korean, Japanese, German … answered in the same vector space (nothing is re-indexed).
        self.multilingual_box = QCheckBox("Also search in other languages (Korean and more)", self)
        self.multilingual_box.setObjectName("installMultilingual")
        self.multilingual_box.setToolTip(
            "M-CLIP's multilingual text model (XLM-RoBERTa Large), trained on captions in 48"
            " languages; Korean works through transfer. Your library is not indexed again."
        )
        self.multilingual_label = QLabel(
            f"M-CLIP, about {MULTILINGUAL_DOWNLOAD_BYTES / 1e9:.1f} GB more to download"
            " (pytorch_model.bin), once",
            self,
        )
        self.multilingual_label.setObjectName("installMultilingualPlan")
        self.multilingual_label.setWordWrap(True)
        self.multilingual_label.setStyleSheet("color: palette(placeholder-text);")
        self.multilingual_label.setIndent(24)
        self.tower_path: str | None = None
        #: A Whisper speech model, installed last when chosen: what is said in the videos
        #: becomes searchable. The size picker beside it says what each size downloads.
        self.speech_box = QCheckBox(self)
        self.speech_box.setObjectName("installSpeech")
        self.speech_box.setToolTip(
            "OpenAI's Whisper (MIT) in CTranslate2's format: Korean, English and 97 more"
            " languages, transcribed on this computer after each video is indexed. Larger"
            " sizes understand more and transcribe more slowly."
        )
        self.speech_size = QComboBox(self)
        self.speech_size.setObjectName("installSpeechSize")
        self.speech_size.addItems(list(self.speech_sources))
        self.speech_size.setToolTip("Whisper's size: tiny is fastest, small understands most")
        if DEFAULT_SPEECH_SIZE in self.speech_sources:
            self.speech_size.setCurrentText(DEFAULT_SPEECH_SIZE)
        self.speech_size.currentTextChanged.connect(self._describe_speech)
        self._describe_speech(self.speech_size.currentText())
        self.speech_path: str | None = None
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
        self.install_button = QPushButton("Install", self)
        self.install_button.setObjectName("installStart")
        self.install_button.setDefault(True)  # Enter installs; Esc cancels
        self.install_button.clicked.connect(self.start)
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.clicked.connect(self.start)
        self.retry_button.hide()
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.install_button)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 16)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(self.plan_label)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.int8_box)
        layout.addWidget(self.multilingual_box)
        layout.addWidget(self.multilingual_label)
        speech_row = QHBoxLayout()
        speech_row.addWidget(self.speech_box)
        speech_row.addWidget(self.speech_size)
        speech_row.addStretch(1)
        layout.addLayout(speech_row)
        layout.addSpacing(6)
        layout.addWidget(self.stage_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.detail_label)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        self.progress_bar.hide()  # nothing in progress until Install is pressed
        self.detail_label.hide()
        models, hub = self.models_dir, self.hub_url  # plain values only
        chosen = self._chosen = [self.source]  # what start() picked: a plain value too
        tower: list[ModelSource | None] = [None]  # the multilingual source, when chosen
        self._tower_chosen = tower
        speech: list[SpeechSource | None] = [None]  # the speech model, when chosen
        self._speech_chosen = speech

        done: dict[ModelSource, Path] = {}  # what this dialog installed already (a retry skips it)

        def install(control: TaskControl) -> tuple[str, str, str]:
            # what is on disk already (installed before, or by this dialog) is not fetched again
            path = done.get(chosen[0]) or already_installed(chosen[0], models)
            if path is None:
                path = done[chosen[0]] = install_model(
                    chosen[0],
                    models_dir=models,
                    hub_url=hub,
                    on_progress=control.progress,
                    cancel=control.cancel_event,
                )
            text, tower_path, speech_path = tower[0], "", ""
            if text is not None:
                tower_path = str(
                    already_installed(text, models)
                    or install_multilingual(
                        text,
                        models_dir=models,
                        hub_url=hub,
                        on_progress=lambda p: control.progress(_TowerProgress(p)),
                        cancel=control.cancel_event,
                        precision=text.precision,
                    )
                )
            said = speech[0]
            if said is not None:
                speech_path = str(
                    installed_speech(said, models)
                    or install_speech(
                        said,
                        models_dir=models,
                        hub_url=hub,
                        on_progress=lambda p: control.progress(_SpeechProgress(p)),
                        cancel=control.cancel_event,
                    )
                )
            return str(path), tower_path, speech_path

        self._task: BackgroundTask[tuple[str, str, str]] = BackgroundTask(
            self,
            install,
            on_success=lambda paths: self._finished(paths[0], "", paths[1], paths[2]),
            on_failure=self._failed,
            on_progress=self._show_progress,
            on_cancelled=lambda: self._finished("", "cancelled"),
            cancelled_by=(InstallCancelled,),
            expected=(InstallError, OSError),
            name="clipseek-install",
        )
        self.result_path: str | None = None
        self.error: str | None = None

    def _describe_speech(self, size: str) -> None:
        source = self.speech_sources.get(size)
        about = f", about {_mb(source.download_bytes)}" if source is not None else ""
        self.speech_box.setText(f"Also search what is said (speech: Whisper {size}{about})")

    @property
    def running(self) -> bool:
        return self._task.running

    def _failed(self, exc: BaseException) -> None:
        expected = isinstance(exc, InstallError | OSError)
        # a bug: said in the dialog (and logged) rather than left hanging on "Converting"
        self._finished("", str(exc) if expected else f"{type(exc).__name__}: {exc}")

    def start(self) -> None:
        if self.running:
            return
        precision = "int8" if self.int8_box.isChecked() else "fp32"
        self._chosen[0] = self.source.with_precision(precision)
        self._tower_chosen[0] = (
            self.tower_source.with_precision(precision)
            if self.multilingual_box.isChecked()
            else None
        )
        self._speech_chosen[0] = (
            self.speech_sources[self.speech_size.currentText()]
            if self.speech_box.isChecked()
            else None
        )
        self.int8_box.setEnabled(False)
        self.multilingual_box.setEnabled(False)
        self.speech_box.setEnabled(False)
        self.speech_size.setEnabled(False)
        self.install_button.hide()
        self.error = None
        self.error_label.hide()
        self.detail_label.show()
        self.progress_bar.show()
        self.retry_button.hide()
        self.cancel_button.setText("Cancel")
        self.stage_label.setText(STAGES["connecting"])
        self.detail_label.setText("")
        self.progress_bar.setRange(0, 0)
        self._task.start()

    def _show_progress(self, value: InstallProgress | _TowerProgress | _SpeechProgress) -> None:
        p = value if isinstance(value, InstallProgress) else value.progress
        self.progressed.emit(p)
        if self._task.cancel_requested:
            return  # "Cancelling…" stays until the worker stops
        stage = STAGES.get(p.stage, p.stage)
        part = {_TowerProgress: "Multilingual model", _SpeechProgress: "Speech model"}.get(
            type(value)
        )
        if part is not None and p.stage != "done":
            stage = f"{part}: {stage[:1].lower()}{stage[1:]}"
        self.stage_label.setText(stage)
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

    def _finished(self, path: str, error: str, tower_path: str = "", speech_path: str = "") -> None:
        if error == "cancelled":
            super().reject()  # already closed by Cancel; this covers a cancel from elsewhere
            return
        if error:
            self.error = error
            self.int8_box.setEnabled(True)  # a retry may choose again
            self.multilingual_box.setEnabled(True)
            self.speech_box.setEnabled(True)
            self.speech_size.setEnabled(True)
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
        self.tower_path = tower_path or None
        self.speech_path = speech_path or None
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
            self._task.cancel()  # the worker answers "cancelled"; the .part file stays
            self.stage_label.setText("Cancelling…")
        super().reject()
