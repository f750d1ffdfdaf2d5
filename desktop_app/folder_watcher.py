"""Picks up changes in the watched folders while the app runs.

Directories are watched, not files (a library can hold tens of thousands of videos; a
directory's change signal covers every file in it). Changes arrive in bursts (a copy writes a
file for minutes), so they are gathered and handed on after a quiet spell. Watchers miss changes
on network drives and beyond the OS's watch limit, so a periodic rescan backs them up.
"""

from __future__ import annotations

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

QUIET_MS = 2000


class FolderWatcher(QObject):
    changed = Signal(list)  # the directories that changed (after a quiet spell)
    periodic = Signal()  # time for the backup rescan of everything

    def __init__(self, parent: QObject | None = None, rescan_minutes: int = 10) -> None:
        super().__init__(parent)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._touched)
        self._pending: set[str] = set()
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(QUIET_MS)
        self._quiet.timeout.connect(self._flush)
        self._periodic = QTimer(self)
        self._periodic.timeout.connect(self.periodic)
        self.set_rescan_minutes(rescan_minutes)

    def set_rescan_minutes(self, minutes: int) -> None:
        if minutes > 0:
            self._periodic.start(minutes * 60_000)
        else:
            self._periodic.stop()

    def set_directories(self, directories: list[str]) -> None:
        current = set(self._watcher.directories())
        wanted = set(directories)
        gone = sorted(current - wanted)
        new = sorted(wanted - current)
        if gone:
            self._watcher.removePaths(gone)
        if new:
            self._watcher.addPaths(new)

    @property
    def directories(self) -> list[str]:
        return list(self._watcher.directories())

    def _touched(self, path: str) -> None:
        self._pending.add(path)
        self._quiet.start()  # restart: wait until the burst is over

    def _flush(self) -> None:
        paths, self._pending = sorted(self._pending), set()
        if paths:
            self.changed.emit(paths)
