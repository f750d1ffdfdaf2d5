"""From a PyTorch CLIP4Clip to a verified model bundle folder.

The bundle is assembled in a scratch folder beside the destination and moved into place only
after the parity check passes, so a failed or interrupted conversion never leaves a half-bundle
where the app would find it (and never damages a previous bundle at that path).
"""

from __future__ import annotations

import datetime as _dt
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.model.bundle import (
    HEAD_FILE,
    IMAGE_FILE,
    MANIFEST_NAME,
    TEXT_FILE,
    VOCAB_FILE,
    Manifest,
    new_manifest,
    with_parity,
)
from core.model.tokenizer import default_vocab_path
from export.architectures import OPENAI_MEAN, OPENAI_STD, VOCAB_SIZE
from export.errors import ExportError
from export.model import DEFAULT_MAX_FRAMES, CLIP4Clip
from export.onnx_export import convert_to_fp16, export_towers, quantize_int8
from export.parity import ParityReport, check_parity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversionResult:
    bundle: Path
    manifest: Manifest
    parity: ParityReport


def _prepare_destination(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise ExportError(
            f"{out} is a non-empty folder that is not a model bundle; refusing to overwrite it"
        )


def convert(
    model: CLIP4Clip,
    out: str | Path,
    *,
    name: str | None = None,
    fp16: bool = False,
    int8: bool = False,
    max_frames: int = DEFAULT_MAX_FRAMES,
    source: str = "",
) -> ConversionResult:
    """Export ``model`` to a bundle at ``out`` and verify it against PyTorch."""
    if model.head_name not in ("meanP", "seqLSTM", "seqTransf"):
        raise ExportError(
            f"{model.head_name} cannot be stored in an index; convert a meanP, seqLSTM or seqTransf"
            " model (tightTransf only re-ranks)"
        )
    if not 1 <= max_frames <= model.context_length:
        raise ExportError(f"--max-frames must be between 1 and {model.context_length}")
    out = Path(out).expanduser().resolve()
    _prepare_destination(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fp16 and int8:
        raise ExportError("choose --fp16 (GPUs) or --int8 (CPUs), not both")
    precision = "fp16" if fp16 else "int8" if int8 else "fp32"
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        log.info("exporting ONNX towers to %s", scratch)
        paths = export_towers(model, scratch)
        if fp16:
            for path in paths.values():
                convert_to_fp16(path)
        if int8:  # the image tower only: it does the work of indexing; a query is one sentence
            quantize_int8(paths["image"])
        vocab_target = scratch / VOCAB_FILE
        vocab_target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(default_vocab_path(), vocab_target)
        assert {p.name for p in paths.values()} == {IMAGE_FILE, TEXT_FILE, HEAD_FILE}
        manifest = new_manifest(
            scratch, name=name or f"{model.arch}-{model.head_name}", arch=model.arch,
            embed_dim=model.embed_dim, image_size=model.image_size,
            context_length=model.context_length, vocab_size=VOCAB_SIZE, head=model.head_name,
            max_frames=max_frames, precision=precision, source=source,
            mean=OPENAI_MEAN, std=OPENAI_STD,
        )  # fmt: skip
        log.info("checking parity of %s against PyTorch", precision)
        report = check_parity(model, scratch, precision)
        manifest = with_parity(scratch, manifest, report.as_dict())
        _swap_into_place(scratch, out)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return ConversionResult(bundle=out, manifest=manifest, parity=report)


def _swap_into_place(scratch: Path, out: Path) -> None:
    """Replace ``out`` by ``scratch`` with renames only (the old bundle survives until the end)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{_dt.datetime.now().strftime('%Y%m%d%H%M%S%f')}")
        out.rename(old)
    scratch.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
