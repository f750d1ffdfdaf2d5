"""M-CLIP's multilingual text tower (XLM-R -> masked mean -> Linear), exported to ONNX.

A tiny random XLM-R stands in for XLM-Roberta-Large: the same code, the same graph, seconds to
export. ONNX Runtime must give PyTorch's vectors, whatever the batch and whatever the padding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

pytest.importorskip("transformers")
import torch

from export.multilingual import (
    ARCHS,
    BOS_ID,
    EOS_ID,
    PAD_ID,
    MultilingualTextTower,
    build_text_tower,
    export_text_tower,
)

pytestmark = pytest.mark.slow  # exports ONNX models through torch

VOCAB = ARCHS["tiny"].vocab_size
DIM = ARCHS["tiny"].embed_dim


def _sentences(lengths: list[int], seed: int = 0) -> list[list[int]]:
    """Token ids as the tokenizer gives them: <s> ids </s>, ``length`` ids in all."""
    rng = np.random.default_rng(seed)
    return [[BOS_ID, *rng.integers(3, VOCAB, n - 2).tolist(), EOS_ID] for n in lengths]


def _batch(sentences: list[list[int]], width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded with <pad> to ``width`` (default: the longest), mask 0 on the padding."""
    width = width or max(map(len, sentences))
    ids = np.full((len(sentences), width), PAD_ID, np.int64)
    mask = np.zeros((len(sentences), width), np.int64)
    for row, s in enumerate(sentences):
        ids[row, : len(s)] = s
        mask[row, : len(s)] = 1
    return ids, mask


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


@pytest.fixture(scope="module")
def tower(tmp_path_factory: pytest.TempPathFactory) -> tuple[MultilingualTextTower, Path]:
    model = build_text_tower("tiny", seed=3)
    path = tmp_path_factory.mktemp("mclip") / "text.onnx"
    written = export_text_tower(model, path)
    assert written == [path]
    return model, path


@pytest.fixture(scope="module")
def session(tower: tuple[MultilingualTextTower, Path]) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(tower[1]), options, providers=["CPUExecutionProvider"])


