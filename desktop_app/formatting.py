"""How times, ranges, rates and durations read in the app (one place, so they read alike)."""

from __future__ import annotations

import math

from core import QueryRoute, clock, language_name


def time_range(t0: float, t1: float) -> str:
    return f"{clock(t0)} – {clock(t1)}"


def length_text(t0: float, t1: float) -> str:
    """A whole video's length as a clock: ``0:11`` (a card of a video is not a range)."""
    return clock(max(0.0, t1 - t0))


def duration(seconds: float | None) -> str:
    """A human estimate: ``about 2 min``, ``about 45 s``, ``about 1 h 10 min`` ("" unknown)."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    s = round(seconds)
    if s < 60:
        return f"about {max(s, 1)} s"
    if s < 3600:
        return f"about {round(s / 60)} min"
    h, m = divmod(round(s / 60), 60)
    return f"about {h} h {m} min" if m else f"about {h} h"


def duration_of(seconds: float) -> str:
    """A length of footage: ``45 s``, ``12 min``, ``3.5 h``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def rate_text(rate: float) -> str:
    """``1 frame/s``, ``2 frames/s``, ``0.5 frames/s``."""
    return f"{rate:g} frame/s" if rate == 1 else f"{rate:g} frames/s"


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def media_fragment(path: str, t0: float, t1: float) -> str:
    """A path with its time range, pasteable anywhere: ``/v/a.mp4 @ 1:23 – 1:31 (t=83,91)``.

    The ``t=`` part is the W3C media-fragment form, which VLC-style players and browsers read.
    """
    return f"{path} @ {time_range(t0, t1)} (t={t0:g},{t1:g})"


def read_by(route: QueryRoute | None) -> str:
    """Which model read a sentence, for the results line: nothing for English read by CLIP
    (what every search did before other languages existed), the language and "multilingual
    model" otherwise, and a warning when a foreign sentence had to go to the English model."""
    if route is None or (route.tower == "clip" and not route.note):
        return ""
    if route.tower == "clip" and route.reason.startswith("set:"):
        return " · read by the English model, as Settings ask"
    if route.tower == "clip":
        needs = f"{language_name(route.language)} needs the multilingual one"
        return f" · read by the English model ({needs})"
    if route.language in ("und", ""):
        return " · read by the multilingual model"
    return f" · read as {language_name(route.language)} by the multilingual model"


def speech_source(source: str, language: str) -> str:
    """Where a spoken line comes from, for people: ``subtitles``, ``subtitles, Korean``,
    ``heard by the speech model, Korean`` (a language the app has no name for is left out)."""
    words = "subtitles" if source == "subtitle" else "heard by the speech model"
    name = language_name(language)
    return words if name == language_name("") else f"{words}, {name}"


def said_at(start: float, end: float) -> str:
    """``said at 0:12–0:15``: when a spoken line was said."""
    return f"said at {clock(start)}–{clock(end)}"
