"""CLIP4Clip's similarity heads: how per-frame CLIP vectors become one video vector (or score).

Parameter names follow the original CLIP4Clip code (``frame_position_embeddings``,
``transformerClip``, ``lstm_visual``, ``cross``, ``similarity_dense``) so that its checkpoints load
by a plain prefix strip. All heads take *raw* (un-normalised) frame vectors ``[B, T, D]`` and a
``[B, T]`` mask of 1.0 for real frames and 0.0 for padding; real frames come first, as in
CLIP4Clip's data loaders.

The three "loose" heads (meanP, seqLSTM, seqTransf) end in the same masked mean of L2-normalised
vectors and return an L2-normalised video vector, so the video side can be stored in an index.
tightTransf mixes text and frames in a cross-encoder, so it can only score (text, video) pairs:
we use it to re-rank, never to index.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Literal, TypeAlias

import torch
from open_clip.transformer import LayerNorm, QuickGELU, Transformer
from torch import nn

if TYPE_CHECKING:
    from export.architectures import ClipTowers

HeadName = Literal["meanP", "seqLSTM", "seqTransf", "tightTransf"]
INDEXABLE_HEADS: tuple[str, ...] = ("meanP", "seqLSTM", "seqTransf")
ALL_HEADS: tuple[str, ...] = (*INDEXABLE_HEADS, "tightTransf")

#: CLIP4Clip masks padded positions with this additive value rather than -inf, so that a row of
#: padding never produces NaNs; we keep it for bit-compatible behaviour with its checkpoints.
_MASK_NEG = -1_000_000.0


#: CLIP4Clip's temporal transformer and cross model normalise with eps 1e-12 (its module_cross
#: LayerNorm, BERT's value), not PyTorch's 1e-5: the two differ visibly when frame vectors are
#: small, so a checkpoint from the original code scores the same here only with its own eps.
CLIP4CLIP_LN_EPS = 1e-12
_clip4clip_norm = partial(LayerNorm, eps=CLIP4CLIP_LN_EPS)
#: The cross model's head count is its own config's (cross-base: 8), not width / 64.
CROSS_HEADS = 8


def _temporal_transformer(width: int, layers: int, heads: int) -> Transformer:
    """The transformer of seqTransf and of the cross model: CLIP's blocks (QuickGELU) with
    CLIP4Clip's LayerNorm."""
    return Transformer(
        width=width,
        layers=layers,
        heads=heads,
        act_layer=QuickGELU,
        norm_layer=_clip4clip_norm,
        batch_first=True,
    )


