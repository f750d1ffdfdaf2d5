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
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import uuid
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

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
    """``birthday.mov`` at 83–91 s → ``birthday_00-01-23_to_00-01-31.mp4``."""
    return f"{Path(source).stem}_{_stamp(t0)}_to_{_stamp(t1)}.mp4"


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
    for side in frame.side_data:  # iterating gives the entries themselves
        if getattr(side.type, "name", "") == "DISPLAYMATRIX" and side.buffer_size == 36:
            matrix = list(struct.unpack("<9i", bytes(memoryview(side))))
            identity = [65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30]
            return None if matrix == identity else matrix
    return None


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
    try:
        inp = av.open(str(src))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise SegmentExportError(f"{src.name} is not a video that can be read ({exc})") from None
    with inp:
        if not inp.streams.video:
            raise SegmentExportError(f"{src.name} has no video stream")
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        ain = inp.streams.audio[0] if inp.streams.audio else None
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
        length = t1 - t0
        rate = vin.average_rate or vin.guessed_rate or Fraction(30)
        # A frame this close to t0 or t1 is "at" it (float times that went through milliseconds).
        eps = min(1e-3, 0.25 / float(rate))

        with av.open(str(tmp), "w", format=fmt) as outc:
            encoder = video_encoder()
            vout = outc.add_stream(encoder, rate=rate)
            width, height = vin.codec_context.width, vin.codec_context.height
            vout.width, vout.height = width // 2 * 2, height // 2 * 2
            vout.pix_fmt = "yuv420p"
            if vin.sample_aspect_ratio:
                vout.codec_context.sample_aspect_ratio = vin.sample_aspect_ratio
            # The source's clock, so a variable frame rate keeps its timing.
            vtb = vin.time_base or 1 / Fraction(rate)
            vout.codec_context.time_base = vtb
            if encoder == "libx264":
                vout.options = {"crf": "20", "preset": "veryfast"}
            elif encoder == "mpeg4":
                vout.codec_context.bit_rate = int(vout.width * vout.height * float(rate) * 0.2)

            aout = resampler = None
            if ain is not None:
                sr = ain.codec_context.sample_rate or 48000
                if sr not in av.Codec("aac", "w").audio_rates:
                    sr = 48000
                layout = ain.codec_context.layout.name if ain.codec_context.layout else ""
                if layout not in _AAC_LAYOUTS:
                    layout = "mono" if ain.codec_context.channels == 1 else "stereo"
                aout = outc.add_stream("aac", rate=sr)
                aout.layout = layout
                resampler = av.AudioResampler(format="fltp", layout=layout, rate=sr)

            state = _State()
            wanted_samples = round(length * aout.rate) if aout is not None else 0

            def encode_video(frame: Any, t: float) -> None:
                if state.frames == 0:
                    matrix = _display_matrix(frame)
                    if matrix is not None:
                        vout.set_display_matrix(matrix)
                pts = max(round((t - t0) / vtb), 0) if state.frames else 0
                pts = max(pts, state.last_pts + 1)
                state.last_pts = pts
                frame = frame.reformat(vout.width, vout.height, "yuv420p")
                frame.pts, frame.time_base = pts, vtb
                for p in vout.encode(frame):
                    outc.mux(p)
                state.frames += 1
                progress((t - t0) / length)

            def encode_audio(frame: Any, t: float) -> None:
                assert aout is not None and resampler is not None
                for r in resampler.resample(frame):
                    if state.audio_pos is None:
                        # Where this frame begins on the clip's clock, in samples.
                        state.audio_pos = round((t - t0) * r.sample_rate)
                        if state.audio_pos > 0:  # sound begins after t0: pad with silence
                            pad = min(state.audio_pos, wanted_samples)
                            _encode_samples(av, aout, outc, state, _silence(r, pad))
                            state.audio_pos = state.written  # continue right after the pad
                    data = r.to_ndarray()
                    start = state.audio_pos
                    state.audio_pos += data.shape[1]
                    lo, hi = max(0, -start), min(data.shape[1], wanted_samples - start)
                    if hi > lo:
                        _encode_samples(av, aout, outc, state, data[:, lo:hi])

            # Seek on the video stream to the keyframe at or before t0, then decode forward.
            target = int((t0 + zero) / vin.time_base) if vin.time_base else 0
            inp.seek(max(target, 0), stream=vin, backward=True, any_frame=False)
            streams = [vin] + ([ain] if ain is not None else [])
            before = None  # the latest frame before t0: it is on screen at t0
            for packet in inp.demux(*streams):
                if cancel is not None and cancel.is_set():
                    raise SegmentExportCancelled("cancelled; nothing was saved")
                is_video = packet.stream.index == vin.index
                try:
                    frames = packet.decode()
                except av.InvalidDataError as exc:  # a damaged packet: skip it as players do
                    log.warning("%s: skipping a damaged packet (%s)", src.name, exc)
                    continue
                for frame in frames:
                    if frame.pts is None or frame.time is None:
                        continue
                    t = float(frame.time) - zero
                    if is_video:
                        if state.video_done:
                            continue
                        if state.frames == 0:
                            if t < t0 - eps:
                                before = frame
                                continue
                            if t > t0 + eps and before is not None:
                                encode_video(before, t0)  # the frame on screen at t0
                            if state.frames == 0 or t < t1 - eps:
                                encode_video(frame, t)
                            else:
                                state.video_done = True
                        elif t < t1 - eps:
                            encode_video(frame, t)
                        else:
                            state.video_done = True
                    elif (
                        aout is not None
                        and state.written < wanted_samples
                        and t + frame.samples / (frame.sample_rate or 1) > t0
                    ):
                        encode_audio(frame, t)
                audio_done = aout is None or state.written >= wanted_samples
                if state.video_done and audio_done:
                    break
                if (
                    is_video
                    and packet.dts is not None
                    and float(packet.dts * vin.time_base) - zero > t1 + 5
                ):
                    break  # the sound track stops early; do not read the rest of the file
            if state.frames == 0 and before is not None:  # t0 falls on the last frame
                encode_video(before, t0)
            if state.frames == 0:
                raise SegmentExportError(f"no frame of {src.name} lies between {t0:g} and {t1:g} s")
            for p in vout.encode(None):
                outc.mux(p)
            if aout is not None:
                for p in aout.encode(None):
                    outc.mux(p)


class _State:
    def __init__(self) -> None:
        self.frames = 0
        self.last_pts = -1
        self.video_done = False
        self.audio_pos: int | None = None  # next resampled sample, on the clip's clock
        self.written = 0  # samples handed to the AAC encoder


def _silence(like: Any, samples: int) -> Any:
    import numpy as np

    return np.zeros((len(like.layout.channels), samples), np.float32)


def _encode_samples(av: Any, aout: Any, outc: Any, state: _State, data: Any) -> None:
    import numpy as np

    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(data, dtype=np.float32), format="fltp", layout=aout.layout.name
    )
    frame.sample_rate = aout.rate
    frame.pts, frame.time_base = state.written, Fraction(1, aout.rate)
    state.written += data.shape[1]
    for p in aout.encode(frame):
        outc.mux(p)
