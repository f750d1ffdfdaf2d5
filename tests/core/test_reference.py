"""The numpy reference of CLIP's towers equals the exporter's PyTorch towers.

The exporter's ``CLIP4Clip.encode_frames`` / ``encode_text`` are what image.onnx and text.onnx
compute; the reference (core.model.reference, no torch) must give the same raw vectors from the
same weights, so that a bundle assembled without PyTorch can still record parity figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.model.archs import ARCH_NAMES, OPENAI_ARCHS
from core.model.reference import ClipConfig, ClipWeightsError, encode_image, encode_text
from core.model.tokenizer import ClipTokenizer

SENTENCES = (
    "a dog",
    "a red car drives past the old church at night",
    "🎂 birthday, candles & cake — the whole family sings while grandma cuts the first slice",
)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.asarray((a * b).sum(-1))


def _model(arch: str, seed: int = 0):  # -> CLIP4Clip (torch imported lazily, as elsewhere)
    import torch

    from export.model import build_model

    torch.manual_seed(seed)
    return build_model(arch, "meanP")


def _weights(model) -> dict[str, np.ndarray]:
    """open_clip's state dict of the towers, as numpy float32 (the names safetensors carries)."""
    return {k: v.detach().numpy().astype(np.float32) for k, v in model.clip.state_dict().items()}


def _inputs(image_size: int, count: int = 3) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.random.default_rng(11).normal(size=(count, 3, image_size, image_size))
    ids, _ = ClipTokenizer.pad(ClipTokenizer().tokenize_batch(list(SENTENCES)))
    return pixels.astype(np.float32), ids


def _torch_vectors(model, pixels: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import torch

    with torch.no_grad():
        image = model.encode_frames(torch.from_numpy(pixels)).numpy()
        text = model.encode_text(torch.from_numpy(ids)).numpy()
    return image, text


def _check_parity(arch: str) -> None:
    model = _model(arch)
    weights = _weights(model)
    cfg = ClipConfig.for_arch(arch)
    pixels, ids = _inputs(cfg.image_size)
    t_image, t_text = _torch_vectors(model, pixels, ids)
    r_image = encode_image(weights, cfg, pixels)
    r_text = encode_text(weights, cfg, ids)
    assert r_image.shape == t_image.shape == (3, cfg.embed_dim)
    assert r_text.shape == t_text.shape == (3, cfg.embed_dim)
    assert _cos(r_image, t_image).min() >= 0.99999
    assert _cos(r_text, t_text).min() >= 0.99999
    # raw, not normalised: every component agrees, to float32's rounding through the layers
    for ours, theirs in ((r_image, t_image), (r_text, t_text)):
        scale = np.linalg.norm(theirs, axis=-1, keepdims=True)
        assert (np.abs(ours - theirs) / scale).max() <= 1e-5


def test_tiny_reference_matches_pytorch() -> None:
    _check_parity("tiny")


def test_small_reference_matches_pytorch() -> None:
    _check_parity("small")


@pytest.mark.slow  # a full-size ViT-B/32, random weights (about 10 s on 2 cores)
def test_vit_b32_reference_matches_pytorch() -> None:
    _check_parity("ViT-B-32")


def test_text_is_the_same_at_true_length_and_padded_to_context() -> None:
    model = _model("tiny", seed=3)
    weights = _weights(model)
    cfg = ClipConfig.for_arch("tiny")
    tok = ClipTokenizer()
    short, _ = ClipTokenizer.pad(tok.tokenize_batch(list(SENTENCES)))
    padded, _ = ClipTokenizer.pad(tok.tokenize_batch(list(SENTENCES)), length=77)
    assert short.shape[1] < 77
    np.testing.assert_allclose(
        encode_text(weights, cfg, short), encode_text(weights, cfg, padded), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("arch", ["tiny", "small", "ViT-B-32"])
def test_infer_reads_the_architecture_from_the_weights(arch: str) -> None:
    weights = _weights(_model(arch))
    assert ClipConfig.infer(weights) == ClipConfig.for_arch(arch)


def test_infer_assumes_64_wide_heads_for_an_unknown_architecture() -> None:
    weights = _weights(_model("tiny"))
    # drop the last text layer: no registered architecture has these numbers
    weights = {k: v for k, v in weights.items() if not k.startswith("transformer.resblocks.3.")}
    cfg = ClipConfig.infer(weights)
    assert cfg.text_layers == 3 and cfg.vision_layers == 2
    assert (cfg.text_heads, cfg.vision_heads) == (1, 1)  # widths 8 and 16: one 64-wide head at most


def test_infer_names_a_missing_weight() -> None:
    weights = _weights(_model("tiny"))
    del weights["visual.conv1.weight"]
    with pytest.raises(ClipWeightsError, match=r"visual\.conv1\.weight"):
        ClipConfig.infer(weights)


def test_wrong_inputs_are_refused_in_words() -> None:
    weights = _weights(_model("tiny"))
    cfg = ClipConfig.for_arch("tiny")
    with pytest.raises(ClipWeightsError, match="pixels"):
        encode_image(weights, cfg, np.zeros((1, 3, 64, 64), np.float32))
    with pytest.raises(ClipWeightsError, match="context"):
        encode_text(weights, cfg, np.full((1, 78), 49407, np.int64))
    with pytest.raises(ClipWeightsError, match=r"visual\.proj"):
        encode_image(
            {k: v for k, v in weights.items() if k != "visual.proj"},
            cfg,
            np.zeros((1, 3, 32, 32), np.float32),
        )
    with pytest.raises(ClipWeightsError, match="shape"):
        encode_image(weights, ClipConfig.for_arch("small"), np.zeros((1, 3, 64, 64), np.float32))


def test_every_arch_has_numbers_and_they_are_the_exporters() -> None:
    import open_clip

    from export.architectures import ARCH_NAMES as EXPORT_ARCH_NAMES
    from export.architectures import arch_config

    assert tuple(ARCH_NAMES) == tuple(EXPORT_ARCH_NAMES)
    for name in ARCH_NAMES:
        assert ClipConfig.for_arch(name) == ClipConfig.from_open_clip(arch_config(name))
    for name, numbers in OPENAI_ARCHS.items():  # core's copy of open_clip's JSON cannot drift
        assert numbers == open_clip.get_model_config(name)
    with pytest.raises(ClipWeightsError, match="unknown architecture"):
        ClipConfig.for_arch("ViT-L-14")


def test_reference_runs_without_torch(tmp_path: Path) -> None:
    weights = _weights(_model("tiny"))
    np.savez(tmp_path / "tiny.npz", **weights)
    code = f"""
import sys
sys.modules['torch'] = None  # any 'import torch' now raises ImportError
sys.modules['open_clip'] = None
import numpy as np
from core.model.reference import ClipConfig, encode_image, encode_text
w = dict(np.load({str(tmp_path / "tiny.npz")!r}))
cfg = ClipConfig.infer(w)
img = encode_image(w, cfg, np.zeros((2, 3, 32, 32), np.float32))
txt = encode_text(w, cfg, np.array([[49406, 320, 49407]]))
print(img.shape, txt.shape, img.dtype)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(2, 8) (1, 8) float64"
