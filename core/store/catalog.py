"""The library's source of truth: one SQLite database (WAL) of folders, videos, frames, segments.

Everything the search needs can be rebuilt from this file: the hnswlib index is a cache of the
``segments.vector`` column, thumbnails are a cache of the videos. A video's frames and segments
are written in one transaction together with its ``indexed`` status, so a crash at any moment
leaves either the whole video or none of it; a video that was still ``pending`` when the process
died is simply encoded again by the next run.

Each thread gets its own connection (SQLite connections must not be shared across threads);
WAL lets the GUI read while the indexer writes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import DiskFull, ReadOnlyLibrary, disk_full
from core.ingest.segments import SegmentSpan
from core.pathnames import from_db, readable, to_db

#: 2: videos gained when they were shot (captured_at/_ts/_source) and where (location).
#: 3: transcripts (what was said: subtitles or a speech model) and their lines, with a
#: full-text index over the lines (core.store.transcripts).
SCHEMA_VERSION = 3


class VideoStatus(StrEnum):
    """Where a video stands. A StrEnum: stored in SQLite as its value, equal to it in Python."""

    PENDING = "pending"  # found, not encoded yet (or changed since)
    INDEXED = "indexed"  # frames and segments stored, searchable
    FAILED = "failed"  # could not be decoded; ``error`` says why


PENDING, INDEXED, FAILED = VideoStatus.PENDING, VideoStatus.INDEXED, VideoStatus.FAILED

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY,
    path TEXT UNIQUE NOT NULL,
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS videos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT UNIQUE NOT NULL,
    folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('{PENDING}', '{INDEXED}', '{FAILED}')),
    error TEXT,
    duration REAL,
    fps REAL,
    width INTEGER,
    height INTEGER,
    rotation INTEGER,
    frame_count INTEGER,
    indexed_at REAL,
    captured_at TEXT,
    captured_ts REAL,
    captured_source TEXT,
    location TEXT
);
CREATE INDEX IF NOT EXISTS videos_fingerprint ON videos(fingerprint);
CREATE INDEX IF NOT EXISTS videos_folder ON videos(folder_id);
CREATE TABLE IF NOT EXISTS frames (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    t REAL NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (video_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    t0 REAL NOT NULL,
    t1 REAL NOT NULL,
    first_frame INTEGER NOT NULL,
    last_frame INTEGER NOT NULL,
    thumb_t REAL NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_video ON segments(video_id);
CREATE TABLE IF NOT EXISTS skipped (
    path TEXT PRIMARY KEY,
    folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS transcripts (
    video_id INTEGER PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    source TEXT NOT NULL,
    origin TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    stored_at REAL NOT NULL,
    lines INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS transcript_lines (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES transcripts(video_id) ON DELETE CASCADE,
    t0 REAL NOT NULL,
    t1 REAL NOT NULL,
    text TEXT NOT NULL,
    words TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transcript_lines_video ON transcript_lines(video_id, t0);
"""

#: The full-text index over transcript lines (FTS5, external content: the lines table holds the
#: text once, triggers keep the index in step inside the writing transaction, also when a
#: video's deletion cascades to its lines). The trigram tokenizer matches any substring of 3
#: characters or more in any script (Korean inside words); SQLite >= 3.34 has it. Where it is
#: missing, the catalog opens without it and speech search scans the lines (LIKE).
_SPEECH_INDEX = """
CREATE VIRTUAL TABLE IF NOT EXISTS transcript_fts USING fts5(
    text, content='transcript_lines', content_rowid='id', tokenize='trigram'
);
CREATE TRIGGER IF NOT EXISTS transcript_lines_ai AFTER INSERT ON transcript_lines BEGIN
    INSERT INTO transcript_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS transcript_lines_ad AFTER DELETE ON transcript_lines BEGIN
    INSERT INTO transcript_fts(transcript_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""


#: Columns schema 2 added to ``videos``, with their types: what the migration adds to an older
#: library (ALTER TABLE: no row is rewritten and no frame decoded; the values are read from the
#: files' headers afterwards, see core.ingest.capture).
_CAPTURE_COLUMNS = {
    "captured_at": "TEXT",  # ISO 8601 with its UTC offset, as the camera (or mtime) said it
    "captured_ts": "REAL",  # the same instant as POSIX seconds: what ranges and sorting use
    "captured_source": "TEXT",  # which field it came from (core.ingest.capture.SOURCES)
    "location": "TEXT",  # ISO 6709, when the container has one
}
_CAPTURE_INDEX = "CREATE INDEX IF NOT EXISTS videos_captured ON videos(captured_ts)"


def _length_of(video_id: str) -> str:
    """SQL for the length of the video whose id is ``video_id``: as decoding measured it, or
    for a video indexed before lengths were recorded, up to its last segment's end."""
    return (
        f"COALESCE((SELECT d.duration FROM videos d WHERE d.id = {video_id}),"
        f" (SELECT MAX(m.t1) FROM segments m WHERE m.video_id = {video_id}))"
    )


