"""M-CLIP's multilingual text tower, built in PyTorch and exported to ONNX.

``M-CLIP/XLM-Roberta-Large-Vit-B-32`` answers a sentence in any of ~100 languages with a vector in
CLIP ViT-B/32's text space: XLM-RoBERTa Large (24 layers, width 1024, 250,002-token SentencePiece
vocabulary) -> mean of the last hidden state over the tokens the attention mask keeps ->
Linear(1024 -> 512, with bias). That is M-CLIP's own ``MultilingualCLIP.forward``::

    embs = self.transformer(**txt_tok)[0]
    att = txt_tok["attention_mask"]
    embs = (embs * att.unsqueeze(2)).sum(dim=1) / att.sum(dim=1)[:, None]
    return self.LinearTransformation(embs)

The submodules keep M-CLIP's names (``transformer``, ``LinearTransformation``) so that its
checkpoint's state dict loads into :class:`MultilingualTextTower` key for key (XLM-R's pooler,
which M-CLIP never calls, is left out: load such a checkpoint with ``strict=False`` or drop the
``transformer.pooler.*`` keys). Mean pooling, not the first (CLS) token: CLS pooling is what M-CLIP
was *not* trained with, and it ranks far worse.

``text.onnx`` written here has the shape of CLIP's text tower plus the mask: ``input_ids`` int64
[B, L] and ``attention_mask`` int64 [B, L] -> ``embeddings`` float32 [B, D], raw (not
L2-normalised), B and L dynamic so that the runtime feeds each batch at its true token length.
The full-size tower is ~2.2 GB of float32 weights, past protobuf's 2 GiB, so its weights go to ONE
file beside the graph, ``text.onnx.data``.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from transformers import XLMRobertaConfig, XLMRobertaModel

from export.errors import ExportError
from export.onnx_export import OPSET, strip_debug_info

if TYPE_CHECKING:
    import onnx

__all__ = [
    "ARCHS",
    "MultilingualArch",
    "MultilingualTextTower",
    "build_text_tower",
    "export_text_tower",
    "xlmr_config",
]

#: The file's one output, as the runtime reads it (CLIP's text.onnx calls it the same).
OUTPUT_NAME = "embeddings"
#: Above this many bytes of weights the graph is saved with its tensors in ``<name>.data``
#: (protobuf refuses messages of 2 GiB; the margin leaves room for the graph itself).
EXTERNAL_DATA_OVER = 1_800_000_000


@dataclass(frozen=True)
class MultilingualArch:
    """The numbers of one XLM-R text tower and the CLIP space it maps into."""

    vocab_size: int
    width: int
    layers: int
    heads: int
    mlp_width: int
    #: XLM-R's position table: 514 rows, the first ``pad_token_id + 1`` of which are never a real
    #: token's position, so at most 512 tokens.
    max_positions: int
    embed_dim: int


ARCHS: dict[str, MultilingualArch] = {
    # For tests: seconds to build and export.
    "tiny": MultilingualArch(
        vocab_size=1000, width=32, layers=2, heads=4, mlp_width=64, max_positions=130, embed_dim=16
    ),
    # The demo's Korean + English student (export/distil.py): distilled from the demo model's
    # 32-d text tower, a tokenizer of 800 pieces trained on the demo's captions; under 1 MB.
    "demo-student": MultilingualArch(
        vocab_size=800, width=64, layers=2, heads=4, mlp_width=256, max_positions=130, embed_dim=32
    ),
    # M-CLIP/XLM-Roberta-Large-Vit-B-32: xlm-roberta-large + Linear(1024 -> 512).
    "full": MultilingualArch(
        vocab_size=250_002,
        width=1024,
        layers=24,
        heads=16,
        mlp_width=4096,
        max_positions=514,
        embed_dim=512,
    ),
}

#: XLM-R's special tokens (SentencePiece ids shifted by fairseq's dictionary): <s>, <pad>, </s>.
BOS_ID, PAD_ID, EOS_ID = 0, 1, 2


def xlmr_config(arch: MultilingualArch) -> XLMRobertaConfig:
    """The ``transformers`` config of xlm-roberta-large's shape (or a tiny one of the same kind)."""
    return XLMRobertaConfig(
        vocab_size=arch.vocab_size,
        hidden_size=arch.width,
        num_hidden_layers=arch.layers,
        num_attention_heads=arch.heads,
        intermediate_size=arch.mlp_width,
        max_position_embeddings=arch.max_positions,
        type_vocab_size=1,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        pad_token_id=PAD_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
    )


def max_tokens(config: XLMRobertaConfig) -> int:
    """The longest sequence the position table holds (512 for XLM-R)."""
    pad = config.pad_token_id
    return int(config.max_position_embeddings) - (PAD_ID if pad is None else int(pad)) - 1


