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
:func:`install_model`.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.model.bundle import BundleError, load_bundle, write_manifest
from core.model.registry import models_dir as default_models_dir

HUB_ENV = "CLIPSEEK_HUB_URL"
DEFAULT_HUB = "https://huggingface.co"
CHUNK = 1 << 20
TIMEOUT = 30.0
#: Python modules the conversion subprocess needs (the ``export`` extra plus our package).
CONVERTER_MODULES = ("torch", "open_clip", "onnx", "export")
EXPORT_EXTRA_HINT = "converting the weights needs the export extra: pip install 'clipseek[export]'"

STAGES = ("connecting", "downloading", "verifying", "converting", "done")


class InstallError(RuntimeError):
    """The model could not be installed; the message says why in one line."""


class InstallCancelled(InstallError):
    """The user cancelled; a partial download is kept and resumed next time."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights live on the hub and how to make a bundle of them."""

    repo: str
    filename: str
    arch: str
    name: str
    folder: str
    head: str = "meanP"
    revision: str = "main"
    #: The file's SHA-256 and size as this ClipSeek version knows them (None: trust the listing).
    sha256: str | None = None
    size: int | None = None

    @property
    def label(self) -> str:
        return f"{self.repo}@{self.revision[:12]}/{self.filename}"


#: OpenAI's CLIP ViT-B/32 as open_clip publishes it on the hub (pickle-free safetensors): the
#: file open_clip itself loads for ``create_model('ViT-B-32', pretrained='openai')``. Pinned to
#: one commit, so what users install never changes under them.
DEFAULT_SOURCE = ModelSource(
    repo="timm/vit_base_patch32_clip_224.openai",
    filename="open_clip_model.safetensors",
    arch="ViT-B-32",
    name="OpenAI CLIP ViT-B/32",
    folder="clip-vit-b32",
    revision="a6f597a30f7b82c51704746581f9a4e41421e878",
    sha256="e6d1bd7789aa45192b3bf90570a789b478bae1b74ebcce7eddd908e83a2b7c31",
    size=605_143_284,
)


@dataclass(frozen=True)
class InstallProgress:
    stage: str  # one of STAGES
    bytes_done: int = 0
    bytes_total: int = 0
    bytes_per_second: float = 0.0
    eta_seconds: float | None = None
    message: str = ""


Report = Callable[[InstallProgress], None]


def resolve_hub(explicit: str | None = None) -> str:
    """The hub's base URL: the argument, else ``$CLIPSEEK_HUB_URL``, else huggingface.co."""
    hub = (explicit or os.environ.get(HUB_ENV) or DEFAULT_HUB).strip().rstrip("/")
    if urllib.parse.urlparse(hub).scheme not in ("http", "https"):
        raise InstallError(f"the hub address must start with https:// or http://, not {hub!r}")
    return hub


def _host(hub: str) -> str:
    return urllib.parse.urlparse(hub).netloc or hub


