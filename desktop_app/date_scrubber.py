"""The strip beside the grid that jumps through time: years, and the months under each.

Shown while the grid is laid out by date (browsing, or results sorted newest first). Each
mark points at a month header's row (:func:`desktop_app.date_sections.scrubber_marks`);
clicking it scrolls that month to the top, as Google Photos' and Immich's scrubbers do.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from desktop_app.date_sections import Section, scrubber_marks

RowRole = Qt.ItemDataRole.UserRole + 1


class DateScrubber(QListWidget):
    """Years (bold) and months; :attr:`jump` carries the grid row to scroll to."""

    jump = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dateScrubber")
        self.setFixedWidth(72)
        self.setFrameShape(QListWidget.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setToolTip("Jump to a year or month")
        self.itemClicked.connect(lambda item: self.jump.emit(int(item.data(RowRole))))
        self.itemActivated.connect(lambda item: self.jump.emit(int(item.data(RowRole))))

    def set_sections(self, sections: list[tuple[Section, int]]) -> None:
        """Marks for these month headers (and their rows); hidden when there is one or none."""
        self.clear()
        bold = QFont(self.font())
        bold.setBold(True)
        for label, row, is_year in scrubber_marks(sections):
            item = QListWidgetItem(label if is_year else f"  {label}")
            item.setData(RowRole, row)
            if is_year:
                item.setFont(bold)
            self.addItem(item)
        self.setVisible(len(sections) > 1)

    def labels(self) -> list[str]:
        return [self.item(i).text().strip() for i in range(self.count())]
