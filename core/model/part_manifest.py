"""The checked JSON manifest of a model part that is not a bundle: a text tower
(``text_tower.json``) or a speech model (``speech_model.json``).

Both are read and verified the same way as a bundle's manifest (:mod:`core.model.bundle`): a
format name and version, the manifest's own checksum (an edited file is refused), every listed
file's size and SHA-256, file names that stay inside the folder. One reader serves both, so a
check added for one (plain file names, a size that is not a boolean) holds for the other. Each
error is one line of the caller's :class:`~core.model.bundle.BundleError` subclass.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from core.model.bundle import (
    CHECKSUM_FIELD,
    BundleError,
    FileEntry,
    manifest_checksum,
    sha256_file,
)


def checked_field(
    data: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    where: Path,
    error: type[BundleError] = BundleError,
) -> Any:
    """``data[key]`` of type ``kind`` (a boolean is never an int here), or ``error``."""
    value = data.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, kind):
        raise error(f"{where}: field {key!r} is missing or has the wrong type")
    return value


def read_checked(
    where: Path,
    *,
    fmt: str,
    version: int,
    kind: str,
    required: Iterable[str],
    error: type[BundleError] = BundleError,
) -> tuple[dict[str, Any], int, dict[str, FileEntry]]:
    """The manifest at ``where`` (its JSON object, format version and file entries), checked:
    readable, of format ``fmt`` no newer than ``version``, its checksum intact, every file entry
    a plain name with a SHA-256 and a size, the ``required`` files listed. ``kind`` names the
    part for people ("text tower", "speech model")."""
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{where}: missing; this folder is not a {kind}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{where}: unreadable ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise error(f"{where}: not a ClipSeek {kind} (format != {fmt!r})")
    found = checked_field(data, "format_version", int, where, error)
    if found > version:
        raise error(f"{where}: {kind} format {found} is newer than this ClipSeek's")
    stored = data.get(CHECKSUM_FIELD)
    if not isinstance(stored, str) or stored != manifest_checksum(data):
        raise error(f"{where} was edited after it was written (its checksum does not match)")
    files: dict[str, FileEntry] = {}
    for name, entry in checked_field(data, "files", dict, where, error).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise error(f"{where}: file entry {name!r} lacks a sha256")
        size = entry.get("bytes")
        if not isinstance(size, int) or isinstance(size, bool):
            raise error(f"{where}: file entry {name!r} lacks a size")
        if Path(name).name != name:
            raise error(f"{where}: file entry {name!r} is not a plain file name")
        files[name] = FileEntry(sha256=entry["sha256"], bytes=size)
    for name in required:
        if name not in files:
            raise error(f"{where}: does not list required file {name}")
    return data, found, files


def verify_files(
    root: Path,
    files: Mapping[str, FileEntry],
    *,
    kind: str,
    manifest_name: str,
    checksums: bool = True,
    advice: str = "",
    error: type[BundleError] = BundleError,
) -> None:
    """Every listed file present in ``root``, of its size and (``checksums``) its SHA-256;
    ``advice`` ends each message ("; install it again")."""
    for name, entry in files.items():
        path = root / name
        if not path.is_file():
            raise error(f"{path}: missing from the {kind}{advice}")
        if path.stat().st_size != entry.bytes:
            raise error(
                f"{path}: size differs from {manifest_name} (truncated or replaced){advice}"
            )
        if checksums and sha256_file(path) != entry.sha256:
            raise error(f"{path}: checksum mismatch (the file was modified or corrupted){advice}")


def write_atomically(path: Path, text: str) -> None:
    """Write a manifest aside and rename it in: a reader never sees half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
