"""The GUI's one door into core: every library change on one thread, searches on another.

The window never touches :class:`core.library.Library` itself. It calls :class:`Engine`'s
methods, which queue work and return at once, and listens to its signals, which Qt delivers on
the UI thread. Two Python threads do the work:

* the **library thread** owns every change, in order: loading the model, opening the library,
  adding and removing folders, scans, the indexing job, rebuilds. While a job runs, small
  requests (a folder dropped in, a rescan after a file changed) are served *inside* the job,
  between two batches, and their new videos join the running job (:meth:`IndexJob.extend`), so
  a drop never waits for hours of indexing to end. A bigger request (removing a folder,
  switching the model) stops the job, which keeps every finished video, runs, and indexing
  resumes after it.
  While idle it looks every :data:`CHANGE_CHECK_SECONDS` whether another process (``clipseek
  index`` in a terminal) changed the library, and if so re-reads the panels and tells the
  window (:attr:`Engine.libraryChanged`). The library's write lock is held only while a change
  is written, so such a process is never kept out by an idle window.
* the **search thread** answers queries. Only the newest request matters (the user is typing):
  older unanswered ones are dropped. Thumbnails are decoded there too, as ``QImage``, so the UI
  thread only paints.

ONNX Runtime, OpenCV and SQLite release the GIL, so neither thread stalls the event loop.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from core import (
    ANY_TIME,
    DEFAULT_RATE,
    DEFAULT_WINDOW,
    DEMO_MODEL,
    BundleError,
    DiskFull,
    Encoder,
    FileNote,
    FolderStatus,
    IndexJob,
    IndexReport,
    Library,
    LibraryBusy,
    LibraryError,
    Period,
    Progress,
    QueryError,
    QueryRoute,
    SearchResult,
    SegmentRule,
    SpeechJob,
    SpeechProgress,
    SpeechReport,
    SyncReport,
    TokenizerError,
    Transcriber,
    VideoOutcome,
    choose_example,
    demo_pairs,
    demo_root,
    indexed_at,
    make_demo_videos,
    open_library,
    open_transcriber,
    speech_model_folder,
)
from desktop_app.formatting import plural
from desktop_app.model_status import ModelStatus, load_status

log = logging.getLogger(__name__)

#: More directories than this are not watched one by one (inotify's default limit is 8192
#: per user, shared with every other program); the periodic rescan covers the rest.
MAX_WATCHED_DIRS = 2000
#: How often, at most, library counts and errors are re-read for the panels while indexing.
SNAPSHOT_INTERVAL = 0.5
#: Thumbnails decoded with a search's answer (what a first screen shows: decoding one takes
#: about a millisecond); the rest come when the grid lays them out.
SHOWN_THUMBNAILS = 24
#: Videos the browse view lists at most (newest first): years of footage on a scroll.
BROWSE_LIMIT = 5000
#: Hover frames waiting at most: the mouse moves on faster than a seek.
HOVER_QUEUE = 16
#: How often the idle library thread looks whether another process changed the library (one
#: SQLite PRAGMA when nothing did).
CHANGE_CHECK_SECONDS = 2.0


def frame_key(path: str, t: float) -> tuple[str, int]:
    """How a frame picture of a video is named between engine and window: (path, ms)."""
    return path, round(t * 1000)


@dataclass(frozen=True)
class EngineConfig:
    """What the engine opens: the window's settings plus command-line overrides."""

    model: str | None = None  # bundle folder; None: $CLIPSEEK_MODEL, installed, then the demo
    force_cpu: bool = False
    library: str | None = None  # library folder; None: the model's own in the data folder
    sample_rate: float = 1.0  # frames per second, for a new library
    segment_seconds: float = DEFAULT_WINDOW  # segment length, for a new library (hop = half)
    workers: int | None = None  # videos decoded at once; None: by GPU and core count
    batch_size: int = 16
    demo: bool = False  # the demo library (fresh synthetic videos, the demo model)
    #: Speech model folder; None: the largest installed ($CLIPSEEK_SPEECH_MODEL first), "none": off
    speech_model: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """What the panels show about the open library, read on the library thread."""

    root: str
    folders: Sequence[FolderStatus]
    errors: Sequence[FileNote]
    warnings: Sequence[FileNote]
    skipped: Sequence[FileNote]
    videos: int
    indexed: int
    segments: int
    sample_rate: float
    segment_seconds: float
    demo: bool
    failed: int = 0
    pending: int = 0
    indexed_seconds: float = 0.0  # footage indexed
    frames_per_second: float = 0.0  # this machine's indexing speed (sampled frames)
    speed_measured: bool = False  # ... measured here, or a typical figure
    example: str = ""  # the demo's search to try: its own video comes first ("" until indexed)
    #: Which model reads queries in other languages, or why none does (one line).
    multilingual: str = ""
    #: Which speech model transcribes what is said, or that only subtitles are read (one line).
    speech: str = ""

    @property
    def empty(self) -> bool:
        return not self.folders

    def reindex_estimate(self, sample_rate: float) -> tuple[int, float]:
        """(frames, seconds) to index this library's footage again at ``sample_rate``."""
        frames = round(self.indexed_seconds * sample_rate)
        fps = self.frames_per_second or 1.0
        return frames, frames / fps


