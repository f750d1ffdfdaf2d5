"""Salvage a damaged library database: keep every row SQLite's file still holds, lose nothing else.

SQLite refuses a whole database once one page is damaged (``database disk image is malformed``,
``btreeInitPage() returns error code 11``, ``file is not a database`` for a damaged first page),
and Python's ``sqlite3`` has no ``sqlite3_recover``. So the file is read here page by page, as
SQLite's file format describes it (https://www.sqlite.org/fileformat2.html), without trusting
its schema page or its b-tree links: every page that still looks like a b-tree leaf (or interior
index page) gives its cells, overflow chains are followed while they stay in the file, and each
record is recognised by its shape (the library's tables differ in columns and types). Committed
pages still in the ``-wal`` file replace their older copies, pages on the free list are skipped.

A fresh database is then written from those rows: a video keeps its vectors only when every one
of its frames was recovered (and exactly once); its segments are kept when they are the segments
its frames make, else they are pooled again from the frames (no decoding). Every other indexed
video goes back to ``pending`` so the next indexing run encodes it, and only it, again. A
transcript is kept when its video is and every one of its lines came back (its row counts them);
the full-text index over lines is rebuilt from them. A transcript lost or incomplete is dropped
whole and named in the report: the library reads that video's subtitles again, and a speech
model finds it among the videos to transcribe. The
damaged file is kept aside (``library.sqlite.damaged-<time>``) and never written to.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.ingest.segments import (
    DEFAULT_HOP,
    DEFAULT_WINDOW,
    SegmentRule,
    SegmentSpan,
    plan_segments,
)
from core.store import layout
from core.store.catalog import Catalog, from_blobs, to_blob
from core.store.layout import DB_NAME, LOCK_NAME
from core.store.lock import WriteLock

log = logging.getLogger(__name__)

#: SQLite's result codes for a damaged file: SQLITE_CORRUPT and SQLITE_NOTADB.
_CORRUPT_CODES = {11, 26}
_CORRUPT_WORDS = ("malformed", "not a database", "btreeinitpage", "corrupt")

_HEADER_MAGIC = b"SQLite format 3\x00"
_WAL_MAGIC = {0x377F0682, 0x377F0683}
_TABLE_LEAF, _TABLE_INTERIOR, _INDEX_LEAF, _INDEX_INTERIOR = 13, 5, 10, 2
_STATUSES = {"pending", "indexed", "failed"}
_SOURCES = {"subtitle", "model"}  # core.speech.transcript's SUBTITLE, MODEL
_VIDEO_COLUMNS = (
    "id, path, folder_id, fingerprint, size, mtime_ns, status, error, duration, fps, width,"
    " height, rotation, frame_count, indexed_at, captured_at, captured_ts, captured_source,"
    " location"
)
_VIDEO_WIDTH = 19  # schema 2; a schema-1 row (migrated by ALTER TABLE) has the first 15


def is_corruption(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying the database file is damaged (not busy, not full)."""
    if exc.__suppress_context__ and exc.__context__ is not None:  # CatalogError(...) from None
        return is_corruption(exc.__context__)
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _CORRUPT_CODES:
        return True
    text = str(exc).lower()
    return any(word in text for word in _CORRUPT_WORDS)


def writable(root: Path) -> bool:
    """Whether a salvage can be written in the library folder ``root`` (the damaged file is
    renamed there and a new one made beside it)."""
    db = root / DB_NAME
    return os.access(root, os.W_OK) and (not db.exists() or os.access(db, os.W_OK))


