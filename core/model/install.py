"""Installing the real model: OpenAI CLIP ViT-B/32 from the Hugging Face hub, made into a bundle.

The only time ClipSeek goes online, and only when the user asks. Steps:

0. The converter is looked for first (``torch``, ``open_clip``, ``onnx`` in the Python that will
   convert): without the ``export`` extra nothing is downloaded.
1. **connecting**: the hub's file listing (``/api/models/<repo>/tree/<revision>``) gives the
   weights file's size and SHA-256 (its LFS object id). The default source also carries the
   SHA-256 and size ClipSeek expects, pinned to one hub commit: listing and pin must agree.
2. **downloading**: ``/<repo>/resolve/<revision>/<file>`` streamed to ``<models>/.downloads``,
   resumed with an HTTP Range request after an interruption or a cancel (a server that ignores
   Range sends the whole file again and the download starts over).
3. **verifying**: the SHA-256 of what arrived against the expected one; a mismatch deletes it.
4. **converting**: ``python -m export.cli convert`` in a subprocess (PyTorch stays out of the
   app's process), which checks ONNX Runtime against PyTorch before it writes the bundle.
5. The bundle is moved into ``<models>/<folder>`` only when complete (a previous bundle there is
   replaced only then); the downloaded weights are deleted.

No torch, no Qt: the CLI (``clipseek install-model``) and the app's dialog both call
:func:`install_model`, which runs the steps: ``hub`` talks to the network, ``converter`` runs
the conversion, ``sources`` names what can be installed.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from core.model.bundle import BundleError, load_bundle, write_manifest
from core.model.converter import check_converter, convert
from core.model.hub import download, host, remote_file, resolve_hub, sha256_of
from core.model.registry import models_dir as default_models_dir
from core.model.sources import (
    DEFAULT_SOURCE,
    InstallCancelled,
    InstallError,
    InstallProgress,
    ModelSource,
    Report,
)


def _check_space(models: Path, need: int) -> None:
    free = shutil.disk_usage(models).free
    if free < need:
        raise InstallError(
            f"not enough free disk space in {models}: the install needs about"
            f" {need / 1e6:,.0f} MB, {free / 1e6:,.0f} MB are free"
        )


def install_model(
    source: ModelSource = DEFAULT_SOURCE,
    *,
    models_dir: str | os.PathLike[str] | None = None,
    hub_url: str | None = None,
    on_progress: Report | None = None,
    cancel: threading.Event | None = None,
    python: str = sys.executable,
) -> Path:
    """Download, verify and convert ``source`` into ``<models>/<folder>``; returns that folder.

    Raises :class:`InstallError` with a one-line message (offline, 404, damaged download, no
    export extra, failed conversion, full disk) and :class:`InstallCancelled` when ``cancel`` is
    set (a partial download stays in ``<models>/.downloads`` and is resumed next time).
    """
    hub = resolve_hub(hub_url)
    models = Path(models_dir) if models_dir else default_models_dir()

    def report(p: InstallProgress) -> None:
        if on_progress is not None:
            on_progress(p)

    check_converter(python, safetensors=source.filename.endswith(".safetensors"))
    report(InstallProgress("connecting", message=f"Asking {host(hub)} about {source.repo}…"))
    size, sha = remote_file(source, hub)
    models.mkdir(parents=True, exist_ok=True)
    downloads = models / ".downloads"
    weights = downloads / f"{source.folder}-{source.filename}"
    if not weights.exists():
        part = weights.with_name(weights.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        # the rest of the download, then a bundle about as big as the weights, and some air
        _check_space(models, max(size - have, 0) + size + size // 10 + (64 << 20))
        report(InstallProgress("downloading", have, size))
        download(source, weights, size, hub, report, cancel)
    report(InstallProgress("verifying", 0, size, message="Checking the SHA-256…"))
    if sha256_of(weights, report, cancel) != sha:
        weights.unlink(missing_ok=True)
        raise InstallError(
            f"{source.filename} arrived damaged (its SHA-256 does not match the hub's);"
            " it was deleted: try again"
        )
    report(InstallProgress("converting", message="Converting to ONNX and checking it…"))
    final = models / source.folder
    scratch = Path(tempfile.mkdtemp(prefix=f".{source.folder}-", dir=models))
    try:
        bundle = scratch / "bundle"
        convert(source, weights, bundle, python, cancel, report)
        _record_source(bundle, f"huggingface:{source.label} sha256:{sha}")
        if cancel is not None and cancel.is_set():
            raise InstallCancelled("cancelled")
        # Swap: the previous bundle goes into the scratch folder (deleted with it below), so
        # at no point does a half bundle, or a second one, sit in models/.
        if final.exists():
            final.rename(scratch / "previous")
        bundle.rename(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    weights.unlink(missing_ok=True)
    report(InstallProgress("done", size, size, message=f"Installed in {final}"))
    return final


def _record_source(bundle: Path, source: str) -> None:
    """Note where the weights came from in the manifest (the converter saw only a temp file)."""
    try:
        manifest = load_bundle(bundle, verify_checksums=False).manifest
    except BundleError as exc:
        raise InstallError(f"the converted bundle is unusable: {exc}") from None
    write_manifest(bundle, dataclasses.replace(manifest, source=source))
