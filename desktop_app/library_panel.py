"""The watched folders with their counts; choosing one limits the search to it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from core import FolderStatus, from_db, readable, to_db
from desktop_app.formatting import plural

PathRole = 0x0100 + 10


def _path_of(item: QListWidgetItem) -> str | None:
    stored = item.data(PathRole)
    return None if stored is None else from_db(stored)


def folder_summary(f: FolderStatus) -> str:
    parts = [plural(f.videos, "video")]
    if f.indexed != f.videos:
        parts.append(f"{f.indexed} indexed")
    if f.pending:
        parts.append(f"{f.pending} waiting")
    if f.failed:
        parts.append(f"{f.failed} failed")
    if not f.online:
        parts.append("offline")
    return " · ".join(parts)


class LibraryPanel(QWidget):
    addRequested = Signal()
    # Paths travel as Python objects: a str signal would pass through QString, which drops
    # the undecodable bytes of a name that is not UTF-8.
    removeRequested = Signal(object)
    rescanRequested = Signal(object)
    revealRequested = Signal(object)
    filterChanged = Signal(object)  # folder path or None for all

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Library", self)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + 1)
        self.title.setFont(font)
        self.totals = QLabel("", self)
        self.totals.setObjectName("libraryTotals")
        self.totals.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setObjectName("folders")
        self.list.setIconSize(QSize(22, 22))
        self.list.setSpacing(2)
        # a folder's name is cut to the panel's width (whole in its tooltip),
        # not wrapped mid-word with a scroll bar under it
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.currentItemChanged.connect(self._current_changed)
        self.add_button = QPushButton("Add folder…", self)
        self.add_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder)
        )
        self.add_button.clicked.connect(self.addRequested)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setToolTip("Stop watching the selected folder (the files stay on disk)")
        self.remove_button.clicked.connect(self._remove_current)
        self.remove_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button, 1)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.totals)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._folders: list[FolderStatus] = []

    @property
    def folder_paths(self) -> list[str]:
        return [f.path for f in self._folders]

    def selected_folder(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else _path_of(item)

    def set_folders(
        self, folders: Sequence[FolderStatus], videos: int, indexed: int, segments: int
    ) -> None:
        current = self.selected_folder()
        self._folders = list(folders)
        self.list.blockSignals(True)
        self.list.clear()
        style = self.style()
        everything = QListWidgetItem(
            style.standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon),
            f"All folders\n{plural(videos, 'video')} · {plural(segments, 'moment')} searchable",
        )
        everything.setData(PathRole, None)
        self.list.addItem(everything)
        select = everything
        for f in folders:
            icon = (
                QStyle.StandardPixmap.SP_DirIcon
                if f.online
                else QStyle.StandardPixmap.SP_DriveNetIcon
            )
            item = QListWidgetItem(
                style.standardIcon(icon),
                f"{readable(Path(f.path).name or f.path)}\n{folder_summary(f)}",
            )
            item.setToolTip(readable(f.path))
            item.setData(PathRole, to_db(f.path))  # Qt keeps valid text only
            if not f.online:
                item.setForeground(self.palette().placeholderText())
            self.list.addItem(item)
            if f.path == current:
                select = item
        self.list.setCurrentItem(select)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(select.data(PathRole) is not None)
        self.totals.setText(
            f"{plural(len(folders), 'folder')} watched"
            f" · {indexed} of {plural(videos, 'video')} indexed"
            if folders
            else "No folders yet: drop one on the window."
        )
        if current is not None and select is everything:
            self.filterChanged.emit(None)  # the filtered folder went away

    def _current_changed(self, item: QListWidgetItem | None, _previous: object) -> None:
        path = None if item is None else _path_of(item)
        self.remove_button.setEnabled(path is not None)
        self.filterChanged.emit(path)

    def _remove_current(self) -> None:
        path = self.selected_folder()
        if path:
            self.removeRequested.emit(path)

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        path = None if item is None else _path_of(item)
        menu = QMenu(self)
        menu.addAction("Add folder…", self.addRequested.emit)
        if path:
            menu.addSeparator()
            menu.addAction("Rescan", lambda: self.rescanRequested.emit(path))
            menu.addAction("Show in file manager", lambda: self.revealRequested.emit(path))
            menu.addSeparator()
            menu.addAction("Stop watching", lambda: self.removeRequested.emit(path))
        menu.exec(self.list.viewport().mapToGlobal(pos))
