"""Handing files to the rest of the desktop: the system player and the file manager."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from core import openable

log = logging.getLogger(__name__)


def file_url(path: str) -> QUrl:
    """A URL Qt can open for any file. Qt drops the undecodable bytes of a name that is not
    UTF-8 (``bad\\xff.mp4`` would open ``bad.mp4``), so such a file goes through a link."""
    return QUrl.fromLocalFile(openable(path))


def open_in_system_player(path: str) -> bool:
    return QDesktopServices.openUrl(file_url(path))


def reveal_command(path: str) -> list[str] | None:
    """The command that shows ``path`` selected in the platform's file manager, if any."""
    if sys.platform == "win32":
        return ["explorer", f"/select,{os.path.normpath(path)}"]
    if sys.platform == "darwin":
        return ["open", "-R", path]
    if shutil.which("gdbus"):  # freedesktop FileManager1: Nautilus, Dolphin, Nemo, Thunar…
        uri = "file://" + quote(os.fsencode(os.path.abspath(path)))  # the name's own bytes
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
    return QDesktopServices.openUrl(file_url(target))
