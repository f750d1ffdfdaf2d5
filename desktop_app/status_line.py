"""The status bar's permanent part: indexing progress, the problems toggle, the model and where
it runs (the provider ONNX Runtime really uses, in words: it falls back to the CPU silently)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStatusBar, QStyle, QToolButton, QWidget

from desktop_app.formatting import plural
from desktop_app.indexing_bar import IndexingBar
from desktop_app.model_status import ModelStatus
from desktop_app.text_fit import ElidedLabel


class StatusLine:
    """Widgets placed in a window's status bar, and what they say."""

    def __init__(self, bar: QStatusBar, parent: QWidget) -> None:
        self.indexing_bar = IndexingBar(parent)
        self.problems_button = QToolButton(parent)
        self.problems_button.setObjectName("problemsButton")
        self.problems_button.setAutoRaise(True)
        self.problems_button.setCheckable(True)
        self.problems_button.setIcon(
            parent.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        )
        self.problems_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.problems_button.hide()
        # a model's name is the user's (a folder may be named anything): cut, never wider
        self.model_label = ElidedLabel("Model: loading…", parent, Qt.TextElideMode.ElideRight, 32)
        self.model_label.setObjectName("modelLabel")
        self.provider_label = ElidedLabel("", parent, Qt.TextElideMode.ElideRight, 32)
        self.provider_label.setObjectName("providerLabel")
        for widget in (
            self.indexing_bar, self.problems_button, self.model_label, self.provider_label
        ):  # fmt: skip
            bar.addPermanentWidget(widget)

    def show_model(self, status: ModelStatus) -> None:
        if status.ok:
            self.model_label.setText(f"Model: {status.title}")
            self.model_label.setToolTip(status.detail)
            self.provider_label.setText(status.device)
            self.provider_label.setToolTip(status.device_detail)
        else:
            self.model_label.setText("Model: none")
            self.provider_label.setText("")

    def show_problems(self, count: int) -> None:
        self.problems_button.setVisible(count > 0)
        self.problems_button.setText(plural(count, "problem"))
