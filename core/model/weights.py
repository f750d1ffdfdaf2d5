"""Model weights read into numpy, without PyTorch and without running code from the file.

Two formats, picked by what the file holds (never by its name):

* **safetensors** (:func:`read_safetensors`): an 8-byte little-endian header length, a JSON
  header naming each tensor's dtype, shape and byte range, then the raw little-endian bytes. The
  file is memory-mapped and the arrays are read-only views into it (bfloat16 and bool are
  converted, so those are copies).
* **PyTorch's zip format** (:func:`read_pytorch`), what ``torch.save`` writes since 1.6: a zip
  holding ``<archive>/data.pkl`` (a pickle), ``<archive>/data/<key>`` (one raw storage per key)
  and ``<archive>/byteorder``. A pickle may name any function to call while it loads; this one
  is read by an allow-list unpickler whose :meth:`~_AllowListUnpickler.find_class` answers only
  ``collections.OrderedDict``, torch's tensor and parameter rebuild functions, the storage types
  and dtype names, each mapped to a stand-in of our own that builds numpy arrays. Any other name
  is refused before anything is called (:class:`WeightsError`: "refuses to run code from the
  weights file: posix.system"), so nothing in the file is ever executed.

  PyTorch's older format (a bare pickle stream, before 1.6) is refused with a message that says
  how to re-save it: it is rare in public checkpoints, its layout has more variants (storage
  views, a key list pickled after the object, size-prefixed raw storages) and every public CLIP
  checkpoint we read is in the zip format.

  Each storage record is read (``readinto``, no mapping of the file) into an array of its own,
  and the first tensor that is a whole storage in order keeps that array: the weights are in
  memory once (a mapped file's pages stayed resident beside the copies, twice the weights at
  the peak). Other tensors over a storage (slices, tied weights, transposes) are copies.

Which tensors a checkpoint yields (:func:`read_pytorch`'s flattening rule): if the object saved
is a mapping with a ``"state_dict"`` key holding a mapping, that mapping is the weights; else if
it has a ``"model"`` key holding a mapping, that one; else the whole object. The weights are then
flattened: nested mappings join their keys with ``.`` (``{"visual": {"proj": t}}`` gives
``visual.proj``), lists and tuples add the index, tensors are the leaves, and anything else (epoch
counters, strings, ``None``) is left out. Names are kept as written (a ``module.`` prefix from
DataParallel stays). bfloat16 tensors come back as float32 (exactly: the 16 bits are the float32's
top half); every other dtype keeps its numpy equivalent, in the machine's byte order.

Every problem is one :class:`WeightsError` line naming the file and what is wrong.
"""

from __future__ import annotations

import io
import json
import math
import mmap
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import numpy as np

#: A safetensors header above this size is refused as damaged (real headers are kilobytes).
MAX_HEADER_BYTES = 100 * 1024 * 1024

#: safetensors dtype name → numpy dtype of the bytes in the file (little-endian).
SAFETENSORS_DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",  # widened to float32 on reading
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "u1",  # one byte each; anything but 0 is True
}

#: PyTorch storage type name → (numpy dtype of the bytes, whether it is bfloat16).
TORCH_STORAGES: dict[str, tuple[str, bool]] = {
    "DoubleStorage": ("f8", False),
    "FloatStorage": ("f4", False),
    "HalfStorage": ("f2", False),
    "BFloat16Storage": ("u2", True),
    "LongStorage": ("i8", False),
    "IntStorage": ("i4", False),
    "ShortStorage": ("i2", False),
    "CharStorage": ("i1", False),
    "ByteStorage": ("u1", False),
    "BoolStorage": ("?", False),
    # Untyped storages (torch 2.x, for the dtypes added after TypedStorage): raw bytes, their
    # dtype comes with the tensor (``_rebuild_tensor_v3``).
    "UntypedStorage": ("u1", False),
}

