"""Three details where the original CLIP4Clip code and ours differed (found by running both)."""

from __future__ import annotations

import torch
from torch import nn

from export.architectures import arch_config
from export.checkpoints import load_clip4clip, save_checkpoint
from export.heads import CLIP4CLIP_LN_EPS, CROSS_HEADS
from export.model import CLIP4Clip, build_model


def _layer_norms(module: nn.Module) -> list[nn.LayerNorm]:
    return [m for m in module.modules() if isinstance(m, nn.LayerNorm)]


def test_temporal_and_cross_layer_norms_use_clip4clips_eps() -> None:
    for head in ("seqTransf", "tightTransf"):
        norms = _layer_norms(build_model("small", head).head)
        assert norms and {n.eps for n in norms} == {CLIP4CLIP_LN_EPS} == {1e-12}
    clip_norms = _layer_norms(build_model("small", "meanP").clip)
    assert {n.eps for n in clip_norms} == {1e-5}  # CLIP's own towers keep PyTorch's


def test_small_frame_vectors_are_normalised_as_the_original_does() -> None:
    """With vectors of norm ~1e-3 the eps matters: our head equals a hand-made reference."""
    torch.manual_seed(0)
    model = build_model("small", "seqTransf")
    frames = 1e-3 * torch.randn(2, 5, 32)
    mask = torch.ones(2, 5)
    block = model.head.transformerClip.resblocks[0]
    x = frames + model.head.frame_position_embeddings.weight[:5]
    ln = block.ln_1
    reference = (x - x.mean(-1, keepdim=True)) / torch.sqrt(
        x.var(-1, unbiased=False, keepdim=True) + 1e-12
    )
    assert torch.allclose(ln(x), reference * ln.weight + ln.bias, atol=1e-5)
    assert model.head(frames, mask).isfinite().all()


def test_a_seqtransf_deeper_than_the_text_tower_builds_as_the_original() -> None:
    config = arch_config("small")  # 4 text blocks
    model = CLIP4Clip(config, head="seqTransf", head_layers=6)
    blocks = model.head.transformerClip.resblocks
    text = model.clip.transformer.resblocks
    assert len(blocks) == 6
    for ours, theirs in zip(blocks[:4], text, strict=True):  # copied from the text tower
        assert torch.equal(ours.attn.in_proj_weight, theirs.attn.in_proj_weight)
    assert not torch.equal(blocks[4].attn.in_proj_weight, text[0].attn.in_proj_weight)
    assert model.pool(torch.randn(1, 6, 32), torch.ones(1, 6)).shape == (1, 32)


def test_the_cross_models_heads_come_from_its_config_not_the_width(tmp_path) -> None:
    config = arch_config("small")
    config["embed_dim"] = config["text_cfg"]["width"] = 128  # width/64 would be 2 heads
    config["text_cfg"]["heads"] = 2
    model = CLIP4Clip(config, head="tightTransf")
    assert model.head_heads == CROSS_HEADS == 8 and model.head.cross.heads == 8
    seq = CLIP4Clip(config, head="seqTransf")
    assert seq.head_heads == 2  # CLIP4Clip's temporal transformer: the text tower's count
    save_checkpoint(model, tmp_path / "tight.pt")
    again = load_clip4clip(tmp_path / "tight.pt")
    assert again.head_heads == 8 and again.head.cross.heads == 8
    text, frames, mask = torch.randn(3, 128), torch.randn(3, 4, 128), torch.ones(3, 4)
    assert torch.allclose(
        model.head.score_pairs(text, frames, mask), again.head.score_pairs(text, frames, mask)
    )
