"""A video's first audio stream as 16 kHz mono float32, decoded by PyAV in bounded chunks.

Hours of audio never sit in memory at once: :func:`iter_audio` yields contiguous chunks of at
most ``chunk_s`` seconds (30 s by default, Whisper's window), and :func:`iter_windows` cuts the
stream into the (sorted, non-overlapping) windows the transcriber asks for, holding at most one
window plus one chunk. A video without an audio stream gives no chunks; a file PyAV cannot open
or whose audio cannot be decoded at all raises ``ValueError`` with a one-line message (a missing
file raises ``OSError``). Single damaged packets inside an otherwise readable stream are skipped,
as a player would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

#: Whisper's sampling rate.
SAMPLE_RATE = 16_000

Samples = npt.NDArray[np.float32]
_T = TypeVar("_T")


@dataclass(frozen=True)
class AudioChunk:
    """``samples`` (float32, mono, 16 kHz) starting ``start`` seconds into the video."""

    start: float
    samples: Samples

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / SAMPLE_RATE


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def audio_duration(path: Path) -> float | None:
    """The audio stream's duration in seconds as the container states it (None when the video
    has no audio stream or does not say)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            return None
    except FileNotFoundError as error:
        raise OSError(f"{path.name}: {_one_line(error)}") from None
    except (av.FFmpegError, OSError, ValueError) as error:
        raise ValueError(f"{path.name}: cannot read its audio ({_one_line(error)})") from None


def iter_audio(path: Path, *, chunk_s: float = 30.0) -> Iterator[AudioChunk]:
    """Yield the first audio stream as contiguous chunks of at most ``chunk_s`` seconds."""
    import av

    limit = max(1, round(chunk_s * SAMPLE_RATE))
    try:
        container = av.open(str(path))
    except FileNotFoundError as error:
        raise OSError(f"{path.name}: {_one_line(error)}") from None
    except (av.FFmpegError, OSError, ValueError) as error:
        raise ValueError(f"{path.name}: cannot read its audio ({_one_line(error)})") from None
    with container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        pending: list[Samples] = []
        held = 0
        start: float | None = None
        emitted = 0  # samples yielded so far
        decoded_any = False
        failures = 0
        last_error: BaseException | None = None

        def frames() -> Iterator[av.AudioFrame]:
            nonlocal failures, last_error, decoded_any
            try:
                for packet in container.demux(stream):
                    try:
                        decoded = packet.decode()
                    except (av.FFmpegError, ValueError) as error:
                        failures += 1
                        last_error = error
                        continue
                    for frame in decoded:
                        if isinstance(frame, av.AudioFrame):
                            decoded_any = True
                            yield frame
            except (av.FFmpegError, ValueError, OSError) as error:
                # A container damaged past this point: keep what was decoded before it.
                failures += 1
                last_error = error

        def resampled(frame: av.AudioFrame | None) -> Iterator[Samples]:
            for out in resampler.resample(frame):
                array = out.to_ndarray()
                yield np.ascontiguousarray(array.reshape(-1), dtype=np.float32)

        def take(count: int) -> Samples:
            nonlocal held
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            head, tail = joined[:count], joined[count:]
            pending.clear()
            if len(tail):
                pending.append(tail)
            held = len(tail)
            return np.ascontiguousarray(head)

        for frame in _chain(frames()):
            if start is None and frame is not None:
                start = max(0.0, float(frame.time)) if frame.time is not None else 0.0
            for samples in resampled(frame):
                pending.append(samples)
                held += len(samples)
                while held >= limit:
                    chunk = take(limit)
                    yield AudioChunk(start=(start or 0.0) + emitted / SAMPLE_RATE, samples=chunk)
                    emitted += len(chunk)
        if held:
            chunk = take(held)
            yield AudioChunk(start=(start or 0.0) + emitted / SAMPLE_RATE, samples=chunk)
        if not decoded_any and failures:
            raise ValueError(
                f"{path.name}: its audio cannot be decoded ({_one_line(last_error or Exception())})"
            )


def _chain(frames: Iterator[_T]) -> Iterator[_T | None]:
    """The decoded frames, then ``None`` (which flushes the resampler)."""
    yield from frames
    yield None


def iter_windows(
    path: Path, windows: Sequence[tuple[float, float]], *, chunk_s: float = 30.0
) -> Iterator[AudioChunk]:
    """Yield the audio of each ``(start, end)`` window (seconds; sorted, non-overlapping) in
    order, decoding the stream once. A window past the end of the audio comes back shorter, or
    not at all."""
    if not windows:
        return
    buffer: list[AudioChunk] = []
    index = 0

    def cut(start: float, end: float) -> AudioChunk:
        parts: list[Samples] = []
        for chunk in buffer:
            lo = max(0, round((start - chunk.start) * SAMPLE_RATE))
            hi = min(len(chunk.samples), round((end - chunk.start) * SAMPLE_RATE))
            if hi > lo:
                parts.append(chunk.samples[lo:hi])
        first = next((c for c in buffer if c.end > start), None)
        begin = max(start, first.start) if first is not None else start
        samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return AudioChunk(start=begin, samples=samples.astype(np.float32, copy=False))

    for chunk in iter_audio(path, chunk_s=chunk_s):
        buffer.append(chunk)
        while index < len(windows) and chunk.end >= windows[index][1]:
            yield cut(*windows[index])
            index += 1
        # Keep only what a later window may still need.
        keep_from = windows[index][0] if index < len(windows) else chunk.end
        buffer = [c for c in buffer if c.end > keep_from]
        if index >= len(windows):
            return
    while index < len(windows):
        piece = cut(*windows[index])
        index += 1
        if len(piece.samples):
            yield piece
