"""The approximate-nearest-neighbour index over segment vectors (hnswlib), kept honest.

hnswlib is fast but fragile in three ways this module absorbs:

* it is not safe to query while items are added: one lock guards every call, so the GUI can
  search while the indexer adds (queries take well under a millisecond to a few ms);
* ``ef`` is not saved with the file: it is set after every load;
* a file written by a process that was killed can be stale (the database moved on) or truncated:
  the file is written to a temporary name, fsynced and renamed, with a sidecar recording its
  size and CRC-32; at open the file is checked against the sidecar and then *reconciled* with the
  database — labels the database no longer has are marked deleted, segments the file lacks are
  added. A file that fails its check is rebuilt from the database, which always has the vectors.

hnswlib's ``get_ids_list`` also lists deleted labels, so the set of live labels is tracked here.
Labels are segment ids, which SQLite's AUTOINCREMENT never reuses, so a deleted label is never
added again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import hnswlib
import numpy as np

log = logging.getLogger(__name__)

SPACE = "ip"  # vectors are L2-normalised: inner product = cosine
M = 16
EF_CONSTRUCTION = 200
# Search breadth. 64 gave recall@10 of 0.94-0.98 at 1e6 clustered 512-d vectors, 128 gave 1.000
# for +0.1 ms a query (benchmarks/indexing.py); ef is not saved with the file, so it is set on load.
MIN_EF = 128


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            crc = zlib.crc32(block, crc)
    return crc


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class VectorIndex:
    """Segment vectors in hnswlib, thread-safe, with crash-safe persistence."""

    def __init__(self, path: Path, dim: int, *, capacity: int = 1024) -> None:
        self.path = Path(path)
        self.sidecar = self.path.with_name(self.path.name + ".json")
        self.dim = dim
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._index = self._new(capacity)
        self._live: set[int] = set()
        self.dirty = False
        # (n, live count when drawn, ids, vectors) of the last sample(); see there
        self._sample: tuple[int, int, list[int], np.ndarray] | None = None

    def _new(self, capacity: int) -> hnswlib.Index:
        index = hnswlib.Index(space=SPACE, dim=self.dim)
        index.init_index(
            max_elements=max(capacity, 16),
            ef_construction=EF_CONSTRUCTION,
            M=M,
            allow_replace_deleted=True,
        )
        index.set_ef(MIN_EF)
        return index

    # -- opening -----
    def load_and_reconcile(
        self,
        truth: set[int],
        fetch: Callable[[Iterable[int] | None], Iterator[tuple[list[int], np.ndarray]]],
    ) -> str:
        """Load the saved file and make it agree with ``truth`` (the database's segment ids).

        ``fetch(ids)`` yields (ids, vectors) from the database (``None``: all segments).
        Returns what happened, for the log: 'loaded', 'reconciled …' or 'rebuilt …'.
        """
        with self._lock:
            if not truth and not self.path.exists():
                return "new"
            loaded = self._load_checked()
            if loaded is None:
                self._rebuild_locked(len(truth), fetch(None))
                self.dirty = True
                return f"rebuilt from the database ({len(self._live)} segments)"
            index, labels = loaded
            self._index = index
            stale = labels - truth
            missing = truth - labels
            for label in stale:
                with contextlib.suppress(RuntimeError):  # deleted before the save already
                    self._index.mark_deleted(label)
            self._live = labels & truth
            if missing:
                for ids, vectors in fetch(missing):
                    self._add_locked(ids, vectors)
            self.dirty = bool(stale or missing)
            if self.dirty:
                return f"reconciled ({len(missing)} added, {len(stale)} dropped)"
            return "loaded"

    def _load_checked(self) -> tuple[hnswlib.Index, set[int]] | None:
        if not self.path.is_file() or not self.sidecar.is_file():
            return None
        try:
            meta = json.loads(self.sidecar.read_text(encoding="utf-8"))
            if (
                meta.get("dim") != self.dim
                or meta.get("bytes") != self.path.stat().st_size
                or meta.get("crc32") != _crc32(self.path)
            ):
                log.warning("%s does not match its sidecar: rebuilding", self.path.name)
                return None
            index = hnswlib.Index(space=SPACE, dim=self.dim)
            index.load_index(
                str(self.path),
                max_elements=int(meta.get("capacity", 0)) or 0,
                allow_replace_deleted=True,
            )
        except (OSError, ValueError, RuntimeError, TypeError) as exc:
            log.warning("%s unreadable (%s): rebuilding", self.path.name, exc)
            return None
        index.set_ef(MIN_EF)
        labels = {int(x) for x in index.get_ids_list()}
        deleted = {int(x) for x in meta.get("deleted", [])}
        return index, labels - deleted

    def _rebuild_locked(self, count: int, batches: Iterator[tuple[list[int], np.ndarray]]) -> None:
        self._index = self._new(max(count, 1024))
        self._live = set()
        self._sample = None
        for ids, vectors in batches:
            self._add_locked(ids, vectors)

    def rebuild(self, count: int, batches: Iterator[tuple[list[int], np.ndarray]]) -> None:
        """Start over from the database's vectors (also compacts away deleted slots)."""
        with self._lock:
            self._rebuild_locked(count, batches)
            self.dirty = True

    # -- changes -----
    def _add_locked(self, ids: list[int], vectors: np.ndarray) -> None:
        if not ids:
            return
        needed = self._index.get_current_count() + len(ids)
        if needed > self._index.get_max_elements():
            self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
        self._index.add_items(
            np.ascontiguousarray(vectors, dtype=np.float32),
            np.asarray(ids, dtype=np.int64),
            replace_deleted=True,
        )
        self._live.update(ids)

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        with self._lock:
            self._add_locked(ids, vectors)
            self.dirty = True

    def remove(self, ids: Iterable[int]) -> None:
        with self._lock:
            for label in ids:
                if label in self._live:
                    self._index.mark_deleted(label)
                    self._live.discard(label)
                    self.dirty = True

    # -- queries -----
    def __len__(self) -> int:
        return len(self._live)

    def labels(self) -> set[int]:
        with self._lock:
            return set(self._live)

    def query(
        self, vector: np.ndarray, k: int, allowed: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest live segments as (id, cosine similarity), best first."""
        with self._lock:
            live = len(self._live) if allowed is None else len(allowed & self._live)
            k = min(k, live)
            if k <= 0:
                return []
            query = np.asarray(vector, np.float32).reshape(1, -1)
            self._index.set_ef(max(MIN_EF, 2 * k))
            flt = None if allowed is None else allowed.__contains__
            try:
                labels, distances = self._index.knn_query(query, k=k, filter=flt)
            except RuntimeError:
                # A narrow filter (one small folder of a big library) can leave the graph walk
                # with fewer than k hits; the candidates are few then, so score them exactly.
                return self._exact_locked(query[0], k, allowed)
        return [
            (int(label), 1.0 - float(d)) for label, d in zip(labels[0], distances[0], strict=True)
        ]

    def sample(self, n: int, seed: int = 0) -> tuple[list[int], np.ndarray]:
        """Up to ``n`` live segments, drawn at random, with their vectors: what a query is
        compared with to learn the library's scores.

        Reading 2,048 vectors out of hnswlib takes ~0.1 s, too slow for every keystroke, so a
        draw is kept until the library has grown or shrunk by a tenth (a statistic of the
        library, not a list of its contents: a segment deleted since changes nothing).
        """
        with self._lock:
            count = len(self._live)
            cached = self._sample
            if cached is not None and cached[0] == n and abs(count - cached[1]) <= 0.1 * cached[1]:
                return cached[2], cached[3]
            live = sorted(self._live)
            if len(live) > n:
                rng = np.random.default_rng(seed)
                live = sorted(int(i) for i in rng.choice(live, size=n, replace=False))
            vectors = (
                np.asarray(self._index.get_items(live), dtype=np.float32)
                if live
                else np.zeros((0, self.dim), np.float32)
            )
            self._sample = (n, count, live, vectors)
            return live, vectors

    def _exact_locked(
        self, query: np.ndarray, k: int, allowed: set[int] | None
    ) -> list[tuple[int, float]]:
        ids = sorted(self._live if allowed is None else allowed & self._live)
        scores = np.asarray(self._index.get_items(ids), dtype=np.float32) @ query
        order = np.argsort(-scores)[:k]
        return [(ids[i], float(scores[i])) for i in order]

    # -- saving -----
    def save(self) -> None:
        """Write atomically: temp file, fsync, rename; then the sidecar the same way.

        Searches wait only while hnswlib writes the snapshot; fsync, the checksum and the renames
        happen outside the lock (at a million segments they are seconds of I/O).
        """
        with self._save_lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            with self._lock:
                self._index.save_index(str(tmp))
                all_labels = {int(x) for x in self._index.get_ids_list()}
                live = set(self._live)
                capacity = self._index.get_max_elements()
                self.dirty = False
            try:
                self._publish(tmp, all_labels, live, capacity)
            except BaseException:
                self.dirty = True
                raise

    def _publish(self, tmp: Path, all_labels: set[int], live: set[int], capacity: int) -> None:
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        meta = {
            "dim": self.dim,
            "bytes": tmp.stat().st_size,
            "crc32": _crc32(tmp),
            "capacity": capacity,
            "count": len(live),
            "deleted": sorted(all_labels - live),
        }
        side_tmp = self.sidecar.with_name(self.sidecar.name + ".tmp")
        with side_tmp.open("w", encoding="utf-8") as fh:
            json.dump(meta, fh)
            fh.flush()
            os.fsync(fh.fileno())
        # A crash between the two renames leaves a sidecar that does not match the file: the
        # next open rebuilds from the database, which is slow but never wrong.
        os.replace(tmp, self.path)
        os.replace(side_tmp, self.sidecar)
        _fsync_dir(self.path.parent)
