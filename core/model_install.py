"""Installing the real model: OpenAI CLIP ViT-B/32 from the Hugging Face hub, made into a bundle.

The only time ClipSeek goes online, and only when the user asks. Steps:

1. **connecting**: the hub's file listing (``/api/models/<repo>/tree/<revision>``) gives the
   weights file's size and SHA-256 (its LFS object id), so the download can be verified.
2. **downloading**: ``/<repo>/resolve/<revision>/<file>`` streamed to ``<models>/.downloads``,
   resumed with an HTTP Range request after an interruption or a cancel.
3. **verifying**: the SHA-256 of what arrived against the hub's; a mismatch deletes the file.
4. **converting**: ``python -m export.cli convert`` in a subprocess (PyTorch stays out of the
   app's process), which checks ONNX Runtime against PyTorch before it writes the bundle.
5. The bundle is moved into ``<models>/<folder>`` only when complete; the weights are deleted.

No torch, no Qt: the CLI (``clipseek install-model``) and the app's dialog both call
:func:`install_model`.
"""

from __future__ import annotations

import hashlib
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

from core.models import models_dir as default_models_dir

HUB_ENV = "CLIPSEEK_HUB_URL"
DEFAULT_HUB = "https://huggingface.co"
CHUNK = 1 << 20
TIMEOUT = 30.0


class InstallError(RuntimeError):
    """The model could not be installed; the message says why in one line."""


class InstallCancelled(InstallError):
    pass


@dataclass(frozen=True)
class ModelSource:
    repo: str
    filename: str
    arch: str
    name: str
    folder: str
    head: str = "meanP"
    revision: str = "main"


#: OpenAI's CLIP ViT-B/32 as open_clip publishes it on the hub (pickle-free safetensors).
DEFAULT_SOURCE = ModelSource(
    repo="timm/vit_base_patch32_clip_224.openai",
    filename="open_clip_model.safetensors",
    arch="ViT-B-32",
    name="OpenAI CLIP ViT-B/32",
    folder="clip-vit-b32",
)


@dataclass(frozen=True)
class InstallProgress:
    stage: str  # 'connecting' | 'downloading' | 'verifying' | 'converting' | 'done'
    bytes_done: int = 0
    bytes_total: int = 0
    bytes_per_second: float = 0.0
    eta_seconds: float | None = None
    message: str = ""


def resolve_hub(explicit: str | None = None) -> str:
    return (explicit or os.environ.get(HUB_ENV) or DEFAULT_HUB).rstrip("/")


def _host(hub: str) -> str:
    return urllib.parse.urlparse(hub).netloc or hub


def _open(url: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers={"User-Agent": "ClipSeek", **(headers or {})})
    return urllib.request.urlopen(request, timeout=TIMEOUT)


def _explain(exc: Exception, hub: str, what: str) -> InstallError:
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in (401, 403, 404):
            return InstallError(f"{what} was not found on {_host(hub)} (HTTP {exc.code})")
        return InstallError(f"{_host(hub)} answered HTTP {exc.code} for {what}; try again later")
    return InstallError(
        f"cannot reach the Hugging Face hub ({_host(hub)}): check your internet connection;"
        " nothing was changed"
    )


def remote_file(source: ModelSource, hub: str) -> tuple[int, str]:
    """(size, sha256) of the weights file, from the hub's file listing."""
    url = f"{hub}/api/models/{source.repo}/tree/{source.revision}"
    try:
        with _open(url) as response:
            listing = json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise _explain(exc, hub, source.repo) from None
    except ValueError:
        raise InstallError(
            f"{_host(hub)} sent an unreadable file listing for {source.repo}"
        ) from None
    for entry in listing if isinstance(listing, list) else []:
        if isinstance(entry, dict) and entry.get("path") == source.filename:
            lfs = entry.get("lfs") or {}
            sha = lfs.get("oid") or lfs.get("sha256")
            size = lfs.get("size", entry.get("size"))
            if not sha or size is None:
                raise InstallError(f"the hub lists no checksum for {source.filename}")
            return int(size), str(sha)
    raise InstallError(f"{source.repo} on {_host(hub)} has no file {source.filename}")


