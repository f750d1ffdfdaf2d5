"""The bundle made without PyTorch (core.model.assemble: the exporter's templates filled by name)
is the bundle ``clipseek-export convert`` makes from the same weights: the same files byte for
byte, so the same vector identity, and the same vectors (issue 24)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.model.assemble import AssembleError, assemble, template_archs
from core.model.bundle import vector_identity
from core.model.encoder import Encoder
from export.convert import convert
from export.model import build_model
from export.templates import distinct_parameters


def _weights(model) -> dict[str, np.ndarray]:
    return {
        k.removeprefix("clip."): v.detach().numpy()
        for k, v in model.state_dict().items()
        if k.startswith("clip.")
    }


def _same_bundle(arch: str, tmp_path: Path, precision: str = "fp32") -> None:
    torch.manual_seed(11)
    model = build_model(arch, head="meanP")
    distinct_parameters(model, seed=5)  # weights unlike the template's own
    made = assemble(_weights(model), arch, tmp_path / "assembled", precision=precision)
    converted = convert(model, tmp_path / "converted", int8=precision == "int8").manifest
    for name in ("image.onnx", "text.onnx", "head.onnx"):
        assert made.files[name].sha256 == converted.files[name].sha256, name
    assert vector_identity(made) == vector_identity(converted)
    assert set(made.parity) == set(converted.parity)
    a = Encoder(tmp_path / "assembled", force_cpu=True)
    b = Encoder(tmp_path / "converted", force_cpu=True)
    pixels = np.random.default_rng(1).normal(
        size=(3, 3, a.manifest.image_size, a.manifest.image_size)
    )
    pixels = pixels.astype(np.float32)
    for x, y in zip(a.encode_pixels(pixels), b.encode_pixels(pixels), strict=True):
        assert float(np.dot(x, y)) >= 0.99999
    for text in ("a dog catching a ball on the beach", "생일 케이크", "x"):
        assert float(np.dot(a.encode_text(text), b.encode_text(text))) >= 0.99999


def test_templates_ship_for_the_tiny_and_the_real_architecture() -> None:
    assert {"tiny", "ViT-B-32"} <= set(template_archs())


def test_the_tiny_bundle_equals_the_converters(tmp_path) -> None:
    _same_bundle("tiny", tmp_path)


def test_the_int8_tiny_bundle_equals_the_converters(tmp_path) -> None:
    _same_bundle("tiny", tmp_path, "int8")


@pytest.mark.slow
def test_the_vit_b32_bundle_equals_the_converters(tmp_path) -> None:
    """Random weights of OpenAI ViT-B/32's real shapes (600 MB of float32)."""
    _same_bundle("ViT-B-32", tmp_path)


def test_weights_of_another_architecture_are_refused_in_one_line(tmp_path) -> None:
    weights = _weights(build_model("tiny", head="meanP"))
    with pytest.raises(AssembleError, match=r"visual\.\S+ is \[.*\]; this architecture needs"):
        assemble(weights, "ViT-B-32", tmp_path / "b32")
    del weights["visual.proj"]
    with pytest.raises(AssembleError, match=r"no visual\.proj"):
        assemble(weights, "tiny", tmp_path / "tiny")
    assert not list(tmp_path.iterdir())  # nothing half-made left


def test_half_precision_weights_give_the_converters_bundle(tmp_path) -> None:
    """Some public files are float16 or bfloat16: the assembler widens them to float32 exactly,
    as load_state_dict does when the converter loads them into its float32 model."""
    torch.manual_seed(11)
    model = build_model("tiny", head="meanP")
    distinct_parameters(model, seed=5)
    for dtype in (torch.float16, torch.bfloat16):
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(dtype).float())  # what the converter's model holds after loading
        half = {
            k.removeprefix("clip."): (v.to(dtype).view(torch.int16) if dtype == torch.bfloat16
                                      else v.to(dtype)).numpy()
            for k, v in model.state_dict().items()
            if k.startswith("clip.")
        }  # fmt: skip
        if dtype == torch.bfloat16:  # what core.model.weights returns for bfloat16: float32
            half = {k: (v.astype(np.uint32) << 16).view(np.float32) if v.dtype == np.int16
                    else v for k, v in half.items()}  # fmt: skip
        else:
            assert half["visual.proj"].dtype == np.float16
        name = str(dtype).removeprefix("torch.")
        made = assemble(half, "tiny", tmp_path / f"assembled-{name}")
        converted = convert(model, tmp_path / f"converted-{name}").manifest
        for file in ("image.onnx", "text.onnx", "head.onnx"):
            assert made.files[file].sha256 == converted.files[file].sha256, (name, file)


def test_weights_that_hold_nan_fail_parity(tmp_path) -> None:
    weights = _weights(build_model("tiny", head="meanP"))
    weights["visual.proj"] = weights["visual.proj"].copy()
    weights["visual.proj"][0, 0] = np.nan
    with pytest.raises(AssembleError, match="does not compute what the weights do"):
        assemble(weights, "tiny", tmp_path / "tiny")
    assert not list(tmp_path.iterdir())


def test_exported_graphs_carry_no_source_paths(tmp_path) -> None:
    """torch.onnx wrote each node's Python stack (absolute paths of our code and open_clip's)
    into the graph: the same weights gave other bytes in another checkout (found when CI, in a
    fresh clone, failed the equality tests above)."""
    import onnx

    from core.model.assemble import TEMPLATES
    from export.onnx_export import export_towers

    exported = export_towers(build_model("tiny", head="meanP"), tmp_path)
    shipped = sorted(TEMPLATES.glob("*/*.onnx"))
    assert shipped
    for path in [*exported.values(), *shipped]:
        data = path.read_bytes()
        assert b'.py", line' not in data and b"site-packages" not in data, path
        graph = onnx.load(str(path))
        assert not any(node.metadata_props for node in graph.graph.node), path
