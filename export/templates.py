"""Graph templates: the exporter's own ONNX graphs with the weights taken out, for the runtime.

ClipSeek installs real CLIP weights without PyTorch (``core.model.assemble``): it fills these
templates with the tensors of ``open_clip_model.safetensors``, by name. A template is what
:func:`export.onnx_export.export_towers` writes for an architecture, so a bundle assembled from it
is the bundle ``clipseek-export convert`` makes from the same weights, byte for byte (and so has
the same vector identity). Why templates rather than graphs rebuilt with onnx's helpers: a second
graph builder would be a second implementation of CLIP to keep in step with the first; a
template *is* the first, and a test proves the two bundles equal.

How a template is made (:func:`make_template`):

1. The architecture is built with **every parameter distinct** (random values): the exporter
   merges initializers with equal contents, so a freshly initialised model (LayerNorm weights all
   ones) would share one initializer between layers that real weights keep apart.
2. Its towers are exported as usual.
3. Each initializer is matched, by value, to the open_clip parameter it came from and how: as it
   is (``same``), transposed (``T``: torch.export folds ``x @ W.T`` into a stored ``W.T``), or
   reshaped (``reshape``: the class embedding as [1, 1, width]). The match must be unique.
4. Those initializers keep their name, shape and type and lose their bytes; everything else
   (shape constants, the causal mask) stays in the graph. ``recipe.json`` records, per file, each
   emptied initializer's parameter and transform.

Templates are written to ``resources/templates/<arch>-meanP`` by ``clipseek-export template``;
M-CLIP's multilingual text tower (:func:`make_multilingual_template`) to
``resources/templates/mclip-xlmr-<arch>`` by ``clipseek-export template --multilingual``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from core.model.assemble import RECIPE_FILE, TEMPLATE_FORMAT, TEMPLATE_HEAD, TOWER_FILES
from core.model.assemble_text import MULTILINGUAL_KIND, TEXT_TOWER_FILE
from export.errors import ExportError
from export.model import build_model
from export.onnx_export import export_towers

#: Initializers smaller than this are graph constants even if some parameter happens to match.
_MIN_WEIGHT = 2


def distinct_parameters(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every parameter its own random values (in place), so that no two are equal."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.02)


def _match(array: np.ndarray, params: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """Every (parameter, transform) whose values make ``array``."""
    found = []
    for name, value in params.items():
        if value.size != array.size:
            continue
        if value.shape == array.shape and np.array_equal(value, array):
            found.append((name, "same"))
        elif value.ndim == 2 and value.T.shape == array.shape and np.array_equal(value.T, array):
            found.append((name, "T"))
        elif value.shape != array.shape and np.array_equal(value.reshape(array.shape), array):
            found.append((name, "reshape"))
    return found


def make_template(arch: str, out: Path, head: str = TEMPLATE_HEAD) -> dict[str, Any]:
    """Write ``arch``'s weight-free towers and their recipe into ``out``; returns the recipe."""
    model = build_model(arch, head=head)
    distinct_parameters(model)
    params = {
        k.removeprefix("clip."): v.detach().numpy().copy()
        for k, v in model.state_dict().items()
        if k.startswith("clip.")
    }
    recipe: dict[str, Any] = {"format": TEMPLATE_FORMAT, "arch": arch, "head": head, "files": {}}
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = export_towers(model, Path(tmp))
        for tower, filename in TOWER_FILES.items():
            graph = onnx.load(str(paths[tower]))
            entries: dict[str, list[str]] = {}
            for init in graph.graph.initializer:
                array = numpy_helper.to_array(init)
                if array.dtype != np.float32 or array.size < _MIN_WEIGHT:
                    continue
                found = _match(array, params)
                if not found:
                    continue  # a constant of the graph (the causal mask), kept as it is
                if len(found) > 1:
                    raise ExportError(f"{filename}: {init.name} matches {found}: not unique")
                if not init.HasField("raw_data"):
                    raise ExportError(f"{filename}: {init.name} is not stored as raw data")
                entries[init.name] = list(found[0])
                init.raw_data = b""
            recipe["files"][filename] = entries
            onnx.save(graph, str(out / filename))
    used = {source for entries in recipe["files"].values() for source, _ in entries.values()}
    towers = {k for k in params if not k.startswith("logit_")}
    missing = sorted(towers - used)
    if missing:
        raise ExportError(f"{arch}: parameters no template uses: {', '.join(missing[:5])}")
    (out / RECIPE_FILE).write_text(json.dumps(recipe, indent=1, sort_keys=True) + "\n")
    return recipe


