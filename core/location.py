"""Which library opens: one rule for the window and every command alike.

One library per model and sampling rate, in the per-user data folder under
``libraries/<model>-<id>[-<rate>fps]/``: vectors of different models cannot be compared, and a
new rate indexes everything again while switching back finds the old library intact.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from core import preferences
from core.model.bundle import legacy_identity, vector_identity
from core.model.encoder import Encoder
from core.pathnames import from_db
from core.paths import libraries_dir, slug
from core.store.catalog import VideoStatus
from core.store.layout import DB_NAME

DEFAULT_RATE = preferences.DEFAULT_RATE


def model_id(encoder: Encoder) -> str:
    """What makes stored vectors comparable: the image tower, the head and every manifest
    field that shapes a vector (core.model.bundle.vector_identity)."""
    return vector_identity(encoder.manifest)


def library_root(encoder: Encoder, sample_rate: float | None = None) -> Path:
    """Where a model's library lives at a rate (default: the user's choice,
    :func:`core.preferences.sample_rate`).

    A library made before the identity covered preprocessing is named by the old identity: it
    is found there (and its record upgraded when opened), so no one's library goes missing.
    """
    rate = preferences.sample_rate() if sample_rate is None else sample_rate
    name = slug(encoder.manifest.name)
    suffix = "" if abs(rate - DEFAULT_RATE) < 1e-9 else f"-{rate:g}fps"
    current = libraries_dir() / f"{name}-{model_id(encoder)[:8]}{suffix}"
    legacy = libraries_dir() / f"{name}-{legacy_identity(encoder.manifest)[:8]}{suffix}"
    if not current.exists() and (legacy / DB_NAME).exists():
        return legacy
    return current


def _peek(encoder: Encoder, sample_rate: float, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the model's library at another rate, read-only; [] without one."""
    db = library_root(encoder, sample_rate) / DB_NAME
    if not db.is_file():
        return []
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=1.0)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def indexed_at(encoder: Encoder, sample_rate: float) -> int:
    """How many videos the model's library at ``sample_rate`` has indexed (0: none, or no
    such library): switching to a rate already indexed costs nothing. Reads only."""
    sql = f"SELECT COUNT(*) FROM videos WHERE status = '{VideoStatus.INDEXED.value}'"
    rows = _peek(encoder, sample_rate, sql)
    return int(rows[0][0]) if rows else 0


def folders_at(encoder: Encoder, sample_rate: float) -> list[str]:
    """The folders the model's library at ``sample_rate`` watches (a new rate's library
    starts watching the same ones). Reads only."""
    rows = _peek(encoder, sample_rate, "SELECT path FROM folders ORDER BY id")
    return [from_db(str(r[0])) for r in rows]
