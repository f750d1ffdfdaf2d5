"""What was dropped on the window, as paths that name the real files.

``QUrl.toLocalFile`` decodes a dropped ``file://`` URL as UTF-8 and silently drops what does not
decode, so a file named ``bad\\xff.mp4`` (old USB sticks, SMB shares) would arrive as
``bad.mp4`` — another file, or none. The ``text/uri-list`` payload holds the name's own bytes,
percent-encoded; decoding those ourselves gives Python's lossless name (surrogate escapes).
"""

from __future__ import annotations

import os
from urllib.parse import unquote_to_bytes, urlsplit

from PySide6.QtCore import QMimeData

URI_LIST = "text/uri-list"


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
