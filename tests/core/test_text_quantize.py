"""The multilingual text tower's own int8 quantizer (core.model.text_quantize), on the shipped tiny
template filled with random weights: no torch, no download.

What the int8 graph must do: compute what the weights do (the numpy float64 reference, and the
fp32 graph of the same weights) within int8's error, in a smaller file that ONNX Runtime's CPU
provider loads, whatever the batch and its padding.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from core.model.assemble import AssembleError
from core.model.assemble_text import (
    INT8_THRESHOLD,
    assemble_text_tower,
    fill_text,
    int8_text,
    read_text_recipe,
    text_config,
    text_template_dir,
)
from core.model.text_quantize import (
    MATMUL_QMAX,
    TABLE_QMAX,
    int8_text_model,
    quantize_columns,
    quantize_rows,
)
from core.model.text_tower import TextTower, pad_batch
from core.model.xlmr_reference import XlmrConfig, encode_text

ARCH = "tiny"
SENTENCES = [
    "a dog catching a ball on the beach",
    "my daughter blowing out the candles on her birthday cake",
    "snow falling in the garden at night",
    "생일 케이크 촛불 끄는 딸",
    "바닷가에서 공 물어 오는 강아지",
    "Schnee im Garten",
    "夕焼けの海",
]


def random_weights(cfg: XlmrConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Every tensor the tower needs, at a trained model's rough scale (LayerNorm gains near 1)."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for key, shape in cfg.shapes().items():
        if key.endswith("LayerNorm.weight"):
            value = 1.0 + 0.1 * rng.standard_normal(shape)
        elif key.endswith("bias"):
            value = 0.05 * rng.standard_normal(shape)
        elif "embeddings" in key:
            value = 0.5 * rng.standard_normal(shape)
        else:
            value = rng.standard_normal(shape) / np.sqrt(shape[-1])
        out[key] = value.astype(np.float32)
    return out


def write_tokenizer(path: Path) -> Path:
    """A word-level tokenizer with XLM-R's specials (<s>=0 <pad>=1 </s>=2 <unk>=3)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for word in sorted({w for s in SENTENCES for w in s.split()}):
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.save(str(path))
    return path


@pytest.fixture(scope="module")
def cfg() -> XlmrConfig:
    return text_config(ARCH)


@pytest.fixture(scope="module")
def weights(cfg: XlmrConfig) -> dict[str, np.ndarray]:
    return random_weights(cfg)


@pytest.fixture(scope="module")
def graphs(weights, tmp_path_factory) -> tuple[Path, Path]:
    """(fp32 text.onnx, int8 text.onnx) of the same weights."""
    root = tmp_path_factory.mktemp("towers")
    fill_text(ARCH, weights, root / "fp32")
    (root / "int8").mkdir()
    (root / "int8" / "text.onnx").write_bytes(int8_text(ARCH, weights).SerializeToString())
    return root / "fp32" / "text.onnx", root / "int8" / "text.onnx"


def _session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _run(session: ort.InferenceSession, rows: list[list[int]], pad: int) -> np.ndarray:
    ids, mask = pad_batch(rows, pad)
    out: np.ndarray = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    return out


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    out: np.ndarray = (a * b).sum(-1)
    return out


def _rows(cfg: XlmrConfig, seed: int = 5) -> list[list[int]]:
    """Token rows of several lengths: <s> words </s>, ids across the whole vocabulary."""
    rng = np.random.default_rng(seed)
    lengths = (3, 9, 17, 5, 30, 12)
    return [[0, *rng.integers(4, cfg.vocab_size, n).tolist(), 2] for n in lengths]


def test_columns_and_rows_round_trip_within_half_a_step() -> None:
    rng = np.random.default_rng(1)
    w = rng.standard_normal((48, 40)).astype(np.float32)
    w[:, 3] = 0.0  # a column of zeros gets a usable scale, not a division by zero
    q, scale = quantize_columns(w)
    assert q.dtype == np.int8 and q.flags.c_contiguous and scale.shape == (40,)
    assert np.abs(q).max() <= MATMUL_QMAX and np.abs(q).max(axis=0)[0] == MATMUL_QMAX
    assert (q[:, 3] == 0).all() and np.isfinite(scale).all()
    assert np.all(np.abs(q * scale - w) <= scale / 2 + 1e-7)
    # a transposed view (as the exporter stores x @ W.T's W.T) gives the same as a copy
    q_t, scale_t = quantize_columns(w.T.copy().T)
    assert np.array_equal(q_t, q) and np.array_equal(scale_t, scale)
    table = rng.standard_normal((1001, 24)).astype(np.float32)
    qt, st = quantize_rows(table, chunk=100)  # chunks that do not divide the table
    assert qt.dtype == np.int8 and st.shape == (1001, 1)
    assert np.abs(qt).max() <= TABLE_QMAX and (np.abs(qt).max(axis=1) == TABLE_QMAX).all()
    assert np.all(np.abs(qt * st - table) <= st / 2 + 1e-7)


