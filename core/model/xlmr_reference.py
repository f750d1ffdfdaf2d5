"""M-CLIP's multilingual text tower in numpy: XLM-R's encoder, the masked mean and the Linear.

The yardstick the torch-free install measures its ONNX graph against
(:mod:`core.model.assemble_text`), as :mod:`core.model.reference` is for CLIP's towers. It follows
``transformers``' ``XLMRobertaModel`` (eager attention) and M-CLIP's ``MultilingualCLIP.forward``
step by step:

* position ids from the ids, not from the mask: ``cumsum(ids != pad) * (ids != pad) + pad`` (so the
  first real token sits at ``pad + 1`` and every pad token at ``pad``);
* embeddings: word + position + token type 0, then LayerNorm;
* per layer (post-LN): self-attention with the mask added as a large negative number to the
  scores of padding, ``LN(x + attn)``, then ``LN(x + W2 gelu(W1 x))`` with the exact (erf) GELU;
* the mean of the last hidden state over the tokens the mask keeps (at least one), then
  ``LinearTransformation``.

Computed in float64 from the float32 weights, one matrix at a time (the full tower's 2.2 GB of
weights are never copied whole; only the rows of the word table a sentence uses are read).
Weights are M-CLIP's state-dict keys (``transformer.encoder.layer.N.attention.self.query.weight``
…); the caller checks their presence and shapes (the template's recipe does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

PREFIX = "transformer."


@dataclass(frozen=True)
class XlmrConfig:
    """The numbers of one XLM-R text tower (the template recipe's ``config``)."""

    vocab_size: int
    width: int
    layers: int
    heads: int
    mlp_width: int
    max_positions: int
    embed_dim: int
    pad_id: int = 1
    layer_norm_eps: float = 1e-5

    @classmethod
    def from_recipe(cls, config: Mapping[str, object]) -> XlmrConfig:
        def number(key: str) -> int:
            value = config.get(key)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"the template's config has no integer {key!r}")
            return value

        eps = config.get("layer_norm_eps", 1e-5)
        return cls(
            vocab_size=number("vocab_size"),
            width=number("width"),
            layers=number("layers"),
            heads=number("heads"),
            mlp_width=number("mlp_width"),
            max_positions=number("max_positions"),
            embed_dim=number("embed_dim"),
            pad_id=number("pad_id"),
            layer_norm_eps=float(eps) if isinstance(eps, (int, float)) else 1e-5,
        )

    @property
    def max_tokens(self) -> int:
        """The longest sequence the position table holds (512 for XLM-R)."""
        return self.max_positions - self.pad_id - 1

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor the tower uses, by M-CLIP's key, and its shape in the checkpoint."""
        w, m = self.width, self.mlp_width
        e = f"{PREFIX}embeddings."
        out: dict[str, tuple[int, ...]] = {
            f"{e}word_embeddings.weight": (self.vocab_size, w),
            f"{e}position_embeddings.weight": (self.max_positions, w),
            f"{e}token_type_embeddings.weight": (1, w),
            f"{e}LayerNorm.weight": (w,),
            f"{e}LayerNorm.bias": (w,),
            "LinearTransformation.weight": (self.embed_dim, w),
            "LinearTransformation.bias": (self.embed_dim,),
        }
        for i in range(self.layers):
            p = f"{PREFIX}encoder.layer.{i}."
            for name, shape in (
                ("attention.self.query", (w, w)),
                ("attention.self.key", (w, w)),
                ("attention.self.value", (w, w)),
                ("attention.output.dense", (w, w)),
                ("intermediate.dense", (m, w)),
                ("output.dense", (w, m)),
            ):
                out[f"{p}{name}.weight"] = shape
                out[f"{p}{name}.bias"] = shape[:1]
            for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
                out[f"{p}{norm}.weight"] = (w,)
                out[f"{p}{norm}.bias"] = (w,)
        return out


