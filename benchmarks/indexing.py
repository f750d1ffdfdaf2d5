"""Indexing throughput (decode, encode, whole pipeline, versus CLIP4Clip) and ANN query cost.

    python benchmarks/indexing.py --arch ViT-B-32 [--seconds 30] [--sizes 10000,100000,1000000]
    python benchmarks/indexing.py --bundle DIR [--gpu] [--json FILE]
    python benchmarks/indexing.py --bundle DIR --gpu --workers 1,2,4,8 [--folder-videos 8]

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

Part 1b (``--workers``) — a folder of ``--folder-videos`` distinct videos per size (720p and
1080p, keyframe every 30 frames, like a phone) indexed end to end once per decode-worker count.
Each worker decodes a different video, so this shows when more decoders pay: with encoding on a
GPU the pipeline is bound by decoding, and one decoder leaves most cores idle.

Part 2 — the ANN index (``core.store.vector_index.VectorIndex``, hnswlib) at several sizes,
on synthetic 512-d vectors clustered like real embeddings: build time, query latency p50/p99
(one query at a time, k=10), recall@10 against exact search, save time and reload time.

Every figure is the best of ``--repeat`` runs (interference on a shared machine only ever slows a
run down). Generated videos and model bundles are kept in ``--out`` (default ``bench-out/``), so a
second run starts at once.
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.encoders import machine  # noqa: E402
from core.ingest.sample import probe, sample_frames  # noqa: E402
from core.library import Library  # noqa: E402
from core.model.bundle import MANIFEST_NAME, BundleError  # noqa: E402
from core.model.encoder import Encoder  # noqa: E402
from core.store.vector_index import VectorIndex  # noqa: E402

FPS = 30
ENCODE_BATCH = 16
DIM = 512
QUERIES = 200
K = 10


# --------------------------------------------------------------------------- machine, model


def ensure_bundle(arch: str, out: Path) -> Path:
    """A random-init meanP bundle of ``arch`` under ``out/bundles``, converted once and reused.

    Conversion runs in a child process so that PyTorch (and its thread pools) never loads into
    the process being measured.
    """
    bundle = out / "bundles" / f"{arch}-meanP-random"
    if (bundle / MANIFEST_NAME).is_file():
        return bundle
    print(f"converting a random-init {arch} bundle to {bundle} (once) ...", flush=True)
    started = time.perf_counter()
    command = [sys.executable, "-m", "export.cli", "convert", "--random-init", "--arch", arch]
    subprocess.run([*command, "--out", str(bundle)], cwd=REPO_ROOT, check=True)
    print(f"  converted in {time.perf_counter() - started:.0f} s", flush=True)
    return bundle


# --------------------------------------------------------------------------- test videos


@dataclass(frozen=True)
class VideoKind:
    width: int
    height: int
    gop: int

    @property
    def name(self) -> str:
        return f"{self.height}p g={self.gop}"

    @property
    def slug(self) -> str:
        return f"{self.height}p-g{self.gop}"


KINDS = [
    VideoKind(1280, 720, 30),
    VideoKind(1280, 720, 300),
    VideoKind(1920, 1080, 30),
    VideoKind(1920, 1080, 300),
]
#: Part 1b: phone-like keyframe intervals.
FOLDER_KINDS = [VideoKind(1280, 720, 30), VideoKind(1920, 1080, 30)]


class MovingScene:
    """Frames that move like footage: a textured background panning, shapes crossing, grain.

    Every pixel changes every frame, so the encoder makes real P-frames (motion vectors plus
    residual), not the near-empty ones a static test card would give.
    """

    def __init__(self, width: int, height: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.width, self.height = width, height
        coarse = rng.integers(0, 256, (height // 24 + 2, width // 24 + 2, 3), dtype=np.uint8)
        self.texture = cv2.resize(coarse, (2 * width, 2 * height), interpolation=cv2.INTER_CUBIC)
        self.grain = [rng.integers(0, 10, (height, width, 3), dtype=np.uint8) for _ in range(7)]
        count = 12
        self.pos = rng.uniform(0, 1, (count, 2)) * (width, height)
        self.vel = rng.uniform(-1, 1, (count, 2)) * height / 60
        self.radius = rng.integers(height // 20, height // 6, count)
        self.colour = rng.integers(0, 256, (count, 3))

    def frame(self, i: int) -> np.ndarray:
        """RGB frame ``i``: the background pans on a slow ellipse, shapes bounce off the edges."""
        w, h = self.width, self.height
        x = int((w / 2) * (1 + np.sin(2 * np.pi * i / (FPS * 11))))
        y = int((h / 2) * (1 + np.cos(2 * np.pi * i / (FPS * 7))))
        img = self.texture[y : y + h, x : x + w].copy()
        self.pos += self.vel
        for axis, limit in ((0, w), (1, h)):
            out = (self.pos[:, axis] < 0) | (self.pos[:, axis] > limit)
            self.vel[out, axis] *= -1
        for (cx, cy), r, c in zip(self.pos, self.radius, self.colour, strict=True):
            cv2.circle(img, (int(cx), int(cy)), int(r), tuple(int(v) for v in c), -1)
        return cv2.add(img, self.grain[i % len(self.grain)])


def write_video(path: Path, kind: VideoKind, seconds: int, seed: int | None = None) -> None:
    """H.264 (libx264, yuv420p, veryfast) at 30 fps, keyframe every ``kind.gop`` frames."""
    import av  # only needed to generate videos; `pip install av` (its wheel has libx264)

    tmp = path.with_name(path.name + ".partial.mp4")
    scene = MovingScene(kind.width, kind.height, seed=kind.height if seed is None else seed)
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = kind.width, kind.height
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(kind.gop), "preset": "veryfast"}
        for i in range(seconds * FPS):
            frame = av.VideoFrame.from_ndarray(scene.frame(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    tmp.replace(path)


def keyframe_interval(path: Path) -> float:
    """Mean frames between keyframes, read from the file (x264 may add scene-cut keyframes)."""
    import av

    with av.open(str(path)) as container:
        flags = [p.is_keyframe for p in container.demux(video=0) if p.size]
    return len(flags) / max(1, sum(flags))


def ensure_video(out: Path, kind: VideoKind, seconds: int) -> Path:
    """The video of ``kind`` alone in its own folder (a library watches folders), cached."""
    path = out / "videos" / f"{kind.slug}-{seconds}s" / "clip.mp4"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"  writing {path.relative_to(out)} ...", end=" ", flush=True)
        started = time.perf_counter()
        write_video(path, kind, seconds)
        print(f"{time.perf_counter() - started:.0f} s", flush=True)
    return path


def ensure_folder(out: Path, kind: VideoKind, seconds: int, count: int) -> Path:
    """A folder of ``count`` distinct videos of ``kind`` (different scenes, so no two share a
    fingerprint and none is skipped as a copy), cached."""
    folder = out / "videos" / f"{kind.slug}-{seconds}s-x{count}"
    missing = [i for i in range(count) if not (folder / f"clip{i:02d}.mp4").is_file()]
    if missing:
        folder.mkdir(parents=True, exist_ok=True)
        where = folder.relative_to(out)
        print(f"  writing {len(missing)} videos to {where} ...", end=" ", flush=True)
        started = time.perf_counter()
        for i in missing:
            write_video(folder / f"clip{i:02d}.mp4", kind, seconds, seed=1000 + i)
        print(f"{time.perf_counter() - started:.0f} s", flush=True)
    return folder


# --------------------------------------------------------------------------- indexing stages


def best_time(fn: Callable[[], int], repeat: int) -> tuple[int, float]:
    """(what ``fn`` returns, its fastest wall time over ``repeat`` runs)."""
    best = float("inf")
    result = 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return result, best


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
        with Library(encoder, root) as lib:
            lib.add_folder(folder)
            lib.sync()
            job = lib.index_job(workers=workers)
            started = time.perf_counter()
            report = job.run()
            seconds = time.perf_counter() - started
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


# --------------------------------------------------------------------------- ANN index


def clustered_vectors(
    n: int, centres: np.ndarray, rng: np.random.Generator, spread: float
) -> np.ndarray:
    """``n`` unit vectors, each a random centre plus gaussian noise (cosine to it ~0.8)."""
    out = np.empty((n, centres.shape[1]), np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        picks = rng.integers(0, len(centres), stop - start)
        noise = rng.standard_normal((stop - start, centres.shape[1]), dtype=np.float32)
        chunk = centres[picks] + spread * noise
        out[start:stop] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def synthetic_set(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(database [n, 512], held-out queries [200, 512]) drawn from the same clusters."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((min(4096, max(16, n // 10)), DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = 0.75 / np.sqrt(DIM)  # |noise| ~0.75 -> cosine to the centre ~0.8, like near frames
    return clustered_vectors(n, centres, rng, spread), clustered_vectors(
        QUERIES, centres, rng, spread
    )


def exact_top_k(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the ``k`` best inner products per query, by brute force in chunks."""
    best_idx = np.zeros((len(queries), 0), np.int64)
    best_score = np.zeros((len(queries), 0), np.float32)
    for start in range(0, len(data), 200_000):
        scores = queries @ data[start : start + 200_000].T
        rows = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
        cand_idx = np.concatenate([best_idx, rows], axis=1)
        cand_score = np.concatenate([best_score, scores], axis=1)
        top = np.argpartition(-cand_score, k - 1, axis=1)[:, :k]
        best_idx = np.take_along_axis(cand_idx, top, axis=1)
        best_score = np.take_along_axis(cand_score, top, axis=1)
    return best_idx


