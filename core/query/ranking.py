"""Turning nearest-neighbour hits into what a person wants to see: moments, merged and ranked.

Segments overlap (see :mod:`core.ingest.segments`), so one moment usually matches two neighbouring
windows; merging overlapping hits of one video gives one result spanning both, with the better
score, instead of near-duplicates filling the first page. Two results of one video never
overlap, and none runs past its video's end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.query.relevance import label


@dataclass(frozen=True)
class SpeechMatch:
    """The spoken line a moment was found by (:mod:`core.query.speech`)."""

    text: str
    start: float
    end: float
    #: ISO 639-1 of the transcript ("" when the subtitle did not say).
    language: str
    #: ``subtitle`` or ``model`` (core.speech.transcript).
    source: str
    #: Character ranges [a, b) of ``text`` that matched the query: what a card marks.
    spans: tuple[tuple[int, int], ...] = ()
    #: 0–1: the share of the query's words (rare words weigh more) the line contains.
    score: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "language": self.language,
            "source": self.source,
            "spans": [list(s) for s in self.spans],
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class SearchResult:
    """One moment: a time range of a video, its similarity to the query, and a thumbnail.

    ``score`` is the visual similarity of the moment's best segment to the sentence (also for a
    moment found by what was said); in a search by speech alone (``said:``, quotes) it is the
    spoken line's match (:attr:`SpeechMatch.score`).
    """

    path: str
    t0: float
    t1: float
    score: float
    thumbnail: str | None
    video_id: int
    #: The segments this moment spans, the best-scoring one first.
    segment_ids: tuple[int, ...]
    #: 0–1: how strongly the moment stands out from the library for this query
    #: (:mod:`core.query.relevance`); None in a library too small to tell.
    relevance: float | None = None
    #: Other places the same file (same content fingerprint) lives in the library.
    copies: tuple[str, ...] = ()
    #: False when the file cannot be reached now (an unplugged drive, a deleted file).
    online: bool = True
    #: The video's length in seconds, when known.
    duration: float | None = None
    #: When the video was shot: ISO 8601 with its UTC offset, the same instant in POSIX seconds
    #: (for sorting and ranges), and which field said so (core.ingest.capture.SOURCES); None
    #: while unknown.
    captured_at: str | None = None
    captured_ts: float | None = None
    captured_source: str | None = None
    #: The second inside [t0, t1] whose stored frame matches the query best: where the
    #: thumbnail is taken and the preview starts (None: not known, use the middle).
    best_t: float | None = None
    #: The spoken line that matched, when the moment was found by what was said.
    speech: SpeechMatch | None = None

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape (documented in README)."""
        return {
            "path": self.path,
            "t0": round(self.t0, 3),
            "t1": round(self.t1, 3),
            "score": round(self.score, 6),
            "relevance": None if self.relevance is None else round(self.relevance, 3),
            "match": label(self.relevance),
            "thumbnail": self.thumbnail,
            "video_id": self.video_id,
            "segment_ids": list(self.segment_ids),
            "copies": list(self.copies),
            "online": self.online,
            "best_t": None if self.best_t is None else round(self.best_t, 3),
            "captured_at": self.captured_at,
            "captured_source": self.captured_source,
            "speech": None if self.speech is None else self.speech.to_json(),
        }

    def shot(self) -> datetime | None:
        """When the video was shot, as the clock read where it was shot (the offset recorded
        with it: a holiday abroad reads in that country's hours), else in local time."""
        if self.captured_ts is None:
            return None
        if self.captured_at:
            try:
                return datetime.fromisoformat(self.captured_at)
            except ValueError:
                pass
        return datetime.fromtimestamp(self.captured_ts)

    @property
    def start(self) -> float:
        """Where a preview or a player starts: the best-matching second, else the range's
        start."""
        return self.t0 if self.best_t is None else self.best_t


def inside(t0: float, t1: float, duration: float | None) -> tuple[float, float]:
    """A time range kept inside its video: the last window can end a sampling step past the
    end (0:72–0:80 on a 0:79 clip), which no result may show."""
    if duration is None or duration <= 0:
        return t0, t1
    end = min(t1, duration)
    return min(max(0.0, t0), end), end


def _overlaps(a: SearchResult, b: SearchResult) -> bool:
    return a.video_id == b.video_id and a.t0 < b.t1 - 1e-6 and b.t0 < a.t1 - 1e-6


def _union(into: SearchResult, other: SearchResult) -> SearchResult:
    """``into`` widened to cover ``other`` (its score, thumbnail and best segment stay)."""
    return replace(
        into,
        t0=min(into.t0, other.t0),
        t1=max(into.t1, other.t1),
        segment_ids=into.segment_ids + other.segment_ids,
    )


#: A hit widens a moment only if it scores within this fraction of the hits' score range of the
#: moment's best: a neighbouring window that matches about as well belongs to the moment; one
#: that matches far worse (the scene changed) does not stretch it to the whole video.
MERGE_TOLERANCE = 0.1


