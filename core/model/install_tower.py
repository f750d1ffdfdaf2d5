"""Installing M-CLIP's multilingual text tower from the Hugging Face hub, without PyTorch.

The CLIP install's steps (:mod:`core.model.install`), for a text tower instead of a bundle:

1. **connecting**: the hub's listing of the pinned revision gives ``pytorch_model.bin``'s size and
   SHA-256 (its LFS id, which must be the pinned one) and, for the small files beside it
   (``tokenizer.json``, ``config.json``, kept in git rather than LFS), their size and git blob id.
2. **downloading**: the weights streamed to ``<models>/.downloads`` and resumed with an HTTP Range
   request after an interruption or a cancel (the ``.part`` file stays); then the small files,
   whole, each checked against its git blob id (``sha1("blob <size>\\0" + bytes)``).
3. **verifying**: the SHA-256 of what arrived; a mismatch deletes it.
4. **converting**: the weights read by the allow-list unpickler (:mod:`core.model.weights`: no code
   from the file runs), the exporter's template filled and checked against the numpy reference
   (:mod:`core.model.assemble_text`), quantized to int8 where the text tower runs on a processor.
5. The folder ``<models>/<folder>`` (``mclip-xlmr-large-vit-b32`` or ``…-int8``) is swapped in only
   when complete; the downloads are deleted. The tower is then found beside the CLIP bundle it
   serves (:func:`core.model.text_tower.towers_for`).

Every failure is one :class:`InstallError` line; a cancel is :class:`InstallCancelled`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

from core.model.assemble import AssembleError
from core.model.assemble_text import assemble_text_tower, text_config
from core.model.hub import (
    companion,
    download,
    fetch_companion,
    host,
    listing,
    remote_file,
    resolve_hub,
    sha256_of,
)
from core.model.install import check_space
from core.model.registry import models_dir as default_models_dir
from core.model.sources import (
    MULTILINGUAL_SOURCE,
    InstallCancelled,
    InstallError,
    InstallProgress,
    ModelSource,
    Report,
    precision_for_this_machine,
)
from core.model.text_tower import TOWER_TOKENIZER_FILE
from core.model.weights import WeightsError, read_weights

#: What the finished folder takes, as a share of the weights file: fp32 is the weights again;
#: int8 about a quarter (written straight from the weights: no fp32 graph on the way).
_OUTPUT_SHARE = {"fp32": 1.05, "int8": 0.3}


def _check_config(path: Path, source: ModelSource) -> None:
    """M-CLIP's ``config.json`` must describe the tower the template builds (width, dimension)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InstallError(f"{source.repo}'s config.json is unreadable ({exc})") from None
    cfg = text_config(source.arch)
    said = {
        "transformerDimensions": cfg.width,
        "transformerDimSize": cfg.width,
        "numDims": cfg.embed_dim,
        "imageDimSize": cfg.embed_dim,
    }
    for key, expected in said.items():
        value = config.get(key) if isinstance(config, dict) else None
        if isinstance(value, int) and value != expected:
            raise InstallError(
                f"{source.repo}'s config.json says {key} {value}, the tower ClipSeek builds has"
                f" {expected}: not the model this ClipSeek knows"
            )


def install_multilingual(
    source: ModelSource = MULTILINGUAL_SOURCE,
    *,
    models_dir: str | os.PathLike[str] | None = None,
    hub_url: str | None = None,
    on_progress: Report | None = None,
    cancel: threading.Event | None = None,
    precision: str | None = None,
) -> Path:
    """Download, verify and assemble the multilingual text tower into ``<models>/<folder>``;
    returns that folder. ``precision`` None: int8 where the tower will run on the processor
    (:func:`precision_for_this_machine`), else fp32."""
    hub = resolve_hub(hub_url)
    models = Path(models_dir) if models_dir else default_models_dir()
    source = source.with_precision(precision or precision_for_this_machine())

    def report(p: InstallProgress) -> None:
        if on_progress is not None:
            on_progress(p)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise InstallCancelled("cancelled; the download resumes next time")

    try:
        text_config(source.arch)  # the template ships with ClipSeek; say so before going online
    except AssembleError as exc:
        raise InstallError(str(exc)) from None
    report(InstallProgress("connecting", message=f"Asking {host(hub)} about {source.repo}…"))
    entries = listing(source, hub)
    size, sha = remote_file(source, hub, entries)
    small = [companion(entries, source, name, hub) for name in source.companions]
    models.mkdir(parents=True, exist_ok=True)
    downloads = models / ".downloads"
    # one download for both precisions: the fp32 folder's name without "-int8"
    stem = source.with_precision("fp32").folder
    weights = downloads / f"{stem}-{source.filename}"
    if not weights.exists():
        part = weights.with_name(weights.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        need = max(size - have, 0) + int(size * _OUTPUT_SHARE[source.precision])
        check_space(models, need + sum(c.size for c in small) + (64 << 20))
        report(InstallProgress("downloading", have, size))
        download(source, weights, size, hub, report, cancel)
    else:
        check_space(models, int(size * _OUTPUT_SHARE[source.precision]) + (64 << 20))
    files: dict[str, Path] = {}
    for item in small:
        check_cancel()
        report(InstallProgress("downloading", size, size, message=f"Fetching {item.filename}…"))
        files[item.filename] = downloads / f"{stem}-{item.filename}"
        fetch_companion(source, item, files[item.filename], hub)
    report(InstallProgress("verifying", 0, size, message="Checking the SHA-256…"))
    if sha256_of(weights, report, cancel) != sha:
        weights.unlink(missing_ok=True)
        raise InstallError(
            f"{source.filename} arrived damaged (its SHA-256 does not match the hub's);"
            " it was deleted: try again"
        )
    if "config.json" in files:
        _check_config(files["config.json"], source)
    tokenizer = files.get(TOWER_TOKENIZER_FILE)
    if tokenizer is None:
        raise InstallError(f"{source.repo} lists no {TOWER_TOKENIZER_FILE} to install")
    origin = f"huggingface:{source.label} sha256:{sha}"
    final = _make_tower(source, weights, tokenizer, models, origin, report, cancel)
    for path in (weights, *files.values()):
        path.unlink(missing_ok=True)
    report(InstallProgress("done", size, size, message=f"Installed in {final}"))
    return final


def _make_tower(
    source: ModelSource,
    weights: Path,
    tokenizer: Path,
    models: Path,
    origin: str,
    report: Report,
    cancel: threading.Event | None,
) -> Path:
    """``weights`` made into ``<models>/<source.folder>``, replacing what is there only once the
    new tower is complete (as :func:`core.model.install._make_bundle` does for a bundle)."""
    final = models / source.folder
    scratch = Path(tempfile.mkdtemp(prefix=f".{source.folder}-", dir=models))

    def step(text: str) -> None:
        if cancel is not None and cancel.is_set():
            raise InstallCancelled("cancelled")
        report(InstallProgress("converting", message=text))

    try:
        tower = scratch / "tower"
        step("Reading the weights…")
        try:
            # read inside the assembly, which lets the 2.2 GB go before it quantizes
            assemble_text_tower(
                lambda: read_weights(weights), source.arch, tokenizer, tower,
                precision=source.precision, name=source.name, source=origin, on_step=step,
            )  # fmt: skip
        except (WeightsError, AssembleError) as exc:
            raise InstallError(f"the weights cannot be made into a text tower: {exc}") from None
        if cancel is not None and cancel.is_set():
            raise InstallCancelled("cancelled")
        if final.exists():
            final.rename(scratch / "previous")
        tower.rename(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final
