"""Decoding only what the index needs, with PyAV: keyframes where they fall, reference frames
where a grid time lies between keyframes, nothing else.

Two passes over the file: demuxing (no decoding) gives every frame's time and keyframe flag,
:func:`core.ingest.plan.plan` picks the frames and the packet ranges that must be decoded; the
second pass sends only those packets to the decoder — the kept frames with full decoding,
every other packet of a range with ``skip_frame="NONREF"`` (a frame nothing refers to is not
decoded at all) — drains the decoder at the end of each range and flushes it before the next,
so packets between ranges are read but never decoded. No seeking: the same pass works on
files without an index.

Anything unexpected (no timestamps, packets that do not match between the passes, a frame of
the plan that never comes out of the decoder, a decoder error) raises :class:`Unsupported`, and
the caller falls back to the OpenCV reference sampler: decoding faster never costs a frame.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from core.ingest.plan import DecodePlan, Packet, plan
from core.pathnames import openable

#: Decoder threads per video (FFmpeg's frame and slice threads): the encoder and other decode
#: workers share the cores, so one decoder does not take them all.
DECODER_THREADS = max(1, min(4, os.cpu_count() or 1))


#: Decoded frames held while an earlier one of the plan is still to come out (B-frame
#: reordering needs a few); more means that one is lost, and memory must not grow.
MAX_WAITING = 8


class Unsupported(RuntimeError):
    """This file is not one the fast path handles; the reference sampler should read it."""


@dataclass(frozen=True)
class Kept:
    """A decoded frame of the plan: its true presentation time, its grid time and pixels."""

    t: float
    grid: float
    rgb: np.ndarray


@dataclass(frozen=True)
class Stats:
    """How much work a plan asks of the decoder (for benchmarks and logs)."""

    frames: int  # frames in the stream
    sent: int  # packets sent to the decoder
    kept: int


def _open(path: Path) -> Any:
    try:
        return av.open(openable(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise Unsupported(f"PyAV cannot open it: {exc}") from None


def _stream(container: Any) -> Any:
    if not container.streams.video:
        raise Unsupported("no video stream")
    return container.streams.video[0]


def read_packets(path: Path) -> tuple[list[Packet], float]:
    """Every frame's packet, in decode order, with times from the stream's start; and the
    stream's first presentation timestamp (seconds) that those times are relative to."""
    container = _open(path)
    try:
        stream = _stream(container)
        base = stream.time_base
        if base is None:
            raise Unsupported("no time base")
        raw: list[tuple[int, bool]] = []
        for packet in container.demux(stream):
            if packet.size == 0:
                continue  # the demuxer's end-of-stream marker
            if packet.pts is None:
                raise Unsupported("packets without presentation timestamps")
            raw.append((int(packet.pts), bool(packet.is_keyframe)))
    except av.FFmpegError as exc:
        raise Unsupported(f"demuxing failed: {exc}") from None
    finally:
        container.close()
    if not raw:
        raise Unsupported("no video packets")
    first = min(pts for pts, _ in raw)
    if len({pts for pts, _ in raw}) != len(raw):
        raise Unsupported("repeated presentation timestamps")
    start = float(first * base)
    packets = [Packet(i, float(pts * base) - start, key) for i, (pts, key) in enumerate(raw)]
    return packets, start


def _rgb(frame: Any) -> np.ndarray:
    """The frame upright, as RGB: PyAV does not apply a display rotation (OpenCV does)."""
    rgb = frame.to_ndarray(format="rgb24")
    turns = (int(getattr(frame, "rotation", 0) or 0) // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def decode_plan(path: Path, packets: list[Packet], start: float, p: DecodePlan) -> Iterator[Kept]:
    """The plan's frames, in presentation order, decoded from as few packets as it allows."""
    keep = set(p.keep)
    grid_of = dict(zip(p.keep, p.grid, strict=True))
    ranges = list(p.ranges)
    container = _open(path)
    try:
        stream = _stream(container)
        ctx = stream.codec_context
        ctx.thread_type = "AUTO"
        ctx.thread_count = DECODER_THREADS
        base: Fraction = stream.time_base
        wanted_pts = {round((packets[i].t + start) / base): i for i in keep}
        found: dict[int, Kept] = {}
        emitted = 0
        r = 0
        index = -1

        def collect(frames: list[Any]) -> None:
            for frame in frames:
                i = wanted_pts.get(frame.pts) if frame.pts is not None else None
                if i is not None and i not in found:
                    found[i] = Kept(packets[i].t, grid_of[i], _rgb(frame))

        def flush_ready() -> Iterator[Kept]:
            nonlocal emitted
            while emitted < len(p.keep) and p.keep[emitted] in found:
                yield found.pop(p.keep[emitted])
                emitted += 1
            if len(found) > MAX_WAITING:  # the one before them never came: do not hoard frames
                raise Unsupported(f"the frame at {packets[p.keep[emitted]].t:.2f} s is missing")

        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            index += 1
            if index >= len(packets) or packet.pts is None:
                raise Unsupported("packets differ between the two passes")
            if round((packets[index].t + start) / base) != packet.pts:
                raise Unsupported("packets differ between the two passes")
            while r < len(ranges) and index > ranges[r][1]:
                r += 1
            if r >= len(ranges):
                break
            first, last = ranges[r]
            if index < first:
                continue  # between ranges: read, never decoded
            ctx.skip_frame = "DEFAULT" if index in keep else "NONREF"
            collect(ctx.decode(packet))
            if index == last:  # end of a range: what the decoder holds, then a clean start
                ctx.skip_frame = "DEFAULT"
                collect(ctx.decode(None))
                ctx.flush_buffers()
            yield from flush_ready()
        yield from flush_ready()
    except av.FFmpegError as exc:
        raise Unsupported(f"decoding failed: {exc}") from None
    finally:
        container.close()
    if emitted < len(p.keep):
        missing = p.keep[emitted]
        raise Unsupported(
            f"the frame at {packets[missing].t:.2f} s never came out of the decoder"
            f" ({len(p.keep) - emitted} of {len(p.keep)} missing)"
        )


def fast_frames(path: Path, rate: float) -> Iterator[Kept]:
    """Frames for a ``rate`` frames-per-second index (see the module docstring)."""
    packets, start = read_packets(path)
    yield from decode_plan(path, packets, start, plan(packets, 1.0 / rate))


def plan_stats(path: Path, rate: float) -> Stats:
    packets, _ = read_packets(path)
    p = plan(packets, 1.0 / rate)
    return Stats(len(packets), p.decoded, len(p.keep))
