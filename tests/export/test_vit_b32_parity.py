"""Done-means check at real size: a ViT-B/32 random-init seqTransf bundle matches PyTorch.

About a minute on a 2-core CPU: export of three towers plus the parity check that convert runs.
"""

from __future__ import annotations

import pytest
import torch

from core.model.bundle import load_bundle
from export.convert import convert
from export.model import build_model

pytestmark = pytest.mark.slow  # builds and exports a full-size ViT-B/32


def test_vit_b32_seqtransf_bundle_parity(tmp_path) -> None:
    torch.manual_seed(0)
    model = build_model("ViT-B-32", "seqTransf")
    result = convert(model, tmp_path / "vitb32", source="random-init:seed=0")
    parity = load_bundle(result.bundle).manifest.parity
    for part in ("image", "text", "head"):
        assert parity[f"{part}_min_cosine"] >= 0.9999, parity
    assert result.manifest.embed_dim == 512 and result.manifest.image_size == 224
