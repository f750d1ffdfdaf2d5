"""A damaged bundle is refused with a one-line message naming the problem."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from core.model.bundle import BundleError, load_bundle


def _damage(root, how: str) -> str:
    """Damage a bundle copy; return a fragment the error must contain."""
    if how == "no-manifest":
        (root / "manifest.json").unlink()
        return "manifest.json: missing"
    if how == "bad-json":
        (root / "manifest.json").write_text("{ not json")
        return "manifest.json: unreadable"
    if how == "wrong-format":
        data = json.loads((root / "manifest.json").read_text())
        data["format"] = "something-else"
        (root / "manifest.json").write_text(json.dumps(data))
        return "not a ClipSeek model bundle"
    if how == "bad-head":
        data = json.loads((root / "manifest.json").read_text())
        data["head"] = "tightTransf"
        (root / "manifest.json").write_text(json.dumps(data))
        return "unknown head 'tightTransf'"
    if how == "missing-file":
        (root / "head.onnx").unlink()
        return "head.onnx: missing"
    if how == "truncated":
        data = (root / "image.onnx").read_bytes()
        (root / "image.onnx").write_bytes(data[: len(data) // 2])
        return "image.onnx: size"
    if how == "tampered":
        data = bytearray((root / "text.onnx").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (root / "text.onnx").write_bytes(bytes(data))
        return "text.onnx: checksum mismatch"
    if how == "no-vocab":
        (root / "tokenizer" / "bpe_simple_vocab_16e6.txt.gz").unlink()
        return "bpe_simple_vocab_16e6.txt.gz: missing"
    raise AssertionError(how)


CASES = [
    "no-manifest",
    "bad-json",
    "wrong-format",
    "bad-head",
    "missing-file",
    "truncated",
    "tampered",
    "no-vocab",
]


@pytest.mark.parametrize("how", CASES)
def test_damaged_bundle_is_refused(how, tiny_seqtransf, tmp_path) -> None:
    _, good = tiny_seqtransf
    root = tmp_path / "b"
    shutil.copytree(good, root)
    expected = _damage(root, how)
    with pytest.raises(BundleError) as info:
        load_bundle(root)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("how", ["tampered", "no-manifest", "truncated"])
def test_cli_reports_damage_in_one_line(how, tiny_seqtransf, tmp_path) -> None:
    _, good = tiny_seqtransf
    root = tmp_path / "b"
    shutil.copytree(good, root)
    expected = _damage(root, how)
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "model", "--model", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr


def test_missing_folder_and_no_model_installed(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "model", "--model", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "model bundle folder not found" in proc.stderr
    # with nothing installed the shipped demo model is used
    # (tests/core/test_demo.py covers none at all)
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "model"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "resources/models/demo" in proc.stdout


def test_cli_model_reports_active_provider(tiny_seqtransf) -> None:
    _, good = tiny_seqtransf
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "model", "--model", str(good), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["head"] == "seqTransf"
    # On CI (no GPU) the truth is CPU; the report must be what the session really uses.
    assert info["provider"] == info["active_providers"]["image"][0]
