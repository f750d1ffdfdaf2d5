"""A video library: the small API the CLI and the GUI use to index folders and search them.

One library per model (vectors from different models cannot be compared), by default in the
per-user data folder under ``libraries/<model>-<id>/``: ``library.sqlite`` (the source of
truth), ``segments.hnsw`` (+ ``.json`` sidecar, a rebuildable cache) and ``write.lock``.
Thumbnails live in the per-user cache folder. Nothing is ever written next to the videos.

Reading (search, status) works from any number of threads and processes. Changing the library
(sync, indexing, rebuild, folders) takes an exclusive lock on ``write.lock`` first, so two
processes cannot index the same library at once; the lock dies with its process.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from core import preferences, relevance, scanning, thumbnails
from core.bundle import legacy_identity, vector_identity
from core.catalog import (
    FAILED,
    INDEXED,
    PENDING,
    Catalog,
    FolderRow,
    SegmentRow,
    SegmentSpan,
    VideoMedia,
    VideoRow,
)
from core.encoders import Encoder, QueryError, l2_normalise
from core.errors import (  # noqa: F401 - re-exported: the library's failures
    DiskFull,
    LibraryBusy,
    LibraryError,
    ReadOnlyLibrary,
    UsageError,
    disk_full,
)
from core.images import MIN_SHORT_SIDE, read_query_image
from core.indexing import IndexJob, Progress, VideoOutcome
from core.pathnames import from_db
from core.paths import cache_dir, libraries_dir, slug
from core.relevance import Background
from core.search import SearchResult, fold_copies, inside, merge_adjacent
from core.segments import DEFAULT_HOP, DEFAULT_WINDOW, SegmentRule, plan_segments
from core.sessions import CUDA
from core.vector_index import VectorIndex

log = logging.getLogger(__name__)

DB_NAME = "library.sqlite"
INDEX_NAME = "segments.hnsw"
#: The watched folders, kept beside the database so that a lost database can be rebuilt by
#: indexing them again (the database is the truth; this is only its list of folders).
FOLDERS_NAME = "folders.json"
LOCK_NAME = "write.lock"
DEFAULT_RATE = preferences.DEFAULT_RATE
#: Sampled frames indexed per second when this library has never measured its own speed:
#: the 2-core CI-class CPU's end-to-end rate for 720p–1080p at 1 frame/s (README,
#: "Performance"), and the GPU rate measured on an H100/H200 (README, "GPU and providers").
ASSUMED_FRAMES_PER_SECOND = {"cpu": 11.0, "cuda": 35.0}
DEFAULT_CHECKPOINT_SECONDS = 60.0


@dataclass(frozen=True)
class LibrarySettings:
    sample_rate: float = DEFAULT_RATE
    segment: SegmentRule = field(default_factory=SegmentRule)

    @property
    def step(self) -> float:
        return 1.0 / self.sample_rate


@dataclass
class SyncReport:
    """What a scan of the watched folders found changed since the last one."""

    new: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0
    offline: list[str] = field(default_factory=list)
    pending: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.modified or self.moved or self.copied or self.deleted)


def model_id(encoder: Encoder) -> str:
    """What makes stored vectors comparable: the image tower, the head and every manifest
    field that shapes a vector (core.bundle.vector_identity)."""
    return vector_identity(encoder.manifest)


def library_root(encoder: Encoder, sample_rate: float | None = None) -> Path:
    """Where a model's library lives: the one rule, for the app and every command alike.

    One library per model and sampling rate (vectors of different models cannot be compared;
    a new rate indexes everything again, and switching back finds the old library intact).
    ``sample_rate`` defaults to the user's choice (:func:`core.preferences.sample_rate`).
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
    rows = _peek(encoder, sample_rate, f"SELECT COUNT(*) FROM videos WHERE status = '{INDEXED}'")
    return int(rows[0][0]) if rows else 0


