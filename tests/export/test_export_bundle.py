"""Conversion: PyTorch CLIP4Clip -> bundle, checked through the torch-free runtime."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.model.bundle import load_bundle
from core.model.encoder import Encoder
from export.errors import ExportError

pytestmark = pytest.mark.slow  # exports ONNX models through torch


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


def _reference_vectors(model, encoder: Encoder):
    """(runtime, torch) pairs for images, texts and segments, computed independently."""
    rng = np.random.default_rng(7)
    images = [rng.integers(0, 256, (90 + 13 * i, 120, 3), dtype=np.uint8) for i in range(5)]
    texts = ["a red circle", "then a blue square moves left", "🎂 birthday, candles & cake"]
    pixels = encoder.preprocess(images)
    with torch.no_grad():
        t_img = model.encode_frames(torch.from_numpy(pixels)).numpy()
        t_txt = torch.cat(
            [model.encode_text(torch.tensor([encoder.tokenizer.tokenize(t)])) for t in texts]
        ).numpy()
        frames = torch.from_numpy(t_img)[None].repeat(2, 1, 1)
        mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=torch.float32)
        t_seg = model.pool(frames, mask).numpy()
    r_img = encoder.encode_images(images, normalize=False)
    r_txt = encoder.encode_texts(texts, normalize=False)
    r_seg = encoder.pool_frames(frames.numpy(), mask.numpy())
    return (r_img, t_img), (r_txt, t_txt), (r_seg, t_seg)


def test_tiny_seqtransf_bundle_matches_pytorch(tiny_seqtransf) -> None:
    model, path = tiny_seqtransf
    bundle = load_bundle(path)
    m = bundle.manifest
    assert (m.head, m.precision, m.arch, m.embed_dim, m.image_size) == (
        "seqTransf",
        "fp32",
        "tiny",
        8,
        32,
    )
    assert m.parity["image_min_cosine"] >= 0.9999
    encoder = Encoder(bundle, force_cpu=True)
    for runtime, reference in _reference_vectors(model, encoder):
        assert _cos(runtime, reference).min() >= 0.9999


@pytest.fixture(scope="module")
def tiny_meanp(tmp_path_factory):
    """A tiny meanP bundle (seed 5), converted once for the tests of this module that need one
    (each conversion costs ~25 s of the suite)."""
    from tests.conftest import _convert_tiny

    return _convert_tiny(tmp_path_factory.mktemp("meanP") / "meanP", "meanP", seed=5)


def test_segment_vectors_depend_on_frame_order_for_seqtransf_only(
    tiny_seqtransf, tiny_meanp
) -> None:
    _, path = tiny_seqtransf
    frames = np.random.default_rng(3).normal(size=(6, 8)).astype(np.float32)
    seq = Encoder(path, force_cpu=True)
    # Untrained, the order signal is small (positions start from CLIP's text positions) but real.
    assert np.abs(seq.pool_frames(frames) - seq.pool_frames(frames[::-1])).max() > 1e-3
    mean = Encoder(tiny_meanp[1].bundle, force_cpu=True)
    assert np.abs(mean.pool_frames(frames) - mean.pool_frames(frames[::-1])).max() < 1e-5


@pytest.mark.parametrize("head", ["meanP", "seqLSTM"])
def test_other_heads_convert_and_match(head, convert_tiny, tiny_meanp, tmp_path) -> None:
    model, result = tiny_meanp if head == "meanP" else convert_tiny(tmp_path / head, head, seed=5)
    encoder = Encoder(result.bundle, force_cpu=True)
    assert encoder.manifest.head == head
    for runtime, reference in _reference_vectors(model, encoder):
        assert _cos(runtime, reference).min() >= 0.9999


def test_fp16_bundle_meets_its_threshold(convert_tiny, tmp_path) -> None:
    model, result = convert_tiny(tmp_path / "half", "seqTransf", fp16=True, seed=2)
    encoder = Encoder(result.bundle, force_cpu=True)
    assert encoder.manifest.precision == "fp16"
    # Weights really are stored in half precision: the file is about half the fp32 size.
    import onnx

    graph = onnx.load(str(result.bundle / "text.onnx")).graph
    dtypes = {init.data_type for init in graph.initializer if len(init.dims) >= 2}
    assert onnx.TensorProto.FLOAT16 in dtypes
    for runtime, reference in _reference_vectors(model, encoder):
        assert _cos(runtime, reference).min() >= 0.999


def test_int8_bundle_quantizes_the_image_tower_and_has_its_own_library(
    convert_tiny, tmp_path
) -> None:
    from dataclasses import replace

    from core.model.bundle import vector_identity

    model, result = convert_tiny(tmp_path / "int8", "meanP", int8=True, seed=3, arch="small")
    encoder = Encoder(result.bundle, force_cpu=True)
    assert encoder.manifest.precision == "int8"
    import onnx

    image = onnx.load(str(result.bundle / "image.onnx")).graph
    assert {init.data_type for init in image.initializer} & {onnx.TensorProto.INT8}
    text = onnx.load(str(result.bundle / "text.onnx")).graph
    assert onnx.TensorProto.INT8 not in {init.data_type for init in text.initializer}
    parity = encoder.manifest.parity
    assert parity["image_min_cosine"] >= parity["image_threshold"] == 0.999
    assert parity["text_min_cosine"] >= parity["threshold"] == 0.9999
    # int8 weights: under half of what the tower's float32 weights alone take (a second, fp32
    # conversion to compare with cost this test 30 s of the suite)
    fp32_bytes = 4 * sum(p.numel() for p in model.clip.visual.parameters())
    assert (result.bundle / "image.onnx").stat().st_size < 0.5 * fp32_bytes
    as_fp32 = replace(encoder.manifest, precision="fp32")
    assert vector_identity(encoder.manifest) != vector_identity(as_fp32)  # never one library


def test_tightTransf_is_refused_for_bundles(tmp_path) -> None:
    from export.convert import convert
    from export.model import build_model

    with pytest.raises(ExportError, match="re-rank"):
        convert(build_model("tiny", "tightTransf"), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_failed_parity_leaves_previous_bundle_untouched(
    tiny_seqtransf, monkeypatch, tmp_path
) -> None:
    """A conversion that fails verification must not replace a working bundle."""
    import shutil

    from export import convert as convert_module
    from export.model import build_model

    _, good = tiny_seqtransf
    target = tmp_path / "bundle"
    shutil.copytree(good, target)
    before = (target / "manifest.json").read_text()

    def broken(*args, **kwargs):
        raise ExportError("parity check FAILED (simulated)")

    monkeypatch.setattr(convert_module, "check_parity", broken)
    with pytest.raises(ExportError, match="FAILED"):
        convert_module.convert(build_model("tiny", "meanP"), target)
    assert (target / "manifest.json").read_text() == before
    assert load_bundle(target).manifest.head == "seqTransf"
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # no scratch left behind


def test_manifest_lists_checksums_of_every_file(tiny_seqtransf) -> None:
    _, path = tiny_seqtransf
    data = json.loads((path / "manifest.json").read_text())
    assert set(data["files"]) == {
        "image.onnx",
        "text.onnx",
        "head.onnx",
        "tokenizer/bpe_simple_vocab_16e6.txt.gz",
    }
    for entry in data["files"].values():
        assert len(entry["sha256"]) == 64 and entry["bytes"] > 0
    assert data["context_length"] == 77 and data["max_frames"] == 12