#: ``torch.<name>`` dtype objects a pickle may name → (numpy dtype, whether it is bfloat16).
TORCH_DTYPES: dict[str, tuple[str, bool]] = {
    "float64": ("f8", False),
    "double": ("f8", False),
    "float32": ("f4", False),
    "float": ("f4", False),
    "float16": ("f2", False),
    "half": ("f2", False),
    "bfloat16": ("u2", True),
    "int64": ("i8", False),
    "long": ("i8", False),
    "int32": ("i4", False),
    "int": ("i4", False),
    "int16": ("i2", False),
    "short": ("i2", False),
    "int8": ("i1", False),
    "uint8": ("u1", False),
    "uint16": ("u2", False),
    "uint32": ("u4", False),
    "uint64": ("u8", False),
    "bool": ("?", False),
}

#: What a PyTorch zip file may cost in memory, as a multiple of its size on disk (plus
#: :data:`MEMORY_SLACK`): decompressed records and every tensor built, together. A real checkpoint
#: needs about 1x (2x for bfloat16, widened; a little more for a tied weight); a file whose tensors
#: repeat one element (stride 0), rebuild one storage many times, or inflate (a zip bomb) is
#: refused before the memory is taken.
MEMORY_PER_FILE_BYTE = 8
MEMORY_SLACK = 16 << 20
#: How deep a checkpoint's containers may nest (real ones: a handful of levels).
MAX_NESTING = 100

#: Which keys of a checkpoint hold the weights, tried in this order (module docstring).
WEIGHT_KEYS: tuple[str, ...] = ("state_dict", "model")

ZIP_MAGIC = b"PK\x03\x04"


class WeightsError(ValueError):
    """A weights file that cannot be read; the message is one line naming the file and why."""


def _fail(path: str | os.PathLike[str], what: str) -> NoReturn:
    text = f"{os.fspath(path)}: {what}"
    raise WeightsError(" ".join(text.split()))


# --------------------------------------------------------------------------------------------
# The format, by content
# --------------------------------------------------------------------------------------------


def read_weights(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every tensor in a safetensors or PyTorch (zip) file, by name, as numpy arrays."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError as exc:
        _fail(path, f"cannot be read ({exc.strerror or exc})")
    if head.startswith(ZIP_MAGIC):
        return read_pytorch(path)
    if len(head) == 9 and head[8:9] == b"{":
        # Before the pickle check: a header length may well start with the byte 0x80.
        return read_safetensors(path)
    if head[:1] == b"\x80":
        _legacy(path)
    _fail(path, "not a weights file (neither safetensors nor PyTorch's zip format)")


def _legacy(path: str | os.PathLike[str]) -> NoReturn:
    _fail(
        path,
        "PyTorch's legacy format (before 1.6) is not read; re-save it with a recent PyTorch"
        " (torch.save(torch.load(f), f)) or convert it to safetensors",
    )


# --------------------------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------------------------


def _map(path: str | os.PathLike[str]) -> mmap.mmap:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                _fail(path, "empty file")
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        _fail(path, f"cannot be read ({exc.strerror or exc})")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"tensor {key!r} is named twice")
        out[key] = value
    return out


