"""Answering a query: a sentence or a picture → the moments that match it best.

::

    sentence ─ text tower ─┐                        ┌─ each inside its video
                           ├─ vector index (k·4) ──┤  copies folded, overlaps merged (ranking)
    picture ─ image tower ─┘   (+ best stored frame) └─ thumbnail, other places, relevance

Candidates come from the segment index, limited to the asked folders inside the index query.
A picture is then scored by each candidate's best-matching stored frame too, so a frame taken
from a video finds the very segment it came from.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from core.ingest import thumbnails
from core.model.encoder import Encoder, QueryError, l2_normalise
from core.model.text_tower import TextTower
from core.query import null_queries, relevance, speech
from core.query.images import MIN_SHORT_SIDE, read_query_image
from core.query.period import ANY_TIME, Period
from core.query.ranking import (
    Place,
    SearchResult,
    fold_copies,
    in_order,
    inside,
    merge_adjacent,
    named_place,
)
from core.query.relevance import Background, NullScores
from core.query.towers import AUTO, MULTILINGUAL_TOWER, QueryTowers
from core.store import transcripts
from core.store.catalog import Catalog, SegmentRow
from core.store.folders import canonical, owner
from core.store.vector_index import VectorIndex

log = logging.getLogger(__name__)

#: Candidates a picture query takes from the index before rescoring by frame.
IMAGE_CANDIDATES = 64
#: Moments sampled to rate a picture query (each costs a frame lookup, so fewer than text).
IMAGE_BACKGROUND_SAMPLE = 256


class Searcher:
    """Queries over one library's catalog and vector index, with the model that made them."""

    def __init__(
        self,
        catalog: Catalog,
        index: VectorIndex,
        encoder: Encoder,
        thumbs_dir: Path,
        null_cache: Path | None = None,
        towers: QueryTowers | None = None,
    ) -> None:
        """``null_cache``: where the null banks' vectors are kept between runs
        (:mod:`core.query.null_queries`); None computes them once per searcher. ``towers``:
        which text tower reads a sentence (:mod:`core.query.towers`); None: the bundle's own,
        with no multilingual tower."""
        self.catalog = catalog
        self.index = index
        self.encoder = encoder
        self.towers = towers if towers is not None else QueryTowers(encoder, None)
        self.thumbs_dir = thumbs_dir
        self.null_cache = null_cache
        #: How moments seen and moments said are ranked together (core.query.speech.RULES).
        self.fusion = speech.FUSION_RULE
        #: The null bank's scores per query kind, with the sample they were computed on.
        self._nulls: dict[str, tuple[np.ndarray, NullScores | None]] = {}

    def text(
        self,
        text: str,
        k: int = 20,
        *,
        folders: Sequence[str | os.PathLike[str]] | None = None,
        merge: bool = True,
        when: Period = ANY_TIME,
        order: str = "relevance",
        lang: str = AUTO,
    ) -> list[SearchResult]:
        """The ``k`` moments that best match a sentence, shot within ``when``, in ``order``
        (:data:`core.query.ranking.ORDERS`), read by the tower ``lang`` picks
        (:meth:`QueryTowers.route`). Raises QueryError for a bad query.

        What was said is searched too (:mod:`core.query.speech`): ``said: …`` or a "quoted
        phrase" searches speech only; any other sentence finds moments seen and said, fused
        into one ranking. A library without transcripts answers exactly as before."""
        said = speech.parse(text)
        if said.speech_only:
            if not said.units:
                raise QueryError("say what was said, e.g. said: happy birthday")
            return in_order(self.spoken(said, k, folders=folders, when=when), order)
        vector, route = self.towers.encode(text, lang)
        allowed = self.allowed(folders, when)
        hits = self.index.query(vector, k * 4 if merge else k, allowed)
        reader = self.towers.tower() if route.tower == MULTILINGUAL_TOWER else None
        background, null = self._background(vector, reader=reader)
        found = self._results(
            hits, k, merge, background=background, query=vector,
            folders=folders, when=when, null=null, leave_out=null_queries.position(text),
        )  # fmt: skip
        if said.units and transcripts.has_lines(self.catalog):
            heard = self.spoken(said, k, folders=folders, when=when, query=vector)
            found = speech.fuse(found, heard, k, self.fusion)
        return in_order(found, order)

    def spoken(
        self,
        said: speech.SpeechQuery,
        k: int = 20,
        *,
        folders: Sequence[str | os.PathLike[str]] | None = None,
        when: Period = ANY_TIME,
        query: np.ndarray | None = None,
    ) -> list[SearchResult]:
        """The ``k`` moments whose spoken lines match ``said`` best (best first), each spanning
        its line, starting at the first matched word, inside ``folders`` and ``when``, copies
        folded. ``score``: the visual similarity of the line's segment to ``query`` when given
        (a fused search), else the line's coverage (a search by speech only)."""
        matches = speech.find_lines(self.catalog, said, limit=4 * k)
        if not matches:
            return []
        picks = transcripts.segments_at(
            self.catalog, [(m.line.video_id, m.line.t0, m.line.t1) for m in matches]
        )
        rows = self.catalog.segments([p for p in picks if p is not None])
        allowed = self.allowed(folders, when)
        visual: dict[int, float] = {}
        if query is not None and rows:
            dim = self.encoder.embed_dim
            for ids, vectors in self.catalog.iter_segment_vectors(dim, rows.keys()):
                visual.update(zip(ids, (vectors @ query).tolist(), strict=True))
        reachable: dict[str, bool] = {}
        results = []
        for m, sid in zip(matches, picks, strict=True):
            row = None if sid is None else rows.get(sid)
            if sid is None or row is None or (allowed is not None and sid not in allowed):
                continue
            t0, t1 = inside(m.line.t0, m.line.t1, row.duration)
            if t1 <= t0:  # a line after the video's last frame: its last moment
                t0, t1 = inside(row.t0, row.t1, row.duration)
            results.append(
                SearchResult(
                    row.path, t0, t1, visual.get(sid, m.coverage), None, row.video_id, (sid,),
                    relevance=speech.relevance(m.coverage), online=_reachable(row.path, reachable),
                    duration=row.duration, captured_at=row.captured_at,
                    captured_ts=row.captured_ts, captured_source=row.captured_source,
                    best_t=min(max(m.first_t, t0), t1), speech=m.match(),
                )
            )  # fmt: skip
        fingerprints = {rows[r.segment_ids[0]].fingerprint for r in results}
        places = self._places(fingerprints, self._folders(folders), when, reachable)
        results = fold_copies(results, lambda r: rows[r.segment_ids[0]].fingerprint, places)[:k]
        everywhere = self.catalog.paths_by_fingerprint(
            rows[r.segment_ids[0]].fingerprint for r in results
        )
        out = []
        for r in results:
            row = rows[r.segment_ids[0]]
            copies = tuple(p for p in everywhere.get(row.fingerprint, ()) if p != r.path)
            thumb = self._thumbnail(row, r.start)
            out.append(replace(r, thumbnail=thumb, copies=copies or r.copies))
        return out

    def image(
        self,
        image: str | os.PathLike[str] | np.ndarray,
        k: int = 20,
        *,
        folders: Sequence[str | os.PathLike[str]] | None = None,
        merge: bool = True,
        when: Period = ANY_TIME,
        order: str = "relevance",
        exclude: tuple[str, float, float] | None = None,
    ) -> list[SearchResult]:
        """Moments that look like a picture (a photo, or a frame of a video). ``exclude``
        (path, t0, t1) leaves out the moment a "find similar" started from: it is the picture's
        own moment, and showing it first would only repeat the question."""
        rgb = self._read_image(image)
        query = l2_normalise(self.encoder.encode_images([rgb]))[0]
        allowed = self.allowed(folders, when)
        hits = self.index.query(query, max(4 * k, IMAGE_CANDIDATES), allowed)
        rows = self.catalog.segments([h[0] for h in hits])
        kept = [(seg_id, score) for seg_id, score in hits if seg_id in rows]
        by_frame = self._frame_scores([rows[i] for i, _ in kept], [s for _, s in kept], query)
        rescored = [(seg_id, score) for (seg_id, _), score in zip(kept, by_frame, strict=True)]
        rescored.sort(key=lambda h: -h[1])
        background, null = self._background(query, by_frame=True)
        found = self._results(
            rescored, k + (exclude is not None), merge, rows, background, query,
            folders=folders, when=when, null=null,
        )  # fmt: skip
        if exclude is not None:
            found = [r for r in found if not _same_moment(r, exclude)][:k]
        return in_order(found, order)

    def browse(
        self,
        *,
        folders: Sequence[str | os.PathLike[str]] | None = None,
        when: Period = ANY_TIME,
        limit: int = 2000,
    ) -> list[SearchResult]:
        """The library without a query: one card per file, newest shot first, spanning the
        whole video (score 0: nothing was matched), its thumbnail from the middle. Copies of a
        file are one card, named as a search names it (:func:`core.query.ranking.named_place`
        among the copies inside ``folders``), the others listed as its copies."""
        under = self._folders(folders)
        rows = self.catalog.browse(when.after, when.before, limit, under)
        everywhere = self.catalog.paths_by_fingerprint(r.fingerprint for r in rows)
        reachable: dict[str, bool] = {}
        offline = [r.fingerprint for r in rows if not _reachable(r.path, reachable)]
        places = self._places(offline, under, when, reachable)
        out = []
        for row in rows:
            home = Place(
                row.path, row.video_id, reachable[row.path], row.duration, row.captured_at,
                row.captured_ts, row.captured_source,
            )  # fmt: skip
            if not home.online:  # a reachable copy, if there is one, names the card
                home = named_place([home, *places.get(row.fingerprint, ())])
                row = replace(row, path=home.path)  # a lost thumbnail is made from that copy
            end = row.duration if row.duration else row.t1
            result = SearchResult(
                home.path, 0.0, end, 0.0, None, home.video_id, (row.id,),
                online=home.online, duration=row.duration, captured_at=home.captured_at,
                captured_ts=home.captured_ts, captured_source=home.captured_source,
                best_t=row.thumb_t,
                copies=tuple(p for p in everywhere.get(row.fingerprint, ()) if p != home.path),
            )  # fmt: skip
            out.append(replace(result, thumbnail=self._thumbnail(row, row.thumb_t)))
        if offline:  # a copy took an offline card's name, and its shooting time
            out.sort(key=lambda r: (r.captured_ts is None, -(r.captured_ts or 0.0), r.path))
        return out

    def allowed(
        self, folders: Sequence[str | os.PathLike[str]] | None, when: Period = ANY_TIME
    ) -> set[int] | None:
        """Segment ids under the given folders (watched folders or folders inside them) and
        shot within ``when``; None: every segment."""
        allowed: set[int] | None = None
        if folders:
            allowed = set()
            for path in self._folders(folders):
                allowed |= self.catalog.segment_ids_under(path, os.sep)
        if when.bounded:
            dated = self.catalog.segment_ids_captured(when.after, when.before)
            allowed = dated if allowed is None else allowed & dated
        return allowed

    def _folders(self, folders: Sequence[str | os.PathLike[str]] | None) -> list[str]:
        """The folders a search or browse is limited to, as the catalog names them (none: the
        whole library). Raises QueryError for one outside every watched folder."""
        if not folders:
            return []
        roots = self.catalog.folder_paths()
        out = []
        for folder in folders:
            path = canonical(folder)
            if owner(path, roots) is None:
                raise QueryError(f"not inside a watched folder: {folder}")
            out.append(path)
        return out

    def _places(
        self,
        fingerprints: Iterable[str],
        under: Sequence[str],
        when: Period,
        reachable: dict[str, bool],
    ) -> dict[str, list[Place]]:
        """Every place each file lives that a search limited to folders ``under`` and shot
        within ``when`` may show, in the order found. ``reachable`` caches which paths exist."""
        out: dict[str, list[Place]] = {}
        for fp, copies in self.catalog.copies(fingerprints, under).items():
            for c in copies:
                ts = c.captured_ts
                if when.bounded and (
                    ts is None
                    or (when.after is not None and ts < when.after)
                    or (when.before is not None and ts >= when.before)
                ):
                    continue
                online = _reachable(c.path, reachable)
                place = Place(
                    c.path, c.video_id, online, c.duration, c.captured_at, c.captured_ts,
                    c.captured_source,
                )  # fmt: skip
                out.setdefault(fp, []).append(place)
        return out

    def _frame_scores(
        self, segments: Sequence[SegmentRow], scores: Sequence[float], query: np.ndarray
    ) -> list[float]:
        """Each segment's score for a picture: its own, or its best-matching frame's if
        higher (every segment's frames read in one query, as for best seconds)."""
        spans = [(s.video_id, s.first_frame, s.last_frame) for s in segments]
        found = self.catalog.frames_in_ranges(spans, self.encoder.embed_dim)
        return [
            score if peak is None else max(score, peak[1])
            for score, peak in zip(scores, _peaks(found, query), strict=True)
        ]

    def _background(
        self, query: np.ndarray, *, by_frame: bool = False, reader: TextTower | None = None
    ) -> tuple[Background | None, NullScores | None]:
        """The query's scores over a sample of the library's moments (see core.query.relevance),
        scored as results are: by segment vector, or for a picture by best frame too; and what
        the null bank of the query's kind scores on the same sample."""
        ids, vectors = self.index.sample(
            relevance.SAMPLE if not by_frame else IMAGE_BACKGROUND_SAMPLE
        )
        if not ids:
            return None, None
        null = self._null("picture" if by_frame else "sentence", vectors, reader)
        scores = vectors @ query
        if by_frame:
            rows = self.catalog.segments(ids)
            present = [j for j, i in enumerate(ids) if i in rows]
            rescored = self._frame_scores(
                [rows[ids[j]] for j in present], [float(scores[j]) for j in present], query
            )
            scores = scores.astype(np.float64)
            scores[present] = rescored
        return Background.of(scores), null

    def _null(
        self, kind: str, sample: np.ndarray, reader: TextTower | None = None
    ) -> NullScores | None:
        """The null bank's scores on this sample, kept while the index keeps the same sample
        (a bank against 2,048 moments is a product of ~260 x 2,048 vectors). A model whose
        tower cannot encode the bank is rated by the library alone, and says so in the log."""
        key = kind if reader is None else f"{kind}:{reader.identity}"
        cached = self._nulls.get(key)
        if cached is not None and cached[0] is sample:
            return cached[1]
        try:
            bank = null_queries.bank_vectors(self.encoder, kind, self.null_cache, reader)
        except Exception as exc:  # a model that cannot read its bank: rate without it
            log.warning("no null %s bank for %s: %s", kind, self.encoder.name, exc)
            bank = np.zeros((0, self.encoder.embed_dim), np.float32)
        null = NullScores.of(bank, sample)
        self._nulls[key] = (sample, null)
        return null

    def _read_image(self, image: str | os.PathLike[str] | np.ndarray) -> np.ndarray:
        """A query picture as RGB: an array as given, a file through core.query.images (checked
        header first, decoded reduced, never handed to OpenCV by name)."""
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise QueryError("a query image must be an RGB uint8 array [H, W, 3]")
            return image
        short = max(MIN_SHORT_SIDE, 2 * self.encoder.manifest.image_size)
        return read_query_image(image, min_short_side=short)

    def _results(
        self,
        hits: Sequence[tuple[int, float]],
        k: int,
        merge: bool,
        rows: dict[int, SegmentRow] | None = None,
        background: Background | None = None,
        query: np.ndarray | None = None,
        *,
        folders: Sequence[str | os.PathLike[str]] | None = None,
        when: Period = ANY_TIME,
        null: NullScores | None = None,
        leave_out: int | None = None,
    ) -> list[SearchResult]:
        """Hits → moments: each inside its video, copies folded (named after the place found
        first inside ``folders`` and ``when``: core.query.ranking.fold_copies), overlaps merged,
        rated."""
        rows = rows if rows is not None else self.catalog.segments([h[0] for h in hits])
        reachable: dict[str, bool] = {}
        results = []
        for seg_id, score in hits:
            row = rows.get(seg_id)
            if row is None:  # deleted between the ANN query and now
                continue
            t0, t1 = inside(row.t0, row.t1, row.duration)
            results.append(
                SearchResult(
                    row.path,
                    t0,
                    t1,
                    score,
                    None,
                    row.video_id,
                    (seg_id,),
                    online=_reachable(row.path, reachable),
                    duration=row.duration,
                    captured_at=row.captured_at,
                    captured_ts=row.captured_ts,
                    captured_source=row.captured_source,
                )
            )
        fingerprints = {rows[r.segment_ids[0]].fingerprint for r in results}
        places = self._places(fingerprints, self._folders(folders), when, reachable)
        results = fold_copies(results, lambda r: rows[r.segment_ids[0]].fingerprint, places)
        results = merge_adjacent(results, k) if merge else results[:k]
        everywhere = self.catalog.paths_by_fingerprint(
            rows[r.segment_ids[0]].fingerprint for r in results
        )
        bests = [None] * len(results) if query is None else self.best_frames(results, rows, query)
        on_moment = self._null_on_moments(results, null, leave_out)
        return [
            self._finish(
                r, rows, background, everywhere, best, null, on_moment.get(r.segment_ids[0])
            )
            for r, best in zip(results, bests, strict=True)
        ]

    def _null_on_moments(
        self, results: Sequence[SearchResult], null: NullScores | None, leave_out: int | None
    ) -> dict[int, float]:
        """The best score any null query (but ``leave_out``, the query's own sentence) gives each
        moment's best segment (by segment id)."""
        if null is None or not results:
            return {}
        wanted = {r.segment_ids[0] for r in results}
        out: dict[int, float] = {}
        for ids, vectors in self.catalog.iter_segment_vectors(self.encoder.embed_dim, wanted):
            best = null.best_on(l2_normalise(vectors), leave_out)
            out.update(zip(ids, best.tolist(), strict=True))
        return out

    def best_frames(
        self, results: Sequence[SearchResult], rows: dict[int, SegmentRow], query: np.ndarray
    ) -> list[float | None]:
        """For each moment, the time of its stored frame that scores highest against
        ``query`` (among the frames of every segment it spans, inside its range), or None
        without frames. The frames of all moments are read in one query: one per moment made
        the window's 200-moment search three times slower (13.6 → 45 ms p50)."""
        spans: list[tuple[int, int, int]] = []
        for r in results:
            spanned = [rows[i] for i in r.segment_ids if i in rows]
            first = min((s.first_frame for s in spanned), default=0)
            last = max((s.last_frame for s in spanned), default=-1)  # none: an empty range
            spans.append((r.video_id, first, last))
        found = self.catalog.frames_in_ranges(spans, self.encoder.embed_dim)
        peaks = _peaks(found, query, [(r.t0, r.t1) for r in results])
        return [None if peak is None else peak[0] for peak in peaks]

    def _thumbnail(self, row: SegmentRow, t: float) -> str | None:
        """The cached thumbnail of ``row``'s video at ``t``; else its segment's (re-made from
        the video if the cache lost it). A frame that was never a segment's thumbnail is not
        decoded here: the window asks for it in the background (core.ingest.thumbnails.ensure),
        so a search never waits for a seek."""
        thumb = thumbnails.cached(self.thumbs_dir, row.fingerprint, t)
        if thumb is None:
            thumb = thumbnails.cached(self.thumbs_dir, row.fingerprint, row.thumb_t)
        if thumb is None:  # the cache lost it: made again from the video (if reachable)
            made = thumbnails.ensure(self.thumbs_dir, row.fingerprint, Path(row.path), row.thumb_t)
            thumb = None if made is None else str(made)
        return thumb

    def _finish(
        self,
        r: SearchResult,
        rows: dict[int, SegmentRow],
        background: Background | None,
        places: dict[str, list[str]],
        best: float | None,
        null: NullScores | None = None,
        null_on_moment: float | None = None,
    ) -> SearchResult:
        """The moment with its best second and that second's thumbnail (if cached), every
        other place its file lives, and its relevance."""
        row = rows[r.segment_ids[0]]  # the best-scoring segment of the moment
        thumb = self._thumbnail(row, row.thumb_t if best is None else best)
        copies = r.copies
        if row.fingerprint in places:
            copies = tuple(p for p in places[row.fingerprint] if p != r.path)
        return replace(
            r, thumbnail=thumb, copies=copies, best_t=best,
            relevance=relevance.judge(r.score, background, null, null_on_moment),
        )  # fmt: skip


