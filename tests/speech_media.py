"""Speech made by espeak-ng placed at known times, as audio and as videos (PyAV muxes them)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.speech.audio import SAMPLE_RATE

#: Where each placed sentence really sounds: (start, end) seconds of its non-silent samples.
Truth = list[tuple[float, float]]


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def espeak(text: str, voice: str = "en") -> np.ndarray:
    """``text`` spoken by espeak-ng, as 16 kHz mono float32 (trimmed of its own silence)."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
        with av.open(str(wav)) as container:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            parts = []
            for frame in container.decode(audio=0):
                parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    samples = np.concatenate(parts).astype(np.float32)
    loud = np.flatnonzero(np.abs(samples) > 1e-3)
    return samples[loud[0] : loud[-1] + 1]


def speech_track(
    duration: float,
    placements: list[tuple[float, str]],
    *,
    noise_dbfs: float | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, Truth]:
    """``duration`` seconds of 16 kHz audio with each ``(time, sentence)`` spoken at its time,
    over silence or white noise at ``noise_dbfs`` RMS; returns the samples and the true spans."""
    track = np.zeros(round(duration * SAMPLE_RATE), dtype=np.float32)
    if noise_dbfs is not None:
        rng = np.random.default_rng(seed)
        track += rng.standard_normal(len(track)).astype(np.float32) * 10 ** (noise_dbfs / 20)
    truth: Truth = []
    for at, sentence in placements:
        voice = espeak(sentence) * 0.5
        lo = round(at * SAMPLE_RATE)
        hi = min(len(track), lo + len(voice))
        track[lo:hi] += voice[: hi - lo]
        truth.append((lo / SAMPLE_RATE, hi / SAMPLE_RATE))
    return np.clip(track, -1.0, 1.0), truth


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """16-bit PCM WAV at 16 kHz (PyAV)."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="mono")
        for lo in range(0, len(pcm), SAMPLE_RATE):
            frame = av.AudioFrame.from_ndarray(
                pcm[None, lo : lo + SAMPLE_RATE], format="s16", layout="mono"
            )
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_speech_video(
    path: Path, samples: np.ndarray | None, duration: float, *, fps: int = 2
) -> Path:
    """An MP4 (H.264 64x48 at ``fps``, AAC 16 kHz mono) whose sound is ``samples``; no audio
    stream at all when ``samples`` is None."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = None
        if samples is not None:
            audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        for index in range(round(duration * fps)):
            image = np.full((48, 64, 3), (index * 7) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None and samples is not None:
            block = 1024
            for lo in range(0, len(samples), block):
                piece = np.zeros((1, block), dtype=np.float32)
                chunk = samples[lo : lo + block]
                piece[0, : len(chunk)] = chunk
                frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = SAMPLE_RATE, lo
                frame.time_base = Fraction(1, SAMPLE_RATE)
                for packet in audio.encode(frame):
                    container.mux(packet)
            for packet in audio.encode(None):
                container.mux(packet)
    return path
