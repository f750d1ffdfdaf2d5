"""The int8 multilingual text tower, written straight from the weights, one tensor at a time.

ONNX Runtime's ``quantize_dynamic`` needs the whole fp32 graph in memory, several times over: on
M-CLIP's XLM-R Large (2.24 GB of weights) it peaked at 13.2 GB. This quantizer never makes the fp32
graph at all: it takes the exporter's template (:mod:`core.model.assemble_text`) and the
state dict, and quantizes each weight as it puts it in, so memory holds the weights as read (the
reader maps the file) plus the int8 graph (~0.6 GB) and one tensor's scratch.

What changes in the graph:

* **Linear layers**: ``MatMul(X, W)`` on a weight of the recipe (the exporter stores
  ``x @ W.T``'s ``W.T``, [in, out]), with the ``Add`` of its bias initializer after it, becomes
  one ``com.microsoft.DynamicQuantizeMatMul(X, W_q, scale, "", bias)``: ONNX Runtime quantizes
  ``X`` to uint8 on the fly (per tensor, per call), ``W_q`` is int8, symmetric (zero point 0) with
  one scale per output column. The weights use 7 bits (``[-64, 64]``, ONNX Runtime's
  ``reduce_range``): on CPUs without VNNI, AVX2's u8 x s8 pair sums saturate 16 bits with 8-bit
  weights (see :mod:`core.model.quantize`). The final ``Gemm`` (``LinearTransformation``, 0.5 M
  weights, one row per query) stays fp32.
* **Word table** (``Gather`` on 250,002 x 1024 floats, 1 GB): int8 per row, symmetric, with one
  float scale per row; the graph gathers the int8 rows and their scales and multiplies
  (``Gather``, ``Cast``, ``Gather``, ``Mul``): the same floats, a quarter of the bytes. A ``Gather``
  reads no 16-bit sums, so the rows keep all 8 bits (``[-127, 127]``).
* Everything else (LayerNorm, biases, position and token-type tables, the final Linear) stays
  fp32 as the exporter wrote it.

The file is one ``text.onnx`` (the full tower: ~0.57 GB), inputs and outputs as the fp32 graph's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper

from core.model.assemble import AssembleError

MS_DOMAIN = "com.microsoft"
#: Weights of a ``DynamicQuantizeMatMul``: symmetric, 7 bits (``reduce_range``).
MATMUL_QMAX = 64
#: Rows of the word table: symmetric, 8 bits.
TABLE_QMAX = 127
#: Rows of the word table quantized at once (64 MB of float32 scratch at width 1024).
TABLE_CHUNK_ROWS = 16384
#: The word table's key in M-CLIP's state dict.
WORD_TABLE_SUFFIX = "word_embeddings.weight"


@dataclass
class Int8Stats:
    """What the quantizer did (for the log, the benchmark and the tests)."""

    matmuls: int = 0
    biases_folded: int = 0
    tables: int = 0
    int8_bytes: int = 0
    fp32_bytes: int = 0


def graph_array(value: np.ndarray, how: str, dims: Sequence[int], key: str) -> np.ndarray:
    """The state-dict tensor as the graph stores it (float32; a view where it can be):
    ``same``, ``T`` (transposed) or ``reshape``, checked against the initializer's ``dims``."""
    array = np.asarray(value, dtype=np.float32)
    if how == "T":
        array = array.T
    shape = tuple(int(d) for d in dims)
    if how == "reshape":
        if array.size != math.prod(shape):
            raise AssembleError(f"{key} has {array.size} values, the graph needs {list(shape)}")
        return array.reshape(shape)
    if array.shape != shape:
        raise AssembleError(f"{key} is {list(value.shape)}; the graph needs {list(shape)}")
    return array


