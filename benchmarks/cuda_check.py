"""The CUDA path, checked for real: a library indexed on CUDA must agree with one on the CPU.

    python benchmarks/cuda_check.py [--bundle DIR] [--videos 60] [--workers 1,4] [--json FILE]

CI has no GPU, so the tests can only check provider *choice* and fallback *reporting*. This script
is what we run on a machine with an NVIDIA GPU and onnxruntime-gpu:

1. Providers: what ONNX Runtime offers, and what each of our sessions (image, text, head) really
   runs on once created. The check fails if CUDA was asked for and any session fell back.
2. Two libraries from the same fresh demo videos (``core.demo.synthetic``, held-out pairs), one
   indexed with the CPU forced and one on CUDA, through the real ``Library.index_job()`` pipeline.
3. Agreement: cosine between the two libraries' stored segment vectors (matched by video and time
   range) and between their query vectors for every caption; for every caption, the rank of its
   own video on each side (R@1, R@5) and whether both sides put the same moment first.
4. Speed: indexing time of each library (sampled frames/s), the CUDA one with each ``--workers``
   count of decoding threads, to show which stage bounds the pipeline once encoding is on the GPU.

The default bundle is the demo model that ships in the repo, so the script needs no download and no
PyTorch. Exits 1 when a check fails, 2 when there is no usable CUDA provider at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from fixtures import bundle_fields, index_folder, machine

from core.demo.library import examples, make_demo_videos
from core.library import Library
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL
from core.model.sessions import CUDA, choose_providers
from export.metrics import summarise  # numpy only: no torch

#: Agreement below these fails the check. fp32 on CUDA differs from the CPU by rounding only;
#: fp16 bundles compute in half precision on the GPU, hence room for ~1e-3.
MIN_SEGMENT_COSINE = 0.995
MIN_TEXT_COSINE = 0.995

Key = tuple[str, float, float]


def index_library(
    encoder: Encoder, folder: Path, root: Path, workers: int
) -> tuple[Library, float, int]:
    """A fresh library of ``folder`` at ``root``: (library, indexing seconds, frames encoded)."""
    library, report, seconds = index_folder(encoder, folder, root, workers)
    if report.failed:
        failed = report.failed
        raise SystemExit(f"cuda_check.py: {len(failed)} videos failed to index: {failed[0].path} …")
    return library, seconds, report.frames


def segment_vectors(library: Library) -> dict[Key, np.ndarray]:
    """Every stored segment vector, keyed by (video path, t0, t1) so two libraries line up."""
    dim = library.encoder.embed_dim
    out: dict[Key, np.ndarray] = {}
    for ids, vectors in library.catalog.iter_segment_vectors(dim):
        rows = library.catalog.segments(ids)
        for sid, vector in zip(ids, vectors, strict=True):
            row = rows[sid]
            out[(row.path, round(row.t0, 3), round(row.t1, 3))] = vector
    return out


def cosines(a: dict[Key, np.ndarray], b: dict[Key, np.ndarray]) -> np.ndarray:
    if a.keys() != b.keys():
        raise SystemExit(
            f"cuda_check.py: the libraries hold different segments ({len(a)} vs {len(b)})"
        )
    keys = sorted(a)
    x = np.stack([a[k] for k in keys])
    y = np.stack([b[k] for k in keys])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    return np.sum(x * y, axis=1)


def ranks(library: Library, pairs: list[tuple[str, str]]) -> tuple[np.ndarray, list[Key]]:
    """For each (video, caption), as ``clipseek demo`` searches them: the rank of that video (past
    the end when absent), and the moment ranked first."""
    found = examples(library, pairs, count=len(pairs), k=1)
    tops = [e.results[0] for e in found]
    firsts = [(t.path, round(t.t0, 3), round(t.t1, 3)) for t in tops]
    return np.array([e.rank or len(pairs) + 1 for e in found]), firsts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(DEMO_MODEL), help="model bundle (default: demo)")
    ap.add_argument("--videos", type=int, default=60, help="demo videos to generate")
    ap.add_argument("--seed", type=int, default=7, help="seed of the generated videos")
    ap.add_argument("--workers", default="1,4", help="decoding threads to time on CUDA")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]

    print(f"machine      {machine()}")
    print(f"onnxruntime  {ort.__version__}, offers {', '.join(ort.get_available_providers())}")
    choice = choose_providers()
    print(f"requested    {', '.join(choice.requested)} ({choice.note})")
    if CUDA not in choice.requested:
        print(f"cuda_check.py: no CUDA here: {choice.note}", file=sys.stderr)
        return 2

    gpu = Encoder(args.bundle)
    cpu = Encoder(args.bundle, force_cpu=True)
    m = gpu.manifest
    print(f"bundle       {m.name} ({m.arch}, {m.head}, {m.precision})")
    print(f"status bar   Provider: {gpu.describe_provider()}")
    failures: list[str] = []
    for tower, active in gpu.active_providers.items():
        print(f"  {tower:<5} session runs on {', '.join(active)}")
        if active[0] != CUDA:
            failures.append(f"the {tower} session fell back to {active[0]}")

    report: dict[str, Any] = {
        "machine": machine(),
        "onnxruntime": ort.__version__,
        "bundle": bundle_fields(m),
        "active_providers": gpu.active_providers,
        "status_bar": gpu.describe_provider(),
    }
    with tempfile.TemporaryDirectory(prefix="cuda-check-") as tmp:
        scratch = Path(tmp)
        os.environ["CLIPSEEK_HOME"] = str(scratch / "home")  # thumbnails stay in the scratch
        folder, pairs = make_demo_videos(scratch / "demo", videos=args.videos, seed=args.seed)
        print(f"\nindexing {len(pairs)} generated videos ({folder})")

        cpu_lib, cpu_s, frames = index_library(cpu, folder, scratch / "lib-cpu", workers=1)
        print(f"  CPU,  1 worker : {cpu_s:6.2f} s, {frames / cpu_s:8.1f} frames/s")
        timings = {"cpu_workers_1": {"seconds": cpu_s, "frames_per_second": frames / cpu_s}}
        gpu_lib = None
        for workers in worker_counts:
            lib, s, n = index_library(gpu, folder, scratch / f"lib-cuda-{workers}", workers)
            print(
                f"  CUDA, {workers} worker{'s' if workers > 1 else ' '}: {s:6.2f} s,"
                f" {n / s:8.1f} frames/s"
            )
            timings[f"cuda_workers_{workers}"] = {"seconds": s, "frames_per_second": n / s}
            if gpu_lib is None:
                gpu_lib = lib
            else:
                lib.close()
        assert gpu_lib is not None, "--workers named no worker count"
        report["frames"] = frames
        report["indexing"] = timings

        seg = cosines(segment_vectors(cpu_lib), segment_vectors(gpu_lib))
        captions = [caption for _, caption in pairs]
        text = np.array([float(np.dot(cpu.encode_text(c), gpu.encode_text(c))) for c in captions])
        cpu_ranks, cpu_first = ranks(cpu_lib, pairs)
        gpu_ranks, gpu_first = ranks(gpu_lib, pairs)
        cpu_r, gpu_r = summarise(cpu_ranks), summarise(gpu_ranks)
        same_first = 100.0 * np.mean([a == b for a, b in zip(cpu_first, gpu_first, strict=True)])
        print(f"\nagreement, CUDA against CPU ({len(seg)} segments, {len(captions)} captions)")
        print(f"  segment vectors cosine: min {seg.min():.6f}, mean {seg.mean():.6f}")
        print(f"  query vectors cosine  : min {text.min():.6f}, mean {text.mean():.6f}")
        print(
            f"  R@1 / R@5   CPU {cpu_r['R@1']:5.1f} / {cpu_r['R@5']:5.1f}"
            f"   CUDA {gpu_r['R@1']:5.1f} / {gpu_r['R@5']:5.1f}"
        )
        print(f"  same first moment for {same_first:.1f}% of captions")
        report["agreement"] = {
            "segments": len(seg),
            "segment_cosine_min": float(seg.min()),
            "segment_cosine_mean": float(seg.mean()),
            "text_cosine_min": float(text.min()),
            "r1_cpu": cpu_r["R@1"],
            "r5_cpu": cpu_r["R@5"],
            "r1_cuda": gpu_r["R@1"],
            "r5_cuda": gpu_r["R@5"],
            "same_first_percent": same_first,
        }
        if seg.min() < MIN_SEGMENT_COSINE:
            failures.append(f"segment vectors differ (min cosine {seg.min():.6f})")
        if text.min() < MIN_TEXT_COSINE:
            failures.append(f"query vectors differ (min cosine {text.min():.6f})")
        cpu_lib.close()
        gpu_lib.close()

    report["failures"] = failures
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    print("\n" + ("CUDA path OK" if not failures else f"{len(failures)} check(s) failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
