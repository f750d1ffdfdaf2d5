"""Finding moments by what was said, and ranking them together with what is seen.

Speech search is text matching, the same for every language (no tower, no model): the query's
words are looked up in the stored lines (:mod:`core.store.transcripts`: FTS5 trigrams, substrings
in any script; LIKE for words of one or two characters), and each line is scored by its
**coverage**: the share of the query's words it contains, each word weighed by its rarity among
the library's lines (``log(1 + (N + 1) / (df + 0.5))``: a word said everywhere weighs little, a
word said nowhere weighs most, so a query asking for words nobody said covers little).

What a query asks for:

* ``said: happy birthday`` — speech only; lines with any of the words, ranked by coverage;
* ``"happy birthday"`` (straight or curly quotes, 「」) — speech only; a line must contain each
  quoted phrase as written (other words in the query still weigh in);
* anything else — what is seen **and** what is said: the visual moments
  (:mod:`core.query.search`) and the spoken lines are fused into one ranking by
  :data:`FUSION_RULE` (measured in ``benchmarks/speech_fusion.py``, see :func:`fuse`).

A moment found by speech spans its line, its ``best_t`` is the time of the first matched word
(Whisper's word times) or the line's start (subtitles have no word times), and it carries the
line (:class:`core.query.ranking.SpeechMatch`) with the matched character ranges.

**Relevance of a spoken match** (:func:`relevance`): the words were either said or not, so no
library background is needed. A line holding every word of the query (or every quoted phrase
and word) is a *strong* match (1.0): the thing asked for was literally said. A line holding part
of it has relevance equal to its coverage, kept under *strong*: two rare words of three read as
*good*, one common word of five as *weak*. A moment both seen and said takes the better of its
two relevances.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from core.query.ranking import SearchResult, SpeechMatch
from core.query.relevance import STRONG
from core.speech.transcript import Word
from core.store import transcripts
from core.store.catalog import Catalog
from core.store.transcripts import StoredLine

#: The prefix of a speech-only query.
SAID = "said:"
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”|„([^“”]+)[“”]|「([^」]+)」|『([^』]+)』')
_WORD = re.compile(r"\w+")

#: How visual and spoken moments are ranked together (benchmarks/speech_fusion.py):
#: ``relevance`` — by the better of each moment's visual and spoken relevance, a moment found by
#: both first among equals; ``rrf`` — reciprocal-rank fusion; ``rrf-gated`` — RRF over spoken
#: lines that cover at least :data:`GATE`; ``relevance-sum`` — the two relevances added.
RULES = ("relevance", "relevance-sum", "rrf", "rrf-gated")
FUSION_RULE = "relevance"
#: RRF's constant (Cormack et al. 2009).
RRF_K = 60
#: Least coverage of a spoken line that takes part in ``rrf-gated``.
GATE = 0.5


@dataclass(frozen=True)
class SpeechQuery:
    """A search sentence read for speech."""

    text: str
    #: What the visual towers read; None: a search by speech only.
    visual: str | None
    #: Quoted phrases, each to be found as written (lower case).
    phrases: tuple[str, ...]
    #: The other words (lower case), each weighed by rarity.
    terms: tuple[str, ...]

    @property
    def speech_only(self) -> bool:
        return self.visual is None

    @property
    def units(self) -> tuple[str, ...]:
        return self.phrases + self.terms


def parse(text: str) -> SpeechQuery:
    """How ``text`` asks about speech: ``said:`` or quotes make it speech only."""
    rest = text.strip()
    only = rest.lower().startswith(SAID)
    if only:
        rest = rest[len(SAID) :].strip()
    phrases: list[str] = []
    for found in _QUOTED.finditer(rest):
        phrase = " ".join(next(g for g in found.groups() if g is not None).lower().split())
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    outside = _QUOTED.sub(" ", rest)
    terms: list[str] = []
    for word in _WORD.findall(outside.lower()):
        if word not in terms and not any(word in p for p in phrases):
            terms.append(word)
    only = only or bool(phrases)
    return SpeechQuery(text, None if only else text, tuple(phrases), tuple(terms))


def relevance(coverage: float) -> float:
    """A spoken match's relevance (module docstring): 1 when every word was said, else its
    coverage, kept below *strong*."""
    if coverage >= 1.0 - 1e-9:
        return 1.0
    return min(max(coverage, 0.0), STRONG - 0.01)


@dataclass(frozen=True)
class LineMatch:
    line: StoredLine
    #: 0–1: rarity-weighted share of the query's words the line holds.
    coverage: float
    #: Matched character ranges of ``line.text``.
    spans: tuple[tuple[int, int], ...]

    @property
    def first_t(self) -> float:
        """When the first matched word is said: its word time, else the line's start."""
        if not self.spans:
            return self.line.t0
        return word_time(self.line.text, self.line.words, self.spans[0][0], self.line.t0)

    def match(self) -> SpeechMatch:
        line = self.line
        return SpeechMatch(
            line.text, line.t0, line.t1, line.language, line.source, self.spans, self.coverage
        )


def word_time(text: str, words: Sequence[Word], at: int, default: float) -> float:
    """The start of the word of ``words`` (spelling ``text`` in order) covering character
    ``at``; ``default`` when the line has no word times or they do not spell it."""
    cursor = 0
    for word in words:
        token = word.text.strip()
        if not token:
            continue
        found = text.find(token, cursor)
        if found < 0:
            return default
        end = found + len(token)
        if at < end:
            return word.start
        cursor = end
    return default


