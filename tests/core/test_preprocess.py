"""Tests for ``core.model.preprocess``: bit-exact parity with open_clip's eval image transform.

The reference is the real thing: ``open_clip.image_transform(S, is_train=False)`` applied to
``PIL.Image.fromarray(rgb)`` (torchvision Resize/CenterCrop on a PIL image, i.e. Pillow's C
resampler), plus torchvision's own resize for the uint8 comparison. Those packages come with
the ``export`` extra and are imported only inside the tests that need them, so the torch-free
module under test is exercised without them too (golden values, consistency, error handling).

Images cover noise (every weight matters), smooth gradients (rounding ties), hard 0/255
checkerboards (bicubic overshoot, so the uint8 clipping between the passes is exercised) and
piecewise-constant blocks, over landscape, portrait, square, upscaled and odd sizes.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest

from core.model.preprocess import (
    OPENAI_MEAN,
    OPENAI_STD,
    PreprocessError,
    bgr_to_rgb,
    center_crop,
    preprocess_batch,
    preprocess_image,
    resize_shorter_bicubic,
    resized_shape,
    vertical_pass_first,
)

# (width, height), as videos are described
FRAME_SIZES: list[tuple[int, int]] = [
    (1920, 1080),
    (1080, 1920),  # portrait phone video
    (1280, 720),
    (640, 480),
    (224, 224),  # already the model size for S=224: no resampling at all
    (225, 300),
    (300, 225),
    (100, 50),  # upscaled for every S here
    (333, 517),
    (1080, 2400),  # phone screen recording: Pillow 13 resizes it vertical-first
    (7, 3),
]
IMAGE_SIZES: list[int] = [224, 32, 336]
KINDS: list[str] = ["noise", "gradient", "checker", "blocks"]
TOLERANCE = 1e-6


# --------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=32)
def make_image(kind: str, width: int, height: int, seed: int = 0) -> np.ndarray:
    """Deterministic ``height x width x 3`` uint8 RGB test image of the given kind.

    Cached (the same image feeds several tests) and therefore returned read-only, which also
    checks that nothing under test writes into its input.
    """
    img = _make_image(kind, width, height, seed)
    img.setflags(write=False)
    return img


def _make_image(kind: str, width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, width, height, KINDS.index(kind)])
    yy, xx = np.mgrid[0:height, 0:width]
    if kind == "noise":
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind == "gradient":
        gx = xx * 255.0 / max(width - 1, 1)
        gy = yy * 255.0 / max(height - 1, 1)
        img = np.stack([gx, gy, (gx + gy) / 2.0], axis=-1)
        return np.round(img).astype(np.uint8)
    if kind == "checker":
        planes = [((yy // k + xx // k) % 2) * 255 for k in (1, 2, 7)]
        return np.stack(planes, axis=-1).astype(np.uint8)
    if kind == "blocks":
        cells = rng.integers(0, 256, (max(height // 13, 1) + 1, max(width // 13, 1) + 1, 3))
        img = cells[yy // 13, xx // 13]
        return np.clip(img + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)
    raise AssertionError(kind)


@functools.lru_cache(maxsize=8)
def _open_clip_transform(
    image_size: int, mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None
) -> Any:
    open_clip = pytest.importorskip("open_clip")
    return open_clip.image_transform(image_size, is_train=False, mean=mean, std=std)


def reference_tensor(
    pil_image: Any,
    image_size: int,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
) -> np.ndarray:
    """open_clip's eval transform on a PIL image, as a numpy array."""
    return _open_clip_transform(image_size, mean, std)(pil_image).numpy()


def reference_resize(rgb: np.ndarray, image_size: int) -> np.ndarray:
    """torchvision ``Resize(S, BICUBIC)`` on ``Image.fromarray(rgb)`` (what open_clip runs)."""
    image_mod = pytest.importorskip("PIL.Image")
    tvf = pytest.importorskip("torchvision.transforms.functional")
    from torchvision.transforms import InterpolationMode

    resized = tvf.resize(image_mod.fromarray(rgb), image_size, InterpolationMode.BICUBIC)
    return np.asarray(resized)


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


# --------------------------------------------------------------------------- parity with PIL


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("image_size", IMAGE_SIZES)
@pytest.mark.parametrize(("width", "height"), FRAME_SIZES)
def test_resize_is_bit_identical_to_pil(width: int, height: int, image_size: int, kind: str):
    rgb = make_image(kind, width, height)
    ours = resize_shorter_bicubic(rgb, image_size)
    ref = reference_resize(rgb, image_size)
    assert ours.dtype == np.uint8
    assert ours.shape == ref.shape
    assert max_abs_diff(ours, ref) == 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("image_size", IMAGE_SIZES)
