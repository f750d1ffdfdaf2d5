"""CLIP4Clip in PyTorch: open_clip's CLIP towers plus one temporal similarity head.

The state dict of :class:`CLIP4Clip` uses the original CLIP4Clip names (``clip.*`` for the towers,
the head's own names at top level), so the same keys serve our checkpoints, the original code's
checkpoints and the ONNX export.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from export.architectures import ClipTowers, arch_config, build_clip, text_heads, text_width
from export.errors import ExportError
from export.heads import (
    CROSS_HEADS,
    INDEXABLE_HEADS,
    Head,
    SeqTransfHead,
    TightTransfHead,
    build_head,
)

DEFAULT_MAX_FRAMES = 12
DEFAULT_HEAD_LAYERS = 4


class CLIP4Clip(nn.Module):
    """CLIP towers + a CLIP4Clip head, with the encoders the runtime mirrors in ONNX."""

    def __init__(
        self,
        config: Mapping[str, Any],
        head: str = "meanP",
        arch: str = "custom",
        head_layers: int = DEFAULT_HEAD_LAYERS,
        clip: ClipTowers | None = None,
        head_heads: int | None = None,
    ) -> None:
        """``head_heads``: attention heads of a seqTransf or tightTransf head. By default a
        seqTransf has the text tower's (CLIP4Clip: width / 64) and a tightTransf its cross
        config's 8 (export.heads.CROSS_HEADS), whatever the width."""
        super().__init__()
        self.config = dict(config)
        self.arch = arch
        self.head_name = head
        self.head_layers = head_layers
        self.clip: ClipTowers = clip if clip is not None else build_clip(config)
        width = text_width(config)
        if head_heads is None:
            head_heads = CROSS_HEADS if head == "tightTransf" else text_heads(config)
        heads = self.head_heads = head_heads
        if head in ("seqTransf", "tightTransf") and (heads <= 0 or width % heads):
            raise ExportError(f"{head} cannot split width {width} into {heads} attention heads")
        if head != "meanP" and int(config["embed_dim"]) != width:
            raise ExportError(
                f"head {head} needs embed_dim == text width (got {config['embed_dim']} and {width})"
            )
        max_positions = int(config["text_cfg"]["context_length"])
        self.head: Head = build_head(head, width, heads, head_layers, max_positions)
        if isinstance(self.head, SeqTransfHead):  # head == "seqTransf"
            self.head.init_from_clip(self.clip)
        self.eval()

    # -- naming: the head's parameters live at top level, as in CLIP4Clip ----------------------
    # nn.Module.state_dict is overloaded on ``destination``; this one always returns a new dict.
    def state_dict(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        flat = super().state_dict(*args, **kwargs)
        return {k.removeprefix("head."): v for k, v in flat.items()}

    def load_state_dict(
        self, state_dict: Mapping[str, torch.Tensor], strict: bool = True, assign: bool = False
    ) -> Any:
        nested = {(k if k.startswith("clip.") else f"head.{k}"): v for k, v in state_dict.items()}
        return super().load_state_dict(nested, strict=strict, assign=assign)

    # -- encoders -----
    @property
    def embed_dim(self) -> int:
        return int(self.config["embed_dim"])

    @property
    def image_size(self) -> int:
        return int(self.config["vision_cfg"]["image_size"])

    @property
    def context_length(self) -> int:
        return int(self.config["text_cfg"]["context_length"])

    def encode_frames(self, pixels: torch.Tensor) -> torch.Tensor:
        """Raw (un-normalised) CLIP image vectors: what the heads consume."""
        vectors: torch.Tensor = self.clip.visual(pixels)
        return vectors

    def encode_text(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Raw CLIP text vectors read at the EOT token, at whatever length the ids have.

        CLIP's text transformer is causal: a token never attends to later ones, so the EOT
        position's output is the same whether the sequence is cut right after EOT or padded to 77.
        Running at the true length therefore changes nothing but the cost. EOT has the largest id
        in CLIP's vocabulary, so argmax finds it (open_clip's 'argmax' pooling).
        """
        clip = self.clip
        length = input_ids.shape[1]
        x: torch.Tensor = clip.token_embedding(input_ids)
        x = x + clip.positional_embedding[:length].to(x.dtype)
        causal = clip.attn_mask[:length, :length].to(x.dtype)
        x = clip.transformer(x, attn_mask=causal)
        x = clip.ln_final(x)
        eot = input_ids.argmax(dim=-1)
        pooled = x[torch.arange(x.shape[0], device=x.device), eot]
        return pooled @ clip.text_projection

    def pool(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Video vectors from raw frame vectors (indexable heads only), L2-normalised."""
        if self.head_name not in INDEXABLE_HEADS:
            raise ExportError(f"{self.head_name} scores pairs; it has no video vector")
        video: torch.Tensor = self.head(frames, mask)
        return video

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.clip.logit_scale

    def similarity(
        self, text: torch.Tensor, frames: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Text x video logits [Nt, Nv] from raw text vectors and raw frame vectors."""
        scale = self.clip.logit_scale.exp()
        if isinstance(self.head, TightTransfHead):  # head_name == "tightTransf"
            return self.head.score_matrix(text, frames, mask)
        video: torch.Tensor = self.head(frames, mask)
        return scale * F.normalize(text, dim=-1) @ video.t()


def symmetric_cross_entropy(logits: torch.Tensor) -> torch.Tensor:
    """CLIP4Clip's loss: text->video and video->text cross-entropy over the batch, averaged."""
    target = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def build_model(
    arch: str, head: str, *, clip: ClipTowers | None = None, head_layers: int = DEFAULT_HEAD_LAYERS
) -> CLIP4Clip:
    """A CLIP4Clip of a registered architecture (random init unless ``clip`` is given)."""
    return CLIP4Clip(arch_config(arch), head=head, arch=arch, head_layers=head_layers, clip=clip)
