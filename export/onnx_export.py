"""Tracing CLIP4Clip's three runtime computations to ONNX files.

Each file has float32 inputs and outputs whatever the precision inside, so the runtime never has
to know how a bundle was stored:

* ``image.onnx``: ``pixels`` [B, 3, S, S] -> ``embeddings`` [B, D] (raw, un-normalised)
* ``text.onnx``: ``input_ids`` int64 [B, L] -> ``embeddings`` [B, D] (raw); B *and* L dynamic,
  because the runtime feeds each batch at its true token length instead of 77
* ``head.onnx``: ``frames`` [B, T, D] + ``mask`` [B, T] -> ``embedding`` [B, D] (L2-normalised)
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from core.model.quantize import quantize_int8
from export.errors import ExportError
from export.model import CLIP4Clip

if TYPE_CHECKING:
    import onnx

OPSET = 18

__all__ = ["convert_to_fp16", "export_towers", "quantize_int8"]


class ImageTower(nn.Module):
    def __init__(self, model: CLIP4Clip) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_frames(pixels)


class TextTower(nn.Module):
    def __init__(self, model: CLIP4Clip) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(input_ids)


class HeadTower(nn.Module):
    def __init__(self, model: CLIP4Clip) -> None:
        super().__init__()
        self.model = model

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model.pool(frames, mask)


def _trace(
    module: nn.Module,
    args: tuple[torch.Tensor, ...],
    path: Path,
    input_names: list[str],
    output_names: list[str],
    dynamic_shapes: dict[str, dict[int, torch.export.Dim]],
) -> None:
    """Export with torch.export (symbolic shapes).

    The TorchScript tracer bakes the example's sequence length into nn.MultiheadAttention's
    reshapes, which breaks the text tower's dynamic token length; torch.export keeps every
    marked dimension symbolic.
    """
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # fused kernel, no ONNX translation
    with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                module,
                args,
                str(path),
                input_names=input_names,
                output_names=output_names,
                dynamic_shapes=dynamic_shapes,
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"ONNX export of {path.name} failed: {first}") from exc
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
    _without_debug_info(path)


def _without_debug_info(path: Path) -> None:
    """Drop the exporter's per-node debug metadata (in place).

    torch.onnx records, on every node, the Python stack that made it — with the absolute paths of
    our code and of open_clip's — plus FX names and scopes. The runtime never reads them, but they
    made the same weights give different files in two checkouts (so a different vector identity,
    and the torch-free install's templates could not match the converter's output outside the
    folder they were made in). Without them a graph depends only on the model and the torch
    version that exported it.
    """
    import onnx

    model = onnx.load(str(path))
    strip_debug_info(model)
    onnx.save(model, str(path))


def strip_debug_info(model: onnx.ModelProto) -> None:
    """Drop every node's metadata_props (in place), in the graph, its subgraphs and functions."""
    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            del node.metadata_props[:]
            for attr in node.attribute:
                if attr.HasField("g"):
                    graphs.append(attr.g)
                graphs.extend(attr.graphs)
    for function in model.functions:
        for node in function.node:
            del node.metadata_props[:]


def export_towers(model: CLIP4Clip, out_dir: Path) -> dict[str, Path]:
    """Write image.onnx, text.onnx and head.onnx (float32) into ``out_dir``."""
    model.eval()
    size, dim = model.image_size, model.embed_dim
    paths = {name: out_dir / f"{name}.onnx" for name in ("image", "text", "head")}
    batch = torch.export.Dim("batch", min=1, max=4096)
    tokens = torch.export.Dim("tokens", min=2, max=model.context_length)
    steps = torch.export.Dim("frames", min=1, max=model.context_length)
    _trace(
        ImageTower(model),
        (torch.randn(2, 3, size, size),),
        paths["image"],
        ["pixels"],
        ["embeddings"],
        {"pixels": {0: batch}},
    )
    # Example ids: SOT, a few tokens, EOT (the largest id), then padding - so that argmax-based
    # EOT lookup and padding are both part of the traced graph.
    ids = torch.tensor([[49406, 320, 1929, 49407, 0, 0], [49406, 320, 1929, 2368, 786, 49407]])
    _trace(
        TextTower(model),
        (ids,),
        paths["text"],
        ["input_ids"],
        ["embeddings"],
        {"input_ids": {0: batch, 1: tokens}},
    )
    frames = torch.randn(2, 5, dim)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.float32)
    _trace(
        HeadTower(model),
        (frames, mask),
        paths["head"],
        ["frames", "mask"],
        ["embedding"],
        {"frames": {0: batch, 1: steps}, "mask": {0: batch, 1: steps}},
    )
    return paths


def convert_to_fp16(path: Path) -> None:
    """Store weights and compute in float16, keeping float32 inputs/outputs (in place).

    Uses ONNX Runtime's own converter, which keeps numerically fragile ops it knows about
    (and the int64 token path) in float32.
    """
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(path))
    half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
    onnx.save(half, str(path))
