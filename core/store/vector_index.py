"""The approximate-nearest-neighbour index over segment vectors (hnswlib), kept honest.

hnswlib is fast but fragile in four ways this module absorbs:

* it is not safe to query while items are added: one lock guards every call, so the GUI can
  search while the indexer adds (queries take well under a millisecond to a few ms);
* ``ef`` is not saved with the file: it is set after every load;
* a file written by a process that was killed can be stale (the database moved on) or truncated:
  the file is written to a temporary name, fsynced and renamed, with a sidecar recording its
  size and CRC-32; at open the file is checked against the sidecar and then *reconciled* with the
  database — labels the database no longer has are marked deleted, segments the file lacks are
  added. A file that fails its check is rebuilt from the database, which always has the vectors;
* hnswlib's loader trusts the file: a damaged file whose sidecar still matches (the damage was in
  memory before the checksum was taken) crashed the process with SIGSEGV, ``clipseek rebuild``
  included. So every structure hnswlib will follow is checked first (``_check_structure``).

hnswlib's ``get_ids_list`` also lists deleted labels, so the set of live labels is tracked here.
Labels are segment ids, which SQLite's AUTOINCREMENT never reuses, so a deleted label is never
added again.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import hnswlib
import numpy as np

from core.errors import free_bytes

log = logging.getLogger(__name__)

SPACE = "ip"  # vectors are L2-normalised: inner product = cosine
M = 16
EF_CONSTRUCTION = 200
# Search breadth. 64 gave recall@10 of 0.94-0.98 at 1e6 clustered 512-d vectors, 128 gave 1.000
# for +0.1 ms a query (benchmarks/vector_index.py); ef is not saved with the file, so it is set
# on load.
MIN_EF = 128
# A filter this narrow is scored exactly instead of walked: hnswlib's filtered walk visits the
# graph until it has met k allowed labels, so with 50 of 10,000 allowed it crosses much of the
# graph (12.6 ms, against 1.8 ms to score the 50 outright). Exact scoring reads each vector back
# through hnswlib's get_items (~30 us apiece), so it loses from ~250 allowed on (500: 17 ms,
# against 7.3 ms walked). benchmarks/date_filter.py measures both.
EXACT_FILTER_BELOW = 256


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            crc = zlib.crc32(block, crc)
    return crc


# hnswlib's saveIndex header, in its order (hnswalg.h; checked against files saved by hnswlib
# 0.8.0): offsetLevel0_, max_elements_, cur_element_count, size_data_per_element_, label_offset_,
# offsetData_ (size_t), maxlevel_ (int), enterpoint_node_ (uint32), maxM_, maxM0_, M_ (size_t),
# mult_ (double), ef_construction_ (size_t). Native byte order, no padding: 96 bytes.
_HEADER = struct.Struct("=QQQQQQiIQQQdQ")
_NO_ENTRY = 0xFFFFFFFF  # enterpoint_node_ of an empty index (tableint -1)
_COUNT_BITS = 0xFFFF  # a link list's first word: neighbour count (low 16 bits) ...
_DELETE_FLAG = 1  # ... and, at level 0, the delete mark in bits 16-23; the rest is zero
_CHUNK_ROWS = 1 << 15  # level-0 rows checked at a time: keeps each step's temporaries small


def _check_structure(
    path: Path, dim: int, *, capacity: int | None = None, deleted: Iterable[int] | None = None
) -> str | None:
    """What is wrong with the hnswlib file at ``path``, in words, or None when it is sound.

    ``capacity`` and ``deleted`` are what the sidecar says (None: not known).

    hnswlib's loader only checks that the link-list sizes add up to the file's size; it then
    follows every stored neighbour id, entry point and level without bounds checks, so a damaged
    file that passed the sidecar's CRC (damaged in memory before the checksum was taken) crashed
    the process with SIGSEGV on load or on the first query. This checks everything hnswlib will
    follow, so that such a file is rebuilt from the database like any other bad file:

    * the header agrees with our ``dim`` and ``M`` (record layout, offsets, ``maxM0_ == 2*M``),
      with the sidecar's ``capacity``, and with itself (count <= capacity, entry point < count);
    * the file is exactly as long as the header and the upper-level link-list sizes say;
    * every link list (level 0 and above) holds at most ``maxM0_``/``maxM_`` neighbours, each an
      existing element that reaches that level; levels are whole link lists and <= ``maxlevel_``,
      which the entry point reaches;
    * labels fit a non-negative int64 and are unique; vectors hold no NaN or infinity;
    * the elements marked deleted are the sidecar's ``deleted`` labels (a flipped mark would hide
      a live segment from every search without a word).

    It reads the file through a memory map with numpy, a chunk of rows at a time, and builds no
    Python object per element. It runs on every open, so its cost was measured (2-core AMD EPYC
    shared with other work, so the figures varied; the file in the page cache, as it is right
    after the CRC): 1,000,000 x 512-d, a 2.2 GB file: 0.38-0.62 s (the CRC of the same file:
    1.3-1.9 s); 1,000,000 x 32-d: 0.17-0.27 s; a real 50,000 x 512-d index: 0.02-0.03 s. Summing
    the vectors is about half of it, so the cost grows with count x dim. (The million-element
    files were written in hnswlib's format with full neighbour lists and hnswlib's level
    distribution; hnswlib loads and queries such files.)
    """
    size = path.stat().st_size
    if size < _HEADER.size:
        return f"{size} bytes, shorter than the {_HEADER.size}-byte header"
    with path.open("rb") as fh:
        (
            offset_level0,
            max_elements,
            count,
            per_element,
            label_offset,
            data_offset,
            max_level,
            entry,
            max_m,
            max_m0,
            m,
            mult,
            ef_construction,
        ) = _HEADER.unpack(fh.read(_HEADER.size))
    links0 = 4 + 4 * 2 * M  # count word + maxM0 ids
    expected = {
        "offsetLevel0_": (offset_level0, 0),
        "M_": (m, M),
        "maxM_": (max_m, M),
        "maxM0_": (max_m0, 2 * M),
        "offsetData_": (data_offset, links0),
        "label_offset_": (label_offset, links0 + 4 * dim),
        "size_data_per_element_": (per_element, links0 + 4 * dim + 8),
    }
    for name, (found, wanted) in expected.items():
        if found != wanted:
            return f"header {name} is {found}, expected {wanted}"
    if not (math.isfinite(mult) and math.isclose(mult, 1 / math.log(M))):
        return f"header mult_ is {mult}, expected 1/ln({M})"
    if not M <= ef_construction <= 1 << 20:  # hnswlib raises it to M at least; ours is 200
        return f"header ef_construction_ is {ef_construction}"
    if not count <= max_elements <= _NO_ENTRY:
        return f"header holds {count} elements in a capacity of {max_elements}"
    if capacity and max_elements != capacity:
        return f"header capacity {max_elements} is not the sidecar's {capacity}"
    if count == 0:
        if max_level != -1 or entry != _NO_ENTRY:
            return f"empty, yet entry point {entry} at level {max_level}"
    elif entry >= count or max_level < 0:
        return f"entry point {entry} at level {max_level} in {count} elements"
    level0_end = _HEADER.size + count * per_element
    tail_bytes = size - level0_end
    if tail_bytes < 4 * count:  # each element has at least its upper link-list size
        return f"{size} bytes, too short for {count} elements"
    if tail_bytes % 4:
        return f"{size} bytes: the upper link lists do not end on a whole word"
    if count == 0:
        return None if tail_bytes == 0 else f"empty, yet {size} bytes"
    # The size is a multiple of 4 by now. A plain array over the map skips memmap's per-slice
    # cost; the map closes when the last view goes, on return (before any rebuild replaces it).
    words = np.asarray(np.memmap(path, dtype=np.uint32, mode="r"))
    rows = words[_HEADER.size // 4 : level0_end // 4].reshape(count, per_element // 4)
    return _check_upper_levels(words[level0_end // 4 :], count, max_level, entry) or (
        _check_level0(rows, dim, deleted)
    )


def _check_level0(rows: np.ndarray, dim: int, deleted: Iterable[int] | None) -> str | None:
    """Level-0 records (one row of uint32 words per element): link lists, vectors, labels."""
    count, max_m0 = len(rows), 2 * M
    slots = np.arange(max_m0, dtype=np.uint32)
    labels = np.empty(count, dtype=np.uint64)
    marked = np.empty(count, dtype=bool)
    for start in range(0, count, _CHUNK_ROWS):
        chunk = rows[start : start + _CHUNK_ROWS]
        head = chunk[:, 0]
        used = head & _COUNT_BITS
        if int(used.max()) > max_m0:
            at = start + int(np.argmax(used))
            return f"element {at} has {int(used[at - start])} level-0 neighbours (max {max_m0})"
        if int((head >> 16).max()) > _DELETE_FLAG:
            return f"unknown flags in a level-0 link list near element {start}"
        # Slots past a list's count are ignored by hnswlib but hold 0 or an old, valid id (it
        # zeroes each record when it is added), so the mask is needed only when some slot is too
        # big: a plain max is five times cheaper than masking every row.
        ids = chunk[:, 1 : 1 + max_m0]
        if int(ids.max()) >= count:
            suspect = np.flatnonzero(ids.max(axis=1) >= count)
            named = np.where(slots < used[suspect, None], ids[suspect], 0)
            if int(named.max()) >= count:
                return f"a level-0 neighbour id {int(named.max())} is not below {count}"
        vectors = chunk[:, 1 + max_m0 : 1 + max_m0 + dim].view(np.float32)
        # NaN and infinity survive a sum; einsum's plain float32 sum reads the strided vectors
        # twice as fast as ndarray.sum. It overflows only for components beyond ~1e31 on average,
        # which in an index of unit vectors is damage too.
        if not math.isfinite(float(np.einsum("ij->", vectors))):
            at = start + int(np.argmin(np.isfinite(vectors).all(axis=1)))
            return f"the vector of element {at} holds NaN or infinity"
        low, high = chunk[:, -2].astype(np.uint64), chunk[:, -1].astype(np.uint64)
        labels[start : start + len(chunk)] = low | (high << np.uint64(32))
        marked[start : start + len(chunk)] = head >> 16 == _DELETE_FLAG
    problem = _check_labels(labels)
    if problem is None and deleted is not None:
        said = np.unique(np.asarray(list(deleted), dtype=np.int64))
        if not np.array_equal(np.sort(labels[marked].astype(np.int64)), said):
            problem = f"{int(marked.sum())} elements marked deleted, the sidecar lists {len(said)}"
    return problem


def _check_labels(labels: np.ndarray) -> str | None:
    """Labels (segment ids) must be unique and fit a non-negative int64."""
    largest = int(labels.max())
    if largest >= 1 << 63:
        return "a label is negative"
    if largest < 4 * len(labels) + 4096:  # segment ids are dense: a bitmap beats a sort 4x
        seen = np.zeros(largest + 1, dtype=bool)
        seen[labels] = True
        unique = int(np.count_nonzero(seen))
    else:
        ordered = np.sort(labels)
        unique = 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))
    return None if unique == len(labels) else "a label appears twice"


def _check_upper_levels(tail: np.ndarray, count: int, max_level: int, entry: int) -> str | None:
    """The upper link lists: per element a byte count, then that many bytes of whole levels.

    hnswlib reads the counts in order, each telling where the next is: a walk that a Python
    loop would take ~0.5 s over at a million elements. It is done vectorised instead. Every
    count of whole levels is a candidate record head (a neighbour id can look like one); from
    the first non-zero word, each record's successor is the first candidate at or after its end,
    and the chain of successors is followed for all steps at once by pointer doubling. In a
    sound file that chain is exactly the records above level 0, and every non-zero word lies in
    one of them; if any lies outside, hnswlib's own walk would meet a count that is not whole
    levels, or stray bytes, and the file is damaged.
    """
    per_level = M + 1  # words: count word + maxM ids
    total = len(tail)
    nonzero = np.flatnonzero(tail)
    if not nonzero.size:
        if total != count:
            return f"{total} link-list records for {count} elements"
        return None if max_level == 0 else f"maxlevel_ is {max_level}, yet no level above 0"
    sizes = tail[nonzero]
    heads = nonzero[sizes % (4 * per_level) == 0]
    if not heads.size or heads[0] != nonzero[0]:
        return f"an upper link list of {int(sizes[0])} bytes is not whole levels"
    ends = heads + 1 + tail[heads].astype(np.int64) // 4
    jump = np.append(np.searchsorted(heads, ends), len(heads))  # len(heads): past the last
    step = np.arange(len(heads))
    chain = np.zeros(len(heads), dtype=np.int64)  # chain[i]: the i-th record, as a head index
    bit = 0
    while 1 << bit < len(heads):
        chain = np.where(step >> bit & 1, jump[chain], chain)
        jump = jump[jump]
        bit += 1
    chain = chain[chain < len(heads)]
    at, end = heads[chain], ends[chain]
    if int(end[-1]) > total:
        return "an upper link list runs past the end of the file"
    inside = np.searchsorted(nonzero, end) - np.searchsorted(nonzero, at)
    if int(inside.sum()) != nonzero.size:
        return "stray bytes between the upper link lists, or a list that is not whole levels"
    records = len(at) + total - int((end - at).sum())
    if records != count:
        return f"{records} link-list records for {count} elements"
    depth = (end - at - 1) // per_level
    if int(depth.max()) > max_level:
        return f"an element reaches level {int(depth.max())}, above maxlevel_ {max_level}"
    # the element of each record: its word position less the words of the lists before it
    before = np.concatenate(([0], np.cumsum(depth * per_level)[:-1]))
    levels = np.zeros(count, dtype=np.int64)
    levels[at - before] = depth
    if levels[entry] != max_level:
        return f"the entry point reaches level {int(levels[entry])}, not maxlevel_ {max_level}"
    # every level of every list, as rows of per_level words, with the level it belongs to
    first = np.repeat(np.cumsum(depth) - depth, depth)
    level = np.arange(len(first), dtype=np.int64) - first + 1
    block = np.repeat(at + 1, depth) + (level - 1) * per_level
    lists = tail[block[:, None] + np.arange(per_level)]
    used = lists[:, 0] & _COUNT_BITS
    if int(used.max()) > M:
        return f"an upper link list claims {int(used.max())} neighbours (max {M})"
    if int((lists[:, 0] >> 16).max()) != 0:
        return "stray bits in an upper link list's count word"
    filled = np.arange(M) < used[:, None]
    ids = np.where(filled, lists[:, 1:], 0)
    if int(ids.max()) >= count:
        return f"an upper-level neighbour id {int(ids.max())} is not below {count}"
    if np.any(filled & (levels[ids] < level[:, None])):
        return "an upper link list names an element that does not reach its level"
    return None


def _nearly_full(folder: Path) -> bool:
    free = free_bytes(folder)
    return free is not None and free < 64 * 1024 * 1024


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
        #: The largest label ever added: segments another process adds later have larger ids.
        self._top = 0
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
            self._live = labels
            self._top = max(labels, default=0)
            added, dropped = self._reconcile_locked(truth, fetch)
            self.dirty = bool(added or dropped)
            if self.dirty:
                return f"reconciled ({added} added, {dropped} dropped)"
            return "loaded"

    def _reconcile_locked(
        self,
        truth: set[int],
        fetch: Callable[[Iterable[int] | None], Iterator[tuple[list[int], np.ndarray]]],
    ) -> tuple[int, int]:
        """Drop the live labels ``truth`` lacks, add those it has more: (added, dropped)."""
        stale = self._live - truth
        missing = truth - self._live
        for label in stale:
            with contextlib.suppress(RuntimeError):  # deleted before the save already
                self._index.mark_deleted(label)
        self._live &= truth
        if missing:
            for ids, vectors in fetch(missing):
                self._add_locked(ids, vectors)
        return len(missing), len(stale)

    def catch_up(
        self,
        truth: Callable[[], set[int]],
        count: Callable[[], int],
        added_after: Callable[[int], list[int]],
        fetch: Callable[[Iterable[int] | None], Iterator[tuple[list[int], np.ndarray]]],
    ) -> tuple[int, int]:
        """Take in what another process changed in the database: (added, dropped).

        The usual change (the other process indexed videos) costs two indexed queries: the
        segments above the largest label known here are added, and if the database then holds
        as many segments as this index, nothing was deleted (ids are never reused). Otherwise
        the labels are compared with ``truth()`` in full; a change of most of the index (the
        other process re-cut every moment) is rebuilt instead. ``dirty`` is left as it was:
        the process that wrote saves its own file.
        """
        with self._lock:
            new = added_after(self._top)
            if new:
                for ids, vectors in fetch(new):
                    self._add_locked(ids, vectors)
            if count() == len(self._live):
                return len(new), 0
            labels = truth()
            added, dropped = len(labels - self._live), len(self._live - labels)
            if added + dropped > max(1024, len(self._live) // 2):
                self._rebuild_locked(len(labels), fetch(None))
            else:
                self._reconcile_locked(labels, fetch)
            return len(new) + added, dropped

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
            capacity = int(meta.get("capacity", 0)) or 0
            problem = _check_structure(
                self.path, self.dim, capacity=capacity or None, deleted=meta.get("deleted")
            )
            if problem is not None:
                log.warning("%s is damaged (%s): rebuilding", self.path.name, problem)
                return None
            index = hnswlib.Index(space=SPACE, dim=self.dim)
            index.load_index(
                str(self.path),
                max_elements=capacity,
                allow_replace_deleted=True,
            )
        except (OSError, ValueError, RuntimeError, TypeError, OverflowError) as exc:
            log.warning("%s unreadable (%s): rebuilding", self.path.name, exc)
            return None
        index.set_ef(MIN_EF)
        labels = {int(x) for x in index.get_ids_list()}
        deleted = {int(x) for x in meta.get("deleted", [])}
        return index, labels - deleted

    def _rebuild_locked(self, count: int, batches: Iterator[tuple[list[int], np.ndarray]]) -> None:
        self._index = self._new(max(count, 1024))
        self._live = set()
        self._top = 0
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
        self._top = max(self._top, max(ids))

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
            if allowed is not None and live < min(EXACT_FILTER_BELOW, len(self._live)):
                return self._exact_locked(query[0], k, allowed)
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
            side_tmp = self.sidecar.with_name(self.sidecar.name + ".tmp")
            try:
                with self._lock:
                    self._index.save_index(str(tmp))
                    all_labels = {int(x) for x in self._index.get_ids_list()}
                    live = set(self._live)
                    capacity = self._index.get_max_elements()
                    self.dirty = False
                self._publish(tmp, side_tmp, all_labels, live, capacity)
            except BaseException:
                self.dirty = True
                # A full disk must not leave half-written temporaries behind (nor publish them).
                tmp.unlink(missing_ok=True)
                side_tmp.unlink(missing_ok=True)
                raise

    def _publish(
        self, tmp: Path, side_tmp: Path, all_labels: set[int], live: set[int], capacity: int
    ) -> None:
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        # hnswlib writes through a C++ stream and never reports a failed write: on a full disk
        # it leaves a short file and returns. Checked here, before it can replace a good one.
        problem = _check_structure(tmp, self.dim, capacity=capacity, deleted=all_labels - live)
        if problem is not None:
            raise OSError(
                errno.ENOSPC if _nearly_full(self.path.parent) else errno.EIO,
                f"the vector index could not be written completely ({problem})",
            )
        meta = {
            "dim": self.dim,
            "bytes": tmp.stat().st_size,
            "crc32": _crc32(tmp),
            "capacity": capacity,
            "count": len(live),
            "deleted": sorted(all_labels - live),
        }
        with side_tmp.open("w", encoding="utf-8") as fh:
            json.dump(meta, fh)
            fh.flush()
            os.fsync(fh.fileno())
        # A crash between the two renames leaves a sidecar that does not match the file: the
        # next open rebuilds from the database, which is slow but never wrong.
        os.replace(tmp, self.path)
        os.replace(side_tmp, self.sidecar)
        _fsync_dir(self.path.parent)
