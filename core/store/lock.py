"""The library's write lock: one process changes a library at a time; readers never wait.

It is held only while a process writes (a scan, an indexing job, a rebuild, a folder change,
saving the index), so a window left open on a library does not keep ``clipseek index`` out.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO

from core.errors import LibraryBusy


class WriteLock:
    """An exclusive, process-wide lock on a file; released by the OS if the process dies, so a
    crash never leaves a library locked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock (once), trying again for up to ``wait`` seconds while another process
        holds it (its write is usually short: a scan, a save); :class:`LibraryBusy` if it still
        does. An :class:`OSError` (the lock file cannot be made) is left to the caller."""
        deadline = time.monotonic() + wait
        while True:
            try:
                self._try_acquire()
                return
            except LibraryBusy:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def _try_acquire(self) -> None:
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
                f"another ClipSeek process is changing the library {self.path.parent}"
                " (indexing, a scan or a rebuild); try again when it is done"
            ) from None
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    @property
    def held(self) -> bool:
        return self._fh is not None