def read_safetensors(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file, by name (read-only views into the mapped file)."""
    mm = _map(path)
    size = len(mm)
    if size < 8:
        _fail(path, f"truncated: {size} bytes, not even a safetensors header length")
    (header_len,) = struct.unpack("<Q", mm[:8])
    if header_len > MAX_HEADER_BYTES:
        _fail(path, f"not a safetensors file (header length {header_len} bytes is not sane)")
    if 8 + header_len > size:
        _fail(path, f"truncated: the header needs {header_len} bytes, the file has {size - 8}")
    try:
        header = json.loads(bytes(mm[8 : 8 + header_len]), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        _fail(path, "not a safetensors file (its header is not text)")
    except ValueError as exc:
        _fail(path, f"damaged safetensors header ({exc})")
    if not isinstance(header, dict):
        _fail(path, "damaged safetensors header (not a JSON object)")
    base = 8 + header_len
    data_len = size - base
    spans: list[tuple[int, int, str]] = []
    out: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype_name, shape, begin, end = _entry(path, name, entry)
        if dtype_name not in SAFETENSORS_DTYPES:
            _fail(path, f"tensor {name!r} has an unsupported dtype {dtype_name!r}")
        dtype = np.dtype(SAFETENSORS_DTYPES[dtype_name])
        if end > data_len:
            _fail(
                path,
                f"truncated: tensor {name!r} ends at byte {end} of the data, which holds"
                f" {data_len}",
            )
        count = math.prod(shape)
        if count * dtype.itemsize != end - begin:
            _fail(
                path,
                f"tensor {name!r}: shape {list(shape)} of {dtype_name} needs"
                f" {count * dtype.itemsize} bytes, its range holds {end - begin}",
            )
        spans.append((begin, end, name))
        try:
            if count == 0:
                raw = np.empty(shape, dtype)
            else:
                raw = np.frombuffer(mm, dtype, count=count, offset=base + begin).reshape(shape)
        except ValueError as exc:  # more dimensions than numpy has, or a dimension too big
            _fail(path, f"tensor {name!r} has a shape numpy cannot hold ({exc})")
        out[name] = _to_native(raw, bf16=dtype_name == "BF16", boolean=dtype_name == "BOOL")
    reach, furthest = 0, ""
    for begin, end, name in sorted(spans):
        if begin < reach and end > begin:
            _fail(path, f"tensors {furthest!r} and {name!r} overlap in the file")
        if end > reach:
            reach, furthest = end, name
    return out


def _entry(
    path: str | os.PathLike[str], name: str, entry: object
) -> tuple[str, tuple[int, ...], int, int]:
    if not isinstance(entry, dict):
        _fail(path, f"damaged safetensors header (entry {name!r} is not an object)")
    dtype = entry.get("dtype")
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if not isinstance(dtype, str):
        _fail(path, f"damaged safetensors header (tensor {name!r} has no dtype)")
    if not isinstance(shape, list) or not all(_count(d) for d in shape):
        _fail(path, f"damaged safetensors header (tensor {name!r} has no valid shape)")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_count(o) for o in offsets)
        or offsets[0] > offsets[1]
    ):
        _fail(path, f"damaged safetensors header (tensor {name!r} has no valid data_offsets)")
    return dtype, tuple(shape), offsets[0], offsets[1]


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _to_native(raw: np.ndarray, *, bf16: bool = False, boolean: bool = False) -> np.ndarray:
    """``raw`` (file bytes viewed with their stored dtype) in the form callers get."""
    if bf16:
        widened: np.ndarray = raw.astype(np.uint32) << np.uint32(16)
        return widened.view(np.float32)
    if boolean:
        truth: np.ndarray = raw != 0
        return truth
    if not raw.dtype.isnative:
        return raw.astype(raw.dtype.newbyteorder("="))
    return raw


# --------------------------------------------------------------------------------------------
# PyTorch's zip format
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _StorageType:
    """Stands in for ``torch.FloatStorage`` and its kin: which bytes a storage holds."""

    name: str
    dtype: str
    bf16: bool


@dataclass(frozen=True, slots=True)
class _Dtype:
    """Stands in for ``torch.float32`` and its kin."""

    name: str
    dtype: str
    bf16: bool


@dataclass(frozen=True, slots=True)
class _Storage:
    """One storage record: its elements (file byte order) and its type."""

    key: str
    data: np.ndarray
    kind: _StorageType
    order: Literal["<", ">"]  # the byte order of the file's records


@dataclass(frozen=True, slots=True)
class _Tensor:
    """A rebuilt tensor: a numpy array in the machine's byte order."""

    array: np.ndarray


class _Refused(Exception):
    """Raised inside the unpickler; turned into a :class:`WeightsError` naming the file."""


def _no_setstate(self: object, state: object) -> NoReturn:
    # A pickle's BUILD opcode calls __setstate__ (frozen slotted dataclasses have one that sets
    # every field): without this, a file could re-point a stand-in's dtype or a tensor's array.
    raise _Refused(f"a pickle that rewrites one of the reader's objects ({type(self).__name__})")


for _standin in (_StorageType, _Dtype, _Storage, _Tensor):
    setattr(_standin, "__setstate__", _no_setstate)  # noqa: B010


class _Budget:
    """The memory a file may make the reader take (:data:`MEMORY_PER_FILE_BYTE`)."""

    def __init__(self, file_size: int) -> None:
        self.left = self.limit = MEMORY_PER_FILE_BYTE * file_size + MEMORY_SLACK
        self.file_size = file_size

    def take(self, nbytes: int, what: str) -> None:
        self.left -= nbytes
        if self.left < 0:
            raise _Refused(
                f"{what} would take the reader past {self.limit:,} bytes of memory, more than a"
                f" {self.file_size:,}-byte checkpoint can hold (a damaged or hostile file)"
            )


class _AllowListUnpickler(pickle.Unpickler):
    """An unpickler that can only build containers, storages and tensors (module docstring)."""

    def __init__(
        self,
        file: io.BytesIO,
        storage: Callable[[str, _StorageType, int], _Storage],
        budget: _Budget,
    ):
        super().__init__(file)
        self._storage = storage
        self._budget = budget
        # Storages whose array one tensor already took as its own (the others copy from it).
        self._claimed: set[str] = set()
        # Bound methods, built per file: a BUILD opcode cannot re-point them for later loads.
        self._allowed: dict[tuple[str, str], object] = {
            ("collections", "OrderedDict"): OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor_v2,
            ("torch._utils", "_rebuild_tensor_v3"): self._rebuild_tensor_v3,
            ("torch._utils", "_rebuild_parameter"): self._rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): self._rebuild_parameter_with_state,
        }

    def find_class(self, module: str, name: str) -> Any:
        allowed = self._allowed.get((module, name))
        if allowed is not None:
            return allowed
        if (module == "torch" and name in TORCH_STORAGES) or (
            module == "torch.storage" and name == "UntypedStorage"
        ):
            dtype, bf16 = TORCH_STORAGES[name]
            return _StorageType(name, dtype, bf16)
        if module == "torch" and name in TORCH_DTYPES:
            dtype, bf16 = TORCH_DTYPES[name]
            return _Dtype(name, dtype, bf16)
        if module == "torch" and (name.endswith("Storage") or name in _OTHER_TORCH_DTYPES):
            raise _Refused(f"holds a tensor type that is not supported: {module}.{name}")
        raise _Refused(f"refuses to run code from the weights file: {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        if (
            not isinstance(pid, tuple)
            or len(pid) != 5
            or pid[0] != "storage"
            or not isinstance(pid[1], _StorageType)
            or not isinstance(pid[2], str)
            or not _count(pid[4])
        ):
            raise _Refused(f"unknown persistent id in data.pkl: {str(pid)[:80]}")
        return self._storage(pid[2], pid[1], pid[4])

    # The stand-ins for torch._utils' rebuild functions -------------------------------------

    def _rebuild_tensor_v2(
        self,
        storage: object,
        storage_offset: object,
        size: object,
        stride: object,
        requires_grad: object = False,
        backward_hooks: object = None,
        metadata: object = None,
    ) -> _Tensor:
        if not isinstance(storage, _Storage):
            raise _Refused("a tensor whose storage is not a storage record")
        kind = storage.kind
        data = storage.data
        return _Tensor(
            _view(
                storage,
                data,
                kind,
                storage_offset,
                size,
                stride,
                metadata,
                self._budget,
                self._claimed,
            )
        )

    def _rebuild_tensor_v3(
        self,
        storage: object,
        storage_offset: object,
        size: object,
        stride: object,
        requires_grad: object,
        backward_hooks: object,
        dtype: object,
        metadata: object = None,
    ) -> _Tensor:
        if not isinstance(storage, _Storage):
            raise _Refused("a tensor whose storage is not a storage record")
        if not isinstance(dtype, _Dtype):
            raise _Refused(f"a tensor of an unsupported dtype ({dtype!r})")
        raw = "u1" if dtype.dtype == "?" else dtype.dtype
        data = storage.data.view(np.dtype(raw).newbyteorder(storage.order))
        return _Tensor(
            _view(
                storage,
                data,
                dtype,
                storage_offset,
                size,
                stride,
                metadata,
                self._budget,
                self._claimed,
            )
        )

    def _rebuild_parameter(
        self, data: object, requires_grad: object, backward_hooks: object
    ) -> _Tensor:
        if not isinstance(data, _Tensor):
            raise _Refused("a parameter that does not hold a tensor")
        return data

    def _rebuild_parameter_with_state(
        self, data: object, requires_grad: object, backward_hooks: object, state: object
    ) -> _Tensor:
        return self._rebuild_parameter(data, requires_grad, backward_hooks)


