"""Model bundles: one folder holding everything the runtime needs to encode images and text.

A bundle is ``manifest.json`` + ``image.onnx`` + ``text.onnx`` + ``head.onnx`` + tokenizer files.
The manifest is the single description of the model (dimensions, preprocessing, head, checksums);
the export side writes it with :func:`write_manifest` and the runtime reads it with
:func:`load_bundle`, so the schema lives in exactly one place.

Loading verifies every file's size and SHA-256: a half-copied or edited model must fail with a
message naming the file, not produce quietly wrong vectors that get written into an index.
The manifest carries a checksum of its own content (``manifest_sha256``) for the same reason: an
edited mean, std or image size changes every vector while every ``.onnx`` file still matches.

:func:`vector_identity` names what a library's stored vectors depend on, so that vectors of two
bundles are mixed in one library only when they are really comparable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
FORMAT = "clipseek-model-bundle"
FORMAT_VERSION = 1
IMAGE_FILE = "image.onnx"
TEXT_FILE = "text.onnx"
HEAD_FILE = "head.onnx"
VOCAB_FILE = "tokenizer/bpe_simple_vocab_16e6.txt.gz"
REQUIRED_FILES: tuple[str, ...] = (IMAGE_FILE, TEXT_FILE, HEAD_FILE, VOCAB_FILE)
HEADS: tuple[str, ...] = ("meanP", "seqLSTM", "seqTransf")
#: How the towers compute: float32, float16 (GPUs), or an int8 image tower (CPUs; the text
#: tower and head stay float32).
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")
#: The manifest's own checksum: SHA-256 of :func:`manifest_checksum`'s canonical JSON.
CHECKSUM_FIELD = "manifest_sha256"
#: Bumped whenever :func:`vector_identity` hashes a different recipe (every library moves on).
VECTOR_IDENTITY_VERSION = 1

log = logging.getLogger(__name__)


class BundleError(ValueError):
    """A bundle that cannot be used; the message is one line and names the problem."""


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    bytes: int


@dataclass(frozen=True)
class Manifest:
    """What a bundle says about itself. Field names are the JSON keys."""

    name: str
    arch: str
    embed_dim: int
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    context_length: int
    vocab_size: int
    head: str
    max_frames: int
    precision: str
    files: Mapping[str, FileEntry]
    source: str = ""
    created: str = ""
    parity: Mapping[str, Any] = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """The manifest file's text, with its own checksum (every writer gets one for free)."""
        data = asdict(self)
        data["mean"], data["std"] = list(self.mean), list(self.std)
        # Checksum what a reader will parse, not the Python objects (tuples, Mapping types).
        data = json.loads(json.dumps(data))
        data[CHECKSUM_FIELD] = manifest_checksum(data)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Bundle:
    """A verified bundle on disk."""

    root: Path
    manifest: Manifest

    def path(self, relative: str) -> Path:
        return self.root / relative

    @property
    def image_model(self) -> Path:
        return self.root / IMAGE_FILE

    @property
    def text_model(self) -> Path:
        return self.root / TEXT_FILE

    @property
    def head_model(self) -> Path:
        return self.root / HEAD_FILE

    @property
    def vocab(self) -> Path:
        return self.root / VOCAB_FILE


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def describe_files(root: Path, names: tuple[str, ...] | list[str]) -> dict[str, FileEntry]:
    """Checksums and sizes of the given bundle files, for the manifest."""
    return {
        name: FileEntry(sha256=sha256_file(root / name), bytes=(root / name).stat().st_size)
        for name in names
    }