# --------------------------------------------------------------------------- reading the pages
def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``at``: (value, next offset)."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def _record(payload: bytes) -> list[Any]:
    """The values of one record; raises (IndexError, ValueError, struct.error) if malformed."""
    size, at = _varint(payload, 0)
    if size > len(payload) or size < 1:
        raise ValueError("bad record header")
    types = []
    while at < size:
        kind, at = _varint(payload, at)
        types.append(kind)
    values: list[Any] = []
    body = size
    for kind in types:
        if kind == 0:
            values.append(None)
        elif 1 <= kind <= 6:
            width = (0, 1, 2, 3, 4, 6, 8)[kind]
            chunk = payload[body : body + width]
            if len(chunk) != width:
                raise ValueError("short integer")
            values.append(int.from_bytes(chunk, "big", signed=True))
            body += width
        elif kind == 7:
            values.append(struct.unpack(">d", payload[body : body + 8])[0])
            body += 8
        elif kind in (8, 9):
            values.append(kind - 8)
        elif kind >= 12:
            length = (kind - 12) // 2
            chunk = payload[body : body + length]
            if len(chunk) != length:
                raise ValueError("short blob")
            values.append(chunk.decode("utf-8") if kind % 2 else bytes(chunk))
            body += length
        else:
            raise ValueError("reserved serial type")
    if body != len(payload):
        raise ValueError("record length")
    return values


def _looks_like_btree(page: bytes) -> bool:
    """Whether a page's header and cell pointers are those of a b-tree page of its size."""
    kind = page[0]
    if kind not in (_TABLE_LEAF, _TABLE_INTERIOR, _INDEX_LEAF, _INDEX_INTERIOR):
        return False
    head = 8 if kind in (_TABLE_LEAF, _INDEX_LEAF) else 12
    count = int.from_bytes(page[3:5], "big")
    end = head + 2 * count
    if count <= 0 or end > len(page) or page[7] > 60:
        return False
    pointers = (int.from_bytes(page[head + 2 * i : head + 2 * i + 2], "big") for i in range(count))
    return all(end <= at < len(page) for at in pointers)


