"""CLIP image preprocessing in numpy + OpenCV, bit-identical to open_clip's eval transform.

The CLIP4Clip image towers were trained (and are evaluated) on frames that went through
``open_clip.image_transform(image_size, is_train=False)`` for OpenAI CLIP weights, i.e.::

    Resize(image_size, interpolation=BICUBIC)   # torchvision on a PIL image -> PIL's resize
    CenterCrop(image_size)
    convert("RGB")
    ToTensor()                                  # uint8 / 255 in float32
    Normalize(OPENAI_MEAN, OPENAI_STD)          # (x - mean) / std in float32

The runtime engine (``core/``) must not depend on torch, torchvision or Pillow, yet embeddings
computed at index time have to match the ones the export/evaluation tooling computes with
open_clip, otherwise search quality silently drifts. ``cv2.resize(INTER_CUBIC)`` is *not* a
substitute: it does no antialiasing when downscaling (it samples a fixed 4x4 neighbourhood),
so a 1080p frame shrunk to 224 comes out aliased and visibly different from what CLIP saw.

So this module re-implements Pillow's BICUBIC resampling (``libImaging/Resample.c``) exactly:

* a separable convolution with the Keys cubic kernel (a = -0.5) whose support is stretched by
  the downscale factor (that is the antialiasing), one set of weights per output pixel;
* weights normalised to sum 1, then turned into fixed-point integers with 22 fractional bits
  (``PRECISION_BITS = 32 - 8 - 2``), rounded half away from zero;
* each output is ``(sum(pixel * weight) + 2**21) >> 22`` clipped to 0..255, so the image
  between the two passes is *uint8* and the pass order matters: horizontal first, except
  that Pillow >= 13 goes vertical first when the height shrinks by more than twice as many
  pixels as the width (see :func:`vertical_pass_first`);
* a pass is skipped entirely when its dimension does not change.

Every quantity (window bounds, float weights, their integer versions) is computed with the same
IEEE double operations in the same order as the C code, so the integer weights are identical;
the accumulation itself is done with float64 matrix products, which is exact because every
partial sum is an integer below 2**31 (scaled by the power of two 2**-22), far inside float64's
53-bit mantissa, whatever order BLAS adds the terms in.

Speed comes from doing only the work the centre crop needs (each pass only for the output
rows/columns inside the crop, the first pass only on the source pixels the second one reads)
and from expressing each pass as a few small dense matrix products over the band of the
(banded) resampling matrix, which BLAS runs near peak.
Plans (weights and band blocks) are cached per geometry, because a video indexer feeds
thousands of frames of the same size.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "OPENAI_MEAN",
    "OPENAI_STD",
    "PreprocessError",
    "bgr_to_rgb",
    "center_crop",
    "preprocess_batch",
    "preprocess_image",
    "resize_shorter_bicubic",
    "resized_shape",
    "vertical_pass_first",
]

OPENAI_MEAN: Final[tuple[float, float, float]] = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD: Final[tuple[float, float, float]] = (0.26862954, 0.26130258, 0.27577711)

# Pillow's fixed-point format for 8-bit resampling: 32-bit accumulator, 8 bits of pixel value,
# 2 bits of head-room for kernels whose partial sums leave [0, 1].
_PRECISION_BITS: Final[int] = 32 - 8 - 2
_ONE: Final[float] = float(1 << _PRECISION_BITS)
_INV_ONE: Final[float] = 1.0 / _ONE  # exact: a power of two
_BICUBIC_SUPPORT: Final[float] = 2.0

# Output pixels per dense block of the banded resampling matrix. Small blocks waste fewer
# multiplications on the zeros outside the band, large ones keep BLAS efficient; 6-10 is the
# sweet spot measured (single-threaded, see below) on 1080p, 720p, 1080x2400 and 4K -> 224.
_BLOCK: Final[int] = 8

# Largest m * n * k handed to one BLAS call. OpenBLAS only spreads a GEMM over threads above
# 65536 * GEMM_MULTITHREAD_THRESHOLD (4) = 2**18; below it the call runs on the calling thread.
# Staying under it matters: these products are tiny (~0.2 ms), and waking/spinning BLAS worker
# threads for them on a 2-core machine that is also decoding video made a 1080p frame take
# 35 ms median / 160 ms p90 instead of 11 ms (measured). The indexer parallelises across
# frames if it wants to; each frame's maths stays single-threaded and predictable.
_MAX_GEMM_WORK: Final[int] = 1 << 18

UInt8Array = npt.NDArray[np.uint8]
Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]


class PreprocessError(ValueError):
    """An image that the CLIP preprocessing cannot accept (wrong dtype, shape or size)."""


# --------------------------------------------------------------------------- input checks


def _as_hwc_uint8(image: object, *, what: str = "image") -> UInt8Array:
    """Validate ``image`` and return it as an ``H x W x C`` uint8 view, C in {1, 3}.

    Grayscale (``H x W`` or ``H x W x 1``) stays single-channel: PIL resizes an ``L`` image
    channel by channel exactly like the R, G and B planes it would get after ``convert("RGB")``
    (which only replicates the value), so resizing one plane and replicating afterwards is both
    identical and three times cheaper. ``H x W x 4`` loses its fourth channel, which is what
    ``convert("RGB")`` does to RGBA (no compositing against a background).
    """
    if not isinstance(image, np.ndarray):
        raise PreprocessError(f"{what} must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise PreprocessError(
            f"{what} must have dtype uint8 (8-bit pixels, as decoded frames are), got "
            f"{image.dtype}; convert float images with (x * 255).round().astype(np.uint8)"
        )
    if image.ndim == 2:
        image = image[:, :, None]
    elif image.ndim != 3:
        raise PreprocessError(
            f"{what} must be H x W (grayscale) or H x W x C with C in (1, 3, 4), "
            f"got shape {image.shape}"
        )
    channels = image.shape[2]
    if channels == 4:
        image = image[:, :, :3]
    elif channels not in (1, 3):
        raise PreprocessError(
            f"{what} must have 1, 3 or 4 channels (gray, RGB, RGBA), got {channels} "
            f"(shape {image.shape})"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise PreprocessError(f"{what} is empty (shape {image.shape})")
    return image


def _check_size(size: object, name: str = "image_size") -> int:
    """Reject non-integer or non-positive target sizes early, with a readable message."""
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or int(size) <= 0:
        raise PreprocessError(f"{name} must be a positive int, got {size!r}")
    return int(size)


# --------------------------------------------------------------------------- geometry


def resized_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """Return ``(new_h, new_w)`` after torchvision's ``Resize(size)`` (shorter side -> size).

    Mirrors ``torchvision.transforms.functional._compute_resized_output_size``: the longer side
    becomes ``int(size * long / short)`` (true division, then truncation), which is not always
    the rounded value, so computing it any other way shifts the crop by a pixel.
    """
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    return new_h, new_w


def _crop_offset(full: int, crop: int) -> int:
    """torchvision's centre-crop offset: ``int(round((full - crop) / 2.0))``.

    Python's ``round`` is round-half-to-even, so an odd surplus of 1 gives offset 0 and of 3
    gives 2; using ``//`` instead would disagree with open_clip on half the odd sizes.
    """
    return round((full - crop) / 2.0)


# --------------------------------------------------------------------------- Pillow weights


def _bicubic(x: Float64Array) -> Float64Array:
    """Keys cubic convolution kernel with a = -0.5, evaluated like Pillow's ``bicubic_filter``.

    The polynomial is written with the same operation order as the C source (no Horner
    rewrite, no fused multiply-add) so every weight is bit-identical to Pillow's.
    """
    ax = np.abs(x)
    inner = ((1.5 * ax - 2.5) * ax) * ax + 1.0  # ((a + 2) x - (a + 3)) x x + 1
    outer = (((ax - 5.0) * ax + 8.0) * ax - 4.0) * -0.5  # (((x - 5) x + 8) x - 4) a
    return np.where(ax < 1.0, inner, np.where(ax < 2.0, outer, 0.0))


@functools.lru_cache(maxsize=64)
def _pillow_weights(in_size: int, out_size: int) -> tuple[Int64Array, Int64Array, Int64Array]:
    """Pillow's per-output-pixel windows and fixed-point weights for one axis.

    Returns ``(start, count, weights)``: output pixel ``i`` is
    ``sum(src[start[i] + t] * weights[i, t] for t < count[i])`` in 22-bit fixed point.
    This is ``precompute_coeffs`` + ``normalize_coeffs_8bpc`` vectorised over output pixels;
    the per-pixel sum of float weights is accumulated tap by tap (not with ``np.sum``, whose
    pairwise summation would round differently) to keep the normalisation bit-identical.
    """
    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = _BICUBIC_SUPPORT * filterscale
    ksize = math.ceil(support) * 2 + 1

    center = (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    inv_filterscale = 1.0 / filterscale
    # C truncates toward zero with (int); the clamps come after, as in Pillow.
    start = np.maximum(np.trunc(center - support + 0.5), 0.0).astype(np.int64)
    stop = np.minimum(np.trunc(center + support + 0.5), float(in_size)).astype(np.int64)
    count = stop - start

    taps = np.arange(ksize, dtype=np.int64)
    valid = taps[None, :] < count[:, None]
    src_pos = (start[:, None] + taps[None, :]).astype(np.float64)
    w = _bicubic(((src_pos - center[:, None]) + 0.5) * inv_filterscale)
    w = np.where(valid, w, 0.0)

    total = np.zeros(out_size, dtype=np.float64)
    for t in range(ksize):  # sequential, like the C loop
        total += w[:, t]
    safe_total = np.where(total != 0.0, total, 1.0)
    w = w / safe_total[:, None]

    scaled = w * _ONE
    fixed = np.trunc(np.where(w < 0.0, scaled - 0.5, scaled + 0.5)).astype(np.int64)
    fixed[~valid] = 0
    return start, count, fixed


@dataclass(frozen=True)
class _Block:
    """One dense tile of the banded resampling matrix.

    Output pixels ``[dst0, dst1)`` depend only on source pixels ``[src0, src1)`` (relative to
    the axis plan's ``src_start``); ``weights`` is a C-contiguous ``(dst1 - dst0) x (src1 - src0)``
    matrix of the fixed-point weights times 2**-22, so a product yields the pixel value before
    rounding. It is the left operand of every product: a short, wide result whose rows are
    contiguous is what OpenBLAS handles best here (measured), for either pass.
    """

    src0: int
    src1: int
    dst0: int
    dst1: int
    weights: Float64Array


@dataclass(frozen=True)
class _AxisPlan:
    """How to produce output pixels ``[out0, out1)`` of one axis (``identity``: no resampling)."""

    identity: bool
    src_start: int
    src_stop: int
    blocks: tuple[_Block, ...]


@functools.lru_cache(maxsize=128)
def _axis_plan(in_size: int, out_size: int, out0: int, out1: int) -> _AxisPlan:
    """Cut the needed rows of the resampling matrix into dense band tiles.

    Restricting to ``[out0, out1)`` is what makes the crop cheap: a 1920-wide frame resized to
    398 and cropped to 224 only needs the 224 crop columns (~57% of the source columns), and
    each needed output is still computed from exactly the weights Pillow would use for it.
    """
    if in_size == out_size:  # Pillow skips the pass: the pixels are copied unchanged
        return _AxisPlan(True, out0, out1, ())
    start, count, fixed = _pillow_weights(in_size, out_size)
    src_start = int(start[out0])
    src_stop = int((start[out0:out1] + count[out0:out1]).max())
    blocks: list[_Block] = []
    for dst0 in range(out0, out1, _BLOCK):
        dst1 = min(dst0 + _BLOCK, out1)
        lo = int(start[dst0])
        hi = int((start[dst0:dst1] + count[dst0:dst1]).max())
        weights = np.zeros((dst1 - dst0, hi - lo), dtype=np.float64)
        for j in range(dst0, dst1):
            s, n = int(start[j]) - lo, int(count[j])
            weights[j - dst0, s : s + n] = fixed[j, :n] * _INV_ONE
        weights.setflags(write=False)
        blocks.append(_Block(lo - src_start, hi - src_start, dst0 - out0, dst1 - out0, weights))
    return _AxisPlan(False, src_start, src_stop, tuple(blocks))


def _round_clip_inplace(values: Float64Array) -> None:
    """Pillow's ``clip8((acc + 2**21) >> 22)`` on values already scaled by 2**-22 (exact)."""
    np.add(values, 0.5, out=values)
    np.floor(values, out=values)
    np.clip(values, 0.0, 255.0, out=values)


# --------------------------------------------------------------------------- resampling core


def vertical_pass_first(height: int, width: int, out_h: int, out_w: int) -> bool:
    """Whether Pillow (>= 13) runs the vertical pass before the horizontal one.

    The two orders round the uint8 intermediate image differently, so they disagree by one
    level on some pixels and the order is part of "bit-identical". Pillow up to 12 always went
    horizontal first; Pillow 13 (python-pillow/Pillow#9549) goes vertical first when the height
    shrinks by more than twice as many pixels as the width does. For a shorter-side resize
    that means portrait images taller than about 2:1, e.g. 1080x2400 phone screen recordings.
    The rule was confirmed against Pillow 13.0 on thousands of random geometries (see tests).
    """
    return out_h < height and (height - out_h) > (width - out_w) * 2


def _tile_matmul(weights: Float64Array, operand: Float64Array, out: Float64Array) -> None:
    """``out[...] = weights @ operand``, split along the columns of ``operand`` so that every
    BLAS call stays below the multithreading threshold (see ``_MAX_GEMM_WORK``)."""
    n_total = operand.shape[1]
    step = max(1, _MAX_GEMM_WORK // (weights.shape[0] * weights.shape[1]))
    if step >= n_total:
        np.matmul(weights, operand, out=out)
        return
    for j in range(0, n_total, step):
        np.matmul(weights, operand[:, j : j + step], out=out[:, j : j + step])


def _horizontal_pass(planes: Float64Array, plan: _AxisPlan, n_out: int) -> Float64Array:
    """Resample ``C x H x W`` planes along W -> ``C x H x n_out`` (a transposed view).

    The result is stored as ``(n_out, C * H)`` so that each tile's product writes whole
    contiguous rows; the returned (channel, row, column) view of it feeds BLAS as a
    transposed operand, without a copy.
    """
    channels, height, _ = planes.shape
    flat = np.ascontiguousarray(planes).reshape(channels * height, -1)
    out_t = np.empty((n_out, channels * height), dtype=np.float64)
    for blk in plan.blocks:
        _tile_matmul(blk.weights, flat[:, blk.src0 : blk.src1].T, out_t[blk.dst0 : blk.dst1])
    _round_clip_inplace(out_t)  # Pillow's intermediate and final images are uint8
    return out_t.reshape(n_out, channels, height).transpose(1, 2, 0)


def _vertical_pass(planes: Float64Array, plan: _AxisPlan, n_out: int) -> Float64Array:
    """Resample ``C x H x W`` planes (any strides) along H -> contiguous ``C x n_out x W``."""
    channels, _, width = planes.shape
    out = np.empty((channels, n_out, width), dtype=np.float64)
    for c in range(channels):
        for blk in plan.blocks:
            _tile_matmul(blk.weights, planes[c, blk.src0 : blk.src1], out[c, blk.dst0 : blk.dst1])
    _round_clip_inplace(out)
    return out


def _resample_region(
    image: UInt8Array,
    out_h: int,
    out_w: int,
    rows: tuple[int, int],
    cols: tuple[int, int],
) -> Float64Array:
    """Region ``rows x cols`` of Pillow's BICUBIC resize of ``image`` to ``out_h x out_w``.

    ``image`` is ``H x W x C`` uint8; the result is a ``C x h x w`` float64 array (possibly a
    strided view) holding the integer uint8 values: channel-first because that is what the
    matrix products need and the CHW layout of the model input.

    Whatever the pass order, the first pass is computed only for what the second one reads
    (source rows feeding the wanted output rows, source columns feeding the wanted output
    columns): every pixel is still produced by exactly Pillow's weights and roundings.
    """
    height, width, _ = image.shape
    vplan = _axis_plan(height, out_h, rows[0], rows[1])
    hplan = _axis_plan(width, out_w, cols[0], cols[1])
    n_rows, n_cols = rows[1] - rows[0], cols[1] - cols[0]

    # Only the source rectangle that feeds the requested region is converted to float.
    src = image[vplan.src_start : vplan.src_stop, hplan.src_start : hplan.src_stop]
    planes = np.ascontiguousarray(src.transpose(2, 0, 1), dtype=np.float64)

    if vertical_pass_first(height, width, out_h, out_w):
        if not vplan.identity:
            planes = _vertical_pass(planes, vplan, n_rows)
        if not hplan.identity:
            planes = _horizontal_pass(planes, hplan, n_cols)
    else:
        if not hplan.identity:
            planes = _horizontal_pass(planes, hplan, n_cols)
        if not vplan.identity:
            planes = _vertical_pass(planes, vplan, n_rows)
    return planes


def _planar_to_hwc_uint8(planar: Float64Array) -> UInt8Array:
    """``C x H x W`` float64 holding 0..255 integers -> contiguous ``H x W x C`` uint8."""
    return np.ascontiguousarray(planar.transpose(1, 2, 0)).astype(np.uint8)


# --------------------------------------------------------------------------- public API


def resize_shorter_bicubic(image: np.ndarray, size: int) -> UInt8Array:
    """Resize so the shorter side is ``size``, exactly as torchvision ``Resize(size, BICUBIC)``
    does on a PIL image (i.e. Pillow's antialiased bicubic), returning ``H' x W' x 3`` uint8.

    The result equals ``np.asarray(Image.fromarray(rgb).resize((W', H'), BICUBIC))`` bit for
    bit. Prefer :func:`preprocess_image` for model input: it resizes only the centre crop.
    Grayscale input is replicated to three channels and a fourth channel is dropped.
    """
    img = _as_hwc_uint8(image)
    size = _check_size(size, "size")
    height, width = img.shape[:2]
    new_h, new_w = resized_shape(height, width, size)
    planar = _resample_region(img, new_h, new_w, (0, new_h), (0, new_w))
    out = _planar_to_hwc_uint8(planar)
    return np.repeat(out, 3, axis=2) if out.shape[2] == 1 else out


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """torchvision ``CenterCrop(size)`` on an ``H x W`` or ``H x W x C`` array.

    Uses torchvision's offsets (``int(round((h - size) / 2.0))``, half-to-even) and, like it,
    zero-pads an image smaller than the crop first (left/top get ``(size - w) // 2``). Returns a
    view when no padding is needed.
    """
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
        raise PreprocessError(
            f"image must be an H x W or H x W x C numpy array, got "
            f"{getattr(image, 'shape', type(image).__name__)}"
        )
    size = _check_size(size, "size")
    height, width = image.shape[:2]
    if size > width or size > height:
        pad_w, pad_h = max(size - width, 0), max(size - height, 0)
        pad = [(pad_h // 2, (pad_h + 1) // 2), (pad_w // 2, (pad_w + 1) // 2)]
        pad += [(0, 0)] * (image.ndim - 2)
        image = np.pad(image, pad, mode="constant", constant_values=0)
        height, width = image.shape[:2]
        if height == size and width == size:
            return image
    top, left = _crop_offset(height, size), _crop_offset(width, size)
    return image[top : top + size, left : left + size]


@functools.lru_cache(maxsize=16)
def _normalize_lut(mean: tuple[float, ...], std: tuple[float, ...]) -> Float32Array:
    """``3 x 256`` table of ``(float32(v) / 255 - mean) / std`` in float32, per channel.

    The same float32 operations ToTensor + Normalize perform (``div(255)``, ``sub_(mean)``,
    ``div_(std)`` with float32 mean/std), precomputed for every possible byte, so the model
    input matches open_clip's to the last bit and costs one gather per pixel.
    """
    if len(mean) != 3 or len(std) != 3:
        raise PreprocessError(f"mean and std need 3 values (R, G, B), got {mean!r} and {std!r}")
    m = np.asarray(mean, dtype=np.float32)[:, None]
    s = np.asarray(std, dtype=np.float32)[:, None]
    if np.any(s == 0):
        raise PreprocessError(f"std must be non-zero, got {std!r}")
    v = np.arange(256, dtype=np.float32)[None, :] / np.float32(255.0)
    lut = ((v - m) / s).astype(np.float32)
    lut.setflags(write=False)
    return lut


def _preprocess_into(
    image: np.ndarray, image_size: int, lut: Float32Array, out: Float32Array
) -> None:
    """Write the normalised ``3 x S x S`` model input for ``image`` into ``out``."""
    img = _as_hwc_uint8(image)
    height, width = img.shape[:2]
    new_h, new_w = resized_shape(height, width, image_size)
    top, left = _crop_offset(new_h, image_size), _crop_offset(new_w, image_size)
    planar = _resample_region(img, new_h, new_w, (top, top + image_size), (left, left + image_size))
    idx = planar.astype(np.intp)
    for c in range(3):
        out[c] = lut[c][idx[c if idx.shape[0] == 3 else 0]]


def _per_channel(value: Sequence[float] | float, name: str) -> tuple[float, ...]:
    """Accept a scalar like open_clip does (it then applies to all three channels)."""
    try:
        if np.ndim(value) == 0:
            return (float(value),) * 3  # type: ignore[arg-type]
        return tuple(float(x) for x in value)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise PreprocessError(f"{name} must be a number or 3 numbers, got {value!r}") from exc


def _mean_std(
    mean: Sequence[float] | float, std: Sequence[float] | float
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Normalise ``mean``/``std`` to hashable tuples (they key the lookup-table cache)."""
    return _per_channel(mean, "mean"), _per_channel(std, "std")


def preprocess_image(
    image: np.ndarray,
    image_size: int,
    mean: Sequence[float] | float = OPENAI_MEAN,
    std: Sequence[float] | float = OPENAI_STD,
) -> Float32Array:
    """RGB ``H x W x 3`` uint8 -> float32 ``3 x S x S`` model input, as open_clip computes it.

    Equivalent to ``open_clip.image_transform(S, is_train=False, mean=mean, std=std)`` applied
    to ``PIL.Image.fromarray(image)``. Grayscale is accepted (replicated, as ``convert("RGB")``
    does) and so is ``H x W x 4`` (the fourth channel is ignored; PIL would instead resize RGBA
    with premultiplied alpha, which only agrees when the image is opaque). Pass RGB, not
    OpenCV's BGR: see :func:`bgr_to_rgb`.
    """
    size = _check_size(image_size)
    lut = _normalize_lut(*_mean_std(mean, std))
    out = np.empty((3, size, size), dtype=np.float32)
    _preprocess_into(image, size, lut, out)
    return out


def preprocess_batch(
    images: Sequence[np.ndarray],
    image_size: int,
    mean: Sequence[float] | float = OPENAI_MEAN,
    std: Sequence[float] | float = OPENAI_STD,
) -> Float32Array:
    """Preprocess several images into one C-contiguous float32 ``N x 3 x S x S`` batch.

    Each image is written straight into its slot of the batch (no per-image tensor plus a
    ``np.stack`` copy); images may have different sizes. An error names the offending index.
    """
    size = _check_size(image_size)
    lut = _normalize_lut(*_mean_std(mean, std))
    batch = np.empty((len(images), 3, size, size), dtype=np.float32)
    for i, image in enumerate(images):
        try:
            _preprocess_into(image, size, lut, batch[i])
        except PreprocessError as exc:
            raise PreprocessError(f"images[{i}]: {exc}") from exc
    return batch


def bgr_to_rgb(frame: np.ndarray) -> UInt8Array:
    """OpenCV decodes frames as BGR(A); CLIP expects RGB. Returns a contiguous RGB uint8 copy.

    ``H x W x 4`` (BGRA) drops alpha, ``H x W`` / ``H x W x 1`` (gray) is replicated.
    """
    img = _as_hwc_uint8(frame, what="frame")  # validates; a 4th channel is sliced away
    if img.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(img, 3, axis=2))
    if frame.ndim == 3 and frame.shape[2] == 4:
        return np.asarray(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_BGRA2RGB), np.uint8)
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2RGB), np.uint8)