def _canonical_json(data: Any) -> bytes:
    """One byte string per JSON value: key order, spacing and escaping cannot change it."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest_checksum(data: Mapping[str, Any]) -> str:
    """SHA-256 of a manifest's JSON object without its own checksum field.

    Computed on the parsed JSON (canonical form), so re-indenting or re-ordering the file keeps
    it valid while changing any value, including fields this version does not read, breaks it.
    """
    body = {key: value for key, value in data.items() if key != CHECKSUM_FIELD}
    return hashlib.sha256(_canonical_json(body)).hexdigest()


def vector_identity(manifest: Manifest) -> str:
    """16 hex digits naming what every vector a library stores depends on.

    Frame vectors come from the image tower on pixels shaped by ``image_size``, ``mean`` and
    ``std``; segment vectors from the head (its file and type) over at most ``max_frames``
    frames of ``embed_dim`` values; ``precision`` names how the towers compute. Two bundles
    with the same identity produce the same stored vectors, so they may share a library.

    The text tower, tokenizer and ``context_length`` are left out on purpose: they shape only
    queries, which are encoded afresh at every search, so re-indexing would change nothing.
    The name, source and parity report are labels, not inputs to any vector.
    """
    files = manifest.files
    recipe = {
        "identity_version": VECTOR_IDENTITY_VERSION,
        "image_sha256": files[IMAGE_FILE].sha256,
        "head_sha256": files[HEAD_FILE].sha256,
        "image_size": manifest.image_size,
        "mean": [float(v) for v in manifest.mean],
        "std": [float(v) for v in manifest.std],
        "embed_dim": manifest.embed_dim,
        "head": manifest.head,
        "max_frames": manifest.max_frames,
        "precision": manifest.precision,
    }
    return hashlib.sha256(_canonical_json(recipe)).hexdigest()[:16]


def legacy_identity(manifest: Manifest) -> str:
    """The library key of ClipSeek before :func:`vector_identity` (image and head files only).

    Kept so that libraries created under that key (folder name, stored ``model_id``) are still
    found and can be moved to the new key; never use it for a new library.
    """
    files = manifest.files
    parts = [files[n].sha256 for n in (IMAGE_FILE, HEAD_FILE) if n in files]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:16]


def write_manifest(root: Path, manifest: Manifest) -> Path:
    """Write manifest.json atomically: readers never see a half-written manifest."""
    target = root / MANIFEST_NAME
    tmp = root / (MANIFEST_NAME + ".tmp")
    tmp.write_text(manifest.to_json(), encoding="utf-8")
    os.replace(tmp, target)
    return target


def new_manifest(
    root: Path,
    *,
    name: str,
    arch: str,
    embed_dim: int,
    image_size: int,
    context_length: int,
    vocab_size: int,
    head: str,
    max_frames: int,
    precision: str,
    source: str,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
) -> Manifest:
    """The manifest of a bundle just written into ``root`` (checksums of its files, the time),
    written there, before parity is measured: the converter (``export``) and the torch-free
    assembly (:mod:`core.model.assemble`) make theirs here, so the two cannot drift."""
    import datetime as _dt

    manifest = Manifest(
        name=name,
        arch=arch,
        embed_dim=embed_dim,
        image_size=image_size,
        mean=mean,
        std=std,
        context_length=context_length,
        vocab_size=vocab_size,
        head=head,
        max_frames=max_frames,
        precision=precision,
        files=describe_files(root, list(REQUIRED_FILES)),
        source=source,
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )
    write_manifest(root, manifest)
    return manifest


def with_parity(root: Path, manifest: Manifest, parity: Mapping[str, Any]) -> Manifest:
    """``manifest`` with its parity figures, written into ``root``."""
    manifest = Manifest(**{**manifest.__dict__, "parity": dict(parity)})
    write_manifest(root, manifest)
    return manifest


def _require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in data:
        raise BundleError(f"{MANIFEST_NAME}: missing field {key!r}")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise BundleError(f"{MANIFEST_NAME}: field {key!r} has the wrong type")
    return value


def _triple(data: Mapping[str, Any], key: str) -> tuple[float, float, float]:
    value = _require(data, key, list)
    if len(value) != 3 or not all(isinstance(v, int | float) for v in value):
        raise BundleError(f"{MANIFEST_NAME}: field {key!r} must be three numbers")
    return (float(value[0]), float(value[1]), float(value[2]))


def parse_manifest(data: Mapping[str, Any]) -> Manifest:
    """Validate a manifest's JSON object; any problem is a one-line :class:`BundleError`."""
    if data.get("format") != FORMAT:
        raise BundleError(f"{MANIFEST_NAME}: not a ClipSeek model bundle (format != {FORMAT!r})")
    version = _require(data, "format_version", int)
    if version > FORMAT_VERSION:
        raise BundleError(
            f"{MANIFEST_NAME}: bundle format {version} is newer than this ClipSeek supports"
            f" ({FORMAT_VERSION}); update ClipSeek"
        )
    head = _require(data, "head", str)
    if head not in HEADS:
        raise BundleError(f"{MANIFEST_NAME}: unknown head {head!r} (expected one of {HEADS})")
    precision = _require(data, "precision", str)
    if precision not in PRECISIONS:
        raise BundleError(f"{MANIFEST_NAME}: unknown precision {precision!r}")
    raw_files = _require(data, "files", dict)
    files: dict[str, FileEntry] = {}
    for name, entry in raw_files.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise BundleError(f"{MANIFEST_NAME}: file entry {name!r} lacks a sha256")
        if not isinstance(entry.get("bytes"), int):
            raise BundleError(f"{MANIFEST_NAME}: file entry {name!r} lacks a size")
        files[name] = FileEntry(sha256=entry["sha256"], bytes=entry["bytes"])
    for name in REQUIRED_FILES:
        if name not in files:
            raise BundleError(f"{MANIFEST_NAME}: does not list required file {name}")
    positive = {}
    for key in ("embed_dim", "image_size", "context_length", "vocab_size", "max_frames"):
        positive[key] = _require(data, key, int)
        if positive[key] <= 0:
            raise BundleError(f"{MANIFEST_NAME}: field {key!r} must be positive")
    return Manifest(
        name=_require(data, "name", str),
        arch=_require(data, "arch", str),
        mean=_triple(data, "mean"),
        std=_triple(data, "std"),
        head=head,
        precision=precision,
        files=files,
        source=str(data.get("source", "")),
        created=str(data.get("created", "")),
        parity=dict(data.get("parity", {})),
        format_version=version,
        **positive,
    )


