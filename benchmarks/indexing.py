"""How fast a library indexes: each stage, the whole pipeline, against CLIP4Clip's way.

    python benchmarks/indexing.py --arch ViT-B-32 [--seconds 30] [--repeat 2] [--json FILE]
    python benchmarks/indexing.py --bundle DIR [--gpu] [--json FILE]
    python benchmarks/indexing.py --bundle DIR --gpu --workers 1,2,4,8 [--folder-videos 8]
    python benchmarks/indexing.py --bundle DIR --seconds 2 --repeat 1   (a quick look)

Prints the machine, bundle and provider, progress per video, then the tables below and the time
each part took; ``--json FILE`` also writes every figure.

Part 1 — indexing, in sampled frames per second at 1 frame/s, on generated H.264 videos at 720p
and 1080p, each with a short (30 frames) and a long (300 frames) keyframe interval (the GOP column
is the mean interval found in the file: x264 may start a GOP early where the picture changes):

* decode only: ``core.ingest.sample.sample_frames`` + ``Encoder.preprocess``, the decoder stage;
* encode only: ``Encoder.encode_pixels`` in batches of 16 on frames decoded beforehand;
* end to end: the real pipeline, ``Library.index_job().run()`` on a folder holding the video
  (decode thread, batched encoding, segments, head, SQLite, ANN index, thumbnails);
* efficiency: end to end / min(decode only, encode only). The pipeline overlaps its two stages,
  so at best it runs as fast as the slower one (1.0); below that, they get in each other's way.
  Where each stage alone already keeps every core busy (FFmpeg decodes with frame threads, ONNX
  Runtime runs one thread per core), overlap cannot reach 1.0; the "serial" column,
  1 / (1/decode + 1/encode), is the rate of running the stages one after the other, which an
  overlapped pipeline should at least match.

The same figures are taken for a CLIP4Clip-style baseline: one ``cap.set(CAP_PROP_POS_FRAMES)`` seek
per sampled frame, then ``cap.read()``, the same preprocessing, and encoding one frame at a time,
with no overlap of decoding and encoding. A seek decodes again from the previous keyframe, so with
phone-like keyframe intervals (several seconds) it decodes most frames of the video several times
over; ClipSeek grabs every frame once, sequentially, and converts only the ones it keeps.
``--skip-videos`` leaves part 1 out.

Part 1b (``--workers``) — a folder of ``--folder-videos`` distinct videos per size (720p and
1080p, keyframe every 30 frames, like a phone) indexed end to end once per decode-worker count.
Each worker decodes a different video, so this shows when more decoders pay: with encoding on a
GPU the pipeline is bound by decoding, and one decoder leaves most cores idle.

The ANN index's own speed is another question: ``benchmarks/vector_index.py``.

Every figure of part 1 is the best of ``--repeat`` runs (interference on a shared machine only
ever slows a run down). Generated videos and model bundles are kept in ``--out`` (default
``bench-out/``), so a second run starts at once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fixtures import (
    FPS,
    REPO_ROOT,
    VideoKind,
    best_time,
    bundle_fields,
    encoder_header,
    ensure_bundle,
    ensure_folder,
    ensure_video,
    index_folder,
    keyframe_interval,
    machine,
    phone_bitrate,
    provider_line,
)

from core.ingest.sample import probe, sample_frames
from core.model.bundle import BundleError
from core.model.encoder import Encoder

ENCODE_BATCH = 16

KINDS = [
    VideoKind(1280, 720, 30),
    VideoKind(1280, 720, 300),
    VideoKind(1920, 1080, 30),
    VideoKind(1920, 1080, 300),
]
#: Part 1b: phone-like keyframe intervals and bitrates.
FOLDER_KINDS = [
    VideoKind(1280, 720, 30, bitrate=phone_bitrate(1280, 720)),
    VideoKind(1920, 1080, 30, bitrate=phone_bitrate(1920, 1080)),
]


# --------------------------------------------------------------------------- indexing stages


def decode_ours(encoder: Encoder, path: Path) -> np.ndarray:
    """Sequential sampling at 1 frame/s + preprocessing: the decoder stage of the pipeline."""
    return np.stack([encoder.preprocess([f.rgb])[0] for f in sample_frames(path, rate=1.0)])


def seek_indices(path: Path) -> list[int]:
    """CLIP4Clip's frame numbers at 1 frame/s: ``int(second * fps)`` for every second."""
    info = probe(path)
    return [int(s * info.fps) for s in range(int(np.ceil(info.frame_count / info.fps)))]


