"""Korean queries on the demo: the distilled student against the English tower (issue 25, item 3).

    python benchmarks/korean_retrieval.py [--seeds N | --seed S ...] [--videos 60]
        [--tower DIR] [--json FILE]

Each seed draws a fresh demo library (:func:`core.demo.library.build_demo`: videos the demo
model never saw, of the (colour, shape) pairs it was not trained on), indexed by the app's own
pipeline. Every video is then searched for:

* **English**: its English caption, through the demo model's own text tower;
* **Korean, held-out styles**: every phrasing of :data:`core.demo.korean.HELD_OUT_STYLES`
  (sentence templates the student never saw in training), through the student;
* **Korean, training styles**: two phrasings drawn with :data:`TRAIN_STYLES` and fresh words
  (a seeded draw of this run's own), through the student;
* **English through the student** (the student also answers English).

A query vector (L2-normalised, as the app normalises a text query) is searched in the library's
vector index — ``Library.index.query``, the hnswlib k-NN call :class:`core.query.search.Searcher`
makes for a typed sentence — over every segment; a video's score is its best segment's. R@1 is
the share of queries whose own video comes first. The training seeds of the student
(export/distil.py: 10,000,000 and up, validation 9,000,000) are never drawn here: the seeds are
fresh (below 1,000,000) unless ``--seed`` is given.

Prints one row per seed, the overall figures and the ratio Korean / English R@1 (target >= 0.9),
and the machine line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from fixtures import machine

from core.demo.korean import HELD_OUT_STYLES, TRAIN_STYLES, korean_caption, korean_captions
from core.demo.library import DEMO_SPLIT_SEED, build_demo
from core.demo.synthetic import plan
from core.library import Library
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL
from core.model.text_tower import BUNDLED_TOWER_DIR, TextTower

#: seeds the student trained or validated on (export/distil.py): refused here
TRAINING_SEEDS_FROM = 9_000_000


def video_ranking(lib: Library, vector: np.ndarray) -> list[str]:
    """Video paths, best first, by their best segment's cosine in the library's vector index."""
    hits = lib.index.query(vector, len(lib.index))
    rows = lib.catalog.segments([seg for seg, _ in hits])
    order: list[str] = []
    for seg, _score in hits:  # best first
        row = rows.get(seg)
        if row is not None and row.path not in order:
            order.append(row.path)
    return order


def r_at_1(lib: Library, vectors: np.ndarray, videos: Sequence[str]) -> float:
    hits = [video_ranking(lib, v)[:1] == [own] for v, own in zip(vectors, videos, strict=True)]
    return float(np.mean(hits))


def one_seed(
    encoder: Encoder, tower: TextTower, seed: int, videos: int, root: Path
) -> dict[str, Any]:
    lib, pairs = build_demo(encoder, videos=videos, seed=seed, root=root / f"demo-{seed}")
    try:
        specs = plan(videos, seed, split_seed=DEMO_SPLIT_SEED, test_only=True)
        if [s.caption() for s in specs] != [c for _, c in pairs]:
            raise RuntimeError("the demo's videos are not plan()'s: the benchmark needs updating")
        paths = [p for p, _ in pairs]
        english = [c for _, c in pairs]
        held, held_own = [], []
        fresh, fresh_own = [], []
        rng = random.Random(f"korean-benchmark:{seed}")
        for spec, path in zip(specs, paths, strict=True):
            for text in korean_captions(spec, HELD_OUT_STYLES):
                held.append(text)
                held_own.append(path)
            for _ in range(2):
                fresh.append(korean_caption(spec, rng, TRAIN_STYLES))
                fresh_own.append(path)
        return {
            "seed": seed,
            "videos": videos,
            "english": r_at_1(lib, encoder.encode_texts(english), paths),
            "korean_held_out": r_at_1(lib, tower.encode_texts(held), held_own),
            "korean_train_styles": r_at_1(lib, tower.encode_texts(fresh), fresh_own),
            "english_via_student": r_at_1(lib, tower.encode_texts(english), paths),
            "queries": {"english": len(english), "held_out": len(held), "train": len(fresh)},
            "example": {"english": english[0], "held_out": held[:2], "train": fresh[:2]},
        }
    finally:
        lib.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5, help="fresh demo libraries to draw")
    ap.add_argument("--seed", type=int, action="append", help="a fixed seed (repeatable)")
    ap.add_argument("--videos", type=int, default=60, help="videos per demo library")
    ap.add_argument(
        "--tower", type=Path, default=DEMO_MODEL / BUNDLED_TOWER_DIR, help="the student's folder"
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    seeds = args.seed or [random.SystemRandom().randrange(1, 1_000_000) for _ in range(args.seeds)]
    if any(s >= TRAINING_SEEDS_FROM for s in seeds):
        ap.error(f"seeds from {TRAINING_SEEDS_FROM} up are the student's training seeds")
    encoder = Encoder(DEMO_MODEL, force_cpu=True)
    tower = TextTower(args.tower, force_cpu=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            rows.append(one_seed(encoder, tower, seed, args.videos, Path(tmp)))
            print(f"seed {seed} done", file=sys.stderr)
    print(machine())
    print(f"demo model + {tower.name} ({args.tower}), {args.videos} fresh videos a seed")
    print()
    print(
        "| seed | English R@1 | Korean R@1, held-out styles | Korean R@1, training styles"
        " (fresh words) | held-out / English | English through the student |"
    )
    print("| --- | --- | --- | --- | --- | --- |")

    def line(name: str, r: dict[str, Any]) -> str:
        ratio = r["korean_held_out"] / r["english"] if r["english"] else float("nan")
        return (
            f"| {name} | {100 * r['english']:.1f} | {100 * r['korean_held_out']:.1f} |"
            f" {100 * r['korean_train_styles']:.1f} | {ratio:.3f} |"
            f" {100 * r['english_via_student']:.1f} |"
        )

    for r in rows:
        print(line(str(r["seed"]), r))
    keys = ("english", "korean_held_out", "korean_train_styles", "english_via_student")
    overall = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    print(line("**all**", overall))
    train_ratio = overall["korean_train_styles"] / overall["english"]
    held_ratio = overall["korean_held_out"] / overall["english"]
    print()
    print(
        f"Korean / English R@1: held-out styles {held_ratio:.3f}, training styles"
        f" {train_ratio:.3f} (target >= 0.9); queries a seed: {rows[0]['queries']}"
    )
    if args.json:
        report = {"seeds": seeds, "videos": args.videos, "rows": rows, "overall": overall,
                  "machine": machine(), "tower": str(args.tower)}  # fmt: skip
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
