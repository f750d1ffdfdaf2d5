"""CLIP tower configurations and the factory that builds them on open_clip.

We never re-implement CLIP: the towers are open_clip's ``CLIP`` class, built from a config dict
in open_clip's own JSON schema. What this module adds is (1) a registry of the architectures
ClipSeek supports, including ``tiny`` — a model of a few MB that walks exactly the same code paths
as ViT-B/32 so that tests can export and run real bundles in seconds; the numbers of our own
architectures live in ``core.model.archs``, shared with the numpy reference — and (2) a way to
recover an architecture from a bare state dict, which is all an original CLIP4Clip checkpoint
carries.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from core.model.archs import CONTEXT_LENGTH as CONTEXT_LENGTH
from core.model.archs import CUSTOM_ARCHS, OPENAI_ARCHS
from core.model.archs import VOCAB_SIZE as VOCAB_SIZE

# OpenAI CLIP's normalisation constants live with the preprocessing that uses them (re-exported).
from core.model.preprocess import OPENAI_MEAN as OPENAI_MEAN
from core.model.preprocess import OPENAI_STD as OPENAI_STD
from export.errors import ExportError

if TYPE_CHECKING:
    from open_clip.transformer import Transformer

    class ClipTowers(torch.nn.Module):
        """open_clip's ``CLIP`` as this package uses it, for the type checker only (open_clip
        ships no type information; at run time this name is plain ``nn.Module``)."""

        visual: torch.nn.Module
        transformer: Transformer
        token_embedding: torch.nn.Embedding
        positional_embedding: torch.nn.Parameter
        attn_mask: torch.Tensor
        ln_final: torch.nn.Module
        text_projection: torch.nn.Parameter
        logit_scale: torch.nn.Parameter

else:
    ClipTowers = torch.nn.Module

#: OpenAI's CLIP architectures, whose configs are open_clip's own (its JSON, read when asked):
#: never retyped here, so they cannot drift from the weights open_clip loads. (core.model.archs
#: keeps a copy for the torch-free runtime, pinned to open_clip's by a test.)
OPEN_CLIP_ARCHS = tuple(OPENAI_ARCHS)

# Our own architectures (tiny, small) are defined once, as plain numbers, in core.model.archs:
# the numpy reference (core.model.reference) reads the same dicts.
_ARCHS: dict[str, dict[str, Any]] = CUSTOM_ARCHS

ARCH_NAMES: tuple[str, ...] = (*_ARCHS, *OPEN_CLIP_ARCHS)


def arch_config(name: str) -> dict[str, Any]:
    """A deep copy of the named architecture's open_clip config (callers may edit it)."""
    if name in OPEN_CLIP_ARCHS:
        import open_clip

        config: dict[str, Any] | None = open_clip.get_model_config(name)
        if config is None:  # an open_clip without it: say so rather than build something else
            raise ExportError(f"this open_clip has no config for {name!r}")
        return copy.deepcopy(config)
    try:
        return copy.deepcopy(_ARCHS[name])
    except KeyError:
        raise ExportError(
            f"unknown architecture {name!r}; choose one of: {', '.join(ARCH_NAMES)}"
        ) from None


def build_clip(config: Mapping[str, Any]) -> ClipTowers:
    """Build an open_clip ``CLIP`` with OpenAI's QuickGELU, randomly initialised.

    QuickGELU is forced because every CLIP4Clip checkpoint and OpenAI's weights were trained with
    it; building with nn.GELU would load the weights and silently compute something else.
    """
    import open_clip

    model: ClipTowers = open_clip.CLIP(
        embed_dim=int(config["embed_dim"]),
        vision_cfg=dict(config["vision_cfg"]),
        text_cfg=dict(config["text_cfg"]),
        quick_gelu=True,
    )
    model.eval()
    return model


def load_openai_clip(arch: str) -> ClipTowers:
    """OpenAI's CLIP weights through open_clip's pretrained registry (downloads: needs internet)."""
    import open_clip

    if arch not in ("ViT-B-32", "ViT-B-16"):
        raise ExportError(f"OpenAI weights exist for ViT-B-32 and ViT-B-16, not {arch!r}")
    try:
        model: ClipTowers = open_clip.create_model(arch, pretrained="openai", force_quick_gelu=True)
    except Exception as exc:  # network, hub or cache errors: say what failed, in one line
        raise ExportError(f"could not load OpenAI {arch} weights through open_clip: {exc}") from exc
    model.eval()
    return model


def infer_config(clip_state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Recover an open_clip config from CLIP weights (keys without the ``clip.`` prefix).

    Head counts are not stored in weights; like OpenAI's own loader we assume 64-dimensional
    heads, which holds for every released CLIP. Models with other head widths (``tiny``) must be
    converted with an explicit ``--arch``.
    """
    try:
        conv = clip_state["visual.conv1.weight"]
        vision_width, _, patch, _ = conv.shape
        vision_layers = len(
            {k.split(".")[3] for k in clip_state if k.startswith("visual.transformer.resblocks.")}
        )
        grid = round((clip_state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
        embed_dim = clip_state["text_projection"].shape[1]
        context_length = clip_state["positional_embedding"].shape[0]
        vocab_size, text_width = clip_state["token_embedding.weight"].shape
        text_layers = len(
            {k.split(".")[2] for k in clip_state if k.startswith("transformer.resblocks.")}
        )
    except KeyError as exc:
        raise ExportError(f"not a CLIP state dict: missing {exc.args[0]!r}") from None
    return {
        "embed_dim": int(embed_dim),
        "vision_cfg": {
            "image_size": int(grid * patch),
            "layers": vision_layers,
            "width": int(vision_width),
            "patch_size": int(patch),
        },
        "text_cfg": {
            "context_length": int(context_length),
            "vocab_size": int(vocab_size),
            "width": int(text_width),
            "heads": max(1, int(text_width) // 64),
            "layers": text_layers,
        },
    }


def text_heads(config: Mapping[str, Any]) -> int:
    return int(config["text_cfg"]["heads"])


def text_width(config: Mapping[str, Any]) -> int:
    return int(config["text_cfg"]["width"])
