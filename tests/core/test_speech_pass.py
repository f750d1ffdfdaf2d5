"""The speech pass through the library: a transcriber (a stand-in returning known sentences, as
the issue asks: no Whisper weights reach this machine) after indexing; what it heard is found at
its words' time; changing the model re-transcribes and nothing else does; a killed pass loses
only the video it was in; subtitles win over a model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.library import Library
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL
from core.speech.transcript import MODEL, SUBTITLE, Line, TranscribeCancelled, Transcript, Word
from tests.library_support import ROOT, index_all
from tests.videos import write_video

SAID = {
    "party.mp4": (Line(12.0, 15.0, "happy birthday grandma", (
        Word(12.0, 12.6, "happy"), Word(12.6, 13.4, "birthday"), Word(13.4, 14.2, "grandma"),
    )),),
    "hike.mp4": (Line(4.0, 6.5, "I think we are lost", (
        Word(4.0, 4.2, "I"), Word(4.2, 4.6, "think"), Word(4.6, 4.9, "we"),
        Word(4.9, 5.2, "are"), Word(5.2, 6.5, "lost"),
    )),),
    "seoul.mp4": (Line(2.0, 4.0, "할머니 생신 축하드려요", (
        Word(2.0, 2.8, "할머니"), Word(2.8, 3.3, "생신"), Word(3.3, 4.0, "축하드려요"),
    )),),
}  # fmt: skip


class StandIn:
    """Returns the known sentences, a window at a time; ``delay`` per window (kill tests)."""

    def __init__(self, identity: str = "Whisper stand-in sha256:1", delay: float = 0.0) -> None:
        self.identity, self.delay, self.calls = identity, delay, []

    def transcribe(self, path: Path, *, cancel=None, progress=None) -> Transcript:
        self.calls.append(Path(path).name)
        lines = SAID.get(Path(path).name, ())
        for i in range(3):
            if cancel is not None and cancel.is_set():
                raise TranscribeCancelled(Path(path).name)
            time.sleep(self.delay)
            if progress is not None:
                progress(10.0 * (i + 1), 30.0)
        language = "ko" if Path(path).name == "seoul.mp4" else "en"
        return Transcript(language, MODEL, self.identity, tuple(lines))


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(DEMO_MODEL, force_cpu=True)


@pytest.fixture
def footage(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    write_video(folder / "party.mp4", seed=1, seconds=20)
    write_video(folder / "hike.mp4", seed=2, seconds=10)
    write_video(folder / "seoul.mp4", seed=3, seconds=10)
    write_video(folder / "subtitled.mp4", seed=4, seconds=10)
    (folder / "subtitled.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nhello there\n")
    return folder


def test_what_the_model_heard_is_found_at_its_words(tmp_path, encoder, footage) -> None:
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, footage)
        standin = StandIn()
        job = lib.speech_job(standin)
        # subtitles win over a model: the subtitled video is not given to the transcriber
        assert sorted(Path(v.path).name for v in job.videos) == [
            "hike.mp4", "party.mp4", "seoul.mp4",
        ]  # fmt: skip
        report = job.run()
        assert len(report.transcribed) == 3 and not report.failed
        best = lib.search("we are lost", k=3)[0]
        assert Path(best.path).name == "hike.mp4" and best.speech is not None
        assert best.speech.source == MODEL and best.speech.language == "en"
        assert best.best_t == pytest.approx(4.6)  # the first matched word, not the line
        korean = lib.search("생신", k=3)[0]
        assert Path(korean.path).name == "seoul.mp4"
        assert korean.speech is not None and korean.speech.language == "ko"
        # the same model again: nothing to do; another model: everything again
        assert lib.speech_job(standin).videos == []
        other = lib.speech_job(StandIn("Whisper small sha256:2"))
        assert len(other.videos) == 3
        subtitled = next(v for v in lib.catalog.videos() if v.path.endswith("subtitled.mp4"))
        assert lib.transcript(subtitled.id).source == SUBTITLE


_KILLED = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from core.library import Library
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL
from tests.core.test_speech_pass import StandIn
lib = Library(Encoder(DEMO_MODEL, force_cpu=True), Path({lib!r}))
job = lib.speech_job(StandIn(delay={delay}), on_video=lambda o: print("done", o.path, flush=True))
job.run()
print("finished", flush=True)
"""


def test_a_killed_pass_keeps_what_it_finished(tmp_path, encoder, footage) -> None:
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, footage)
    code = _KILLED.format(root=str(ROOT), lib=str(tmp_path / "lib"), delay=0.4)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "CLIPSEEK_FORCE_CPU": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()  # one video transcribed and stored ...
    assert first.startswith("done ")
    time.sleep(0.5)  # ... and the next one half way through its windows
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with Library(encoder, tmp_path / "lib") as lib:
        stored = [v for v in lib.catalog.videos() if lib.transcript(v.id) is not None]
        names = sorted(Path(v.path).name for v in stored)
        assert Path(first.split()[1]).name in names
        assert len(names) == 2  # that video and the subtitled one: nothing half-stored
        left = lib.speech_job(StandIn())
        assert len(left.videos) == 2  # the rest is taken up by the next run
        left.run()
        assert lib.search("happy birthday", k=1)[0].speech is not None


def test_the_command_line_runs_the_pass_after_indexing(tmp_path, footage) -> None:
    """`clipseek index` transcribes with the installed speech model after the visual pass and
    says so; --speech-model none turns it off (here: no model installed, so nothing runs)."""
    env = {**os.environ, "CLIPSEEK_HOME": str(tmp_path / "home"), "CLIPSEEK_FORCE_CPU": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "index", str(footage), "--json", "--model",
         str(DEMO_MODEL), "--library", str(tmp_path / "cli-lib")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["speech"] is None  # no speech model installed: the pass does not run
    assert "speech:" not in proc.stderr