def _f64(weights: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    return np.asarray(weights[key], dtype=np.float64)


def _layer_norm(
    x: np.ndarray, weights: Mapping[str, np.ndarray], key: str, eps: float
) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    normed = (x - mean) / np.sqrt(var + eps)
    out: np.ndarray = normed * _f64(weights, f"{key}.weight") + _f64(weights, f"{key}.bias")
    return out


def _linear(x: np.ndarray, weights: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    out: np.ndarray = x @ _f64(weights, f"{key}.weight").T + _f64(weights, f"{key}.bias")
    return out


#: :func:`erf` in pieces: Chebyshev interpolants of degree :data:`_ERF_DEGREE` on
#: ``[(i - 1/2) * _ERF_STEP, (i + 1/2) * _ERF_STEP]``, ``i = 0 … _ERF_TOP / _ERF_STEP``; past
#: :data:`_ERF_TOP` erf is 1 in float64 (``erfc(6) = 2e-17``). Within 4e-15 of ``math.erf`` (the
#: tests: a dense grid); the piece around 0 is odd, so small numbers keep their relative accuracy.
_ERF_STEP = 0.5
_ERF_TOP = 6.0
_ERF_DEGREE = 14


def _erf_table() -> np.ndarray:
    """The pieces' Chebyshev coefficients, ``[degree + 1, pieces]``, from ``math.erf`` itself at
    each piece's Chebyshev points (a couple of hundred calls, once)."""
    pieces = round(_ERF_TOP / _ERF_STEP) + 1
    table = np.empty((_ERF_DEGREE + 1, pieces))
    nodes = np.cos(np.pi * (np.arange(_ERF_DEGREE + 1) + 0.5) / (_ERF_DEGREE + 1))  # in (-1, 1)
    for i in range(pieces):
        values = [math.erf((i + t / 2.0) * _ERF_STEP) for t in nodes]
        table[:, i] = np.polynomial.chebyshev.chebfit(nodes, values, _ERF_DEGREE)
    table[0::2, 0] = 0.0  # erf is odd: around 0, only odd polynomials (their fit is ~1e-17)
    return table


_ERF_TABLE = _erf_table()


#: How many numbers :func:`erf` works on at a time (its arrays stay in the CPU's cache).
_ERF_BLOCK = 1 << 15


def erf(x: np.ndarray) -> np.ndarray:
    """The error function of every element (float64), vectorised: numpy has none, and
    ``np.vectorize(math.erf)`` calls Python once per number. Odd; ±1 past :data:`_ERF_TOP`
    (and at ±inf); NaN stays NaN."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    for start in range(0, len(flat), _ERF_BLOCK):
        _erf_block(flat[start : start + _ERF_BLOCK], out[start : start + _ERF_BLOCK])
    return out.reshape(x.shape)


def _erf_block(x: np.ndarray, out: np.ndarray) -> None:
    a = np.fmin(np.abs(x), _ERF_TOP)  # NaN becomes the top here and NaN again at the end
    piece = np.rint(a * (1.0 / _ERF_STEP)).astype(np.intp)
    t = a - piece * _ERF_STEP  # the piece's own variable, in [-1, 1]
    t *= 2.0 / _ERF_STEP
    # Clenshaw's recurrence, b_k = 2t b_(k+1) - b_(k+2) + c_k, each piece with its own c
    two_t = 2.0 * t
    b1 = np.take(_ERF_TABLE[_ERF_DEGREE], piece)
    b2 = np.zeros_like(t)
    step = np.empty_like(t)
    for k in range(_ERF_DEGREE - 1, 0, -1):
        np.multiply(two_t, b1, out=step)
        step -= b2
        step += np.take(_ERF_TABLE[k], piece)
        b1, b2, step = step, b1, b2
    np.multiply(t, b1, out=out)
    out -= b2
    out += np.take(_ERF_TABLE[0], piece)
    np.minimum(out, 1.0, out=out)  # the top piece's end may round an ulp past 1
    np.copysign(out, x, out=out)
    out[np.isnan(x)] = np.nan


def _gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU, ``x * Φ(x)``, as transformers' "gelu" (not the tanh approximation)."""
    out: np.ndarray = 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    return out


def position_ids(input_ids: np.ndarray, pad_id: int) -> np.ndarray:
    """fairseq's positions: real tokens count up from ``pad_id + 1``, padding stays ``pad_id``."""
    keep = (input_ids != pad_id).astype(np.int64)
    out: np.ndarray = np.cumsum(keep, axis=1) * keep + pad_id
    return out


def encode_text(
    weights: Mapping[str, np.ndarray],
    cfg: XlmrConfig,
    input_ids: np.ndarray,
    attention_mask: np.ndarray,
) -> np.ndarray:
    """Raw (not normalised) vectors [B, embed_dim], float64, for int ids and mask [B, L]."""
    ids = np.asarray(input_ids, dtype=np.int64)
    mask = np.asarray(attention_mask, dtype=np.float64)
    batch, length = ids.shape
    e = f"{PREFIX}embeddings."
    x = np.asarray(weights[f"{e}word_embeddings.weight"][ids], dtype=np.float64)
    x = x + np.asarray(
        weights[f"{e}position_embeddings.weight"][position_ids(ids, cfg.pad_id)], dtype=np.float64
    )
    x = x + _f64(weights, f"{e}token_type_embeddings.weight")[0]
    x = _layer_norm(x, weights, f"{e}LayerNorm", cfg.layer_norm_eps)
    heads, head_dim = cfg.heads, cfg.width // cfg.heads
    # transformers adds the float32 minimum where the mask is 0 (exp of it is exactly 0)
    bias = (1.0 - mask)[:, None, None, :] * float(np.finfo(np.float32).min)
    for i in range(cfg.layers):
        p = f"{PREFIX}encoder.layer.{i}."

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, length, heads, head_dim).transpose(0, 2, 1, 3)

        q = split(_linear(x, weights, f"{p}attention.self.query"))
        k = split(_linear(x, weights, f"{p}attention.self.key"))
        v = split(_linear(x, weights, f"{p}attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head_dim) + bias
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, cfg.width)
        attended = _linear(context, weights, f"{p}attention.output.dense")
        x = _layer_norm(attended + x, weights, f"{p}attention.output.LayerNorm", cfg.layer_norm_eps)
        inner = _gelu(_linear(x, weights, f"{p}intermediate.dense"))
        x = _layer_norm(
            _linear(inner, weights, f"{p}output.dense") + x,
            weights,
            f"{p}output.LayerNorm",
            cfg.layer_norm_eps,
        )
    pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1), 1.0)[:, None]
    return _linear(pooled, weights, "LinearTransformation")
