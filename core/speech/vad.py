"""Which parts of a video's audio hold speech: an energy rule, measured on espeak-ng speech.

A voice-activity model through ONNX Runtime (Silero's) cannot be built here without downloading
it, so silence is skipped by energy, relative to the file itself:

1. the audio is cut into 20 ms frames and each frame's RMS level taken in dBFS;
2. the file's *loud* level is the 99th percentile of those levels and its *noise floor* the 10th;
3. a frame is speech when it is above all of: ``loud - 35 dB``, ``noise floor + 8 dB`` and an
   absolute floor of -60 dBFS (digital silence and hiss never count);
4. speech lasts ``hangover_s`` (0.2 s) past its last loud frame (the quiet tails of words), spans
   closer than ``merge_gap_s`` (0.6 s) join, spans shorter than ``min_speech_s`` (0.15 s) are
   dropped (clicks), and each span is widened by ``pad_s`` (0.2 s) on both sides.

``benchmarks/speech.py`` and ``tests/core/test_speech_audio.py`` measure it on espeak-ng
sentences placed at known times in silence and in white noise. What it cannot do: tell speech
from music or loud background sound (both pass to Whisper, which then transcribes or skips them),
or find a whisper under noise louder than it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.speech.audio import SAMPLE_RATE

Span = tuple[float, float]


@dataclass(frozen=True)
class EnergyRule:
    frame_s: float = 0.02
    loud_percentile: float = 99.0
    noise_percentile: float = 10.0
    below_loud_db: float = 35.0
    above_noise_db: float = 8.0
    floor_db: float = -60.0
    hangover_s: float = 0.2
    merge_gap_s: float = 0.6
    min_speech_s: float = 0.15
    pad_s: float = 0.2


def frame_levels(
    samples: npt.NDArray[np.floating], frame_s: float = 0.02
) -> npt.NDArray[np.float64]:
    """RMS level in dBFS of each whole ``frame_s`` frame of 16 kHz samples."""
    size = max(1, round(frame_s * SAMPLE_RATE))
    count = len(samples) // size
    if count == 0:
        return np.zeros(0, dtype=np.float64)
    frames = np.asarray(samples[: count * size], dtype=np.float64).reshape(count, size)
    power = np.mean(frames * frames, axis=1)
    levels: npt.NDArray[np.float64] = 10.0 * np.log10(np.maximum(power, 1e-12))
    return levels


def threshold_db(levels: npt.NDArray[np.float64], rule: EnergyRule = EnergyRule()) -> float:
    """The level above which a frame of this file is speech."""
    if len(levels) == 0:
        return float("inf")
    loud = float(np.percentile(levels, rule.loud_percentile))
    noise = float(np.percentile(levels, rule.noise_percentile))
    return max(loud - rule.below_loud_db, noise + rule.above_noise_db, rule.floor_db)


def speech_spans(levels: npt.NDArray[np.float64], rule: EnergyRule = EnergyRule()) -> list[Span]:
    """Speech spans (seconds from the first frame) of a file's frame levels."""
    if len(levels) == 0:
        return []
    active = levels > threshold_db(levels, rule)
    step = rule.frame_s
    duration = len(levels) * step
    raw: list[list[float]] = []
    hang = rule.hangover_s
    for index in np.flatnonzero(active):
        begin, finish = float(index * step), float((index + 1) * step + hang)
        if raw and begin <= raw[-1][1] + rule.merge_gap_s:
            raw[-1][1] = max(raw[-1][1], finish)
        else:
            raw.append([begin, finish])
    spans: list[Span] = []
    for start, end in raw:
        if end - hang - start < rule.min_speech_s:
            continue
        lo, hi = max(0.0, start - rule.pad_s), min(duration, end + rule.pad_s)
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], hi)
        else:
            spans.append((lo, hi))
    return spans


def windows(spans: list[Span], max_s: float = 30.0) -> list[Span]:
    """Speech spans packed into windows of at most ``max_s`` seconds, in order: a window takes
    following spans while it stays within ``max_s`` (the silence between them goes along); a
    span longer than ``max_s`` is cut into ``max_s`` pieces."""
    out: list[Span] = []
    for start, end in spans:
        if out and end - out[-1][0] <= max_s:
            out[-1] = (out[-1][0], end)
            continue
        at = start
        while end - at > max_s:
            out.append((at, at + max_s))
            at += max_s
        out.append((at, end))
    return out
