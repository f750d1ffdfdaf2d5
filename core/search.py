"""Turning nearest-neighbour hits into what a person wants to see: moments, merged and ranked.

Segments overlap (see :mod:`core.segments`), so one moment usually matches two neighbouring
windows; merging touching or overlapping hits of one video gives one result spanning both, with
the better score, instead of near-duplicates filling the first page.
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


def merge_adjacent(results: list[SearchResult]) -> list[SearchResult]:
    """Merge overlapping or touching results of the same video; best score first."""
    by_video: dict[int, list[SearchResult]] = {}
    for r in results:
        by_video.setdefault(r.video_id, []).append(r)
    merged: list[SearchResult] = []
    for hits in by_video.values():
        hits.sort(key=lambda r: r.t0)
        current = hits[0]
        for r in hits[1:]:
            if r.t0 <= current.t1 + 1e-6:
                best = current if current.score >= r.score else r
                current = SearchResult(
                    path=current.path,
                    t0=min(current.t0, r.t0),
                    t1=max(current.t1, r.t1),
                    score=best.score,
                    thumbnail=best.thumbnail,
                    video_id=current.video_id,
                    segment_ids=best.segment_ids
                    + tuple(
                        sorted(
                            i
                            for i in current.segment_ids + r.segment_ids
                            if i not in best.segment_ids
                        )
                    ),
                )
            else:
                merged.append(current)
                current = r
        merged.append(current)
    merged.sort(key=lambda r: (-r.score, r.path, r.t0))
    return merged