#: torch dtype names we know but cannot turn into numpy (complex, float8, quantised …).
_OTHER_TORCH_DTYPES = frozenset(
    {
        "complex32",
        "complex64",
        "complex128",
        "cfloat",
        "cdouble",
        "chalf",
        "float8_e4m3fn",
        "float8_e4m3fnuz",
        "float8_e5m2",
        "float8_e5m2fnuz",
        "float8_e8m0fnu",
        "qint8",
        "quint8",
        "qint32",
        "quint4x2",
        "quint2x4",
        "bits8",
        "bits16",
    }
)


def _ints(value: object) -> tuple[int, ...] | None:
    if isinstance(value, (tuple, list)) and all(_count(v) for v in value):
        return tuple(value)
    return None


def _view(
    storage: _Storage,
    data: np.ndarray,
    kind: _StorageType | _Dtype,
    storage_offset: object,
    size: object,
    stride: object,
    metadata: object,
    budget: _Budget,
    claimed: set[str],
) -> np.ndarray:
    """The tensor ``size``/``stride`` at ``storage_offset`` over ``data``, as an array of its own.

    The first tensor that is its whole storage, in order (a checkpoint's usual case), takes the
    storage's array (read for the reader alone, :func:`_record`) instead of a copy, so the weights
    are in memory once; any other tensor over that storage (a tied weight, a slice) is a copy."""
    shape = _ints(size)
    strides = _ints(stride)
    if shape is None or strides is None or len(shape) != len(strides):
        raise _Refused(f"a tensor with a damaged shape or stride ({size!r}, {stride!r})")
    if not _count(storage_offset):
        raise _Refused(f"a tensor with a damaged storage offset ({storage_offset!r})")
    assert isinstance(storage_offset, int)
    negate = False
    if metadata:
        if not isinstance(metadata, dict) or set(metadata) - {"neg", "conj"}:
            raise _Refused(f"a tensor with unknown metadata ({str(metadata)[:80]})")
        negate = bool(metadata.get("neg"))
    numel = math.prod(shape)
    itemsize = 4 if kind.bf16 else data.dtype.itemsize  # bfloat16 is widened to float32
    budget.take(numel * itemsize, f"a tensor of shape {list(shape)[:8]}")
    if numel == 0:
        out = np.empty(shape, data.dtype)
    else:
        last = storage_offset + sum((n - 1) * s for n, s in zip(shape, strides, strict=True))
        if last >= len(data):
            raise _Refused(
                f"a tensor reaches element {last} of storage data/{storage.key}, which holds"
                f" {len(data)}"
            )
        item = data.dtype.itemsize
        if (
            storage_offset == 0
            and numel == len(data)
            and storage.key not in claimed
            and _in_order(shape, strides)
            and data.flags.writeable
        ):
            claimed.add(storage.key)
            out = data.reshape(shape)
        else:
            base = data[storage_offset:]
            out = np.lib.stride_tricks.as_strided(
                base, shape=shape, strides=tuple(s * item for s in strides), writeable=False
            ).copy()
    out = _to_native(out, bf16=kind.bf16, boolean=kind.dtype == "?")
    if negate:
        out = np.negative(out)
    return out


