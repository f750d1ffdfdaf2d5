"""The failures a library reports to people, each as one line that says what to do.

Kept in a module of their own so that every layer (the indexing job, the database, the CLI, the
window) can raise and recognise them without importing the library itself.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

#: Exit codes of ``clipseek``, one per kind of failure (README, "Command line"): 1 the work
#: could not be done (library, model, disk, permissions, a damaged file, a bug); 2 the request
#: itself is wrong (arguments, an empty query, a path that does not exist or is not watched, an
#: unreadable query picture; argparse's usage errors are 2 too); 130 interrupted; 141 the reader
#: of the output went away (``| head``).
EXIT_FAILURE = 1
EXIT_USAGE = 2


class LibraryError(RuntimeError):
    """The library cannot do what was asked; the message says why in one line."""


class LibraryBusy(LibraryError):
    """Another process holds the library's write lock."""


class ReadOnlyLibrary(LibraryError):
    """The library can be searched but not changed (read-only drive, no write permission)."""


class DiskFull(LibraryError):
    """The disk holding the library ran out of space; what was committed is kept."""


class UsageError(LibraryError):
    """The request itself is wrong (a missing argument, an impossible value)."""


def free_bytes(where: str | os.PathLike[str]) -> int | None:
    """Free space on the file system holding ``where`` (its nearest existing parent)."""
    path = Path(where)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


#: Below this much free space a vague "disk I/O error" from SQLite is taken to mean a full disk
#: (SQLite reports ENOSPC on its journal or shared-memory file as an I/O error, not as FULL).
NEARLY_FULL = 8 * 1024 * 1024


def disk_full(exc: BaseException, where: str | os.PathLike[str]) -> DiskFull | None:
    """A :class:`DiskFull` saying how much is free if ``exc`` means the disk is full, else None."""
    if isinstance(exc, DiskFull):
        return exc
    free = free_bytes(where)
    full = False
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        full = True
    elif isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        nearly_full = free is not None and free < NEARLY_FULL
        full = "full" in text or ("disk i/o error" in text and nearly_full)
    if not full:
        return None
    amount = "" if free is None else f" ({free / 1e6:.0f} MB free)"
    return DiskFull(
        f"the disk holding the library is full{amount}: {Path(where)}; every video indexed so"
        " far is kept, and indexing goes on where it stopped once space is freed"
    )
