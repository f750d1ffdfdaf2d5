"""What the ANN index costs as a library grows: build, query latency, recall, save and reload.

    python benchmarks/vector_index.py [--sizes 10000,100000,1000000] [--build-budget 1500]
                                      [--out bench-out] [--json FILE]

``core.store.vector_index.VectorIndex`` (hnswlib) at each of ``--sizes``, on synthetic 512-d unit
vectors clustered like real embeddings (a random centre plus noise, cosine to it ~0.8, like near
frames of one video), with 200 held-out queries from the same clusters. Per size it measures:
build time (adds in chunks of 10,000; a build that runs past ``--build-budget`` seconds stops
there and is reported as partial), query latency p50/p99 (one ``query`` call at a time, k=10,
after 10 warm-up queries), recall@10 against exact (brute-force) search, save time, and reload
time (``load_and_reconcile`` against the same live ids), and the file's size.

Prints the machine, one progress block per size, then a table: segments, build s, adds/s, p50 ms,
p99 ms, recall@10, save s, load s, file MB and what the reload reported; then the time taken.
Needs no model. The index files are written in a scratch folder under ``--out`` (default
``bench-out/``; 1,000,000 vectors take about 2.2 GB) and removed at the end.

``benchmarks/indexing.py`` runs the same measurement after its indexing figures when given
``--sizes`` (it is on by default there, so ``make bench`` still records both in one JSON file).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from fixtures import REPO_ROOT, machine

from core.store.vector_index import VectorIndex

DIM = 512
QUERIES = 200
K = 10


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


def measure_sizes(
    sizes: list[int], scratch: Path, budget_s: float, taken: dict[str, float]
) -> list[AnnResult]:
    """:func:`measure_ann` at each size, in order; adds each one's seconds to ``taken``."""
    results = []
    for size in sizes:
        started = time.perf_counter()
        print(f"\nANN index, {size:,} segments of {DIM} dimensions", flush=True)
        results.append(measure_ann(size, scratch, budget_s))
        taken[f"ANN {size:,}"] = time.perf_counter() - started
    return results


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


def ann_summary(results: list[AnnResult]) -> str:
    """The table with its title line."""
    title = f"ANN index (hnswlib via VectorIndex), {DIM}-d, {QUERIES} queries, k={K}"
    return title + "\n" + ann_table(results)


def parse_sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="index sizes, comma-separated")
    ap.add_argument(
        "--build-budget", type=float, default=1500, help="seconds an ANN build may take"
    )
    ap.add_argument("--out", default=str(REPO_ROOT / "bench-out"), help="scratch folder's parent")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    header = f"machine   {machine()}"
    print(header, flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="vector-index-", dir=out))
    taken: dict[str, float] = {}
    try:
        anns = measure_sizes(parse_sizes(args.sizes), scratch, args.build_budget, taken)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n" + header)
    if anns:
        print("\n" + ann_summary(anns))
    print("\ntime taken  " + ", ".join(f"{k} {v:.0f} s" for k, v in taken.items()))
    if args.json:
        report = {
            "machine": machine(),
            "ann": [asdict(a) for a in anns],
            "seconds_taken": taken,
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
