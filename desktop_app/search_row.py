"""The row under the banners: the search box and the buttons that change what a search shows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QStyle, QToolButton, QWidget

from desktop_app.search_box import SearchBox


def _tool_button(parent: QWidget, name: str, text: str) -> QToolButton:
    button = QToolButton(parent)
    button.setObjectName(name)
    button.setText(text)
    return button


class SearchRow(QWidget):
    """Search box, "Search by picture…", "Group by video" and "Settings"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style = self.style()
        self.search_box = SearchBox(self)
        self.image_button = _tool_button(self, "imageSearch", "Search by picture…")
        self.image_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.image_button.setIcon(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView)
        )
        self.image_button.setToolTip("Find moments that look like a picture (or drop one here)")
        self.group_button = _tool_button(self, "groupByVideo", "Group by video")
        self.group_button.setCheckable(True)
        self.settings_button = _tool_button(self, "settingsButton", "Settings")
        self.settings_button.setIcon(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView)
        )
        self.settings_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 8, 10, 4)
        row.addWidget(self.search_box, 1)
        row.addWidget(self.image_button)
        row.addWidget(self.group_button)
        row.addWidget(self.settings_button)