def _in_order(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Whether ``strides`` (in elements) lay ``shape`` out in C order, without gaps."""
    step = 1
    for n, s in zip(reversed(shape), reversed(strides), strict=True):
        if n != 1 and s != step:
            return False
        step *= n
    return True


def _zip_records(path: str | os.PathLike[str], zf: zipfile.ZipFile) -> tuple[str, dict[str, Any]]:
    """The archive's prefix (``<archive>/``) and its records by name below that prefix."""
    pickles = [n for n in zf.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
    if not pickles:
        _fail(path, "a zip file but not a PyTorch checkpoint (no data.pkl)")
    # torch writes one archive; its data.pkl is the shallowest one.
    pkl = min(pickles, key=lambda n: n.count("/"))
    prefix = pkl[: -len("data.pkl")]
    records = {
        info.filename[len(prefix) :]: info
        for info in zf.infolist()
        if info.filename.startswith(prefix)
    }
    return prefix, records


def read_pytorch(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every tensor of a ``torch.save`` zip file, flattened by name (module docstring)."""
    try:
        with open(path, "rb", buffering=0) as f:
            if f.read(4) != ZIP_MAGIC:
                f.seek(0)
                if f.read(1) == b"\x80":
                    _legacy(path)
                _fail(path, "not a PyTorch checkpoint (not a zip file)")
            try:
                zf = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                _fail(path, f"damaged PyTorch checkpoint (not a readable zip: {exc})")
            try:
                return _read_zip(path, f, zf)
            except zipfile.BadZipFile as exc:
                _fail(path, f"damaged PyTorch checkpoint ({exc})")
            finally:
                zf.close()
    except OSError as exc:
        _fail(path, f"cannot be read ({exc.strerror or exc})")


def _read_zip(path: str | os.PathLike[str], f: io.FileIO, zf: zipfile.ZipFile) -> dict[str, Any]:
    _, records = _zip_records(path, zf)
    order: Literal["<", ">"] = "<"
    if "byteorder" in records:
        said = zf.read(records["byteorder"]).decode("ascii", "replace").strip()
        if said not in ("little", "big"):
            _fail(path, f"damaged PyTorch checkpoint (byteorder {said[:20]!r})")
        order = "<" if said == "little" else ">"
    cache: dict[str, _Storage] = {}
    file_size = os.fstat(f.fileno()).st_size
    budget = _Budget(file_size)

    def storage(key: str, kind: _StorageType, numel: int) -> _Storage:
        if key in cache:
            return cache[key]
        info = records.get(f"data/{key}")
        if info is None:
            raise _Refused(f"storage data/{key} is missing from the zip")
        # bools are read as bytes (anything but 0 is True when the tensor is built)
        dtype = np.dtype("u1" if kind.dtype == "?" else kind.dtype).newbyteorder(order)
        need = numel * dtype.itemsize
        if info.file_size < need:
            raise _Refused(
                f"storage data/{key} holds {info.file_size} bytes, its tensors need {need}"
            )
        data = _record(f, file_size, zf, info, dtype, numel, budget)
        cache[key] = _Storage(key, data, kind, order)
        return cache[key]

    try:
        budget.take(records["data.pkl"].file_size, "data.pkl")
        pickled = zf.read(records["data.pkl"])
        obj = _AllowListUnpickler(io.BytesIO(pickled), storage, budget).load()
    except _Refused as exc:
        _fail(path, str(exc))
    except WeightsError:
        raise
    except (zipfile.BadZipFile, OSError):
        raise
    except Exception as exc:
        # Damaged or odd pickles fail in many ways (UnpicklingError, EOFError, TypeError from
        # a call with the wrong arguments …): none of them ran code, all mean "cannot read".
        _fail(path, f"damaged PyTorch checkpoint (data.pkl: {type(exc).__name__}: {exc})")
    return _flatten_checkpoint(path, obj, len(pickled))


#: How many bytes :func:`_record` asks the file for at a time.
READ_CHUNK = 64 << 20


def _record(
    f: io.FileIO,
    file_size: int,
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    dtype: np.dtype[Any],
    numel: int,
    budget: _Budget,
) -> np.ndarray:
    """A storage record's first ``numel`` elements, read into an array of their own.

    A stored (uncompressed) record is read straight from the file into the array (``readinto``):
    no mapping of the file, whose pages would stay in the process's memory beside the copies, and
    no bytes object in between. A compressed one is inflated through :mod:`zipfile` (its size is
    checked against the budget first: a zip bomb is refused before it inflates)."""
    need = numel * dtype.itemsize
    budget.take(need, f"record {info.filename}")
    out = np.empty(numel, dtype=dtype)
    into = out.view(np.uint8).data
    if info.compress_type == zipfile.ZIP_STORED:
        at = info.header_offset
        f.seek(at)
        local = f.read(30) or b""
        if len(local) == 30 and local[:4] == ZIP_MAGIC:
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            start = at + 30 + name_len + extra_len
            if start + need <= file_size:
                f.seek(start)
                _fill(f, into, info.filename)
                return out
    with zf.open(info) as member:
        _fill(member, into, info.filename)
    return out


def _fill(source: Any, into: memoryview, name: str) -> None:
    """``into`` filled from ``source``'s next ``len(into)`` bytes, a chunk at a time."""
    done = 0
    while done < len(into):
        got = source.readinto(into[done : done + READ_CHUNK])
        if not got:
            raise zipfile.BadZipFile(f"record {name} ends {len(into) - done} bytes early")
        done += got


def _flatten_checkpoint(
    path: str | os.PathLike[str], obj: object, pickle_size: int
) -> dict[str, np.ndarray]:
    if isinstance(obj, Mapping):
        for key in WEIGHT_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    out: dict[str, np.ndarray] = {}
    for name, array in _leaves(path, "", obj, _Walk(set(), pickle_size + 1024)):
        if name in out:
            _fail(path, f"two tensors are both named {name!r}")
        out[name] = array
    if not out:
        _fail(path, "holds no tensors")
    return out


@dataclass(slots=True)
class _Walk:
    """The walk over a checkpoint's containers: the ones above the current one (a pickle can
    file a list inside itself) and how many entries were visited, at most one per byte of
    data.pkl plus slack (a pickle can file one list twice at every level: 2**depth names)."""

    above: set[int]
    left: int


def _leaves(
    path: str | os.PathLike[str], prefix: str, obj: object, walk: _Walk, depth: int = 0
) -> Iterator[tuple[str, Any]]:
    walk.left -= 1
    if walk.left < 0:
        _fail(path, "a checkpoint that repeats its containers into more entries than it holds")
    if isinstance(obj, _Tensor):
        yield prefix, obj.array
        return
    if isinstance(obj, Mapping):
        items: list[tuple[object, object]] = list(obj.items())
    elif isinstance(obj, (list, tuple)):
        items = [(index, value) for index, value in enumerate(obj)]
    else:
        return  # numbers, strings, None, dtypes: not weights
    if id(obj) in walk.above:
        _fail(path, f"a checkpoint that holds itself (at {prefix[:80]!r})")
    if depth >= MAX_NESTING:
        _fail(path, f"containers nested more than {MAX_NESTING} deep (at {prefix[:80]!r})")
    walk.above.add(id(obj))
    for key, value in items:
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            if isinstance(value, (_Tensor, Mapping, list, tuple)):
                _fail(path, f"a tensor is filed under a key that is not a name ({key!r})")
            continue
        name = f"{prefix}.{key}" if prefix else str(key)
        yield from _leaves(path, name, value, walk, depth + 1)
    walk.above.discard(id(obj))