class _PageFile:
    """The pages of a database file (with the committed pages of its WAL laid over them)."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        header_ok = data[:16] == _HEADER_MAGIC
        size = int.from_bytes(data[16:18], "big") if header_ok else 0
        size = 65536 if size == 1 else size
        wal = self._wal(Path(f"{path}-wal"))
        if not (size >= 512 and size & (size - 1) == 0):
            size = wal[0] if wal else self._guess_size(data)
        self.size = size
        self.reserved = data[20] if header_ok and data[20] < 64 else 0
        self.usable = size - self.reserved
        self.pages: dict[int, bytes] = {
            n + 1: data[n * size : (n + 1) * size] for n in range(len(data) // size)
        }
        if wal and wal[0] == size:
            self.pages.update(wal[1])
        self.free = self._free_pages() if header_ok else set()

    @staticmethod
    def _guess_size(data: bytes) -> int:
        """The header is gone: the page size under which the most bytes form b-tree pages."""
        best, score = 4096, -1
        for size in (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536):
            pages = (data[n * size : (n + 1) * size] for n in range(1, len(data) // size))
            hits = sum(1 for page in pages if _looks_like_btree(page)) * size
            if hits > score:
                best, score = size, hits
        return best

    @staticmethod
    def _wal(path: Path) -> tuple[int, dict[int, bytes]] | None:
        """(page size, the last committed copy of each page) of a WAL file, or None."""
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if len(data) < 32 or int.from_bytes(data[:4], "big") not in _WAL_MAGIC:
            return None
        size = int.from_bytes(data[8:12], "big")
        if not (size >= 512 and size & (size - 1) == 0):
            return None
        salt = data[16:24]
        pages: dict[int, bytes] = {}
        pending: dict[int, bytes] = {}
        at = 32
        while at + 24 + size <= len(data):
            frame = data[at : at + 24]
            if frame[8:16] != salt:
                break
            pending[int.from_bytes(frame[:4], "big")] = data[at + 24 : at + 24 + size]
            if int.from_bytes(frame[4:8], "big"):  # a commit: its transaction is whole
                pages.update(pending)
                pending = {}
            at += 24 + size
        return size, pages

    def _free_pages(self) -> set[int]:
        """The pages on the free list (their old content is stale), as far as it can be read."""
        first = self.pages.get(1, b"")
        free: set[int] = set()
        trunk = int.from_bytes(first[32:36], "big") if len(first) >= 40 else 0
        while trunk and trunk in self.pages and trunk not in free:
            page = self.pages[trunk]
            free.add(trunk)
            count = min(int.from_bytes(page[4:8], "big"), (self.usable - 8) // 4)
            free.update(int.from_bytes(page[8 + 4 * i : 12 + 4 * i], "big") for i in range(count))
            trunk = int.from_bytes(page[:4], "big")
        return free

    def _payload(self, page: bytes, at: int, total: int, index: bool) -> bytes:
        """A cell's whole payload: its local part and its overflow chain."""
        u = self.usable
        most = (u - 12) * 64 // 255 - 23 if index else u - 35
        if total <= most:
            return page[at : at + total]
        least = (u - 12) * 32 // 255 - 23
        local = least + (total - least) % (u - 4)
        local = local if local <= most else least
        parts = [page[at : at + local]]
        left = total - local
        following = int.from_bytes(page[at + local : at + local + 4], "big")
        seen: set[int] = set()
        while left > 0:
            if following in seen or following not in self.pages:
                raise ValueError("overflow chain broken")
            seen.add(following)
            over = self.pages[following]
            parts.append(over[4 : 4 + min(left, u - 4)])
            left -= u - 4
            following = int.from_bytes(over[:4], "big")
        return b"".join(parts)

    def cells(self) -> Iterator[tuple[bool, int | None, list[Any]]]:
        """(from an index b-tree?, rowid, values) of every readable record in every page."""
        for number, page in self.pages.items():
            if number in self.free:
                continue
            start = 100 if number == 1 else 0
            kind = page[start] if len(page) > start else 0
            if kind not in (_TABLE_LEAF, _INDEX_LEAF, _INDEX_INTERIOR):
                continue
            head = start + (12 if kind == _INDEX_INTERIOR else 8)
            count = int.from_bytes(page[start + 3 : start + 5], "big")
            if head + 2 * count > len(page):
                continue
            for i in range(count):
                try:
                    at = int.from_bytes(page[head + 2 * i : head + 2 * i + 2], "big")
                    if at < head or at >= self.usable:
                        continue
                    if kind == _INDEX_INTERIOR:
                        at += 4  # the left child's page number
                    total, at = _varint(page, at)
                    rowid = None
                    if kind == _TABLE_LEAF:
                        rowid, at = _varint(page, at)
                    payload = self._payload(page, at, total, kind != _TABLE_LEAF)
                    yield kind != _TABLE_LEAF, rowid, _record(payload)
                except (IndexError, ValueError, UnicodeDecodeError, struct.error):
                    continue


# --------------------------------------------------------------------------- recognising rows
def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class Rows:
    """What could be read back, by table (conflicting copies of one key are remembered)."""

    meta: dict[str, str] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    folders: dict[int, tuple[str, float]] = field(default_factory=dict)
    videos: dict[int, list[Any]] = field(default_factory=dict)
    frames: dict[int, dict[int, tuple[float, bytes]]] = field(default_factory=dict)
    segments: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    skipped: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    #: video id -> (language, source, origin, fingerprint, stored_at, line count)
    transcripts: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    #: line id -> (video id, t0, t1, text, words JSON)
    lines: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    #: Videos with two different copies of one row or frame (a stale page): not trusted.
    doubtful: set[int] = field(default_factory=set)
    #: Videos with two different copies of their transcript or of one of its lines.
    doubtful_transcripts: set[int] = field(default_factory=set)


