"""The speech pass: videos one after another, pausable between windows of audio, cancellable,
a video stored whole or not at all; a damaged audio track is said and the others go on."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from core.speech.job import SpeechJob
from core.speech.transcript import MODEL, Line, TranscribeCancelled, Transcript
from core.store.catalog import INDEXED, VideoRow


def _row(i: int, path: str) -> VideoRow:
    return VideoRow(i, path, None, f"fp{i}", 1, 1, INDEXED, None, 30.0)


class StandIn:
    """Says known sentences, one 10 s window at a time (progress after each window)."""

    identity = "stand-in"

    def __init__(self, windows: int = 3, delay: float = 0.0, broken: str = "") -> None:
        self.windows, self.delay, self.broken = windows, delay, broken
        self.started: list[str] = []

    def transcribe(self, path: Path, *, cancel=None, progress=None) -> Transcript:
        self.started.append(path.name)
        if path.name == self.broken:
            raise ValueError(f"{path.name}: the audio track cannot be decoded")
        lines = []
        for w in range(self.windows):
            if cancel is not None and cancel.is_set():
                raise TranscribeCancelled("cancelled")
            time.sleep(self.delay)
            lines.append(Line(w * 10.0, w * 10.0 + 3.0, f"{path.stem} line {w}"))
            if progress is not None:
                progress((w + 1) * 10.0, self.windows * 10.0)
        return Transcript("en", MODEL, self.identity, tuple(lines))


class Sink:
    def __init__(self) -> None:
        self.stored: dict[int, Transcript] = {}

    def store_transcript(self, video_id: int, transcript: Transcript) -> bool:
        self.stored[video_id] = transcript
        return True


def test_every_video_is_transcribed_and_stored_with_its_language() -> None:
    sink, seen = Sink(), []
    videos = [_row(i, f"/v/clip{i}.mp4") for i in range(3)]
    report = SpeechJob(sink, videos, StandIn(), on_progress=seen.append).run()
    assert sorted(sink.stored) == [0, 1, 2]
    assert sink.stored[1].lines[2].text == "clip1 line 2"
    assert [o.lines for o in report.transcribed] == [3, 3, 3]
    assert report.audio_seconds == 90.0 and not report.cancelled
    assert seen[-1].state == "done" and seen[-1].files_done == 3
    assert report.to_json()["realtime_factor"] > 0


def test_a_damaged_track_is_said_and_the_others_go_on() -> None:
    sink = Sink()
    videos = [_row(i, f"/v/clip{i}.mp4") for i in range(3)]
    report = SpeechJob(sink, videos, StandIn(broken="clip1.mp4")).run()
    assert sorted(sink.stored) == [0, 2]
    assert report.failed[0].error == "clip1.mp4: the audio track cannot be decoded"


def test_cancel_inside_a_video_stores_nothing_of_it() -> None:
    sink = Sink()
    videos = [_row(i, f"/v/clip{i}.mp4") for i in range(3)]
    job = SpeechJob(sink, videos, StandIn(delay=0.05))

    def cancel_in_second(outcome) -> None:
        if outcome.path.endswith("clip0.mp4"):
            threading.Timer(0.07, job.cancel).start()

    job.on_video = cancel_in_second
    report = job.run()
    assert report.cancelled and sorted(sink.stored) == [0]


def test_pause_holds_between_windows_and_resume_finishes() -> None:
    sink, states = Sink(), []
    videos = [_row(0, "/v/long.mp4")]
    transcriber = StandIn(windows=6, delay=0.03)
    job = SpeechJob(sink, videos, transcriber, on_progress=lambda p: states.append(p))
    runner = threading.Thread(target=job.run)
    runner.start()
    time.sleep(0.05)
    job.pause()
    time.sleep(0.1)
    held = job.progress().audio_seconds
    time.sleep(0.3)
    assert job.progress().audio_seconds == held < 60.0  # nothing moved while paused
    assert job.paused and not sink.stored
    job.resume()
    runner.join(timeout=5)
    assert sink.stored[0].lines[-1].text == "long line 5"
    assert any(s.state == "paused" for s in states)
