"""Saving a matched moment as a video file of its own, with its sound.

PyAV (FFmpeg in its wheels) decodes from the keyframe before ``t0`` and drops what comes before
it, so the cut is exact to the frame rather than to the keyframe (a phone's keyframes can be
seconds apart): the first frame of the clip is the one on screen at ``t0``. Video is re-encoded
as H.264 (``libx264``, yuv420p, the source's size, frame rate and timestamps, so variable frame
rate stays in step with the sound); MPEG-4 Part 2 if the build has no H.264 encoder. Sound is
re-encoded as AAC at the source's sample rate and channel layout, trimmed to the sample. Both
start at zero. Times are seconds from the start of the video stream, as OpenCV's
``CAP_PROP_POS_MSEC`` reports them (the sampler's clock). The source's rotation (its display
matrix, which is what phones write for portrait video) is carried over; frames are stored as
decoded, the player turns them. HDR and 10-bit sources come out as 8-bit yuv420p.

The file is written under a temporary name in the destination folder and renamed when
complete, so a half-written clip never carries the name the user chose; an error or a cancel
removes it. The destination's suffix picks the container: ``.mp4`` (also when there is no
suffix), ``.m4v``, ``.mov`` or ``.mkv``.

A clip keeps when and where its moment was shot (see :func:`shot_tags`): the source's shooting
date, read by :func:`core.ingest.capture.read_capture` as a scan reads it, plus ``t0``, so the
clip's start is when that moment was filmed and a clip copied into a watched folder files under
that day, in the zone it was shot in, and with the source's place.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from core.pathnames import openable, readable

log = logging.getLogger(__name__)

CONTAINERS = {"": "mp4", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
# AAC (FFmpeg's native encoder) takes these layouts; anything else is mixed down to stereo.
_AAC_LAYOUTS = {"mono", "stereo", "3.0", "4.0", "5.0(side)", "5.1(side)", "5.0", "5.1", "7.1"}


class SegmentExportError(RuntimeError):
    """The clip cannot be saved; the message says why in one line."""


class SegmentExportCancelled(SegmentExportError):
    """The caller's cancel event was set; nothing was left behind."""


def _stamp(t: float) -> str:
    s = max(0, int(t))
    return f"{s // 3600:02d}-{s % 3600 // 60:02d}-{s % 60:02d}"


def suggest_name(source: str | os.PathLike[str], t0: float, t1: float) -> str:
    """``birthday.mov`` at 83–91 s → ``birthday_00-01-23_to_00-01-31.mp4``.

    Always valid Unicode: a source named in Latin-1 (``caf\\xe9.mov``) gives ``caf_…`` — a
    file dialog would otherwise drop the odd byte silently (found saving such a clip)."""
    stem = readable(Path(source).stem).replace("\ufffd", "_")
    return f"{stem}_{_stamp(t0)}_to_{_stamp(t1)}.mp4"


def shot_tags(source: str | os.PathLike[str], t0: float, fmt: str) -> dict[str, str]:
    """The container tags that date and place a clip of ``source`` starting at ``t0`` seconds,
    for the muxer ``fmt`` (a value of :data:`CONTAINERS`).

    The start is the source's shooting date plus ``t0``, to the nearest second (what the tags
    hold). Every dated clip gets ``creation_time`` in UTC (MP4's ``mvhd``, Matroska's
    ``DateUTC``: what every tool reads); the date in the zone it was shot in goes under
    ``com.apple.quicktime.creationdate`` (MP4/MOV, ``2014-06-09T14:03:22+0200``) or Matroska's
    ``DATE_RECORDED`` (``2014-06-09T14:03:22+02:00``), which ClipSeek reads first. The place
    (ISO 6709) goes under ``com.apple.quicktime.location.ISO6709`` (MP4/MOV) and ``location``
    (FFmpeg writes it as MP4's ``loci``, MOV's keys, a Matroska tag).

    A source dated only by its modification time gets ``creation_time`` alone: that date is weak
    (a copy or an edit may have set it), but it is still the best guess of the month the moment
    belongs to, and without it the clip would file under the day it was saved. It is not raised
    to a camera's zoned date, which scans trust first. A source with no date at all (not even a
    plausible mtime) gives no date: none is invented.
    """
    from core.ingest.capture import read_capture

    capture = read_capture(Path(source))
    tags: dict[str, str] = {}
    if capture.captured_at is not None:
        start = capture.captured_at + timedelta(seconds=t0, microseconds=500_000)
        start = start.replace(microsecond=0)
        tags["creation_time"] = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        if capture.source != "mtime":
            if fmt == "matroska":
                tags["DATE_RECORDED"] = start.isoformat("T", "seconds")
            else:
                tags["com.apple.quicktime.creationdate"] = start.strftime("%Y-%m-%dT%H:%M:%S%z")
    if capture.location:
        if fmt != "matroska":
            tags["com.apple.quicktime.location.ISO6709"] = capture.location
        tags["location"] = capture.location
    return tags


