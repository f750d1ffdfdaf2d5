"""Model weights are read without PyTorch and without running code from the file.

Files are written by torch itself (``torch.save``, ``safetensors.torch.save_file``) and read back by
``core.model.weights``; hostile files are torch's zip layout with a pickle that would run code.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from core.model.weights import WeightsError, read_pytorch, read_safetensors, read_weights

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]

DTYPES = [
    "float32",
    "float16",
    "bfloat16",
    "float64",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
]


def _sample(dtype_name: str, shape=(3, 4)):
    dtype = getattr(torch, dtype_name)
    g = torch.Generator().manual_seed(7)
    if dtype == torch.bool:
        return torch.rand(shape, generator=g) > 0.5
    if dtype.is_floating_point:
        return (torch.randn(shape, generator=g) * 100).to(dtype)
    low = 0 if dtype_name.startswith("uint") else -100
    return torch.randint(low, 100, shape, generator=g).to(dtype)


def _expect(t) -> np.ndarray:
    t = t.detach()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()


def _same(got: dict[str, np.ndarray], want: dict[str, object]) -> None:
    assert sorted(got) == sorted(want)
    for name, tensor in want.items():
        expected = _expect(tensor)
        assert got[name].dtype == expected.dtype, name
        assert got[name].shape == expected.shape, name
        assert np.array_equal(got[name], expected), name


def _one_line(exc: pytest.ExceptionInfo[WeightsError], path: Path, fragment: str) -> None:
    message = str(exc.value)
    assert "\n" not in message
    assert str(path) in message
    assert fragment in message, message


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [*DTYPES, "uint16", "uint32"])
def test_pytorch_dtypes_round_trip(tmp_path: Path, dtype: str) -> None:
    tensors = {"w": _sample(dtype), "scalar": _sample(dtype, ())}
    torch.save(tensors, tmp_path / "w.pt")
    _same(read_pytorch(tmp_path / "w.pt"), tensors)


@pytest.mark.parametrize("dtype", DTYPES)
def test_safetensors_dtypes_round_trip(tmp_path: Path, dtype: str) -> None:
    st = pytest.importorskip("safetensors.torch")
    tensors = {"w": _sample(dtype), "scalar": _sample(dtype, ()), "empty": _sample(dtype, (0, 3))}
    st.save_file(tensors, str(tmp_path / "w.safetensors"), metadata={"format": "pt"})
    got = read_safetensors(tmp_path / "w.safetensors")
    _same(got, tensors)


def test_bfloat16_is_widened_exactly(tmp_path: Path) -> None:
    values = torch.tensor([1.0, -2.5, 3.140625, 1e30, -1e-30, float("inf")], dtype=torch.bfloat16)
    torch.save({"b": values}, tmp_path / "b.pt")
    got = read_weights(tmp_path / "b.pt")["b"]
    assert got.dtype == np.float32
    assert got.tobytes() == values.float().numpy().tobytes()


def test_views_offsets_and_shared_storages(tmp_path: Path) -> None:
    a = torch.randn(10)
    c = torch.randn(4, 6)
    tensors = {
        "a": a,
        "slice": a[2:7],  # shares a's storage, at an offset
        "every_other": a[1::3],
        "t": c.t(),
        "strided": c[:, ::2],
        "corner": c[1:, 2:],
        "column": c[:, 3],
        "expanded": torch.randn(3, 1).expand(3, 5),  # stride 0
        "empty": c[:0],
        "scalar": torch.tensor(3.5),
        "c": c,
    }
    torch.save(tensors, tmp_path / "v.pt")
    got = read_weights(tmp_path / "v.pt")
    _same(got, tensors)
    # Each array is a copy of its own: changing one never changes another.
    assert not np.shares_memory(got["a"], got["slice"])
    got["slice"][0] = 1234.0
    assert got["a"][2] == a[2].item()


NESTED = [
    ("plain", lambda sd: sd, ""),
    ("ordered", lambda sd: OrderedDict(sd), ""),
    ("state_dict", lambda sd: {"epoch": 3, "state_dict": sd, "optimizer": {"lr": 0.1}}, ""),
    ("model", lambda sd: {"model": OrderedDict(sd), "config": "ViT-B/32"}, ""),
    ("both", lambda sd: {"model": {"junk": torch.ones(1)}, "state_dict": sd}, ""),
    ("grouped", lambda sd: {"visual": sd, "step": 10}, "visual."),
]


@pytest.mark.parametrize(("layout", "wrap", "prefix"), NESTED, ids=[n[0] for n in NESTED])
def test_nested_checkpoints_flatten(tmp_path: Path, layout: str, wrap, prefix: str) -> None:
    sd = {"proj": torch.randn(4, 2), "ln.weight": torch.randn(4)}
    torch.save(wrap(sd), tmp_path / "n.pt")
    _same(read_weights(tmp_path / "n.pt"), {prefix + k: v for k, v in sd.items()})


def test_lists_and_deep_nesting_get_dotted_names(tmp_path: Path) -> None:
    w0, w1, b = torch.randn(2), torch.randn(3), torch.randn(1)
    torch.save({"blocks": [{"w": w0}, {"w": w1}], "head": ({"b": b}, "label")}, tmp_path / "l.pt")
    _same(read_weights(tmp_path / "l.pt"), {"blocks.0.w": w0, "blocks.1.w": w1, "head.0.b": b})


def test_module_state_dict(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 2),
        torch.nn.LayerNorm(2),
    )
    sd = model.state_dict()  # an OrderedDict with _metadata, num_batches_tracked is int64
    torch.save(sd, tmp_path / "m.pt")
    _same(read_weights(tmp_path / "m.pt"), dict(sd))
    # Parameters themselves (keep_vars) go through _rebuild_parameter.
    torch.save(model.state_dict(keep_vars=True), tmp_path / "p.pt")
    _same(read_weights(tmp_path / "p.pt"), dict(sd))
    torch.save({"p": torch.nn.Parameter(torch.randn(3).half())}, tmp_path / "one.pt")
    assert read_weights(tmp_path / "one.pt")["p"].dtype == np.float16


def test_format_is_picked_by_content_not_name(tmp_path: Path) -> None:
    t = torch.randn(2, 3)
    torch.save({"t": t}, tmp_path / "looks.safetensors")
    _write_st(tmp_path / "looks.pt", {"t": ("F32", [2, 3], t.numpy().tobytes())})
    _same(read_weights(tmp_path / "looks.safetensors"), {"t": t})
    _same(read_weights(tmp_path / "looks.pt"), {"t": t})


def test_own_safetensors_writer_agrees_with_the_library(tmp_path: Path) -> None:
    st = pytest.importorskip("safetensors.torch")
    t = torch.randn(3, 2)
    st.save_file({"t": t}, str(tmp_path / "lib.safetensors"))
    _write_st(tmp_path / "own.safetensors", {"t": ("F32", [3, 2], t.numpy().tobytes())})
    a = read_weights(tmp_path / "lib.safetensors")
    b = read_weights(tmp_path / "own.safetensors")
    assert np.array_equal(a["t"], b["t"])


# --- no torch at run time ---------------------------------------------------------------------


def test_readers_work_without_torch(tmp_path: Path) -> None:
    tensors = {
        "w": torch.randn(4, 3),
        "t": torch.randn(3, 5).t(),
        "h": torch.randn(6).half()[1::2],
        "b": torch.randn(2, 2).bfloat16(),
        "i": torch.arange(5),
        "m": torch.tensor([True, False]),
    }
    torch.save({"state_dict": tensors, "epoch": 1}, tmp_path / "w.pt")
    f32 = tensors["w"].numpy()
    _write_st(tmp_path / "w.st", {"w": ("F32", list(f32.shape), f32.tobytes())})
    np.savez(tmp_path / "want.npz", **{k: _expect(v) for k, v in tensors.items()})
    code = """