class MultilingualTextTower(nn.Module):
    """XLM-R -> attention-masked mean pooling -> Linear to the CLIP embedding dimension."""

    def __init__(self, config: XLMRobertaConfig, embed_dim: int) -> None:
        super().__init__()
        self.config = config
        self.embed_dim = embed_dim
        self.transformer = XLMRobertaModel(config, add_pooling_layer=False)
        self.LinearTransformation = nn.Linear(config.hidden_size, embed_dim)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask)[0]
        att = attention_mask.to(hidden.dtype)
        summed = (hidden * att[..., None]).sum(1)
        # M-CLIP divides by att.sum(-1); the floor of 1 changes nothing for a real query (it has
        # at least <s> and </s>) and keeps an all-padding row at zero instead of NaN.
        pooled = summed / att.sum(-1).clamp(min=1.0)[..., None]
        out: torch.Tensor = self.LinearTransformation(pooled)
        return out


def build_text_tower(arch: str = "tiny", seed: int | None = None) -> MultilingualTextTower:
    """A randomly initialised tower of ``arch`` ("tiny" or "full"), in eval mode."""
    try:
        spec = ARCHS[arch]
    except KeyError:
        raise ExportError(
            f"unknown multilingual arch {arch!r} (have: {', '.join(ARCHS)})"
        ) from None
    if seed is not None:
        torch.manual_seed(seed)
    return MultilingualTextTower(xlmr_config(spec), spec.embed_dim).eval()


def _weight_bytes(module: nn.Module) -> int:
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def _example_inputs(vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """<s> tokens </s>, one row padded: padding is part of the traced graph."""
    a, b, c, d = (min(v, vocab_size - 1) for v in (5, 17, 42, 99))
    ids = torch.tensor(
        [[BOS_ID, a, b, EOS_ID, PAD_ID, PAD_ID], [BOS_ID, a, b, c, d, EOS_ID]], dtype=torch.int64
    )
    return ids, (ids != PAD_ID).to(torch.int64)


def _rename_output(model: onnx.ModelProto, old: str, new: str) -> None:
    """Give the graph's output ``old`` the name ``new``, moving any internal value of that name
    aside first.

    The tower is exported under a private output name and renamed here: torch's exporter has been
    seen to refuse an output named like one of its own values (issue 25), and XLM-R's embedding
    layer calls its own result ``embeddings``.
    """
    if old == new:
        return
    graph = model.graph
    names = {n for node in graph.node for n in (*node.input, *node.output)}
    names |= {v.name for v in (*graph.input, *graph.initializer, *graph.value_info)}
    if new in names:
        _rename_value(graph, new, _unused_name(names, new))
    _rename_value(graph, old, new)


def _unused_name(names: set[str], base: str) -> str:
    i = 0
    while f"{base}_{i}" in names:
        i += 1
    return f"{base}_{i}"


def _rename_value(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
    for value in (*graph.input, *graph.output, *graph.value_info):
        if value.name == old:
            value.name = new
    for init in graph.initializer:
        if init.name == old:
            init.name = new


def export_text_tower(
    model: MultilingualTextTower, out_path: Path, *, external_data: bool | None = None
) -> list[Path]:
    """Write ``out_path`` (``text.onnx``) and, for weights over 2 GB, ``<out_path>.data``.

    ``external_data`` None decides by the size of the weights. Returns the files written. Torch's
    exporter writes into a scratch folder (it may spread weights over files of its own naming);
    the graph is then loaded, freed of per-node debug metadata, its output named ``embeddings``,
    and saved with every tensor in the one data file.
    """
    import onnx

    model.eval()
    if external_data is None:
        external_data = _weight_bytes(model) > EXTERNAL_DATA_OVER
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    data_path = out_path.with_name(out_path.name + ".data")
    batch = torch.export.Dim("batch", min=1, max=4096)
    tokens = torch.export.Dim("tokens", min=2, max=max_tokens(model.config))
    ids, mask = _example_inputs(int(model.config.vocab_size))
    raw_output = "text_embeddings"
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".export-") as scratch:
        raw = Path(scratch) / out_path.name
        with (
            warnings.catch_warnings(),
            torch.no_grad(),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(
                    model,
                    (ids, mask),
                    str(raw),
                    input_names=["input_ids", "attention_mask"],
                    output_names=[raw_output],
                    dynamic_shapes={
                        "input_ids": {0: batch, 1: tokens},
                        "attention_mask": {0: batch, 1: tokens},
                    },
                    opset_version=OPSET,
                    dynamo=True,
                    external_data=external_data,
                    verbose=False,
                )
            except Exception as exc:
                text = str(exc).strip()
                first = text.splitlines()[0] if text else type(exc).__name__
                raise ExportError(f"ONNX export of {out_path.name} failed: {first}") from exc
        proto = onnx.load(str(raw), load_external_data=True)
    strip_debug_info(proto)
    _rename_output(proto, raw_output, OUTPUT_NAME)
    out_path.unlink(missing_ok=True)
    data_path.unlink(missing_ok=True)  # onnx appends to an existing data file
    if external_data:
        onnx.save_model(
            proto,
            str(out_path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data_path.name,
            size_threshold=1024,
        )
        # onnx creates the data file owner-only (0600); give it the graph's own permissions
        data_path.chmod(out_path.stat().st_mode & 0o777)
        return [out_path, data_path]
    onnx.save(proto, str(out_path))
    return [out_path]