@pytest.mark.parametrize(("width", "height"), FRAME_SIZES)
def test_preprocess_matches_open_clip(width: int, height: int, image_size: int, kind: str):
    image_mod = pytest.importorskip("PIL.Image")
    rgb = make_image(kind, width, height)
    ours = preprocess_image(rgb, image_size)
    ref = reference_tensor(image_mod.fromarray(rgb), image_size)
    assert ours.dtype == np.float32
    assert ours.shape == (3, image_size, image_size)
    assert ours.flags.c_contiguous
    assert max_abs_diff(ours, ref) <= TOLERANCE


def _matches_pillow(image_mod, rgb, image_size: int) -> None:
    """Our resize is Pillow's to the pixel, and the whole preprocessing within TOLERANCE."""
    assert (
        max_abs_diff(resize_shorter_bicubic(rgb, image_size), reference_resize(rgb, image_size))
        == 0
    )
    ref = reference_tensor(image_mod.fromarray(rgb), image_size)
    assert max_abs_diff(preprocess_image(rgb, image_size), ref) <= TOLERANCE


@pytest.mark.parametrize(
    ("width", "height", "image_size"),
    [
        (1, 1, 224),
        (2, 1, 32),
        (1, 5, 32),
        (2000, 3, 32),
        (3, 700, 32),
        (4096, 2160, 224),
        (1366, 768, 224),
        (1081, 1921, 224),
        (449, 224, 224),
        (224, 449, 224),
        (226, 225, 224),
    ],
)
def test_extreme_and_odd_shapes(width: int, height: int, image_size: int):
    """Huge upscales, extreme aspect ratios, 4K and crops with odd surplus (half-even offset)."""
    image_mod = pytest.importorskip("PIL.Image")
    rgb = make_image("noise", width, height, seed=3)
    _matches_pillow(image_mod, rgb, image_size)


def test_random_sizes_against_pil():
    """A seeded sweep of arbitrary geometries, beyond the hand-picked ones."""
    image_mod = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(2024)
    for _ in range(40):
        width, height = (int(v) for v in rng.integers(1, 700, 2))
        image_size = int(rng.choice([16, 32, 64, 224]))
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        geometry = (width, height, image_size)
        ours = resize_shorter_bicubic(rgb, image_size)
        assert max_abs_diff(ours, reference_resize(rgb, image_size)) == 0, geometry
        ref = reference_tensor(image_mod.fromarray(rgb), image_size)
        assert max_abs_diff(preprocess_image(rgb, image_size), ref) <= TOLERANCE, geometry


def test_cv2_bicubic_is_not_a_substitute():
    """The comparison is sensitive: OpenCV's (non-antialiased) cubic fails the same check."""
    cv2 = pytest.importorskip("cv2")
    rgb = make_image("noise", 1920, 1080)
    ref = reference_resize(rgb, 224)
    naive = cv2.resize(rgb, (ref.shape[1], ref.shape[0]), interpolation=cv2.INTER_CUBIC)
    assert max_abs_diff(naive, ref) > 10


@pytest.mark.parametrize("image_size", [224, 32])
def test_custom_and_scalar_mean_std(image_size: int):
    image_mod = pytest.importorskip("PIL.Image")
    rgb = make_image("blocks", 640, 480)
    mean, std = (0.5, 0.25, 0.125), (0.2, 0.3, 0.4)
    ref = reference_tensor(image_mod.fromarray(rgb), image_size, mean, std)
    assert max_abs_diff(preprocess_image(rgb, image_size, mean, std), ref) <= TOLERANCE
    ref = reference_tensor(image_mod.fromarray(rgb), image_size, (0.5,) * 3, (0.5,) * 3)
    assert max_abs_diff(preprocess_image(rgb, image_size, 0.5, 0.5), ref) <= TOLERANCE
    assert max_abs_diff(preprocess_image(rgb, image_size, np.float32(0.5), 0.5), ref) <= 1e-6


# --------------------------------------------------------------------------- pass order


def _pillow_major() -> int:
    pil = pytest.importorskip("PIL")
    return int(pil.__version__.split(".")[0])


