"""Reading and writing CLIP4Clip weights: ours, and the original CLIP4Clip code's.

Every load goes through ``torch.load(..., weights_only=True)``: a checkpoint is data from the
internet or a colleague, and unpickling arbitrary objects would run arbitrary code.

Two formats are recognised by their content, not their file name:

* **ClipSeek checkpoints** — a dict with ``format == "clipseek-clip4clip"``, the architecture
  config, head name and ``model`` state dict (plus training state, which loading ignores).
* **Original CLIP4Clip checkpoints** — ``torch.save(model.state_dict())`` from the authors' code:
  flat keys ``clip.*``, ``frame_position_embeddings.*``, ``transformerClip.*``, ``lstm_visual.*``,
  ``cross.*``, ``similarity_dense.*`` (possibly behind a ``module.`` prefix from DDP).
* **Plain CLIP weights** — open_clip's / OpenAI's state dict (``visual.conv1.weight``,
  ``positional_embedding``, ``text_projection``… without ``clip.``), as ``.bin``/``.pt`` or
  ``.safetensors`` (the hub's file): a meanP CLIP4Clip, i.e. zero-shot CLIP. Towers are always
  built with QuickGELU (:func:`export.architectures.build_clip`), as OpenAI's weights need.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from export.architectures import arch_config, infer_config, text_heads
from export.errors import ExportError
from export.model import DEFAULT_HEAD_LAYERS, CLIP4Clip

FORMAT = "clipseek-clip4clip"
FORMAT_VERSION = 1

# Keys the original code creates but never uses for the given head (e.g. seqLSTM also builds
# frame_position_embeddings); they are dropped rather than rejected.
_UNUSED_BY_HEAD: dict[str, tuple[str, ...]] = {
    "meanP": ("frame_position_embeddings.",),
    "seqLSTM": ("frame_position_embeddings.",),
    "seqTransf": (),
    "tightTransf": ("frame_position_embeddings.",),
}


#: Non-weight entries of OpenAI's CLIP state dicts (sizes stored as tensors).
_OPENAI_METADATA = ("input_resolution", "context_length", "vocab_size")


def save_checkpoint(
    model: CLIP4Clip, path: str | os.PathLike[str], extra: Mapping[str, Any] | None = None
) -> None:
    """Write a ClipSeek checkpoint atomically (temp file + rename): a crash never leaves half."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": model.arch,
        "config": model.config,
        "head": model.head_name,
        "head_layers": model.head_layers,
        "head_heads": model.head_heads,
        "model": model.state_dict(),
    }
    if extra:
        payload.update(extra)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw checkpoint dict, loaded safely, with a one-line error for unreadable files."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"checkpoint not found: {path}")
    try:
        if path.suffix == ".safetensors":  # the hub's pickle-free format (open_clip's weights)
            from safetensors.torch import load_file

            data = load_file(str(path), device="cpu")
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"cannot read checkpoint {path.name}: {first}") from exc
    if not isinstance(data, dict):
        raise ExportError(f"checkpoint {path.name} holds a {type(data).__name__}, not a dict")
    return data


def detect_head(state: Mapping[str, Any]) -> str:
    """Which CLIP4Clip head a flat state dict was trained with."""
    keys = state.keys()
    if any(k.startswith("cross.") for k in keys):
        return "tightTransf"
    if any(k.startswith("transformerClip.") for k in keys):
        return "seqTransf"
    if any(k.startswith("lstm_visual.") for k in keys):
        return "seqLSTM"
    return "meanP"


def _strip_prefix(state: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix) :]: v for k, v in state.items()}
    return dict(state)


def _head_layers(state: Mapping[str, Any], head: str) -> int:
    prefix = {
        "seqTransf": "transformerClip.resblocks.",
        "tightTransf": "cross.transformer.resblocks.",
    }
    if head not in prefix:
        return DEFAULT_HEAD_LAYERS
    p = prefix[head]
    return len({k[len(p) :].split(".")[0] for k in state if k.startswith(p)})


def _load_into(model: CLIP4Clip, state: Mapping[str, Any], source: str) -> CLIP4Clip:
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        detail = str(exc).strip().splitlines()
        raise ExportError(
            f"{source} does not fit the {model.arch} architecture: "
            + (detail[1].strip() if len(detail) > 1 else detail[0])
        ) from exc
    missing = [k for k in result.missing_keys if not k.endswith("attn_mask")]
    if missing or result.unexpected_keys:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} keys (e.g. {missing[0]})")
        if result.unexpected_keys:
            parts.append(
                f"{len(result.unexpected_keys)} unexpected keys (e.g. {result.unexpected_keys[0]})"
            )
        raise ExportError(f"{source} does not match a {model.head_name} model: {'; '.join(parts)}")
    model.eval()
    return model


def load_clip4clip(
    path: str | os.PathLike[str], *, arch: str | None = None, head: str | None = None
) -> CLIP4Clip:
    """Build a :class:`CLIP4Clip` from either checkpoint format.

    ``arch`` and ``head`` may be given to check (our format) or to override inference (original
    format: head counts are not stored in weights, so non-OpenAI widths need ``arch``).
    """
    data = read_checkpoint(path)
    name = Path(path).name
    if data.get("format") == FORMAT:
        saved_head = str(data["head"])
        if head is not None and head != saved_head:
            raise ExportError(f"{name} was trained with head {saved_head}, not {head}")
        if arch is not None and arch != data.get("arch"):
            raise ExportError(f"{name} is a {data.get('arch')} model, not {arch}")
        model = CLIP4Clip(
            data["config"],
            head=saved_head,
            arch=str(data.get("arch", "custom")),
            head_layers=int(data.get("head_layers", DEFAULT_HEAD_LAYERS)),
            # saved before the count was recorded: they were built with the text tower's
            head_heads=int(data.get("head_heads") or text_heads(data["config"])),
        )
        return _load_into(model, data["model"], name)

    state = data.get("state_dict", data)
    state = _strip_prefix(state, "module.")
    if "visual.conv1.weight" in state and not any(k.startswith("clip.") for k in state):
        # plain CLIP weights (open_clip's hub files, OpenAI's state dict): zero-shot meanP.
        # OpenAI's files also carry three sizes as tensors, which open_clip's loader drops too.
        state = {f"clip.{k}": v for k, v in state.items() if k not in _OPENAI_METADATA}
    if not any(k.startswith("clip.") for k in state):
        raise ExportError(
            f"{name} is neither a ClipSeek nor a CLIP4Clip checkpoint (no 'clip.*' weights)"
        )
    found_head = detect_head(state)
    if head is not None and head != found_head:
        raise ExportError(f"{name} holds {found_head} weights, not {head}")
    state = {
        k: v
        for k, v in state.items()
        if not any(k.startswith(p) for p in _UNUSED_BY_HEAD[found_head])
    }
    clip_state = {k[len("clip.") :]: v for k, v in state.items() if k.startswith("clip.")}
    config = arch_config(arch) if arch is not None else infer_config(clip_state)
    model = CLIP4Clip(
        config,
        head=found_head,
        arch=arch or _guess_arch_name(config),
        head_layers=_head_layers(state, found_head),
    )
    return _load_into(model, state, name)


def _guess_arch_name(config: Mapping[str, Any]) -> str:
    for candidate in ("ViT-B-32", "ViT-B-16"):
        if arch_config(candidate) == config:
            return candidate
    return "custom"
