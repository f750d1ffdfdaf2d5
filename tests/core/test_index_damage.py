"""A damaged hnswlib file whose sidecar still matches is rebuilt, never followed into a crash.

The sidecar's CRC catches damage on disk, not damage that happened in memory before the file was
written and checksummed (a bug, a flipped RAM bit). hnswlib's loader follows stored neighbour ids,
the entry point and levels without bounds checks, so such a file used to kill every ``clipseek``
command with SIGSEGV, ``clipseek rebuild`` included. Each case here damages a real saved index,
rewrites the sidecar to match the damaged bytes, and opens it in a subprocess (a crash shows as a
negative return code instead of killing pytest): it must be rebuilt from the "database" and
answer queries correctly.
"""

from __future__ import annotations

import json
import signal
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest

from core.store.vector_index import M, VectorIndex

ROOT = Path(__file__).resolve().parents[2]
DIM = 32
COUNT = 400
REMOVED = range(1, COUNT + 1, 10)  # 40 segments deleted before the save

# hnswlib's saveIndex layout (hnswalg.h): this header, then per element a level-0 record of
# [count word, 2*M neighbour ids, DIM float32, uint64 label], then per element a uint32 byte count
# of its upper link lists, each level [count word, M neighbour ids].
HEADER = struct.Struct("=QQQQQQiIQQQdQ")
FIELDS = [
    "offset_level0",
    "max_elements",
    "count",
    "per_element",
    "label_offset",
    "data_offset",
    "max_level",
    "entry",
    "max_m",
    "max_m0",
    "m",
    "mult",
    "ef_construction",
]
LEVEL0_WORDS = 1 + 2 * M + DIM + 2
UPPER_WORDS = 1 + M


# --------------------------------------------------------------------------- a real saved index
def _vectors(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _fetch(ids_all: list[int], vectors: np.ndarray) -> Callable[..., Iterator]:
    """What the database would yield: (ids, vectors) of the asked ids, or of all of them."""
    row = {label: i for i, label in enumerate(ids_all)}

    def fetch(ids: Iterable[int] | None) -> Iterator[tuple[list[int], np.ndarray]]:
        wanted = sorted(row) if ids is None else sorted(ids)
        yield wanted, vectors[[row[i] for i in wanted]]

    return fetch


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, list[int], np.ndarray]:
    """An index of 400 segments, 40 of them removed, saved; (path, live ids, live vectors).

    It starts at a capacity of 64, so adding 400 resizes it on the way.
    """
    ids = list(range(1, COUNT + 1))
    vectors = _vectors(COUNT)
    path = tmp_path / "segments.hnsw"
    index = VectorIndex(path, DIM, capacity=64)
    for start in range(0, COUNT, 100):
        index.add(ids[start : start + 100], vectors[start : start + 100])
    index.remove(REMOVED)
    index.save()
    live = [i for i in ids if i not in set(REMOVED)]
    return path, live, vectors[[i - 1 for i in live]]


def _rewrite_sidecar(path: Path) -> None:
    """Make the sidecar vouch for the damaged bytes, as if they were damaged before the save."""
    sidecar = path.with_name(path.name + ".json")
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    data = path.read_bytes()
    meta["bytes"] = len(data)
    meta["crc32"] = zlib.crc32(data)
    sidecar.write_text(json.dumps(meta), encoding="utf-8")


def _header(data: bytes | bytearray) -> dict[str, int | float]:
    return dict(zip(FIELDS, HEADER.unpack_from(data), strict=True))


def _level0(data: bytearray) -> np.ndarray:
    """The level-0 records as a writable (count, words) uint32 view of ``data``."""
    count = int(_header(data)["count"])
    words = np.frombuffer(data, np.uint32, count * LEVEL0_WORDS, HEADER.size)
    return words.reshape(count, LEVEL0_WORDS)


def _upper_lists(data: bytearray) -> dict[int, list[np.ndarray]]:
    """Element -> its upper levels' link lists, each a writable view of UPPER_WORDS words."""
    count = int(_header(data)["count"])
    tail = np.frombuffer(data, np.uint32, offset=HEADER.size + count * LEVEL0_WORDS * 4)
    lists, at = {}, 0
    for element in range(count):
        size = int(tail[at]) // 4
        if size:
            starts = range(at + 1, at + 1 + size, UPPER_WORDS)
            lists[element] = [tail[k : k + UPPER_WORDS] for k in starts]
        at += 1 + size
    return lists


# --------------------------------------------------------------------------- the damage
def _huge_level0_ids(data: bytearray) -> bytes:
    _level0(data)[:, 1 : 1 + 2 * M] = 0xFFFF_FF00
    return bytes(data)


def _huge_upper_ids(data: bytearray) -> bytes:
    lists = _upper_lists(data)
    assert lists, "the test index should have elements above level 0"
    for levels in lists.values():
        for links in levels:
            links[1:] = 0x7FFF_FFF0
    return bytes(data)


def _upper_ids_at_ground_level(data: bytearray) -> bytes:
    # ids that exist, but name an element with no upper levels: hnswlib reads its null list
    lists = _upper_lists(data)
    ground = min(set(range(int(_header(data)["count"]))) - set(lists))
    for levels in lists.values():
        for links in levels:
            links[1:] = ground
    return bytes(data)


def _neighbour_count_overflow(data: bytearray) -> bytes:
    # a flipped bit in a count word: hnswlib reads past the list into the vector as ids
    _level0(data)[:, 0] |= 0xFF00
    return bytes(data)