def read_rows(path: Path, dim: int) -> Rows:
    """Every library row still readable in the database file ``path`` (and its ``-wal``)."""
    pages = _PageFile(path)
    rows = Rows()
    blob = 4 * dim
    for from_index, rowid, v in pages.cells():
        n = len(v)
        if from_index:
            if (
                n == 4
                and isinstance(v[0], int)
                and isinstance(v[1], int)
                and _num(v[2])
                and isinstance(v[3], bytes)
                and len(v[3]) == blob
            ):
                frames = rows.frames.setdefault(v[0], {})
                entry = (float(v[2]), v[3])
                if frames.setdefault(v[1], entry) != entry:
                    rows.doubtful.add(v[0])
            continue
        assert rowid is not None
        if n == 2 and isinstance(v[0], str) and isinstance(v[1], str):
            rows.meta.setdefault(v[0], v[1])
        elif n == 2 and isinstance(v[0], str) and isinstance(v[1], int):
            rows.sequences[v[0]] = max(rows.sequences.get(v[0], 0), v[1])
        elif n == 3 and v[0] is None and isinstance(v[1], str) and _num(v[2]):
            rows.folders.setdefault(rowid, (v[1], float(v[2])))
        elif n == 3 and isinstance(v[0], str) and isinstance(v[2], str):
            rows.skipped.setdefault(v[0], (v[1] if isinstance(v[1], int) else None, v[2]))
        elif (
            n == 8
            and v[0] is None
            and isinstance(v[1], int)
            and all(_num(x) for x in v[2:7])
            and isinstance(v[7], bytes)
            and len(v[7]) == blob
        ):
            seg = (v[1], float(v[2]), float(v[3]), int(v[4]), int(v[5]), float(v[6]), v[7])
            if rows.segments.setdefault(rowid, seg) != seg:
                rows.doubtful.add(v[1])
        elif (
            n == 7
            and v[0] is None
            and all(isinstance(x, str) for x in v[1:5])
            and v[2] in _SOURCES
            and _num(v[5])
            and isinstance(v[6], int)
        ):
            head = (v[1], v[2], v[3], v[4], float(v[5]), v[6])
            if rows.transcripts.setdefault(rowid, head) != head:
                rows.doubtful_transcripts.add(rowid)
        elif (
            n == 6
            and v[0] is None
            and isinstance(v[1], int)
            and _num(v[2])
            and _num(v[3])
            and isinstance(v[4], str)
            and isinstance(v[5], str)
        ):
            line = (v[1], float(v[2]), float(v[3]), v[4], v[5])
            if rows.lines.setdefault(rowid, line) != line:
                rows.doubtful_transcripts.add(v[1])
        elif (
            15 <= n <= _VIDEO_WIDTH
            and v[0] is None
            and isinstance(v[1], str)
            and isinstance(v[3], str)
            and v[6] in _STATUSES
        ):
            row = [rowid, *v[1:], *[None] * (_VIDEO_WIDTH - n)]
            if rows.videos.setdefault(rowid, row) != row:
                rows.doubtful.add(rowid)
    return rows


# --------------------------------------------------------------------------- the new database
@dataclass
class SalvageReport:
    """What a salvage kept and lost, said once to the user (:meth:`describe`)."""

    kept_as: Path
    videos: int = 0
    videos_kept: int = 0
    frames: int = 0
    frames_kept: int = 0
    #: Paths of the videos to be encoded again (those whose rows survived; lost rows have none).
    again: list[str] = field(default_factory=list)
    #: Videos whose frames survived but whose segments did not: pooled again from the frames.
    repooled: int = 0
    #: Whether the library's own record (model, sampling) survived.
    meta_kept: bool = True
    #: Transcripts kept whole (every line recovered), and the videos whose transcript was
    #: lost or incomplete: their subtitles are read again, or a model transcribes them again.
    transcripts_kept: int = 0
    transcripts_lost: list[int] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.videos - self.videos_kept

    def describe(self, name: str) -> str:
        """One plain sentence: what was damaged, what was recovered, what happens next."""
        text = (
            f"{name} was damaged; recovered {self.videos_kept:,} of {self.videos:,} videos"
            f" ({self.frames_kept:,} of {self.frames:,} frames)"
        )
        if self.lost:
            plural = "s" if self.lost != 1 else ""
            text += f"; {self.lost:,} video{plural} will be indexed again"
        return text + f" (the damaged file is kept as {self.kept_as})"


