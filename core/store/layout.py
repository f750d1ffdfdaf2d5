"""What a library folder holds, named once: every module that opens a library's files (the
library, the CLI's recovery advice, the location policy) asks here.

``library.sqlite`` is the source of truth, ``segments.hnsw`` (+ ``.json`` sidecar) a
rebuildable cache of its vectors, ``folders.json`` the list of watched folders kept beside the
database so a lost database can be rebuilt by indexing them again, and ``write.lock`` the lock
that makes changes exclusive.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "library.sqlite"
INDEX_NAME = "segments.hnsw"
FOLDERS_NAME = "folders.json"
LOCK_NAME = "write.lock"


def has_database(root: Path) -> bool:
    """Whether a library (its database) already exists in ``root``."""
    return (root / DB_NAME).exists()


def lost_database(root: Path) -> bool:
    """The library was here (its index or folder record remains) but its database is gone."""
    return not has_database(root) and any(
        (root / name).exists() for name in (INDEX_NAME, FOLDERS_NAME)
    )


def drop_index_files(root: Path) -> None:
    """Delete the saved vector index: after a lost database its labels would clash with the
    new database's segment ids."""
    for name in (INDEX_NAME, INDEX_NAME + ".json"):
        (root / name).unlink(missing_ok=True)


def read_folders_record(root: Path) -> list[str] | None:
    """The watched folders recorded in ``folders.json``; None when there is no readable record."""
    try:
        record = json.loads((root / FOLDERS_NAME).read_text(encoding="utf-8"))
        return [str(p) for p in record.get("folders", [])]
    except (OSError, ValueError, AttributeError):
        return None


def write_folders_record(root: Path, folders: Sequence[str]) -> None:
    """Keep ``folders.json`` in step with the database's watched folders, atomically; a failure
    is logged, never raised (the record is a convenience for recovery)."""
    target = root / FOLDERS_NAME
    text = json.dumps({"folders": list(folders)}, indent=1) + "\n"
    try:
        if target.exists() and target.read_text(encoding="utf-8") == text:
            return
        tmp = target.with_name(f"{FOLDERS_NAME}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        log.warning("could not record the watched folders: %s", exc)


def has_folders_record(root: Path) -> bool:
    return (root / FOLDERS_NAME).exists()
