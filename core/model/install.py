"""Installing the real model: OpenAI CLIP ViT-B/32 from the Hugging Face hub, made into a bundle.

The only time ClipSeek goes online, and only when the user asks. Steps:

0. For weights ClipSeek cannot assemble itself (an architecture without a shipped template, or a
   trained CLIP4Clip head), the converter is looked for first (``torch``, ``open_clip``, ``onnx``
   in the Python that will convert): without the ``export`` extra nothing is downloaded.
1. **connecting**: the hub's file listing (``/api/models/<repo>/tree/<revision>``) gives the
   weights file's size and SHA-256 (its LFS object id). The default source also carries the
   SHA-256 and size ClipSeek expects, pinned to one hub commit: listing and pin must agree.
2. **downloading**: ``/<repo>/resolve/<revision>/<file>`` streamed to ``<models>/.downloads``,
   resumed with an HTTP Range request after an interruption or a cancel (a server that ignores
   Range sends the whole file again and the download starts over).
3. **verifying**: the SHA-256 of what arrived against the expected one; a mismatch deletes it.
4. **converting**: zero-shot CLIP of a templated architecture (ViT-B/32) is **assembled in this
   process without PyTorch** (:mod:`core.model.weights` reads the file, :mod:`core.model.assemble`
   fills the exporter's graph templates and checks them against a numpy reference); anything
   else runs ``python -m export.cli convert`` in a subprocess.
5. The bundle is moved into ``<models>/<folder>`` only when complete (a previous bundle there is
   replaced only then); the downloaded weights are deleted.

:func:`install_file` makes the same bundle from a weights file already on disk (copied from
another computer, or downloaded by hand): the pinned SHA-256 must match, unless the caller names
the architecture, which the tensors must then fit.

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
from collections.abc import Callable
from pathlib import Path

from core.model.assemble import TEMPLATE_HEAD, AssembleError, assemble, template_archs
from core.model.bundle import BundleError, load_bundle, write_manifest
from core.model.converter import check_converter, convert
from core.model.hub import download, host, remote_file, resolve_hub, sha256_of
from core.model.reference import ClipConfig, ClipWeightsError
from core.model.registry import models_dir as default_models_dir
from core.model.sources import (
    DEFAULT_SOURCE,
    InstallCancelled,
    InstallError,
    InstallProgress,
    ModelSource,
    Report,
)
from core.model.weights import WeightsError, read_weights


def check_space(models: Path, need: int) -> int:
    """Refuse an install that would fill the disk, before anything is downloaded; the bytes
    free otherwise (installs say both before they start)."""
    free = shutil.disk_usage(models).free
    if free < need:
        raise InstallError(
            f"not enough free disk space in {models}: the install needs about"
            f" {need / 1e6:,.0f} MB, {free / 1e6:,.0f} MB are free"
        )
    return free


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

    if not assembled_here(source):
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
        check_space(models, max(size - have, 0) + size + size // 10 + (64 << 20))
        report(InstallProgress("downloading", have, size))
        download(source, weights, size, hub, report, cancel)
    report(InstallProgress("verifying", 0, size, message="Checking the SHA-256…"))
    if sha256_of(weights, report, cancel) != sha:
        weights.unlink(missing_ok=True)
        raise InstallError(
            f"{source.filename} arrived damaged (its SHA-256 does not match the hub's);"
            " it was deleted: try again"
        )
    final = _make_bundle(
        source, weights, models, f"huggingface:{source.label} sha256:{sha}", python, cancel, report
    )
    weights.unlink(missing_ok=True)
    report(InstallProgress("done", size, size, message=f"Installed in {final}"))
    return final


def assembled_here(source: ModelSource) -> bool:
    """Whether ``source`` is made into a bundle in this process, without PyTorch."""
    return source.head == TEMPLATE_HEAD and source.arch in template_archs()


def _make_bundle(
    source: ModelSource,
    weights: Path,
    models: Path,
    origin: str,
    python: str,
    cancel: threading.Event | None,
    report: Report,
    unchanged: Callable[[], bool] | None = None,
) -> Path:
    """``weights`` made into ``<models>/<source.folder>``, replacing what is there only once the
    new bundle is complete (and, with ``unchanged``, only if the file was not changed meanwhile)."""
    final = models / source.folder
    scratch = Path(tempfile.mkdtemp(prefix=f".{source.folder}-", dir=models))
    try:
        bundle = scratch / "bundle"
        if assembled_here(source):
            report(
                InstallProgress("converting", message="Building the ONNX model and checking it…")
            )
            try:
                assemble(
                    read_weights(weights), source.arch, bundle,
                    precision=source.precision, name=source.name, source=origin,
                )  # fmt: skip
            except (WeightsError, AssembleError, ClipWeightsError) as exc:
                raise InstallError(f"the weights cannot be made into a model: {exc}") from None
        else:
            report(InstallProgress("converting", message="Converting to ONNX and checking it…"))
            convert(source, weights, bundle, python, cancel, report)
            _record_source(bundle, origin)
        if cancel is not None and cancel.is_set():
            raise InstallCancelled("cancelled")
        if unchanged is not None and not unchanged():
            raise InstallError(
                f"{weights.name} changed while it was being read (still being copied?);"
                " install it again once it is complete"
            )
        # Swap: the previous bundle goes into the scratch folder (deleted with it below), so
        # at no point does a half bundle, or a second one, sit in models/.
        if final.exists():
            final.rename(scratch / "previous")
        bundle.rename(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final


def install_file(
    path: str | os.PathLike[str],
    source: ModelSource = DEFAULT_SOURCE,
    *,
    arch: str | None = None,
    models_dir: str | os.PathLike[str] | None = None,
    on_progress: Report | None = None,
    cancel: threading.Event | None = None,
    python: str = sys.executable,
) -> Path:
    """A bundle from a weights file on disk (safetensors, or PyTorch's zip read without running
    its pickled code). Its SHA-256 must be ``source``'s pinned one; a file that is not (another
    copy, fine-tuned weights) is taken only when ``arch`` names what it is, and then gets a
    folder and a name of its own, so the pinned model is never replaced by something else.
    The file itself is left where it is."""
    weights = Path(path).expanduser()

    def report(p: InstallProgress) -> None:
        if on_progress is not None:
            on_progress(p)

    if not weights.is_file():
        raise InstallError(f"no weights file at {weights}")
    before = _identity(weights)
    size = before[0]
    report(InstallProgress("verifying", 0, size, message="Checking the SHA-256…"))
    sha = sha256_of(weights, report, cancel)
    if sha != source.sha256:
        if arch is None:
            raise InstallError(
                f"{weights.name} is not the file this ClipSeek expects for {source.name}"
                f" (SHA-256 {sha[:12]}…, expected {(source.sha256 or '?')[:12]}…); if it is other"
                " weights of a known architecture, name it with --arch (e.g. --arch ViT-B-32)"
            )
        try:
            ClipConfig.for_arch(arch)
        except ClipWeightsError as exc:
            raise InstallError(str(exc)) from None
        suffix = "-int8" if source.precision == "int8" else ""
        source = dataclasses.replace(
            source,
            arch=arch,
            head=TEMPLATE_HEAD,
            name=f"CLIP {arch} ({weights.name}){' (int8)' if suffix else ''}",
            folder=f"{arch.lower()}-{sha[:8]}{suffix}",
        )
    elif arch is not None and arch != source.arch:
        raise InstallError(f"{weights.name} is {source.name} ({source.arch}), not {arch}")
    if not assembled_here(source):
        check_converter(python, safetensors=weights.suffix == ".safetensors")
    models = Path(models_dir) if models_dir else default_models_dir()
    models.mkdir(parents=True, exist_ok=True)
    check_space(models, size + size // 10 + (64 << 20))
    final = _make_bundle(source, weights, models, f"file:{weights.name} sha256:{sha}", python,
                         cancel, report, lambda: _identity(weights) == before)  # fmt: skip
    report(InstallProgress("done", size, size, message=f"Installed in {final}"))
    return final


def _identity(path: Path) -> tuple[int, int, int, int]:
    """What changes when a file is written: size, modification time, inode, device."""
    try:
        st = path.stat()
    except OSError:
        return (-1, -1, -1, -1)
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def _record_source(bundle: Path, source: str) -> None:
    """Note where the weights came from in the manifest (the converter saw only a temp file)."""
    try:
        manifest = load_bundle(bundle, verify_checksums=False).manifest
    except BundleError as exc:
        raise InstallError(f"the converted bundle is unusable: {exc}") from None
    write_manifest(bundle, dataclasses.replace(manifest, source=source))


def already_installed(
    source: ModelSource, models_dir: str | os.PathLike[str] | None = None
) -> Path | None:
    """``source``'s folder when a complete copy of it is installed there already: a model bundle
    or a text tower whose manifest is sound and names the pinned weights (by SHA-256). Lets a
    second install (adding the multilingual model later) skip what is on disk instead of
    downloading 600 MB again. Checksums of the large files are not recomputed here: loading the
    model does that."""
    from core.model.text_tower import TOWER_MANIFEST, read_tower_manifest

    if not source.sha256:
        return None
    folder = (Path(models_dir) if models_dir else default_models_dir()) / source.folder
    try:
        if (folder / TOWER_MANIFEST).is_file():
            named = read_tower_manifest(folder).source
        else:
            named = load_bundle(folder, verify_checksums=False).manifest.source
    except BundleError:
        return None
    return folder if source.sha256 in named else None