def folders_at(encoder: Encoder, sample_rate: float) -> list[str]:
    """The folders the model's library at ``sample_rate`` watches (a new rate's library
    starts watching the same ones). Reads only."""
    rows = _peek(encoder, sample_rate, "SELECT path FROM folders ORDER BY id")
    return [from_db(str(r[0])) for r in rows]


def default_library_root(encoder: Encoder) -> Path:
    """The library the user's chosen sampling rate points to (see :func:`library_root`)."""
    return library_root(encoder)


def open_library(
    encoder: Encoder,
    root: str | os.PathLike[str] | None = None,
    *,
    sample_rate: float | None = None,
    segment: SegmentRule | None = None,
    checkpoint_seconds: float = 60.0,
    load_index: bool = True,
) -> Library:
    """Open (or create) a library: ``root``, else :func:`library_root` for the rate.

    ``sample_rate`` and ``segment`` shape a *new* library; an existing one keeps what it was
    made with (its own record says so), instead of refusing to open.
    """
    rate = preferences.sample_rate() if sample_rate is None else sample_rate
    where = Path(root).expanduser() if root else library_root(encoder, rate)
    fresh = not (where / DB_NAME).exists()
    return Library(
        encoder,
        where,
        sample_rate=rate if fresh else None,
        segment=segment if fresh else None,
        checkpoint_seconds=checkpoint_seconds,
        load_index=load_index,
    )


def _canonical(path: str | os.PathLike[str]) -> str:
    return str(Path(path).expanduser().resolve())


