"""Installing a Whisper speech model (CTranslate2 format) from the Hugging Face hub.

The CLIP install's steps (:mod:`core.model.install`), for a model that needs no conversion:
``Systran/faster-whisper-<size>`` is already in CTranslate2's format (``model.bin``,
``config.json``, ``tokenizer.json``, ``vocabulary.txt``; MIT, like OpenAI's Whisper weights).

1. **connecting**: the hub's listing of the pinned commit gives every file's size and checksum:
   ``model.bin``'s SHA-256 (its LFS id, which must be the pinned one where ClipSeek pins it), the
   small files' git blob ids. The disk space the install needs is said (and checked) before
   anything is downloaded.
2. **downloading**: ``model.bin`` streamed to ``<models>/.downloads`` and resumed with an HTTP
   Range request after an interruption or a cancel (the ``.part`` file stays); then the small
   files, whole, each checked against its git blob id.
3. **verifying**: the SHA-256 of ``model.bin``; a mismatch deletes it.
4. The files and ``speech_model.json`` (ClipSeek's own record: name, size, repository, commit,
   every file's SHA-256 and size, the manifest's own checksum) go into a scratch folder, which
   becomes ``<models>/whisper-<size>`` only when complete; a previous copy is replaced only then.

The folder is not a CLIP bundle (no ``manifest.json``) nor a text tower (no ``text_tower.json``),
so neither :func:`core.model.registry.installed_bundles` nor the text towers' search looks at it;
:func:`installed_speech_models` finds it by its ``speech_model.json``, and
:func:`load_speech_model` checks it before the Whisper runtime opens it.

Every failure is one :class:`InstallError` line (a cancel is :class:`InstallCancelled`); a folder
that does not check out is a :class:`SpeechModelError`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.model.bundle import (
    CHECKSUM_FIELD,
    BundleError,
    FileEntry,
    manifest_checksum,
    sha256_file,
)
from core.model.hub import (
    Companion,
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
from core.model.part_manifest import checked_field, read_checked, verify_files, write_atomically
from core.model.registry import models_dir as default_models_dir
from core.model.sources import (
    InstallCancelled,
    InstallError,
    InstallProgress,
    ModelSource,
    Report,
)

SPEECH_MANIFEST = "speech_model.json"
SPEECH_FORMAT = "clipseek-speech-model"
SPEECH_FORMAT_VERSION = 1
#: CTranslate2's weights; the small files of the same commit that the runtime reads beside it.
MODEL_FILE = "model.bin"
SPEECH_COMPANIONS = ("config.json", "tokenizer.json", "vocabulary.txt")
SPEECH_SIZES = ("tiny", "base", "small")


class SpeechModelError(BundleError):
    """An installed speech model that cannot be used; the message is one line."""


@dataclass(frozen=True)
class SpeechSource:
    """Where one Whisper size lives on the hub, pinned to one commit."""

    size: str
    repo: str
    revision: str
    #: ``model.bin``'s SHA-256 as this ClipSeek knows it (None: trust the listing of the pinned
    #: commit, which still gives every file's checksum).
    sha256: str | None
    #: What the install downloads, all files together, for people (the listing gives the exact
    #: sizes).
    download_bytes: int

    @property
    def name(self) -> str:
        return f"Whisper {self.size}"

    @property
    def folder(self) -> str:
        return f"whisper-{self.size}"

    @property
    def hub_source(self) -> ModelSource:
        """The same files as :mod:`core.model.hub` fetches them."""
        return ModelSource(
            repo=self.repo,
            filename=MODEL_FILE,
            arch=f"whisper-{self.size}",
            name=self.name,
            folder=self.folder,
            head="",
            revision=self.revision,
            sha256=self.sha256,
            companions=SPEECH_COMPANIONS,
        )


#: Systran's CTranslate2 conversions of OpenAI's Whisper (MIT), float16 weights (CTranslate2
#: converts them to int8 on a processor as it loads them). Pins, as read from the hub's pages:
#:
#: - tiny: commit d90ca5fe… (``main``); ``model.bin`` 75.5 MB, SHA-256 dcb76c65… (its LFS
#:   pointer on huggingface.co/Systran/faster-whisper-tiny/blob/d90ca5fe…/model.bin).
#: - base: commit a80717a3… ("Disable the generation of task tokens", the last commit that
#:   changed a file other than README.md; ``main`` is ebe41f7, README edits only). Its
#:   ``model.bin`` (145 MB) SHA-256 was not found in any page read: None, the listing of the
#:   pinned commit is trusted.
#: - small: commit 536b0662… (``main``); ``model.bin`` 484 MB, SHA-256 3e305921… as two mirrors
#:   that copied it unchanged give it (pinecoresystems/faster-whisper-small,
#:   eemmooo/faster-whisper-small "Duplicate from Systran/faster-whisper-small").
SPEECH_SOURCES: dict[str, SpeechSource] = {
    "tiny": SpeechSource(
        size="tiny",
        repo="Systran/faster-whisper-tiny",
        revision="d90ca5fe260221311c53c58e660288d3deb8d356",
        sha256="dcb76c6586fc06cbdac6dd21f14cfd129cc4cdd9dce19bf4ffa62e59cbe6e6d1",
        download_bytes=78_000_000,
    ),
    "base": SpeechSource(
        size="base",
        repo="Systran/faster-whisper-base",
        revision="a80717a3a48b1b28aa687bca146cb7301feae1b1",
        sha256=None,
        download_bytes=148_000_000,
    ),
    "small": SpeechSource(
        size="small",
        repo="Systran/faster-whisper-small",
        revision="536b0662742c02347bc0e980a01041f333bce120",
        sha256="3e305921506d8872816023e4c273e75d2419fb89b24da97b4fe7bce14170d671",
        download_bytes=486_000_000,
    ),
}


def speech_source(size: str | SpeechSource) -> SpeechSource:
    if isinstance(size, SpeechSource):
        return size
    try:
        return SPEECH_SOURCES[size]
    except KeyError:
        raise InstallError(
            f"speech models come in {', '.join(SPEECH_SIZES)}; there is no {size!r}"
        ) from None


# -- the manifest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechManifest:
    """What an installed speech model says about itself. Field names are the JSON keys."""

    name: str
    size: str
    repo: str
    revision: str
    files: Mapping[str, FileEntry]
    created: str = ""
    runtime: str = "ctranslate2"
    format: str = SPEECH_FORMAT
    format_version: int = SPEECH_FORMAT_VERSION

    @property
    def identity(self) -> str:
        """What a transcript made with it depends on: the name and the weights' SHA-256."""
        return f"{self.name} sha256:{self.files[MODEL_FILE].sha256}"

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "format": self.format,
            "format_version": self.format_version,
            "name": self.name,
            "size": self.size,
            "runtime": self.runtime,
            "repo": self.repo,
            "revision": self.revision,
            "created": self.created,
            "files": {k: {"sha256": v.sha256, "bytes": v.bytes} for k, v in self.files.items()},
        }
        data[CHECKSUM_FIELD] = manifest_checksum(data)
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write_manifest(root: Path, manifest: SpeechManifest) -> None:
    write_atomically(root / SPEECH_MANIFEST, manifest.to_json())