def video_encoder() -> str:
    """The encoder clips are written with: ``libx264`` where the FFmpeg build has it."""
    import av

    for name in ("libx264", "libopenh264"):
        try:
            av.Codec(name, "w")
            return name
        except (av.FFmpegError, ValueError):  # UnknownCodecError is a ValueError
            continue
    return "mpeg4"


def save_segment(
    source: str | os.PathLike[str],
    t0: float,
    t1: float,
    dest: str | os.PathLike[str],
    *,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write ``source`` from ``t0`` to ``t1`` seconds to ``dest`` (replacing it); returns it.

    ``t1`` past the end is clamped to the video's duration. ``on_progress`` gets the fraction
    of the clip written (0 first, 1 last, never going back, in steps of at least 1 %), from the
    calling thread. Raises :class:`SegmentExportError` with a one-line reason, or
    :class:`SegmentExportCancelled` once ``cancel`` is set.
    """
    import av

    src, out = Path(source), Path(dest)
    if not t1 > t0:  # also catches NaN
        raise SegmentExportError(f"the end ({t1:g} s) must come after the start ({t0:g} s)")
    if t0 < 0:
        raise SegmentExportError(f"the start ({t0:g} s) is before the beginning of the video")
    if not src.is_file():
        raise SegmentExportError(f"no such video: {src}")
    fmt = CONTAINERS.get(out.suffix.lower())
    if fmt is None:
        raise SegmentExportError(
            f"cannot save as {out.suffix}: choose .mp4, .mov or .mkv ({out.name})"
        )
    if out.exists() and (out.is_dir() or os.path.samefile(out, src)):
        if out.is_dir():
            raise SegmentExportError(f"{out} is a folder, not a file name")
        raise SegmentExportError("a clip cannot overwrite the video it is cut from")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK | os.X_OK):
        raise SegmentExportError(f"cannot write to the folder {out.parent}")
    # Hidden, unique (two saves to one name do not collide), same folder (rename is atomic).
    tmp = out.with_name(f".{out.stem}.{uuid.uuid4().hex[:8]}.partial{out.suffix}")
    try:
        _cut(av, src, t0, t1, tmp, fmt, _Progress(on_progress), cancel)
        os.replace(tmp, out)
    except SegmentExportError:
        tmp.unlink(missing_ok=True)
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise SegmentExportError(f"could not save {out.name} from {src.name}: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if on_progress is not None:
        on_progress(1.0)
    return out


class _Progress:
    """Calls back in steps of at least 1 %, never going back."""

    def __init__(self, callback: Callable[[float], None] | None) -> None:
        self.callback, self.last = callback, -1.0

    def __call__(self, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 0.999)  # 1.0 only once the file has its name
        if self.callback is not None and fraction >= self.last + 0.01:
            self.last = fraction
            self.callback(fraction)


def _display_matrix(frame: Any) -> list[int] | None:
    """The 3x3 display matrix a decoded frame carries (rotation, flips), or None."""
    # PyAV 18.1.0 iterates a frame's side data as its entries (and its values() breaks), 18.1.1
    # as its keys (a fresh install took 18.1.1 and saving a clip failed): take either
    container = frame.side_data
    for item in container:
        side = item if hasattr(item, "type") else container[item]
        if getattr(side.type, "name", "") == "DISPLAYMATRIX" and side.buffer_size == 36:
            matrix = list(struct.unpack("<9i", bytes(memoryview(side))))
            identity = [65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30]
            return None if matrix == identity else matrix
    return None


def _open(av: Any, src: Path) -> Any:
    try:
        inp = av.open(openable(src))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise SegmentExportError(
            f"{readable(src.name)} is not a video that can be read ({exc})"
        ) from None
    if not inp.streams.video:
        inp.close()
        raise SegmentExportError(f"{readable(src.name)} has no video stream")
    inp.streams.video[0].thread_type = "AUTO"
    return inp


class _SeekLandedLate(Exception):
    """The seek put the decoder past t0 (or nowhere), and nothing has been encoded yet."""


def _cut(
    av: Any,
    src: Path,
    t0: float,
    t1: float,
    tmp: Path,
    fmt: str,
    progress: _Progress,
    cancel: threading.Event | None,
) -> None:
    inp = _open(av, src)
    try:
        vin = inp.streams.video[0]
        # The clock: seconds from the video stream's first timestamp (as OpenCV counts them).
        zero = float(vin.start_time * vin.time_base) if vin.start_time is not None else 0.0
        duration = None
        if vin.duration:
            duration = float(vin.duration * vin.time_base)
        elif inp.duration:
            duration = inp.duration / av.time_base - (zero - (inp.start_time or 0) / av.time_base)
        if duration is not None:
            if t0 >= duration:
                raise SegmentExportError(
                    f"{src.name} is only {duration:.1f} s long; the clip starts at {t0:.1f} s"
                )
            t1 = min(t1, duration)
        tags = shot_tags(src, t0, fmt)
        # FFmpeg writes QuickTime's keys (com.apple.quicktime.*) only when asked to.
        options = {"movflags": "use_metadata_tags"} if tags and fmt != "matroska" else {}
        with av.open(str(tmp), "w", format=fmt, options=options) as outc:
            outc.metadata.update(tags)
            cutter = _Cutter(av, inp, outc, src.name, zero, t0, t1, progress, cancel)
            target = int((t0 + zero) / vin.time_base) if vin.time_base and t0 > 0 else None
            try:
                cutter.run(inp, seek_to=target)
            except _SeekLandedLate:
                # Files without an index (MPEG-TS, some broken MP4s) can seek past a long GOP's
                # keyframe: read from the beginning instead, slower but right.
                log.info("%s: seeking missed t0 = %.3f s; decoding from the start", src.name, t0)
                inp.close()
                inp = _open(av, src)
                cutter.run(inp, seek_to=None)
            cutter.finish()
    finally:
        inp.close()


class _Cutter:
    """Decodes the source from a seek point, keeps [t0, t1) and encodes it on a clock from 0."""

    def __init__(
        self,
        av: Any,
        inp: Any,
        outc: Any,
        name: str,
        zero: float,
        t0: float,
        t1: float,
        progress: _Progress,
        cancel: threading.Event | None,
    ) -> None:
        self.av, self.outc, self.name, self.zero = av, outc, name, zero
        self.t0, self.t1, self.progress, self.cancel = t0, t1, progress, cancel
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        rate = vin.average_rate or vin.guessed_rate or Fraction(30)
        # A frame this close to t0 or t1 is "at" it (float times that went through milliseconds).
        self.eps = min(1e-3, 0.25 / float(rate))

        encoder = video_encoder()
        vout = outc.add_stream(encoder, rate=rate)
        width, height = vin.codec_context.width, vin.codec_context.height
        vout.width, vout.height = width // 2 * 2, height // 2 * 2
        vout.pix_fmt = "yuv420p"
        if vin.sample_aspect_ratio:
            vout.codec_context.sample_aspect_ratio = vin.sample_aspect_ratio
        # The source's clock, so a variable frame rate keeps its timing.
        self.vtb = vin.time_base or 1 / Fraction(rate)
        vout.codec_context.time_base = self.vtb
        if encoder == "libx264":
            vout.options = {"crf": "20", "preset": "veryfast"}
        elif encoder == "mpeg4":
            vout.codec_context.bit_rate = int(vout.width * vout.height * float(rate) * 0.2)
        self.vout = vout

        self.aout = self.resampler = None
        self.wanted_samples = 0
        if ain is not None:
            sr = ain.codec_context.sample_rate or 48000
            if sr not in av.Codec("aac", "w").audio_rates:
                sr = 48000
            layout = ain.codec_context.layout.name if ain.codec_context.layout else ""
            if layout not in _AAC_LAYOUTS:
                layout = "mono" if ain.codec_context.channels == 1 else "stereo"
            self.aout = outc.add_stream("aac", rate=sr)
            self.aout.layout = layout
            self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=sr)
            self.wanted_samples = round((t1 - t0) * sr)

        self.frames = 0  # video frames encoded
        self.last_pts = -1
        self.audio_pos: int | None = None  # next resampled sample, on the clip's clock
        self.written = 0  # samples handed to the AAC encoder

    def run(self, inp: Any, seek_to: int | None) -> None:
        av, t0, t1, eps = self.av, self.t0, self.t1, self.eps
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        if seek_to is not None:  # to the keyframe at or before t0, then decode forward
            inp.seek(seek_to, stream=vin, backward=True, any_frame=False)
        before = None  # the latest frame before t0: it is on screen at t0
        early_sound: list[tuple[Any, float]] = []  # held until the first frame is encoded
        video_done = False
        for packet in inp.demux(*([vin] + ([ain] if ain is not None else []))):
            if self.cancel is not None and self.cancel.is_set():
                raise SegmentExportCancelled("cancelled; nothing was saved")
            is_video = packet.stream.index == vin.index
            try:
                frames = packet.decode()
            except av.InvalidDataError as exc:  # a damaged packet: skip it as players do
                log.warning("%s: skipping a damaged packet (%s)", self.name, exc)
                continue
            for frame in frames:
                if frame.pts is None or frame.time is None:
                    continue
                t = float(frame.time) - self.zero
                if is_video:
                    if video_done:
                        continue
                    if self.frames == 0:
                        if t < t0 - eps:
                            before = frame
                            continue
                        if t > t0 + eps and before is None and seek_to is not None:
                            raise _SeekLandedLate
                        if t > t0 + eps and before is not None:
                            self.video(before, t0)  # the frame on screen at t0
                        if self.frames == 0 or t < t1 - eps:
                            self.video(frame, t)
                        else:
                            video_done = True
                        for held in early_sound:
                            self.audio(*held)
                        early_sound.clear()
                    elif t < t1 - eps:
                        self.video(frame, t)
                    else:
                        video_done = True
                elif (
                    self.aout is not None
                    and self.written < self.wanted_samples
                    and t + frame.samples / (frame.sample_rate or 1) > t0
                ):
                    if self.frames == 0:
                        early_sound.append((frame, t))
                    else:
                        self.audio(frame, t)
            if video_done and self.written >= self.wanted_samples:
                break
            if is_video and packet.dts is not None and packet.dts * vin.time_base > t1 + 5:
                break  # the sound track stops early; do not read the rest of the file
        if self.frames == 0 and before is not None:  # t0 falls on the last frame
            self.video(before, t0)
        if self.frames == 0 and seek_to is not None:
            raise _SeekLandedLate
        if self.frames == 0:
            raise SegmentExportError(
                f"no frame of {self.name} lies between {t0:g} and {self.t1:g} s"
            )
        for held in early_sound:
            self.audio(*held)

    def video(self, frame: Any, t: float) -> None:
        if self.frames == 0:
            matrix = _display_matrix(frame)
            if matrix is not None:
                self.vout.set_display_matrix(matrix)
        pts = max(round((t - self.t0) / self.vtb), self.last_pts + 1) if self.frames else 0
        self.last_pts = pts
        frame = frame.reformat(self.vout.width, self.vout.height, "yuv420p")
        frame.pts, frame.time_base = pts, self.vtb
        for p in self.vout.encode(frame):
            self.outc.mux(p)
        self.frames += 1
        self.progress((t - self.t0) / (self.t1 - self.t0))

    def audio(self, frame: Any, t: float) -> None:
        assert self.resampler is not None
        for r in self.resampler.resample(frame):
            data = r.to_ndarray()
            if self.audio_pos is None:
                # Where this frame begins on the clip's clock, in samples.
                self.audio_pos = round((t - self.t0) * r.sample_rate)
                if self.audio_pos > 0:  # the sound begins after t0: silence until it does
                    pad = min(self.audio_pos, self.wanted_samples)
                    self.samples(np.zeros((data.shape[0], pad), np.float32))
                    self.audio_pos = self.written
            start = self.audio_pos
            self.audio_pos += data.shape[1]
            lo, hi = max(0, -start), min(data.shape[1], self.wanted_samples - start)
            if hi > lo:
                self.samples(data[:, lo:hi])

    def samples(self, data: Any) -> None:
        assert self.aout is not None
        frame = self.av.AudioFrame.from_ndarray(
            np.ascontiguousarray(data, dtype=np.float32),
            format="fltp",
            layout=self.aout.layout.name,
        )
        frame.sample_rate = self.aout.rate
        frame.pts, frame.time_base = self.written, Fraction(1, self.aout.rate)
        self.written += data.shape[1]
        for p in self.aout.encode(frame):
            self.outc.mux(p)

    def finish(self) -> None:
        for p in self.vout.encode(None):
            self.outc.mux(p)
        if self.aout is not None:
            for p in self.aout.encode(None):
                self.outc.mux(p)
