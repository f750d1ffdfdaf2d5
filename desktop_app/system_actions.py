"""Handing files to the rest of the desktop: the system player and the file manager."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

log = logging.getLogger(__name__)


def open_in_system_player(path: str) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def reveal_command(path: str) -> list[str] | None:
    """The command that shows ``path`` selected in the platform's file manager, if any."""
    if sys.platform == "win32":
        return ["explorer", f"/select,{os.path.normpath(path)}"]
    if sys.platform == "darwin":
        return ["open", "-R", path]
    if shutil.which("gdbus"):  # freedesktop FileManager1: Nautilus, Dolphin, Nemo, Thunar…
        uri = QUrl.fromLocalFile(path).toString()
        return [
            "gdbus", "call", "--session", "--dest", "org.freedesktop.FileManager1",
            "--object-path", "/org/freedesktop/FileManager1",
            "--method", "org.freedesktop.FileManager1.ShowItems", f"['{uri}']", "",
        ]  # fmt: skip
    return None


def reveal_in_file_manager(path: str) -> bool:
    """Show the file selected in its folder; fall back to opening the folder."""
    command = reveal_command(path)
    if command is not None:
        try:
            done = subprocess.run(command, capture_output=True, timeout=5, check=False)
            if done.returncode == 0 or sys.platform == "win32":  # explorer exits 1 on success
                return True
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.info("reveal with %s failed: %s", command[0], exc)
    target = path if os.path.isdir(path) else str(Path(path).parent)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(target))
