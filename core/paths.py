"""Where ClipSeek keeps its files: per-user data and cache folders, never next to the videos.

``$CLIPSEEK_HOME`` moves everything (data and cache) under one folder — used by the tests and by
users who keep their library on another disk.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

APP_NAME = "ClipSeek"
HOME_ENV = "CLIPSEEK_HOME"


def data_dir() -> Path:
    """The per-user data folder (models, libraries)."""
    override = os.environ.get(HOME_ENV)
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, False))


def cache_dir() -> Path:
    """The per-user cache folder (thumbnails): everything in it can be regenerated."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override) / "cache"
    return Path(platformdirs.user_cache_dir(APP_NAME, False))


def config_dir() -> Path:
    """The per-user settings folder (the desktop app's settings file)."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override) / "config"
    return Path(platformdirs.user_config_dir(APP_NAME, False))


def logs_dir() -> Path:
    """Where the app writes its log (what a bug report needs)."""
    return data_dir() / "logs"


def libraries_dir() -> Path:
    return data_dir() / "libraries"


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (model names become folder names)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return cleaned or "model"
