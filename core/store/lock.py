"""The library's write lock: one process changes a library at a time; readers never wait."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

from core.errors import LibraryBusy


class WriteLock:
    """An exclusive, process-wide lock on a file; released by the OS if the process dies, so a
    crash never leaves a library locked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None

    def acquire(self) -> None:
        """Take the lock (once); :class:`LibraryBusy` if another process holds it. An
        :class:`OSError` (the lock file cannot be made) is left to the caller to explain."""
        if self._fh is not None:
            return
        fh = self.path.open("a+b")
        try:
            if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
                import msvcrt

                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise LibraryBusy(
                f"another ClipSeek process is changing the library {self.path.parent};"
                " wait for it to finish or close it"
            ) from None
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    @property
    def held(self) -> bool:
        return self._fh is not None