def _header_with(**fields: int) -> Callable[[bytearray], bytes]:
    def damage(data: bytearray) -> bytes:
        header = _header(data) | fields
        HEADER.pack_into(data, 0, *header.values())
        return bytes(data)

    damage.__name__ = "_header_" + "_".join(fields)
    return damage


def _truncated(data: bytearray) -> bytes:
    return bytes(data[: len(data) - 1000])


def _random_bytes(data: bytearray) -> bytes:
    return np.random.default_rng(7).bytes(len(data))


def _row_of(rows: np.ndarray, label: int) -> int:
    return int(np.flatnonzero(rows[:, -2] == label)[0])  # the label's low word; ours are small


def _nan_in_live_vector(data: bytearray) -> bytes:
    rows = _level0(data)
    rows[_row_of(rows, 5), 1 + 2 * M + 3] = np.float32(np.nan).view(np.uint32)  # 5 is live
    return bytes(data)


def _live_segment_marked_deleted(data: bytearray) -> bytes:
    # no crash, but segment 5 would vanish from every search while the index counts it live
    rows = _level0(data)
    rows[_row_of(rows, 5), 0] |= 1 << 16
    return bytes(data)


DAMAGE = [
    _huge_level0_ids,
    _huge_upper_ids,
    _upper_ids_at_ground_level,
    _neighbour_count_overflow,
    _header_with(count=10**6),  # more elements than the file holds
    _header_with(entry=0x7FFF_FFFF),
    _header_with(max_level=40),
    _header_with(data_offset=1 << 40),  # where each vector starts
    _truncated,
    _random_bytes,
    _nan_in_live_vector,
    _live_segment_marked_deleted,
]

OPEN_SCRIPT = """
import json, logging, sys
import numpy as np
from core.store.vector_index import VectorIndex

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
path, dim = sys.argv[1], int(sys.argv[2])
saved = np.load(sys.argv[3])
ids, vectors = saved["ids"].tolist(), saved["vectors"]

def fetch(wanted):
    rows = range(len(ids)) if wanted is None else [ids.index(i) for i in sorted(wanted)]
    yield [ids[r] for r in rows], vectors[list(rows)]

index = VectorIndex(path, dim)
report = index.load_and_reconcile(set(ids), fetch)
hits = [index.query(vectors[r], 1)[0][0] for r in range(len(ids))]
index.add([10**6], vectors[:1] * -1)  # adding walks the graph too
print(json.dumps({"report": report, "size": len(index), "hits": hits}))
"""


def _open_elsewhere(path: Path, live: list[int], vectors: np.ndarray) -> dict:
    """Open the index in a fresh interpreter; a crash fails the test with its signal's name."""
    truth = path.with_name("truth.npz")
    np.savez(truth, ids=np.asarray(live), vectors=vectors)
    done = subprocess.run(
        [sys.executable, "-c", OPEN_SCRIPT, str(path), str(DIM), str(truth)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode < 0:
        pytest.fail(f"opening the index killed the process: {signal.Signals(-done.returncode)!r}")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["log"] = done.stderr
    return result


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_damaged_index_is_rebuilt_not_followed(saved, damage) -> None:
    path, live, vectors = saved
    path.write_bytes(damage(bytearray(path.read_bytes())))
    _rewrite_sidecar(path)

    result = _open_elsewhere(path, live, vectors)

    assert result["report"].startswith("rebuilt"), result
    assert "is damaged" in result["log"]  # caught by the structure check, not the CRC
    assert result["size"] == len(live) + 1
    assert result["hits"] == live  # every segment is its own nearest neighbour


def test_intact_index_opened_elsewhere_is_loaded(saved) -> None:
    """The subprocess harness itself: an undamaged file loads and answers."""
    path, live, vectors = saved
    result = _open_elsewhere(path, live, vectors)
    assert result["report"] == "loaded"
    assert result["hits"] == live
    assert "damaged" not in result["log"]


# --------------------------------------------------------------------------- no false alarms
def test_sound_index_after_removals_and_resize_is_loaded(saved) -> None:
    path, live, vectors = saved
    index = VectorIndex(path, DIM)
    assert index.load_and_reconcile(set(live), _fetch(live, vectors)) == "loaded"
    assert index.query(vectors[7], 1)[0][0] == live[7]

    # grow past the capacity again (a resize), drop more, save, reopen: still sound
    more = _vectors(300, seed=1)
    index.add(list(range(1000, 1300)), more)
    index.remove(live[:50])
    index.save()
    ids = live[50:] + list(range(1000, 1300))
    all_vectors = np.concatenate([vectors[50:], more])
    again = VectorIndex(path, DIM)
    assert again.load_and_reconcile(set(ids), _fetch(ids, all_vectors)) == "loaded"
    assert again.query(more[9], 1)[0][0] == 1009


def test_deleted_slots_reused_then_saved_is_loaded(saved) -> None:
    """hnswlib fills deleted slots on add (replace_deleted): the file must still pass."""
    path, live, vectors = saved
    index = VectorIndex(path, DIM)
    index.load_and_reconcile(set(live), _fetch(live, vectors))
    fresh = _vectors(30, seed=2)
    index.add(list(range(2000, 2030)), fresh)
    index.save()
    ids = live + list(range(2000, 2030))
    again = VectorIndex(path, DIM)
    report = again.load_and_reconcile(set(ids), _fetch(ids, np.concatenate([vectors, fresh])))
    assert report == "loaded"


def test_saved_empty_index_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "segments.hnsw"
    VectorIndex(path, DIM).save()
    assert VectorIndex(path, DIM).load_and_reconcile(set(), _fetch([], _vectors(0))) == "loaded"
