"""Export M-CLIP's full-size multilingual text tower (random XLM-R Large) and time it on the CPU.

    python benchmarks/multilingual_export.py [--out bench-out/multilingual] [--threads 2]

Builds XLM-Roberta-Large + masked mean + Linear(1024 -> 512) with random weights (the shape of
``M-CLIP/XLM-Roberta-Large-Vit-B-32``; nothing is downloaded), exports it to ``text.onnx`` with its
weights in ``text.onnx.data`` (float32, over protobuf's 2 GiB), and prints: the export time, the
files' sizes, the minimum ONNX-vs-PyTorch cosine on 3 sentences, and ONNX Runtime's latency for
one 16-token query at its true length and padded to 77 tokens (mask 0 on the padding). Minutes of
work and ~8 GB of memory at its peak, so it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from fixtures import machine, run_times

ROOT = Path(__file__).resolve().parents[1]


def _batch(sentences: list[list[int]], width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    from export.multilingual import PAD_ID

    width = width or max(map(len, sentences))
    ids = np.full((len(sentences), width), PAD_ID, np.int64)
    mask = np.zeros_like(ids)
    for row, s in enumerate(sentences):
        ids[row, : len(s)] = s
        mask[row, : len(s)] = 1
    return ids, mask


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return float((a * b).sum(-1).min())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "multilingual")
    ap.add_argument("--threads", type=int, default=2, help="ONNX Runtime and torch threads")
    ap.add_argument("--seconds", type=float, default=5.0, help="time per latency measurement")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import onnxruntime as ort
    import torch

    from export.multilingual import (
        ARCHS,
        BOS_ID,
        EOS_ID,
        build_text_tower,
        export_text_tower,
    )

    torch.set_num_threads(args.threads)
    arch = ARCHS["full"]
    print(machine())
    print(
        f"XLM-R: {arch.layers} layers, width {arch.width}, vocab {arch.vocab_size:,}"
        f" -> Linear {arch.width}->{arch.embed_dim}; torch {torch.__version__},"
        f" onnxruntime {ort.__version__}"
    )
    t0 = time.perf_counter()
    model = build_text_tower("full", seed=args.seed)
    params = sum(p.numel() for p in model.parameters())
    print(f"built: {params / 1e6:.1f} M parameters in {time.perf_counter() - t0:.1f} s")

    path = args.out / "text.onnx"
    t0 = time.perf_counter()
    written = export_text_tower(model, path)
    print(f"exported in {time.perf_counter() - t0:.1f} s:")
    for f in written:
        print(f"  {f.name}: {f.stat().st_size / 1e6:,.1f} MB")
    others = sorted(p.name for p in args.out.iterdir() if p not in written)
    if others:
        print(f"  also in {args.out}: {', '.join(others)}")
    gc.collect()

    rng = np.random.default_rng(args.seed)
    sentences = [
        [BOS_ID, *rng.integers(3, arch.vocab_size, n - 2).tolist(), EOS_ID] for n in (16, 7, 40)
    ]
    ids, mask = _batch(sentences)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    t0 = time.perf_counter()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    print(f"session created in {time.perf_counter() - t0:.1f} s")

    def run(i: np.ndarray, m: np.ndarray) -> np.ndarray:
        (out,) = session.run(["embeddings"], {"input_ids": i, "attention_mask": m})
        return np.asarray(out)

    ours = run(ids, mask)
    with torch.no_grad():
        ref = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    print(
        f"parity, 3 sentences (16, 7, 40 tokens, one batch): min cosine"
        f" {_min_cosine(ours, ref):.7f}, max |diff| {np.abs(ours - ref).max():.2e}"
    )
    alone = np.stack([run(*_batch([s]))[0] for s in sentences])
    print(f"batch invariance: max |alone - batched| {np.abs(alone - ours).max():.2e}")

    query = sentences[:1]
    for label, width in (("16 tokens", None), ("padded to 77", 77)):
        q_ids, q_mask = _batch(query, width)
        times = run_times(lambda i=q_ids, m=q_mask: run(i, m), 3, seconds=args.seconds)
        print(
            f"ORT {args.threads} threads, one query, {label}: p50"
            f" {statistics.median(times) * 1e3:.1f} ms (min {min(times) * 1e3:.1f} ms,"
            f" {len(times)} runs)"
        )
    q_ids, q_mask = _batch(query)
    with torch.no_grad():
        times = run_times(
            lambda: model(torch.from_numpy(q_ids), torch.from_numpy(q_mask)), 3, seconds=2.0
        )
    print(
        f"PyTorch {args.threads} threads, one query, 16 tokens: p50"
        f" {statistics.median(times) * 1e3:.1f} ms"
    )
    print(f"peak RSS: {_peak_rss_gb():.1f} GB")
    return 0


def _peak_rss_gb() -> float:
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1e6 if os.name != "nt" else 0.0


if __name__ == "__main__":
    sys.exit(main())