def spans_of(text: str, units: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Where each unit occurs in ``text`` (case-insensitive), merged, in order."""
    found: list[tuple[int, int]] = []
    for unit in units:
        found += [(m.start(), m.end()) for m in transcripts.term_pattern(unit).finditer(text)]
    merged: list[tuple[int, int]] = []
    for a, b in sorted(found):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple(merged)


def find_lines(catalog: Catalog, query: SpeechQuery, limit: int = 80) -> list[LineMatch]:
    """The stored lines that match ``query`` best, best first (coverage, then the shorter line:
    the words make more of it, then time order). Lines missing a quoted phrase are left out."""
    units = query.units
    if not units:
        return []
    total = transcripts.line_count(catalog)
    if total == 0:
        return []
    found: dict[str, set[int]] = {}
    weight: dict[str, float] = {}
    for unit in units:
        ids = transcripts.lines_containing(catalog, unit)
        df = len(ids)
        if df >= transcripts.TERM_LIMIT:
            df = transcripts.lines_frequency(catalog, unit)
        found[unit] = set(ids)
        weight[unit] = math.log(1.0 + (total + 1.0) / (df + 0.5))
    if query.phrases:
        candidates = set.intersection(*(found[p] for p in query.phrases))
    else:
        candidates = set().union(*found.values())
    full = sum(weight.values())
    coverage = {
        i: sum(weight[u] for u in units if i in found[u]) / full for i in candidates
    }  # fmt: skip
    best = sorted(candidates, key=lambda i: -coverage[i])[: 4 * limit]
    stored = transcripts.lines(catalog, best)
    matches = [
        LineMatch(
            stored[i], coverage[i], spans_of(stored[i].text, [u for u in units if i in found[u]])
        )
        for i in best
        if i in stored
    ]
    matches.sort(key=lambda m: (-m.coverage, len(m.line.text), m.line.video_id, m.line.t0))
    return matches[:limit]


# --------------------------------------------------------------------------- fusion
def _overlaps(a: SearchResult, b: SearchResult) -> bool:
    return a.video_id == b.video_id and a.t0 < b.t1 and b.t0 < a.t1


def _joined(seen: SearchResult, said: SearchResult) -> SearchResult:
    """A visual moment that was also said: its range widened to the line, its preview at the
    first matched word, the better relevance."""
    rel = seen.relevance
    if said.relevance is not None:
        rel = said.relevance if rel is None else max(rel, said.relevance)
    return replace(
        seen, t0=min(seen.t0, said.t0), t1=max(seen.t1, said.t1), best_t=said.best_t,
        speech=said.speech, relevance=rel,
    )  # fmt: skip


def fuse(
    seen: Sequence[SearchResult], said: Sequence[SearchResult], k: int, rule: str = FUSION_RULE
) -> list[SearchResult]:
    """Visual moments (best first) and spoken ones (best first) as one ranking of ``k``.

    A spoken line overlapping a visual moment of its video joins it (one moment, found both
    ways); the others stand alone. Then, by ``rule`` (:data:`RULES`): ``relevance`` sorts by
    the better of the two relevances, a moment found both ways first among equals, then by
    RRF; ``relevance-sum`` by their sum; ``rrf`` by Σ 1/(60 + rank) over the two lists;
    ``rrf-gated`` the same with spoken lines of coverage under :data:`GATE` left out. Without
    relevances (a library too small to rate), the relevance rules fall back on RRF.
    """
    if rule not in RULES:
        raise ValueError(f"unknown fusion rule {rule!r} (one of {', '.join(RULES)})")
    if rule == "rrf-gated":
        said = [s for s in said if s.speech is not None and s.speech.score >= GATE]
    if not said:
        return list(seen[:k])
    partner: dict[int, int] = {}  # visual index -> spoken index
    alone: list[int] = []
    for spoken_rank, line in enumerate(said):
        host = next(
            (i for i, v in enumerate(seen) if i not in partner and _overlaps(v, line)), None
        )
        if host is None:
            alone.append(spoken_rank)
        else:
            partner[host] = spoken_rank

    def rrf(i: int | None, j: int | None) -> float:
        return (0.0 if i is None else 1.0 / (RRF_K + i + 1)) + (
            0.0 if j is None else 1.0 / (RRF_K + j + 1)
        )

    def rel(r: SearchResult | None) -> float:
        return 0.0 if r is None or r.relevance is None else r.relevance

    rated = any(v.relevance is not None for v in seen) or not seen
    items: list[tuple[tuple[float, ...], SearchResult]] = []
    for i, v in enumerate(seen):
        j = partner.get(i)
        s = None if j is None else said[j]
        key: tuple[float, ...]
        if rule in ("rrf", "rrf-gated") or not rated:
            key = (rrf(i, j),)
        elif rule == "relevance-sum":
            key = (rel(v) + rel(s), rrf(i, j))
        else:
            key = (max(rel(v), rel(s)), float(s is not None), rrf(i, j))
        items.append((key, v if s is None else _joined(v, s)))
    for rank in alone:
        lone = said[rank]
        if rule in ("rrf", "rrf-gated") or not rated:
            key = (rrf(None, rank),)
        elif rule == "relevance-sum":
            key = (rel(lone), rrf(None, rank))
        else:
            key = (rel(lone), 0.0, rrf(None, rank))
        items.append((key, lone))
    items.sort(key=lambda item: tuple(-x for x in item[0]))
    return [r for _, r in items[:k]]