def _field(data: Mapping[str, Any], key: str, kind: type, where: Path) -> Any:
    return checked_field(data, key, kind, where, SpeechModelError)


def read_speech_manifest(root: str | os.PathLike[str]) -> SpeechManifest:
    """Parse and check ``root/speech_model.json`` (not the files it lists); one-line errors."""
    where = Path(root) / SPEECH_MANIFEST
    data, version, files = read_checked(
        where, fmt=SPEECH_FORMAT, version=SPEECH_FORMAT_VERSION, kind="speech model",
        required=(MODEL_FILE, *SPEECH_COMPANIONS), error=SpeechModelError,
    )  # fmt: skip
    return SpeechManifest(
        name=_field(data, "name", str, where),
        size=_field(data, "size", str, where),
        repo=_field(data, "repo", str, where),
        revision=_field(data, "revision", str, where),
        files=files,
        created=str(data.get("created", "")),
        runtime=str(data.get("runtime", "ctranslate2")),
        format_version=version,
    )


@dataclass(frozen=True)
class SpeechModel:
    """An installed speech model that checked out: its folder (what
    ``ctranslate2.models.Whisper`` opens) and its manifest."""

    root: Path
    manifest: SpeechManifest

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def identity(self) -> str:
        return self.manifest.identity


def load_speech_model(
    folder: str | os.PathLike[str], *, verify_checksums: bool = True
) -> SpeechModel:
    """Check an installed speech model before it is used: ``speech_model.json`` sound, every
    file it lists present with its size and (``verify_checksums``) its SHA-256. One-line
    :class:`SpeechModelError` otherwise."""
    root = Path(folder).expanduser()
    manifest = read_speech_manifest(root)
    verify_files(
        root, manifest.files, kind="speech model", manifest_name=SPEECH_MANIFEST,
        checksums=verify_checksums, advice="; install it again", error=SpeechModelError,
    )  # fmt: skip
    return SpeechModel(root, manifest)


def installed_speech_models(models_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The speech model folders under the models folder whose ``speech_model.json`` reads well
    (files not hashed here), smallest model first."""
    root = Path(models_dir) if models_dir else default_models_dir()
    if not root.is_dir():
        return []
    found: list[tuple[int, str, Path]] = []
    for path in root.iterdir():
        if not (path / SPEECH_MANIFEST).is_file():
            continue
        try:
            size = read_speech_manifest(path).size
        except SpeechModelError:
            continue
        rank = SPEECH_SIZES.index(size) if size in SPEECH_SIZES else len(SPEECH_SIZES)
        found.append((rank, path.name, path))
    return [path for _, _, path in sorted(found)]


def installed_speech(
    size: str | SpeechSource, models_dir: str | os.PathLike[str] | None = None
) -> Path | None:
    """``size``'s folder when the pinned model is installed there already, complete (sizes
    checked, not checksums: loading does that), so that a second install skips it."""
    source = speech_source(size)
    folder = (Path(models_dir) if models_dir else default_models_dir()) / source.folder
    try:
        manifest = load_speech_model(folder, verify_checksums=False).manifest
    except SpeechModelError:
        return None
    same = (manifest.repo, manifest.revision) == (source.repo, source.revision)
    if not same or (source.sha256 and manifest.files[MODEL_FILE].sha256 != source.sha256):
        return None
    return folder


# -- the install ------------------------------------------------------------------------------

#: Beside the download: the manifest, the file system's slack.
_AIR = 16 << 20


def _check_config(path: Path, source: SpeechSource) -> None:
    """CTranslate2's Whisper ``config.json`` is a JSON object (alignment heads, language ids)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InstallError(f"{source.repo}'s config.json is unreadable ({exc})") from None
    if not isinstance(config, dict):
        raise InstallError(f"{source.repo}'s config.json is not a CTranslate2 model's config")