@dataclass
class AnnResult:
    size: int
    added: int
    build_s: float
    query_p50_ms: float
    query_p99_ms: float
    recall_at_10: float
    save_s: float
    load_s: float
    file_mb: float
    load_report: str
    notes: list[str] = field(default_factory=list)


def build_index(
    path: Path, ids: list[int], data: np.ndarray, budget_s: float
) -> tuple[VectorIndex, int, float]:
    """(index, vectors added, seconds): adds in chunks, printing progress, until the budget."""
    index = VectorIndex(path, DIM, capacity=len(ids))
    chunk = 10_000
    started = last_print = time.perf_counter()
    added = 0
    for start in range(0, len(ids), chunk):
        index.add(ids[start : start + chunk], data[start : start + chunk])
        added = min(len(ids), start + chunk)
        now = time.perf_counter()
        if now - last_print >= 30 and added < len(ids):
            rate = added / (now - started)
            print(
                f"    {added:>9,} / {len(ids):,} added, {rate:,.0f}/s,"
                f" ~{(len(ids) - added) / rate / 60:.1f} min to go",
                flush=True,
            )
            last_print = now
        if now - started > budget_s and added < len(ids):
            print(f"    build budget of {budget_s:.0f} s spent: stopping at {added:,}", flush=True)
            break
    return index, added, time.perf_counter() - started


