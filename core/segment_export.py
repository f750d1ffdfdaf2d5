"""Saving a matched moment as a video file of its own, with its sound.

PyAV (FFmpeg in its wheels) decodes from the keyframe before ``t0`` and drops what comes before
it, so the cut is exact to the frame rather than to the keyframe (a phone's keyframes can be
seconds apart). Video is re-encoded as H.264 (MPEG-4 Part 2 if the build has no H.264
encoder), audio as AAC; timestamps start at zero. The file is written under a temporary name in
the destination folder and renamed when complete, so a half-written clip never carries the
name the user chose. The source's rotation metadata is not carried over: the frames are saved as
stored.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path


class SegmentExportError(RuntimeError):
    """The clip cannot be saved; the message says why in one line."""


class SegmentExportCancelled(SegmentExportError):
    pass


def _stamp(t: float) -> str:
    s = max(0, int(t))
    return f"{s // 3600:02d}-{s % 3600 // 60:02d}-{s % 60:02d}"


def suggest_name(source: str | os.PathLike[str], t0: float, t1: float) -> str:
    """``birthday.mov`` at 83–91 s → ``birthday_00-01-23_to_00-01-31.mp4``."""
    return f"{Path(source).stem}_{_stamp(t0)}_to_{_stamp(t1)}.mp4"


def _video_codec(av) -> str:
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def save_segment(
    source: str | os.PathLike[str],
    t0: float,
    t1: float,
    dest: str | os.PathLike[str],
    *,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write ``source`` from ``t0`` to ``t1`` seconds to ``dest``; returns ``dest``."""
    import av

    src, out = Path(source), Path(dest)
    if t1 <= t0:
        raise SegmentExportError(f"the end ({t1:g} s) must come after the start ({t0:g} s)")
    if not src.is_file():
        raise SegmentExportError(f"no such video: {src}")
    if out.exists() and out.resolve() == src.resolve():
        raise SegmentExportError("a clip cannot overwrite the video it is cut from")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise SegmentExportError(f"cannot write to the folder {out.parent}")
    tmp = out.with_name(f".{out.stem}.partial{out.suffix or '.mp4'}")
    try:
        _cut(av, src, t0, t1, tmp, on_progress, cancel)
        os.replace(tmp, out)
    except SegmentExportError:
        tmp.unlink(missing_ok=True)
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise SegmentExportError(f"{src.name}: {exc}") from None
    return out


def _cut(av, src: Path, t0: float, t1: float, tmp: Path, on_progress, cancel) -> None:
    try:
        inp = av.open(str(src))
    except av.FFmpegError as exc:
        raise SegmentExportError(f"{src.name} is not a video that can be read ({exc})") from None
    with inp:
        if not inp.streams.video:
            raise SegmentExportError(f"{src.name} has no video stream")
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        duration = float(inp.duration / av.time_base) if inp.duration else None
        if duration is not None:
            if t0 >= duration:
                raise SegmentExportError(f"{src.name} is only {duration:.1f} s long")
            t1 = min(t1, duration)
        rate = vin.average_rate or vin.guessed_rate or Fraction(30)
        with av.open(str(tmp), "w") as outc:
            vout = outc.add_stream(_video_codec(av), rate=rate)
            vout.width = vin.codec_context.width // 2 * 2
            vout.height = vin.codec_context.height // 2 * 2
            vout.pix_fmt = "yuv420p"
            vout.codec_context.time_base = 1 / Fraction(rate)
            aout = resampler = None
            if ain is not None:
                sr = ain.codec_context.sample_rate or 44100
                aout = outc.add_stream("aac", rate=sr)
                aout.layout = "stereo" if (ain.codec_context.channels or 2) >= 2 else "mono"
                resampler = av.AudioResampler(format="fltp", layout=aout.layout.name, rate=sr)
            inp.seek(int(t0 / vin.time_base), stream=vin, backward=True, any_frame=False)
            streams = [vin] + ([ain] if ain is not None else [])
            frame_index = 0
            audio_samples = 0
            for packet in inp.demux(*streams):
                if cancel is not None and cancel.is_set():
                    raise SegmentExportCancelled("cancelled")
                for frame in packet.decode():
                    if frame.pts is None or frame.time is None:
                        continue
                    t = float(frame.time)
                    if packet.stream is vin:
                        if t < t0 - 1e-3 or t >= t1:
                            continue
                        frame = frame.reformat(vout.width, vout.height, "yuv420p")
                        frame.pts = frame_index
                        frame.time_base = vout.codec_context.time_base
                        for p in vout.encode(frame):
                            outc.mux(p)
                        frame_index += 1
                        if on_progress is not None:
                            on_progress(min(1.0, (t - t0) / (t1 - t0)))
                    elif aout is not None and resampler is not None:
                        end = t + frame.samples / (frame.sample_rate or 1)
                        if end <= t0 or t >= t1:
                            continue
                        for r in resampler.resample(frame):
                            r.pts = audio_samples
                            r.time_base = Fraction(1, r.sample_rate)
                            audio_samples += r.samples
                            for p in aout.encode(r):
                                outc.mux(p)
                past_end = packet.dts is not None and float(packet.dts * vin.time_base) > t1 + 2
                if packet.stream is vin and past_end:
                    break
            if frame_index == 0:
                raise SegmentExportError(f"no frame of {src.name} lies between {t0:g} and {t1:g} s")
            for p in vout.encode(None):
                outc.mux(p)
            if aout is not None:
                for p in aout.encode(None):
                    outc.mux(p)
    if on_progress is not None:
        on_progress(1.0)