def _inside(folders: Sequence[str], sep: str) -> tuple[list[str], list[str | int]]:
    """An SQL condition (and its arguments) for videos inside one of ``folders``; none for no
    folders (every video)."""
    if not folders:
        return [], []
    either: list[str] = []
    args: list[str | int] = []
    for folder in folders:
        prefix = to_db(folder.rstrip(sep) + sep)
        either.append("v.path = ? OR substr(v.path, 1, ?) = ?")
        args += [to_db(folder), len(prefix), prefix]
    return ["(" + " OR ".join(either) + ")"], args


def _shot_within(after: float | None, before: float | None) -> tuple[list[str], list[float]]:
    """SQL conditions (and their arguments) for videos shot in [after, before)."""
    where, args = [], []
    if after is not None:
        where.append("v.captured_ts >= ?")
        args.append(after)
    if before is not None:
        where.append("v.captured_ts < ?")
        args.append(before)
    return where, args


class CatalogError(RuntimeError):
    """The library database cannot be used (unreadable, or from a newer ClipSeek)."""


@dataclass(frozen=True)
class VideoRow:
    id: int
    path: str
    folder_id: int | None
    fingerprint: str
    size: int
    mtime_ns: int
    status: VideoStatus
    error: str | None
    duration: float | None


@dataclass(frozen=True)
class FolderRow:
    id: int
    path: str
    videos: int
    indexed: int
    failed: int
    pending: int
    segments: int

    def to_json(self) -> dict[str, Any]:
        """One entry of ``clipseek folders list --json``."""
        return dict(vars(self))


@dataclass(frozen=True)
class SegmentRow:
    id: int
    video_id: int
    path: str
    fingerprint: str
    folder_id: int | None
    t0: float
    t1: float
    first_frame: int
    last_frame: int
    thumb_t: float
    #: The video's length as decoding measured it (None for a video indexed before that).
    duration: float | None = None
    #: When the video was shot (ISO 8601 with offset), its POSIX time, and where that came from;
    #: None until the file's header was read (an offline file of a migrated library).
    captured_at: str | None = None
    captured_ts: float | None = None
    captured_source: str | None = None


@dataclass(frozen=True)
class CopyRow:
    """One place an indexed file lives: its video, with what a card shows of it."""

    video_id: int
    path: str
    duration: float | None = None
    captured_at: str | None = None
    captured_ts: float | None = None
    captured_source: str | None = None


@dataclass(frozen=True)
class VideoMedia:
    """What decoding learnt about a video, stored with its vectors."""

    duration: float
    fps: float
    width: int
    height: int
    rotation: int


def to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim).copy()


_SEGMENT_SELECT = (
    "s.id, s.video_id, v.path, v.fingerprint, v.folder_id, s.t0, s.t1,"
    " s.first_frame, s.last_frame, s.thumb_t, v.duration"
)
_VIDEO_COLUMNS = "id, path, folder_id, fingerprint, size, mtime_ns, status, error, duration"


