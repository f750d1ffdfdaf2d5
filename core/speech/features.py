"""Whisper's log-mel spectrogram in numpy (what ``WhisperFeatureExtractor`` computes).

30 s of 16 kHz audio (zero-padded or cut to 480,000 samples) -> STFT (n_fft 400, hop 160,
periodic Hann window, centred with reflect padding) -> power -> Slaney-normalised mel filters on
the Slaney mel scale (0–8 kHz; 80 bins, or 128 for large-v3) -> ``log10(max(x, 1e-10))`` -> no
more than 8 below the maximum -> ``(x + 4) / 4`` -> 3000 frames (the last STFT frame dropped).
``tests/export/test_whisper_parity.py`` holds it to the feature extractor within 1e-4.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from core.speech.audio import SAMPLE_RATE

N_FFT = 400
HOP_LENGTH = 160
CHUNK_SECONDS = 30
N_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE  # 480,000
N_FRAMES = N_SAMPLES // HOP_LENGTH  # 3000

Floats = npt.NDArray[np.float32]


def _hz_to_mel(freq: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    mels = freq / f_sp
    above = freq >= min_log_hz
    mels[above] = min_log_mel + np.log(freq[above] / min_log_hz) / logstep
    return mels


def _mel_to_hz(mels: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    freq = mels * f_sp
    above = mels >= min_log_mel
    freq[above] = min_log_hz * np.exp(logstep * (mels[above] - min_log_mel))
    return freq


@lru_cache(maxsize=4)
def mel_filters(n_mels: int) -> npt.NDArray[np.float64]:
    """[n_mels, n_fft // 2 + 1] triangular filters, Slaney-normalised (area ~ 1)."""
    n_freqs = N_FFT // 2 + 1
    fft_freqs = np.linspace(0.0, SAMPLE_RATE / 2, n_freqs)
    mel_points = np.linspace(
        _hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([8000.0]))[0], n_mels + 2
    )
    hz_points = _mel_to_hz(mel_points)
    widths = np.diff(hz_points)
    slopes = hz_points[:, None] - fft_freqs[None, :]
    down = -slopes[:-2] / widths[:-1, None]
    up = slopes[2:] / widths[1:, None]
    filters = np.maximum(0.0, np.minimum(down, up))
    enorm = 2.0 / (hz_points[2:] - hz_points[:-2])
    out: npt.NDArray[np.float64] = filters * enorm[:, None]
    out.setflags(write=False)
    return out


@lru_cache(maxsize=1)
def _hann() -> npt.NDArray[np.float64]:
    window: npt.NDArray[np.float64] = np.hanning(N_FFT + 1)[:-1]  # periodic
    return window


def log_mel(samples: npt.NDArray[np.floating], n_mels: int = 80) -> Floats:
    """[n_mels, 3000] float32 features of up to 30 s of 16 kHz mono audio."""
    if n_mels not in (80, 128):
        raise ValueError(f"Whisper uses 80 or 128 mel bins, not {n_mels}")
    audio = np.zeros(N_SAMPLES, dtype=np.float64)
    clip = np.asarray(samples, dtype=np.float64).reshape(-1)[:N_SAMPLES]
    audio[: len(clip)] = clip
    padded = np.pad(audio, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH]
    spectrum = np.fft.rfft(frames * _hann(), axis=1)  # [3001, 201]
    power = spectrum.real**2 + spectrum.imag**2
    mel = mel_filters(n_mels) @ power[:-1].T  # [n_mels, 3000]
    logs = np.log10(np.maximum(mel, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    result: Floats = ((logs + 4.0) / 4.0).astype(np.float32)
    return result