def seek_frames(path: Path) -> Iterator[np.ndarray]:
    """RGB frames read CLIP4Clip's way: one ``CAP_PROP_POS_FRAMES`` seek per sampled frame."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        for index in seek_indices(path):
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, bgr = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def decode_baseline(encoder: Encoder, path: Path) -> np.ndarray:
    return np.stack([encoder.preprocess([rgb])[0] for rgb in seek_frames(path)])


def encode_count(encoder: Encoder, pixels: np.ndarray, batch_size: int) -> int:
    """Raw image vectors for ``pixels`` (the encoder stage alone); returns how many."""
    return len(encoder.encode_pixels(pixels, normalize=False, batch_size=batch_size))


def sequential_baseline(encoder: Encoder, path: Path) -> int:
    """Seek, read, preprocess, encode one frame, then the next: no overlap, batch 1."""
    count = 0
    for rgb in seek_frames(path):
        encoder.encode_pixels(encoder.preprocess([rgb]), normalize=False, batch_size=1)
        count += 1
    return count


def pipeline_run(
    encoder: Encoder, folder: Path, scratch: Path, workers: int = 1
) -> tuple[int, float]:
    """(frames, seconds of ``job.run()``) for a fresh library indexing ``folder``."""
    root = Path(tempfile.mkdtemp(prefix="library-", dir=scratch))
    try:
        library, report, seconds = index_folder(encoder, folder, root, workers)
        library.close()
        if report.failed:
            raise RuntimeError(f"indexing failed: {report.failed}")
        return report.frames, seconds
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class StageRates:
    """Sampled frames per second of each stage and of the whole."""

    decode: float
    encode: float
    end_to_end: float

    @property
    def efficiency(self) -> float:
        return self.end_to_end / min(self.decode, self.encode)

    @property
    def serial(self) -> float:
        """The rate with no overlap: each frame costs its decode time plus its encode time."""
        return 1.0 / (1.0 / self.decode + 1.0 / self.encode)


@dataclass
class VideoResult:
    kind: str
    seconds: int
    keyframe_interval: float
    frames: int
    ours: StageRates
    baseline: StageRates

    @property
    def speedup(self) -> float:
        return self.ours.end_to_end / self.baseline.end_to_end

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("ours", "baseline"):
            out[key]["efficiency"] = getattr(self, key).efficiency
            out[key]["serial"] = getattr(self, key).serial
        out["speedup"] = self.speedup
        return out


def measure_ours(encoder: Encoder, path: Path, scratch: Path, repeat: int) -> StageRates:
    pixels = decode_ours(encoder, path)  # also warms the page cache and the preprocessing plans
    encode_count(encoder, pixels, ENCODE_BATCH)  # warm-up: ONNX Runtime's first run of a shape
    n, t_decode = best_time(lambda: len(decode_ours(encoder, path)), repeat)
    _, t_encode = best_time(lambda: encode_count(encoder, pixels, ENCODE_BATCH), repeat)
    runs = [pipeline_run(encoder, path.parent, scratch) for _ in range(repeat)]
    frames, t_e2e = min(runs, key=lambda r: r[1])
    if frames != n:
        print(f"  note: the pipeline indexed {frames} frames, sample_frames gave {n}")
    return StageRates(n / t_decode, len(pixels) / t_encode, frames / t_e2e)


def measure_baseline(encoder: Encoder, path: Path, repeat: int) -> StageRates:
    pixels = decode_baseline(encoder, path)
    encode_count(encoder, pixels[:2], 1)
    n, t_decode = best_time(lambda: len(decode_baseline(encoder, path)), repeat)
    _, t_encode = best_time(lambda: encode_count(encoder, pixels, 1), repeat)
    frames, t_e2e = best_time(lambda: sequential_baseline(encoder, path), repeat)
    return StageRates(n / t_decode, len(pixels) / t_encode, frames / t_e2e)


def measure_video(
    encoder: Encoder, kind: VideoKind, out: Path, scratch: Path, seconds: int, repeat: int
) -> VideoResult:
    path = ensure_video(out, kind, seconds)
    started = time.perf_counter()
    ours = measure_ours(encoder, path, scratch, repeat)
    baseline = measure_baseline(encoder, path, repeat)
    result = VideoResult(
        kind.name, seconds, keyframe_interval(path), len(seek_indices(path)), ours, baseline
    )
    print(
        f"  {kind.name:<12} ours {ours.end_to_end:6.1f} fr/s (decode {ours.decode:.1f},"
        f" encode {ours.encode:.1f}, serial {ours.serial:.1f});"
        f" CLIP4Clip-style {baseline.end_to_end:6.1f} fr/s;"
        f" x{result.speedup:.2f}  [{time.perf_counter() - started:.0f} s]",
        flush=True,
    )
    return result


@dataclass
class WorkersResult:
    kind: str
    videos: int
    frames: int
    workers: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.frames / self.seconds


def measure_workers(
    encoder: Encoder,
    kind: VideoKind,
    out: Path,
    scratch: Path,
    seconds: int,
    count: int,
    worker_counts: list[int],
    repeat: int,
) -> list[WorkersResult]:
    """Index a folder of ``count`` distinct videos end to end with each decode-worker count."""
    folder = ensure_folder(out, kind, seconds, count)
    results = []
    for workers in worker_counts:
        runs = [pipeline_run(encoder, folder, scratch, workers) for _ in range(repeat)]
        frames, best = min(runs, key=lambda r: r[1])
        results.append(WorkersResult(kind.name, count, frames, workers, best))
        print(f"  {kind.name:<12} {workers} workers: {frames / best:6.1f} fr/s", flush=True)
    return results


# --------------------------------------------------------------------------- samplers

#: Part 3: phone-like and camera-like keyframe intervals, H.264 and HEVC, at phone bitrates.
SAMPLER_KINDS = [
    VideoKind(w, h, gop, codec, phone_bitrate(w, h))
    for codec in ("libx264", "libx265")
    for w, h in ((1280, 720), (1920, 1080))
    for gop in (15, 30, 60, 250)
]


@dataclass
class SamplerResult:
    kind: str
    kept: int
    #: per sampler ("opencv", "planned"): kept frames per second and CPU-ms per kept frame of
    #: decoding alone, and the end-to-end indexing rate
    decode_rate: dict[str, float]
    cpu_ms: dict[str, float]
    end_to_end: dict[str, float]
    encode_only: float  # the image tower alone on the same frames: the ceiling
    offsets: list[float]  # planned: kept frame time minus its grid time, seconds
    sent: int  # planned: packets sent to the decoder
    frames: int

    @property
    def speedup(self) -> float:
        return self.end_to_end["planned"] / self.end_to_end["opencv"]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["speedup"] = self.speedup
        return out


def _decode_only(path: Path, decoder: str) -> tuple[int, float, float]:
    """(kept frames, wall seconds, CPU seconds of this process) for sampling ``path``."""
    cpu, wall = time.process_time(), time.perf_counter()
    count = sum(1 for _ in sample_frames(path, 1.0, decoder=decoder))
    return count, time.perf_counter() - wall, time.process_time() - cpu


def measure_sampler(
    encoder: Encoder, kind: VideoKind, out: Path, scratch: Path, seconds: int, repeat: int
) -> SamplerResult:
    from core.ingest.fast_decode import fast_frames, plan_stats

    path = ensure_video(out, kind, seconds)
    started = time.perf_counter()
    rates, cpu_ms, e2e = {}, {}, {}
    for label, decoder in (("opencv", "opencv"), ("planned", "pyav")):
        _decode_only(path, decoder)  # warm: page cache, decoder start-up
        runs = [_decode_only(path, decoder) for _ in range(repeat)]
        kept, wall, cpu = min(runs, key=lambda r: r[1])
        rates[label], cpu_ms[label] = kept / wall, 1000 * cpu / kept
        os.environ["CLIPSEEK_DECODER"] = decoder
        try:
            pipes = [pipeline_run(encoder, path.parent, scratch) for _ in range(repeat)]
        finally:
            os.environ.pop("CLIPSEEK_DECODER", None)
        frames, t = min(pipes, key=lambda r: r[1])
        e2e[label] = frames / t
    kept = list(fast_frames(path, 1.0))  # once: the pixels to encode and the offsets
    pixels = np.stack([encoder.preprocess([k.rgb])[0] for k in kept])
    offsets = [k.t - k.grid for k in kept]
    del kept
    encode_count(encoder, pixels[:ENCODE_BATCH], ENCODE_BATCH)
    _, t_encode = best_time(lambda: encode_count(encoder, pixels, ENCODE_BATCH), repeat)
    stats = plan_stats(path, 1.0)
    result = SamplerResult(
        kind.name, len(pixels), rates, cpu_ms, e2e, len(pixels) / t_encode, offsets,
        stats.sent, stats.frames,
    )  # fmt: skip
    print(
        f"  {kind.name:<16} decode {rates['opencv']:5.1f} -> {rates['planned']:5.1f} fr/s,"
        f" e2e {e2e['opencv']:5.1f} -> {e2e['planned']:5.1f} fr/s (x{result.speedup:.2f}),"
        f" encode-only {result.encode_only:.1f}  [{time.perf_counter() - started:.0f} s]",
        flush=True,
    )
    return result


def sampler_table(results: list[SamplerResult]) -> str:
    head = (
        f"{'video':<16}{'kept':>5}{'sent':>6} │ {'decode fr/s':>12} {'CPU-ms/frame':>13} │"
        f" {'end to end fr/s':>16} {'x':>6} │ {'encode':>7} {'e2e/enc':>8} │"
        f" {'offset p50/p90/max s':>20}"
    )
    lines = [
        f"{'':<27} │ {'OpenCV → planned':^26} │ {'OpenCV → planned':^23} │ {'ceiling':^16} │",
        head,
        "─" * len(head),
    ]
    for r in results:
        off = np.array(r.offsets) if r.offsets else np.zeros(1)
        p50, p90, worst = np.percentile(off, 50), np.percentile(off, 90), off.max()
        lines.append(
            f"{r.kind:<16}{r.kept:>5}{r.sent:>6} │"
            f" {r.decode_rate['opencv']:>5.1f} → {r.decode_rate['planned']:>5.1f}"
            f" {r.cpu_ms['opencv']:>5.0f} → {r.cpu_ms['planned']:>5.0f} │"
            f" {r.end_to_end['opencv']:>6.1f} → {r.end_to_end['planned']:>6.1f}"
            f" {r.speedup:>5.2f}x │"
            f" {r.encode_only:>7.1f} {r.end_to_end['planned'] / r.encode_only:>8.2f} │"
            f" {p50:>6.2f} {p90:>6.2f} {worst:>6.2f}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- reporting


def video_table(results: list[VideoResult]) -> str:
    head = (
        f"{'video':<12}{'frames':>7}{'GOP':>5} │ {'decode':>7}{'encode':>8}{'serial':>7}"
        f"{'e2e':>7}{'eff':>6} │ {'decode':>7}{'encode':>8}{'e2e':>7}{'eff':>6} │ {'speed-up':>8}"
    )
    lines = [
        f"{'':<24} │ {'ClipSeek (sampled frames/s)':^35} │ {'CLIP4Clip-style (frames/s)':^28} │",
        head,
        "─" * len(head),
    ]
    for r in results:
        o, b = r.ours, r.baseline
        lines.append(
            f"{r.kind:<12}{r.frames:>7}{r.keyframe_interval:>5.0f} │"
            f" {o.decode:>7.1f}{o.encode:>8.1f}{o.serial:>7.1f}{o.end_to_end:>7.1f}"
            f"{o.efficiency:>6.2f} │"
            f" {b.decode:>7.1f}{b.encode:>8.1f}{b.end_to_end:>7.1f}{b.efficiency:>6.2f} │"
            f" {r.speedup:>7.2f}x"
        )
    return "\n".join(lines)


def workers_table(results: list[WorkersResult]) -> str:
    head = (
        f"{'video':<12}{'videos':>7}{'frames':>7}{'workers':>8}{'seconds':>9}{'fr/s':>8}{'vs 1':>7}"
    )
    lines = [head, "─" * len(head)]
    one = {r.kind: r.rate for r in results if r.workers == 1}
    for r in results:
        gain = f"{r.rate / one[r.kind]:6.2f}x" if r.kind in one else ""
        lines.append(
            f"{r.kind:<12}{r.videos:>7}{r.frames:>7}{r.workers:>8}{r.seconds:>9.2f}{r.rate:>8.1f}"
            f" {gain}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    model = ap.add_mutually_exclusive_group()
    model.add_argument("--bundle", help="model bundle folder")
    model.add_argument(
        "--arch",
        default="ViT-B-32",
        help="make (once) and use a random-init bundle of this architecture (default ViT-B-32)",
    )
    ap.add_argument("--gpu", action="store_true", help="allow CUDA (default: force the CPU)")
    ap.add_argument(
        "--int8", action="store_true", help="with --arch: the int8 image tower (convert --int8)"
    )
    ap.add_argument("--seconds", type=int, default=30, help="length of each test video")
    ap.add_argument("--repeat", type=int, default=2, help="runs per figure; the best is kept")
    ap.add_argument("--skip-videos", action="store_true", help="skip part 1 (stages per video)")
    ap.add_argument(
        "--workers", default="", help="decode-worker counts for part 1b, e.g. 1,2,4 ('' skips)"
    )
    ap.add_argument("--folder-videos", type=int, default=8, help="videos in part 1b's folder")
    ap.add_argument(
        "--samplers",
        default="",
        help="part 3, OpenCV vs the planned sampler: 'all' (16 kinds) or names like"
        " '1080p g=30,720p g=250 hevc' ('' skips)",
    )
    ap.add_argument("--out", default=str(REPO_ROOT / "bench-out"), help="cache and scratch")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    return ap.parse_args()


def print_summary(
    header: list[str],
    seconds: int,
    repeat: int,
    videos: list[VideoResult],
    workers: list[WorkersResult],
) -> None:
    print("\n" + "\n".join(header))
    if videos:
        print(f"\nindexing at 1 frame/s, {seconds} s videos (best of {repeat})")
        print(video_table(videos))
    if workers:
        print(f"\nindexing a folder of {seconds} s videos by decode workers (best of {repeat})")
        print(workers_table(workers))


def main() -> int:
    args = parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    try:
        bundle = Path(args.bundle) if args.bundle else ensure_bundle(args.arch, out, int8=args.int8)
        encoder = Encoder(bundle, force_cpu=not args.gpu)
    except (BundleError, subprocess.CalledProcessError) as exc:
        print(f"indexing.py: error: {exc}", file=sys.stderr)
        return 2
    header = encoder_header(encoder)
    print("\n".join(header), flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="indexing-", dir=out))
    os.environ["CLIPSEEK_HOME"] = str(scratch / "home")  # thumbnails go here, not the user's
    videos: list[VideoResult] = []
    samplers: list[SamplerResult] = []
    by_workers: list[WorkersResult] = []
    taken: dict[str, float] = {}
    try:
        if not args.skip_videos:
            started = time.perf_counter()
            print(f"\nindexing, {args.seconds} s videos at {FPS} fps, best of {args.repeat}")
            videos = [
                measure_video(encoder, k, out, scratch, args.seconds, args.repeat) for k in KINDS
            ]
            taken["indexing"] = time.perf_counter() - started
        if worker_counts:
            started = time.perf_counter()
            print(f"\nindexing a folder of {args.folder_videos} videos, by decode workers")
            for kind in FOLDER_KINDS:
                by_workers += measure_workers(
                    encoder,
                    kind,
                    out,
                    scratch,
                    args.seconds,
                    args.folder_videos,
                    worker_counts,
                    args.repeat,
                )
            taken["workers"] = time.perf_counter() - started
        if args.samplers:
            started = time.perf_counter()
            wanted = {n.strip() for n in args.samplers.split(",")}
            kinds = [k for k in SAMPLER_KINDS if args.samplers == "all" or k.name in wanted]
            print(f"\nsamplers: OpenCV sequential vs planned PyAV, {args.seconds} s videos")
            samplers = [
                measure_sampler(encoder, k, out, scratch, args.seconds, args.repeat) for k in kinds
            ]
            taken["samplers"] = time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print_summary(header, args.seconds, args.repeat, videos, by_workers)
    if samplers:
        print(
            f"\nsamplers at 1 frame/s, {args.seconds} s videos at phone bitrates (best of"
            f" {args.repeat}; sent: packets the planned sampler gives the decoder)"
        )
        print(sampler_table(samplers))
    print("\ntime taken  " + ", ".join(f"{k} {v:.0f} s" for k, v in taken.items()))
    if args.json:
        report = {
            "machine": machine(),
            "bundle": bundle_fields(encoder.manifest),
            "provider": provider_line(encoder),
            "repeat": args.repeat,
            "video_seconds": args.seconds,
            "videos": [v.as_dict() for v in videos],
            "workers": [{**asdict(w), "frames_per_second": w.rate} for w in by_workers],
            "samplers": [s.as_dict() for s in samplers],
            "seconds_taken": taken,
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