class _WriteLock:
    """An exclusive, process-wide lock on a file; released by the OS if the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    def acquire(self) -> None:
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


_F = TypeVar("_F", bound=Callable[..., Any])


def _explained(method: _F) -> _F:
    """A change to the library that hits a full disk says so in words (with the space left),
    not as SQLite's 'database or disk is full' or 'disk I/O error'."""

    @functools.wraps(method)
    def wrapper(self: Library, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (OSError, sqlite3.Error) as exc:
            explained = self.explain(exc)
            if explained is exc:
                raise
            raise explained from exc

    return wrapper  # type: ignore[return-value]


class Library:
    """Folders, videos and segment vectors of one model, with search."""

    def __init__(
        self,
        encoder: Encoder,
        root: str | os.PathLike[str] | None = None,
        *,
        sample_rate: float | None = None,
        segment: SegmentRule | None = None,
        checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
        load_index: bool = True,
    ) -> None:
        """``load_index=False`` leaves the saved vector index unread: what ``rebuild`` wants,
        so that the recovery command never depends on the file it is there to replace."""
        self.encoder = encoder
        self.root = Path(root).expanduser() if root else library_root(encoder, sample_rate)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create the library folder {self.root}: {exc}") from None
        lost = not (self.root / DB_NAME).exists() and any(
            (self.root / name).exists() for name in (INDEX_NAME, FOLDERS_NAME)
        )
        self.catalog = Catalog(self.root / DB_NAME)
        if lost and not self.catalog.read_only:
            # The vector index cached a database that is gone; its labels would clash with
            # the new database's segment ids.
            for name in (INDEX_NAME, INDEX_NAME + ".json"):
                (self.root / name).unlink(missing_ok=True)
        self.settings = self._settings(sample_rate, segment)
        self.thumbs_dir = cache_dir() / "thumbnails"
        self.checkpoint_seconds = checkpoint_seconds
        self._lock = _WriteLock(self.root / LOCK_NAME)
        self._last_save = time.monotonic()
        self._last_save_cost = 0.0
        self.index = VectorIndex(self.root / INDEX_NAME, encoder.embed_dim)
        started = time.perf_counter()
        if load_index:
            self.open_report = self.index.load_and_reconcile(
                self.catalog.segment_ids(),
                lambda ids: self.catalog.iter_segment_vectors(encoder.embed_dim, ids),
            )
        else:
            self.open_report = "not read (to be rebuilt)"
        log.info(
            "library %s: vector index %s in %.2f s",
            self.root,
            self.open_report,
            time.perf_counter() - started,
        )
        #: Something the user must hear about this library (e.g. a lost database), or None.
        self.notice: str | None = self._recover_folders() if lost else None
        if not lost and not (self.root / FOLDERS_NAME).exists():
            self._record_folders()  # libraries made before the record existed gain it

    def _settings(self, rate: float | None, segment: SegmentRule | None) -> LibrarySettings:
        """Check the model and read (or, for a new library, record) the sampling settings."""
        m = self.encoder.manifest
        cat = self.catalog
        stored_id = cat.get_meta("model_id")
        if stored_id is None and cat.read_only:
            raise ReadOnlyLibrary(f"{self.root}: cannot create a library here ({cat.read_only})")
        if stored_id is None:
            chosen = LibrarySettings(rate or DEFAULT_RATE, segment or SegmentRule())
            if chosen.sample_rate <= 0:
                raise UsageError("the sampling rate must be positive")
            cat.set_meta(
                {
                    "model_id": model_id(self.encoder),
                    "model_name": m.name,
                    "embed_dim": str(m.embed_dim),
                    "head": m.head,
                    "sample_rate": repr(chosen.sample_rate),
                    "segment_window": repr(chosen.segment.window),
                    "segment_hop": repr(chosen.segment.hop),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                }
            )
            return chosen
        if stored_id == legacy_identity(m) and stored_id != model_id(self.encoder):
            # Made before the identity covered preprocessing: the same image tower and head,
            # and (as nothing could tell an edit then) the same manifest. Recorded anew once.
            stored_id = model_id(self.encoder)
            if not cat.read_only:
                cat.set_meta({"model_id": stored_id})
        if stored_id != model_id(self.encoder):
            made_with = cat.get_meta("model_name")
            other = (
                f"another version of the model {m.name!r} (its weights or preprocessing differ)"
                if made_with == m.name
                else f"the model {made_with!r}, not {m.name!r}"
            )
            raise LibraryError(
                f"the library {self.root} was indexed with {other}; open it with that model"
                " or choose another --library"
            )
        stored = LibrarySettings(
            float(cat.get_meta("sample_rate") or DEFAULT_RATE),
            SegmentRule(
                float(cat.get_meta("segment_window") or DEFAULT_WINDOW),
                float(cat.get_meta("segment_hop") or DEFAULT_HOP),
            ),
        )
        if rate is not None and abs(rate - stored.sample_rate) > 1e-9:
            raise UsageError(
                f"this library samples {stored.sample_rate:g} frames/s; a different rate needs a"
                " new library (--library DIR)"
            )
        if segment is not None and segment != stored.segment:
            raise UsageError(
                f"this library uses {stored.segment.window:g} s segments every"
                f" {stored.segment.hop:g} s; change them with `clipseek rebuild --segment-seconds`"
            )
        return stored

    def _recover_folders(self) -> str:
        """The database is gone but the library was here: watch its folders again (from
        folders.json), so the next indexing run rebuilds it, and say so."""
        try:
            record = json.loads((self.root / FOLDERS_NAME).read_text(encoding="utf-8"))
            folders = [str(p) for p in record.get("folders", [])]
        except (OSError, ValueError, AttributeError):
            return (
                "the library database is missing: the library starts empty (no record of its"
                " watched folders was found; add them again)"
            )
        if not self.read_only:
            self.writable()
            for folder in folders:
                self.catalog.add_folder(folder)
        count = f"{len(folders)} watched folder{'s' if len(folders) != 1 else ''}"
        return f"the library database is missing; {count} will be indexed again"

    def _record_folders(self) -> None:
        """Keep folders.json in step with the database's watched folders (atomically)."""
        if self.read_only:
            return
        folders = [p for _, p in sorted(self.catalog.folder_paths())]
        target = self.root / FOLDERS_NAME
        text = json.dumps({"folders": folders}, indent=1) + "\n"
        try:
            if target.exists() and target.read_text(encoding="utf-8") == text:
                return
            tmp = target.with_name(f"{FOLDERS_NAME}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:  # a convenience for recovery: never a reason to fail
            log.warning("could not record the watched folders: %s", exc)

    # -- lifecycle -----
    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @_explained
    def close(self) -> None:
        if self._lock.held:
            try:
                self.checkpoint(force=True)
            finally:
                self._lock.release()
        self.catalog.close()

    @property
    def read_only(self) -> str | None:
        """Why this library cannot be changed (read-only drive, no write permission), or None."""
        return self.catalog.read_only

    def writable(self) -> None:
        """Take the write lock (once); raises :class:`LibraryBusy` if another process has it
        and :class:`ReadOnlyLibrary` if nothing here may be changed (searching still works)."""
        if self.catalog.full is not None:
            raise self.catalog.full
        why = self.catalog.read_only
        if why is None:
            try:
                self._lock.acquire()
                return
            except OSError as exc:  # the lock file cannot be made: a read-only folder
                why = f"cannot write {self._lock.path.name}: {exc.strerror or exc}"
        raise ReadOnlyLibrary(
            f"the library {self.root} is read-only ({why}): searching and status work;"
            " indexing, folders and rebuild need write access"
        )

    def checkpoint(self, force: bool = False) -> None:
        """Save the vector index if it changed (every ``checkpoint_seconds`` while indexing)."""
        if not self._lock.held or not self.index.dirty:
            return
        # Never spend more than a tenth of the time saving: a million-segment index takes
        # seconds to write, so big libraries save less often than checkpoint_seconds.
        interval = max(self.checkpoint_seconds, 10 * self._last_save_cost)
        if force or time.monotonic() - self._last_save >= interval:
            started = time.monotonic()
            self.index.save()
            self._last_save = time.monotonic()
            self._last_save_cost = self._last_save - started

    # -- folders -----
    @_explained
    def add_folder(self, path: str | os.PathLike[str]) -> int:
        folder = _canonical(path)
        if not os.path.exists(folder):
            raise UsageError(f"no such file or folder: {path}")
        self.writable()
        folder_id = self.catalog.add_folder(folder)
        self._record_folders()
        return folder_id

    @_explained
    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Stop watching a folder; its videos leave the library unless another folder holds them.

        Returns how many videos were forgotten.
        """
        folder = _canonical(path)
        fid = self.catalog.folder_id(folder)
        if fid is None:
            fid = self.catalog.folder_id(str(Path(path).expanduser().absolute()))
        if fid is None:
            raise UsageError(f"not a watched folder: {path}")
        self.writable()
        others = [(i, p) for i, p in self.catalog.folder_paths() if i != fid]
        forget: list[VideoRow] = []
        for video in self.catalog.videos(folder_id=fid):
            owner = self._owner(video.path, others)
            if owner is None:
                forget.append(video)
            else:
                self.catalog.set_folder(video.id, owner)
        self._forget(forget)
        self.catalog.delete_folder(fid)
        self._record_folders()
        self.checkpoint(force=True)
        return len(forget)

    def folders(self) -> list[FolderRow]:
        return self.catalog.folders()

    @staticmethod
    def _owner(path: str, roots: Sequence[tuple[int, str]]) -> int | None:
        """The most specific watched root containing ``path``."""
        best: tuple[int, int] | None = None
        for fid, root in roots:
            inside = path == root or path.startswith(root.rstrip(os.sep) + os.sep)
            if inside and (best is None or len(root) > best[1]):
                best = (fid, len(root))
        return None if best is None else best[0]

    def _forget(self, videos: Iterable[VideoRow]) -> None:
        videos = list(videos)
        removed = self.catalog.delete_videos(v.id for v in videos)
        self.index.remove(removed)
        for v in videos:
            if v.fingerprint and not self.catalog.videos_with_fingerprint(v.fingerprint):
                shutil.rmtree(
                    thumbnails.thumb_path(self.thumbs_dir, v.fingerprint, 0).parent,
                    ignore_errors=True,
                )

    # -- scanning -----
    @_explained
    def sync(self, paths: Sequence[str | os.PathLike[str]] | None = None) -> SyncReport:
        """Bring the catalog up to date with the disk: new, modified, moved, deleted files.

        ``paths`` limits the scan to those watched folders (default: all). A folder that is
        missing (an unplugged drive) is reported offline and its videos are kept.
        """
        self.writable()
        report = SyncReport()
        roots = self.catalog.folder_paths()
        wanted = None if paths is None else {_canonical(p) for p in paths}
        for fid, root in roots:
            if wanted is not None and root not in wanted:
                continue
            if not os.path.exists(root):
                report.offline.append(root)
                continue
            self._sync_root(fid, root, roots, report)
        report.pending = len(self.catalog.videos(status=PENDING))
        self.checkpoint(force=True)
        return report

    def _sync_root(
        self, fid: int, root: str, roots: Sequence[tuple[int, str]], report: SyncReport
    ) -> None:
        cat = self.catalog
        result = scanning.scan(Path(root))
        found = {str(f.path): f for f in result.videos}
        missing = {v.path: v for v in cat.videos(folder_id=fid) if v.path not in found}
        for path, f in found.items():
            owner = self._owner(path, roots) or fid
            row = cat.video_by_path(path)
            if row is not None:
                if row.folder_id != owner:
                    cat.set_folder(row.id, owner)
                if row.size == f.size and row.mtime_ns == f.mtime_ns and row.fingerprint:
                    report.unchanged += 1
                    continue
                fp = scanning.fingerprint(f.path, f.size)
                if fp == row.fingerprint:
                    cat.touch_video(row.id, f.size, f.mtime_ns)
                    report.unchanged += 1
                else:
                    cat.reset_video(row.id, fp, f.size, f.mtime_ns)
                    report.modified.append(path)
                continue
            fp = scanning.fingerprint(f.path, f.size)
            twins = cat.videos_with_fingerprint(fp)
            gone = [v for v in twins if not os.path.exists(v.path)]
            if gone:
                cat.move_video(gone[0].id, path, owner, f.mtime_ns)
                missing.pop(gone[0].path, None)
                report.moved.append((gone[0].path, path))
                continue
            new_id = cat.add_video(path, owner, fp, f.size, f.mtime_ns)
            source = next((v for v in twins if v.status == INDEXED), None)
            if source is not None:
                ids = cat.copy_vectors(source.id, new_id)
                for batch_ids, vectors in cat.iter_segment_vectors(self.encoder.embed_dim, ids):
                    self.index.add(batch_ids, vectors)
                report.copied.append(path)
            else:
                report.new.append(path)
        for bad, reason in result.errors:
            key = str(bad)
            row = cat.video_by_path(key)
            if row is None and bad.suffix.lower() in scanning.VIDEO_EXTENSIONS:
                row_id = cat.add_video(key, fid, "", 0, 0)
                self.record_failure(row_id, reason)
            elif row is not None:
                self.record_failure(row.id, reason)
                missing.pop(key, None)
            report.unreadable.append((key, reason))
        gone_for_good = [v for v in missing.values() if not os.path.exists(v.path)]
        report.deleted += [v.path for v in gone_for_good]
        self._forget(gone_for_good)
        cat.set_skipped(fid, [(str(p), r) for p, r in result.skipped])
        report.skipped += len(result.skipped)

    # -- indexing -----
    def pending(self) -> list[VideoRow]:
        return self.catalog.videos(status=PENDING)

    def index_job(
        self,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        on_video: Callable[[VideoOutcome], None] | None = None,
        workers: int | None = None,
        batch_size: int = 16,
    ) -> IndexJob:
        """A job over every pending video; run it with ``job.run()`` (blocking) in any thread.

        ``workers`` (videos decoded at once) defaults to a choice by provider and core count.
        """
        self.writable()
        return IndexJob(
            self,
            self.pending(),
            on_progress=on_progress,
            on_video=on_video,
            workers=workers,
            batch_size=batch_size,
        )

    def pool_segments(self, frames: np.ndarray, spans: Sequence[SegmentSpan]) -> np.ndarray:
        """Segment vectors [S, D] from a video's raw frame vectors, through the bundle's head."""
        out = []
        for start in range(0, len(spans), 64):
            chunk = spans[start : start + 64]
            longest = max(s.last_frame - s.first_frame + 1 for s in chunk)
            batch = np.zeros((len(chunk), longest, frames.shape[1]), np.float32)
            mask = np.zeros((len(chunk), longest), np.float32)
            for row, s in enumerate(chunk):
                n = s.last_frame - s.first_frame + 1
                batch[row, :n] = frames[s.first_frame : s.last_frame + 1]
                mask[row, :n] = 1.0
            out.append(self.encoder.pool_frames(batch, mask))
        return np.concatenate(out) if out else np.zeros((0, frames.shape[1]), np.float32)

    def store_video(
        self,
        video_id: int,
        media: VideoMedia,
        times: Sequence[float],
        frames: np.ndarray,
        spans: Sequence[SegmentSpan],
        note: str | None = None,
    ) -> int:
        """Commit one encoded video (frames + segments) and add its segments to the index."""
        vectors = self.pool_segments(frames, spans)
        new_ids, replaced = self.catalog.store_indexed(
            video_id, media, times, frames, spans, vectors, note
        )
        self.index.remove(replaced)
        self.index.add(new_ids, vectors)
        self.checkpoint()
        return len(new_ids)

    def record_throughput(self, frames: int, seconds: float) -> None:
        """Remember how fast this machine indexes (sampled frames per second, end to end), so
        that a change that re-indexes everything can say how long it will take."""
        if frames >= 16 and seconds > 0:
            self.catalog.set_meta({"indexing_frames_per_second": repr(frames / seconds)})

    def throughput(self) -> tuple[float, bool]:
        """(sampled frames per second, measured here?): the last job's speed, else a typical
        one for the provider."""
        stored = self.catalog.get_meta("indexing_frames_per_second")
        if stored:
            try:
                return float(stored), True
            except ValueError:
                pass
        kind = "cuda" if self.encoder.provider == CUDA else "cpu"
        return ASSUMED_FRAMES_PER_SECOND[kind], False

    def reindex_estimate(self, sample_rate: float) -> tuple[int, float, bool]:
        """What indexing every video again at ``sample_rate`` costs: (frames, seconds, measured)."""
        footage = float(self.catalog.counts().get("indexed_seconds", 0.0))
        frames = round(footage * sample_rate)
        fps, measured = self.throughput()
        return frames, frames / fps if fps > 0 else 0.0, measured

    def explain(self, exc: BaseException) -> BaseException:
        """The error to show for a failure while changing the library: a full disk is said in
        words with the space left (SQLite's "database or disk is full", or its "disk I/O
        error" on an all but full disk, which reads as if the library were broken)."""
        return disk_full(exc, self.root) or exc

    def record_failure(self, video_id: int, error: str) -> None:
        self.index.remove(self.catalog.mark_failed(video_id, error))

    @_explained
    def rebuild(self, segment: SegmentRule | None = None) -> int:
        """Re-make the vector index from the database; with ``segment``, re-pool first.

        Re-pooling reads the stored frame vectors, so no video is decoded again. Returns the
        number of segments in the new index.
        """
        self.writable()
        dim = self.encoder.embed_dim
        if segment is not None and segment != self.settings.segment:
            recut = LibrarySettings(self.settings.sample_rate, segment)

            def pooled() -> Iterator[tuple[int, list[SegmentSpan], np.ndarray]]:
                for video in self.catalog.videos(status=INDEXED):
                    times, frames = self.catalog.frames(video.id, dim)
                    if len(times):
                        spans = plan_segments(list(times), recut.step, segment)
                        yield video.id, spans, self.pool_segments(frames, spans)

            # All videos and the recorded rule in one transaction (a kill half way changes
            # nothing); the vector index below is a cache, rebuilt or reconciled at any open.
            self.catalog.recut(
                pooled(), {"segment_window": repr(segment.window), "segment_hop": repr(segment.hop)}
            )
            self.settings = recut
        count = self.catalog.segment_count()
        self.index.rebuild(count, self.catalog.iter_segment_vectors(dim))
        self.checkpoint(force=True)
        return len(self.index)

    # -- search -----
    def search(
        self,
        text: str,
        k: int = 20,
        *,
        folders: Sequence[str | os.PathLike[str]] | None = None,
        merge: bool = True,
    ) -> list[SearchResult]:
        """The ``k`` moments that best match a sentence. Raises QueryError for a bad query."""
        vector = self.encoder.encode_text(text)
        allowed = self._allowed(folders)
        hits = self.index.query(vector, k * 4 if merge else k, allowed)
        return self._results(hits, k, merge, background=self._background(vector))

    def search_image(
        self,
        image: str | os.PathLike[str] | np.ndarray,
        k: int = 20,
        *,
        folders: Sequence[str | os.PathLike[str]] | None = None,
        merge: bool = True,
    ) -> list[SearchResult]:
        """Moments that look like a picture (a photo, or a frame of a video).

        Candidates come from the segment index; each is then scored by its best-matching
        stored frame, so a frame taken from a video finds the very segment it came from.
        """
        rgb = self._read_image(image)
        query = l2_normalise(self.encoder.encode_images([rgb]))[0]
        allowed = self._allowed(folders)
        hits = self.index.query(query, max(4 * k, 64), allowed)
        rows = self.catalog.segments([h[0] for h in hits])
        rescored = [
            (seg_id, self._frame_score(rows[seg_id], score, query))
            for seg_id, score in hits
            if seg_id in rows
        ]
        rescored.sort(key=lambda h: -h[1])
        return self._results(rescored, k, merge, rows, self._background(query, by_frame=True))

    def _frame_score(self, row: SegmentRow, score: float, query: np.ndarray) -> float:
        """A segment's score for a picture: its own, or its best-matching frame's if higher."""
        dim = self.encoder.embed_dim
        frames = self.catalog.frame_range(row.video_id, row.first_frame, row.last_frame, dim)
        if len(frames):
            return max(score, float(np.max(l2_normalise(frames) @ query)))
        return score

    def _background(self, query: np.ndarray, *, by_frame: bool = False) -> Background | None:
        """The query's scores over a sample of the library's moments (see core.relevance),
        scored as results are: by segment vector, or for a picture by best frame too."""
        ids, vectors = self.index.sample(relevance.SAMPLE if not by_frame else 256)
        if not ids:
            return None
        scores = vectors @ query
        if by_frame:
            rows = self.catalog.segments(ids)
            scores = np.array(
                [
                    self._frame_score(rows[i], float(s), query) if i in rows else float(s)
                    for i, s in zip(ids, scores, strict=True)
                ]
            )
        return Background.of(scores)

    def _read_image(self, image: str | os.PathLike[str] | np.ndarray) -> np.ndarray:
        """A query picture as RGB: an array as given, a file through core.images (checked
        header first, decoded reduced, never handed to OpenCV by name)."""
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise QueryError("a query image must be an RGB uint8 array [H, W, 3]")
            return image
        short = max(MIN_SHORT_SIDE, 2 * self.encoder.manifest.image_size)
        return read_query_image(image, min_short_side=short)

    def _allowed(self, folders: Sequence[str | os.PathLike[str]] | None) -> set[int] | None:
        """Segment ids under the given folders (watched folders or folders inside them)."""
        if not folders:
            return None
        roots = self.catalog.folder_paths()
        allowed: set[int] = set()
        for folder in folders:
            canonical = _canonical(folder)
            if self._owner(canonical, roots) is None:
                raise QueryError(f"not inside a watched folder: {folder}")
            allowed |= self.catalog.segment_ids_under(canonical, os.sep)
        return allowed

    def _results(
        self,
        hits: Sequence[tuple[int, float]],
        k: int,
        merge: bool,
        rows: dict[int, SegmentRow] | None = None,
        background: Background | None = None,
    ) -> list[SearchResult]:
        """Hits → moments: each inside its video, copies folded, overlaps merged, rated."""
        rows = rows if rows is not None else self.catalog.segments([h[0] for h in hits])
        reachable: dict[str, bool] = {}
        results = []
        for seg_id, score in hits:
            row = rows.get(seg_id)
            if row is None:  # deleted between the ANN query and now
                continue
            if row.path not in reachable:
                reachable[row.path] = os.path.exists(row.path)
            t0, t1 = inside(row.t0, row.t1, row.duration)
            results.append(
                SearchResult(
                    row.path,
                    t0,
                    t1,
                    score,
                    None,
                    row.video_id,
                    (seg_id,),
                    online=reachable[row.path],
                    duration=row.duration,
                )
            )
        results = fold_copies(results, lambda r: rows[r.segment_ids[0]].fingerprint)
        results = merge_adjacent(results, k) if merge else results[:k]
        fingerprints = [rows[r.segment_ids[0]].fingerprint for r in results]
        places = self.catalog.paths_by_fingerprint(fingerprints)
        return [self._finish(r, rows, background, places) for r in results]

    def _finish(
        self,
        r: SearchResult,
        rows: dict[int, SegmentRow],
        background: Background | None,
        places: dict[str, list[str]],
    ) -> SearchResult:
        """The moment's thumbnail, every other place its file lives, and its relevance."""
        row = rows[r.segment_ids[0]]  # the best-scoring segment of the moment
        thumb = thumbnails.cached(self.thumbs_dir, row.fingerprint, row.thumb_t)
        if thumb is None:  # the cache lost it: made again from the video (if reachable)
            made = thumbnails.ensure(self.thumbs_dir, row.fingerprint, Path(row.path), row.thumb_t)
            thumb = None if made is None else str(made)
        copies = r.copies
        if row.fingerprint in places:
            copies = tuple(p for p in places[row.fingerprint] if p != r.path)
        return SearchResult(
            r.path, r.t0, r.t1, r.score, thumb, r.video_id, r.segment_ids,
            None if background is None else background.relevance(r.score),
            copies, r.online, r.duration,
        )  # fmt: skip

    # -- status -----
    def status(self) -> dict[str, Any]:
        cat = self.catalog
        counts = cat.counts()
        fps, measured = self.throughput()
        failed = [(v.path, v.error or "unknown error") for v in cat.videos(status=FAILED)]
        return {
            "library": str(self.root),
            "read_only": self.read_only,
            "model": {
                "name": self.encoder.manifest.name,
                "id": model_id(self.encoder),
                "head": self.encoder.manifest.head,
                "path": str(self.encoder.root),
                "provider": self.encoder.provider,
                "provider_detail": self.encoder.describe_provider(),
            },
            "sampling": {
                "frames_per_second": self.settings.sample_rate,
                "segment_seconds": self.settings.segment.window,
                "segment_hop_seconds": self.settings.segment.hop,
            },
            **counts,
            "index": {"segments": len(self.index), "on_open": self.open_report},
            "indexing": {"frames_per_second": round(fps, 2), "measured": measured},
            "folders": [
                {
                    "path": f.path,
                    "online": os.path.exists(f.path),
                    "videos": f.videos,
                    "indexed": f.indexed,
                    "failed": f.failed,
                    "pending": f.pending,
                    "segments": f.segments,
                }
                for f in cat.folders()
            ],
            "errors": [{"path": p, "error": e} for p, e in failed],
            "warnings": [{"path": p, "warning": w} for p, w in cat.warnings()],
            "skipped": [{"path": p, "reason": r} for p, r in cat.skipped()],
        }
