"""The only code that goes online: the Hugging Face hub's file listing and a resumable download
(HTTP Range), with every network failure said in one line. Only when the user asks to install.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.model.sources import InstallCancelled, InstallError, InstallProgress, ModelSource, Report

HUB_ENV = "CLIPSEEK_HUB_URL"
DEFAULT_HUB = "https://huggingface.co"
CHUNK = 1 << 20
TIMEOUT = 30.0


def resolve_hub(explicit: str | None = None) -> str:
    """The hub's base URL: the argument, else ``$CLIPSEEK_HUB_URL``, else huggingface.co."""
    hub = (explicit or os.environ.get(HUB_ENV) or DEFAULT_HUB).strip().rstrip("/")
    if urllib.parse.urlparse(hub).scheme not in ("http", "https"):
        raise InstallError(f"the hub address must start with https:// or http://, not {hub!r}")
    return hub


def host(hub: str) -> str:
    return urllib.parse.urlparse(hub).netloc or hub


def _open(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": "ClipSeek", **(headers or {})})
    return urllib.request.urlopen(request, timeout=TIMEOUT)


#: Errors of the network, the TLS layer or a server that broke the HTTP protocol.
_NET_ERRORS = (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError)


def _explain(exc: BaseException, hub: str, what: str) -> InstallError:
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in (401, 403, 404):
            return InstallError(f"{what} was not found on {host(hub)} (HTTP {exc.code})")
        return InstallError(f"{host(hub)} answered HTTP {exc.code} for {what}; try again later")
    return InstallError(
        f"cannot reach the Hugging Face hub ({host(hub)}): check your internet connection;"
        " nothing was changed"
    )


def listing(source: ModelSource, hub: str) -> list[dict[str, Any]]:
    """The hub's file listing of ``source.repo`` at ``source.revision`` (its top folder)."""
    url = f"{hub}/api/models/{source.repo}/tree/{urllib.parse.quote(source.revision, safe='')}"
    try:
        with _open(url) as response:
            data = json.loads(response.read().decode("utf-8"))
    except _NET_ERRORS as exc:
        raise _explain(exc, hub, source.repo) from None
    except ValueError:
        raise InstallError(
            f"{host(hub)} sent an unreadable file listing for {source.repo}"
        ) from None
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def _entry(entries: list[dict[str, Any]], source: ModelSource, filename: str, hub: str) -> Any:
    for entry in entries:
        if entry.get("path") == filename:
            return entry
    raise InstallError(f"{source.repo} on {host(hub)} has no file {filename}")


def remote_file(
    source: ModelSource, hub: str, entries: list[dict[str, Any]] | None = None
) -> tuple[int, str]:
    """(size, sha256) of the weights file, from the hub's file listing (checked against a pin:
    the SHA-256 always, the size where the pin has one)."""
    entries = listing(source, hub) if entries is None else entries
    entry = _entry(entries, source, source.filename, hub)
    lfs: dict[str, Any] = entry["lfs"] if isinstance(entry.get("lfs"), dict) else {}
    sha = lfs.get("oid") or lfs.get("sha256") or source.sha256
    size = lfs.get("size", entry.get("size", source.size))
    if not sha or size is None:
        raise InstallError(f"the hub lists no SHA-256 for {source.filename}")
    sha, size = str(sha).lower(), int(size)
    if source.sha256 and (
        sha != source.sha256.lower() or (source.size is not None and size != source.size)
    ):
        raise InstallError(
            f"{source.filename} on {host(hub)} is not the file this ClipSeek expects"
            f" (SHA-256 {sha[:12]}…, not {source.sha256[:12]}…); nothing was changed"
        )
    return size, sha


@dataclass(frozen=True)
class Companion:
    """A small file beside the weights (tokenizer.json, config.json) as the listing gives it:
    its size and either its git blob id (a file in git) or its SHA-256 (a file in LFS)."""

    filename: str
    size: int
    git_oid: str | None = None
    sha256: str | None = None


#: Companion files are read whole into memory: anything larger is not a tokenizer or a config.
MAX_COMPANION_BYTES = 64 << 20


def companion(
    entries: list[dict[str, Any]], source: ModelSource, filename: str, hub: str
) -> Companion:
    entry = _entry(entries, source, filename, hub)
    lfs = entry.get("lfs") if isinstance(entry.get("lfs"), dict) else None
    try:
        if lfs is not None:
            sha = str(lfs.get("oid") or lfs.get("sha256") or "").lower()
            return Companion(filename, int(lfs.get("size", entry.get("size"))), sha256=sha or None)
        oid = str(entry.get("oid") or "").lower()
        return Companion(filename, int(entry["size"]), git_oid=oid or None)
    except (KeyError, TypeError, ValueError):
        raise InstallError(f"the hub lists no size for {filename} of {source.repo}") from None


def git_blob_oid(data: bytes) -> str:
    """Git's id of a file's contents: SHA-1 of ``blob <size>\\0`` and the bytes (what the hub's
    listing gives as ``oid`` for a file kept in git rather than LFS)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def fetch_companion(source: ModelSource, item: Companion, target: Path, hub: str) -> None:
    """Download a small file of the same pinned revision whole, check its size and id against
    the listing, and write it to ``target`` (atomically). One-line errors."""
    if item.git_oid is None and item.sha256 is None:
        raise InstallError(f"the hub lists no checksum for {item.filename} of {source.repo}")
    if item.size > MAX_COMPANION_BYTES:
        raise InstallError(f"{item.filename} of {source.repo} is {item.size:,} bytes: too big")
    url = f"{hub}/{source.repo}/resolve/{source.revision}/{urllib.parse.quote(item.filename)}"
    try:
        with _open(url) as response:
            data = response.read(MAX_COMPANION_BYTES + 1)
    except _NET_ERRORS as exc:
        raise _explain(exc, hub, item.filename) from None
    fine = len(data) == item.size and (
        git_blob_oid(data) == item.git_oid
        if item.git_oid is not None
        else hashlib.sha256(data).hexdigest() == item.sha256
    )
    if not fine:
        raise InstallError(
            f"{item.filename} arrived damaged (it does not match the hub's listing); try again"
        )
    part = target.with_name(target.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(data)
    part.replace(target)


def sha256_of(path: Path, report: Report, cancel: threading.Event | None) -> str:
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
    filename: str | None = None,
) -> None:
    """Fetch the weights (or ``filename`` of the same revision) into ``target`` (a ``.part``
    file beside it while incomplete).

    An existing ``.part`` is resumed with ``Range: bytes=N-``; a server that answers with the whole
    file (200) or a range starting elsewhere makes it start over. Cancelling keeps the ``.part``.
    """
    filename = filename or source.filename
    part = target.with_name(target.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    url = f"{hub}/{source.repo}/resolve/{source.revision}/{urllib.parse.quote(filename)}"
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = _open(url, headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have == size:  # already complete
            part.replace(target)
            return
        raise _explain(exc, hub, filename) from None
    except _NET_ERRORS as exc:
        raise _explain(exc, hub, filename) from None
    with response:
        resumed = response.status == 206 and (
            _content_range_start(response.headers.get("Content-Range")) == have
        )
        if response.status == 206 and not resumed:
            raise InstallError(f"{host(hub)} sent an unexpected part of {filename}; try again")
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
                f"the download of {filename} broke off ({exc}); try again to resume it"
            ) from None
    if done != size:
        if done > size:
            part.unlink(missing_ok=True)
        raise InstallError(
            f"the download of {filename} stopped at {done:,} of {size:,} bytes;"
            " try again to resume it"
        )
    part.replace(target)