def _digest(array: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(array).tobytes(), digest_size=16).digest()


def make_multilingual_template(arch: str, out: Path) -> dict[str, Any]:
    """Write M-CLIP's weight-free ``text.onnx`` of ``arch`` ("tiny" or "full") and its recipe.

    The same three steps as :func:`make_template`, on the graph of
    :func:`export.multilingual.export_text_tower`: distinct random parameters, initializers
    matched by value to M-CLIP's state-dict keys (by a digest of their bytes, as they are or
    transposed: the full tower has 391 tensors of 2.2 GB, too many to compare pairwise), bytes
    stripped. The recipe also carries the
    architecture's numbers (the runtime's numpy reference needs them and may not import
    ``export``). The graph is saved without its weights, so even the full tower's template is a
    single small file.
    """
    from export.multilingual import (
        ARCHS,
        BOS_ID,
        EOS_ID,
        PAD_ID,
        build_text_tower,
        export_text_tower,
        max_tokens,
    )

    model = build_text_tower(arch)
    distinct_parameters(model)
    params = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    index: dict[bytes, list[tuple[str, str]]] = {}
    for name, value in params.items():
        if value.dtype != np.float32:
            continue
        index.setdefault(_digest(value), []).append((name, "same"))
        if value.ndim == 2 and min(value.shape) > 1:  # a row's transpose has the same bytes
            index.setdefault(_digest(value.T), []).append((name, "T"))
    spec = ARCHS[arch]
    recipe: dict[str, Any] = {
        "format": TEMPLATE_FORMAT,
        "kind": MULTILINGUAL_KIND,
        "arch": arch,
        "config": {
            "vocab_size": spec.vocab_size,
            "width": spec.width,
            "layers": spec.layers,
            "heads": spec.heads,
            "mlp_width": spec.mlp_width,
            "max_positions": spec.max_positions,
            "embed_dim": spec.embed_dim,
            "max_tokens": max_tokens(model.config),
            "pad_id": PAD_ID,
            "bos_id": BOS_ID,
            "eos_id": EOS_ID,
            "layer_norm_eps": float(model.config.layer_norm_eps),
        },
        "files": {},
    }
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        export_text_tower(model, Path(tmp) / TEXT_TOWER_FILE)
        del model
        graph = onnx.load(str(Path(tmp) / TEXT_TOWER_FILE), load_external_data=True)
    entries: dict[str, list[str]] = {}
    for init in graph.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        array = numpy_helper.to_array(init)
        if array.size < _MIN_WEIGHT:
            continue
        found = index.get(_digest(array), [])
        found = [
            (n, "reshape" if how == "same" and params[n].shape != array.shape else how)
            for n, how in found
        ]
        if not found:
            continue  # a constant of the graph, kept as it is
        if len(found) > 1:
            raise ExportError(f"{TEXT_TOWER_FILE}: {init.name} matches {found}: not unique")
        if not init.HasField("raw_data"):
            raise ExportError(f"{TEXT_TOWER_FILE}: {init.name} is not stored as raw data")
        entries[init.name] = list(found[0])
        init.raw_data = b""
    recipe["files"][TEXT_TOWER_FILE] = entries
    used = {source for source, _ in entries.values()}
    missing = sorted(k for k, v in params.items() if v.dtype == np.float32 and k not in used)
    if missing:
        raise ExportError(f"{arch}: parameters the template does not use: {', '.join(missing[:5])}")
    onnx.save(graph, str(out / TEXT_TOWER_FILE))
    (out / RECIPE_FILE).write_text(json.dumps(recipe, indent=1, sort_keys=True) + "\n")
    return recipe
