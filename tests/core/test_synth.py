"""The synthetic benchmark: true captions, unseen compositions in val/test, reversed twins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from core.demo.synthetic import COLOURS, held_out_pairs, plan
from core.ingest.sample import sample_frames

ROOT = Path(__file__).resolve().parents[2]


def test_plan_keeps_held_out_pairs_out_of_training() -> None:
    specs = plan(400, seed=3)
    held = held_out_pairs(3)
    assert len(held) == 6  # a quarter of 6 colours x 4 shapes
    assert {c for c, _ in held} == set(COLOURS)  # every colour still appears in training
    train = [s for s in specs if s.split == "train"]
    evaluation = [s for s in specs if s.split != "train"]
    assert all(not (s.pairs() & held) for s in train)
    assert all(s.pairs() & held for s in evaluation)
    assert {s.split for s in specs} == {"train", "val", "test"}
    assert len({s.caption() for s in evaluation}) > 0.8 * len(evaluation)


def test_temporal_test_videos_come_with_their_reversed_twin() -> None:
    specs = [s for s in plan(300, seed=1) if s.split == "test" and s.kind == "temporal"]
    assert specs
    captions = {s.caption() for s in specs}
    for s in specs:
        a, rest = s.caption().split(", then ")
        b, background = rest.split(" on a ")
        assert f"{b}, then {a} on a {background}" in captions
    groups = [s.group for s in specs]
    assert all(groups.count(g) == 2 for g in groups)  # twins, and only twins, share a group


def test_plan_is_deterministic_per_seed() -> None:
    assert [s.caption() for s in plan(50, 7)] == [s.caption() for s in plan(50, 7)]
    assert [s.caption() for s in plan(50, 7)] != [s.caption() for s in plan(50, 8)]


def test_cli_writes_decodable_videos_and_msrvtt_like_json(tmp_path) -> None:
    args = ["synth", "--out", str(tmp_path), "--videos", "12", "--seed", "5"]
    proc = subprocess.run(
        [sys.executable, "-m", "export.cli", *args, "--size", "64", "--seconds", "4"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "data.json").read_text())
    assert len(data["videos"]) == len(data["sentences"]) == 12
    assert data["info"]["seed"] == 5
    first = data["videos"][0]
    frames = list(sample_frames(tmp_path / first["file"], rate=1.0))
    assert len(frames) == 4 and frames[0].rgb.shape == (64, 64, 3)
    # the picture is not just background: a shape was drawn
    assert np.ptp(frames[0].rgb.reshape(-1, 3), axis=0).max() > 60
    for entry, sentence in zip(data["videos"], data["sentences"], strict=True):
        assert sentence["video_id"] == entry["video_id"]
        assert " a orange" not in sentence["caption"] and "a a" not in sentence["caption"]


def test_fresh_videos_keep_the_training_sets_held_out_pairs() -> None:
    fresh = plan(200, seed=42, split_seed=3)
    held = held_out_pairs(3)
    assert all(s.pairs() & held for s in fresh if s.split == "test")
    assert all(not (s.pairs() & held) for s in fresh if s.split == "train")
    assert [s.caption() for s in fresh] != [s.caption() for s in plan(200, seed=3)]