def _pillow_pass_order(width: int, height: int, out_w: int, out_h: int) -> str | None:
    """Which pass Pillow ran first, told apart by redoing the resize as two one-axis resizes.

    Returns "V", "H", or None when both orders give the same pixels for this image.
    """
    image_mod = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng([width, height, out_w, out_h])
    img = image_mod.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    bicubic = image_mod.Resampling.BICUBIC
    one = np.asarray(img.resize((out_w, out_h), bicubic))
    h_first = np.asarray(img.resize((out_w, height), bicubic).resize((out_w, out_h), bicubic))
    v_first = np.asarray(img.resize((width, out_h), bicubic).resize((out_w, out_h), bicubic))
    is_h, is_v = np.array_equal(one, h_first), np.array_equal(one, v_first)
    assert is_h or is_v, "Pillow's resize matches neither pass order"
    return None if is_h and is_v else ("H" if is_h else "V")


def test_vertical_first_rule_matches_pillow():
    if _pillow_major() < 13:
        pytest.skip("Pillow < 13 always resizes horizontal-first")
    rng = np.random.default_rng(11)
    geometries = [tuple(int(v) for v in rng.integers(1, 200, 4)) for _ in range(300)]
    # both sides of the boundary, and the shapes this app meets
    geometries += [
        (1000, 2000, 224, 448),
        (1000, 2001, 224, 448),
        (300, 300, 280, 250),
        (300, 300, 280, 260),
        (9, 300, 26, 113),
        (300, 300, 310, 280),
        (300, 300, 310, 310),
        (1920, 1080, 398, 224),
        (1080, 1920, 224, 398),
    ]
    decided = 0
    for width, height, out_w, out_h in geometries:
        order = _pillow_pass_order(width, height, out_w, out_h)
        if order is None:
            continue
        decided += 1
        expected = "V" if vertical_pass_first(height, width, out_h, out_w) else "H"
        assert order == expected, (width, height, out_w, out_h)
    assert decided > 200  # the probe really discriminates


def test_vertical_first_boundary():
    assert not vertical_pass_first(2000, 1000, 448, 224)  # 1552 == 2 * 776: not more
    assert vertical_pass_first(2001, 1000, 448, 224)
    assert vertical_pass_first(2400, 1080, 497, 224)
    assert not vertical_pass_first(1080, 1920, 224, 398)  # landscape never goes vertical first
    assert not vertical_pass_first(1920, 1080, 398, 224)
    assert not vertical_pass_first(50, 100, 224, 112)  # height grows: horizontal first


@pytest.mark.parametrize(
    ("width", "height"),
    [(1080, 2400), (1080, 2340), (720, 1600), (1000, 2001), (1000, 2000), (473, 169)],
)
@pytest.mark.parametrize("image_size", [224, 32])
def test_tall_portrait_frames(width: int, height: int, image_size: int):
    new_h, new_w = resized_shape(height, width, image_size)
    if _pillow_major() < 13 and vertical_pass_first(height, width, new_h, new_w):
        pytest.skip("Pillow < 13 resizes this horizontal-first")
    image_mod = pytest.importorskip("PIL.Image")
    rgb = make_image("noise", width, height, seed=9)
    _matches_pillow(image_mod, rgb, image_size)


def test_wrong_pass_order_is_detected(monkeypatch: pytest.MonkeyPatch):
    """The order is observable: forcing horizontal-first on a tall frame breaks parity."""
    if _pillow_major() < 13:
        pytest.skip("Pillow < 13 resizes horizontal-first")
    import core.model.preprocess as pp

    rgb = make_image("noise", 1080, 2400, seed=1)
    ref = reference_resize(rgb, 224)
    monkeypatch.setattr(pp, "vertical_pass_first", lambda *args: False)
    assert max_abs_diff(pp.resize_shorter_bicubic(rgb, 224), ref) == 1


# --------------------------------------------------------------------------- geometry


def test_resized_shape_matches_torchvision():
    tvf = pytest.importorskip("torchvision.transforms.functional")
    rng = np.random.default_rng(7)
    cases = [(1080, 1920), (1920, 1080), (720, 1280), (517, 333), (1, 1), (3, 2000)]
    cases += [tuple(int(v) for v in rng.integers(1, 5000, 2)) for _ in range(500)]
    for height, width in cases:
        for size in (224, 32, 336, 7):
            expected = tvf._compute_resized_output_size((height, width), [size])
            assert list(resized_shape(height, width, size)) == expected, (height, width, size)


def test_resized_shape_truncates_like_torchvision():
    # 224 * 1280 / 720 = 398.22 -> 398; 224 * 517 / 333 = 347.77 -> 347 (truncated, not rounded)
    assert resized_shape(720, 1280, 224) == (224, 398)
    assert resized_shape(517, 333, 224) == (347, 224)


