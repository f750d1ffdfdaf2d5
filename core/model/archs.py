"""The numbers of the CLIP architectures ClipSeek knows, as plain data (no torch, no open_clip).

Each entry is a config in open_clip's own JSON schema (``embed_dim``, ``vision_cfg``,
``text_cfg``). The exporter builds its PyTorch towers from these dicts (``export.architectures``)
and the numpy reference (``core.model.reference``) reads the same dicts, so an architecture's
numbers are written once.

Two kinds of entry:

* ``CUSTOM_ARCHS`` (``tiny``, ``small``) are ours: this is their only definition.
* ``OPENAI_ARCHS`` (``ViT-B-32``, ``ViT-B-16``) are OpenAI's CLIP. The exporter reads their
  configs from open_clip's JSON (so they cannot drift from the weights open_clip loads); the copy
  here is for the runtime, which has no open_clip, and a test pins it to open_clip's.

Vision heads are not a config field: open_clip derives them as ``width // head_width``
(``head_width`` defaulting to 64), which :func:`vision_heads` repeats.
"""

from __future__ import annotations

import copy
from typing import Any

CONTEXT_LENGTH = 77
VOCAB_SIZE = 49408
#: open_clip's default vision ``head_width`` (every released CLIP has 64-dimensional heads).
DEFAULT_HEAD_WIDTH = 64

# The tiny model keeps the real tokenizer (49,408 tokens), so its size is dominated by the token
# embedding table: 49,408 x 8 floats = 1.6 MB. Everything else is a few tens of KB. embed_dim equals
# the text width, as in ViT-B/32, because seqTransf initialises its frame position embeddings from
# the text tower's positions and adds them to frame vectors.
CUSTOM_ARCHS: dict[str, dict[str, Any]] = {
    "tiny": {
        "embed_dim": 8,
        "vision_cfg": {
            "image_size": 32,
            "layers": 2,
            "width": 16,
            "patch_size": 8,
            "head_width": 8,
        },
        "text_cfg": {
            "context_length": CONTEXT_LENGTH,
            "vocab_size": VOCAB_SIZE,
            "width": 8,
            "heads": 2,
            "layers": 4,
        },
    },
    # Trained from scratch on the synthetic benchmark and shipped as the demo model: 64 px frames,
    # a 32-wide text tower (the token table, 49,408 x 32, is most of its 3-4 MB in float16).
    "small": {
        "embed_dim": 32,
        "vision_cfg": {
            "image_size": 64,
            "layers": 4,
            "width": 96,
            "patch_size": 8,
            "head_width": 24,
        },
        "text_cfg": {
            "context_length": CONTEXT_LENGTH,
            "vocab_size": VOCAB_SIZE,
            "width": 32,
            "heads": 4,
            "layers": 4,
        },
    },
}


def _openai_vit(patch_size: int) -> dict[str, Any]:
    return {
        "embed_dim": 512,
        "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": patch_size},
        "text_cfg": {
            "context_length": CONTEXT_LENGTH,
            "vocab_size": VOCAB_SIZE,
            "width": 512,
            "heads": 8,
            "layers": 12,
        },
    }


#: OpenAI's CLIP architectures: a copy of open_clip's JSON for the torch-free runtime
#: (tests/core/test_reference.py checks it equals ``open_clip.get_model_config``).
OPENAI_ARCHS: dict[str, dict[str, Any]] = {
    "ViT-B-32": _openai_vit(32),
    "ViT-B-16": _openai_vit(16),
}

ARCH_NAMES: tuple[str, ...] = (*CUSTOM_ARCHS, *OPENAI_ARCHS)


def arch_numbers(name: str) -> dict[str, Any]:
    """A deep copy of the named architecture's config; ``KeyError`` for an unknown name."""
    if name in CUSTOM_ARCHS:
        return copy.deepcopy(CUSTOM_ARCHS[name])
    return copy.deepcopy(OPENAI_ARCHS[name])


def vision_heads(vision_cfg: dict[str, Any]) -> int:
    """Attention heads of the image tower, as open_clip derives them (width // head_width)."""
    return int(vision_cfg["width"]) // int(vision_cfg.get("head_width", DEFAULT_HEAD_WIDTH))
