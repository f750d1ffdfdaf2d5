"""The shipped demo model: the default when nothing is installed, and it really finds moments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.demo.library import DEMO_SPLIT_SEED
from core.demo.synthetic import generate, plan, render
from core.ingest.sample import sample_frames
from core.model.bundle import load_bundle
from core.model.encoder import Encoder, l2_normalise
from core.model.registry import DEMO_MODEL, resolve_model
from export.evaluate import evaluate

pytestmark = pytest.mark.slow  # makes and indexes demo libraries

ROOT = Path(__file__).resolve().parents[2]

#: text->video R@1 (%) of the demo model on fresh test videos: the mean of six draws of 120-150
#: videos (84.7, 75.8, 84.2, 82.5, 86.7, 85.8; README, "Results"). The margin covers the spread
#: between draws; the threshold (71.3) stays above the 60 the model must reach.
MEASURED_R1 = 83.3
MARGIN = 12.0


@pytest.fixture(scope="module")
def demo() -> Encoder:
    return Encoder(DEMO_MODEL, force_cpu=True)


def test_demo_model_is_the_default_and_small() -> None:
    assert resolve_model() == DEMO_MODEL
    bundle = load_bundle(DEMO_MODEL)  # checksums verified
    size = sum(p.stat().st_size for p in DEMO_MODEL.rglob("*") if p.is_file())
    assert size < 8 * 2**20, size
    assert bundle.manifest.head == "seqTransf"


def test_no_model_at_all_is_explained(tmp_path, monkeypatch) -> None:
    from core.model.bundle import BundleError

    monkeypatch.setattr("core.model.registry.DEMO_MODEL", tmp_path / "gone")
    with pytest.raises(BundleError, match="no model installed"):
        resolve_model()


def test_demo_model_finds_unseen_compositions_through_the_indexer(tmp_path) -> None:
    data = tmp_path / "fresh"
    generate(data, 120, seed=20261124, split_seed=DEMO_SPLIT_SEED, test_only=True)
    result = evaluate(DEMO_MODEL, data)
    r1 = result["metrics"]["t2v"]["R@1"]
    assert result["videos"] == 120
    assert r1 >= MEASURED_R1 - MARGIN, result["metrics"]


def test_order_matters_to_the_demo_head_but_not_to_mean_pooling(tmp_path, demo) -> None:
    """A temporal video and its reversed twin: meanP cannot tell them apart, seqTransf can."""
    twins = [s for s in plan(60, seed=4, test_only=True) if s.kind == "temporal"][:2]
    assert twins[0].scenes == twins[1].scenes[::-1]
    raw = []
    for spec in twins:
        path = tmp_path / f"{spec.video_id}.mp4"
        render(spec, path, size=96, fps=8, seconds=6, seed=4)
        raw.append(demo.encode_images([f.rgb for f in sample_frames(path)], normalize=False))
    mean_a, mean_b = (l2_normalise(l2_normalise(r).mean(axis=0)) for r in raw)
    assert float(mean_a @ mean_b) > 0.999  # the same frames in another order
    seq_a, seq_b = (demo.pool_frames(r) for r in raw)
    assert float(seq_a @ seq_b) < 0.95  # position-aware: the order changes the vector
    text_a, text_b = demo.encode_texts([twins[0].caption(), twins[1].caption()])
    # "X, then Y" prefers the video where X comes first, and the reverse
    assert float(text_a @ seq_a) > float(text_a @ seq_b) + 0.1
    assert float(text_b @ seq_b) > float(text_b @ seq_a) + 0.1
    assert np.isfinite(seq_a).all()


def test_clipseek_demo_prints_example_searches() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "demo", "--no-gui", "--videos", "16", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if " -> its video at " in line]
    assert len(lines) == 5
    assert "(16 segments)" in proc.stderr


def test_the_demo_example_search_finds_its_own_video_first(tmp_path, demo) -> None:
    """The app suggests a caption to try: one whose own video its search shows first. With this
    draw the first caption (what the banner used to suggest) finds another video first."""
    from core.demo.library import build_demo, choose_example

    lib, pairs = build_demo(demo, videos=10, seed=8, root=tmp_path)
    try:
        video, first = pairs[0]
        assert lib.search(first)[0].path != video  # a blind choice would suggest this one
        example = choose_example(lib, pairs)
        assert example is not None and example != first
        assert lib.search(example)[0].path == dict((c, v) for v, c in pairs)[example]
    finally:
        lib.close()
