"""A manifest edited after export is refused, and a library key names what its vectors depend on.

Issue 14, item 5: an edited mean/std/image_size used to load fine (the .onnx checksums still
matched), mixing incompatible vectors into one library or ending in a raw ONNX Runtime error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.model.bundle import (
    CHECKSUM_FIELD,
    BundleError,
    legacy_identity,
    load_bundle,
    manifest_checksum,
    vector_identity,
    write_manifest,
)
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL

#: The demo bundle's library key before vector_identity: existing users' libraries are filed
#: under it (folder name and stored model_id), so it must never drift.
DEMO_LEGACY_ID = "dd9ea845c003e2da"


def _copy_demo(tmp_path: Path, name: str = "demo") -> Path:
    root = tmp_path / name
    shutil.copytree(DEMO_MODEL, root)
    return root


def _edit(root: Path, **changes: object) -> None:
    """Change manifest fields by hand, as a user with a text editor would (checksum kept)."""
    path = root / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data, indent=2))


def _strip_checksum(root: Path) -> None:
    """Make the manifest look like one written by an earlier ClipSeek (no checksum field)."""
    path = root / "manifest.json"
    data = json.loads(path.read_text())
    del data[CHECKSUM_FIELD]
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- manifest checksum
def test_shipped_demo_manifest_carries_a_valid_checksum() -> None:
    data = json.loads((DEMO_MODEL / "manifest.json").read_text())
    assert data[CHECKSUM_FIELD] == manifest_checksum(data)
    load_bundle(DEMO_MODEL)


@pytest.mark.parametrize(
    "changes",
    [
        {"mean": [0.5, 0.5, 0.5]},
        {"std": [0.5, 0.5, 0.5]},
        {"image_size": 32},
        {"head": "meanP"},
        {"max_frames": 4},
    ],
    ids=lambda c: next(iter(c)),
)
def test_edited_checksummed_manifest_is_refused_in_one_line(changes, tmp_path) -> None:
    root = _copy_demo(tmp_path)
    _edit(root, **changes)
    with pytest.raises(BundleError) as info:
        load_bundle(root)
    message = str(info.value)
    assert message == (
        f"{root / 'manifest.json'} was edited after export (its checksum does not match);"
        " restore it or export the bundle again"
    )
    # verify_checksums=False skips hashing the large files, not this cheap check
    with pytest.raises(BundleError, match="was edited after export"):
        load_bundle(root, verify_checksums=False)


def test_reformatted_manifest_still_verifies(tmp_path) -> None:
    """The checksum covers values, not layout: re-indenting or re-ordering keys is no edit."""
    root = _copy_demo(tmp_path)
    path = root / "manifest.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps(dict(reversed(list(data.items())))))
    assert load_bundle(root).manifest == load_bundle(DEMO_MODEL).manifest


def test_forged_checksum_field_is_refused(tmp_path) -> None:
    root = _copy_demo(tmp_path)
    _edit(root, **{CHECKSUM_FIELD: "0" * 64})
    with pytest.raises(BundleError, match="was edited after export"):
        load_bundle(root)


def test_manifest_without_checksum_is_accepted(tmp_path, caplog) -> None:
    root = _copy_demo(tmp_path)
    _strip_checksum(root)
    with caplog.at_level(logging.INFO, logger="core.model.bundle"):
        bundle = load_bundle(root)
    assert bundle.manifest == load_bundle(DEMO_MODEL).manifest
    assert any(CHECKSUM_FIELD in r.getMessage() for r in caplog.records)
    assert all(r.levelno < logging.WARNING for r in caplog.records)  # no noise on the CLI


def test_rewriting_a_loaded_manifest_gives_it_a_fresh_checksum(tmp_path) -> None:
    """What the installer does (load, change ``source``, write): the result must still load."""
    root = _copy_demo(tmp_path)
    _strip_checksum(root)
    manifest = load_bundle(root).manifest
    write_manifest(root, dataclasses.replace(manifest, source="huggingface:somewhere"))
    data = json.loads((root / "manifest.json").read_text())
    assert data[CHECKSUM_FIELD] == manifest_checksum(data)
    assert load_bundle(root).manifest.source == "huggingface:somewhere"


def test_cli_reports_an_edited_manifest_in_one_line(tmp_path) -> None:
    root = _copy_demo(tmp_path)
    _edit(root, image_size=32)
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "model", "--model", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "was edited after export" in proc.stderr and "Traceback" not in proc.stderr


def test_freshly_exported_bundle_carries_a_checksum_that_loading_verifies(tiny_seqtransf) -> None:
    _, path = tiny_seqtransf
    data = json.loads((path / "manifest.json").read_text())
    assert len(data[CHECKSUM_FIELD]) == 64
    assert data[CHECKSUM_FIELD] == manifest_checksum(data)
    assert data["parity"]  # the checksum was written after the parity report, not before
    bundle = load_bundle(path)
    assert bundle.manifest.to_json() == (path / "manifest.json").read_text()


# --------------------------------------------------------------------------- vector identity
def test_two_copies_of_one_bundle_share_an_identity(tmp_path) -> None:
    a = load_bundle(_copy_demo(tmp_path, "a")).manifest
    root_b = _copy_demo(tmp_path, "b")
    _strip_checksum(root_b)
    b = load_bundle(root_b).manifest
    assert vector_identity(a) == vector_identity(b)
    assert len(vector_identity(a)) == 16 and int(vector_identity(a), 16) >= 0


@pytest.mark.parametrize(
    "change",
    [
        {"mean": (0.5, 0.5, 0.5)},
        {"std": (0.5, 0.5, 0.5)},
        {"image_size": 32},
        {"head": "meanP"},
        {"max_frames": 4},
        {"precision": "fp32"},
        {"embed_dim": 64},
    ],
    ids=lambda c: next(iter(c)),
)
def test_identity_changes_with_everything_that_changes_stored_vectors(change) -> None:
    manifest = load_bundle(DEMO_MODEL).manifest
    edited = dataclasses.replace(manifest, **change)
    assert vector_identity(edited) != vector_identity(manifest)
    # the old key saw none of these: that is the bug the new key fixes
    assert legacy_identity(edited) == legacy_identity(manifest)


def test_identity_follows_the_image_and_head_files_but_not_text_or_labels() -> None:
    manifest = load_bundle(DEMO_MODEL).manifest
    base = vector_identity(manifest)

    def with_file(name: str, sha: str):
        files = dict(manifest.files)
        files[name] = dataclasses.replace(files[name], sha256=sha)
        return dataclasses.replace(manifest, files=files)

    assert vector_identity(with_file("image.onnx", "1" * 64)) != base
    assert vector_identity(with_file("head.onnx", "2" * 64)) != base
    # queries only: a new text tower or tokenizer leaves every stored vector valid
    assert vector_identity(with_file("text.onnx", "3" * 64)) == base
    labels = dataclasses.replace(
        manifest, name="renamed", source="elsewhere", created="2030-01-01", context_length=32
    )
    assert vector_identity(labels) == base


def test_legacy_identity_is_the_old_model_id_formula() -> None:
    manifest = load_bundle(DEMO_MODEL).manifest
    files = manifest.files
    old = hashlib.sha256((files["image.onnx"].sha256 + files["head.onnx"].sha256).encode())
    assert legacy_identity(manifest) == old.hexdigest()[:16] == DEMO_LEGACY_ID
    assert vector_identity(manifest) != legacy_identity(manifest)


# --------------------------------------------------------------------------- encoder start-up
def test_old_manifest_with_wrong_image_size_fails_at_encoder_start(tmp_path) -> None:
    root = _copy_demo(tmp_path)
    _strip_checksum(root)
    _edit(root, image_size=32)
    load_bundle(root)  # no checksum to catch it: the sessions must
    with pytest.raises(BundleError) as info:
        Encoder(root, force_cpu=True)
    message = str(info.value)
    assert "\n" not in message and "InvalidArgument" not in message
    assert f"{root / 'manifest.json'} says image_size 32 but image.onnx takes 64×64" in message


def test_old_manifest_with_wrong_embed_dim_fails_at_encoder_start(tmp_path) -> None:
    root = _copy_demo(tmp_path)
    _strip_checksum(root)
    _edit(root, embed_dim=64)
    with pytest.raises(BundleError) as info:
        Encoder(root, force_cpu=True)
    assert "says embed_dim 64 but image.onnx works on 32-d vectors" in str(info.value)
    assert "\n" not in str(info.value)


def test_old_manifest_that_matches_its_files_still_encodes(tmp_path) -> None:
    root = _copy_demo(tmp_path)
    _strip_checksum(root)
    encoder = Encoder(root, force_cpu=True)
    image = np.full((40, 50, 3), 128, np.uint8)
    assert encoder.encode_images([image]).shape == (1, 32)