def move_aside(db: Path) -> Path:
    """Rename the damaged database (with its -wal and -shm) to ``<name>.damaged-<time>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = db.with_name(f"{db.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = db.with_name(f"{db.name}.damaged-{stamp}-{n}")
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{db}{suffix}")
        if extra.exists():
            os.replace(extra, f"{aside}{suffix}")
    os.replace(db, aside)
    return aside


#: Pools a video's segment vectors from its frame vectors [T, D] (the library's temporal head).
Pool = Callable[[np.ndarray, Sequence[SegmentSpan]], np.ndarray]


def repair(root: Path, dim: int, pool: Pool, default_rate: float = 1.0) -> SalvageReport:
    """Salvage the library database in ``root`` under its write lock (the caller has closed its
    own connections), and drop the saved vector index: it is rebuilt from the stored vectors
    when the library is opened next."""
    lock = WriteLock(root / LOCK_NAME)
    lock.acquire()
    try:
        report = salvage(root / DB_NAME, dim, pool, default_rate)
        layout.drop_index_files(root)
        return report
    finally:
        lock.release()


def salvage(db: Path, dim: int, pool: Pool, default_rate: float = 1.0) -> SalvageReport:
    """Move the damaged ``db`` aside and write a new one at ``db`` from what it still holds.
    ``default_rate`` is the sampling rate to assume when the row that recorded it was lost (the
    caller's default: the store knows nothing of the user's preferences).

    The caller must have closed every connection to ``db`` (and hold the write lock).
    """
    aside = move_aside(db)
    rows = read_rows(aside, dim)
    report = SalvageReport(kept_as=aside, meta_kept="model_id" in rows.meta)
    rate = _float(rows.meta.get("sample_rate"), default_rate)
    rule = SegmentRule(
        _float(rows.meta.get("segment_window"), DEFAULT_WINDOW),
        _float(rows.meta.get("segment_hop"), DEFAULT_HOP),
    )
    tmp = db.with_name(f"{db.name}.salvage-{os.getpid()}")
    for extra in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        extra.unlink(missing_ok=True)
    catalog = Catalog(tmp)
    try:
        _write(catalog.conn, rows, report, dim, 1.0 / rate if rate > 0 else 1.0, rule, pool)
    finally:
        catalog.close()
    for suffix in ("-wal", "-shm"):  # closed cleanly: nothing left in them
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, db)
    log.info("%s", report.describe(db.name))
    return report


def _float(text: str | None, default: float) -> float:
    try:
        return float(text) if text is not None else default
    except ValueError:
        return default


def _write(
    conn: sqlite3.Connection,
    rows: Rows,
    report: SalvageReport,
    dim: int,
    step: float,
    rule: SegmentRule,
    pool: Pool,
) -> None:
    by_video: dict[int, list[tuple[int, tuple[Any, ...]]]] = {}
    for sid, seg in rows.segments.items():
        by_video.setdefault(seg[0], []).append((sid, seg))
    known = set(rows.videos) | set(rows.frames) | set(by_video)
    report.videos = len(known)
    conn.execute("PRAGMA foreign_keys=OFF")
    with conn:
        # ids are never reused, even after a salvage: the sequences first (or the highest id
        # seen), so that segments pooled again below get ids no older file ever used
        top = {"videos": max(known, default=0), "segments": max(rows.segments, default=0)}
        for name, seq in top.items():
            conn.execute(
                "INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)",
                (name, max(seq, rows.sequences.get(name, 0))),
            )
        conn.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", list(rows.meta.items())
        )
        conn.executemany(
            "INSERT INTO folders(id, path, added) VALUES (?, ?, ?)",
            [(fid, path, added) for fid, (path, added) in rows.folders.items()],
        )
        for vid in sorted(known):
            row = rows.videos.get(vid)
            frames = rows.frames.get(vid, {})
            if row is None:  # the video's own row is lost: the file is found again by a scan
                report.frames += len(frames)
                continue
            if row[2] is not None and row[2] not in rows.folders:
                row[2] = None  # its folder row is lost: the next scan gives it one again
            if row[6] != "indexed":
                _insert_video(conn, row)
                report.videos_kept += 1
                continue
            expected = row[13] if isinstance(row[13], int) else len(frames)
            report.frames += max(expected, len(frames))
            segments = sorted(by_video.get(vid, []))
            if vid in rows.doubtful or set(frames) != set(range(expected)):
                # encoded again by the next run; until then what survived stays searchable
                # (a pending video's old rows are replaced when it is stored)
                row[6], row[7] = "pending", None
                _insert_video(conn, row)
                if vid not in rows.doubtful:
                    _insert_frames(conn, vid, sorted(frames.items()))
                    _insert_segments(conn, segments)
                report.again.append(str(row[1]))
                continue
            _insert_video(conn, row)
            report.videos_kept += 1
            report.frames_kept += len(frames)
            ordered = [frames[i] for i in range(expected)]
            _insert_frames(conn, vid, list(enumerate(ordered)))
            spans = plan_segments([t for t, _ in ordered], step, rule)
            have = [(seg[3], seg[4]) for _, seg in segments]
            if sorted(have) == sorted((s.first_frame, s.last_frame) for s in spans):
                _insert_segments(conn, segments)
                continue
            # its frames are whole but its segments are not: pool them again (no decoding)
            report.repooled += 1
            vectors = pool(from_blobs([blob for _, blob in ordered], dim), spans)
            conn.executemany(
                "INSERT INTO segments(video_id, t0, t1, first_frame, last_frame, thumb_t,"
                " vector) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (vid, s.t0, s.t1, s.first_frame, s.last_frame, s.thumb_t, to_blob(v))
                    for s, v in zip(spans, vectors, strict=True)
                ],
            )
        _write_transcripts(conn, rows, report)
        live_folders = set(rows.folders)
        conn.executemany(
            "INSERT OR REPLACE INTO skipped(path, folder_id, reason) VALUES (?, ?, ?)",
            [
                (path, folder, reason)
                for path, (folder, reason) in rows.skipped.items()
                if folder in live_folders
            ],
        )
    conn.execute("PRAGMA foreign_keys=ON")


def _write_transcripts(conn: sqlite3.Connection, rows: Rows, report: SalvageReport) -> None:
    """Keep each transcript whose video was kept and whose every line came back (the lines'
    triggers fill the full-text index again); the others are lost, and said so."""
    live = {int(r[0]) for r in conn.execute("SELECT id FROM videos")}
    by_video: dict[int, list[tuple[int, tuple[Any, ...]]]] = {}
    for lid, line in rows.lines.items():
        by_video.setdefault(line[0], []).append((lid, line))
    for vid in sorted(set(rows.transcripts) | set(by_video)):
        head = rows.transcripts.get(vid)
        lines = sorted(by_video.get(vid, []))
        if vid not in live:
            continue  # its video is gone: found again by a scan, transcribed again
        if head is None or vid in rows.doubtful_transcripts or len(lines) != head[5]:
            report.transcripts_lost.append(vid)
            continue
        conn.execute(
            "INSERT INTO transcripts(video_id, language, source, origin, fingerprint, stored_at,"
            " lines) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (vid, *head),
        )
        conn.executemany(
            "INSERT INTO transcript_lines(id, video_id, t0, t1, text, words)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(lid, *line) for lid, line in lines],
        )
        report.transcripts_kept += 1


def _insert_frames(
    conn: sqlite3.Connection, vid: int, frames: list[tuple[int, tuple[float, bytes]]]
) -> None:
    conn.executemany(
        "INSERT INTO frames(video_id, idx, t, vector) VALUES (?, ?, ?, ?)",
        [(vid, i, t, blob) for i, (t, blob) in frames],
    )


def _insert_segments(conn: sqlite3.Connection, segments: list[tuple[int, tuple[Any, ...]]]) -> None:
    conn.executemany(
        "INSERT INTO segments(id, video_id, t0, t1, first_frame, last_frame, thumb_t, vector)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(sid, *seg) for sid, seg in segments],
    )


def _insert_video(conn: sqlite3.Connection, row: list[Any]) -> None:
    conn.execute(
        f"INSERT INTO videos({_VIDEO_COLUMNS}) VALUES ({','.join('?' * _VIDEO_WIDTH)})", row
    )
