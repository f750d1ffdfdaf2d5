"""The Help menu's windows: the keyboard shortcuts, and About (versions, model, where it runs).

About is what a bug report needs: every component's version, the model in use and where it
runs (the provider ONNX Runtime actually uses), and the folders ClipSeek keeps its files in.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Sequence

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core import cache_dir, config_dir, data_dir, logs_dir
from desktop_app.model_status import ModelStatus, runs_on

#: (keys, what they do), in the order a newcomer needs them.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+F  or  Ctrl+L", "Go to the search box"),
    ("Enter (in the search box)", "Search now"),
    ("Down (in the search box)", "Go to the results"),
    ("Arrow keys", "Move between results; Up from the first row goes back to the box"),
    ("Enter (on a result)", "Open the moment in your video player"),
    ("Enter (on “more”)", "Show the other moments"),
    ("Space", "Play or pause the preview"),
    ("Esc", "Clear the search and stop the preview"),
    ("Ctrl+G", "Group results by video"),
    ("Ctrl+I", "Search by picture"),
    ("Ctrl+O", "Add a folder"),
    ("F5", "Look for new and changed videos in every folder"),
    ("Ctrl+,", "Settings"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit"),
)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> list[tuple[str, str]]:
    """(component, version) for everything that decides how ClipSeek behaves."""
    return [
        ("ClipSeek", _version("clipseek")),
        ("Python", platform.python_version()),
        ("Qt", qVersion()),
        ("PySide6", pyside_version),
        ("ONNX Runtime", _version("onnxruntime-gpu")),
        ("OpenCV", _version("opencv-python-headless")),
        ("PyAV", _version("av")),
        ("hnswlib", _version("hnswlib")),
        ("NumPy", _version("numpy")),
        ("System", f"{platform.system()} {platform.release()} ({platform.machine()})"),
    ]


def about_rows(status: ModelStatus | None, library: str | None) -> list[tuple[str, str]]:
    """What About shows, as (label, value) rows (also copied as text for a bug report)."""
    rows = versions()
    if status is not None and status.ok:
        rows += [
            ("Model", status.title),
            ("Model folder", status.path),
            ("Runs on", runs_on(status)),
        ]
    elif status is not None:
        rows.append(("Model", f"{status.title}: {status.detail}"))
    rows += [
        ("Library", library or "not open"),
        ("Data folder", str(data_dir())),
        ("Settings", str(config_dir())),
        ("Thumbnails", str(cache_dir())),
        ("Log", str(logs_dir())),
    ]
    return rows


def as_text(rows: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in rows)


class _Dialog(QDialog):
    """A grid of (label, value) rows with a Close button and, optionally, Copy."""

    def __init__(
        self,
        title: str,
        intro: str,
        rows: Sequence[tuple[str, str]],
        parent: QWidget | None,
        copyable: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.rows = list(rows)
        layout = QVBoxLayout(self)
        lead = QLabel(intro, self)
        lead.setWordWrap(True)
        lead.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout.addWidget(lead)
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        for i, (key, value) in enumerate(self.rows):
            k = QLabel(f"<b>{key}</b>", self)
            v = QLabel(value, self)
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            v.setWordWrap(True)
            grid.addWidget(k, i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(v, i, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        layout.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        if copyable:
            copy = QPushButton("Copy for a bug report", self)
            copy.clicked.connect(self.copy)
            buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)
        self.resize(self.sizeHint())

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(as_text(self.rows))


class ShortcutsDialog(_Dialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Keyboard shortcuts",
            "Everything in ClipSeek can be done from the keyboard:",
            SHORTCUTS,
            parent,
        )


class AboutDialog(_Dialog):
    def __init__(
        self, status: ModelStatus | None, library: str | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "About ClipSeek",
            "<b>ClipSeek</b> finds moments in your own videos from a sentence or a picture."
            " Everything runs on this computer; nothing leaves it.",
            about_rows(status, library),
            parent,
            copyable=True,
        )
