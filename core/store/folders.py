"""How watched folders are named and which one holds a path: one rule for sync, removing a
folder and limiting a search to folders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def canonical(path: str | os.PathLike[str]) -> str:
    """How a folder is named in the catalog: absolute, symlinks resolved, ``~`` expanded."""
    return str(Path(path).expanduser().resolve())


def owner(path: str, roots: Sequence[tuple[int, str]]) -> int | None:
    """The most specific watched root (id, path) containing ``path``, or None."""
    best: tuple[int, int] | None = None
    for fid, root in roots:
        within = path == root or path.startswith(root.rstrip(os.sep) + os.sep)
        if within and (best is None or len(root) > best[1]):
            best = (fid, len(root))
    return None if best is None else best[0]
