"""A numpy reference of CLIP's image and text towers: the parity yardstick without PyTorch.

A bundle's manifest records how closely its ONNX towers agree with the model they came from. When
a bundle is assembled from weights without PyTorch (safetensors read by numpy), the "model they
came from" is this module: a plain, readable re-statement of what the exporter's towers compute,

* :func:`encode_image` — ``CLIP4Clip.encode_frames`` (image.onnx): open_clip's ``VisionTransformer``
  with ``pool_type='tok'``: patchify (conv1 with stride = kernel = patch), prepend the class token,
  add positions, ``ln_pre``, the residual blocks, ``ln_post`` on the class token, ``@ visual.proj``;
* :func:`encode_text` — ``CLIP4Clip.encode_text`` (text.onnx): token embedding + positions,
  causal residual blocks, ``ln_final``, the hidden state at the EOT token (argmax of the ids, as
  EOT has the largest id) ``@ text_projection``. It runs at the ids' own length: the mask is
  causal, so padding after EOT changes nothing.

Both return **raw** vectors (not L2-normalised), as the ONNX towers do.

Each residual block is pre-norm: ``x += out_proj(attention(ln_1(x)))``,
``x += c_proj(act(c_fc(ln_2(x))))`` with ``act`` QuickGELU (``x * sigmoid(1.702 x)``, OpenAI's
CLIP and every CLIP4Clip checkpoint) or exact GELU; LayerNorm has ``eps = 1e-5``; attention is
multi-head with ``in_proj_weight`` stacking the q, k and v projections and scores scaled by
``1/sqrt(head_dim)``.

Numerics: every weight and activation is cast to float64 as it is used (weights may arrive as
float32 or float16), and the vectors come back as float64. The point is to be an unhurried,
obviously-correct yardstick, not a fast encoder: the app encodes with ONNX Runtime.

Weights are a mapping of numpy arrays named as in open_clip's ``CLIP.state_dict()`` (and in
``open_clip_model.safetensors``): ``visual.conv1.weight``, ``visual.transformer.resblocks.0.ln_1
.weight``, ``token_embedding.weight``, ``text_projection`` ... (no ``clip.`` prefix).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from core.model.archs import ARCH_NAMES, CUSTOM_ARCHS, OPENAI_ARCHS, arch_numbers, vision_heads

__all__ = ["ClipConfig", "ClipWeightsError", "Weights", "encode_image", "encode_text"]

#: open_clip's LayerNorm epsilon (torch's default), used by every CLIP tower.
LN_EPS = 1e-5

Weights = Mapping[str, npt.NDArray[Any]]
F64 = npt.NDArray[np.float64]


class ClipWeightsError(ValueError):
    """Weights, config or inputs that do not fit together (the message says which)."""


@dataclass(frozen=True)
class ClipConfig:
    """The numbers that shape a CLIP: what the weights store plus what they do not (heads,
    activation)."""

    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    vision_heads: int
    context_length: int
    vocab_size: int
    text_width: int
    text_layers: int
    text_heads: int
    embed_dim: int
    #: QuickGELU (OpenAI CLIP, CLIP4Clip) rather than exact GELU; the exporter always builds it.
    quick_gelu: bool = True

    @classmethod
    def from_open_clip(cls, config: Mapping[str, Any], quick_gelu: bool = True) -> ClipConfig:
        """From a config in open_clip's JSON schema (embed_dim, vision_cfg, text_cfg)."""
        vision, text = dict(config["vision_cfg"]), dict(config["text_cfg"])
        return cls(
            image_size=int(vision["image_size"]),
            patch_size=int(vision["patch_size"]),
            vision_width=int(vision["width"]),
            vision_layers=int(vision["layers"]),
            vision_heads=vision_heads(vision),
            context_length=int(text["context_length"]),
            vocab_size=int(text["vocab_size"]),
            text_width=int(text["width"]),
            text_layers=int(text["layers"]),
            text_heads=int(text["heads"]),
            embed_dim=int(config["embed_dim"]),
            quick_gelu=quick_gelu,
        )

    @classmethod
    def for_arch(cls, name: str) -> ClipConfig:
        """A registered architecture (``tiny``, ``small``, ``ViT-B-32``, ``ViT-B-16``), with the
        numbers the exporter builds it from (core.model.archs). All are built with QuickGELU."""
        try:
            numbers = arch_numbers(name)
        except KeyError:
            raise ClipWeightsError(
                f"unknown architecture {name!r}; choose one of: {', '.join(ARCH_NAMES)}"
            ) from None
        return cls.from_open_clip(numbers)

    @classmethod
    def infer(cls, weights: Weights) -> ClipConfig:
        """Read the architecture off the weights' shapes.

        Head counts and the activation are not stored in weights. If every shape matches a
        registered architecture, its head counts are taken (so ``tiny``'s 8-wide heads are
        found); otherwise, like OpenAI's own loader, 64-dimensional heads are assumed, which
        holds for every released CLIP. QuickGELU is assumed (OpenAI's weights, CLIP4Clip).
        """
        conv = _get(weights, "visual.conv1.weight")
        if conv.ndim != 4 or conv.shape[1] != 3 or conv.shape[2] != conv.shape[3]:
            raise ClipWeightsError(f"visual.conv1.weight has shape {conv.shape}, not [W, 3, P, P]")
        vision_width, patch = int(conv.shape[0]), int(conv.shape[2])
        positions = int(_get(weights, "visual.positional_embedding").shape[0])
        grid = math.isqrt(positions - 1)
        if grid * grid != positions - 1:
            raise ClipWeightsError(f"visual.positional_embedding has {positions} rows, not 1 + n²")
        vocab_size, text_width = (int(n) for n in _get(weights, "token_embedding.weight").shape)
        shapes = cls(
            image_size=grid * patch,
            patch_size=patch,
            vision_width=vision_width,
            vision_layers=_count_blocks(weights, "visual.transformer.resblocks."),
            vision_heads=max(1, vision_width // 64),
            context_length=int(_get(weights, "positional_embedding").shape[0]),
            vocab_size=vocab_size,
            text_width=text_width,
            text_layers=_count_blocks(weights, "transformer.resblocks."),
            text_heads=max(1, text_width // 64),
            embed_dim=int(_get(weights, "text_projection").shape[1]),
        )
        for name in (*CUSTOM_ARCHS, *OPENAI_ARCHS):
            known = cls.for_arch(name)
            heads = replace(shapes, vision_heads=known.vision_heads, text_heads=known.text_heads)
            if heads == known:
                return known
        return shapes

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size


def _count_blocks(weights: Weights, prefix: str) -> int:
    indices = {k[len(prefix) :].split(".", 1)[0] for k in weights if k.startswith(prefix)}
    if not indices:
        raise ClipWeightsError(f"not a CLIP state dict: no {prefix}* weights")
    return len(indices)


def _get(weights: Weights, name: str) -> npt.NDArray[Any]:
    try:
        return np.asarray(weights[name])
    except KeyError:
        raise ClipWeightsError(f"not a CLIP state dict: missing {name!r}") from None


def _f64(weights: Weights, name: str, shape: tuple[int, ...]) -> F64:
    """A weight as float64, checked against the shape the config expects."""
    array = _get(weights, name)
    if array.shape != shape:
        raise ClipWeightsError(
            f"{name} has shape {list(array.shape)}, the config expects {list(shape)}"
        )
    return array.astype(np.float64)


# ----------------------------------------------------------------------------- building blocks


def _layer_norm(x: F64, weights: Weights, prefix: str, width: int) -> F64:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normed = (x - mean) / np.sqrt(var + LN_EPS)
    gamma = _f64(weights, f"{prefix}.weight", (width,))
    beta = _f64(weights, f"{prefix}.bias", (width,))
    result: F64 = normed * gamma + beta
    return result


def _linear(x: F64, weights: Weights, prefix: str, out_features: int, in_features: int) -> F64:
    """torch.nn.Linear: ``x @ W.T + b`` with ``W`` stored [out, in]."""
    weight = _f64(weights, f"{prefix}.weight", (out_features, in_features))
    bias = _f64(weights, f"{prefix}.bias", (out_features,))
    # as one 2-D product: numpy's stacked matmul with a transposed operand can miss BLAS
    flat = x.reshape(-1, in_features) @ weight.T + bias
    result: F64 = flat.reshape(*x.shape[:-1], out_features)
    return result


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _activation(x: F64, quick_gelu: bool) -> F64:
    if quick_gelu:
        result: F64 = x / (1.0 + np.exp(-1.702 * x))  # x * sigmoid(1.702 x)
        return result
    exact: F64 = 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    return exact


def _softmax(scores: F64) -> F64:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: F64 = exp / exp.sum(axis=-1, keepdims=True)
    return result


def _attention(x: F64, weights: Weights, prefix: str, heads: int, mask: F64 | None) -> F64:
    """torch.nn.MultiheadAttention (batch first) on ``x`` [B, L, W], self-attention."""
    batch, length, width = x.shape
    if width % heads:
        raise ClipWeightsError(f"{prefix}: width {width} does not split into {heads} heads")
    head_dim = width // heads
    w_in = _f64(weights, f"{prefix}.in_proj_weight", (3 * width, width))
    b_in = _f64(weights, f"{prefix}.in_proj_bias", (3 * width,))
    qkv = (x.reshape(-1, width) @ w_in.T + b_in).reshape(batch, length, 3 * width)  # q, k, v

    def split(part: int) -> F64:  # [B, H, L, head_dim]
        chunk = qkv[..., part * width : (part + 1) * width]
        return chunk.reshape(batch, length, heads, head_dim).transpose(0, 2, 1, 3)

    q, k, v = split(0), split(1), split(2)
    scores = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(head_dim)  # [B, H, L, L]
    if mask is not None:
        scores = scores + mask
    out = (_softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
    return _linear(out, weights, f"{prefix}.out_proj", width, width)


def _transformer(
    x: F64,
    weights: Weights,
    prefix: str,
    layers: int,
    heads: int,
    quick_gelu: bool,
    mask: F64 | None,
) -> F64:
    width = x.shape[-1]
    hidden = 4 * width  # open_clip's mlp_ratio = 4 for every CLIP
    for i in range(layers):
        block = f"{prefix}.resblocks.{i}"
        h = _layer_norm(x, weights, f"{block}.ln_1", width)
        x = x + _attention(h, weights, f"{block}.attn", heads, mask)
        h = _layer_norm(x, weights, f"{block}.ln_2", width)
        h = _activation(_linear(h, weights, f"{block}.mlp.c_fc", hidden, width), quick_gelu)
        x = x + _linear(h, weights, f"{block}.mlp.c_proj", width, hidden)
    return x


# ----------------------------------------------------------------------------- the towers


def encode_image(weights: Weights, cfg: ClipConfig, pixels: npt.ArrayLike) -> F64:
    """Raw image vectors ``[B, embed_dim]`` (float64) from preprocessed pixels ``[B, 3, S, S]``
    (already resized and normalised with CLIP's mean/std, as image.onnx takes them)."""
    x = np.asarray(pixels, dtype=np.float64)
    size, patch, width = cfg.image_size, cfg.patch_size, cfg.vision_width
    if x.ndim != 4 or x.shape[1:] != (3, size, size):
        raise ClipWeightsError(
            f"pixels have shape {list(x.shape)}, expected [B, 3, {size}, {size}]"
        )
    batch, grid = x.shape[0], cfg.grid
    # conv1 (kernel = stride = patch, no bias) is a matrix product over non-overlapping patches;
    # patches are read row-major over the grid, channels then rows then columns inside a patch.
    conv = _f64(weights, "visual.conv1.weight", (width, 3, patch, patch))
    patches = (
        x[:, :, : grid * patch, : grid * patch]
        .reshape(batch, 3, grid, patch, grid, patch)
        .transpose(0, 2, 4, 1, 3, 5)
        .reshape(batch, grid * grid, 3 * patch * patch)
    )
    tokens = patches @ conv.reshape(width, -1).T  # [B, grid², W]
    cls = _f64(weights, "visual.class_embedding", (width,))
    h = np.concatenate([np.broadcast_to(cls, (batch, 1, width)), tokens], axis=1)
    h = h + _f64(weights, "visual.positional_embedding", (grid * grid + 1, width))
    h = _layer_norm(h, weights, "visual.ln_pre", width)
    h = _transformer(
        h, weights, "visual.transformer", cfg.vision_layers, cfg.vision_heads, cfg.quick_gelu, None
    )
    # ln_post is per token, so normalising the class token alone equals open_clip's order
    pooled = _layer_norm(h[:, 0], weights, "visual.ln_post", width)
    result: F64 = pooled @ _f64(weights, "visual.proj", (width, cfg.embed_dim))
    return result


def encode_text(weights: Weights, cfg: ClipConfig, ids: npt.ArrayLike) -> F64:
    """Raw text vectors ``[B, embed_dim]`` (float64) from token ids ``[B, L]``, ``L`` at most the
    context length (each row BOS … EOT, zero-padded; ``ClipTokenizer.pad`` makes them)."""
    tokens = np.asarray(ids)
    if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer):
        raise ClipWeightsError(f"ids must be integers [B, L], got {tokens.dtype} {tokens.shape}")
    batch, length = tokens.shape
    if not 0 < length <= cfg.context_length:
        raise ClipWeightsError(
            f"ids have {length} positions; the context length is {cfg.context_length}"
        )
    if tokens.min() < 0 or tokens.max() >= cfg.vocab_size:
        raise ClipWeightsError(f"token ids must lie in 0..{cfg.vocab_size - 1}")
    width = cfg.text_width
    table = _get(weights, "token_embedding.weight")
    if table.shape != (cfg.vocab_size, width):
        raise ClipWeightsError(
            f"token_embedding.weight has shape {list(table.shape)}, "
            f"the config expects {[cfg.vocab_size, width]}"
        )
    x = table[tokens].astype(np.float64)  # only the rows used: the table is the bulk of the text
    positions = _f64(weights, "positional_embedding", (cfg.context_length, width))
    x = x + positions[:length]
    causal = np.triu(np.full((length, length), -np.inf), k=1)  # a token sees itself and before
    x = _transformer(
        x, weights, "transformer", cfg.text_layers, cfg.text_heads, cfg.quick_gelu, causal
    )
    x = _layer_norm(x, weights, "ln_final", width)
    pooled = x[np.arange(batch), tokens.argmax(axis=-1)]  # EOT has the largest id
    result: F64 = pooled @ _f64(weights, "text_projection", (width, cfg.embed_dim))
    return result
