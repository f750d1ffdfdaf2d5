"""The user's choices that the engine itself must honour, shared by the app and the CLI.

Only what decides *which library* is opened lives here: the sampling rate (frames per second)
videos are indexed at. The app's Settings dialog and ``clipseek index --rate`` write it, every
command and the window read it, so ``clipseek status`` after a change in the app looks at the
library the app uses. Window layout and other GUI choices stay in the app's own settings file.

One small JSON file in the per-user config folder, written atomically.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from core.paths import config_dir

FILE_NAME = "preferences.json"
DEFAULT_RATE = 1.0
#: Rates the engine accepts (the Settings dialog offers 0.25–4).
MIN_RATE, MAX_RATE = 0.05, 30.0


def _path() -> Path:
    return config_dir() / FILE_NAME


def _read() -> dict[str, object]:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sample_rate() -> float:
    """Frames per second that videos are indexed at (the default, 1, when never chosen)."""
    value = _read().get("sample_rate", DEFAULT_RATE)
    try:
        rate = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_RATE
    return rate if math.isfinite(rate) and MIN_RATE <= rate <= MAX_RATE else DEFAULT_RATE


def set_sample_rate(rate: float) -> None:
    """Choose the rate for every later command and the app (each rate has its own library)."""
    if not (math.isfinite(rate) and MIN_RATE <= rate <= MAX_RATE):
        raise ValueError(f"a sampling rate must be between {MIN_RATE:g} and {MAX_RATE:g} frames/s")
    data = _read()
    data["sample_rate"] = float(rate)
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def is_set() -> bool:
    """Whether a rate was ever chosen (the app adopts the one its old settings file held)."""
    return "sample_rate" in _read()