@pytest.mark.parametrize(("height", "width"), [(5, 5), (6, 9), (9, 6), (7, 10), (3, 3), (2, 5)])
@pytest.mark.parametrize("size", [3, 4])
def test_center_crop_matches_torchvision(height: int, width: int, size: int):
    image_mod = pytest.importorskip("PIL.Image")
    tvf = pytest.importorskip("torchvision.transforms.functional")
    rgb = make_image("noise", width, height)
    ref = np.asarray(tvf.center_crop(image_mod.fromarray(rgb), [size]))
    ours = center_crop(rgb, size)
    assert ours.shape == ref.shape
    assert np.array_equal(ours, ref)
    assert np.array_equal(center_crop(rgb[:, :, 0], size), ref[:, :, 0])


def test_center_crop_offsets_round_half_to_even():
    col = np.arange(10, dtype=np.uint8)[None, :].repeat(2, axis=0)
    assert center_crop(col[:, :9], 2)[0].tolist() == [4, 5]  # (9 - 2) / 2 = 3.5 -> 4
    assert center_crop(col[:, :7], 2)[0].tolist() == [2, 3]  # (7 - 2) / 2 = 2.5 -> 2
    assert center_crop(col[:, :3], 2)[0].tolist() == [0, 1]  # 0.5 -> 0


# --------------------------------------------------------------------------- torch-free checks


# Pillow's output for this 8x5 (W x H) pattern resized to shorter side 3 (-> 4x3), pinned so
# the core behaviour is still checked where Pillow is not installed.
GOLDEN_SRC = (np.arange(5 * 8 * 3).reshape(5, 8, 3) * 7 % 256).astype(np.uint8)
GOLDEN_RESIZED = [
    [[83, 91, 102], [133, 127, 134], [113, 71, 78], [91, 102, 109]],
    [[120, 128, 106], [132, 132, 142], [148, 128, 139], [160, 169, 176]],
    [[149, 156, 112], [139, 147, 141], [108, 119, 61], [72, 79, 91]],
]


def test_golden_values():
    assert resize_shorter_bicubic(GOLDEN_SRC, 3).tolist() == GOLDEN_RESIZED


def test_golden_values_are_pillows():
    assert reference_resize(GOLDEN_SRC, 3).tolist() == GOLDEN_RESIZED


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1080, 1920), (333, 517), (100, 50)])
@pytest.mark.parametrize("image_size", [224, 32])
def test_cropped_fast_path_equals_full_resize_then_crop(width: int, height: int, image_size: int):
    """preprocess_image only resamples the crop; it must equal resizing everything first."""
    rgb = make_image("noise", width, height, seed=5)
    crop = center_crop(resize_shorter_bicubic(rgb, image_size), image_size)
    mean = np.asarray(OPENAI_MEAN, dtype=np.float32)[:, None, None]
    std = np.asarray(OPENAI_STD, dtype=np.float32)[:, None, None]
    expected = (crop.transpose(2, 0, 1).astype(np.float32) / np.float32(255) - mean) / std
    assert max_abs_diff(preprocess_image(rgb, image_size), expected) == 0


def test_non_contiguous_inputs():
    rgb = make_image("noise", 640, 480)
    flipped = np.ascontiguousarray(rgb[:, ::-1])
    assert np.array_equal(preprocess_image(rgb[:, ::-1], 224), preprocess_image(flipped, 224))
    region = rgb[10:400:2, 5:600]
    assert np.array_equal(
        resize_shorter_bicubic(region, 32), resize_shorter_bicubic(region.copy(), 32)
    )


def test_repeated_calls_are_stable():
    """Cached plans and tables must not be mutated by a call."""
    rgb = make_image("noise", 1280, 720)
    first = preprocess_image(rgb, 224)
    preprocess_image(make_image("checker", 1280, 720), 224)
    assert np.array_equal(preprocess_image(rgb, 224), first)


# --------------------------------------------------------------------------- conversions


def test_grayscale_matches_open_clip_on_mode_l():
    image_mod = pytest.importorskip("PIL.Image")
    gray = make_image("noise", 333, 517)[:, :, 1].copy()
    pil = image_mod.fromarray(gray)
    assert pil.mode == "L"
    ref = reference_tensor(pil, 224)
    assert max_abs_diff(preprocess_image(gray, 224), ref) <= TOLERANCE
    assert max_abs_diff(preprocess_image(gray[:, :, None], 224), ref) <= TOLERANCE
    resized = resize_shorter_bicubic(gray, 224)
    assert resized.shape[2] == 3
    ref_l = np.asarray(image_mod.fromarray(gray).resize(resized.shape[1::-1], image_mod.BICUBIC))
    for c in range(3):
        assert np.array_equal(resized[:, :, c], ref_l)


