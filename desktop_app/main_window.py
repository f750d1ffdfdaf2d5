"""The main window. For now it shows which model and provider are active (or why none is).

The search box, results grid, player and library panel arrive with the desktop-app issue; this
window already loads the model the way they will use it, off the UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from core.encoders import Encoder
from desktop_app.model_status import ModelLoader, ModelStatus


class MainWindow(QMainWindow):
    def __init__(self, model: str | None = None, force_cpu: bool = False) -> None:
        super().__init__()
        self.setWindowTitle("ClipSeek")
        self.resize(1280, 800)
        self.encoder: Encoder | None = None
        self.status: ModelStatus | None = None

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel("Loading model…", central)
        self.title.setObjectName("modelTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.title.font()
        font.setPointSize(font.pointSize() + 8)
        self.title.setFont(font)
        self.detail = QLabel("", central)
        self.detail.setObjectName("modelDetail")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        self.setCentralWidget(central)

        self.provider_label = QLabel("Provider: …")
        self.statusBar().addPermanentWidget(self.provider_label)
        self.statusBar().showMessage("Loading model…")

        self._loader = ModelLoader(model, force_cpu)
        self._loader.finished.connect(self._on_model_loaded)
        QThreadPool.globalInstance().start(self._loader)

    def _on_model_loaded(self, status: ModelStatus, encoder: Encoder | None) -> None:
        self.status, self.encoder = status, encoder
        self.title.setText(status.title)
        self.detail.setText(status.detail)
        if status.ok:
            self.provider_label.setText(f"Provider: {status.provider}")
            self.statusBar().showMessage(f"Model: {status.title}")
        else:
            self.provider_label.setText("Provider: none")
            self.statusBar().showMessage(status.title)
