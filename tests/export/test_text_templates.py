"""M-CLIP's text tower made without PyTorch (core.model.assemble_text: the shipped template filled
by name) is the graph ``export_text_tower`` writes from the same weights, byte for byte; and the
shipped templates are what ``clipseek-export template --multilingual`` makes today."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("transformers")
import torch

from core.model.assemble_text import fill_text, text_template_dir
from export.multilingual import build_text_tower, export_text_tower
from export.templates import distinct_parameters, make_multilingual_template

pytestmark = pytest.mark.slow  # exports ONNX models through torch


def test_the_filled_template_is_the_exporters_graph(tmp_path) -> None:
    model = build_text_tower("tiny", seed=11)
    distinct_parameters(model, seed=5)  # weights unlike the template's own
    exported = export_text_tower(model, tmp_path / "exported" / "text.onnx")
    weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    filled = fill_text("tiny", weights, tmp_path / "filled")
    assert filled[0].read_bytes() == exported[0].read_bytes()
    import onnxruntime as ort

    ids = np.array([[0, 5, 17, 2, 1], [0, 7, 9, 11, 2]], np.int64)
    mask = (ids != 1).astype(np.int64)
    session = ort.InferenceSession(str(filled[0]), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    with torch.no_grad():
        expected = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_the_shipped_tiny_template_is_current(tmp_path) -> None:
    """If the exporter's graph changes, the templates must be made again (both: tiny and full)."""
    recipe = make_multilingual_template("tiny", tmp_path)
    shipped = text_template_dir("tiny")
    assert json.loads((shipped / "recipe.json").read_text()) == recipe
    assert (tmp_path / "text.onnx").read_bytes() == (shipped / "text.onnx").read_bytes()