@dataclass(frozen=True)
class SearchRequest:
    serial: int
    text: str | None = None
    image: str | np.ndarray | None = None
    folder: str | None = None
    #: Moments asked of the library: the window shows those that stand out and keeps the
    #: rest for "show more" and "N more in this video".
    k: int = 200
    #: When the videos were shot, and the order of the answer ("relevance" or "date").
    when: Period = ANY_TIME
    order: str = "relevance"
    #: A picture search's own moment (path, t0, t1), left out of its answer ("find similar").
    exclude: tuple[str, float, float] | None = None
    #: Which text model reads a sentence: "auto", "en", "multi" (core.QUERY_LANGUAGES).
    lang: str = "auto"

    @property
    def browsing(self) -> bool:
        """No query at all: the library by date."""
        return self.text is None and self.image is None

    @property
    def label(self) -> str:
        if self.browsing:
            return "your library"
        if self.text is not None:
            return self.text
        if isinstance(self.image, np.ndarray):
            return "the chosen moment"  # "find similar" searches by a moment's picture
        return Path(str(self.image)).name


@dataclass(frozen=True)
class SearchResponse:
    request: SearchRequest
    results: list[SearchResult] = field(default_factory=list)
    thumbnails: dict[str, QImage] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    #: Which text model read the sentence, and why (None for pictures and browsing).
    route: QueryRoute | None = None


@dataclass(frozen=True)
class JobSummary:
    encoded: int
    failed: int
    frames: int
    seconds: float
    cancelled: bool


@dataclass
class _Op:
    name: str
    fn: Callable[[], None]
    #: Served inside a running indexing job instead of stopping it.
    quick: bool = False


def watch_list(folders: Sequence[str], limit: int = MAX_WATCHED_DIRS) -> list[str]:
    """The directories to watch: each folder and its subfolders, hidden ones skipped."""
    out: list[str] = []
    seen: set[tuple[int, int]] = set()
    for root in folders:
        stack = [root]
        while stack and len(out) < limit:
            d = stack.pop()
            try:
                st = os.stat(d)
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                out.append(d)
                with os.scandir(d) as it:
                    for e in it:
                        if not e.name.startswith(".") and e.is_dir(follow_symlinks=True):
                            stack.append(e.path)
            except OSError:
                continue
    return out


def found_text(report: SyncReport) -> str:
    """What a scan found, in words: "Found 2 new videos, 1 copy of an indexed video";
    "Nothing new to index: the 3 videos found are copies of indexed videos"."""
    parts = []
    if report.new:
        parts.append(plural(len(report.new), "new video"))
    if report.modified:
        parts.append(f"{plural(len(report.modified), 'changed video')}")
    if report.moved:
        parts.append(f"{plural(len(report.moved), 'moved video')}")
    gone = f"{plural(len(report.deleted), 'video')} gone from disk" if report.deleted else ""
    if report.copied and not parts:
        # only copies: nothing is indexed, and the words say so (not "Indexed 0 videos")
        n = len(report.copied)
        copies = (
            "the video found is a copy of an indexed video"
            if n == 1
            else f"the {n} videos found are copies of indexed videos"
        )
        return f"Nothing new to index: {copies}" + (f"; {gone}" if gone else "")
    if report.copied:
        parts.append(
            plural(len(report.copied), "copy of an indexed video", "copies of indexed videos")
        )
    if gone:
        parts.append(gone)
    return "Found " + ", ".join(parts) if parts else ""


