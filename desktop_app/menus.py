"""The menu bar: every command the window has, with its shortcut, in one place (the Help menu's
Shortcuts dialog lists the same keys)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenuBar, QWidget


@dataclass(frozen=True)
class Commands:
    """What the menus call: the window's own methods."""

    add_folder: Callable[[], None]
    remove_folder: Callable[[], None]
    rescan: Callable[[], None]
    search_by_picture: Callable[[], None]
    open_demo: Callable[[], None]
    settings: Callable[[], None]
    quit: Callable[[], object]
    shortcuts: Callable[[], None]
    log_folder: Callable[[], None]
    about: Callable[[], None]


class Menus:
    """File, View and Help; the View menu's two toggles are kept for the window to bind."""

    def __init__(self, bar: QMenuBar, parent: QWidget, commands: Commands) -> None:
        c = commands
        file_menu = bar.addMenu("&File")
        file_menu.addAction("Add folder…", QKeySequence("Ctrl+O"), c.add_folder)
        self.remove_action = file_menu.addAction(
            "Stop watching the selected folder", c.remove_folder
        )
        file_menu.addAction("Rescan all folders", QKeySequence("F5"), c.rescan)
        file_menu.addAction("Search by picture…", QKeySequence("Ctrl+I"), c.search_by_picture)
        file_menu.addSeparator()
        file_menu.addAction("Open the demo library", c.open_demo)
        file_menu.addAction("Settings…", QKeySequence("Ctrl+,"), c.settings)
        file_menu.addSeparator()
        file_menu.addAction("Quit", QKeySequence("Ctrl+Q"), c.quit)
        view_menu = bar.addMenu("&View")
        self.group_action = QAction("Group results by video", parent, checkable=True)
        self.group_action.setShortcut(QKeySequence("Ctrl+G"))
        view_menu.addAction(self.group_action)
        self.problems_action = QAction("Problems panel", parent, checkable=True)
        view_menu.addAction(self.problems_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction("Keyboard shortcuts", QKeySequence("F1"), c.shortcuts)
        help_menu.addAction("Open the log folder", c.log_folder)
        help_menu.addSeparator()
        help_menu.addAction("About ClipSeek", c.about)
