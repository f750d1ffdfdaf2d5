"""What was dropped on the window: paths that name the real files, and what to do with them.

``QUrl.toLocalFile`` decodes a dropped ``file://`` URL as UTF-8 and silently drops what does not
decode, so a file named ``bad\\xff.mp4`` (old USB sticks, SMB shares) would arrive as
``bad.mp4`` — another file, or none. The ``text/uri-list`` payload holds the name's own bytes,
percent-encoded; decoding those ourselves gives Python's lossless name (surrogate escapes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from PySide6.QtCore import QMimeData

from core import is_candidate, read_head

URI_LIST = "text/uri-list"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}


@dataclass
class DropPlan:
    """A drop sorted: folders and videos join the library, a lone picture is a search, the
    rest is named back to the user."""

    add: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def search_image(self) -> str | None:
        """The picture to search by: only when the drop held pictures and nothing else."""
        return self.images[0] if self.images and not self.add and not self.refused else None


def _head(path: Path) -> bytes:
    try:
        return read_head(path)
    except OSError:
        return b""


def plan_drop(paths: list[str]) -> DropPlan:
    """Sort dropped paths; a video is recognised by its first bytes, not only its name."""
    plan = DropPlan()
    for p in paths:
        path = Path(p)
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            plan.images.append(p)
        elif path.is_dir() or (path.is_file() and is_candidate(path, _head(path))):
            plan.add.append(p)
        else:
            plan.refused.append(p)
    return plan


def paths_from_uri_list(raw: bytes) -> list[str]:
    """Local paths in a ``text/uri-list`` payload (RFC 2483: CRLF lines, ``#`` comments)."""
    paths = []
    for line in raw.splitlines():
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        parts = urlsplit(line)
        if parts.scheme.lower() != b"file" or parts.netloc not in (b"", b"localhost"):
            continue
        paths.append(os.fsdecode(unquote_to_bytes(parts.path)))
    return paths


def dropped_paths(mime: QMimeData) -> list[str]:
    """Every local file or folder in a drop, names intact."""
    if mime.hasFormat(URI_LIST):
        paths = paths_from_uri_list(bytes(mime.data(URI_LIST).data()))
        if paths:
            return paths
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
