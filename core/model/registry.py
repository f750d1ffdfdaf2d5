"""Where model bundles live and which one is used when the user names none.

Order: an explicit folder (``--model`` / the app's setting), then ``$CLIPSEEK_MODEL``, then the
first valid bundle installed under the platformdirs data folder's ``models/``, and last the demo
model shipped in ``resources/models/demo`` (a small model trained on the synthetic benchmark: it
understands coloured shapes, not your footage, but it lets the app work out of the box).
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

from core.model.bundle import MANIFEST_NAME, BundleError
from core.paths import data_dir

MODEL_ENV = "CLIPSEEK_MODEL"
#: The bundled demo model; a module attribute so that tests can pretend it is absent.
#: Found through ``importlib.resources``, as the tokenizer's vocabulary is: no path arithmetic
#: that breaks when a module moves or the app is installed as a wheel.
DEMO_MODEL = Path(str(importlib.resources.files("resources").joinpath("models", "demo")))


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
    if (DEMO_MODEL / MANIFEST_NAME).is_file():
        return DEMO_MODEL
    raise BundleError(
        f"no model installed: put a bundle in {models_dir()} or pass --model DIR"
        " (make one with `clipseek-export convert`)"
    )