def install_speech(
    size: str | SpeechSource,
    *,
    models_dir: str | os.PathLike[str] | None = None,
    hub_url: str | None = None,
    on_progress: Report | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download and check Whisper ``size`` (tiny, base, small) into ``<models>/whisper-<size>``;
    returns that folder. Raises :class:`InstallError` with one line (offline, 404, a file other
    than the pinned one, a damaged download, a full disk) and :class:`InstallCancelled` when
    ``cancel`` is set (a partial ``model.bin`` stays in ``<models>/.downloads`` and is resumed
    next time)."""
    source = speech_source(size)
    hub = resolve_hub(hub_url)
    models = Path(models_dir) if models_dir else default_models_dir()
    remote = source.hub_source

    def report(p: InstallProgress) -> None:
        if on_progress is not None:
            on_progress(p)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise InstallCancelled("cancelled; the download resumes next time")

    report(InstallProgress("connecting", message=f"Asking {host(hub)} about {source.repo}…"))
    entries = listing(remote, hub)
    weights_size, sha = remote_file(remote, hub, entries)
    small = [companion(entries, remote, name, hub) for name in SPEECH_COMPANIONS]
    models.mkdir(parents=True, exist_ok=True)
    downloads = models / ".downloads"
    weights = downloads / f"{source.folder}-{MODEL_FILE}"
    part = weights.with_name(weights.name + ".part")
    have = weights_size if weights.exists() else (part.stat().st_size if part.exists() else 0)
    # the rest of model.bin and the small files; the folder is made by moving them (no copy)
    need = max(weights_size - have, 0) + sum(c.size for c in small) + _AIR
    free = check_space(models, need)
    report(
        InstallProgress(
            "connecting",
            message=f"{source.name}: {need / 1e6:,.0f} MB needed in {models},"
            f" {free / 1e6:,.0f} MB free",
        )
    )
    if not weights.exists():
        report(InstallProgress("downloading", have, weights_size))
        download(remote, weights, weights_size, hub, report, cancel)
    files: dict[str, Path] = {}
    for item in small:
        check_cancel()
        report(
            InstallProgress(
                "downloading", weights_size, weights_size, message=f"Fetching {item.filename}…"
            )
        )
        files[item.filename] = downloads / f"{source.folder}-{item.filename}"
        fetch_companion(remote, item, files[item.filename], hub)
    report(InstallProgress("verifying", 0, weights_size, message="Checking the SHA-256…"))
    if sha256_of(weights, report, cancel) != sha:
        weights.unlink(missing_ok=True)
        raise InstallError(
            f"{MODEL_FILE} arrived damaged (its SHA-256 does not match the hub's);"
            " it was deleted: try again"
        )
    _check_config(files["config.json"], source)
    check_cancel()  # the last moment: what follows only moves files and swaps folders
    final = _make_folder(source, weights, sha, files, small, models)
    report(InstallProgress("done", weights_size, weights_size, message=f"Installed in {final}"))
    return final


def _make_folder(
    source: SpeechSource,
    weights: Path,
    sha: str,
    files: dict[str, Path],
    small: list[Companion],
    models: Path,
) -> Path:
    """The checked files moved into ``<models>/<folder>`` with their manifest, replacing what
    is there only once the new folder is complete."""
    final = models / source.folder
    scratch = Path(tempfile.mkdtemp(prefix=f".{source.folder}-", dir=models))
    try:
        folder = scratch / "model"
        folder.mkdir()
        entries = {MODEL_FILE: FileEntry(sha256=sha, bytes=weights.stat().st_size)}
        for item in small:
            path = files[item.filename]
            # a git file was checked by its blob id; the manifest keeps its SHA-256
            entries[item.filename] = FileEntry(sha256_file(path), path.stat().st_size)
        weights.replace(folder / MODEL_FILE)
        for name, path in files.items():
            path.replace(folder / name)
        _write_manifest(
            folder,
            SpeechManifest(
                name=source.name,
                size=source.size,
                repo=source.repo,
                revision=source.revision,
                files=entries,
                created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            ),
        )
        # Swap: the previous copy goes into the scratch folder (deleted with it below), so at
        # no point does a half model, or a second one, sit in models/.
        if final.exists():
            final.rename(scratch / "previous")
        folder.rename(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final
