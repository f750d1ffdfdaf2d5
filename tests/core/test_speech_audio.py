"""A video's sound: decoded by PyAV, silence skipped, transcribed by Whisper through CTranslate2.

Speech is espeak-ng's, placed at known times in MP4s that PyAV muxes (H.264 + AAC); the Whisper
is the tiny random one from ``export/whisper_tiny.py`` (its words are noise: the shape of the
transcript is what is checked).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from core.speech.audio import SAMPLE_RATE, audio_duration, iter_audio, iter_windows
from core.speech.transcript import MODEL, TranscribeCancelled
from core.speech.vad import EnergyRule, frame_levels, speech_spans, windows
from tests.speech_media import have_espeak, speech_track, write_speech_video

pytestmark = pytest.mark.skipif(not have_espeak(), reason="espeak-ng is not installed")

PLACED = [
    (2.0, "hello there, how are you today"),
    (14.5, "we are lost in the forest"),
    (33.0, "happy birthday grandma"),
]
DURATION = 40.0


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, list]:
    samples, truth = speech_track(DURATION, PLACED, noise_dbfs=-50)
    root = tmp_path_factory.mktemp("speech")
    return write_speech_video(root / "talk.mp4", samples, DURATION), samples, truth


def test_audio_comes_in_bounded_chunks_and_matches_the_track(speech: tuple) -> None:
    video, samples, _ = speech
    assert audio_duration(video) == pytest.approx(DURATION, abs=0.1)
    chunks = list(iter_audio(video, chunk_s=10.0))
    assert all(len(c.samples) <= 10 * SAMPLE_RATE for c in chunks)
    assert all(c.samples.dtype == np.float32 and c.samples.ndim == 1 for c in chunks)
    starts = [c.start for c in chunks]
    assert starts == pytest.approx([10.0 * i for i in range(len(chunks))])
    decoded = np.concatenate([c.samples for c in chunks])
    assert abs(len(decoded) - len(samples)) < 0.1 * SAMPLE_RATE
    n = min(len(decoded), len(samples))
    assert np.corrcoef(decoded[:n], samples[:n])[0, 1] > 0.99  # AAC, in time with the track


def test_windows_are_cut_at_their_times(speech: tuple) -> None:
    video, samples, _ = speech
    wanted = [(1.0, 3.5), (12.0, 40.0)]
    got = list(iter_windows(video, wanted, chunk_s=5.0))
    assert [round(w.start, 2) for w in got] == [1.0, 12.0]
    first = got[0].samples
    reference = samples[SAMPLE_RATE : round(3.5 * SAMPLE_RATE)]
    assert abs(len(first) - len(reference)) <= 2
    n = min(len(first), len(reference))
    assert np.corrcoef(first[:n], reference[:n])[0, 1] > 0.99


def test_video_without_audio_gives_nothing(tmp_path: Path) -> None:
    video = write_speech_video(tmp_path / "mute.mp4", None, 2.0)
    assert list(iter_audio(video)) == []
    assert audio_duration(video) is None


def test_damaged_and_missing_files_are_one_line_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    with pytest.raises((ValueError, OSError)) as caught:
        list(iter_audio(junk))
    assert "\n" not in str(caught.value) and "junk.mp4" in str(caught.value)
    with pytest.raises(OSError):
        list(iter_audio(tmp_path / "gone.mp4"))


def test_energy_rule_finds_speech_at_its_known_times(speech: tuple) -> None:
    _, samples, truth = speech
    for noise in (None, -40.0):
        track, truth = speech_track(DURATION, PLACED, noise_dbfs=noise, seed=1)
        spans = speech_spans(frame_levels(track), EnergyRule(pad_s=0.0))
        assert len(spans) == len(truth), (noise, spans)
        for (start, end), (true_start, true_end) in zip(spans, truth, strict=True):
            assert start == pytest.approx(true_start, abs=0.3)
            assert end == pytest.approx(true_end, abs=0.3)
    # Packed for Whisper: the two first sentences share a window, the last has its own.
    padded = speech_spans(frame_levels(samples))
    packed = windows(padded)
    assert len(packed) == 2 and all(b - a <= 30.0 for a, b in packed)
    assert windows([(0.0, 70.0)]) == [(0.0, 30.0), (30.0, 60.0), (60.0, 70.0)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    pytest.importorskip("ctranslate2")
    os.environ["HF_HUB_OFFLINE"] = "1"
    from export.whisper_tiny import build_tiny_whisper, convert_to_ct2

    root = tmp_path_factory.mktemp("tiny-whisper")
    return convert_to_ct2(build_tiny_whisper(root / "hf"), root / "faster-whisper-tiny-test")


def test_whisper_transcribes_end_to_end(speech: tuple, tiny_model: Path, tmp_path: Path) -> None:
    from core.speech.whisper import WhisperTranscriber, model_identity
    from export.whisper_tiny import whisper_languages

    video, _, truth = speech
    transcriber = WhisperTranscriber(tiny_model, device="cpu", compute_type="int8")
    assert transcriber.runtime == "cpu int8_float32"  # what CTranslate2 really runs
    assert transcriber.identity.startswith("faster-whisper-tiny-test:")
    assert transcriber.identity == model_identity(tiny_model)
    calls: list[tuple[float, float]] = []
    transcript = transcriber.transcribe(video, progress=lambda d, t: calls.append((d, t)))
    assert transcript.source == MODEL and transcript.origin == transcriber.identity
    assert transcript.language in whisper_languages(80)
    assert transcript.lines, "random weights still emit text"
    for line in transcript.lines:
        assert 0.0 <= line.start <= line.end <= DURATION + 0.05
        # Only where speech is: inside a (padded) window around a spoken sentence.
        assert any(a - 1.0 <= line.start <= b + 30.0 for a, b in truth)
        for word in line.words:
            assert line.start <= word.start <= word.end <= line.end
    assert any(line.words for line in transcript.lines)
    assert calls[0] == (0.0, pytest.approx(DURATION, abs=0.1))
    assert calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TranscribeCancelled):
        transcriber.transcribe(video, cancel=cancel)

    stop = threading.Event()  # cancelled after the first window: the second never runs
    seen: list[float] = []

    def stop_after_first(done: float, total: float) -> None:
        seen.append(done)
        if done > 0:
            stop.set()

    with pytest.raises(TranscribeCancelled):
        transcriber.transcribe(video, cancel=stop, progress=stop_after_first)
    assert len([d for d in seen if d > 0]) == 1

    mute = transcriber.transcribe(write_speech_video(tmp_path / "mute.mp4", None, 2.0))
    assert mute.lines == () and mute.source == MODEL

    junk = tmp_path / "junk.mov"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises((ValueError, OSError)):
        transcriber.transcribe(junk)


def test_whispers_guards_drop_silence_and_loops_and_retry_the_unlikely() -> None:
    from core.speech.whisper import compression_ratio, judge

    said = "happy birthday grandma, we are so glad you came"
    assert judge(said, -0.3, 0.05) == "keep"
    assert judge(said, -1.4, 0.9) == "silence"  # "no speech" and an unlikely text: nothing said
    assert judge(said, -1.4, 0.1) == "retry"  # unlikely, but something was said: hotter
    loop = "thank you " * 40
    assert compression_ratio(loop) > 2.4 > compression_ratio(said)
    assert judge(loop, -0.2, 0.0) == "retry"
    assert compression_ratio("") == 0.0
