"""The indexing pipeline: decode threads feed batched image encoding; each video lands whole.

::

    decode worker(s): sample frames ─ preprocess ─ thumbnails ─┐  bounded queue
                                                              ▼
    job thread:       batch frames of any videos ─ image tower ─ per-video frames
                      video complete ─ segments ─ head ─ one SQLite transaction ─ ANN index

Decoding (OpenCV, preprocessing in numpy) and encoding (ONNX Runtime) both release the GIL, so
threads overlap them; the queue bound keeps memory flat. The job can be paused, resumed and
cancelled from any thread; a cancelled or killed job loses only the videos it had not finished,
which stay ``pending`` and are encoded by the next run. Progress goes to a callback, which the
CLI draws as a bar and the GUI turns into a signal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.ingest.sample import SamplingError, probe, sample_frames
from core.ingest.segments import LibrarySettings, SegmentSpan, plan_segments
from core.ingest.thumbnails import ThumbnailWriter
from core.model.encoder import Encoder
from core.model.sessions import CUDA
from core.store.catalog import VideoMedia, VideoRow

log = logging.getLogger(__name__)

DEFAULT_BATCH = 16
QUEUE_FRAMES = 64
# A decoded tail this much shorter than the container's duration is reported as truncated.
TRUNCATION_SLACK = 2.0


def auto_decode_workers(provider: str, cpus: int | None = None) -> int:
    """How many videos to decode at once, given where the image tower runs and the cores.

    Each worker decodes a different video, and FFmpeg already gives each decoder several threads,
    so extra workers pay only where a single decoder leaves cores idle while the encoder waits.
    Measured with ``benchmarks/indexing.py --workers`` on folders of 8 distinct 720p/1080p H.264
    videos (keyframe every 30 frames), ViT-B/32:

    * CUDA (H200, 16 cores): encoding is not the bound (~330-430 sampled frames/s); 1 worker gave
      36.5 / 20.3 frames/s at 720p / 1080p, 2 workers 1.6x, 4 workers 2.0-2.1x, 8 no better.
    * CPU, 16 cores: 2 workers 1.4-1.7x, 4 workers 1.4-2.0x.
    * CPU, 2 cores: the encoder already uses every core; 2 workers gave nothing (6.1 vs 6.0 at
      720p) and would only take time from the window's thread.
    """
    cpus = cpus or os.cpu_count() or 1
    if provider == CUDA:
        return 4 if cpus >= 8 else 2 if cpus >= 4 else 1
    return 4 if cpus >= 16 else 2 if cpus >= 8 else 1


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running job, safe to hand to another thread."""

    state: str  # 'indexing' | 'paused' | 'cancelled' | 'done'
    files_done: int
    files_total: int
    files_failed: int
    frames: int
    frames_per_second: float
    eta_seconds: float | None
    elapsed: float
    current: str | None = None


@dataclass(frozen=True)
class VideoOutcome:
    path: str
    video_id: int
    ok: bool
    frames: int
    segments: int
    error: str | None = None


@dataclass
class IndexReport:
    encoded: list[VideoOutcome] = field(default_factory=list)
    failed: list[VideoOutcome] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        """What ``clipseek index --json`` says of a run, beside its ``scan`` (README)."""
        return {
            "indexed": [
                {"path": o.path, "frames": o.frames, "segments": o.segments, "warning": o.error}
                for o in self.encoded
            ],
            "failed": [{"path": o.path, "error": o.error} for o in self.failed],
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "cancelled": self.cancelled,
        }


@dataclass(frozen=True)
class _Frame:
    video_id: int
    t: float
    pixels: np.ndarray


@dataclass(frozen=True)
class _End:
    video_id: int
    frames: int
    media: VideoMedia | None
    error: str | None


_WORKER_DONE = object()


@dataclass
class _Pending:
    row: VideoRow
    times: list[float] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    end: _End | None = None