def load_bundle(root: str | os.PathLike[str], *, verify_checksums: bool = True) -> Bundle:
    """Open and verify a bundle folder.

    Raises :class:`BundleError` for a missing folder, a missing, invalid or edited manifest, and
    for any listed file that is missing, truncated (size differs) or tampered with (checksum
    differs). ``verify_checksums=False`` skips hashing the large files only: the manifest's own
    checksum is cheap and always checked.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise BundleError(f"model bundle folder not found: {root}")
    manifest_path = root / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BundleError(f"{manifest_path}: missing; this folder is not a model bundle")
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{manifest_path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise BundleError(f"{manifest_path}: not a JSON object")
    # Schema first: "unknown head" says more than "edited"; then the manifest's own checksum.
    manifest = parse_manifest(data)
    _verify_manifest_checksum(manifest_path, data)
    for name, entry in manifest.files.items():
        path = root / name
        if not path.is_file():
            raise BundleError(f"{path}: missing from the bundle")
        size = path.stat().st_size
        if size != entry.bytes:
            raise BundleError(
                f"{path}: size {size} bytes, manifest says {entry.bytes} (truncated or replaced)"
            )
        if verify_checksums and sha256_file(path) != entry.sha256:
            raise BundleError(f"{path}: checksum mismatch (the file was modified or corrupted)")
    return Bundle(root=root, manifest=manifest)


def _verify_manifest_checksum(manifest_path: Path, data: Mapping[str, Any]) -> None:
    """Refuse a manifest whose content no longer matches the checksum written with it.

    A manifest without the field (bundles written before ClipSeek recorded one) is accepted:
    refusing it would strand working models, and :func:`vector_identity` still keeps their
    vectors apart from others'. It is logged at INFO, not WARNING: the user can do nothing
    about it, and the command line prints warnings on every run.
    """
    stored = data.get(CHECKSUM_FIELD)
    if stored is None:
        log.info(
            "%s: no %s (written by an older ClipSeek); edits to it go unnoticed",
            manifest_path,
            CHECKSUM_FIELD,
        )
        return
    if not isinstance(stored, str) or stored != manifest_checksum(data):
        raise BundleError(
            f"{manifest_path} was edited after export (its checksum does not match);"
            " restore it or export the bundle again"
        )
