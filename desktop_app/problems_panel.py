"""Files that could not be indexed, with the reason, and files indexed with a warning."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core import FileNote, from_db, readable, to_db

PathRole = Qt.ItemDataRole.UserRole + 1


class ProblemsPanel(QWidget):
    revealRequested = Signal(object)  # a path (a str signal would lose odd bytes)
    rescanRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("No problems.", self)
        self.summary.setObjectName("problemsSummary")
        self.table = QTableWidget(0, 3, self)
        self.table.setObjectName("problems")
        self.table.setHorizontalHeaderLabels(["File", "Problem", "Folder"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 220)
        header.resizeSection(2, 260)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        self.count = 0

    def set_problems(self, errors: Sequence[FileNote], warnings: Sequence[FileNote]) -> None:
        rows = [(e.path, e.text, True) for e in errors]
        rows += [(w.path, w.text, False) for w in warnings]
        self.table.setRowCount(len(rows))
        error_icon = self.style().standardIcon(self.style().StandardPixmap.SP_MessageBoxCritical)
        warn_icon = self.style().standardIcon(self.style().StandardPixmap.SP_MessageBoxWarning)
        for i, (path, reason, failed) in enumerate(rows):
            name = QTableWidgetItem(error_icon if failed else warn_icon, readable(Path(path).name))
            name.setToolTip(readable(path))
            name.setData(PathRole, to_db(path))  # Qt keeps valid text only
            text = reason if failed else f"indexed, but {reason}"
            problem = QTableWidgetItem(text)
            problem.setToolTip(text)
            folder = QTableWidgetItem(readable(Path(path).parent))
            folder.setToolTip(readable(path))
            for col, item in enumerate((name, problem, folder)):
                self.table.setItem(i, col, item)
        self.count = len(rows)
        if not rows:
            self.summary.setText("No problems: every video was indexed.")
        else:
            self.summary.setText(
                f"{len(errors)} could not be indexed, {len(warnings)} indexed with a warning."
                " The rest of the library is unaffected."
            )

    def rows(self) -> list[tuple[str, str]]:
        """(file name, problem) per row, as shown."""
        return [
            (self._cell(i, 0).text(), self._cell(i, 1).text()) for i in range(self.table.rowCount())
        ]

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        item = self.table.item(row, column)
        assert item is not None, "every cell is filled by set_problems"
        return item

    def _menu(self, pos: QPoint) -> None:
        item = self.table.itemAt(pos)
        if item is None:
            return
        path = from_db(self._cell(item.row(), 0).data(PathRole))
        menu = QMenu(self)
        menu.addAction("Show in file manager", lambda: self.revealRequested.emit(path))
        menu.addAction("Rescan all folders", self.rescanRequested.emit)
        menu.exec(self.table.viewport().mapToGlobal(pos))
