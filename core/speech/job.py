"""The speech pass: after the visual pass, each indexed video's audio is transcribed and stored.

::

    videos needing a transcript (never transcribed, another model, changed; not those with
    subtitles) ─ transcriber (Whisper via CTranslate2) ─ one transaction per video ─ FTS5

It runs after the visual pass because seeing is what a search needs first, and both compete for
the same cores. Like :class:`core.ingest.job.IndexJob` it can be paused, resumed and cancelled
from any thread; a video is stored whole or not at all (its own transaction), so a run that is
cancelled or killed loses only the video it was transcribing, which the next run takes up again.
Pausing holds the transcriber between two windows of audio (its progress callback waits), so a
pause takes effect within one window (≤ 30 s of audio), not at the end of a long video.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from core.pathnames import readable
from core.speech.transcript import TranscribeCancelled, Transcriber, Transcript
from core.store.catalog import VideoRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeechProgress:
    """A snapshot of a running speech pass, safe to hand to another thread."""

    state: str  # 'transcribing' | 'paused' | 'cancelled' | 'done'
    files_done: int
    files_total: int
    files_failed: int
    #: Seconds of audio transcribed so far (the video in progress included).
    audio_seconds: float
    elapsed: float
    current: str | None = None

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio per second of work (above 1: faster than real time)."""
        return self.audio_seconds / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class SpeechOutcome:
    path: str
    ok: bool
    lines: int = 0
    language: str = ""
    audio_seconds: float = 0.0
    error: str | None = None


@dataclass
class SpeechReport:
    transcribed: list[SpeechOutcome] = field(default_factory=list)
    failed: list[SpeechOutcome] = field(default_factory=list)
    audio_seconds: float = 0.0
    seconds: float = 0.0
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "transcribed": [
                {"path": o.path, "lines": o.lines, "language": o.language} for o in self.transcribed
            ],
            "failed": [{"path": o.path, "error": o.error} for o in self.failed],
            "audio_seconds": round(self.audio_seconds, 1),
            "seconds": round(self.seconds, 2),
            "realtime_factor": round(self.audio_seconds / self.seconds, 2) if self.seconds else 0,
            "cancelled": self.cancelled,
        }


class SpeechSink(Protocol):
    """Where transcripts go (the library)."""

    def store_transcript(self, video_id: int, transcript: Transcript) -> bool: ...


class SpeechJob:
    """Transcribe ``videos`` one after another into ``sink``."""

    def __init__(
        self,
        sink: SpeechSink,
        videos: Sequence[VideoRow],
        transcriber: Transcriber,
        *,
        on_progress: Callable[[SpeechProgress], None] | None = None,
        on_video: Callable[[SpeechOutcome], None] | None = None,
    ) -> None:
        self.sink = sink
        self.videos = list(videos)
        self.transcriber = transcriber
        self.on_progress = on_progress
        self.on_video = on_video
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._started = time.monotonic()
        self._done = self._failed = 0
        self._audio_done = 0.0  # finished videos
        self._audio_now = 0.0  # the video in progress
        self._current: str | None = None
        self._last_emit = 0.0

    # -- control, from any thread -----
    def pause(self) -> None:
        self._running.clear()
        self._emit(force=True)

    def resume(self) -> None:
        self._running.set()
        self._emit(force=True)

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # a paused job wakes up to stop

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- progress -----
    def progress(self, state: str | None = None) -> SpeechProgress:
        if state is None:
            state = "cancelled" if self.cancelled else "paused" if self.paused else "transcribing"
        return SpeechProgress(
            state=state,
            files_done=self._done,
            files_total=len(self.videos),
            files_failed=self._failed,
            audio_seconds=self._audio_done + self._audio_now,
            elapsed=time.monotonic() - self._started,
            current=self._current,
        )

    def _emit(self, force: bool = False, state: str | None = None) -> None:
        now = time.monotonic()
        if self.on_progress is not None and (force or now - self._last_emit >= 0.25):
            self._last_emit = now
            self.on_progress(self.progress(state))

    def _window_done(self, seconds_done: float, seconds_total: float) -> None:
        """The transcriber's progress: between two windows of audio. A pause waits here."""
        self._audio_now = seconds_done
        self._emit()
        while not self._running.wait(0.2):
            if self._cancel.is_set():
                break
        if self._cancel.is_set():
            raise TranscribeCancelled("cancelled")

    # -- the pass -----
    def run(self) -> SpeechReport:
        report = SpeechReport()
        self._started = time.monotonic()
        self._emit(force=True)
        for video in self.videos:
            self._running.wait()
            if self._cancel.is_set():
                break
            self._current = video.path
            self._audio_now = 0.0
            outcome = self._one(video)
            if outcome is None:  # cancelled inside the video: nothing of it was stored
                break
            self._audio_done += outcome.audio_seconds
            self._audio_now = 0.0
            if outcome.ok:
                self._done += 1
                report.transcribed.append(outcome)
            else:
                self._failed += 1
                report.failed.append(outcome)
            if self.on_video is not None:
                self.on_video(outcome)
            self._emit(force=True)
        self._current = None
        report.cancelled = self.cancelled
        report.audio_seconds = self._audio_done
        report.seconds = time.monotonic() - self._started
        self._emit(force=True, state="cancelled" if report.cancelled else "done")
        return report

    def _one(self, video: VideoRow) -> SpeechOutcome | None:
        try:
            transcript = self.transcriber.transcribe(
                Path(video.path), cancel=self._cancel, progress=self._window_done
            )
        except TranscribeCancelled:
            return None
        except (OSError, ValueError, RuntimeError) as exc:
            # a damaged audio track: said, the others go on; the next run tries it again
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("transcribing %s failed: %s", readable(video.path), text)
            return SpeechOutcome(video.path, False, audio_seconds=self._audio_now, error=text)
        if self._cancel.is_set():
            return None
        self.sink.store_transcript(video.id, transcript)
        heard = max((line.end for line in transcript.lines), default=0.0)
        return SpeechOutcome(
            video.path,
            True,
            lines=len(transcript.lines),
            language=transcript.language,
            audio_seconds=max(self._audio_now, heard),
        )