def _same_moment(r: SearchResult, moment: tuple[str, float, float]) -> bool:
    """Whether ``r`` is (or overlaps) the moment (path, t0, t1), under any of its copies' names."""
    path, t0, t1 = moment
    return (r.path == path or path in r.copies) and r.t0 < t1 and r.t1 > t0


def _reachable(path: str, known: dict[str, bool]) -> bool:
    """Whether ``path`` can be reached now, asked of the disk once per search."""
    if path not in known:
        known[path] = os.path.exists(path)
    return known[path]


def _peaks(
    found: Sequence[tuple[np.ndarray, np.ndarray]],
    query: np.ndarray,
    windows: Sequence[tuple[float, float]] | None = None,
) -> list[tuple[float, float] | None]:
    """For each group of (times, raw frame vectors): the time and cosine of its frame that
    matches ``query`` best (only frames inside ``windows[i]`` when given), or None when it has
    none. Every group is scored in one product: per group, numpy's overhead on a handful of
    frames cost more than the arithmetic."""
    counts = [len(t) for t, _ in found]
    if not sum(counts):
        return [None] * len(found)
    times = np.concatenate([t for t, _ in found])
    scores = l2_normalise(np.concatenate([f for _, f in found])) @ query
    if windows is not None:
        owner = np.repeat(np.arange(len(found)), counts)
        t0 = np.array([w[0] for w in windows])[owner] - 1e-6
        t1 = np.array([w[1] for w in windows])[owner] + 1e-6
        scores = np.where((times >= t0) & (times <= t1), scores, -np.inf)
    peaks: list[tuple[float, float] | None] = []
    start = 0
    for count in counts:
        stop = start + count
        best = start + int(np.argmax(scores[start:stop])) if count else -1
        inside_window = best >= 0 and scores[best] != -np.inf
        peaks.append((float(times[best]), float(scores[best])) if inside_window else None)
        start = stop
    return peaks