def test_opaque_rgba_matches_open_clip_on_mode_rgba():
    image_mod = pytest.importorskip("PIL.Image")
    rgba = np.dstack([make_image("blocks", 640, 480), np.full((480, 640), 255, np.uint8)])
    pil = image_mod.fromarray(rgba)
    assert pil.mode == "RGBA"
    ref = reference_tensor(pil, 224)
    assert max_abs_diff(preprocess_image(rgba, 224), ref) <= TOLERANCE


def test_translucent_rgba_drops_alpha_like_convert_rgb():
    image_mod = pytest.importorskip("PIL.Image")
    rgba = make_image("noise", 300, 225)
    rgba = np.dstack([rgba, make_image("gradient", 300, 225)[:, :, 0]])
    ref = reference_tensor(image_mod.fromarray(rgba).convert("RGB"), 224)
    assert max_abs_diff(preprocess_image(rgba, 224), ref) <= TOLERANCE


def test_bgr_to_rgb():
    rgb = make_image("noise", 64, 48)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    out = bgr_to_rgb(bgr)
    assert out.flags.c_contiguous and out.dtype == np.uint8
    assert np.array_equal(out, rgb)
    assert np.array_equal(bgr_to_rgb(bgr[:, ::2]), rgb[:, ::2])
    bgra = np.dstack([bgr, np.zeros((48, 64), np.uint8)])
    assert np.array_equal(bgr_to_rgb(bgra), rgb)
    gray = rgb[:, :, 0]
    assert np.array_equal(bgr_to_rgb(gray), np.dstack([gray] * 3))
    with pytest.raises(PreprocessError):
        bgr_to_rgb(rgb.astype(np.float32))


# --------------------------------------------------------------------------- batching


def test_preprocess_batch_mixed_sizes():
    images = [
        make_image("noise", 1280, 720),
        make_image("gradient", 333, 517),
        make_image("checker", 100, 50)[:, :, 0],
    ]
    batch = preprocess_batch(images, 224)
    assert batch.shape == (3, 3, 224, 224)
    assert batch.dtype == np.float32
    assert batch.flags.c_contiguous
    for i, img in enumerate(images):
        assert np.array_equal(batch[i], preprocess_image(img, 224))


def test_preprocess_batch_empty_and_error_index():
    assert preprocess_batch([], 32).shape == (0, 3, 32, 32)
    good = make_image("noise", 64, 48)
    with pytest.raises(PreprocessError, match=r"images\[1\]"):
        preprocess_batch([good, good.astype(np.float32)], 32)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((48, 64, 3), np.float32), "uint8"),
        (np.zeros((48, 64, 3), np.uint16), "uint8"),
        (np.zeros((48, 64, 3), bool), "uint8"),
        (np.zeros((48, 64, 2), np.uint8), "channels"),
        (np.zeros((48, 64, 5), np.uint8), "channels"),
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((0, 64), np.uint8), "empty"),
        (np.zeros((48, 0, 3), np.uint8), "empty"),
        (np.zeros((0,), np.uint8), "H x W"),
        (np.zeros((2, 48, 64, 3), np.uint8), "H x W"),
        ([[1, 2], [3, 4]], "numpy array"),
    ],
)
def test_bad_input_raises(bad: Any, message: str):
    for fn in (preprocess_image, resize_shorter_bicubic):
        with pytest.raises(PreprocessError, match=message):
            fn(bad, 32)


@pytest.mark.parametrize("size", [0, -1, 2.5, "224", True, None])
def test_bad_size_raises(size: Any):
    rgb = make_image("noise", 16, 16)
    with pytest.raises(PreprocessError, match="positive int"):
        preprocess_image(rgb, size)
    with pytest.raises(PreprocessError, match="positive int"):
        resize_shorter_bicubic(rgb, size)


def test_bad_mean_std_raise():
    rgb = make_image("noise", 16, 16)
    with pytest.raises(PreprocessError):
        preprocess_image(rgb, 8, mean=(0.5, 0.5))
    with pytest.raises(PreprocessError):
        preprocess_image(rgb, 8, std=(0.5, 0.0, 0.5))
    with pytest.raises(PreprocessError):
        preprocess_image(rgb, 8, mean="abc")


def test_preprocess_error_is_a_value_error():
    assert issubclass(PreprocessError, ValueError)