import sys
sys.modules['torch'] = None  # any 'import torch' now fails
sys.modules['safetensors'] = None
import numpy as np
from core.model.weights import read_weights
got = read_weights(sys.argv[1])
want = np.load(sys.argv[2])
assert sorted(got) == sorted(want.files), (sorted(got), want.files)
for k in want.files:
    assert got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]), k
st = read_weights(sys.argv[3])
assert np.array_equal(st['w'], want['w'])
print('read', len(got))
"""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(tmp_path / "w.pt"),
            str(tmp_path / "want.npz"),
            str(tmp_path / "w.st"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "read 6"


# --- hostile pickles: refused, nothing runs -------------------------------------------------


def _torch_zip(tmp_path: Path, payload: bytes | None = None, *, drop: str = "", replace=None):
    """torch.save's zip for a small state dict, with data.pkl or records swapped out."""
    good = tmp_path / "good.pt"
    torch.save({"w": torch.arange(4.0), "v": torch.ones(2, dtype=torch.int64)}, good)
    out = tmp_path / "bad.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if drop and info.filename.endswith(drop):
                continue
            data = src.read(info)
            if payload is not None and info.filename.endswith("/data.pkl"):
                data = payload
            if replace and info.filename.endswith(replace[0]):
                data = replace[1]
            dst.writestr(info, data)
    return out


