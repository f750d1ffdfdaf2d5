"""Which text tower reads a query: CLIP's own (English), or a multilingual one in the same space.

::

    sentence ─ guess_language ─┬─ English ──────────▶ the bundle's text.onnx (CLIP)
              (or --lang)      └─ other languages ──▶ the multilingual tower (M-CLIP / the demo's
                                                      student), when one serves this bundle

English goes to CLIP's own tower even when a multilingual one is installed: that is the tower the
index's image vectors were trained against, and M-CLIP only imitates it (its distillation loses a
few points of recall on English). Every other language goes to the multilingual tower. The rule
that tells them apart is :func:`core.query.language.guess_language` (script, then function words
and diacritics; measured by ``benchmarks/query_routing.py``). The user may override it: ``--lang``
on the command line, a setting in the window; ``en`` forces CLIP's tower, any other code (or
``multi``) the multilingual one.

A multilingual tower serves only the bundle whose image space it was trained for
(:func:`core.model.text_tower.towers_for`); with none, a query in another language is still
answered by CLIP's tower — poorly, and the :class:`Route` says so and how to do better — while a
forced ``--lang ko`` is refused in one line. The tower is loaded on the first query that needs it
(M-CLIP takes seconds to load and ~0.6–2.3 GB of memory), once, under a lock.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.model.bundle import BundleError
from core.model.encoder import Encoder, QueryError
from core.model.text_tower import TextTower, TowerChoice, describe_space, image_space, towers_for
from core.query.language import guess_language

log = logging.getLogger(__name__)

#: ``lang`` values: decide by the text, CLIP's own tower, the multilingual tower; any other
#: ISO 639 code is a language the user says the query is in.
AUTO, ENGLISH, MULTI = "auto", "en", "multi"
CLIP_TOWER, MULTILINGUAL_TOWER = "clip", "multilingual"
#: Language codes people may read in the window's words.
LANGUAGE_NAMES = {
    "en": "English", "ko": "Korean", "ja": "Japanese", "zh": "Chinese", "de": "German",
    "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "nl": "Dutch",
    "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish", "pl": "Polish",
    "tr": "Turkish", "vi": "Vietnamese", "id": "Indonesian", "ru": "Russian", "uk": "Ukrainian",
    "ar": "Arabic", "he": "Hebrew", "el": "Greek", "th": "Thai", "hi": "Hindi", "cs": "Czech",
    "ro": "Romanian", "hu": "Hungarian", "fa": "Persian", "bg": "Bulgarian",
}  # fmt: skip


#: The window's choices: (value for ``lang``, words for people).
QUERY_LANGUAGES: tuple[tuple[str, str], ...] = (
    (AUTO, "Automatic (English to CLIP, other languages to the multilingual model)"),
    (ENGLISH, "Always English (CLIP's own text model)"),
    (MULTI, "Always another language (the multilingual model)"),
)


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, "another language")


def check_lang(lang: str) -> str:
    """``lang`` normalised (``KO`` → ``ko``), or a one-line :class:`QueryError`."""
    value = (lang or AUTO).strip().lower()
    if value in (AUTO, ENGLISH, MULTI) or (value.isalpha() and 2 <= len(value) <= 3):
        return value
    raise QueryError(
        f"unknown query language {lang!r}: use auto, en, multi or a language code such as ko"
    )


@dataclass(frozen=True)
class Route:
    """Which tower answered a query, and why, in words for people."""

    tower: str  # CLIP_TOWER or MULTILINGUAL_TOWER
    tower_name: str
    #: The query's language as guessed or given ("und": another language, not told which).
    language: str
    #: How the language was decided: "guessed: Hangul letters", "set: --lang ko" …
    reason: str
    #: Something the user should know (no multilingual tower installed, one refused), or "".
    note: str = ""

    def describe(self) -> str:
        """One line for the window's status: which language, which model."""
        if self.tower == MULTILINGUAL_TOWER:
            what = language_name(self.language) if self.language != "und" else "not English"
            return f"Read as {what} by the multilingual text model ({self.tower_name})"
        if self.note:
            return f"Read by the English text model ({self.tower_name}): {self.note}"
        return f"Read as English by {self.tower_name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "tower": self.tower,
            "model": self.tower_name,
            "language": self.language,
            "reason": self.reason,
            "note": self.note,
        }


def _mtime(folder: Path | None) -> int | None:
    try:
        return None if folder is None else folder.stat().st_mtime_ns
    except OSError:
        return None