def merge_adjacent(hits: list[SearchResult], k: int) -> list[SearchResult]:
    """Up to ``k`` moments from per-segment ``hits``, best score first; none of one video overlap.

    Hits are taken best first. One that overlaps a moment already chosen is folded into it
    (widening its range) when it is itself among the ``k`` best hits and scores nearly as well
    as the moment (:data:`MERGE_TOLERANCE`) — the moment really spans both windows — and dropped
    otherwise, as a weaker duplicate of a moment already listed. Chaining is thereby bounded:
    a moment never grows by hits that would not have made the list. A widened moment that now
    overlaps another moment of its video absorbs it (the better one's score stays).

    Moments are looked up per video, so merging the app's 800 hits costs a few milliseconds.
    """
    ranked = sorted(hits, key=lambda r: (-r.score, r.path, r.t0))
    spread = ranked[0].score - ranked[-1].score if ranked else 0.0
    out: list[SearchResult | None] = []  # in score order; None: absorbed into a better one
    by_video: dict[int, list[int]] = {}  # video -> indices into out, ascending
    live = 0
    for rank, hit in enumerate(ranked):
        mine = by_video.setdefault(hit.video_id, [])
        host = next((i for i in mine if _overlaps(hit, out[i])), None)  # type: ignore[arg-type]
        if host is not None:
            m = out[host]
            assert m is not None
            if rank < k and hit.score >= m.score - MERGE_TOLERANCE * spread:
                out[host] = _union(m, hit)
                live -= _absorb(out, mine, host)
            continue
        if live < k:
            mine.append(len(out))
            out.append(hit)
            live += 1
    return [m for m in out if m is not None]


def _absorb(moments: list[SearchResult | None], mine: list[int], host: int) -> int:
    """Fold into ``moments[host]`` every moment of its video (indices ``mine``) that overlaps it,
    until none does; a better one overlapping takes it in instead. Returns how many went."""
    gone = 0
    while True:
        m = moments[host]
        assert m is not None
        other = next(
            (i for i in mine if i != host and _overlaps(m, moments[i])),  # type: ignore[arg-type]
            None,
        )
        if other is None:
            return gone
        o = moments[other]
        assert o is not None
        if other < host:  # listed first, so it scores better
            moments[other] = _union(o, m)
            moments[host] = None
            mine.remove(host)
            host = other
        else:
            moments[host] = _union(m, o)
            moments[other] = None
            mine.remove(other)
        gone += 1


@dataclass(frozen=True)
class Place:
    """One place a file lives in the library: a video of the catalog, as a card names it."""

    path: str
    video_id: int
    #: False when the file cannot be reached now (an unplugged drive, a deleted file).
    online: bool = True
    duration: float | None = None
    captured_at: str | None = None
    captured_ts: float | None = None
    captured_source: str | None = None

    @classmethod
    def of(cls, r: SearchResult) -> Place:
        return cls(
            r.path, r.video_id, r.online, r.duration, r.captured_at, r.captured_ts,
            r.captured_source,
        )  # fmt: skip


def named_place(places: Iterable[Place]) -> Place:
    """The place that names a file's card, the same in browsing and in every search: a
    reachable copy before one that cannot be reached now, then the one found first (the lowest
    video id: the catalog numbers videos as it meets them, and a moved file keeps its number).
    Which copy scores best is no rule: copies score alike, and the winner flipped between
    searches (bikes.mp4, then aaaa…long_name.mp4)."""
    return min(places, key=lambda p: (not p.online, p.video_id))


def fold_copies(
    hits: list[SearchResult],
    fingerprint: Callable[[SearchResult], str],
    places: Mapping[str, Sequence[Place]] | None = None,
) -> list[SearchResult]:
    """Hits of one file's copies (same content fingerprint, other paths) folded into one video.

    The same file in two folders is one moment, listing the other places in ``copies`` (in the
    order they were found). Each fingerprint keeps one video for all its hits, so its moments
    still merge with each other: :func:`named_place` of the file's ``places`` (those the search
    may show: inside its folder filter) together with the places its hits came from.
    """
    found: dict[str, dict[int, Place]] = {}  # fingerprint -> video id -> place
    for h in hits:
        fp = fingerprint(h) or f"video:{h.video_id}"
        if fp not in found:
            found[fp] = {p.video_id: p for p in (places or {}).get(fp, ())}
        found[fp].setdefault(h.video_id, Place.of(h))
    keep = {fp: named_place(known.values()) for fp, known in found.items()}
    out: dict[tuple[int, float, float], SearchResult] = {}
    for h in hits:
        fp = fingerprint(h) or f"video:{h.video_id}"
        video = keep[fp]
        key = (video.video_id, round(h.t0, 3), round(h.t1, 3))
        if key in out:
            continue  # the same moment of another copy: already listed, as good or better
        copies = tuple(p.path for _, p in sorted(found[fp].items()) if p.video_id != video.video_id)
        if h.video_id != video.video_id:
            h = replace(
                h, path=video.path, video_id=video.video_id, online=video.online,
                duration=video.duration, captured_at=video.captured_at,
                captured_ts=video.captured_ts, captured_source=video.captured_source,
            )  # fmt: skip
        out[key] = replace(h, copies=copies) if copies else h
    return list(out.values())


#: The orders a result list can be sorted in.
ORDERS = ("relevance", "date")


def in_order(results: list[SearchResult], order: str) -> list[SearchResult]:
    """Results by relevance (as ranked) or by date: newest shot first, undated ones last in
    their ranked order, a video's moments in time order."""
    if order == "relevance":
        return results
    if order != "date":
        raise ValueError(f"unknown order {order!r} (one of {', '.join(ORDERS)})")
    return sorted(
        results,
        key=lambda r: (r.captured_ts is None, -(r.captured_ts or 0.0), r.video_id, r.t0),
    )