def quantize_columns(weight: np.ndarray, qmax: int = MATMUL_QMAX) -> tuple[np.ndarray, np.ndarray]:
    """A [K, N] float matrix as int8 [K, N] (C order) and one float32 scale per column [N]:
    symmetric, ``w ≈ q * scale`` with ``|q| <= qmax``."""
    absmax = np.max(np.abs(weight), axis=0).astype(np.float32)
    scale = np.where(absmax > 0, absmax / np.float32(qmax), np.float32(1.0)).astype(np.float32)
    q = np.clip(np.rint(weight / scale), -qmax, qmax).astype(np.int8)
    return np.ascontiguousarray(q), scale


def quantize_rows(
    table: np.ndarray, qmax: int = TABLE_QMAX, chunk: int = TABLE_CHUNK_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """A [V, D] float table as int8 [V, D] and one float32 scale per row [V, 1], ``chunk`` rows
    at a time (never a float copy of the whole table)."""
    rows = table.shape[0]
    q = np.empty(table.shape, dtype=np.int8)
    scale = np.empty((rows, 1), dtype=np.float32)
    for start in range(0, rows, chunk):
        part = np.asarray(table[start : start + chunk], dtype=np.float32)
        absmax = np.max(np.abs(part), axis=1, keepdims=True)
        s = np.where(absmax > 0, absmax / np.float32(qmax), np.float32(1.0)).astype(np.float32)
        q[start : start + chunk] = np.clip(np.rint(part / s), -qmax, qmax)
        scale[start : start + chunk] = s
        del part, absmax, s
    return q, scale


def _raw(init: TensorProto, array: np.ndarray, stats: Int8Stats) -> None:
    init.raw_data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    if array.dtype == np.int8:
        stats.int8_bytes += array.nbytes
    else:
        stats.fp32_bytes += array.nbytes


def _add_tensor(graph: onnx.GraphProto, name: str, array: np.ndarray, stats: Int8Stats) -> None:
    """A new initializer, made in place (appending a finished one would copy its bytes)."""
    init = graph.initializer.add()
    init.name = name
    init.data_type = TensorProto.INT8 if array.dtype == np.int8 else TensorProto.FLOAT
    init.dims.extend(array.shape)
    _raw(init, array, stats)


def _fresh(name: str, taken: set[str]) -> str:
    out, n = name, 0
    while out in taken:
        n += 1
        out = f"{name}_{n}"
    taken.add(out)
    return out


def int8_text_model(
    model: onnx.ModelProto,
    entries: Mapping[str, Sequence[str]],
    weights: Mapping[str, np.ndarray],
) -> tuple[onnx.ModelProto, Int8Stats]:
    """The template ``model`` (its recipe initializers empty) filled from ``weights`` by
    ``entries`` (initializer name -> [state-dict key, how]) and quantized, in place: the
    MatMul weights and the word table int8, everything else fp32. Returns it and what it did."""
    graph = model.graph
    stats = Int8Stats()
    inits = {init.name: init for init in graph.initializer}
    for name in entries:
        if name not in inits:
            raise AssembleError(f"the template has no initializer {name} its recipe names")
    for key, *_how in entries.values():
        if key not in weights:
            raise AssembleError(f"the weights have no {key}: not M-CLIP's XLM-R text tower")
    old_nodes = list(graph.node)
    consumers: dict[str, list[int]] = {}  # value -> positions of the nodes that read it
    for pos, node in enumerate(old_nodes):
        for i in node.input:
            consumers.setdefault(i, []).append(pos)
    outputs = {o.name for o in graph.output}
    taken = {init.name for init in graph.initializer} | {v.name for v in graph.input}
    for node in old_nodes:
        taken.update(node.output)

    def weight(name: str) -> np.ndarray:
        key, how = entries[name][0], entries[name][1]
        return graph_array(weights[key], how, list(inits[name].dims), key)

    replaced: set[str] = set()  # the fp32 initializers int8 ones stand in for
    drop_nodes: set[int] = set()
    new_nodes: dict[int, list[onnx.NodeProto]] = {}  # position -> nodes that take its place
    dropped_values: set[str] = set()
    for pos, node in enumerate(old_nodes):
        if node.op_type == "MatMul" and node.domain in ("", "ai.onnx"):
            w_name = node.input[1]
            if w_name not in entries or len(inits[w_name].dims) != 2:
                continue
            if consumers.get(w_name) != [pos] or w_name in outputs:
                continue  # the weight feeds something else too: leave this one as it is
            w = weight(w_name)
            q, scale = quantize_columns(w)
            del w
            q_name, s_name = _fresh(f"{w_name}_int8", taken), _fresh(f"{w_name}_scale", taken)
            _add_tensor(graph, q_name, q, stats)
            _add_tensor(graph, s_name, scale, stats)
            del q, scale
            replaced.add(w_name)
            bias, out = "", node.output[0]
            after = consumers.get(out, [])
            if len(after) == 1 and out not in outputs and old_nodes[after[0]].op_type == "Add":
                add = old_nodes[after[0]]
                other = add.input[1] if add.input[0] == out else add.input[0]
                n_cols = int(inits[w_name].dims[1])
                b = inits.get(other)
                if (
                    b is not None
                    and add.input[0] != add.input[1]
                    and list(b.dims) == [n_cols]
                    and b.data_type == TensorProto.FLOAT
                ):
                    bias, out = other, add.output[0]
                    drop_nodes.add(after[0])
                    dropped_values.add(node.output[0])
                    stats.biases_folded += 1
            new_nodes[pos] = [
                helper.make_node(
                    "DynamicQuantizeMatMul",
                    [node.input[0], q_name, s_name, "", bias] if bias else
                    [node.input[0], q_name, s_name],
                    [out],
                    name=_fresh(f"{node.name or w_name}_int8", taken),
                    domain=MS_DOMAIN,
                )
            ]  # fmt: skip
            stats.matmuls += 1
        elif node.op_type == "Gather" and node.domain in ("", "ai.onnx"):
            t_name = node.input[0]
            if t_name not in entries or not entries[t_name][0].endswith(WORD_TABLE_SUFFIX):
                continue
            if len(consumers.get(t_name, [])) != 1 or any(
                a.name == "axis" and a.i != 0 for a in node.attribute
            ):
                continue
            q, scale = quantize_rows(weight(t_name))
            q_name, s_name = _fresh(f"{t_name}_int8", taken), _fresh(f"{t_name}_scale", taken)
            _add_tensor(graph, q_name, q, stats)
            _add_tensor(graph, s_name, scale, stats)
            del q, scale
            replaced.add(t_name)
            ids, out = node.input[1], node.output[0]
            rows, rows_f, scales = (_fresh(f"{out}_{s}", taken) for s in ("int8", "f", "scale"))
            new_nodes[pos] = [
                helper.make_node("Gather", [q_name, ids], [rows], name=_fresh(rows, taken)),
                helper.make_node(
                    "Cast", [rows], [rows_f], to=TensorProto.FLOAT, name=_fresh(rows_f, taken)
                ),
                helper.make_node("Gather", [s_name, ids], [scales], name=_fresh(scales, taken)),
                helper.make_node("Mul", [rows_f, scales], [out], name=_fresh(out, taken)),
            ]
            stats.tables += 1
    # the fp32 initializers the graph still reads, filled one by one; the replaced ones (still
    # empty, as the template has them) removed
    for i in reversed(range(len(graph.initializer))):
        init = graph.initializer[i]
        if init.name in replaced:
            del graph.initializer[i]
        elif init.name in entries:
            _raw(init, weight(init.name), stats)
    nodes: list[onnx.NodeProto] = []
    for pos, node in enumerate(old_nodes):
        if pos in drop_nodes:
            continue
        nodes.extend(new_nodes.get(pos, [node]))
    del graph.node[:]
    graph.node.extend(nodes)
    del old_nodes, nodes
    # shapes the exporter noted for what is gone (the fp32 weights, the MatMul's bare product)
    gone = set(replaced) | dropped_values
    info = [v for v in graph.value_info if v.name not in gone]
    del graph.value_info[:]
    graph.value_info.extend(info)
    if not any(op.domain == MS_DOMAIN for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return model, stats