def _sha256(path: Path, cancel: threading.Event | None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if cancel is not None and cancel.is_set():
                raise InstallCancelled("cancelled")
            digest.update(chunk)
    return digest.hexdigest()


def download(
    source: ModelSource,
    target: Path,
    size: int,
    hub: str,
    report: Callable[[InstallProgress], None],
    cancel: threading.Event | None,
) -> None:
    """Fetch the weights into ``target`` (a ``.part`` file beside it while incomplete)."""
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
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise _explain(exc, hub, source.filename) from None
    with response:
        resumed = response.status == 206
        mode = "ab" if resumed else "wb"
        done = have if resumed else 0
        started, last = time.monotonic(), 0.0
        first = done
        try:
            with part.open(mode) as fh:
                while True:
                    if cancel is not None and cancel.is_set():
                        raise InstallCancelled("cancelled; the download resumes next time")
                    chunk = response.read(CHUNK)
                    if not chunk:
                        break
                    fh.write(chunk)
                    done += len(chunk)
                    now = time.monotonic()
                    if now - last >= 0.2 or done == size:
                        last = now
                        rate = (done - first) / max(now - started, 1e-6)
                        eta = (size - done) / rate if rate > 0 else None
                        report(InstallProgress("downloading", done, size, rate, eta))
        except (TimeoutError, OSError) as exc:
            raise InstallError(
                f"the download of {source.filename} broke off ({exc}); try again to resume it"
            ) from None
    if done != size:
        raise InstallError(
            f"the download of {source.filename} stopped at {done} of {size} bytes;"
            " try again to resume it"
        )
    part.replace(target)


def convert(
    source: ModelSource, weights: Path, out: Path, python: str, cancel: threading.Event | None
) -> None:
    """Run ``export.cli convert`` in another process: torch never enters the app."""
    check = subprocess.run(
        [python, "-c", "import torch, open_clip, onnx"], capture_output=True, check=False
    )
    if check.returncode != 0:
        raise InstallError(
            "converting the weights needs the export extra: pip install 'clipseek[export]'"
        )
    command = [
        python, "-m", "export.cli", "convert", "--checkpoint", str(weights),
        "--arch", source.arch, "--head", source.head, "--name", source.name, "--out", str(out),
    ]  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    while proc.poll() is None:
        if cancel is not None and cancel.is_set():
            proc.kill()
            proc.wait()
            raise InstallCancelled("cancelled")
        time.sleep(0.1)
    output = proc.stdout.read().decode("utf-8", "replace") if proc.stdout else ""
    if proc.returncode != 0:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        raise InstallError(
            f"converting the weights failed: {lines[-1] if lines else proc.returncode}"
        )


def install_model(
    source: ModelSource = DEFAULT_SOURCE,
    *,
    models_dir: str | os.PathLike[str] | None = None,
    hub_url: str | None = None,
    on_progress: Callable[[InstallProgress], None] | None = None,
    cancel: threading.Event | None = None,
    python: str = sys.executable,
) -> Path:
    """Download, verify and convert ``source`` into ``<models>/<folder>``; returns that folder."""
    hub = resolve_hub(hub_url)
    models = Path(models_dir) if models_dir else default_models_dir()

    def report(p: InstallProgress) -> None:
        if on_progress is not None:
            on_progress(p)

    report(InstallProgress("connecting", message=f"Asking {_host(hub)} about {source.repo}…"))
    size, sha = remote_file(source, hub)
    downloads = models / ".downloads"
    weights = downloads / f"{source.folder}-{source.filename}"
    if not weights.exists():
        report(InstallProgress("downloading", 0, size))
        download(source, weights, size, hub, report, cancel)
    report(InstallProgress("verifying", size, size, message="Checking the SHA-256…"))
    if _sha256(weights, cancel) != sha:
        weights.unlink(missing_ok=True)
        raise InstallError(
            f"{source.filename} arrived damaged (its SHA-256 does not match the hub's);"
            " it was deleted: try again"
        )
    report(InstallProgress("converting", size, size, message="Converting to ONNX and checking it…"))
    scratch = Path(tempfile.mkdtemp(prefix=f".{source.folder}-", dir=models))
    try:
        convert(source, weights, scratch / "bundle", python, cancel)
        final = models / source.folder
        old = models / f".{source.folder}.old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        (scratch / "bundle").rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    weights.unlink(missing_ok=True)
    report(InstallProgress("done", size, size, message=f"Installed in {final}"))
    return final
