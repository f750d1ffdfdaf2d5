"""Settings: which model, which device, how videos are sampled and cut."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core import QUERY_LANGUAGES, BundleError, load_bundle
from desktop_app.app_settings import Preferences


class SettingsDialog(QDialog):
    def __init__(
        self,
        prefs: Preferences,
        *,
        active_model: str = "",
        active_provider: str = "",
        library_rate: float | None = None,
        library_segment: float | None = None,
        multilingual: str = "",
        speech: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")  # the desktop adds " — ClipSeek"
        self.setObjectName("settingsDialog")
        self.setMinimumWidth(620)
        self._prefs = prefs
        self.installed_bundle: str | None = None

        # -- model -----
        model_box = QGroupBox("Model", self)
        self.model_edit = QLineEdit(prefs.model, model_box)
        self.model_edit.setObjectName("modelFolder")
        self.model_edit.setPlaceholderText("Automatic: the installed model, else the demo model")
        self.model_edit.textChanged.connect(self._check_model)
        browse = QPushButton("Choose…", model_box)
        browse.clicked.connect(self._browse)
        automatic = QPushButton("Automatic", model_box)
        automatic.setToolTip("Use the installed model, or the built-in demo model if none")
        automatic.clicked.connect(lambda: self.model_edit.setText(""))
        row = QHBoxLayout()
        row.addWidget(self.model_edit, 1)
        row.addWidget(browse)
        row.addWidget(automatic)
        self.model_error = QLabel("", model_box)
        self.model_error.setObjectName("modelError")
        self.model_error.setStyleSheet("color: #c0392b;")
        self.model_error.setWordWrap(True)
        self.active_label = QLabel(
            f"In use: <b>{active_model or 'none'}</b>"
            + (f" · {active_provider}" if active_provider else ""),
            model_box,
        )
        self.active_label.setObjectName("activeModel")
        self.install_button = QPushButton("Install OpenAI CLIP ViT-B/32…", model_box)
        self.install_button.setObjectName("installModel")
        self.install_button.setToolTip(
            "Downloads OpenAI's CLIP ViT-B/32 weights (about 600 MB) from the Hugging Face hub"
            " once and converts them on this computer. Understands real footage."
        )
        self.install_button.clicked.connect(self._install)
        self.cpu_check = QCheckBox("Always use the CPU (ignore the GPU)", model_box)
        self.cpu_check.setObjectName("forceCpu")
        self.cpu_check.setChecked(prefs.force_cpu)
        model_layout = QVBoxLayout(model_box)
        model_layout.addWidget(self.active_label)
        model_layout.addLayout(row)
        model_layout.addWidget(self.model_error)
        install_row = QHBoxLayout()
        install_row.addWidget(self.install_button)
        install_row.addStretch(1)
        model_layout.addLayout(install_row)
        model_layout.addWidget(self.cpu_check)

        # -- search -----
        search_box = QGroupBox("Search", self)
        self.language_combo = QComboBox(search_box)
        self.language_combo.setObjectName("queryLanguage")
        for value, words in QUERY_LANGUAGES:
            self.language_combo.addItem(words, value)
        self.language_combo.setCurrentIndex(
            max(0, self.language_combo.findData(prefs.query_language))
        )
        self.language_combo.setToolTip(
            "Which text model reads what you type. CLIP's own model reads English best; the"
            " multilingual model (installed separately, for OpenAI CLIP ViT-B/32) reads Korean"
            " and 47 more languages into the same index."
        )
        self.language_note = QLabel(multilingual or "No multilingual text model serves this model.",
                                    search_box)  # fmt: skip
        self.language_note.setObjectName("multilingualModel")
        self.language_note.setWordWrap(True)
        self.language_note.setStyleSheet("color: palette(placeholder-text);")
        self.speech_note = QLabel(speech, search_box)
        self.speech_note.setObjectName("speechModel")
        self.speech_note.setWordWrap(True)
        self.speech_note.setStyleSheet("color: palette(placeholder-text);")
        search_form = QFormLayout(search_box)
        search_form.addRow("Query language:", self.language_combo)
        search_form.addRow(self.language_note)
        if speech:
            search_form.addRow(self.speech_note)

        # -- indexing -----
        index_box = QGroupBox("Indexing", self)
        self.rate_spin = QDoubleSpinBox(index_box)
        self.rate_spin.setObjectName("sampleRate")
        self.rate_spin.setRange(0.25, 4.0)
        self.rate_spin.setSingleStep(0.25)
        self.rate_spin.setDecimals(2)
        self.rate_spin.setSuffix(" frames/s")
        self.rate_spin.setValue(library_rate or prefs.sample_rate)
        self.segment_spin = QDoubleSpinBox(index_box)
        self.segment_spin.setObjectName("segmentSeconds")
        self.segment_spin.setRange(2.0, 30.0)
        self.segment_spin.setSingleStep(1.0)
        self.segment_spin.setDecimals(1)
        self.segment_spin.setSuffix(" s")
        self.segment_spin.setValue(library_segment or prefs.segment_seconds)
        self.rescan_spin = QSpinBox(index_box)
        self.rescan_spin.setObjectName("rescanMinutes")
        self.rescan_spin.setRange(0, 24 * 60)
        self.rescan_spin.setSuffix(" min")
        self.rescan_spin.setSpecialValueText("never")
        self.rescan_spin.setValue(prefs.rescan_minutes)
        form = QFormLayout(index_box)
        form.addRow("Sampling rate:", self.rate_spin)
        form.addRow("Moment length:", self.segment_spin)
        form.addRow("Full rescan every:", self.rescan_spin)
        note = QLabel(
            "A new sampling rate indexes your videos again, into a library of its own (the"
            " current one is kept, and ClipSeek asks first). A new moment length re-cuts the"
            " moments from what was already indexed, without reading any video again; moments"
            " overlap by half. Folders are also watched for changes; the periodic rescan"
            " catches what watching misses (network drives).",
            index_box,
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(placeholder-text);")
        form.addRow(note)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(model_box)
        layout.addWidget(search_box)
        layout.addWidget(index_box)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._check_model(self.model_edit.text())

    def preferences(self) -> Preferences:
        return replace(
            self._prefs,
            model=self.model_edit.text().strip(),
            force_cpu=self.cpu_check.isChecked(),
            sample_rate=round(self.rate_spin.value(), 2),
            segment_seconds=round(self.segment_spin.value(), 1),
            rescan_minutes=self.rescan_spin.value(),
            query_language=str(self.language_combo.currentData() or "auto"),
        )

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Choose a model bundle folder", self.model_edit.text() or str(Path.home())
        )
        if folder:
            self.model_edit.setText(folder)

    def _check_model(self, text: str) -> None:
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        text = text.strip()
        if not text:
            self.model_error.setText("")
            ok_button.setEnabled(True)
            return
        try:
            load_bundle(Path(text).expanduser(), verify_checksums=False)
        except BundleError as exc:
            self.model_error.setText(str(exc))
            ok_button.setEnabled(False)
            return
        self.model_error.setText("")
        ok_button.setEnabled(True)

    def _install(self) -> None:
        from desktop_app.model_install_dialog import ModelInstallDialog

        dialog = ModelInstallDialog(self)
        dialog.installed.connect(self._installed)
        dialog.exec()  # it says what it will do; its Install button starts it

    def _installed(self, path: str) -> None:
        self.installed_bundle = path
        self.model_edit.setText(path)
        self.model_error.setStyleSheet("color: #1e8449;")
        self.model_error.setText(f"Installed in {path}. Press OK to switch to it.")
        self.model_error.setAlignment(Qt.AlignmentFlag.AlignLeft)