def _open(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": "ClipSeek", **(headers or {})})
    return urllib.request.urlopen(request, timeout=TIMEOUT)


#: Errors of the network, the TLS layer or a server that broke the HTTP protocol.
_NET_ERRORS = (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError)


def _explain(exc: BaseException, hub: str, what: str) -> InstallError:
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in (401, 403, 404):
            return InstallError(f"{what} was not found on {_host(hub)} (HTTP {exc.code})")
        return InstallError(f"{_host(hub)} answered HTTP {exc.code} for {what}; try again later")
    return InstallError(
        f"cannot reach the Hugging Face hub ({_host(hub)}): check your internet connection;"
        " nothing was changed"
    )


def remote_file(source: ModelSource, hub: str) -> tuple[int, str]:
    """(size, sha256) of the weights file, from the hub's file listing (checked against a pin)."""
    url = f"{hub}/api/models/{source.repo}/tree/{urllib.parse.quote(source.revision, safe='')}"
    try:
        with _open(url) as response:
            listing = json.loads(response.read().decode("utf-8"))
    except _NET_ERRORS as exc:
        raise _explain(exc, hub, source.repo) from None
    except ValueError:
        raise InstallError(
            f"{_host(hub)} sent an unreadable file listing for {source.repo}"
        ) from None
    for entry in listing if isinstance(listing, list) else []:
        if isinstance(entry, dict) and entry.get("path") == source.filename:
            lfs: dict[str, Any] = entry["lfs"] if isinstance(entry.get("lfs"), dict) else {}
            sha = lfs.get("oid") or lfs.get("sha256") or source.sha256
            size = lfs.get("size", entry.get("size", source.size))
            if not sha or size is None:
                raise InstallError(f"the hub lists no SHA-256 for {source.filename}")
            sha, size = str(sha).lower(), int(size)
            if source.sha256 and (sha != source.sha256.lower() or size != source.size):
                raise InstallError(
                    f"{source.filename} on {_host(hub)} is not the file this ClipSeek expects"
                    f" (SHA-256 {sha[:12]}…, not {source.sha256[:12]}…); nothing was changed"
                )
            return size, sha
    raise InstallError(f"{source.repo} on {_host(hub)} has no file {source.filename}")


def _sha256(path: Path, report: Report, cancel: threading.Event | None) -> str:
    digest = hashlib.sha256()
    total, done, last = path.stat().st_size, 0, 0.0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if cancel is not None and cancel.is_set():
                raise InstallCancelled("cancelled")
            digest.update(chunk)
            done += len(chunk)
            if time.monotonic() - last >= 0.2:
                last = time.monotonic()
                report(InstallProgress("verifying", done, total, message="Checking the SHA-256…"))
    return digest.hexdigest()


def _content_range_start(value: str | None) -> int | None:
    """``bytes 100-999/1000`` → 100; anything unreadable → None."""
    try:
        return int(value.split()[1].split("-")[0]) if value else None
    except (IndexError, ValueError):
        return None


def download(
    source: ModelSource,
    target: Path,
    size: int,
    hub: str,
    report: Report,
    cancel: threading.Event | None,
) -> None:
    """Fetch the weights into ``target`` (a ``.part`` file beside it while incomplete).

    An existing ``.part`` is resumed with ``Range: bytes=N-``; a server that answers with the whole
    file (200) or a range starting elsewhere makes it start over. Cancelling keeps the ``.part``.
    """
    part = target.with_name(target.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    url = f"{hub}/{source.repo}/resolve/{source.revision}/{urllib.parse.quote(source.filename)}"
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = _open(url, headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have == size:  # already complete
            part.replace(target)
            return
        raise _explain(exc, hub, source.filename) from None
    except _NET_ERRORS as exc:
        raise _explain(exc, hub, source.filename) from None
    with response:
        resumed = response.status == 206 and (
            _content_range_start(response.headers.get("Content-Range")) == have
        )
        if response.status == 206 and not resumed:
            raise InstallError(
                f"{_host(hub)} sent an unexpected part of {source.filename}; try again"
            )
        done = have if resumed else 0
        started, last, first = time.monotonic(), 0.0, done
        try:
            with part.open("ab" if resumed else "wb") as fh:
                while True:
                    if cancel is not None and cancel.is_set():
                        raise InstallCancelled("cancelled; the download resumes next time")
                    # read1: what has arrived (≤ 1 MiB), so a cancel or a progress line never
                    # waits for a whole chunk on a slow line
                    chunk = response.read1(CHUNK)
                    if not chunk:
                        break
                    fh.write(chunk)
                    done += len(chunk)
                    now = time.monotonic()
                    if now - last >= 0.2 or done >= size:
                        last = now
                        rate = (done - first) / max(now - started, 1e-6)
                        eta = max(size - done, 0) / rate if rate > 0 else None
                        report(InstallProgress("downloading", done, size, rate, eta))
        except _NET_ERRORS as exc:
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                raise InstallError(f"the disk holding {part.parent} is full") from None
            raise InstallError(
                f"the download of {source.filename} broke off ({exc}); try again to resume it"
            ) from None
    if done != size:
        if done > size:
            part.unlink(missing_ok=True)
        raise InstallError(
            f"the download of {source.filename} stopped at {done:,} of {size:,} bytes;"
            " try again to resume it"
        )
    part.replace(target)


def _subprocess_env() -> dict[str, str]:
    """The environment for the converter: our package importable wherever it is installed."""
    root = Path(__file__).resolve().parents[2]  # the folder holding the core package
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(root), path) if p)}


def check_converter(python: str = sys.executable, *, safetensors: bool = True) -> None:
    """Raise :class:`InstallError` unless ``python`` can run the conversion (the export extra).

    Uses ``importlib.util.find_spec`` in that interpreter: nothing is imported, it takes
    milliseconds, so it runs before anything is downloaded.
    """
    modules = CONVERTER_MODULES + (("safetensors",) if safetensors else ())
    code = (
        "import importlib.util as u, sys\n"
        f"missing = [m for m in {modules!r} if u.find_spec(m) is None]\n"
        "print(' '.join(missing)); sys.exit(1 if missing else 0)\n"
    )
    try:
        check = subprocess.run(
            [python, "-c", code],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env=_subprocess_env(),
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallError(f"cannot run Python ({python}) to convert the weights: {exc}") from None
    if check.returncode != 0:
        missing = check.stdout.decode("utf-8", "replace").strip()
        raise InstallError(EXPORT_EXTRA_HINT + (f" (missing: {missing})" if missing else ""))


def _last_line(text: str) -> str:
    """The last line worth showing from a subprocess's output (skips tracebacks' noise)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if not line.startswith(("File ", "^", "~", "Traceback", "warnings.warn")):
            return line
    return lines[-1] if lines else ""


def convert(
    source: ModelSource,
    weights: Path,
    out: Path,
    python: str,
    cancel: threading.Event | None,
    report: Report | None = None,
) -> None:
    """Run ``export.cli convert`` in another process: torch never enters the app."""
    command = [
        python, "-m", "export.cli", "convert", "--checkpoint", str(weights),
        "--arch", source.arch, "--head", source.head, "--name", source.name, "--out", str(out),
    ]  # fmt: skip
    log_path = out.with_name(out.name + ".log")  # a file, not a pipe: a pipe can fill and block
    started = time.monotonic()
    with log_path.open("w+b") as log:
        try:
            proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=_subprocess_env(),
            )  # fmt: skip
        except OSError as exc:
            raise InstallError(f"cannot run Python ({python}) to convert: {exc}") from None
        try:
            while proc.poll() is None:
                if cancel is not None and cancel.is_set():
                    raise InstallCancelled("cancelled")
                if report is not None:
                    elapsed = round(time.monotonic() - started)
                    report(
                        InstallProgress(
                            "converting",
                            message=f"Converting to ONNX and checking it against PyTorch"
                            f" ({elapsed} s)…",
                        )
                    )
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        detail = _last_line(output) or f"exit status {proc.returncode}"
        if "No module named" in detail:
            raise InstallError(f"{EXPORT_EXTRA_HINT} ({detail})")
        raise InstallError(f"converting the weights failed: {detail}")


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
    report(InstallProgress("connecting", message=f"Asking {_host(hub)} about {source.repo}…"))
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
    if _sha256(weights, report, cancel) != sha:
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
