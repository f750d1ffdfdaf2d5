"""How strongly a moment stands out for a query, on a scale a person can read, and where to cut.

A raw similarity means little to a person and nothing across models: OpenAI CLIP's text–image
cosines sit around 0.15–0.35, the demo model's spread over −1…1, and within one model a vague
query scores everything lower than a precise one. Bars drawn relative to the best hit make a
weak best look "full". So every query is measured against the library itself:

* the query is scored against a sample of the library's moments (:class:`Background`, up to
  :data:`SAMPLE` of them), scored exactly as results are;
* a moment's **standout** is how many spreads above the library's median it scores, with the
  spread measured robustly (1.4826 × the median absolute deviation, so that the few matches
  themselves do not widen it);
* its **relevance** is the standout over :data:`FULL_STANDOUT`, clamped to 0–1: 0 is a typical
  moment of the library, 1 stands out by four spreads or more. The window draws it as a bar and
  a word (:func:`label`); the raw similarity stays in tooltips and ``--json``.

Which moments a search shows at first (:func:`shown_count`) follows the distribution too: those
that stand out by at least :data:`MIN_STANDOUT` spreads *and* come within :data:`DROP` spreads
of the best. A strong best hides a tail of middling ones; when nothing stands out, the closest
few (:data:`MIN_SHOWN`) are still shown, and everything else is one "show more" away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Moments a query is compared with to learn what "typical" means in this library.
SAMPLE = 2048
#: Below this many moments there is no distribution to speak of: no relevance is given.
MIN_BACKGROUND = 8
#: Standout (in spreads) that fills the bar.
FULL_STANDOUT = 4.0
#: A moment is shown at first only if it stands out at least this much...
MIN_STANDOUT = 1.5
#: ...and scores within this many spreads of the best moment of the search.
DROP = 1.0
#: Shown whatever the scores, when there are that many: a search always answers something.
MIN_SHOWN = 3
#: Relevance from which a moment reads as a strong or a good match (standout 3 and 2).
STRONG = 0.75
GOOD = 0.5


@dataclass(frozen=True)
class Background:
    """The library's scores for one query: its median and robust spread."""

    median: float
    spread: float
    size: int

    @classmethod
    def of(cls, scores: np.ndarray) -> Background | None:
        """From the query's scores over a sample of moments; None when the sample is too small."""
        scores = np.asarray(scores, np.float64).ravel()
        if len(scores) < MIN_BACKGROUND:
            return None
        median = float(np.median(scores))
        mad = float(np.median(np.abs(scores - median)))
        # A library of near-identical moments has no spread: fall back on the standard
        # deviation, and never divide by (almost) nothing.
        spread = max(1.4826 * mad, 0.5 * float(scores.std()), 1e-4)
        return cls(median, spread, len(scores))

    def standout(self, score: float) -> float:
        return (score - self.median) / self.spread

    def relevance(self, score: float) -> float:
        return float(min(1.0, max(0.0, self.standout(score) / FULL_STANDOUT)))


def label(relevance: float | None) -> str:
    """``strong`` / ``good`` / ``weak`` match; ``""`` when the library is too small to say."""
    if relevance is None:
        return ""
    if relevance >= STRONG:
        return "strong"
    if relevance >= GOOD:
        return "good"
    return "weak"


def shown_count(relevances: Sequence[float | None]) -> int:
    """How many of these results (best first) a search shows before "show more".

    Without relevance (a tiny library) everything is shown.
    """
    if not relevances:
        return 0
    if any(r is None for r in relevances):
        return len(relevances)
    values = [float(r) for r in relevances if r is not None]
    best = max(values)
    floor = max(MIN_STANDOUT / FULL_STANDOUT, best - DROP / FULL_STANDOUT)
    passing = sum(1 for r in values if r >= floor - 1e-9)
    return min(len(values), max(passing, MIN_SHOWN))
