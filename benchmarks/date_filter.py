"""What a date range costs a search, and whether a narrow one still returns k moments.

    python benchmarks/date_filter.py [--segments 10000] [--in-range 50,200,500,2000,5000]
                                     [--queries 200] [--json FILE]

A real library database (``core.store.catalog.Catalog``) and vector index
(``core.store.vector_index.VectorIndex``) of ``--segments`` segments: videos of 10 segments
each, shot over ten years, with 512-d unit vectors clustered like real embeddings. For each
``--in-range`` count, a range holding exactly that many segments is asked with k=10, the way a
search does (``Searcher.allowed`` reads the range from the database, the index query takes it
as a filter), and compared with what the alternatives would give:

* *unfiltered*: the same query without a range (the baseline latency);
* *filter in the query* (what ClipSeek does): the allowed ids from SQL, then the index query;
  below ``EXACT_FILTER_BELOW`` live ids the filter is scored exactly, above it hnswlib's
  filtered graph walk runs;
* *hnswlib filter always*: the graph walk even for a narrow filter (for comparison);
* *post-filter*: the app's 800 nearest (k=200 asked, 4 each) fetched unfiltered, those outside
  the range dropped: how many of the k survive.

Prints p50/p99 ms, results returned (of k) and recall@k against exact search within the range.
Needs no model or video. Scratch files are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from fixtures import machine

from core.ingest.segments import SegmentSpan
from core.query.period import Period
from core.query.search import Searcher
from core.store import vector_index
from core.store.catalog import Catalog, VideoMedia
from core.store.vector_index import VectorIndex

DIM = 512
K = 10
PER_VIDEO = 10
YEAR = 365.25 * 86400
START = 1_500_000_000.0  # July 2017
#: Noise per component around a cluster centre: cosine ~0.8 to it (frames of one video),
#: as benchmarks/vector_index.py draws them; queries get 1.5 times as much (cosine ~0.65).
SPREAD = 0.75 / np.sqrt(DIM)


def build(
    root: Path, segments: int, rng: np.random.Generator
) -> tuple[Catalog, VectorIndex, np.ndarray]:
    """A library of ``segments`` segments (``PER_VIDEO`` per video, each video near one of a
    few hundred cluster centres), shot evenly over ten years; returns the centres too."""
    catalog = Catalog(root / "library.db")
    index = VectorIndex(root / "segments.hnsw", DIM)
    folder = catalog.add_folder(str(root / "videos"))
    videos = segments // PER_VIDEO
    centres = rng.standard_normal((max(8, videos // 4), DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    times = list(np.arange(PER_VIDEO, dtype=np.float64) * 4.0)
    spans = [
        SegmentSpan(t, t + 8, i, min(PER_VIDEO - 1, i + 1), t + 4) for i, t in enumerate(times)
    ]
    media = VideoMedia(duration=PER_VIDEO * 4.0, fps=30.0, width=1920, height=1080, rotation=0)
    captures = []
    ids: list[int] = []
    vectors: list[np.ndarray] = []
    for v in range(videos):
        vid = catalog.add_video(str(root / "videos" / f"{v:05d}.mp4"), folder, f"fp{v}", 1, 1)
        centre = centres[rng.integers(len(centres))]
        frames = centre + SPREAD * rng.standard_normal((PER_VIDEO, DIM)).astype(np.float32)
        frames /= np.linalg.norm(frames, axis=1, keepdims=True)
        new, _ = catalog.store_indexed(vid, media, times, frames, spans, frames)
        ids += new
        vectors.append(frames)
        shot = START + 10 * YEAR * v / videos
        captures.append((vid, None, shot, "container", None))
    catalog.set_captures(captures)
    index.add(ids, np.concatenate(vectors))
    return catalog, index, centres


def timed(fn: Callable[[np.ndarray], list], queries: np.ndarray) -> tuple[list[float], list]:
    """(seconds per query, answers), after one warm-up query."""
    fn(queries[0])
    times, outs = [], []
    for q in queries:
        t0 = time.perf_counter()
        outs.append(fn(q))
        times.append(time.perf_counter() - t0)
    return times, outs


def exact_truth(index: VectorIndex, ids: list[int]) -> Callable[[np.ndarray], set[int]]:
    """The true k nearest among ``ids``, by brute force."""
    vectors = np.asarray(index._index.get_items(ids), dtype=np.float32)

    def truth(q: np.ndarray) -> set[int]:
        return {ids[i] for i in np.argsort(-(vectors @ q))[:K]}

    return truth


def recall(outs: list, queries: np.ndarray, truth: Callable[[np.ndarray], set[int]]) -> float:
    found = [len({h[0] for h in o} & truth(q)) / K for o, q in zip(outs, queries, strict=True)]
    return float(np.mean(found))


def measure_range(
    index: VectorIndex, searcher: Searcher, queries: np.ndarray, when: Period
) -> dict[str, float]:
    """One range: ClipSeek's way, hnswlib's filter for every size, and post-filtering."""
    allowed = searcher.allowed(None, when)
    assert allowed is not None
    truth = exact_truth(index, sorted(allowed))
    sql_times, _ = timed(lambda q: searcher.allowed(None, when), queries)
    ours_times, ours = timed(lambda q: index.query(q, K, searcher.allowed(None, when)), queries)
    saved = vector_index.EXACT_FILTER_BELOW
    vector_index.EXACT_FILTER_BELOW = 0
    try:
        walk_times, walk = timed(lambda q: index.query(q, K, allowed), queries)
    finally:
        vector_index.EXACT_FILTER_BELOW = saved
    post_times, post = timed(
        lambda q: [h for h in index.query(q, 800) if h[0] in allowed][:K], queries
    )
    return {
        "in_range": len(allowed),
        "sql_p50_ms": percentiles(sql_times)[0],
        "ours_p50_ms": percentiles(ours_times)[0],
        "ours_p99_ms": percentiles(ours_times)[1],
        "ours_returned": float(np.mean([len(o) for o in ours])),
        "ours_recall": recall(ours, queries, truth),
        "walk_p50_ms": percentiles(walk_times)[0],
        "walk_p99_ms": percentiles(walk_times)[1],
        "walk_returned": float(np.mean([len(o) for o in walk])),
        "walk_recall": recall(walk, queries, truth),
        "post_p50_ms": percentiles(post_times)[0],
        "post_returned": float(np.mean([len(o) for o in post])),
    }


def percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def measure(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(0)
    scratch = Path(tempfile.mkdtemp(prefix="clipseek-datefilter-"))
    try:
        started = time.perf_counter()
        catalog, index, centres = build(scratch, args.segments, rng)
        built = time.perf_counter() - started
        searcher = Searcher(catalog, index, encoder=None, thumbs_dir=scratch)  # type: ignore[arg-type]
        # queries near the content (a cluster centre plus noise), as a sentence that matches
        # something in the library is
        picks = centres[rng.integers(len(centres), size=args.queries)]
        queries = picks + 1.5 * SPREAD * rng.standard_normal((args.queries, DIM)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        videos = args.segments // PER_VIDEO
        base_times, base_out = timed(lambda q: index.query(q, K), queries)
        every = sorted(index.labels())
        base_recall = recall(base_out, queries, exact_truth(index, every))
        rows = []
        for wanted in args.in_range:
            # a range of wanted / PER_VIDEO consecutive videos, in the middle of the decade
            first, count = videos // 2, max(1, wanted // PER_VIDEO)
            when = Period(
                START + 10 * YEAR * first / videos - 1,
                START + 10 * YEAR * (first + count) / videos - 1,
            )
            rows.append(measure_range(index, searcher, queries, when))
        catalog.close()
        return {
            "machine": machine(),
            "segments": args.segments,
            "build_seconds": round(built, 1),
            "unfiltered_p50_ms": percentiles(base_times)[0],
            "unfiltered_p99_ms": percentiles(base_times)[1],
            "unfiltered_recall": base_recall,
            "exact_filter_below": vector_index.EXACT_FILTER_BELOW,
            "k": K,
            "rows": rows,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument(
        "--in-range",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[50, 200, 500, 2000, 5000],
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    report = measure(args)
    print(report["machine"])
    print(
        f"{report['segments']:,} segments (built in {report['build_seconds']} s), k={K};"
        f" unfiltered query p50 {report['unfiltered_p50_ms']:.2f} ms,"
        f" p99 {report['unfiltered_p99_ms']:.2f} ms, recall@{K} {report['unfiltered_recall']:.3f};"
        f" exact scoring below {report['exact_filter_below']} allowed"
    )
    print(
        f"{'in range':>9} | {'SQL ms':>6} | {'ours p50/p99 ms':>15} {'got':>4} {'recall':>6} |"
        f" {'hnswlib filter p50/p99':>22} {'got':>4} {'recall':>6} | {'post-filter got':>15}"
    )
    for r in report["rows"]:
        print(
            f"{r['in_range']:>9,} | {r['sql_p50_ms']:>6.2f} |"
            f" {r['ours_p50_ms']:>7.2f}/{r['ours_p99_ms']:<7.2f} {r['ours_returned']:>4.1f}"
            f" {r['ours_recall']:>6.3f} | {r['walk_p50_ms']:>10.2f}/{r['walk_p99_ms']:<11.2f}"
            f" {r['walk_returned']:>4.1f} {r['walk_recall']:>6.3f} |"
            f" {r['post_returned']:>6.1f} of {K} ({r['post_p50_ms']:.2f} ms)"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
