"""Architecture registry and inference from bare CLIP weights."""

from __future__ import annotations

import open_clip
import pytest

from export.architectures import arch_config, build_clip, infer_config
from export.errors import ExportError


@pytest.mark.parametrize("arch", ["ViT-B-32", "ViT-B-16"])
def test_vit_b_configs_are_open_clips(arch) -> None:
    ours, theirs = arch_config(arch), open_clip.get_model_config(arch)
    assert ours["embed_dim"] == theirs["embed_dim"]
    assert ours["vision_cfg"] == theirs["vision_cfg"]
    assert ours["text_cfg"] == theirs["text_cfg"]


def test_infer_config_recovers_vit_b32_from_weights() -> None:
    clip = build_clip(arch_config("ViT-B-32"))
    assert infer_config(clip.state_dict()) == arch_config("ViT-B-32")


def test_tiny_is_small_and_unknown_arch_is_refused() -> None:
    params = sum(p.numel() for p in build_clip(arch_config("tiny")).parameters())
    assert params < 500_000  # dominated by the 49,408 x 8 token table
    with pytest.raises(ExportError, match="unknown architecture"):
        arch_config("ViT-H-14")