class Catalog:
    """Typed access to the library database; safe to use from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        #: Why the database cannot be changed (a read-only drive, no write permission), or None.
        #: Reading works either way: only changes need write access.
        self.read_only: str | None = self._why_read_only()
        if self.read_only and not self.path.exists():
            raise ReadOnlyLibrary(
                f"{self.path.parent}: cannot create a library here ({self.read_only})"
            )
        #: Set when the disk holding the library is full: it is then read as it was saved
        #: (search and status work) and every change is refused with this error.
        self.full: DiskFull | None = None
        try:
            self._check_schema()
        except sqlite3.DatabaseError as exc:
            self.close()
            full = disk_full(exc, self.path.parent)
            if full is None:
                raise CatalogError(f"{self.path}: not a usable library database ({exc})") from None
            if not self.path.exists():
                raise full from None
            # A WAL database cannot even be opened for writing on a full disk (SQLite must
            # make its -shm file): read what is saved instead, rather than refuse a search.
            self.full, self.read_only = full, "the disk holding it is full"
            try:
                self._check_schema()
            except sqlite3.DatabaseError:
                self.close()
                raise full from None

    def _check_schema(self) -> None:
        conn = self.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"{self.path}: made by a newer ClipSeek (schema {version}); update ClipSeek"
            )
        has_schema = self._has_schema(conn)
        #: True when this open brought an older library up to date (its capture times are
        #: then still to be read from the files' headers).
        self.migrated = False
        if version < SCHEMA_VERSION or not has_schema:
            if self.full is not None or self.read_only:
                if has_schema:  # an older library on a read-only drive: read it as it is
                    self.has_capture = self._has_capture(conn)
                    return
                if self.full is not None:
                    raise self.full
                raise ReadOnlyLibrary(
                    f"{self.path.parent}: cannot create a library here ({self.read_only})"
                )
            with conn:  # only a new (or older) database is written on open
                conn.executescript(_SCHEMA)
                present = self._video_columns(conn)
                for name, kind in _CAPTURE_COLUMNS.items():
                    if name not in present:
                        conn.execute(f"ALTER TABLE videos ADD COLUMN {name} {kind}")
                        self.migrated = True
                conn.execute(_CAPTURE_INDEX)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._make_speech_index(conn)
        #: False only for an older library read where it cannot be migrated (read-only).
        self.has_capture = self._has_capture(conn)

    @staticmethod
    def _make_speech_index(conn: sqlite3.Connection) -> None:
        """The full-text index over transcript lines, filled from the lines already stored (a
        library whose SQLite lacked FTS5's trigram tokenizer, opened by one that has it)."""
        try:
            with conn:
                had = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'transcript_fts'"
                ).fetchone()
                conn.executescript("BEGIN;" + _SPEECH_INDEX + "COMMIT;")
                if had is None:
                    conn.execute("INSERT INTO transcript_fts(transcript_fts) VALUES ('rebuild')")
        except sqlite3.OperationalError as exc:  # no FTS5, or no trigram tokenizer
            with contextlib.suppress(sqlite3.Error):
                conn.rollback()
            logging.getLogger(__name__).warning(
                "no full-text index for speech (%s): spoken lines are searched by scanning", exc
            )

    @property
    def has_transcripts(self) -> bool:
        """Whether this library has transcript tables (False for an older library read where
        it cannot be migrated: a read-only drive)."""
        names = {
            r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        return {"transcripts", "transcript_lines"} <= names

    @property
    def has_speech_index(self) -> bool:
        """Whether the trigram full-text index over transcript lines exists."""
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'transcript_fts'"
        ).fetchone()
        return row is not None

    @staticmethod
    def _video_columns(conn: sqlite3.Connection) -> set[str]:
        return {str(r[1]) for r in conn.execute("PRAGMA table_info(videos)")}

    @classmethod
    def _has_capture(cls, conn: sqlite3.Connection) -> bool:
        return set(_CAPTURE_COLUMNS) <= cls._video_columns(conn)

    def _capture_select(self) -> str:
        """The capture columns of ``v`` for a SELECT, or NULLs in an unmigrated library."""
        if self.has_capture:
            return "v.captured_at, v.captured_ts, v.captured_source"
        return "NULL, NULL, NULL"

    def _why_read_only(self) -> str | None:
        folder = self.path.parent
        if self.path.exists():
            if not os.access(self.path, os.W_OK):
                return "the library database is read-only"
            if not os.access(folder, os.W_OK):  # WAL needs its -wal and -shm files beside it
                return f"no write permission in {folder}"
        elif folder.exists() and not os.access(folder, os.W_OK):
            return f"no write permission in {folder}"
        return None

    @staticmethod
    def _has_schema(conn: sqlite3.Connection) -> bool:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {"meta", "folders", "videos", "frames", "segments", "skipped"} <= names

    # -- connections -----
    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against process crashes (SIGKILL) in WAL mode; only a power
            # loss can drop the last transactions, never corrupt the file.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        # Read-only: no journal change, no write. A WAL database needs its -shm file to be
        # read; on a read-only drive that cannot be made, so it is read as immutable (nobody
        # can be writing to a read-only drive anyway).
        uri = self.path.resolve().as_uri()
        for query in ("?mode=ro", "?mode=ro&immutable=1"):
            conn = sqlite3.connect(uri + query, uri=True, timeout=30.0, check_same_thread=False)
            try:
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.OperationalError:
                conn.close()
                if query.endswith("immutable=1"):
                    raise
        raise AssertionError("unreachable")

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.ProgrammingError):  # closed by its thread
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    def data_version(self) -> int:
        """A number that changes when another connection commits: another process (or one of
        this process's other connections, i.e. its own writes, which the caller discounts).
        One cheap PRAGMA on a connection of its own (SQLite's ``data_version``)."""
        with self._lock:
            conn: sqlite3.Connection | None = getattr(self, "_watch", None)
            for _ in range(2):
                if conn is None:
                    conn = self._connect()
                    self._watch = conn
                    self._connections.append(conn)
                try:
                    return int(conn.execute("PRAGMA data_version").fetchone()[0])
                except sqlite3.ProgrammingError:  # closed by close(): open another
                    conn = None
            raise AssertionError("unreachable")

    # -- meta -----
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, values: dict[str, str]) -> None:
        with self.conn as conn:
            conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    # -- folders -----
    def add_folder(self, path: str) -> int:
        with self.conn as conn:
            conn.execute(
                "INSERT OR IGNORE INTO folders(path, added) VALUES (?, ?)",
                (to_db(path), time.time()),
            )
            row = conn.execute("SELECT id FROM folders WHERE path = ?", (to_db(path),)).fetchone()
            return int(row[0])

    def folder_id(self, path: str) -> int | None:
        row = self.conn.execute("SELECT id FROM folders WHERE path = ?", (to_db(path),)).fetchone()
        return None if row is None else int(row[0])

    def folder_paths(self) -> list[tuple[int, str]]:
        rows = self.conn.execute("SELECT id, path FROM folders ORDER BY path").fetchall()
        return [(int(i), from_db(p)) for i, p in rows]

    def folders(self) -> list[FolderRow]:
        rows = self.conn.execute(
            f"""
            SELECT f.id, f.path,
                   COUNT(v.id),
                   SUM(v.status = '{INDEXED}'), SUM(v.status = '{FAILED}'),
                   SUM(v.status = '{PENDING}'),
                   (SELECT COUNT(*) FROM segments s JOIN videos w ON s.video_id = w.id
                     WHERE w.folder_id = f.id)
            FROM folders f LEFT JOIN videos v ON v.folder_id = f.id
            GROUP BY f.id ORDER BY f.path
            """
        ).fetchall()
        return [FolderRow(int(r[0]), from_db(r[1]), *(int(x or 0) for x in r[2:])) for r in rows]

    def delete_folder(self, folder_id: int) -> None:
        with self.conn as conn:
            conn.execute("DELETE FROM folders WHERE id = ?", (folder_id,))

    # -- videos -----
    @staticmethod
    def _video(row: tuple[Any, ...]) -> VideoRow:
        vid, path, folder, fingerprint, size, mtime, status, error, duration = row
        return VideoRow(
            vid,
            from_db(path),
            folder,
            fingerprint,
            size,
            mtime,
            VideoStatus(status),
            error,
            duration,
        )

    def warnings(self) -> list[tuple[str, str]]:
        """Indexed videos with a note (e.g. truncated: indexed as far as they decode)."""
        rows = self.conn.execute(
            f"SELECT path, error FROM videos WHERE status = '{INDEXED}' AND error IS NOT NULL"
            " ORDER BY path"
        ).fetchall()
        return [(from_db(p), str(e)) for p, e in rows]

    def video(self, video_id: int) -> VideoRow | None:
        row = self.conn.execute(
            f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE id = ?", (video_id,)
        ).fetchone()
        return None if row is None else self._video(row)

    def video_by_path(self, path: str) -> VideoRow | None:
        row = self.conn.execute(
            f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE path = ?", (to_db(path),)
        ).fetchone()
        return None if row is None else self._video(row)

    def videos(
        self, *, folder_id: int | None = None, status: VideoStatus | None = None
    ) -> list[VideoRow]:
        sql = f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE 1"
        args: list[object] = []
        if folder_id is not None:
            sql += " AND folder_id = ?"
            args.append(folder_id)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        rows = self.conn.execute(sql + " ORDER BY path", args).fetchall()
        return [self._video(r) for r in rows]

    def videos_with_fingerprint(self, fingerprint: str) -> list[VideoRow]:
        rows = self.conn.execute(
            f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE fingerprint = ?", (fingerprint,)
        ).fetchall()
        return [self._video(r) for r in rows]

    def paths_by_fingerprint(self, fingerprints: Iterable[str]) -> dict[str, list[str]]:
        """Every path each of these fingerprints is known at (copies of one file), in one go,
        in the order they were found."""
        wanted = sorted({f for f in fingerprints if f})
        out: dict[str, list[str]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self.conn.execute(
                "SELECT fingerprint, path FROM videos"
                f" WHERE fingerprint IN ({','.join('?' * len(chunk))}) ORDER BY id",
                chunk,
            ).fetchall()
            for fp, path in rows:
                out.setdefault(str(fp), []).append(from_db(path))
        return out

    def copies(
        self, fingerprints: Iterable[str], under: Sequence[str] = (), sep: str = os.sep
    ) -> dict[str, list[CopyRow]]:
        """The indexed videos of each of these fingerprints (the places one file lives), in the
        order they were found; with ``under``, only those inside one of these folders."""
        wanted = sorted({f for f in fingerprints if f})
        inside, bounds = _inside(under, sep)
        out: dict[str, list[CopyRow]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            where = [f"v.status = '{INDEXED}'", f"v.fingerprint IN ({','.join('?' * len(chunk))})"]
            rows = self.conn.execute(
                f"SELECT v.fingerprint, v.id, v.path, v.duration, {self._capture_select()}"
                f" FROM videos v WHERE {' AND '.join(where + inside)} ORDER BY v.id",
                [*chunk, *bounds],
            ).fetchall()
            for fp, vid, path, *rest in rows:
                out.setdefault(str(fp), []).append(CopyRow(int(vid), from_db(path), *rest))
        return out

    def add_video(
        self, path: str, folder_id: int | None, fingerprint: str, size: int, mtime_ns: int
    ) -> int:
        with self.conn as conn:
            cur = conn.execute(
                "INSERT INTO videos(path, folder_id, fingerprint, size, mtime_ns, status)"
                f" VALUES (?, ?, ?, ?, ?, '{PENDING}')",
                (to_db(path), folder_id, fingerprint, size, mtime_ns),
            )
            conn.execute("DELETE FROM skipped WHERE path = ?", (to_db(path),))
            return int(cur.lastrowid or 0)

    def move_video(self, video_id: int, path: str, folder_id: int | None, mtime_ns: int) -> None:
        """A renamed or moved file: same content, new path; its vectors stay."""
        with self.conn as conn:
            conn.execute(
                "UPDATE videos SET path = ?, folder_id = ?, mtime_ns = ? WHERE id = ?",
                (to_db(path), folder_id, mtime_ns, video_id),
            )

    def set_folder(self, video_id: int, folder_id: int) -> None:
        with self.conn as conn:
            conn.execute("UPDATE videos SET folder_id = ? WHERE id = ?", (folder_id, video_id))

    def touch_video(self, video_id: int, size: int, mtime_ns: int) -> None:
        with self.conn as conn:
            conn.execute(
                "UPDATE videos SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, video_id)
            )

    def reset_video(self, video_id: int, fingerprint: str, size: int, mtime_ns: int) -> None:
        """Content changed: encode it again. Old segments stay searchable until replaced."""
        with self.conn as conn:
            conn.execute(
                f"UPDATE videos SET fingerprint = ?, size = ?, mtime_ns = ?, status = '{PENDING}',"
                " error = NULL, captured_at = NULL, captured_ts = NULL, captured_source = NULL,"
                " location = NULL WHERE id = ?",
                (fingerprint, size, mtime_ns, video_id),
            )

    @staticmethod
    def _drop_segments(conn: sqlite3.Connection, video_id: int, *, frames: bool) -> list[int]:
        """Delete a video's segments (and frames): returns the segment ids, for the ANN index."""
        removed = [
            int(r[0])
            for r in conn.execute("SELECT id FROM segments WHERE video_id = ?", (video_id,))
        ]
        conn.execute("DELETE FROM segments WHERE video_id = ?", (video_id,))
        if frames:
            conn.execute("DELETE FROM frames WHERE video_id = ?", (video_id,))
        return removed

    def delete_videos(self, video_ids: Iterable[int]) -> list[int]:
        """Forget videos; returns the ids of the segments that went with them."""
        ids = list(video_ids)
        removed: list[int] = []
        with self.conn as conn:
            for vid in ids:
                removed += self._drop_segments(conn, vid, frames=True)
                conn.execute("DELETE FROM videos WHERE id = ?", (vid,))
        return removed

    def mark_failed(self, video_id: int, error: str) -> list[int]:
        """Record why a video could not be indexed; any old segments of it are dropped."""
        with self.conn as conn:
            removed = self._drop_segments(conn, video_id, frames=True)
            conn.execute(
                f"UPDATE videos SET status = '{FAILED}', error = ?, indexed_at = ? WHERE id = ?",
                (readable(error), time.time(), video_id),
            )
        return removed

    def store_indexed(
        self,
        video_id: int,
        media: VideoMedia,
        times: Sequence[float],
        frame_vectors: np.ndarray,
        spans: Sequence[SegmentSpan],
        segment_vectors: np.ndarray,
        note: str | None = None,
    ) -> tuple[list[int], list[int]]:
        """Write one video's frames and segments and mark it indexed, all in one transaction.

        ``note`` keeps a warning (a truncated file indexed as far as it decodes). Returns
        (new segment ids, replaced segment ids) so the caller can update the ANN index.
        """
        with self.conn as conn:
            replaced = self._drop_segments(conn, video_id, frames=True)
            conn.executemany(
                "INSERT INTO frames(video_id, idx, t, vector) VALUES (?, ?, ?, ?)",
                [
                    (video_id, i, float(t), to_blob(v))
                    for i, (t, v) in enumerate(zip(times, frame_vectors, strict=True))
                ],
            )
            new_ids = self._insert_segments(conn, video_id, spans, segment_vectors)
            conn.execute(
                f"UPDATE videos SET status = '{INDEXED}', error = ?, duration = ?, fps = ?,"
                " width = ?, height = ?, rotation = ?, frame_count = ?, indexed_at = ?"
                " WHERE id = ?",
                (
                    None if note is None else readable(note),
                    media.duration,
                    media.fps,
                    media.width,
                    media.height,
                    media.rotation,
                    len(times),
                    time.time(),
                    video_id,
                ),
            )
        return new_ids, replaced

    @staticmethod
    def _insert_segments(
        conn: sqlite3.Connection,
        video_id: int,
        spans: Sequence[SegmentSpan],
        vectors: np.ndarray,
    ) -> list[int]:
        ids = []
        for span, vector in zip(spans, vectors, strict=True):
            cur = conn.execute(
                "INSERT INTO segments(video_id, t0, t1, first_frame, last_frame, thumb_t, vector)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    video_id,
                    span.t0,
                    span.t1,
                    span.first_frame,
                    span.last_frame,
                    span.thumb_t,
                    to_blob(vector),
                ),
            )
            ids.append(int(cur.lastrowid or 0))
        return ids

    def recut(
        self,
        videos: Iterable[tuple[int, Sequence[SegmentSpan], np.ndarray]],
        meta: dict[str, str],
    ) -> None:
        """Replace the segments of many videos and record the new rule, in *one* transaction.

        ``videos`` may be lazy (each video pooled as it is reached). A re-cut killed half way
        must not leave some videos in 6 s segments while the library says 8 s: either every
        video and the recorded rule change together, or nothing does.
        """
        with self.conn as conn:
            for video_id, spans, vectors in videos:
                self._drop_segments(conn, video_id, frames=False)
                self._insert_segments(conn, video_id, spans, vectors)
            conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(meta.items()),
            )

    def copy_vectors(self, source_id: int, target_id: int) -> list[int]:
        """A second copy of an already indexed file: reuse its frames and segments."""
        with self.conn as conn:
            self._drop_segments(conn, target_id, frames=True)  # a new row: nothing indexed
            conn.execute(
                "INSERT INTO frames(video_id, idx, t, vector)"
                " SELECT ?, idx, t, vector FROM frames WHERE video_id = ?",
                (target_id, source_id),
            )
            before = conn.execute("SELECT COALESCE(MAX(id), 0) FROM segments").fetchone()[0]
            conn.execute(
                "INSERT INTO segments(video_id, t0, t1, first_frame, last_frame, thumb_t, vector)"
                " SELECT ?, t0, t1, first_frame, last_frame, thumb_t, vector FROM segments"
                " WHERE video_id = ? ORDER BY id",
                (target_id, source_id),
            )
            conn.execute(
                f"UPDATE videos SET status = '{INDEXED}', error = NULL, duration = s.duration,"
                " fps = s.fps, width = s.width, height = s.height, rotation = s.rotation,"
                " frame_count = s.frame_count, indexed_at = ?"
                " FROM (SELECT * FROM videos WHERE id = ?) AS s WHERE videos.id = ?",
                (time.time(), source_id, target_id),
            )
            rows = conn.execute(
                "SELECT id FROM segments WHERE video_id = ? AND id > ?", (target_id, before)
            ).fetchall()
            self._copy_transcript(conn, source_id, target_id)
        return [int(r[0]) for r in rows]

    def _copy_transcript(self, conn: sqlite3.Connection, source_id: int, target_id: int) -> None:
        """A copy says what its original says: its transcript (same content, same tracks,
        same model's words) goes with its vectors, in the same transaction."""
        if not self.has_transcripts:
            return
        conn.execute("DELETE FROM transcripts WHERE video_id = ?", (target_id,))
        conn.execute(
            "INSERT INTO transcripts(video_id, language, source, origin, fingerprint, stored_at,"
            " lines) SELECT ?, language, source, origin, fingerprint, stored_at, lines"
            " FROM transcripts"
            " WHERE video_id = ?",
            (target_id, source_id),
        )
        conn.execute(
            "INSERT INTO transcript_lines(video_id, t0, t1, text, words)"
            " SELECT ?, t0, t1, text, words FROM transcript_lines WHERE video_id = ? ORDER BY id",
            (target_id, source_id),
        )

    # -- skipped (non-video) files -----
    def set_skipped(self, folder_id: int, entries: Sequence[tuple[str, str]]) -> None:
        with self.conn as conn:
            conn.execute("DELETE FROM skipped WHERE folder_id = ?", (folder_id,))
            conn.executemany(
                "INSERT OR REPLACE INTO skipped(path, folder_id, reason) VALUES (?, ?, ?)",
                [(to_db(p), folder_id, readable(r)) for p, r in entries],
            )

    def skipped(self) -> list[tuple[str, str]]:
        rows = self.conn.execute("SELECT path, reason FROM skipped ORDER BY path").fetchall()
        return [(from_db(p), str(r)) for p, r in rows]

    # -- segments and frames -----
    def segment_ids(self) -> set[int]:
        return {int(r[0]) for r in self.conn.execute("SELECT id FROM segments")}

    def segment_ids_above(self, last: int) -> list[int]:
        """Segments added after ``last`` (ids only grow: AUTOINCREMENT never reuses one)."""
        rows = self.conn.execute("SELECT id FROM segments WHERE id > ? ORDER BY id", (last,))
        return [int(r[0]) for r in rows]

    def segment_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM segments").fetchone()[0])

    def iter_segment_vectors(
        self, dim: int, ids: Iterable[int] | None = None, batch: int = 4096
    ) -> Iterator[tuple[list[int], np.ndarray]]:
        """(ids, vectors) in batches: all segments, or the given ids."""
        if ids is None:
            cur = self.conn.execute("SELECT id, vector FROM segments ORDER BY id")
            while rows := cur.fetchmany(batch):
                yield [int(r[0]) for r in rows], from_blobs([r[1] for r in rows], dim)
            return
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self.conn.execute(
                f"SELECT id, vector FROM segments WHERE id IN ({','.join('?' * len(chunk))})"
                " ORDER BY id",
                chunk,
            ).fetchall()
            if rows:
                yield [int(r[0]) for r in rows], from_blobs([r[1] for r in rows], dim)

    def segments(self, ids: Sequence[int]) -> dict[int, SegmentRow]:
        out: dict[int, SegmentRow] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            rows = self.conn.execute(
                f"SELECT {_SEGMENT_SELECT}, {self._capture_select()} FROM segments s"
                f" JOIN videos v ON v.id = s.video_id WHERE s.id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            for r in rows:
                out[int(r[0])] = SegmentRow(r[0], r[1], from_db(r[2]), *r[3:])
        return out

    def segment_ids_under(self, folder: str, sep: str) -> set[int]:
        """Segments of videos inside ``folder`` (a watched folder or any folder within one)."""
        prefix = to_db(folder.rstrip(sep) + sep)
        rows = self.conn.execute(
            "SELECT s.id FROM segments s JOIN videos v ON v.id = s.video_id"
            " WHERE v.path = ? OR substr(v.path, 1, ?) = ?",
            (to_db(folder), len(prefix), prefix),
        ).fetchall()
        return {int(r[0]) for r in rows}

    # -- when videos were shot -----
    def undated_videos(self) -> list[tuple[int, str, int]]:
        """(id, path, mtime_ns) of the videos whose capture time was never read."""
        if not self.has_capture:
            return []
        rows = self.conn.execute(
            "SELECT id, path, mtime_ns FROM videos WHERE captured_source IS NULL ORDER BY id"
        ).fetchall()
        return [(int(r[0]), from_db(r[1]), int(r[2])) for r in rows]

    def set_captures(
        self, rows: Sequence[tuple[int, str | None, float | None, str, str | None]]
    ) -> None:
        """Record (id, captured_at ISO, POSIX time, source, location) for many videos."""
        with self.conn as conn:
            conn.executemany(
                "UPDATE videos SET captured_at = ?, captured_ts = ?, captured_source = ?,"
                " location = ? WHERE id = ?",
                [(at, ts, source, place, vid) for vid, at, ts, source, place in rows],
            )

    def segment_ids_captured(self, after: float | None, before: float | None) -> set[int]:
        """Segments of videos shot in [after, before) (POSIX seconds; None: open-ended).

        Videos whose time is unknown fall outside every range. The range is answered from the
        ``captured_ts`` index, and its ids become the vector index's filter: a narrow range
        still gets its k nearest moments (core.store.vector_index scores a small set exactly).
        """
        if not self.has_capture:
            return set()
        where, args = _shot_within(after, before)
        sql = "SELECT s.id FROM videos v JOIN segments s ON s.video_id = v.id WHERE "
        sql += " AND ".join(["v.captured_ts IS NOT NULL", *where])
        return {int(r[0]) for r in self.conn.execute(sql, args)}

    def browse(
        self,
        after: float | None = None,
        before: float | None = None,
        limit: int = 2000,
        under: Sequence[str] = (),
        sep: str = os.sep,
    ) -> list[SegmentRow]:
        """One segment per indexed file, newest shot first (undated videos last, by path).

        The segment is the one in the middle of the video: what a browsing card shows. A
        range keeps only videos shot in [after, before), as ``segment_ids_captured`` does;
        ``under`` only videos inside one of these folders. Copies of one file (one
        fingerprint) are one row: the copy found first (the lowest id) of those kept.
        """
        inside, places = _inside(under, sep)
        where = [f"v.status = '{INDEXED}'", *inside]
        args: list[float | int | str] = [*places]
        order = "v.path"
        if self.has_capture:
            order = "v.captured_ts IS NULL, v.captured_ts DESC, v.path"
            within, bounds = _shot_within(after, before)
            where += within
            args += bounds
        elif after is not None or before is not None:
            return []
        # Per video, the segment whose centre is nearest the video's. (SQLite 3.40 cannot name
        # the outer ``v`` in this ORDER BY, so the length is looked up by the segment's video.)
        middle = (
            f"SELECT w.id FROM segments w WHERE w.video_id = v.id ORDER BY abs(w.t0 + w.t1 -"
            f" {_length_of('w.video_id')}), w.t0 LIMIT 1"
        )
        select = _SEGMENT_SELECT.replace("v.duration", _length_of("v.id"))
        firsts = (
            f"SELECT MIN(v.id) FROM videos v WHERE {' AND '.join(where)}"
            " GROUP BY CASE WHEN v.fingerprint = '' THEN -v.id ELSE v.fingerprint END"
        )
        rows = self.conn.execute(
            f"SELECT {select}, {self._capture_select()} FROM"
            f" (SELECT v.id AS vid, ({middle}) AS sid FROM videos v WHERE v.id IN ({firsts}))"
            " AS pick JOIN videos v ON v.id = pick.vid JOIN segments s ON s.id = pick.sid"
            f" ORDER BY {order} LIMIT ?",
            [*args, limit],
        ).fetchall()
        return [SegmentRow(r[0], r[1], from_db(r[2]), *r[3:]) for r in rows]

    def frames_in_ranges(
        self, ranges: Sequence[tuple[int, int, int]], dim: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each (video id, first, last): the times [T] and raw vectors [T, D] of that
        video's stored frames first..last, in order; all ranges in one query per 200."""
        times: list[list[float]] = [[] for _ in ranges]
        blobs: list[list[bytes]] = [[] for _ in ranges]
        for start in range(0, len(ranges), 200):
            chunk = ranges[start : start + 200]
            args = [x for i, (vid, lo, hi) in enumerate(chunk) for x in (start + i, vid, lo, hi)]
            rows = self.conn.execute(
                f"WITH want(k, vid, lo, hi) AS (VALUES {','.join(['(?, ?, ?, ?)'] * len(chunk))})"
                " SELECT want.k, f.t, f.vector FROM want JOIN frames f"
                " ON f.video_id = want.vid AND f.idx BETWEEN want.lo AND want.hi"
                " ORDER BY want.k, f.idx",
                args,
            ).fetchall()
            for k, t, blob in rows:
                times[k].append(float(t))
                blobs[k].append(blob)
        return [
            (np.array(t, dtype=np.float64), from_blobs(b, dim))
            for t, b in zip(times, blobs, strict=True)
        ]

    def frames(self, video_id: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(times [T], raw frame vectors [T, D]) of one video, in order."""
        rows = self.conn.execute(
            "SELECT t, vector FROM frames WHERE video_id = ? ORDER BY idx", (video_id,)
        ).fetchall()
        times = np.array([r[0] for r in rows], dtype=np.float64)
        return times, from_blobs([r[1] for r in rows], dim)

    # -- status -----
    def integrity_problems(self, limit: int = 20) -> list[str]:
        """What ``PRAGMA integrity_check`` finds wrong ([] when the database is sound). It
        reads every page: for ``clipseek status``, not for the window's frequent snapshots."""
        try:
            rows = self.conn.execute(f"PRAGMA integrity_check({int(limit)})").fetchall()
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        problems = [str(r[0]) for r in rows]
        return [] if problems == ["ok"] else problems

    def counts(self) -> dict[str, int | float]:
        row = self.conn.execute(
            f"SELECT COUNT(*), SUM(status = '{INDEXED}'), SUM(status = '{FAILED}'),"
            f" SUM(status = '{PENDING}'), COALESCE(SUM(CASE WHEN status = '{INDEXED}'"
            " THEN duration END), 0) FROM videos"
        ).fetchone()
        frames = self.conn.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
        return {
            "videos": int(row[0] or 0),
            "indexed": int(row[1] or 0),
            "failed": int(row[2] or 0),
            "pending": int(row[3] or 0),
            "indexed_seconds": float(row[4] or 0.0),
            "frames": int(frames),
            "segments": self.segment_count(),
        }