def _run(session: ort.InferenceSession, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    (out,) = session.run(["embeddings"], {"input_ids": ids, "attention_mask": mask})
    return np.asarray(out)


def _torch(model: MultilingualTextTower, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()


def test_graph_interface(tower: tuple[MultilingualTextTower, Path]) -> None:
    model = onnx.load(str(tower[1]))
    inputs = {i.name: i.type.tensor_type for i in model.graph.input}
    assert list(inputs) == ["input_ids", "attention_mask"]
    for t in inputs.values():
        assert t.elem_type == onnx.TensorProto.INT64
        # both dimensions symbolic: no batch size or token length baked in
        assert [d.HasField("dim_param") for d in t.shape.dim] == [True, True]
    (out,) = model.graph.output
    assert out.name == "embeddings"
    assert out.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = out.type.tensor_type.shape.dim
    assert dims[0].HasField("dim_param") and dims[1].dim_value == DIM
    assert model.opset_import[0].version == 18


def test_no_debug_metadata_or_source_paths(tower: tuple[MultilingualTextTower, Path]) -> None:
    model = onnx.load(str(tower[1]))
    assert all(len(node.metadata_props) == 0 for node in model.graph.node)
    data = tower[1].read_bytes()
    assert str(Path(__file__).resolve().parents[2]).encode() not in data
    assert b"site-packages" not in data


def test_matches_pytorch(
    tower: tuple[MultilingualTextTower, Path], session: ort.InferenceSession
) -> None:
    ids, mask = _batch(_sentences([7, 12, 3, 20, 9]))  # padding in every row but one
    assert (mask == 0).any()
    ours, ref = _run(session, ids, mask), _torch(tower[0], ids, mask)
    assert ours.shape == (5, DIM) and ours.dtype == np.float32
    assert _cos(ours, ref).min() >= 0.9999
    np.testing.assert_allclose(ours, ref, atol=1e-4, rtol=1e-3)
    # raw vectors, like CLIP's text.onnx: not normalised
    assert not np.allclose(np.linalg.norm(ours, axis=-1), 1.0)


def test_batch_invariance(session: ort.InferenceSession) -> None:
    sentences = _sentences([6, 15, 4, 11], seed=1)
    together = _run(session, *_batch(sentences))
    for row, sentence in enumerate(sentences):
        alone = _run(session, *_batch([sentence]))[0]
        np.testing.assert_allclose(alone, together[row], atol=1e-5, rtol=0)


def test_padding_invariance(session: ort.InferenceSession) -> None:
    sentences = _sentences([5, 9], seed=2)
    tight = _run(session, *_batch(sentences))
    for width in (12, 33, 77):
        padded = _run(session, *_batch(sentences, width))
        np.testing.assert_allclose(padded, tight, atol=1e-5, rtol=0)


def test_mean_pooling_not_cls(tower: tuple[MultilingualTextTower, Path]) -> None:
    """The vector is the Linear of the masked mean of the last hidden state (M-CLIP's forward)."""
    model = tower[0]
    ids, mask = _batch(_sentences([4, 10], seed=4))
    t_ids, t_mask = torch.from_numpy(ids), torch.from_numpy(mask)
    with torch.no_grad():
        hidden = model.transformer(input_ids=t_ids, attention_mask=t_mask)[0]
        att = t_mask.float()
        mean = (hidden * att[..., None]).sum(1) / att.sum(-1)[..., None]
        expected = model.LinearTransformation(mean).numpy()
    np.testing.assert_allclose(_torch(model, ids, mask), expected, atol=1e-6)


@pytest.mark.parametrize("length", [2, 5, 40, 128])
def test_dynamic_token_length(
    tower: tuple[MultilingualTextTower, Path], session: ort.InferenceSession, length: int
) -> None:
    ids, mask = _batch(_sentences([length, length, max(2, length // 2)], seed=length))
    assert ids.shape == (3, length)
    ours, ref = _run(session, ids, mask), _torch(tower[0], ids, mask)
    assert ours.shape == (3, DIM)
    assert _cos(ours, ref).min() >= 0.9999


def test_external_data_in_one_file(tmp_path: Path) -> None:
    """Forced external data (what the 2 GB full-size tower gets): one ``text.onnx.data`` beside
    the graph, nothing else left in the folder, and the same vectors."""
    model = build_text_tower("tiny", seed=5)
    path = tmp_path / "text.onnx"
    data = tmp_path / "text.onnx.data"
    data.write_bytes(b"stale")  # a previous export's data is replaced, not appended to
    written = export_text_tower(model, path, external_data=True)
    assert written == [path, data]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text.onnx", "text.onnx.data"]
    proto = onnx.load(str(path), load_external_data=False)
    locations = {
        entry.value
        for init in proto.graph.initializer
        for entry in init.external_data
        if entry.key == "location"
    }
    assert locations == {"text.onnx.data"}
    assert path.stat().st_size < data.stat().st_size
    assert data.stat().st_mode & 0o777 == path.stat().st_mode & 0o777  # not onnx's 0600
    ids, mask = _batch(_sentences([8, 3], seed=6))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert _cos(_run(session, ids, mask), _torch(model, ids, mask)).min() >= 0.9999


def test_renaming_the_output_moves_a_clashing_value_aside() -> None:
    """An internal value already called ``embeddings`` is renamed, not merged with the output."""
    from onnx import helper

    from export.multilingual import _rename_output

    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])
    out = helper.make_tensor_value_info("text_embeddings", onnx.TensorProto.FLOAT, [2])
    graph = helper.make_graph(
        [
            helper.make_node("Relu", ["x"], ["embeddings"]),
            helper.make_node("Neg", ["embeddings"], ["text_embeddings"]),
        ],
        "g",
        [x],
        [out],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    _rename_output(model, "text_embeddings", "embeddings")
    onnx.checker.check_model(model)
    relu, neg = model.graph.node
    assert relu.output[0] == neg.input[0] == "embeddings_0"
    assert neg.output[0] == model.graph.output[0].name == "embeddings"
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(["embeddings"], {"x": np.array([-1.0, 2.0], np.float32)})
    np.testing.assert_array_equal(y, [0.0, -2.0])