def query_latencies(index: VectorIndex, queries: np.ndarray) -> tuple[np.ndarray, list[set[int]]]:
    """(milliseconds per query, hit ids per query), one ``index.query`` call at a time."""
    for q in queries[:10]:
        index.query(q, K)  # warm-up
    times, hits = [], []
    for q in queries:
        started = time.perf_counter()
        result = index.query(q, K)
        times.append((time.perf_counter() - started) * 1000)
        hits.append({label for label, _ in result})
    return np.array(times), hits


def measure_ann(size: int, scratch: Path, budget_s: float) -> AnnResult:
    started = time.perf_counter()
    data, queries = synthetic_set(size)
    ids = list(range(1, size + 1))
    print(f"  {size:,} vectors generated in {time.perf_counter() - started:.0f} s", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="ann-", dir=scratch))
    path = folder / "segments.hnsw"
    try:
        index, added, build_s = build_index(path, ids, data, budget_s)
        notes = [] if added == size else [f"partial build: {added:,} of {size:,} vectors"]
        lat, hits = query_latencies(index, queries)
        truth = exact_top_k(data[:added], queries, K) + 1  # row -> id
        recall = float(np.mean([len(h & set(t)) / K for h, t in zip(hits, truth, strict=True)]))
        t0 = time.perf_counter()
        index.save()
        save_s = time.perf_counter() - t0
        del index
        live = set(ids[:added])

        def fetch(wanted: Iterable[int] | None) -> Iterator[tuple[list[int], np.ndarray]]:
            rows = sorted(live if wanted is None else set(wanted))
            for start in range(0, len(rows), 10_000):
                part = rows[start : start + 10_000]
                yield part, data[np.asarray(part) - 1]

        t0 = time.perf_counter()
        reloaded = VectorIndex(path, DIM, capacity=added)
        load_report = reloaded.load_and_reconcile(live, fetch)
        load_s = time.perf_counter() - t0
        if len(reloaded) != added:
            notes.append(f"reloaded index holds {len(reloaded)} vectors, expected {added}")
        return AnnResult(
            size=size,
            added=added,
            build_s=build_s,
            query_p50_ms=float(np.percentile(lat, 50)),
            query_p99_ms=float(np.percentile(lat, 99)),
            recall_at_10=recall,
            save_s=save_s,
            load_s=load_s,
            file_mb=path.stat().st_size / 1e6,
            load_report=load_report,
            notes=notes,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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


def ann_table(results: list[AnnResult]) -> str:
    head = (
        f"{'segments':>10} {'build s':>8} {'adds/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'recall@10':>9} {'save s':>7} {'load s':>7} {'file MB':>8}  load"
    )
    lines = [head, "─" * (len(head) + 8)]
    for r in results:
        lines.append(
            f"{r.added:>10,} {r.build_s:>8.1f} {r.added / r.build_s:>8,.0f} {r.query_p50_ms:>7.3f}"
            f" {r.query_p99_ms:>7.3f} {r.recall_at_10:>9.3f} {r.save_s:>7.2f} {r.load_s:>7.2f}"
            f" {r.file_mb:>8.0f}  {r.load_report}"
        )
        lines += [f"{'':>10} note: {note}" for note in r.notes]
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
    ap.add_argument("--seconds", type=int, default=30, help="length of each test video")
    ap.add_argument("--sizes", default="10000,100000,1000000", help="ANN sizes ('' skips)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per figure; the best is kept")
    ap.add_argument(
        "--build-budget", type=float, default=1500, help="seconds an ANN build may take"
    )
    ap.add_argument("--skip-videos", action="store_true", help="skip part 1 (stages per video)")
    ap.add_argument(
        "--workers", default="", help="decode-worker counts for part 1b, e.g. 1,2,4 ('' skips)"
    )
    ap.add_argument("--folder-videos", type=int, default=8, help="videos in part 1b's folder")
    ap.add_argument("--out", default=str(REPO_ROOT / "bench-out"), help="cache and scratch")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    return ap.parse_args()


def print_summary(
    header: list[str],
    seconds: int,
    repeat: int,
    videos: list[VideoResult],
    workers: list[WorkersResult],
    anns: list[AnnResult],
) -> None:
    print("\n" + "\n".join(header))
    if videos:
        print(f"\nindexing at 1 frame/s, {seconds} s videos (best of {repeat})")
        print(video_table(videos))
    if workers:
        print(f"\nindexing a folder of {seconds} s videos by decode workers (best of {repeat})")
        print(workers_table(workers))
    if anns:
        print(f"\nANN index (hnswlib via VectorIndex), {DIM}-d, {QUERIES} queries, k={K}")
        print(ann_table(anns))


def main() -> int:
    args = parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    try:
        bundle = Path(args.bundle) if args.bundle else ensure_bundle(args.arch, out)
        encoder = Encoder(bundle, force_cpu=not args.gpu)
    except (BundleError, subprocess.CalledProcessError) as exc:
        print(f"indexing.py: error: {exc}", file=sys.stderr)
        return 2
    m = encoder.manifest
    provider = f"{encoder.describe_provider()}  active={encoder.active_providers['image']}"
    header = [
        f"machine   {machine()}",
        f"bundle    {m.name} ({m.arch}, {m.head}, {m.precision}) at {encoder.root}",
        f"provider  {provider}",
    ]
    print("\n".join(header), flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="indexing-", dir=out))
    os.environ["CLIPSEEK_HOME"] = str(scratch / "home")  # thumbnails go here, not the user's
    videos: list[VideoResult] = []
    by_workers: list[WorkersResult] = []
    anns: list[AnnResult] = []
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
        for size in sizes:
            started = time.perf_counter()
            print(f"\nANN index, {size:,} segments of {DIM} dimensions", flush=True)
            anns.append(measure_ann(size, scratch, args.build_budget))
            taken[f"ANN {size:,}"] = time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print_summary(header, args.seconds, args.repeat, videos, by_workers, anns)
    print("\ntime taken  " + ", ".join(f"{k} {v:.0f} s" for k, v in taken.items()))
    if args.json:
        report = {
            "machine": machine(),
            "bundle": {"name": m.name, "arch": m.arch, "head": m.head, "precision": m.precision},
            "provider": provider,
            "repeat": args.repeat,
            "video_seconds": args.seconds,
            "videos": [v.as_dict() for v in videos],
            "workers": [{**asdict(w), "frames_per_second": w.rate} for w in by_workers],
            "ann": [asdict(a) for a in anns],
            "seconds_taken": taken,
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