def test_the_int8_graph_computes_what_the_weights_do(cfg, weights, graphs) -> None:
    fp32, int8 = graphs
    rows = _rows(cfg)
    want = np.concatenate([encode_text(weights, cfg, *pad_batch([r], cfg.pad_id)) for r in rows])
    got32 = _run(_session(fp32), rows, cfg.pad_id)
    got8 = _run(_session(int8), rows, cfg.pad_id)
    assert _cosines(got32, want).min() >= 0.9999  # the yardstick is right
    assert _cosines(got8, want).min() >= INT8_THRESHOLD
    assert _cosines(got8, got32).min() >= INT8_THRESHOLD


def test_the_int8_graph_is_smaller_and_quantizes_every_linear_layer_but_the_last(
    cfg, graphs
) -> None:
    fp32, int8 = graphs
    assert int8.stat().st_size < 0.6 * fp32.stat().st_size
    model = onnx.load(str(int8))
    onnx.checker.check_model(model)
    ops = [n.op_type for n in model.graph.node]
    inits = {i.name: i for i in model.graph.initializer}
    assert ops.count("DynamicQuantizeMatMul") == 6 * cfg.layers
    assert not [n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    for node in model.graph.node:
        if node.op_type == "DynamicQuantizeMatMul":
            assert node.domain == "com.microsoft"
            weight, scale = inits[node.input[1]], inits[node.input[2]]
            assert weight.data_type == onnx.TensorProto.INT8
            assert list(scale.dims) == [weight.dims[1]]  # one scale per output column
            assert len(node.input) == 5 and node.input[3] == ""  # symmetric, bias folded in
    # 6 per layer: MatMul + Add each became one node
    assert (
        ops.count("Add")
        == [n.op_type for n in onnx.load(str(fp32)).graph.node].count("Add") - 6 * cfg.layers
    )
    table = [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.INT8]
    assert [cfg.vocab_size, cfg.width] in [list(i.dims) for i in table]
    assert not [i for i in model.graph.initializer if i.name.endswith("word_embeddings.weight")]
    assert "Gemm" in ops  # the final Linear stays fp32
    assert [o.name for o in model.graph.output] == ["embeddings"]
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask"]


def test_what_the_quantizer_did(cfg, weights) -> None:
    entries = read_text_recipe(ARCH)["files"]["text.onnx"]
    template = onnx.load(str(text_template_dir(ARCH) / "text.onnx"))
    _model, stats = int8_text_model(template, entries, weights)
    assert (stats.matmuls, stats.biases_folded, stats.tables) == (6 * cfg.layers,) * 2 + (1,)
    w, m, v = cfg.width, cfg.mlp_width, cfg.vocab_size
    assert stats.int8_bytes == cfg.layers * (4 * w * w + 2 * w * m) + v * w
    assert stats.fp32_bytes > 0  # LayerNorms, biases, positions, the final Linear
    with pytest.raises(AssembleError, match="the weights have no"):
        template = onnx.load(str(text_template_dir(ARCH) / "text.onnx"))
        missing = {k: a for k, a in weights.items() if "layer.1.output.dense.weight" not in k}
        int8_text_model(template, entries, missing)


def test_batch_and_padding_change_a_vector_by_no_more_than_int8_does(cfg, graphs) -> None:
    """ONNX Runtime quantizes activations per call (one range for the whole batch), so a batch's
    company moves a vector a little; never by more than int8 itself moves it."""
    _, int8 = graphs
    session = _session(int8)
    rows = _rows(cfg)
    alone = np.concatenate([_run(session, [r], cfg.pad_id) for r in rows])
    together = _run(session, rows, cfg.pad_id)
    assert _cosines(alone, together).min() >= 0.999
    # one row alone, then padded with 7 pad tokens the mask hides
    ids, mask = pad_batch([rows[0]], cfg.pad_id)
    padded_ids = np.pad(ids, ((0, 0), (0, 7)), constant_values=cfg.pad_id)
    padded_mask = np.pad(mask, ((0, 0), (0, 7)))
    padded = session.run(None, {"input_ids": padded_ids, "attention_mask": padded_mask})[0]
    assert _cosines(padded, alone[:1]).min() >= 0.999


def test_an_int8_install_from_the_template_loads_and_keeps_parity(weights, tmp_path) -> None:
    tokenizer = write_tokenizer(tmp_path / "tokenizer.json")
    steps: list[str] = []
    manifest = assemble_text_tower(
        lambda: weights, ARCH, tokenizer, tmp_path / "tower", precision="int8",
        name="Tiny", on_step=steps.append,
    )  # fmt: skip
    assert manifest.precision == "int8"
    assert manifest.parity["text_min_cosine"] >= INT8_THRESHOLD
    assert "Quantizing it to int8…" in steps and "Building the ONNX model…" not in steps
    files = sorted(p.name for p in (tmp_path / "tower").iterdir())
    assert files == ["text.onnx", "text_tower.json", "tokenizer.json"]
    tower = TextTower(tmp_path / "tower", force_cpu=True)
    assert tower.provider == "CPUExecutionProvider"
    got = tower.encode_texts(SENTENCES, normalize=False)
    cfg = text_config(ARCH)
    want = np.concatenate(
        [encode_text(weights, cfg, *pad_batch([tower.tokenize(s)], cfg.pad_id)) for s in SENTENCES]
    )
    assert _cosines(got, want).min() >= INT8_THRESHOLD
    recorded = json.loads((tmp_path / "tower" / "text_tower.json").read_text())
    assert recorded["precision"] == "int8"