class _Calls:
    """Pickles as a call of ``func(*args)``: what a hostile checkpoint does."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _hostile(marker: Path) -> list[tuple[str, object, str]]:
    return [
        ("os.system", _Calls(os.system, f"touch {marker}"), "system"),
        ("exec", _Calls(exec, f"open({str(marker)!r}, 'w').write('ran')"), ".exec"),
        ("eval", _Calls(eval, f"open({str(marker)!r}, 'w')"), ".eval"),
        ("open", _Calls(open, str(marker), "w"), "open"),
        ("getattr", _Calls(getattr, "text", "upper"), ".getattr"),
    ]


@pytest.mark.parametrize("which", range(5), ids=["system", "exec", "eval", "open", "getattr"])
@pytest.mark.parametrize("where", ["top", "inside"])
def test_code_in_the_pickle_is_refused_and_never_runs(tmp_path: Path, which: int, where: str):
    marker = tmp_path / "ran"
    _, evil, name = _hostile(marker)[which]
    obj = evil if where == "top" else {"w": torch.zeros(2), "x": {"y": evil}}
    if where == "inside":
        # Pickle a real state dict's structure around it: torch's own tensors, then the call.
        buf = tmp_path / "real.pt"
        torch.save(obj, buf)
        with zipfile.ZipFile(buf) as z:
            payload = z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))
    else:
        payload = pickle.dumps(obj, protocol=2)
    path = _torch_zip(tmp_path, payload)
    with pytest.raises(WeightsError) as exc:
        read_weights(path)
    _one_line(exc, path, "refuses to run code from the weights file")
    assert name in str(exc.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        (b"\x80\x02ctorch.nn.modules.module\nModule\n)\x81.", "torch.nn.modules.module.Module"),
        (b"\x80\x02ctorch.nn\nModule\n)\x81.", "torch.nn.Module"),
        (pickle.dumps({"w": np.arange(3)}, protocol=2), "_reconstruct"),
        (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n.", "numpy.core.multiarray._reconstruct"),
        (b"\x80\x02ctorch\nload\n.", "torch.load"),
        (b"\x80\x02ctorch._utils\n_rebuild_from_type_v2\n.", "_rebuild_from_type_v2"),
        (b"\x80\x02ccopyreg\n_reconstructor\n.", "copyreg._reconstructor"),
        (b"\x80\x04\x8c\x08builtins\x8c\x04exec\x93.", "builtins.exec"),  # STACK_GLOBAL
    ],
    ids=["module", "nn.Module", "numpy", "numpy-global", "torch.load", "subclass", "copyreg", "sg"],
)
def test_other_globals_are_refused(tmp_path: Path, payload: bytes, name: str) -> None:
    path = _torch_zip(tmp_path, payload)
    with pytest.raises(WeightsError) as exc:
        read_weights(path)
    _one_line(exc, path, "refuses to run code from the weights file")
    assert name in str(exc.value)


def test_allowed_functions_with_hostile_arguments_fail_cleanly(tmp_path: Path) -> None:
    # _rebuild_tensor_v2("not a storage", ...) and a tensor reaching past its storage.
    bad_args = (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n("  # the function, MARK
        b"X\x01\x00\x00\x00x"  # storage: the string 'x'
        b"K\x00K\x01\x85K\x01\x85\x89NtR."  # 0, (1,), (1,), False, None; call
    )
    path = _torch_zip(tmp_path, bad_args)
    with pytest.raises(WeightsError) as exc:
        read_weights(path)
    _one_line(exc, path, "storage")


def test_a_tensor_past_its_storage_is_refused(tmp_path: Path) -> None:
    torch.save({"w": torch.arange(4.0)}, tmp_path / "w.pt")
    with zipfile.ZipFile(tmp_path / "w.pt") as z:
        pkl = z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))
    # The size tuple (4,) becomes (9,): BININT1 4 then TUPLE1 in protocol 2.
    assert pkl.count(b"K\x04\x85") == 1
    path = _torch_zip(tmp_path, pkl.replace(b"K\x04\x85", b"K\x09\x85"))
    with pytest.raises(WeightsError) as exc:
        read_weights(path)
    _one_line(exc, path, "reaches element")


# --- damaged files ----------------------------------------------------------------------------


def _write_st(path: Path, entries, *, header=None, cut: int = 0, length: int | None = None):
    """A safetensors file by hand: {name: (dtype, shape, raw bytes)}, optionally damaged."""
    hdr: dict[str, object] = {"__metadata__": {"format": "pt"}}
    body = b""
    for name, (dtype, shape, raw) in entries.items():
        hdr[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [len(body), len(body) + len(raw)],
        }
        body += raw
    text = json.dumps(header if header is not None else hdr).encode()
    data = struct.pack("<Q", len(text) if length is None else length) + text + body
    path.write_bytes(data[: len(data) - cut] if cut else data)
    return path


BODY = np.arange(4, dtype="<f4").tobytes()


def _st(tmp_path: Path, **kw) -> Path:
    return _write_st(tmp_path / "w.safetensors", {"a": ("F32", [4], BODY)}, **kw)


DUPLICATE = (
    b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
    b'"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
)


def _raw_st(path: Path, header: bytes, body: bytes) -> Path:
    path.write_bytes(struct.pack("<Q", len(header)) + header + body)
    return path


def _h(**entries) -> dict[str, object]:
    return dict(entries)


DAMAGED = {
    "st-truncated": (lambda p: _st(p, cut=5), "truncated"),
    "st-header-past-end": (lambda p: _st(p, length=10_000), "truncated: the header needs"),
    "st-header-insane": (lambda p: _st(p, length=2**40), "not sane"),
    "st-header-not-json": (lambda p: _raw_st(p / "w.st", b"{abc}", b""), "damaged safetensors"),
    "st-outside-file": (
        lambda p: _st(p, header={"a": {"dtype": "F32", "shape": [250], "data_offsets": [0, 1000]}}),
        "ends at byte 1000",
    ),
    "st-shape-mismatch": (
        lambda p: _st(p, header={"a": {"dtype": "F32", "shape": [3, 3], "data_offsets": [0, 16]}}),
        "needs 36 bytes",
    ),
    "st-overlap": (
        lambda p: _st(
            p,
            header=_h(
                a={"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                b={"dtype": "F32", "shape": [3], "data_offsets": [4, 16]},
            ),
        ),
        "overlap",
    ),
    "st-bad-offsets": (
        lambda p: _st(p, header={"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}),
        "data_offsets",
    ),
    "st-negative-shape": (
        lambda p: _st(p, header={"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}),
        "valid shape",
    ),
    "st-duplicate-name": (lambda p: _raw_st(p / "w.st", DUPLICATE, b"\x00"), "named twice"),
    "st-unknown-dtype": (
        lambda p: _st(
            p, header={"a": {"dtype": "F8_E4M3", "shape": [16], "data_offsets": [0, 16]}}
        ),
        "unsupported dtype 'F8_E4M3'",
    ),
    "pt-missing-storage": (lambda p: _torch_zip(p, drop="/data/0"), "data/0 is missing"),
    "pt-short-storage": (
        lambda p: _torch_zip(p, replace=("/data/0", b"\x00\x00")),
        "holds 2 bytes",
    ),
    "pt-truncated": (
        lambda p: (p / "cut.pt").write_bytes(_torch_zip(p).read_bytes()[:300]) and p / "cut.pt",
        "damaged PyTorch checkpoint",
    ),
    "pt-no-pickle": (lambda p: _torch_zip(p, drop="/data.pkl"), "no data.pkl"),
    "pt-garbage-pickle": (lambda p: _torch_zip(p, b"\x80\x02}q\x00(X"), "damaged PyTorch"),
    "pt-no-tensors": (lambda p: _torch_zip(p, pickle.dumps({"epoch": 3})), "holds no tensors"),
    "legacy": (
        lambda p: (
            torch.save({"w": torch.ones(2)}, p / "old.pt", _use_new_zipfile_serialization=False)
            or p / "old.pt"
        ),
        "legacy format",
    ),
    "text": (
        lambda p: p.joinpath("notes.txt").write_text("hello\n") and p / "notes.txt",
        "neither",
    ),
    "empty": (lambda p: p.joinpath("e.bin").write_bytes(b"") == 0 and p / "e.bin", "neither"),
    "missing": (lambda p: p / "nowhere.pt", "cannot be read"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_files_give_one_line(tmp_path: Path, case: str) -> None:
    make, fragment = DAMAGED[case]
    path = make(tmp_path)
    with pytest.raises(WeightsError) as exc:
        read_weights(path)
    _one_line(exc, path, fragment)


def test_big_endian_checkpoints_are_read(tmp_path: Path) -> None:
    # What torch.save writes on a big-endian machine: byteorder "big", records byte-swapped.
    w, v = torch.arange(4.0), torch.ones(2, dtype=torch.int64)
    good = _torch_zip(tmp_path)
    with zipfile.ZipFile(good) as z:
        names = {n.rsplit("/", 2)[-2] + "/" + n.rsplit("/", 1)[-1]: n for n in z.namelist()}
        records = {n: z.read(n) for n in z.namelist()}
    swapped = tmp_path / "big.pt"
    with zipfile.ZipFile(swapped, "w") as dst:
        for name, data in records.items():
            if name.endswith("/byteorder"):
                data = b"big"
            elif name == names["data/0"]:
                data = np.frombuffer(data, "<f4").astype(">f4").tobytes()
            elif name == names["data/1"]:
                data = np.frombuffer(data, "<i8").astype(">i8").tobytes()
            dst.writestr(name, data)
    got = read_weights(swapped)
    _same(got, {"w": w, "v": v})
    assert got["w"].dtype.isnative


def test_negative_bit_views_are_resolved(tmp_path: Path) -> None:
    x = torch.randn(5)
    torch.save({"n": torch._neg_view(x)}, tmp_path / "n.pt")
    assert np.array_equal(read_weights(tmp_path / "n.pt")["n"], -x.numpy())


def test_a_header_length_starting_like_a_pickle_is_still_safetensors(tmp_path: Path) -> None:
    # A 128-byte header: the file's first byte is 0x80, pickle's PROTO opcode.
    name = "n" * (128 - len('{"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'))
    header = f'{{"{name}":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}}}'.encode()
    assert len(header) == 128
    path = _raw_st(tmp_path / "w.safetensors", header, np.float32(2.5).tobytes())
    assert path.read_bytes()[:1] == b"\x80"
    assert read_weights(path)[name].tolist() == [2.5]
