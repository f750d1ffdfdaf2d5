"""Retrieval metrics of a model *bundle*, measured through the app's own indexing pipeline.

The split's videos are indexed into a scratch library exactly as a user's would be (core's
sampling and preprocessing, segments, the bundle's head, SQLite and hnswlib); each caption is then
encoded by the bundle's text tower and every video is scored by its best segment — a video is
found when one of its moments is. The number printed is therefore the number the app achieves,
not a PyTorch approximation of it.

A tightTransf checkpoint can re-rank each caption's top-k (PyTorch; it scores pairs and has no
vector to index).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.library import Library
from core.model.encoder import Encoder
from export.datasets import Clip, load_dataset, split
from export.errors import ExportError
from export.metrics import retrieval_metrics


def _index(
    encoder: Encoder, clips: list[Clip], scratch: Path, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Index the clips' videos into a scratch library.

    Returns (owner [S], vectors [S, D]): for every stored segment, the column (clip index) of
    the video it belongs to, and its vector.
    """
    folder = scratch / "videos"
    folder.mkdir()
    folder = folder.resolve()  # the library stores canonical paths (the temp dir may be a link)
    column: dict[str, int] = {}
    for i, clip in enumerate(clips):
        if clip.start is not None or clip.end is not None:
            raise ExportError(
                "bundle evaluation indexes whole videos; clips with ranges need PyTorch"
            )
        link = folder / f"{i:06d}{clip.video.suffix}"
        os.symlink(clip.video.resolve(), link)
        column[str(link)] = i
    with Library(encoder, scratch / "library", sample_rate=rate) as lib:
        lib.add_folder(folder)
        lib.sync()
        report = lib.index_job().run()
        if report.failed:
            bad = report.failed[0]
            raise ExportError(
                f"{len(report.failed)} videos failed to index, e.g. {bad.path}: {bad.error}"
            )
        ids, vectors = [], []
        for batch_ids, batch in lib.catalog.iter_segment_vectors(encoder.embed_dim):
            ids += batch_ids
            vectors.append(batch)
        rows = lib.catalog.segments(ids)
        owner = np.array([column[str(Path(rows[i].path))] for i in ids])
    return owner, np.concatenate(vectors)


def bundle_similarity(
    bundle: str | Path, clips: list[Clip], *, rate: float = 1.0, force_cpu: bool = True
) -> np.ndarray:
    """[captions, videos] scores: each video's best segment against each clip's first caption."""
    encoder = Encoder(bundle, force_cpu=force_cpu)
    with tempfile.TemporaryDirectory(prefix="clipseek-eval-") as tmp:
        owner, vectors = _index(encoder, clips, Path(tmp), rate)
    text = encoder.encode_texts([c.captions[0] for c in clips], truncate=True)
    seg_scores = text @ vectors.T  # [captions, segments]
    sim = np.full((len(clips), len(clips)), -np.inf, dtype=np.float32)
    for column in range(len(clips)):
        mine = owner == column
        if mine.any():
            sim[:, column] = seg_scores[:, mine].max(axis=1)
    return sim


def rerank(sim: np.ndarray, clips: list[Clip], checkpoint: str | Path, top_k: int) -> np.ndarray:
    """Re-score each caption's top-k videos with a tightTransf checkpoint (others keep order)."""
    import torch

    from core.model.tokenizer import ClipTokenizer
    from export.checkpoints import load_clip4clip
    from export.heads import TightTransfHead
    from export.train import FrameStore, TrainConfig, token_ids, video_frames

    model = load_clip4clip(checkpoint)
    if not isinstance(model.head, TightTransfHead):  # head_name != "tightTransf"
        raise ExportError(f"{Path(checkpoint).name} is a {model.head_name} model, not tightTransf")
    store = FrameStore(clips, model, TrainConfig(data="", out=""))
    tokenizer = ClipTokenizer(context_length=model.context_length)
    out = sim.copy()
    bonus = float(np.nanmax(np.abs(sim[np.isfinite(sim)]))) * 10 + 1000
    with torch.no_grad():
        for row in range(len(clips)):
            top = np.argsort(-sim[row])[:top_k].tolist()
            ids = token_ids(tokenizer, [clips[row].captions[0]], 32)
            text = model.encode_text(ids).expand(len(top), -1)
            pixels, mask = store.batch(top)
            scores = model.head.score_pairs(text, video_frames(model, pixels), mask)
            # the re-ranked top-k stay above everything else, in the cross-encoder's order
            out[row, top] = bonus + scores.numpy()
    return out


def evaluate(
    bundle: str | Path,
    data: str | Path,
    *,
    split_name: str = "test",
    rate: float = 1.0,
    rerank_checkpoint: str | Path | None = None,
    top_k: int = 10,
) -> dict[str, Any]:
    clips = split(load_dataset(data), split_name)
    sim = bundle_similarity(bundle, clips, rate=rate)
    kinds = [c.kind for c in clips]
    result: dict[str, Any] = {"bundle": str(bundle), "split": split_name, "videos": len(clips)}
    result["metrics"] = retrieval_metrics(sim, kinds)
    if rerank_checkpoint is not None:
        reranked = rerank(sim, clips, rerank_checkpoint, top_k)
        result["reranked"] = retrieval_metrics(reranked, kinds)
        result["rerank_top_k"] = top_k
    return result
