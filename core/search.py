"""Turning nearest-neighbour hits into what a person wants to see: moments, merged and ranked.

Segments overlap (see :mod:`core.segments`), so one moment usually matches two neighbouring
windows; merging overlapping hits of one video gives one result spanning both, with the better
score, instead of near-duplicates filling the first page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SearchResult:
    """One moment: a time range of a video, its similarity to the query, and a thumbnail."""

    path: str
    t0: float
    t1: float
    score: float
    thumbnail: str | None
    video_id: int
    #: The segments this moment spans, the best-scoring one first.
    segment_ids: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape (documented in README)."""
        return {
            "path": self.path,
            "t0": round(self.t0, 3),
            "t1": round(self.t1, 3),
            "score": round(self.score, 6),
            "thumbnail": self.thumbnail,
            "video_id": self.video_id,
            "segment_ids": list(self.segment_ids),
        }


def _overlaps(a: SearchResult, b: SearchResult) -> bool:
    return a.video_id == b.video_id and a.t0 < b.t1 - 1e-6 and b.t0 < a.t1 - 1e-6


#: A hit widens a moment only if it scores within this fraction of the hits' score range of the
#: moment's best: a neighbouring window that matches about as well belongs to the moment; one
#: that matches far worse (the scene changed) does not stretch it to the whole video.
MERGE_TOLERANCE = 0.1


def merge_adjacent(hits: list[SearchResult], k: int) -> list[SearchResult]:
    """Up to ``k`` moments from per-segment ``hits``, best score first.

    Hits are taken best first. One that overlaps a moment already chosen is folded into it
    (widening its range) when it is itself among the ``k`` best hits and scores nearly as well
    as the moment (:data:`MERGE_TOLERANCE`) — the moment really spans both windows — and dropped
    otherwise, as a weaker duplicate of a moment already listed. Chaining is thereby bounded:
    a moment never grows by hits that would not have made the list.
    """
    ranked = sorted(hits, key=lambda r: (-r.score, r.path, r.t0))
    spread = ranked[0].score - ranked[-1].score if ranked else 0.0
    out: list[SearchResult] = []
    for rank, hit in enumerate(ranked):
        host = next((i for i, m in enumerate(out) if _overlaps(hit, m)), None)
        if host is not None:
            m = out[host]
            if rank < k and hit.score >= m.score - MERGE_TOLERANCE * spread:
                out[host] = SearchResult(
                    path=m.path,
                    t0=min(m.t0, hit.t0),
                    t1=max(m.t1, hit.t1),
                    score=m.score,
                    thumbnail=m.thumbnail,
                    video_id=m.video_id,
                    segment_ids=m.segment_ids + hit.segment_ids,
                )
            continue
        if len(out) < k:
            out.append(hit)
    return out