class Engine(QObject):
    """Queues the window's requests onto the library and search threads; reports by signal."""

    modelLoaded = Signal(object)  # ModelStatus
    libraryOpened = Signal(object)  # Snapshot
    snapshot = Signal(object)  # Snapshot
    progress = Signal(object)  # Progress
    videoIndexed = Signal(object)  # VideoOutcome
    jobStarted = Signal()
    jobFinished = Signal(object)  # JobSummary
    speechProgress = Signal(object)  # SpeechProgress: the speech pass after indexing
    speechFinished = Signal(object)  # SpeechReport
    searchDone = Signal(object)  # SearchResponse
    thumbnailsLoaded = Signal(dict)  # {thumbnail path: QImage}, asked for by load_thumbnails
    #: {frame_key(path, t): (thumbnail path, QImage)}: frames asked for by load_frames (a
    #: moment's best second, the points a hovering mouse scrubs over). Signal(object), not
    #: Signal(dict): PySide converts a dict to a QVariantMap, which has string keys only, and
    #: delivered these tuple-keyed dicts empty (with a "Cannot copy-convert" line on stderr).
    framesLoaded = Signal(object)
    watchDirs = Signal(list)
    busy = Signal(str)  # what the library thread is doing ("" when idle)
    #: Another process (``clipseek index``, ``clipseek folders``) changed the library; the
    #: panels' snapshot has been sent again, the results may be out of date.
    libraryChanged = Signal()
    message = Signal(str, str)  # level ('info' | 'warning' | 'error'), text

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = EngineConfig()
        self.encoder: Encoder | None = None
        self.status: ModelStatus | None = None
        self._library: Library | None = None
        self._demo_example: str | None = None  # None: not chosen yet
        self._lib_lock = threading.Lock()  # held by searches, and while the library is swapped
        self._ops: collections.deque[_Op] = collections.deque()
        self._cv = threading.Condition()
        self._stop = False
        self._job: IndexJob | SpeechJob | None = None
        #: The open speech model (kept between passes: loading Whisper takes seconds) and the
        #: folder that failed to open (said once, not at every pass).
        self._transcriber: Transcriber | None = None
        self._speech_folder: Path | None = None
        self._speech_failed: Path | None = None
        # The user cancelled indexing: automatic rescans don't restart it; any job that does
        # start (a user's request) ends the hold.
        self._held = False
        self._serving = False
        self._running = False  # an op is being run on the library thread
        self._last_snapshot = 0.0
        self._last_check = time.monotonic()
        self._seen_generation = 0  # the library's count of other processes' changes, as shown
        self._search_request: SearchRequest | None = None
        self._thumbs_wanted: list[str] = []
        # Frames to decode: the best seconds of the newest answer (in order; a new search drops
        # the last one's) and the points a hovering mouse asked for (newest first).
        self._best_wanted: dict[tuple[str, int], tuple[SearchResult, float]] = {}
        self._hover_wanted: dict[tuple[str, int], tuple[SearchResult, float]] = {}
        self._search_cv = threading.Condition()
        self._serial = 0
        self._threads = [
            threading.Thread(target=self._library_loop, name="clipseek-library", daemon=True),
            threading.Thread(target=self._search_loop, name="clipseek-search", daemon=True),
        ]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------------ UI-thread API
    @property
    def indexing(self) -> bool:
        return self._job is not None

    @property
    def paused(self) -> bool:
        job = self._job
        return job is not None and job.paused

    def start(self, config: EngineConfig) -> None:
        """Load the model, open its library, scan the watched folders and index what changed."""
        self._submit(_Op("open", lambda: self._open(config)))

    def add_paths(self, paths: Sequence[str]) -> None:
        """Watch folders (or single files) and index them."""
        paths = [str(p) for p in paths]
        self._submit(_Op("add", lambda: self._add(paths), quick=True))

    def remove_folder(self, path: str) -> None:
        self._submit(_Op("remove", lambda: self._remove(path)))

    def rescan(self, paths: Sequence[str] | None = None, *, automatic: bool = False) -> None:
        """Pick up new, changed, moved and deleted files (all folders, or only ``paths``).

        ``automatic`` (the watcher, the periodic rescan) does not restart indexing that the user
        cancelled: the new videos wait for the user's next request.
        """
        wanted = None if paths is None else [str(p) for p in paths]
        with self._cv:
            if any(op.name == "rescan-all" for op in self._ops):
                return  # a full rescan is already waiting: it covers this one
        name = "rescan-all" if wanted is None else "rescan"
        self._submit(_Op(name, lambda: self._rescan(wanted, automatic=automatic), quick=True))

    def rebuild_segments(self, seconds: float) -> None:
        self._submit(_Op("rebuild", lambda: self._rebuild(seconds)))

    def open_demo(self, videos: int = 40) -> None:
        self._submit(_Op("demo", lambda: self._open_demo(videos)))

    def pause(self) -> None:
        if self._job is not None:
            self._job.pause()

    def resume(self) -> None:
        if self._job is not None:
            self._job.resume()

    def cancel(self) -> None:
        job = self._job
        if job is not None:
            self._held = True
            job.cancel()

    def search_text(
        self,
        text: str,
        folder: str | None = None,
        when: Period = ANY_TIME,
        order: str = "relevance",
        lang: str = "auto",
    ) -> int:
        request = SearchRequest(0, text=text, folder=folder, when=when, order=order, lang=lang)
        return self._search(request)

    def search_image(
        self,
        image: str | np.ndarray,
        folder: str | None = None,
        when: Period = ANY_TIME,
        order: str = "relevance",
        exclude: tuple[str, float, float] | None = None,
    ) -> int:
        """A picture search; ``exclude`` (path, t0, t1) leaves out the moment it came from."""
        request = SearchRequest(
            0, image=image, folder=folder, when=when, order=order, exclude=exclude
        )
        return self._search(request)

    def browse(self, folder: str | None = None, when: Period = ANY_TIME) -> int:
        """The library without a query, newest shot first (answered like a search)."""
        return self._search(SearchRequest(0, folder=folder, when=when, k=BROWSE_LIMIT))

    def load_frames(
        self, wanted: Sequence[tuple[SearchResult, float]], *, hover: bool = False
    ) -> None:
        """Pictures of these moments' videos at these times, made on the search thread (a
        seek each, after any search waiting there); :attr:`framesLoaded` brings them. Hover
        frames come first, newest first, and only the last :data:`HOVER_QUEUE` wait."""
        with self._search_cv:
            queue = self._hover_wanted if hover else self._best_wanted
            for r, t in wanted:
                key = frame_key(r.path, t)
                queue.pop(key, None)
                queue[key] = (r, t)
            while len(self._hover_wanted) > HOVER_QUEUE:
                del self._hover_wanted[next(iter(self._hover_wanted))]
            self._search_cv.notify_all()

    def videos_indexed_at(self, sample_rate: float) -> int:
        """Videos already indexed in this model's library at ``sample_rate`` (a quick read)."""
        return 0 if self.encoder is None else indexed_at(self.encoder, sample_rate)

    @property
    def idle(self) -> bool:
        """Nothing queued, running or indexing on the library thread."""
        with self._cv:
            return not self._ops and not self._running and self._job is None

    def load_thumbnails(self, paths: Sequence[str]) -> None:
        """Decode these thumbnails on the search thread (after any search waiting there);
        :attr:`thumbnailsLoaded` brings them."""
        with self._search_cv:
            self._thumbs_wanted.extend(p for p in paths if p not in self._thumbs_wanted)
            self._search_cv.notify_all()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop indexing (finished videos are kept), save the index and close the library."""
        with self._cv:
            self._stop = True
            self._ops.clear()
            self._cv.notify_all()
        job = self._job
        if job is not None:
            job.cancel()
        with self._search_cv:
            self._search_cv.notify_all()
        for t in self._threads:
            t.join(timeout)
        self._close_library()

    # ------------------------------------------------------------------ library thread
    def _submit(self, op: _Op) -> None:
        with self._cv:
            if self._stop:
                return
            self._ops.append(op)
            self._cv.notify_all()

    def _library_loop(self) -> None:
        while True:
            with self._cv:
                while not self._ops and not self._stop:
                    wait = self._last_check + CHANGE_CHECK_SECONDS - time.monotonic()
                    if wait <= 0:
                        break
                    self._cv.wait(wait)
                if self._stop:
                    return
                if not self._ops:
                    op = None
                else:
                    op = self._ops.popleft()
                    self._running = True
            if op is None:
                self._check_elsewhere()
                continue
            try:
                self._run_op(op)
            finally:
                with self._cv:
                    self._running = False
                    idle = not self._ops
            if idle:
                self.busy.emit("")

    def _check_elsewhere(self) -> None:
        """(Idle.) Take in what another process changed; tell the panels and the window."""
        self._last_check = time.monotonic()
        lib = self._library
        if lib is None:
            return
        try:
            lib.refresh()  # a search may have taken the change in already: generation says
            generation = lib.generation
        except Exception:
            log.exception("looking for changes to the library failed")
            return
        if generation == self._seen_generation:
            return
        self._seen_generation = generation
        self._emit_snapshot(force=True)
        self._emit_watch_dirs()
        self.libraryChanged.emit()

    def _run_op(self, op: _Op) -> None:
        try:
            op.fn()
        except LibraryBusy as exc:
            self.message.emit("warning", f"{exc}. Searching still works.")
        except (LibraryError, QueryError, OSError, ValueError) as exc:
            self.message.emit("error", str(exc))
        except Exception as exc:  # a bug must not kill the thread that owns the library
            log.exception("%s failed", op.name)
            self.message.emit("error", f"{op.name} failed: {type(exc).__name__}: {exc}")
        self._emit_snapshot(force=True)

    def _queue_index(self) -> None:
        with self._cv:
            if not any(op.name == "index" for op in self._ops):
                self._ops.append(_Op("index", self._index))
                self._cv.notify_all()

    def _open(self, config: EngineConfig) -> None:
        self.busy.emit("Loading the model…")
        self._close_library()
        self.config = config
        model = str(DEMO_MODEL) if config.demo else config.model
        status, encoder = load_status(model, config.force_cpu)
        self.status, self.encoder = status, encoder
        self.modelLoaded.emit(status)
        if encoder is None:
            return
        if (
            config.library
            and Path(config.library).expanduser().resolve() == (demo_root() / "library").resolve()
        ):
            config = replace(config, demo=True, library=None)  # `clipseek demo` opens it
            self.config = config
        root: Path | None = None  # None: the library core's rule picks (the CLI's too)
        if config.demo:
            root = demo_root() / "library"
        elif config.library:
            root = Path(config.library).expanduser()
        self.busy.emit("Opening the library…")
        library = open_library(
            encoder,
            root,
            sample_rate=DEFAULT_RATE if config.demo else config.sample_rate,  # demo: as measured
            segment=SegmentRule.of_length(config.segment_seconds),
        )
        with self._lib_lock:
            self._library = library
        self._seen_generation = library.generation
        snap = self._read_snapshot()
        self.libraryOpened.emit(snap)
        if library.notice:  # e.g. its database was lost and its folders are indexed again
            self.message.emit("warning", library.notice[0].upper() + library.notice[1:])
        if library.read_only:
            self.message.emit(
                "warning",
                f"This library is read-only ({library.read_only}): searching works, indexing"
                " and folder changes do not",
            )
        self._emit_watch_dirs()
        if snap.folders:
            self._rescan(None)

    def _close_library(self) -> None:
        with self._lib_lock:
            library, self._library = self._library, None
        if library is not None:
            try:
                library.close()
            except Exception:
                log.exception("closing the library failed")

    def _require(self) -> Library:
        if self._library is None:
            raise LibraryError("no library is open (the model could not be loaded)")
        return self._library

    def _add(self, paths: list[str]) -> None:
        lib = self._require()
        self._held = False
        added = []
        for p in paths:
            try:
                lib.add_folder(p)
                added.append(p)
            except LibraryError as exc:
                self.message.emit("error", str(exc))
        if added:
            self._emit_snapshot(force=True)
            self._emit_watch_dirs()
            self._rescan(added)

    def _remove(self, path: str) -> None:
        lib = self._require()
        self.busy.emit(f"Removing {path}…")
        forgotten = lib.remove_folder(path)
        self.message.emit("info", f"Stopped watching {path} ({forgotten} videos forgotten)")
        self._emit_watch_dirs()
        if lib.pending():
            self._queue_index()

    def _rescan(self, paths: list[str] | None, *, automatic: bool = False) -> None:
        lib = self._require()
        if not automatic:
            self._held = False
        self.busy.emit("Looking for new and changed videos…")
        report = lib.sync(paths)
        found = found_text(report)
        if found:
            self.message.emit("info", found)
        for folder in report.offline:
            self.message.emit("warning", f"{folder} is offline; its videos are kept")
        if report.changed:
            self._emit_watch_dirs()
        pending = lib.pending()
        if pending and automatic and self._held:
            self.message.emit(
                "info",
                f"{plural(len(pending), 'video')} waiting to be indexed (indexing was stopped;"
                " Resume goes on)",
            )
        elif pending:
            job = self._job
            # a running speech pass is stopped by the queued indexing (seeing comes first) and
            # queued again once the new videos are indexed
            if not isinstance(job, IndexJob) or not job.extend(pending):
                self._queue_index()

    def _index(self) -> None:
        lib = self._require()
        if not lib.pending():
            return
        self._held = False
        job = lib.index_job(
            on_progress=self._on_progress,
            on_video=self._on_video,
            workers=self.config.workers,
            batch_size=self.config.batch_size,
        )
        self._job = job
        self.jobStarted.emit()
        self.busy.emit("")  # the indexing bar says it from here
        report: IndexReport | None = None
        try:
            report = job.run()
        except DiskFull:
            # Stopped, not failed: the bar offers Resume (for when space is freed) and
            # automatic rescans do not run into the full disk again meanwhile.
            self._held = True
            raise
        finally:
            self._job = None
            done = report or IndexReport(cancelled=True)
            self.jobFinished.emit(
                JobSummary(
                    len(done.encoded),
                    len(done.failed),
                    done.frames,
                    done.seconds,
                    done.cancelled and self._held,
                )
            )
        with self._cv:
            stopping = self._stop
        if not stopping and not self._held and lib.pending():
            self._queue_index()  # stopped for another request, or videos arrived at the end
        elif not stopping and not self._held:
            self._queue_speech()  # the visual pass is done: what was said comes next

    def _queue_speech(self) -> None:
        with self._cv:
            if not any(op.name == "speech" for op in self._ops):
                self._ops.append(_Op("speech", self._speech))
                self._cv.notify_all()

    def _open_transcriber(self) -> Transcriber | None:
        """(Library thread.) The speech model to use, opened once; None when there is none or
        it cannot be opened (said once in the window, then left alone until it changes)."""
        folder = speech_model_folder(self.config.speech_model)
        if folder is None or folder == self._speech_failed:
            return None
        if self._transcriber is not None and folder == self._speech_folder:
            return self._transcriber
        self.busy.emit("Loading the speech model…")
        try:
            self._transcriber = open_transcriber(folder, force_cpu=self.config.force_cpu)
        except (BundleError, ValueError, OSError) as exc:
            self._speech_failed, self._transcriber = folder, None
            self.message.emit("error", f"The speech model cannot be used: {exc}")
            return None
        finally:
            self.busy.emit("")
        self._speech_folder = folder
        return self._transcriber

    def _speech(self) -> None:
        """The speech pass: every indexed video the speech model has not transcribed yet."""
        lib = self._require()
        if lib.read_only or lib.pending():
            return  # indexing comes first; it queues this pass again when done
        transcriber = self._open_transcriber()
        if transcriber is None:
            return
        job = lib.speech_job(transcriber, on_progress=self._on_speech_progress)
        if not job.videos:
            return
        self._job = job
        report: SpeechReport | None = None
        try:
            report = job.run()
        finally:
            self._job = None
            self.speechFinished.emit(report or SpeechReport(cancelled=True))
        if report is not None and report.transcribed:
            self.libraryChanged.emit()  # searches now find what was said

    def _on_speech_progress(self, progress: SpeechProgress) -> None:
        self.speechProgress.emit(progress)
        if threading.current_thread() is self._threads[0]:
            self._serve_during_job()

    def _on_progress(self, progress: Progress) -> None:
        """Called by the running job several times a second (on this thread)."""
        self.progress.emit(progress)
        # pause()/resume() report from the caller's (UI) thread: work is only done on ours
        if threading.current_thread() is self._threads[0]:
            self._emit_snapshot()
            self._serve_during_job()

    def _on_video(self, outcome: VideoOutcome) -> None:
        self.videoIndexed.emit(outcome)
        self._emit_snapshot(force=True)  # the panels' counts move with each video

    def _serve_during_job(self) -> None:
        job = self._job
        if job is None or self._serving:
            return  # not re-entered: an op served here may itself report progress
        self._serving = True
        try:
            self._serve_ops(job)
        finally:
            self._serving = False

    def _serve_ops(self, job: IndexJob | SpeechJob) -> None:
        while True:
            with self._cv:
                if self._stop:
                    job.cancel()
                    return
                if not self._ops:
                    return
                if not self._ops[0].quick:
                    job.cancel()  # the job keeps what it finished; indexing resumes afterwards
                    return
                op = self._ops.popleft()
            self._run_op(op)

    def _rebuild(self, seconds: float) -> None:
        lib = self._require()
        self.busy.emit(f"Re-cutting moments to {seconds:g} s…")
        count = lib.rebuild(SegmentRule.of_length(seconds))
        self.message.emit("info", f"Moments re-cut to {seconds:g} s ({count:,} moments)")

    def _open_demo(self, videos: int) -> None:
        self.busy.emit("Making demo videos…")
        self._close_library()
        self._demo_example = None  # new videos, a new example once they are indexed
        folder, _pairs = make_demo_videos(demo_root(), videos=videos)
        self._open(replace(self.config, demo=True, model=None, library=None))
        self._add([str(folder)])

    def _read_snapshot(self) -> Snapshot:
        lib = self._require()
        st = lib.status()
        return Snapshot(
            root=st.library,
            folders=st.folders,
            errors=st.errors,
            warnings=st.warnings,
            skipped=st.skipped,
            videos=st.videos,
            indexed=st.indexed,
            segments=st.index_segments,
            sample_rate=st.sampling.frames_per_second,
            segment_seconds=st.sampling.segment_seconds,
            demo=self.config.demo,
            failed=st.failed,
            pending=st.pending,
            indexed_seconds=st.indexed_seconds,
            frames_per_second=st.indexing_frames_per_second,
            speed_measured=st.speed_measured,
            example=self._example(lib, st.videos, st.indexed, st.pending),
            multilingual=lib.towers.summary(),
            speech=self._speech_summary(),
        )

    def _speech_summary(self) -> str:
        folder = speech_model_folder(self.config.speech_model)
        if folder is None:
            return (
                "What is said is searched in subtitles only: no speech model is installed"
                " (the install dialog's “Also search what is said” adds one)."
            )
        if folder == self._speech_failed:
            return f"The speech model in {folder} cannot be used; only subtitles are searched."
        return (
            f"What is said is transcribed by {folder.name} after indexing, and subtitles are read."
        )

    def _example(self, lib: Library, videos: int, indexed: int, pending: int) -> str:
        """(Library thread.) The demo's example search, chosen by searching its captions
        once all its videos are indexed; "" for any other library or before then."""
        if not self.config.demo:
            return ""
        if self._demo_example is None and videos and indexed == videos and not pending:
            try:
                with self._lib_lock:  # a search, as the search thread's are
                    self._demo_example = choose_example(lib, demo_pairs()) or ""
            except Exception:
                log.exception("choosing the demo's example search failed")
                self._demo_example = ""
        return self._demo_example or ""

    def _emit_snapshot(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._library is None or (not force and now - self._last_snapshot < SNAPSHOT_INTERVAL):
            return
        self._last_snapshot = now
        try:
            self.snapshot.emit(self._read_snapshot())
        except Exception:
            log.exception("reading the library status failed")

    def _emit_watch_dirs(self) -> None:
        lib = self._library
        if lib is None:
            return
        folders = [p for p in lib.watched_folders() if os.path.isdir(p)]
        self.watchDirs.emit(watch_list(folders))

    # ------------------------------------------------------------------ search thread
    def _search(self, request: SearchRequest) -> int:
        with self._search_cv:
            self._serial += 1
            self._search_request = replace(request, serial=self._serial)
            self._best_wanted.clear()  # the last answer's pictures: not shown any more
            self._search_cv.notify_all()
            return self._serial

    def _search_loop(self) -> None:
        while True:
            with self._search_cv:
                while (
                    self._search_request is None
                    and not self._thumbs_wanted
                    and not self._best_wanted
                    and not self._hover_wanted
                    and not self._stop
                ):
                    self._search_cv.wait()
                if self._stop:
                    return
                request, self._search_request = self._search_request, None
                wanted = [] if request is not None else self._thumbs_wanted[:SHOWN_THUMBNAILS]
                del self._thumbs_wanted[: len(wanted)]
                frames: list[tuple[SearchResult, float]] = []
                if request is None and not wanted:  # a frame costs a seek: searches first
                    if self._hover_wanted:  # what the mouse is over now
                        frames.append(self._hover_wanted.pop(next(reversed(self._hover_wanted))))
                    else:
                        frames.append(self._best_wanted.pop(next(iter(self._best_wanted))))
            if request is not None:
                self.searchDone.emit(self._answer(request))
            elif wanted:
                self.thumbnailsLoaded.emit(_decode_thumbnails(wanted))
            elif frames:
                self.framesLoaded.emit(self._make_frames(frames))

    def _make_frames(self, wanted: Sequence[tuple[SearchResult, float]]) -> dict:
        out: dict[tuple[str, int], tuple[str, QImage]] = {}
        for r, t in wanted:
            try:
                with self._lib_lock:
                    lib = self._library
                    path = None if lib is None else lib.frame_thumbnail(r, t)
            except Exception:
                log.exception("a frame of %s at %.1f s", r.path, t)
                continue
            image = QImage(path) if path else QImage()
            if path and not image.isNull():
                out[frame_key(r.path, t)] = (path, image)
        return out

    def _answer(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        folders = [request.folder] if request.folder else None
        route = None
        try:
            with self._lib_lock:
                lib = self._library
                if lib is None:
                    return SearchResponse(request, error="The library is not open yet.")
                options = {"folders": folders, "when": request.when, "order": request.order}
                if request.browsing:
                    results = lib.browse(folders=folders, when=request.when, limit=request.k)
                elif request.text is not None:
                    results = lib.search(request.text, request.k, lang=request.lang, **options)  # type: ignore[arg-type]
                    route = lib.route(request.text, request.lang)
                else:
                    assert request.image is not None
                    results = lib.search_image(
                        request.image,
                        request.k,
                        exclude=request.exclude,
                        **options,  # type: ignore[arg-type]
                    )
        except (QueryError, TokenizerError, LibraryError) as exc:
            return SearchResponse(request, error=str(exc))
        except Exception as exc:
            log.exception("search failed")
            return SearchResponse(request, error=f"Search failed: {type(exc).__name__}: {exc}")
        # the first page's pictures now; those shown later are asked for by load_thumbnails
        first = [r.thumbnail for r in results[:SHOWN_THUMBNAILS] if r.thumbnail]
        thumbs = _decode_thumbnails(first)
        # the best second of each moment on the first screen, unless its picture is cached
        # already (most are not: indexing keeps one picture per window): made after this
        # answer is shown, so a search never waits for a seek
        self.load_frames([(r, r.start) for r in results[:SHOWN_THUMBNAILS] if needs_frame(r)])
        seconds = time.perf_counter() - started
        return SearchResponse(request, results, thumbs, seconds, route=route)


def needs_frame(r: SearchResult) -> bool:
    """A moment whose thumbnail is not (yet) the picture of its best second."""
    if r.best_t is None or not r.online:
        return False
    return r.thumbnail is None or Path(r.thumbnail).stem != f"{round(r.best_t * 1000):09d}"


def _decode_thumbnails(paths: Sequence[str]) -> dict[str, QImage]:
    out: dict[str, QImage] = {}
    for path in paths:
        if path not in out:
            image = QImage(path)
            if not image.isNull():
                out[path] = image
    return out
