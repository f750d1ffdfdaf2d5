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

**Labels** (:func:`judge`) need more than the library: in a library of look-alike videos even
nonsense has a moment three spreads above the median, and a video's own frame can sit only 1.5
spreads above it. So a label also weighs the score against what the model gives queries that
match nothing (:mod:`core.query.null_queries`: a bank of null sentences, or of null pictures, run
against the same library sample — :class:`NullScores`):

* **above the null**: the score must reach :data:`NULL_QUANTILE` of the bank's best scores on
  this library (what a query with nothing to find typically reaches as its best);
* **the best description of this moment**: the score must come within :data:`MARGIN_GOOD`
  spreads of the best any null query gives *this* moment (the hubness correction of cross-modal
  retrieval: a moment every sentence scores high on proves nothing by scoring high on yours);
* **strong** needs, beyond that, a clear margin over every null query on the moment
  (:data:`MARGIN_STRONG` spreads) and either a strong standout in the library (three spreads) or
  a score above every null query's best on this library by :data:`BEYOND_NULL` spreads (a
  picture of the moment itself, in a library where everything looks alike).

Anything else is *weak*. Margins are in spreads of the query's own library scores, so the rule
reads the same for models whose cosines live at 0.2 (CLIP text–image) or at 0.9 (the demo model).
The bar drawn beside a label stays within that label's band.
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
#: A label needs a score at least this quantile of the null bank's best scores on the library.
NULL_QUANTILE = 0.75
#: ...and to come within this many spreads of the best null query on the moment itself...
MARGIN_GOOD = -0.25
#: ...and, to be strong, to beat every null query on the moment by this many spreads...
MARGIN_STRONG = 0.5
#: ...and either stand out by FULL_STANDOUT * STRONG spreads, or beat every null query's best
#: on the library by this many.
BEYOND_NULL = 1.0


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


@dataclass(frozen=True)
class NullScores:
    """What a bank of null queries (:mod:`core.query.null_queries`) scores on one library: each
    null query's best score over the library sample, and the bank itself, to score the moments
    a search returns."""

    tops: np.ndarray  # [N] each null query's best score over the sample
    bank: np.ndarray  # [N, D] the null queries' vectors
    #: What a query with nothing to find typically reaches as its best (NULL_QUANTILE of tops),
    #: and the highest any reaches: computed once, read for every moment of every search (a
    #: quantile per moment had made a 200-moment search three times slower).
    typical_best: float
    highest_best: float

    @classmethod
    def of(cls, bank: np.ndarray, sample: np.ndarray) -> NullScores | None:
        """From the bank's vectors and the library sample's; None without either."""
        if not len(bank) or not len(sample):
            return None
        tops = np.asarray((bank @ sample.T).max(axis=1), np.float64)
        return cls(tops, bank, float(np.quantile(tops, NULL_QUANTILE)), float(tops.max()))

    def best_on(self, vectors: np.ndarray, leave_out: int | None = None) -> np.ndarray:
        """For each moment vector [M, D]: the best score any null query gives it [M], leaving
        out bank entry ``leave_out`` (the query itself, when it is one of the bank's sentences:
        a query cannot be its own null)."""
        if not len(vectors):
            return np.zeros(0, np.float64)
        scores = vectors @ self.bank.T
        if leave_out is not None and 0 <= leave_out < scores.shape[1]:
            scores[:, leave_out] = -np.inf
        return np.asarray(scores.max(axis=1), np.float64)


def judge(
    score: float,
    background: Background | None,
    null: NullScores | None = None,
    null_on_moment: float | None = None,
) -> float | None:
    """A moment's relevance (0–1), such that :func:`label` of it is the moment's label under the
    rule in this module's docstring. None when the library is too small to say anything. Without
    a null (no bank for this model) the library standout alone decides, as before."""
    if background is None:
        return None
    bar = background.relevance(score)
    if null is None:
        return bar
    spread = background.spread
    above = score >= null.typical_best
    margin = (score - null_on_moment) / spread if null_on_moment is not None else 0.0
    if not above or margin < MARGIN_GOOD:
        return min(bar, GOOD - 0.01)
    clear = (
        background.standout(score) >= FULL_STANDOUT * STRONG
        or score >= null.highest_best + BEYOND_NULL * spread
    )
    if clear and margin >= MARGIN_STRONG:
        return max(bar, STRONG)
    return min(max(bar, GOOD), STRONG - 0.01)


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
