"""Training: the loss falls, and resuming from a checkpoint is bit-for-bit an uninterrupted run."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from core.demo.synthetic import generate
from export.checkpoints import load_clip4clip, read_checkpoint
from export.datasets import load_dataset
from export.metrics import ranks, retrieval_metrics
from export.train import BEST, LAST, TrainConfig, train

pytestmark = pytest.mark.slow  # trains models


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("synth")
    generate(out, 48, seed=2, size=48, seconds=4)
    return str(out)


def _config(data: str, out, epochs: int, head: str = "seqTransf") -> TrainConfig:
    return TrainConfig(
        data=data, out=str(out), arch="tiny", head=head, epochs=epochs, batch_size=8, seed=3
    )


def test_loss_decreases_and_checkpoints_load(tiny_data, tmp_path) -> None:
    result = train(_config(tiny_data, tmp_path, epochs=6, head="meanP"))
    losses = [h["loss"] for h in result["history"]]
    assert losses[-1] < losses[0] - 0.05, losses
    assert "val" in result["history"][-1]
    model = load_clip4clip(tmp_path / BEST)  # what `clipseek-export convert --checkpoint` reads
    assert model.head_name == "meanP"


def test_resume_is_bit_for_bit(tiny_data, tmp_path) -> None:
    train(_config(tiny_data, tmp_path / "straight", epochs=2))
    train(_config(tiny_data, tmp_path / "resumed", epochs=2), stop_after=1)  # "interrupted"
    resumed = train(_config(tiny_data, tmp_path / "resumed", epochs=2))  # picks up last.pt
    assert len(resumed["history"]) == 2
    a = read_checkpoint(tmp_path / "straight" / LAST)
    b = read_checkpoint(tmp_path / "resumed" / LAST)
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert a["train"]["history"][-1]["loss"] == b["train"]["history"][-1]["loss"]


def test_tight_transf_trains_and_reranks_only_the_top_k(tiny_data, tmp_path) -> None:
    from export.datasets import split
    from export.evaluate import rerank

    result = train(_config(tiny_data, tmp_path, epochs=1, head="tightTransf"))
    assert np.isfinite(result["history"][0]["loss"])
    clips = split(load_dataset(tiny_data), "test")
    sim = np.random.default_rng(0).normal(size=(len(clips), len(clips))).astype(np.float32)
    out = rerank(sim, clips, tmp_path / LAST, top_k=3)
    for row in range(len(clips)):
        before = np.argsort(-sim[row]).tolist()
        after = np.argsort(-out[row]).tolist()
        assert set(after[:3]) == set(before[:3])  # the same three, in the cross-encoder's order
        assert after[3:] == before[3:]  # the rest untouched


def test_metrics() -> None:
    sim = np.array([[0.9, 0.1, 0.0], [0.8, 0.5, 0.1], [0.1, 0.2, 0.3]])
    assert ranks(sim).tolist() == [1, 2, 1]
    m = retrieval_metrics(sim, ["simple", "temporal", "simple"])
    assert m["t2v"]["R@1"] == pytest.approx(200 / 3)
    assert m["t2v_temporal"]["R@1"] == 0.0 and m["t2v_simple"]["R@1"] == 100.0
    tied = np.ones((2, 2))
    assert ranks(tied).tolist() == [2, 2]  # a tie is not a win
    noise = np.array([[1.0, 1.0 - 1e-7], [1.0, 1.0 + 1e-7]])
    assert ranks(noise).tolist() == [2, 2]  # nor is a win by float noise


def test_csv_dataset(tmp_path, tiny_data) -> None:
    clips = load_dataset(tiny_data)
    with (tmp_path / "mine.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)  # captions may hold commas ("a red circle, then ...")
        writer.writerow(["video", "caption", "start", "end"])
        writer.writerows([c.video, c.captions[0], 0, 3] for c in clips[:5])
    mine = load_dataset(tmp_path / "mine.csv")
    assert [c.captions[0] for c in mine] == [c.captions[0] for c in clips[:5]]
    assert all(c.start == 0.0 and c.end == 3.0 for c in mine)


def test_bundle_eval_through_the_indexer_agrees_with_pytorch(tiny_data, tmp_path) -> None:
    """The same checkpoint ranks the test split identically in PyTorch and as an ONNX bundle."""
    from core.model.tokenizer import ClipTokenizer
    from export.convert import convert
    from export.datasets import split
    from export.evaluate import bundle_similarity, evaluate
    from export.train import FrameStore, similarity_matrix

    config = _config(tiny_data, tmp_path / "run", epochs=3, head="seqTransf")
    train(config)
    model = load_clip4clip(tmp_path / "run" / BEST)
    bundle = convert(model, tmp_path / "bundle", source="test").bundle
    clips = split(load_dataset(tiny_data), "test")
    torch_sim = similarity_matrix(
        model,
        clips,
        FrameStore(clips, model, config),
        ClipTokenizer(),
        max_words=config.max_words,
        device=torch.device("cpu"),
    )
    onnx_sim = bundle_similarity(bundle, clips)
    assert np.abs(torch_sim - onnx_sim).max() < 1e-4
    assert ranks(torch_sim).tolist() == ranks(onnx_sim).tolist()
    result = evaluate(bundle, tiny_data)
    torch_r1 = retrieval_metrics(torch_sim)["t2v"]["R@1"]
    assert abs(result["metrics"]["t2v"]["R@1"] - torch_r1) <= 1.0
    assert result["videos"] == len(clips)


def test_msrvtt_layout(tmp_path, tiny_data) -> None:
    import json
    import shutil

    ours = load_dataset(tiny_data)[:3]
    (tmp_path / "videos").mkdir()
    for i, clip in enumerate(ours):
        shutil.copy(clip.video, tmp_path / "videos" / f"video{i}.mp4")
    data = {
        "videos": [
            {"video_id": f"video{i}", "split": s}
            for i, s in enumerate(["train", "validate", "test"])
        ],
        "sentences": [
            {"video_id": f"video{i}", "caption": c}
            for i, clip in enumerate(ours)
            for c in (clip.captions[0], "another caption")
        ],
    }
    (tmp_path / "MSRVTT_data.json").write_text(json.dumps(data))
    clips = load_dataset(tmp_path)
    assert [c.split for c in clips] == ["train", "val", "test"]
    assert all(len(c.captions) == 2 and c.video.is_file() for c in clips)


def test_init_from_a_checkpoint_keeps_its_clip_weights(tiny_data, tmp_path) -> None:
    train(_config(tiny_data, tmp_path / "first", epochs=1, head="meanP"))
    first = load_clip4clip(tmp_path / "first" / LAST)
    config = _config(tiny_data, tmp_path / "second", epochs=1, head="seqLSTM")
    config.init = str(tmp_path / "first" / LAST)
    config.lr_clip = 0.0  # CLIP frozen: only the new head learns
    train(config)
    second = load_clip4clip(tmp_path / "second" / LAST)
    assert second.head_name == "seqLSTM"
    a, b = first.state_dict(), second.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("clip."))


def test_twins_are_read_and_batched_side_by_side(tiny_data) -> None:
    from export.train import _grouped_order

    clips = [c for c in load_dataset(tiny_data) if c.split == "train"]
    twins = [c for c in clips if c.kind == "temporal"]
    assert twins and all(c.group for c in twins)
    for seed in range(5):
        order = _grouped_order(clips, torch.Generator().manual_seed(seed))
        assert sorted(order) == list(range(len(clips)))
        position = {clips[i].key: p for p, i in enumerate(order)}
        for a in twins:
            partner = [b for b in twins if b.group == a.group and b is not a]
            assert len(partner) == 1 and abs(position[a.key] - position[partner[0].key]) == 1