def l2_normalise(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Like F.normalize, but by broadcasting: F.normalize's expand_as traces the LSTM's output
    length as a constant under torch.export, which breaks the exported head for other lengths."""
    norm: torch.Tensor = x.norm(dim=-1, keepdim=True)
    return x / norm.clamp_min(eps)


def masked_mean_normalised(frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """meanP: L2-normalise each frame, average the real ones, L2-normalise the result."""
    frames = l2_normalise(frames)
    weights = mask.to(frames.dtype).unsqueeze(-1)
    summed = (frames * weights).sum(dim=1)
    count = weights.sum(dim=1).clamp_min(1.0)
    return l2_normalise(summed / count)


class MeanPHead(nn.Module):
    """Parameter-free mean pooling: order-blind by construction."""

    name = "meanP"

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_mean_normalised(frames, mask)


class SeqLSTMHead(nn.Module):
    """A one-layer LSTM over frames with a residual, then meanP.

    CLIP4Clip packs the padded batch before the LSTM; because the LSTM runs left to right and
    padding only follows real frames, running it over the padded sequence gives identical outputs
    at every real position — and padded positions are masked out of the mean. This form exports
    to a plain ONNX LSTM.
    """

    name = "seqLSTM"

    def __init__(self, width: int) -> None:
        super().__init__()
        self.lstm_visual = nn.LSTM(
            input_size=width, hidden_size=width, batch_first=True, bidirectional=False, num_layers=1
        )

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor
        out, _ = self.lstm_visual(frames)
        return masked_mean_normalised(out + frames, mask)


def _additive_square_mask(mask: torch.Tensor, heads: int) -> torch.Tensor:
    """[B, T] keep-mask -> [B*heads, T, T] additive mask hiding padded keys from every query."""
    length = mask.shape[1]
    blocked = (1.0 - mask.to(torch.float32)) * _MASK_NEG
    square = blocked.unsqueeze(1).expand(-1, length, -1)
    return square.repeat_interleave(heads, dim=0)


class SeqTransfHead(nn.Module):
    """A small transformer over frames with learned frame positions and a residual, then meanP.

    Initialised from CLIP's text tower (positions and the first ``layers`` blocks), which is what
    lets CLIP4Clip fine-tune it with a tiny learning rate without destroying CLIP's space.
    """

    name = "seqTransf"

    def __init__(self, width: int, heads: int, layers: int = 4, max_positions: int = 77) -> None:
        super().__init__()
        self.heads = heads
        self.frame_position_embeddings = nn.Embedding(max_positions, width)
        self.transformerClip = _temporal_transformer(width, layers, heads)

    @torch.no_grad()
    def init_from_clip(self, clip: ClipTowers) -> None:
        """Copy CLIP's text positions and first text blocks in, as CLIP4Clip does at start.

        A head deeper than the text tower keeps its extra blocks as initialised, as the
        original does (it copies the blocks that exist and no more)."""
        self.frame_position_embeddings.weight.copy_(clip.positional_embedding)
        text_blocks = clip.transformer.resblocks
        for block, text_block in zip(self.transformerClip.resblocks, text_blocks, strict=False):
            block.load_state_dict(text_block.state_dict())

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        length = frames.shape[1]
        positions = self.frame_position_embeddings.weight[:length].unsqueeze(0)
        attn_mask = _additive_square_mask(mask, self.heads).to(frames.dtype)
        hidden: torch.Tensor = self.transformerClip(frames + positions, attn_mask=attn_mask)
        return masked_mean_normalised(hidden + frames, mask)


class CrossEmbeddings(nn.Module):
    def __init__(self, width: int, max_positions: int) -> None:
        super().__init__()
        self.position_embeddings = nn.Embedding(max_positions, width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens + self.position_embeddings.weight[: tokens.shape[1]].unsqueeze(0)


class CrossPooler(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.ln_pool = _clip4clip_norm(width)
        self.dense = nn.Linear(width, width)
        self.activation = QuickGELU()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        pooled: torch.Tensor = self.activation(self.dense(self.ln_pool(hidden)[:, 0]))
        return pooled


class CrossModel(nn.Module):
    def __init__(self, width: int, heads: int, layers: int, max_positions: int) -> None:
        super().__init__()
        self.heads = heads
        self.embeddings = CrossEmbeddings(width, max_positions)
        self.transformer = _temporal_transformer(width, layers, heads)
        self.pooler = CrossPooler(width)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden: torch.Tensor = self.embeddings(tokens)
        hidden = self.transformer(hidden, attn_mask=_additive_square_mask(mask, self.heads))
        pooled: torch.Tensor = self.pooler(hidden)
        return pooled


class TightTransfHead(nn.Module):
    """The cross-encoder: [text vector; frame vectors] through a transformer, pooled to a score.

    Returns a raw logit for each (text, video) pair. Scores cannot be stored, so this head only
    re-ranks the top-k of an indexable head.
    """

    name = "tightTransf"

    def __init__(self, width: int, heads: int, layers: int = 4, max_positions: int = 77) -> None:
        super().__init__()
        self.cross = CrossModel(width, heads, layers, max_positions)
        self.similarity_dense = nn.Linear(width, 1)

    def score_pairs(
        self, text: torch.Tensor, frames: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Score aligned pairs: text [N, D], frames [N, T, D], mask [N, T] -> logits [N]."""
        tokens = torch.cat([text.unsqueeze(1), frames], dim=1)
        full_mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        logits: torch.Tensor = self.similarity_dense(self.cross(tokens, full_mask))
        return logits.squeeze(-1)

    def score_matrix(
        self, text: torch.Tensor, frames: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Every text against every video: [Nt, D] x [Nv, T, D] -> [Nt, Nv] logits."""
        n_text, n_video = text.shape[0], frames.shape[0]
        text_rep = text.unsqueeze(1).expand(-1, n_video, -1).reshape(n_text * n_video, -1)
        frames_rep = (
            frames.unsqueeze(0)
            .expand(n_text, -1, -1, -1)
            .reshape(n_text * n_video, *frames.shape[1:])
        )
        mask_rep = mask.unsqueeze(0).expand(n_text, -1, -1).reshape(n_text * n_video, -1)
        return self.score_pairs(text_rep, frames_rep, mask_rep).view(n_text, n_video)


#: Any of the four heads (what :func:`build_head` returns).
Head: TypeAlias = MeanPHead | SeqLSTMHead | SeqTransfHead | TightTransfHead


def build_head(name: str, width: int, heads: int, layers: int = 4, max_positions: int = 77) -> Head:
    """Construct a head by its CLIP4Clip name."""
    if name == "meanP":
        return MeanPHead()
    if name == "seqLSTM":
        return SeqLSTMHead(width)
    if name == "seqTransf":
        return SeqTransfHead(width, heads, layers, max_positions)
    if name == "tightTransf":
        return TightTransfHead(width, heads, layers, max_positions)
    from export.errors import ExportError

    raise ExportError(f"unknown head {name!r}; choose one of: {', '.join(ALL_HEADS)}")
