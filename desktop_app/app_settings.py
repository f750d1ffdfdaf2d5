"""The app's persistent settings: one INI file in the per-user config folder.

An INI file under :func:`core.paths.config_dir` (rather than Qt's native store, the registry on
Windows) keeps settings next to the rest of ClipSeek's files, readable and easy to reset, and
lets ``$CLIPSEEK_HOME`` isolate them in tests.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QSettings

from core import DEFAULT_WINDOW, QUERY_LANGUAGES, config_dir
from core import preferences as core_preferences

DEFAULT_RESCAN_MINUTES = 10


@dataclass
class Preferences:
    """What the Settings dialog edits."""

    model: str = ""  # bundle folder; "" = automatic (installed model, else the demo model)
    force_cpu: bool = False
    sample_rate: float = 1.0  # kept by core (core.preferences): the CLI follows it
    segment_seconds: float = DEFAULT_WINDOW
    rescan_minutes: int = DEFAULT_RESCAN_MINUTES
    #: Which text model reads a typed sentence: "auto" (English to CLIP, other languages to the
    #: multilingual model), "en" or "multi" (core.QUERY_LANGUAGES).
    query_language: str = "auto"


class AppSettings:
    def __init__(self) -> None:
        path = config_dir() / "settings.ini"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._s = QSettings(str(path), QSettings.Format.IniFormat)

    @property
    def path(self) -> str:
        return self._s.fileName()

    def preferences(self) -> Preferences:
        d = Preferences()
        if not core_preferences.is_set() and self._s.contains("indexing/sample_rate"):
            # older versions kept the rate here, where the CLI could not see it: hand it over
            with contextlib.suppress(OSError, ValueError):
                core_preferences.set_sample_rate(self._float("indexing/sample_rate", 1.0))
        return Preferences(
            model=str(self._s.value("model/folder", d.model)),
            force_cpu=self._bool("model/force_cpu", d.force_cpu),
            sample_rate=core_preferences.sample_rate(),
            segment_seconds=self._float("indexing/segment_seconds", d.segment_seconds),
            rescan_minutes=int(self._float("indexing/rescan_minutes", d.rescan_minutes)),
            query_language=self._choice(
                "search/language", [v for v, _ in QUERY_LANGUAGES], d.query_language
            ),
        )

    def save_preferences(self, p: Preferences) -> None:
        self._s.setValue("model/folder", p.model)
        self._s.setValue("model/force_cpu", p.force_cpu)
        core_preferences.set_sample_rate(p.sample_rate)  # core's: the CLI opens that library too
        self._s.remove("indexing/sample_rate")
        self._s.setValue("indexing/segment_seconds", p.segment_seconds)
        self._s.setValue("indexing/rescan_minutes", p.rescan_minutes)
        self._s.setValue("search/language", p.query_language)
        self._s.sync()

    # -- window state -----
    def state(self, key: str) -> QByteArray | None:
        value = self._s.value(f"window/{key}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_state(self, key: str, value: QByteArray) -> None:
        self._s.setValue(f"window/{key}", value)

    def flag(self, key: str, default: bool = False) -> bool:
        return self._bool(f"view/{key}", default)

    def set_flag(self, key: str, value: bool) -> None:
        self._s.setValue(f"view/{key}", value)

    def sync(self) -> None:
        self._s.sync()

    # -- typed reads (INI files store everything as text) -----
    def _bool(self, key: str, default: bool) -> bool:
        value = self._s.value(key, default)
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes", "on")
        return bool(value)

    def _choice(self, key: str, allowed: list[str], default: str) -> str:
        value = str(self._s.value(key, default))
        return value if value in allowed else default  # an edited or older file: the default

    def _float(self, key: str, default: float) -> float:
        try:
            return float(str(self._s.value(key, default)))
        except (TypeError, ValueError):
            return default