class QueryTowers:
    """The towers that can read a library's queries, with the rule between them."""

    def __init__(self, encoder: Encoder, models: Path | None) -> None:
        self.encoder = encoder
        self.models = models
        self._lock = threading.Lock()
        self._choice: TowerChoice | None = None
        self._tower: TextTower | None = None
        self._failed: str | None = None
        self._seen: int | None = None

    # -- which tower exists -----
    def choice(self) -> TowerChoice:
        """The multilingual tower for this bundle: looked for once, and again whenever the
        models folder changes (an install finishing while the app runs renames a folder in)."""
        seen = _mtime(self.models)
        with self._lock:
            if self._choice is None or seen != self._seen:
                self._choice = towers_for(
                    self.encoder.manifest,
                    self.encoder.root,
                    self.models,
                    prefer_int8=self.encoder.provider != "CUDAExecutionProvider",
                )
                self._seen = seen
                if self._tower is not None and self._tower.root != self._choice.root:
                    self._tower = None
                self._failed = None
                for line in self._choice.refused:
                    log.info("multilingual text tower not used: %s", line)
            return self._choice

    def available(self) -> bool:
        return self.choice().root is not None and self._failed is None

    def multilingual_name(self) -> str | None:
        manifest = self.choice().manifest
        return None if manifest is None else manifest.name

    def summary(self) -> str:
        """One line for a settings page: the tower that reads other languages, or why none."""
        name = self.multilingual_name()
        if name is not None and self._failed is None:
            return f"Other languages are read by {name}."
        why = self._why_none()
        return why[0].upper() + why[1:] + "."

    def _why_none(self) -> str:
        """Why no multilingual tower answers, for a note or an error."""
        if self._failed:
            return self._failed
        refused = self.choice().refused
        if refused:
            return refused[0]
        space = image_space(self.encoder.manifest)
        if space.startswith("image-sha256:"):
            return (
                f"no multilingual text model was made for {self.encoder.name}; queries in other"
                " languages need OpenAI CLIP ViT-B/32 and `clipseek install-model --multilingual`"
            )
        return (
            f"no multilingual text model is installed for {describe_space(space)}:"
            " `clipseek install-model --multilingual` adds one (Korean and 47 more languages)"
        )

    # -- the rule -----
    def route(self, text: str, lang: str = AUTO) -> Route:
        """Which tower reads ``text`` (nothing is encoded). Raises QueryError for a forced
        language no tower can read, or an unknown ``lang``."""
        lang = check_lang(lang)
        clip_name = self.encoder.name
        if lang == ENGLISH:
            guess = guess_language(text)
            if guess.english:
                return Route(CLIP_TOWER, clip_name, "en", "set: English")
            # said, not silently done: a Korean sentence read by an English model finds noise
            poorly = f"set to English, so {language_name(guess.language)} is read poorly"
            return Route(CLIP_TOWER, clip_name, guess.language, "set: English", poorly)
        if lang != AUTO:
            if not self.available():
                raise QueryError(f"cannot read the query as {language_name(lang)}: "
                                 f"{self._why_none()}")  # fmt: skip
            code = "und" if lang == MULTI else lang
            said = language_name(code) if code != "und" else "other languages"
            return Route(MULTILINGUAL_TOWER, self.multilingual_name() or "", code, f"set: {said}")
        guess = guess_language(text)
        if guess.english:
            return Route(CLIP_TOWER, clip_name, guess.language, f"guessed: {guess.reason}")
        if self.available():
            return Route(MULTILINGUAL_TOWER, self.multilingual_name() or "", guess.language,
                         f"guessed: {guess.reason}")  # fmt: skip
        poorly = f"it reads {language_name(guess.language)} poorly; {self._why_none()}"
        return Route(CLIP_TOWER, clip_name, guess.language, f"guessed: {guess.reason}", poorly)

    # -- encoding -----
    def tower(self) -> TextTower:
        """The multilingual tower, loaded on first use; BundleError when it cannot load (then
        remembered, so the next queries go to CLIP's tower with a note instead of failing)."""
        root = self.choice().root
        with self._lock:
            if self._tower is not None:
                return self._tower
            if self._failed is not None:
                raise BundleError(self._failed)
        if root is None:
            raise BundleError(self._why_none())
        try:
            tower = TextTower(root, force_cpu=self.encoder.force_cpu, threads=self.encoder.threads)
        except (BundleError, OSError, RuntimeError) as exc:
            with self._lock:
                self._failed = f"the multilingual text model in {root} cannot be used: {exc}"
            raise BundleError(self._failed) from None
        log.info("multilingual text tower %s on %s", tower.name, tower.provider)
        with self._lock:
            if self._tower is None:
                self._tower = tower
            return self._tower

    def encode(self, text: str, lang: str = AUTO) -> tuple[np.ndarray, Route]:
        """The query's vector (L2-normalised) and the route that made it."""
        route = self.route(text, lang)
        if route.tower == CLIP_TOWER:
            return self.encoder.encode_text(text), route
        try:
            return self.tower().encode_text(text), route
        except BundleError as exc:
            if lang != AUTO:
                raise QueryError(str(exc)) from None
            fallback = self.route(text, lang)  # now says why, and goes to CLIP's tower
            log.warning("%s", exc)
            return self.encoder.encode_text(text), fallback
