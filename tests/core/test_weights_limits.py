"""Hostile PyTorch zip files that would exhaust memory or recursion, or re-point the reader's
own stand-ins, are refused in one line. Written by hand (pickle opcodes): no torch needed."""

from __future__ import annotations

import json
import pickle
import pickletools
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.model.weights import WeightsError, read_weights


def _s(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _p(value: object) -> bytes:
    """A value's opcodes without the protocol header, STOP or memo writes."""
    return pickletools.optimize(pickle.dumps(value, protocol=2))[2:-1]


def _storage(key: str, numel: int, kind: str = "FloatStorage") -> bytes:
    return (
        b"(" + _s("storage") + f"ctorch\n{kind}\n".encode() + _s(key) + _s("cpu") + _p(numel)
        + b"tQ"
    )  # fmt: skip


def _tensor(key: str, numel: int, size: tuple[int, ...], stride: tuple[int, ...]) -> bytes:
    return (
        b"ctorch._utils\n_rebuild_tensor_v2\n(" + _storage(key, numel) + _p(0) + _p(size)
        + _p(stride) + b"\x89N" + b"tR"
    )  # fmt: skip


def _zip(path: Path, pkl: bytes, records: dict[str, bytes], *, deflate: bool = False) -> Path:
    how = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", how) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        for key, data in records.items():
            z.writestr(f"archive/data/{key}", data)
    return path


def _refused(path: Path, fragment: str) -> None:
    with pytest.raises(WeightsError) as exc:
        read_weights(path)
    message = str(exc.value)
    assert "\n" not in message and str(path) in message
    assert fragment in message, message


def test_a_plain_hand_written_checkpoint_reads(tmp_path: Path) -> None:
    pkl = b"\x80\x02}(" + _s("w") + _tensor("0", 4, (2, 2), (2, 1)) + b"u."
    path = _zip(tmp_path / "w.pt", pkl, {"0": np.arange(4, dtype="<f4").tobytes()})
    got = read_weights(path)
    assert np.array_equal(got["w"], np.arange(4, dtype=np.float32).reshape(2, 2))


def test_a_tensor_that_repeats_one_element_past_the_files_size_is_refused(tmp_path) -> None:
    # 4 bytes on disk, a 128 MB tensor claimed with stride 0: nothing that big is built.
    pkl = b"\x80\x02}(" + _s("w") + _tensor("0", 1, (1 << 25,), (0,)) + b"u."
    path = _zip(tmp_path / "w.pt", pkl, {"0": b"\0\0\x80\x3f"})
    _refused(path, "more than")


def test_one_storage_rebuilt_many_times_is_refused(tmp_path: Path) -> None:
    # 1 MB of storage, rebuilt as 200 tensors of 1 MB each.
    items = b"".join(_s(f"w{i}") + _tensor("0", 1 << 18, (1 << 18,), (1,)) for i in range(200))
    pkl = b"\x80\x02}(" + items + b"u."
    path = _zip(tmp_path / "w.pt", pkl, {"0": bytes(1 << 20)})
    _refused(path, "more than")


def test_a_compressed_record_that_inflates_past_the_files_size_is_refused(tmp_path) -> None:
    # A zip bomb: 64 MB of zeros deflate to ~64 KB.
    pkl = b"\x80\x02}(" + _s("w") + _tensor("0", 1 << 24, (1 << 24,), (1,)) + b"u."
    path = _zip(tmp_path / "w.pt", pkl, {"0": bytes(1 << 26)}, deflate=True)
    _refused(path, "more than")


def test_a_data_pkl_that_inflates_past_the_files_size_is_refused(tmp_path) -> None:
    pkl = b"\x80\x02}(" + _s("w") + _tensor("0", 1, (1,), (1,)) + b"u." + bytes(1 << 26)
    path = _zip(tmp_path / "w.pt", pkl, {"0": bytes(4)}, deflate=True)
    _refused(path, "more than")


@pytest.mark.parametrize(
    ("target", "state"),
    [
        ("tensor", b"(" + _s("not an array") + b"t"),
        ("storage type", b"(" + _s("bad") + _s("O") + b"\x89t"),
        ("parameter", b"(" + _s("not an array") + b"t"),
    ],
)
def test_the_readers_stand_ins_cannot_be_rewritten_by_build(tmp_path, target, state) -> None:
    if target == "storage type":
        obj = b"ctorch\nFloatStorage\n" + state + b"b0" + _tensor("0", 1, (1,), (1,))
    elif target == "parameter":
        obj = (
            b"ctorch._utils\n_rebuild_parameter\n(" + _tensor("0", 1, (1,), (1,))
            + b"\x89}tR" + state + b"b"
        )  # fmt: skip
    else:
        obj = _tensor("0", 1, (1,), (1,)) + state + b"b"
    pkl = b"\x80\x02}(" + _s("w") + obj + b"u."
    path = _zip(tmp_path / "w.pt", pkl, {"0": bytes(4)})
    _refused(path, "")


def test_a_checkpoint_that_holds_itself_is_refused(tmp_path: Path) -> None:
    # d = {"w": tensor}; d["d"] = d
    pkl = (
        b"\x80\x02}r\xe8\x03\x00\x00(" + _s("w") + _tensor("0", 1, (1,), (1,))
        + _s("d") + b"j\xe8\x03\x00\x00u."
    )  # fmt: skip
    path = _zip(tmp_path / "w.pt", pkl, {"0": bytes(4)})
    _refused(path, "")


def test_deep_nesting_is_refused_in_one_line(tmp_path: Path) -> None:
    depth = 5000
    pkl = b"\x80\x02" + b"]" * depth + _tensor("0", 1, (1,), (1,)) + b"a" * depth + b"."
    path = _zip(tmp_path / "w.pt", pkl, {"0": bytes(4)})
    _refused(path, "")


def test_a_list_repeated_into_billions_of_names_is_refused(tmp_path: Path) -> None:
    # L0 = [t]; L(k+1) = [Lk, Lk]: 2**16 paths to one tensor from a few hundred bytes.
    pkl = b"\x80\x02(" + _tensor("0", 1, (1,), (1,)) + b"lr\x00\x00\x00\x00"
    for k in range(16):
        get = b"j" + struct.pack("<I", k)
        pkl += b"(" + get + get + b"lr" + struct.pack("<I", k + 1)
    pkl += b"."
    path = _zip(tmp_path / "w.pt", pkl, {"0": bytes(4)})
    _refused(path, "")


def test_a_container_filed_twice_gives_both_names(tmp_path: Path) -> None:
    # h = {"w": t}; {"a": h, "b": h}: shared, not a cycle.
    pkl = (
        b"\x80\x02}(" + _s("a") + b"}r\xe8\x03\x00\x00(" + _s("w")
        + _tensor("0", 1, (1,), (1,)) + b"u" + _s("b") + b"j\xe8\x03\x00\x00u."
    )  # fmt: skip
    path = _zip(tmp_path / "w.pt", pkl, {"0": b"\0\0\x80\x3f"})
    got = read_weights(path)
    assert sorted(got) == ["a.w", "b.w"] and got["a.w"][0] == 1.0


@pytest.mark.parametrize("shape", [[1] * 70, [0, 2**62, 2**62]], ids=["70 dims", "too big"])
def test_a_safetensors_shape_numpy_cannot_hold_gives_one_line(tmp_path, shape) -> None:
    end = 0 if 0 in shape else 4
    header = json.dumps({"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, end]}})
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + bytes(4))
    _refused(path, "a shape numpy cannot hold")


def test_a_storage_two_tensors_take_whole_is_two_arrays(tmp_path: Path) -> None:
    # A tied weight: the first tensor takes the storage's own array, the second is a copy.
    pkl = (
        b"\x80\x02}(" + _s("a") + _tensor("0", 4, (2, 2), (2, 1))
        + _s("b") + _tensor("0", 4, (2, 2), (2, 1)) + _s("t") + _tensor("0", 4, (2, 2), (1, 2))
        + b"u."
    )  # fmt: skip
    path = _zip(tmp_path / "w.pt", pkl, {"0": np.arange(4, dtype="<f4").tobytes()})
    got = read_weights(path)
    want = np.arange(4, dtype=np.float32).reshape(2, 2)
    assert np.array_equal(got["a"], want) and np.array_equal(got["b"], want)
    assert np.array_equal(got["t"], want.T)
    assert not np.shares_memory(got["a"], got["b"]) and not np.shares_memory(got["a"], got["t"])
    got["a"][0, 0] = 99.0
    assert got["b"][0, 0] == 0.0 and got["t"][0, 0] == 0.0
    assert all(a.flags.writeable for a in got.values())


PEAK_CHILD = """
import resource, sys
import numpy as np
from core.model.weights import read_weights
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
got = read_weights(sys.argv[1])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024, sum(a.nbytes for a in got.values()))
"""


def test_reading_takes_the_weights_memory_once(tmp_path: Path) -> None:
    # Each record is read into an array the tensor keeps: the file's pages are not held beside
    # the copies (a mapped file did that: twice the weights at the peak).
    n, count = 1 << 22, 6  # six 16 MB float32 tensors
    items = b"".join(_s(f"w{i}") + _tensor(str(i), n, (n,), (1,)) for i in range(count))
    records = {str(i): np.full(n, i, dtype="<f4").tobytes() for i in range(count)}
    path = _zip(tmp_path / "w.pt", b"\x80\x02}(" + items + b"u.", records)
    done = subprocess.run(
        [sys.executable, "-c", PEAK_CHILD, str(path)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    grew, weights = map(int, done.stdout.split())
    assert weights == count * n * 4
    assert grew < 1.25 * weights, (grew, weights)
