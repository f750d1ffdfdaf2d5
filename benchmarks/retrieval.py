"""The results table: untrained vs meanP vs seqLSTM vs seqTransf vs tightTransf re-ranking.

    python benchmarks/retrieval.py --runs RUNS_DIR --data FRESH_TEST_DIR [--json FILE]

``RUNS_DIR`` holds one training folder per head (``run-meanP``, ``run-seqLSTM``,
``run-seqTransf``, ``run-tightTransf``; see README for the commands). Each indexable head's
``best.pt`` is converted to a bundle and measured through the app's indexing pipeline
(:func:`export.evaluate.evaluate`) on the test split of ``--data``; the PyTorch R@1 of the same
checkpoint on the same videos is printed next to it (they must agree within 1 point). The
tightTransf checkpoint re-ranks the seqTransf bundle's top 10. "untrained" is a random-init
seqTransf of the same architecture.

Prints that table in Markdown (text→video R@1/R@5/R@10/MdR, the same on the temporal "X, then Y"
captions, and the PyTorch R@1); ``--json FILE`` also writes every metric. Needs the ``export``
extra (PyTorch).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from core.model.tokenizer import ClipTokenizer
from export.checkpoints import load_clip4clip
from export.convert import convert
from export.datasets import load_dataset, split
from export.evaluate import evaluate
from export.metrics import retrieval_metrics
from export.model import build_model
from export.train import FrameStore, TrainConfig, similarity_matrix

HEADS = ("meanP", "seqLSTM", "seqTransf")


def torch_r1(model, data: Path) -> float:
    clips = split(load_dataset(data), "test")
    sim = similarity_matrix(
        model,
        clips,
        FrameStore(clips, model, TrainConfig(data="", out="")),
        ClipTokenizer(),
        max_words=32,
        device=torch.device("cpu"),
    )
    return float(retrieval_metrics(sim)["t2v"]["R@1"])


def row(name: str, metrics: dict[str, Any], extra: str = "") -> str:
    t = metrics["t2v"]
    tmp = metrics.get("t2v_temporal", {"R@1": float("nan"), "R@5": float("nan"), "MdR": 0})
    return (
        f"| {name} | {t['R@1']:.1f} | {t['R@5']:.1f} | {t['R@10']:.1f} | {t['MdR']:.0f} |"
        f" {tmp['R@1']:.1f} | {tmp['R@5']:.1f} | {tmp['MdR']:.0f} |{extra}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True, type=Path)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--arch", default="small")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    results: dict[str, Any] = {}
    lines = [
        "| model | R@1 | R@5 | R@10 | MdR | temporal R@1 | temporal R@5 | temporal MdR |"
        " PyTorch R@1 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        untrained = convert(build_model(args.arch, "seqTransf"), Path(tmp) / "untrained").bundle
        results["untrained"] = evaluate(untrained, args.data)
        lines.append(row("untrained (random init)", results["untrained"]["metrics"], " – |"))
        for head in HEADS:
            ckpt = args.runs / f"run-{head}" / "best.pt"
            if not ckpt.is_file():
                print(f"skipping {head}: no {ckpt}", file=sys.stderr)
                continue
            model = load_clip4clip(ckpt)
            bundle = convert(model, Path(tmp) / head).bundle
            results[head] = evaluate(bundle, args.data)
            results[head]["torch_r1"] = torch_r1(model, args.data)
            lines.append(row(head, results[head]["metrics"], f" {results[head]['torch_r1']:.1f} |"))
            if head == "seqTransf":
                tight = args.runs / "run-tightTransf" / "best.pt"
                if tight.is_file():
                    reranked = evaluate(bundle, args.data, rerank_checkpoint=tight, top_k=10)
                    results["tightTransf-rerank"] = reranked
                    lines.append(
                        row(
                            "seqTransf + tightTransf re-rank (top 10)", reranked["reranked"], " – |"
                        )
                    )
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