class IndexSink(Protocol):
    """Where finished videos go (the library): the job decodes and encodes, the sink stores.

    The job needs these five and nothing else of a library, so it can be driven (and tested)
    without one, and the library can change how it stores without touching the pipeline.
    """

    def store_video(
        self,
        video_id: int,
        media: VideoMedia,
        times: Sequence[float],
        frames: np.ndarray,
        spans: Sequence[SegmentSpan],
        note: str | None = None,
    ) -> int:
        """Commit one encoded video whole (frames, pooled segments); returns segments stored."""
        ...

    def record_failure(self, video_id: int, error: str) -> None: ...

    def record_throughput(self, frames: int, seconds: float) -> None: ...

    def checkpoint(self, force: bool = False) -> None:
        """Save what is cached (the vector index) when due, or now with ``force``."""
        ...

    def explain(self, exc: BaseException) -> BaseException:
        """The error to show for a failure while storing (a full disk in words)."""
        ...


class IndexJob:
    """Encode a list of pending videos into a sink. ``run()`` blocks; control from elsewhere."""

    def __init__(
        self,
        sink: IndexSink,
        encoder: Encoder,
        settings: LibrarySettings,
        thumbs_dir: Path,
        videos: Sequence[VideoRow],
        *,
        on_progress: Callable[[Progress], None] | None = None,
        on_video: Callable[[VideoOutcome], None] | None = None,
        workers: int | None = None,
        batch_size: int = DEFAULT_BATCH,
        progress_interval: float = 0.25,
        session: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        """``workers``: videos decoded at once; None picks :func:`auto_decode_workers`.

        ``session`` is entered for the whole of :meth:`run` (the library's write lock: held
        while the job writes, not from when it was made)."""
        self._session = session
        self.sink = sink
        self.encoder = encoder
        self.settings = settings
        self.thumbs_dir = thumbs_dir
        self.videos = list(videos)
        self.on_progress = on_progress
        self.on_video = on_video
        if workers is None:
            workers = auto_decode_workers(encoder.provider)
        self.workers = max(1, workers)
        self.batch_size = max(1, batch_size)
        self.progress_interval = progress_interval
        self._go = threading.Event()
        self._go.set()
        self._cancel = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._todo: queue.SimpleQueue[VideoRow] = queue.SimpleQueue()
        self._report = IndexReport()
        self._active_time = 0.0
        self._last_progress = 0.0
        self._current: str | None = None
        self._bytes_total = sum(v.size for v in self.videos) or 1
        self._bytes_done = 0
        self._by_id = {v.id: v for v in self.videos}
        # Guards the hand-over between extend() and decode workers running out of work.
        self._todo_lock = threading.Lock()
        self._workers_left = 0  # decode workers still taking work from the to-do queue
        self._alive = 0  # workers whose final marker the job thread has not yet received
        self._threads: list[threading.Thread] = []
        self._started = False  # run() has queued the videos; later ones are queued by extend()
        self._closed = False  # run() has left its loop: nothing may join any more

    # -- control (any thread) -----
    def pause(self) -> None:
        self._go.clear()
        self._emit(force=True)

    def resume(self) -> None:
        self._go.set()
        self._emit(force=True)

    def cancel(self) -> None:
        self._cancel.set()
        self._go.set()

    def extend(self, videos: Sequence[VideoRow]) -> bool:
        """Add videos to a running job (a folder dropped in while indexing).

        Works until ``run()`` has committed its last video: if the decode workers have
        already run out of work, fresh ones are started for the new videos. Returns False
        only when the job is over or cancelled; the caller then starts a new job. Videos the
        job already has are ignored.
        """
        with self._todo_lock:
            if self._closed or self._cancel.is_set():
                return False
            fresh = [v for v in videos if v.id not in self._by_id]
            for v in fresh:
                self._by_id[v.id] = v
                self.videos.append(v)
                self._bytes_total += v.size
                if self._started:
                    self._todo.put(v)
            if self._started and fresh:
                # Top the decoders back up to the job's width (they quit when work ran out).
                for _ in range(min(self.workers - self._workers_left, len(fresh))):
                    self._start_worker()
        self._emit(force=True)
        return True

    def _start_worker(self) -> None:
        # Caller holds _todo_lock.
        t = threading.Thread(
            target=self._decode_worker, name=f"clipseek-decode-{len(self._threads)}", daemon=True
        )
        self._threads.append(t)
        self._workers_left += 1
        self._alive += 1
        t.start()

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- progress -----
    def _state(self) -> str:
        if self._cancel.is_set():
            return "cancelled"
        return "paused" if not self._go.is_set() else "indexing"

    def progress(self, state: str | None = None) -> Progress:
        r = self._report
        done = len(r.encoded) + len(r.failed)
        fps = r.frames / self._active_time if self._active_time > 0 else 0.0
        eta = None
        if self._bytes_done > 0 and self._active_time > 0:
            eta = self._active_time * (self._bytes_total - self._bytes_done) / self._bytes_done
        return Progress(
            state=state or self._state(),
            files_done=done,
            files_total=len(self.videos),
            files_failed=len(r.failed),
            frames=r.frames,
            frames_per_second=fps,
            eta_seconds=eta,
            elapsed=self._active_time,
            current=self._current,
        )

    def _emit(self, force: bool = False, state: str | None = None) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if force or now - self._last_progress >= self.progress_interval:
            self._last_progress = now
            try:
                self.on_progress(self.progress(state))
            except Exception:  # a broken listener must not kill indexing
                log.exception("progress callback failed")

    # -- decoding (worker threads) -----
    def _put(self, item: object) -> bool:
        while not self._cancel.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _decode_one(self, video: VideoRow) -> None:
        settings = self.settings
        path = Path(video.path)
        count = 0
        try:
            info = probe(path)
            thumbs = ThumbnailWriter(
                self.thumbs_dir, video.fingerprint, settings.segment, settings.step
            )
            last_t = 0.0
            for frame in sample_frames(path, settings.sample_rate):
                self._go.wait()
                if self._cancel.is_set():
                    return
                pixels = self.encoder.preprocess([frame.rgb])[0]
                thumbs.add(frame.t, frame.rgb)
                if not self._put(_Frame(video.id, frame.t, pixels)):
                    return
                count += 1
                last_t = frame.t
            thumbs.finish(last_t)
            duration = info.duration or last_t + settings.step
            media = VideoMedia(
                duration=max(duration, last_t),
                fps=info.fps,
                width=info.width,
                height=info.height,
                rotation=info.rotation,
            )
            note = None
            if info.duration and last_t + settings.step < info.duration - TRUNCATION_SLACK:
                note = (
                    f"truncated or damaged: only the first {last_t + settings.step:.0f} s"
                    f" of {info.duration:.0f} s could be decoded"
                )
            self._put(_End(video.id, count, media, note))
        except SamplingError as exc:
            self._put(_End(video.id, count, None, str(exc).replace(f"{path}: ", "")))
        except Exception as exc:  # any decoder surprise is this file's problem, not the job's
            log.exception("decoding %s failed", path)
            self._put(_End(video.id, count, None, f"{type(exc).__name__}: {exc}"))

    def _decode_worker(self) -> None:
        try:
            while not self._cancel.is_set():
                with self._todo_lock:
                    try:
                        video = self._todo.get_nowait()
                    except queue.Empty:
                        self._workers_left -= 1
                        break
                self._decode_one(video)
            else:
                with self._todo_lock:
                    self._workers_left -= 1
        finally:
            self._put_final()

    def _put_final(self) -> None:
        # Always delivered, even when cancelled, so the job thread knows this worker is gone.
        self._queue.put(_WORKER_DONE)

    # -- encoding and committing (the job's own thread) -----
    def run(self) -> IndexReport:
        if self._session is None:
            return self._run()
        with self._session():
            return self._run()

    def _run(self) -> IndexReport:
        sink = self.sink
        by_id = self._by_id
        pending: dict[int, _Pending] = {}
        batch: list[_Frame] = []
        with self._todo_lock:
            self._started = True
            for v in self.videos:
                self._todo.put(v)
            for _ in range(min(self.workers, max(1, len(self.videos)))):
                self._start_worker()
        tick = time.monotonic()
        self._emit(force=True)

        def flush() -> None:
            if not batch:
                return
            pixels = np.stack([f.pixels for f in batch])
            vectors = self.encoder.encode_pixels(pixels, normalize=False, batch_size=len(batch))
            for f, vec in zip(batch, vectors, strict=True):
                p = pending.setdefault(f.video_id, _Pending(by_id[f.video_id]))
                p.times.append(f.t)
                p.vectors.append(vec)
            self._report.frames += len(batch)
            batch.clear()

        failure: BaseException | None = None
        try:
            while True:
                now = time.monotonic()
                if self._go.is_set():
                    self._active_time += now - tick
                tick = now
                if self._cancel.is_set():
                    break
                if not self._go.is_set():  # paused: encode nothing either, not just decode
                    self._go.wait(0.1)
                    self._emit()  # listeners still hear from a paused job (the GUI works there)
                    continue
                try:
                    item = self._queue.get(timeout=0.05)
                except queue.Empty:
                    flush()
                    self._emit()
                    continue
                if item is _WORKER_DONE:
                    with self._todo_lock:
                        self._alive -= 1
                        if self._alive == 0:  # decided under the lock: extend() can't slip in
                            self._closed = True
                            break
                elif isinstance(item, _Frame):
                    batch.append(item)
                    self._current = by_id[item.video_id].path
                    if len(batch) >= self.batch_size:
                        flush()
                elif isinstance(item, _End):
                    flush()
                    p = pending.pop(item.video_id, None) or _Pending(by_id[item.video_id])
                    p.end = item
                    self._finish_video(p)
                self._emit()
        except BaseException as exc:
            # A failed commit (a full disk) or an encoder error: stop the decoders *before*
            # leaving, or the process dies with them inside FFmpeg (SIGABRT at exit); videos
            # already committed stay, the rest stay pending for the next run.
            failure = exc
            self._cancel.set()
            self._go.set()
        with self._todo_lock:
            self._closed = True
            threads = list(self._threads)
        if self._cancel.is_set():
            # Cancelled only if work was cut short (a late Ctrl+C after the last video is not).
            finished = len(self._report.encoded) + len(self._report.failed)
            self._report.cancelled = finished < len(self.videos)
            # Drain so that workers blocked on a full queue can see the flag and exit.
            while any(t.is_alive() for t in threads):
                with contextlib.suppress(queue.Empty):
                    self._queue.get(timeout=0.05)
        for t in threads:
            t.join()
        self._report.seconds = self._active_time
        self._current = None
        if failure is not None:
            self._report.cancelled = True
            with contextlib.suppress(Exception):  # a second ENOSPC must not hide the first
                sink.checkpoint(force=True)
            self._emit(force=True, state="cancelled")
            explained = sink.explain(failure)
            if explained is failure:
                raise failure
            raise explained from failure
        sink.record_throughput(self._report.frames, self._active_time)
        sink.checkpoint(force=True)
        self._emit(force=True, state="cancelled" if self._report.cancelled else "done")
        return self._report

    def _finish_video(self, p: _Pending) -> None:
        assert p.end is not None
        sink, row, end = self.sink, p.row, p.end
        self._bytes_done += row.size
        if end.media is None or not p.times:
            error = end.error or "no frame could be decoded"
            sink.record_failure(row.id, error)
            outcome = VideoOutcome(row.path, row.id, False, 0, 0, error)
            self._report.failed.append(outcome)
        else:
            vectors = np.stack(p.vectors)
            spans = plan_segments(p.times, self.settings.step, self.settings.segment)
            count = sink.store_video(row.id, end.media, p.times, vectors, spans, note=end.error)
            outcome = VideoOutcome(row.path, row.id, True, len(p.times), count, end.error)
            self._report.encoded.append(outcome)
        if self.on_video is not None:
            try:
                self.on_video(outcome)
            except Exception:
                log.exception("video callback failed")
        self._emit(force=True)
