"""The row under the banners: the search box and the buttons that change what a search shows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QStyle, QToolButton, QVBoxLayout, QWidget

from desktop_app.date_filter import DateFilter
from desktop_app.search_box import SearchBox


def _tool_button(parent: QWidget, name: str, text: str) -> QToolButton:
    button = QToolButton(parent)
    button.setObjectName(name)
    button.setText(text)
    return button


class SearchRow(QWidget):
    """Search box, "Search by picture…", "Group by video" and "Settings"; under them, the
    shooting-date range and the order of the results."""

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
        self.group_button.setToolTip(
            "Put each video's moments under its name (Ctrl+G); off while results are by date"
        )
        self.group_button.setCheckable(True)
        self.settings_button = _tool_button(self, "settingsButton", "Settings")
        self.settings_button.setIcon(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView)
        )
        self.settings_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.date_filter = DateFilter(self)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(10, 8, 10, 4)
        rows.setSpacing(4)
        row = QHBoxLayout()
        row.addWidget(self.search_box, 1)
        row.addWidget(self.image_button)
        row.addWidget(self.group_button)
        row.addWidget(self.settings_button)
        rows.addLayout(row)
        when = QHBoxLayout()
        when.addWidget(self.date_filter)
        when.addStretch(1)
        rows.addLayout(when)
