"""A video library: the small API the CLI and the GUI use to index folders and search them.

A thin object over the three stages of the data flow, each in its own package::

    folders ─ ingest.sync ─ catalog (store) ─ ingest.job: sample → encode → pool ─ store
    query ─ query.search ─ vector index + catalog (store) ─ moments

One library per model (``core.location`` decides where), in the per-user data folder; its files
are named in ``core.store.layout``. Thumbnails live in the per-user cache folder. Nothing is
ever written next to the videos.

Reading (search, status) works from any number of threads and processes. Changing the library
(sync, indexing, rebuild, folders) takes an exclusive lock on ``write.lock`` for as long as it
writes (:meth:`Library.writing`), so two processes never write the same library at once, and a
window left open on a library does not keep ``clipseek index`` out; the lock dies with its
process. A library open in one process sees what another wrote (:meth:`Library.refresh`): every
search and status checks SQLite's ``data_version`` (one PRAGMA) and, when another process
committed, adds its new segments to the vector index from the database.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from core import preferences
from core.errors import LibraryBusy, LibraryError, ReadOnlyLibrary, UsageError, disk_full
from core.ingest import thumbnails
from core.ingest.job import IndexJob, Progress, VideoOutcome
from core.ingest.pooling import pool_segments
from core.ingest.segments import (
    DEFAULT_HOP,
    DEFAULT_WINDOW,
    LibrarySettings,
    SegmentRule,
    SegmentSpan,
    plan_segments,
)
from core.ingest.sync import Syncer, SyncReport
from core.location import DEFAULT_RATE, library_root, model_id
from core.model.bundle import legacy_identity
from core.model.encoder import Encoder
from core.model.registry import models_dir
from core.model.sessions import CUDA
from core.paths import cache_dir
from core.query.period import ANY_TIME, Period
from core.query.ranking import SearchResult
from core.query.search import Searcher
from core.query.towers import AUTO, QueryTowers, Route
from core.speech import subtitles
from core.speech.job import SpeechJob, SpeechOutcome, SpeechProgress
from core.speech.transcript import MODEL, SUBTITLE, Transcriber, Transcript
from core.status import FileNote, FolderStatus, LibraryStatus, ModelStatus, SamplingStatus
from core.store import layout, salvage, transcripts
from core.store.catalog import Catalog, CatalogError, FolderRow, VideoMedia, VideoRow, VideoStatus
from core.store.folders import canonical, owner
from core.store.layout import DB_NAME, INDEX_NAME, LOCK_NAME
from core.store.lock import WriteLock
from core.store.vector_index import VectorIndex

log = logging.getLogger(__name__)

#: Sampled frames indexed per second when this library has never measured its own speed:
#: the 2-core CI-class CPU's end-to-end rate for 720p–1080p at 1 frame/s (README,
#: "Performance"), and the GPU rate measured on an H100/H200 (README, "GPU and providers").
ASSUMED_FRAMES_PER_SECOND = {"cpu": 11.0, "cuda": 35.0}
DEFAULT_CHECKPOINT_SECONDS = 60.0
#: How long a change waits for another process's write (a scan, a save) before it says the
#: library is busy: a whole indexing job in the other process is not waited for.
LOCK_WAIT_SECONDS = 10.0


def refuse_address(root: str | os.PathLike[str] | None) -> None:
    """A library is a folder: an address (``postgresql://host/db``, ``file://…``) given where a
    folder is expected is a usage error, never a folder named ``postgresql:`` quietly created
    in the working directory."""
    text = os.fspath(root) if root is not None else ""
    scheme, sep, _rest = text.partition("://")
    if sep and scheme and scheme.replace("+", "").isalnum() and "/" not in scheme:
        raise UsageError(
            f"{text.split('@')[-1] if '@' in text else text!r} is an address ({scheme}://), not"
            " a folder: this ClipSeek keeps libraries in folders only; give a folder with"
            " --library, or leave it out"
        )


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
    refuse_address(root)
    where = Path(root).expanduser() if root else library_root(encoder, rate)
    fresh = not layout.has_database(where)
    options: dict[str, Any] = {
        "sample_rate": rate if fresh else None,
        "segment": segment if fresh else None,
        "checkpoint_seconds": checkpoint_seconds,
        "load_index": load_index,
    }
    try:
        return Library(encoder, where, **options)
    except (sqlite3.DatabaseError, CatalogError) as exc:
        if not salvage.is_corruption(exc) or not salvage.writable(where):
            raise  # a damaged library on a read-only drive: said as it is
        log.info("library %s: the database is damaged (%s): salvaging it", where, exc)
    return salvage_library(encoder, where, **options)


def salvage_library(encoder: Encoder, root: Path, **options: Any) -> Library:
    """Salvage the damaged database of the library in ``root`` (:mod:`core.store.salvage`: what
    it still holds is kept, the videos it lost are indexed again by the next run) and open the
    library on the result; its ``notice`` says once what was recovered. The caller has closed
    any :class:`Library` it had open there."""
    report = salvage.repair(
        root, encoder.embed_dim, functools.partial(pool_segments, encoder), DEFAULT_RATE
    )
    library = Library(encoder, root, **options)
    library.notice = report.describe(DB_NAME)
    if report.transcripts_lost and not library.read_only:
        with contextlib.suppress(LibraryError, OSError, sqlite3.Error), library.writing():
            for video_id in report.transcripts_lost:  # subtitles are cheap to read again
                library.read_subtitles(video_id)
    return library


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
        lost = layout.lost_database(self.root)
        self.catalog = Catalog(self.root / DB_NAME)
        if lost and not self.catalog.read_only:
            layout.drop_index_files(self.root)
        self.settings = self._settings(sample_rate, segment)
        self.thumbs_dir = cache_dir() / "thumbnails"
        self.checkpoint_seconds = checkpoint_seconds
        self._lock = WriteLock(self.root / LOCK_NAME)
        #: Seconds a change waits for another process's write before LibraryBusy.
        self.lock_wait = LOCK_WAIT_SECONDS
        self._depth = 0  # nesting of writing() in this process
        self._save_on_close = False  # this object wrote (or was asked to): close saves the index
        self._refresh_lock = threading.Lock()
        #: Counts the changes made by other processes that this object has taken in.
        self.generation = 0
        self._seen = self.catalog.data_version()
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
        if not lost and not layout.has_folders_record(self.root):
            self._record_folders()  # libraries made before the record existed gain it
        self._syncer = Syncer(self.catalog, self.index, self.thumbs_dir, encoder.embed_dim)
        if self.catalog.migrated:  # an older library: read its videos' dates (no decoding)
            started = time.perf_counter()
            dated = self._syncer.date_videos()
            log.info(
                "library %s: dates of %d videos read in %.2f s (migration)",
                self.root,
                dated,
                time.perf_counter() - started,
            )
        #: Which text tower reads a query (CLIP's, or a multilingual one for this model).
        self.towers = QueryTowers(encoder, models_dir())
        self._searcher = Searcher(
            self.catalog, self.index, encoder, self.thumbs_dir, cache_dir() / "null_queries",
            self.towers,
        )  # fmt: skip
        self._seen = self.catalog.data_version()  # what opening wrote is not another's change

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
        stored = self._stored_settings()
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

    def _stored_settings(self) -> LibrarySettings:
        cat = self.catalog
        return LibrarySettings(
            float(cat.get_meta("sample_rate") or DEFAULT_RATE),
            SegmentRule(
                float(cat.get_meta("segment_window") or DEFAULT_WINDOW),
                float(cat.get_meta("segment_hop") or DEFAULT_HOP),
            ),
        )

    def _recover_folders(self) -> str:
        """The database is gone but the library was here: watch its folders again (from
        folders.json), so the next indexing run rebuilds it, and say so."""
        folders = layout.read_folders_record(self.root)
        if folders is None:
            return (
                "the library database is missing: the library starts empty (no record of its"
                " watched folders was found; add them again)"
            )
        if not self.read_only:
            with self.writing():
                for folder in folders:
                    self.catalog.add_folder(folder)
        count = f"{len(folders)} watched folder{'s' if len(folders) != 1 else ''}"
        return f"the library database is missing; {count} will be indexed again"

    def _record_folders(self) -> None:
        """Keep folders.json in step with the database's watched folders (atomically)."""
        if not self.read_only:
            folders = [p for _, p in sorted(self.catalog.folder_paths())]
            layout.write_folders_record(self.root, folders)

    # -- lifecycle -----
    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @_explained
    def close(self) -> None:
        if self._lock.held:  # closed while writing (another thread's job was stopped)
            try:
                self.checkpoint(force=True)
            finally:
                self._lock.release()
        elif self._save_on_close and self.index.dirty and self.catalog.full is None:
            # e.g. the index was repaired on open: saved if no other process is writing now
            # (if one is, it saves its own index)
            with contextlib.suppress(LibraryBusy, ReadOnlyLibrary), self.writing(wait=0):
                pass
        self.catalog.close()

    @property
    def read_only(self) -> str | None:
        """Why this library cannot be changed (read-only drive, no write permission), or None."""
        return self.catalog.read_only

    def _take_lock(self, wait: float | None) -> None:
        """Take the write lock, waiting up to ``wait`` (default :attr:`lock_wait`) seconds
        for another process's write; :class:`LibraryBusy` if it goes on,
        :class:`ReadOnlyLibrary` if nothing here may be changed (searching still works)."""
        if self.catalog.full is not None:
            raise self.catalog.full
        why = self.catalog.read_only
        if why is None:
            try:
                self._lock.acquire(self.lock_wait if wait is None else wait)
                return
            except OSError as exc:  # the lock file cannot be made: a read-only folder
                why = f"cannot write {self._lock.path.name}: {exc.strerror or exc}"
        raise ReadOnlyLibrary(
            f"the library {self.root} is read-only ({why}): searching and status work;"
            " indexing, folders and rebuild need write access"
        )

    def writable(self) -> None:
        """Check that this library can be changed now: raises :class:`ReadOnlyLibrary` if
        nothing here may be changed (searching still works) and :class:`LibraryBusy` if
        another process is writing it (after :attr:`lock_wait` seconds). The lock is not kept:
        each change takes it for as long as it writes (:meth:`writing`)."""
        self._save_on_close = True
        if self._depth == 0:
            self._take_lock(None)
            self._lock.release()

    @contextlib.contextmanager
    def writing(self, wait: float | None = None) -> Iterator[None]:
        """Hold the write lock for a change (nested calls share the outer one's).

        Taking it first takes in what another process changed meanwhile (:meth:`refresh`);
        leaving the outermost saves the vector index if it changed and lets the lock go, so
        that another process may write. Raises as :meth:`writable` does.
        """
        if self._depth == 0:
            self._take_lock(wait)
            try:
                self._save_on_close = True
                with self._refresh_lock:
                    self._catch_up()
            except BaseException:
                self._lock.release()
                raise
        self._depth += 1
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            self._depth -= 1
            if self._depth == 0:
                try:
                    if failed:  # a second error (the same full disk) must not hide the first
                        with contextlib.suppress(Exception):
                            self.checkpoint(force=True)
                    else:
                        try:
                            self.checkpoint(force=True)
                        except (OSError, sqlite3.Error) as exc:
                            explained = self.explain(exc)
                            if explained is exc:
                                raise
                            raise explained from exc
                finally:
                    # our own commits are not another process's change
                    with self._refresh_lock, contextlib.suppress(sqlite3.Error):
                        self._seen = self.catalog.data_version()
                    self._lock.release()

    # -- other processes' changes -----
    def changed_elsewhere(self) -> bool:
        """Whether another process changed the library since this one last looked (one
        PRAGMA; never true for this process's own writes)."""
        if self._depth:
            return False  # we hold the lock: nobody else can be writing
        return self.catalog.data_version() != self._seen

    def refresh(self) -> bool:
        """Take in what another process wrote (new, changed and deleted moments, the
        segment rule): True if there was something. Cheap when nothing changed; searches and
        status call it themselves."""
        with self._refresh_lock:
            if self._depth:
                return False
            return self._catch_up()

    def _catch_up(self) -> bool:
        """(Holding ``_refresh_lock``.) Compare ``data_version`` and catch up when it moved."""
        version = self.catalog.data_version()
        if version == self._seen:
            return False
        self._seen = version  # read first: a commit made while catching up is seen next time
        started = time.perf_counter()
        self.settings = self._stored_settings()
        dim = self.encoder.embed_dim
        added, dropped = self.index.catch_up(
            self.catalog.segment_ids,
            self.catalog.segment_count,
            self.catalog.segment_ids_above,
            lambda ids: self.catalog.iter_segment_vectors(dim, ids),
        )
        self.generation += 1
        log.info(
            "library %s changed elsewhere: %d moments added, %d dropped in %.3f s",
            self.root,
            added,
            dropped,
            time.perf_counter() - started,
        )
        return True

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
        folder = canonical(path)
        if not os.path.exists(folder):
            raise UsageError(f"no such file or folder: {path}")
        with self.writing():
            folder_id = self.catalog.add_folder(folder)
            self._record_folders()
        return folder_id

    @_explained
    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Stop watching a folder; its videos leave the library unless another folder holds them.

        Returns how many videos were forgotten.
        """
        folder = canonical(path)
        fid = self.catalog.folder_id(folder)
        if fid is None:
            fid = self.catalog.folder_id(str(Path(path).expanduser().absolute()))
        if fid is None:
            raise UsageError(f"not a watched folder: {path}")
        with self.writing():
            others = [(i, p) for i, p in self.catalog.folder_paths() if i != fid]
            forget: list[VideoRow] = []
            for video in self.catalog.videos(folder_id=fid):
                home = owner(video.path, others)
                if home is None:
                    forget.append(video)
                else:
                    self.catalog.set_folder(video.id, home)
            self._syncer.forget(forget)
            self.catalog.delete_folder(fid)
            self._record_folders()
            self.checkpoint(force=True)
        return len(forget)

    def folders(self) -> list[FolderRow]:
        return self.catalog.folders()

    # -- scanning -----
    @_explained
    def sync(self, paths: Sequence[str | os.PathLike[str]] | None = None) -> SyncReport:
        """Bring the catalog up to date with the disk: new, modified, moved, deleted files.

        ``paths`` limits the scan to those watched folders (default: all). A folder that is
        missing (an unplugged drive) is reported offline and its videos are kept.
        """
        with self.writing():
            report = self._syncer.sync(None if paths is None else {canonical(p) for p in paths})
            self.checkpoint(force=True)
            self._refresh_sidecars()
        return report

    def _refresh_sidecars(self) -> int:
        """Read again the subtitles of indexed videos whose sidecar files were added, changed or
        removed since their transcript was stored (a person drops ``clip.srt`` beside a video
        indexed last year: the video itself did not change, so sync alone would never look).
        One directory listing per folder holding videos, a stat per subtitle file; no video is
        opened unless its sidecars changed. Returns how many videos were read again."""
        if not self.catalog.has_transcripts:
            return 0
        stored = transcripts.subtitle_origins(self.catalog)
        by_folder: dict[Path, list[VideoRow]] = {}
        for row in self.catalog.videos(status=VideoStatus.INDEXED):
            by_folder.setdefault(Path(row.path).parent, []).append(row)
        again = 0
        for folder, rows in by_folder.items():
            try:
                files = {
                    entry.name: entry.stat().st_mtime
                    for entry in os.scandir(folder)
                    if entry.name.lower().endswith(subtitles.SIDECAR_EXTENSIONS)
                }
            except OSError:
                continue  # an unplugged drive: its videos keep what they have
            for row in rows:
                if not files and row.id not in stored:
                    continue
                stem = Path(row.path).stem
                mine = {n: t for n, t in files.items() if n == stem or n.startswith(stem + ".")}
                origin, at = stored.get(row.id, ("", 0.0))
                # deleted, not merely named after the video's old name: a video renamed
                # without its .srt keeps what was said
                gone = origin.startswith("sidecar:") and origin[len("sidecar:") :] not in files
                if gone or any(t > at for t in mine.values()):
                    self.read_subtitles(row.id)
                    again += 1
        if again:
            log.info("library %s: subtitles of %d videos read again", self.root, again)
        return again

    # -- indexing -----
    def pending(self) -> list[VideoRow]:
        return self.catalog.videos(status=VideoStatus.PENDING)

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
        The job holds the write lock while it runs (``run()`` waits :attr:`lock_wait` seconds
        for another process's write, then raises :class:`LibraryBusy`).
        """
        self.writable()
        self.refresh()  # another process may have indexed some of them, or re-cut the moments
        return IndexJob(
            self,
            self.encoder,
            self.settings,
            self.thumbs_dir,
            self.pending(),
            on_progress=on_progress,
            on_video=on_video,
            workers=workers,
            batch_size=batch_size,
            session=self.writing,
        )

    def speech_job(
        self,
        transcriber: Transcriber,
        *,
        on_progress: Callable[[SpeechProgress], None] | None = None,
        on_video: Callable[[SpeechOutcome], None] | None = None,
    ) -> SpeechJob:
        """The speech pass over every indexed video ``transcriber`` has not transcribed yet
        (never, by another model, or changed since; not those with subtitles): run it with
        ``job.run()`` after the visual pass. Each transcript is stored in its own transaction."""
        self.writable()
        self.refresh()
        videos = self.videos_needing_transcripts(transcriber.identity)
        return SpeechJob(self, videos, transcriber, on_progress=on_progress, on_video=on_video)

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
        vectors = pool_segments(self.encoder, frames, spans)
        new_ids, replaced = self.catalog.store_indexed(
            video_id, media, times, frames, spans, vectors, note
        )
        self.index.remove(replaced)
        self.index.add(new_ids, vectors)
        self.checkpoint()
        self.read_subtitles(video_id)
        return len(new_ids)

    # -- speech -----
    def read_subtitles(self, video_id: int) -> Transcript | None:
        """Store the subtitles of a video (sidecar files, embedded text tracks:
        :func:`core.speech.subtitles.read_subtitles`) as its transcript, in a transaction of its
        own after its vectors: a kill between the two keeps the vectors, and the next indexing
        of the video reads the subtitles again. No model is needed and no frame decoded; a
        video without subtitles costs a directory listing and a container header. Subtitles
        that cannot be read are logged and never fail the video. When a video's subtitles are
        gone (a sidecar deleted), its old subtitle transcript goes too. Returns what was
        stored."""
        row = self.catalog.video(video_id)
        if row is None or not self.catalog.has_transcripts:
            return None
        try:
            found = subtitles.read_subtitles(Path(row.path))
        except Exception as exc:  # never let subtitles fail the video they belong to
            log.warning("%s: subtitles not read (%s)", row.path, exc)
            return None
        try:
            if found is not None:
                transcripts.store(self.catalog, video_id, found, row.fingerprint)
            else:
                old = transcripts.load(self.catalog, video_id)
                if old is not None and old.transcript.source == SUBTITLE:
                    transcripts.delete(self.catalog, video_id)
        except sqlite3.Error as exc:
            raise self.explain(exc) from exc
        return found

    @_explained
    def store_transcript(self, video_id: int, transcript: Transcript) -> bool:
        """Store ``transcript`` as the video's (replacing the one it had, in one transaction:
        a kill half way leaves the old one whole). A model's transcript never replaces the
        video's subtitles (subtitles win over a model): False then, and nothing changes."""
        with self.writing():
            row = self.catalog.video(video_id)
            if row is None:
                raise UsageError(f"no video {video_id} in this library")
            if transcript.source == MODEL:
                old = transcripts.load(self.catalog, video_id)
                if (
                    old is not None
                    and old.transcript.source == SUBTITLE
                    and old.fingerprint == row.fingerprint
                ):
                    return False
            transcripts.store(self.catalog, video_id, transcript, row.fingerprint)
        return True

    def transcript(self, video_id: int) -> Transcript | None:
        """The video's stored transcript (None: never transcribed, or no subtitles)."""
        stored = transcripts.load(self.catalog, video_id)
        return None if stored is None else stored.transcript

    def videos_needing_transcripts(self, origin: str) -> list[VideoRow]:
        """The indexed videos a speech model whose identity is ``origin`` should transcribe:
        never transcribed, transcribed by another model, or changed since; not those with
        subtitles (they win over any model)."""
        wanted = transcripts.needing(self.catalog, origin)
        rows = (self.catalog.video(vid) for vid, _ in wanted)
        return [r for r in rows if r is not None]

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
        self._syncer.record_failure(video_id, error)

    @_explained
    def rebuild(self, segment: SegmentRule | None = None) -> int:
        """Re-make the vector index from the database; with ``segment``, re-pool first.

        Re-pooling reads the stored frame vectors, so no video is decoded again. Returns the
        number of segments in the new index.
        """
        with self.writing():
            dim = self.encoder.embed_dim
            if segment is not None and segment != self.settings.segment:
                recut = LibrarySettings(self.settings.sample_rate, segment)

                def pooled() -> Iterator[tuple[int, list[SegmentSpan], np.ndarray]]:
                    for video in self.catalog.videos(status=VideoStatus.INDEXED):
                        times, frames = self.catalog.frames(video.id, dim)
                        if len(times):
                            spans = plan_segments(list(times), recut.step, segment)
                            yield video.id, spans, pool_segments(self.encoder, frames, spans)

                # All videos and the recorded rule in one transaction (a kill half way changes
                # nothing); the vector index below is a cache, rebuilt or reconciled at any open.
                rule = {"segment_window": repr(segment.window), "segment_hop": repr(segment.hop)}
                self.catalog.recut(pooled(), rule)
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
        when: Period = ANY_TIME,
        order: str = "relevance",
        lang: str = AUTO,
    ) -> list[SearchResult]:
        """The ``k`` moments that best match a sentence (:class:`core.query.search.Searcher`),
        shot within ``when``, by relevance or date, read in ``lang`` (``auto``: guessed, ``en``,
        ``multi`` or a language code; :mod:`core.query.towers`). Raises QueryError for a bad
        query."""
        self.refresh()
        return self._searcher.text(
            text, k, folders=folders, merge=merge, when=when, order=order, lang=lang
        )

    def route(self, text: str, lang: str = AUTO) -> Route:
        """Which text tower reads (or read) ``text``, and why: :meth:`search`'s own rule, so a
        caller can say which model answered. Cheap: nothing is encoded."""
        return self.towers.route(text, lang)

    def search_image(
        self,
        image: str | os.PathLike[str] | np.ndarray,
        k: int = 20,
        *,
        folders: Sequence[str | os.PathLike[str]] | None = None,
        merge: bool = True,
        when: Period = ANY_TIME,
        order: str = "relevance",
        exclude: tuple[str, float, float] | None = None,
    ) -> list[SearchResult]:
        """Moments that look like a picture (a photo, or a frame of a video); ``exclude``
        (path, t0, t1) leaves out the moment a "find similar" started from."""
        self.refresh()
        return self._searcher.image(
            image, k, folders=folders, merge=merge, when=when, order=order, exclude=exclude
        )

    def browse(
        self,
        *,
        folders: Sequence[str | os.PathLike[str]] | None = None,
        when: Period = ANY_TIME,
        limit: int = 2000,
    ) -> list[SearchResult]:
        """The library without a query, one card per video, newest shot first."""
        self.refresh()
        return self._searcher.browse(folders=folders, when=when, limit=limit)

    def frame_thumbnail(self, result: SearchResult, t: float) -> str | None:
        """A thumbnail of ``result``'s video at ``t`` (its best second, or a point the mouse
        is over), decoded from the video if the cache lacks it: slow (a seek), so the window
        calls it in the background. None when the video cannot be read now."""
        rows = self.catalog.segments(list(result.segment_ids[:1]))
        row = rows.get(result.segment_ids[0]) if result.segment_ids else None
        if row is None:
            return None
        # the result's own file: copies folded into it keep the other copy's segment ids
        made = thumbnails.ensure(self.thumbs_dir, row.fingerprint, Path(result.path), t)
        return None if made is None else str(made)

    # -- status -----
    def watched_folders(self) -> list[str]:
        """The watched folders' paths, in the order they were added."""
        return [p for _, p in self.catalog.folder_paths()]

    def status(self) -> LibraryStatus:
        """What the library holds and how it stands (``to_json()``: ``status --json``)."""
        self.refresh()
        cat = self.catalog
        counts = cat.counts()
        fps, measured = self.throughput()
        m = self.encoder.manifest
        return LibraryStatus(
            library=str(self.root),
            read_only=self.read_only,
            model=ModelStatus(
                name=m.name,
                id=model_id(self.encoder),
                head=m.head,
                path=str(self.encoder.root),
                provider=self.encoder.provider,
                provider_detail=self.encoder.describe_provider(),
            ),
            sampling=SamplingStatus(
                frames_per_second=self.settings.sample_rate,
                segment_seconds=self.settings.segment.window,
                segment_hop_seconds=self.settings.segment.hop,
            ),
            videos=int(counts["videos"]),
            indexed=int(counts["indexed"]),
            failed=int(counts["failed"]),
            pending=int(counts["pending"]),
            indexed_seconds=float(counts["indexed_seconds"]),
            frames=int(counts["frames"]),
            segments=int(counts["segments"]),
            index_segments=len(self.index),
            index_on_open=self.open_report,
            indexing_frames_per_second=round(fps, 2),
            speed_measured=measured,
            folders=tuple(
                FolderStatus(
                    path=f.path,
                    online=os.path.exists(f.path),
                    videos=f.videos,
                    indexed=f.indexed,
                    failed=f.failed,
                    pending=f.pending,
                    segments=f.segments,
                )
                for f in cat.folders()
            ),
            errors=tuple(
                FileNote(v.path, v.error or "unknown error")
                for v in cat.videos(status=VideoStatus.FAILED)
            ),
            warnings=tuple(FileNote(p, w) for p, w in cat.warnings()),
            skipped=tuple(FileNote(p, r) for p, r in cat.skipped()),
        )
