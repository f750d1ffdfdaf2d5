"""Where model bundles live and which one is used when the user names none.

Order: an explicit folder (``--model`` / the app's setting), then ``$CLIPSEEK_MODEL``, then the
first valid bundle installed under the platformdirs data folder's ``models/``. Later issues add
the bundled demo model as the last fallback.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.bundle import MANIFEST_NAME, BundleError
from core.paths import data_dir

MODEL_ENV = "CLIPSEEK_MODEL"


def models_dir() -> Path:
    return data_dir() / "models"


def installed_bundles() -> list[Path]:
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / MANIFEST_NAME).is_file())


def resolve_model(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The bundle folder to use, or a :class:`BundleError` saying how to get one."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env).expanduser()
    found = installed_bundles()
    if found:
        return found[0]
    raise BundleError(
        f"no model installed: put a bundle in {models_dir()} or pass --model DIR"
        " (make one with `clipseek-export convert`)"
    )
