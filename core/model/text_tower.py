"""A second text tower for a model: queries in other languages, answered in the same vector space.

A multilingual tower (M-CLIP's XLM-R, or the demo's distilled student) was trained to give, for a
sentence in any of its languages, the vector CLIP's own text tower gives the English sentence.
It therefore searches an index made by *one particular* image tower — the one whose text space it
was distilled into — and no other. It lives in a folder of its own beside the model bundles
(``text_tower.json`` + ``text.onnx`` [+ ``text.onnx.data``] + ``tokenizer.json``), found by
:func:`towers_for`; the model bundle it serves is untouched, so its libraries and their vector
identity stay as they are: nothing is indexed again.

``text_tower.json`` is checked like a bundle's manifest (every file's size and SHA-256, and the
manifest's own checksum). Its ``image_space`` names the image tower it was trained for, matched
against :func:`image_space` of a bundle: ``openai/clip-vit-b-32`` for OpenAI's CLIP ViT-B/32 with
mean pooling (the bundle installed from the pinned weights), ``image-sha256:<hex>`` for one exact
image tower (the demo's student).

The graph takes ``input_ids`` and ``attention_mask`` (int64 [B, L]) and gives ``embeddings``
[B, D]; the runtime feeds each batch at its true token length (never padded to a fixed 77), with
the model's own ``tokenizer.json`` read by the ``tokenizers`` package (no torch, no transformers).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.model.bundle import (
    CHECKSUM_FIELD,
    IMAGE_FILE,
    BundleError,
    FileEntry,
    Manifest,
    describe_files,
    manifest_checksum,
)
from core.model.encoder import QueryError, encode_by_length, l2_normalise
from core.model.part_manifest import checked_field, read_checked, verify_files, write_atomically
from core.model.sessions import Session, create_session

log = logging.getLogger(__name__)

TOWER_MANIFEST = "text_tower.json"
TOWER_FORMAT = "clipseek-text-tower"
TOWER_FORMAT_VERSION = 1
TOWER_TEXT_FILE = "text.onnx"
TOWER_DATA_FILE = "text.onnx.data"
TOWER_TOKENIZER_FILE = "tokenizer.json"
#: A demo bundle's tower ships inside it, in this sub-folder.
BUNDLED_TOWER_DIR = "multilingual"
#: OpenAI CLIP ViT-B/32's image space (the one M-CLIP's XLM-R tower was distilled into).
OPENAI_VIT_B32 = "openai/clip-vit-b-32"
#: What identifies OpenAI's ViT-B/32 weights in a bundle's ``source`` (the pinned hub file's
#: repository and SHA-256; see core.model.sources.DEFAULT_SOURCE).
_OPENAI_MARKS = (
    "vit_base_patch32_clip_224.openai",
    "e6d1bd7789aa45192b3bf90570a789b478bae1b74ebcce7eddd908e83a2b7c31",
)


@dataclass(frozen=True)
class TowerManifest:
    """What a text tower says about itself. Field names are the JSON keys."""

    name: str
    image_space: str
    embed_dim: int
    max_tokens: int
    pad_id: int
    precision: str
    files: Mapping[str, FileEntry]
    #: ISO 639-1 codes of the languages it was trained on (the README lists them for people).
    languages: tuple[str, ...] = ()
    source: str = ""
    created: str = ""
    parity: Mapping[str, Any] = field(default_factory=dict)
    format: str = TOWER_FORMAT
    format_version: int = TOWER_FORMAT_VERSION

    def to_json(self) -> str:
        data = json.loads(json.dumps(asdict(self)))
        data[CHECKSUM_FIELD] = manifest_checksum(data)
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_tower_manifest(
    root: Path,
    *,
    name: str,
    image_space: str,
    embed_dim: int,
    max_tokens: int,
    pad_id: int,
    precision: str,
    languages: Sequence[str] = (),
    source: str = "",
    parity: Mapping[str, Any] | None = None,
) -> TowerManifest:
    """Describe the tower files already in ``root`` (checksums, sizes, the time) and write
    ``text_tower.json`` atomically; every writer (the exporter, the installer) comes here."""
    names = [TOWER_TEXT_FILE, TOWER_TOKENIZER_FILE]
    if (root / TOWER_DATA_FILE).is_file():
        names.insert(1, TOWER_DATA_FILE)
    manifest = TowerManifest(
        name=name,
        image_space=image_space,
        embed_dim=embed_dim,
        max_tokens=max_tokens,
        pad_id=pad_id,
        precision=precision,
        files=describe_files(root, names),
        languages=tuple(languages),
        source=source,
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        parity=dict(parity or {}),
    )
    write_atomically(root / TOWER_MANIFEST, manifest.to_json())
    return manifest


def _field(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: Path) -> Any:
    return checked_field(data, key, kind, where)


def read_tower_manifest(root: Path) -> TowerManifest:
    """Parse and check ``root/text_tower.json`` (not the files it lists); one-line errors."""
    where = root / TOWER_MANIFEST
    data, version, files = read_checked(
        where, fmt=TOWER_FORMAT, version=TOWER_FORMAT_VERSION, kind="text tower",
        required=(TOWER_TEXT_FILE, TOWER_TOKENIZER_FILE),
    )  # fmt: skip
    numbers = {k: _field(data, k, int, where) for k in ("embed_dim", "max_tokens", "pad_id")}
    if numbers["embed_dim"] <= 0 or numbers["max_tokens"] < 3:
        raise BundleError(f"{where}: embed_dim or max_tokens out of range")
    languages = data.get("languages", [])
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise BundleError(f"{where}: field 'languages' must be a list of language codes")
    return TowerManifest(
        name=_field(data, "name", str, where),
        image_space=_field(data, "image_space", str, where),
        precision=_field(data, "precision", str, where),
        files=files,
        languages=tuple(languages),
        source=str(data.get("source", "")),
        created=str(data.get("created", "")),
        parity=dict(data.get("parity") or {}),
        format_version=version,
        **numbers,
    )


def verify_tower_files(root: Path, manifest: TowerManifest, *, checksums: bool = True) -> None:
    """Every listed file present, of its size and (``checksums``) its SHA-256."""
    verify_files(
        root, manifest.files, kind="text tower", manifest_name=TOWER_MANIFEST, checksums=checksums
    )


def image_space(manifest: Manifest) -> str:
    """The image tower a bundle's vectors come from, as a text tower names it.

    OpenAI's CLIP ViT-B/32 with mean pooling is recognised by where its weights came from (the
    pinned hub file, by repository or SHA-256, in ``source``), whatever the precision: the int8
    image tower keeps a cosine of 0.9997 to fp32, well inside what M-CLIP's distillation leaves.
    A fine-tuned model has another source and another space. Every other bundle is named by its
    exact image tower file.
    """
    declared = getattr(manifest, "image_space", "")
    if declared:
        return str(declared)
    if (
        manifest.arch == "ViT-B-32"
        and manifest.head == "meanP"
        and any(mark in manifest.source for mark in _OPENAI_MARKS)
    ):
        return OPENAI_VIT_B32
    return f"image-sha256:{manifest.files[IMAGE_FILE].sha256}"


def describe_space(space: str) -> str:
    """An image space in words for people."""
    if space == OPENAI_VIT_B32:
        return "OpenAI CLIP ViT-B/32"
    if space.startswith("image-sha256:"):
        return f"one exact image model ({space.split(':', 1)[1][:12]}…)"
    return space


def candidate_folders(bundle_root: Path, models: Path | None) -> list[Path]:
    """Where towers are looked for: the bundle's own ``multilingual/`` (the demo ships its student
    there), then every folder under the models folder that holds a ``text_tower.json``."""
    found = []
    inside = bundle_root / BUNDLED_TOWER_DIR
    if (inside / TOWER_MANIFEST).is_file():
        found.append(inside)
    if models is not None and models.is_dir():
        found += sorted(p for p in models.iterdir() if (p / TOWER_MANIFEST).is_file())
    return found


@dataclass(frozen=True)
class TowerChoice:
    """The tower that serves a bundle (None: none does), and why the others do not."""

    root: Path | None
    manifest: TowerManifest | None
    #: One line per tower that was found and refused (another image space, damaged files).
    refused: tuple[str, ...] = ()


def towers_for(
    manifest: Manifest, bundle_root: Path, models: Path | None, *, prefer_int8: bool = True
) -> TowerChoice:
    """The installed text tower trained for this bundle's image space.

    Of several that fit, the one of the preferred precision (int8 on CPUs) wins. A tower whose
    manifest is damaged, or that was trained for another image space, is refused with a line
    that says so plainly, not used.
    """
    space = image_space(manifest)
    fits: list[tuple[Path, TowerManifest]] = []
    refused: list[str] = []
    for root in candidate_folders(bundle_root, models):
        try:
            tower = read_tower_manifest(root)
        except BundleError as exc:
            refused.append(str(exc))
            continue
        if tower.image_space != space or tower.embed_dim != manifest.embed_dim:
            refused.append(
                f"{tower.name} was trained for {describe_space(tower.image_space)}; "
                f"{manifest.name} is not that model, so it cannot answer its queries"
            )
            continue
        fits.append((root, tower))
    if not fits:
        return TowerChoice(None, None, tuple(refused))
    fits.sort(key=lambda f: (f[1].precision == "int8") != prefer_int8)
    return TowerChoice(fits[0][0], fits[0][1], tuple(refused))


class TextTower:
    """A multilingual text tower's session and tokenizer: sentences → vectors in CLIP's space."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        force_cpu: bool = False,
        threads: int | None = None,
        verify_checksums: bool = True,
    ) -> None:
        from tokenizers import Tokenizer

        self.root = Path(root).expanduser()
        self.manifest = read_tower_manifest(self.root)
        verify_tower_files(self.root, self.manifest, checksums=verify_checksums)
        try:
            self.tokenizer = Tokenizer.from_file(str(self.root / TOWER_TOKENIZER_FILE))
        except Exception as exc:  # the tokenizers package raises its own Exception subclass
            raise BundleError(f"{self.root / TOWER_TOKENIZER_FILE}: unreadable ({exc})") from None
        # The runtime pads and limits itself: the file's own settings would pad every query to
        # a fixed length (slow) or cut a long one silently (wrong).
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self._session: Session = create_session(
            self.root / TOWER_TEXT_FILE, force_cpu=force_cpu, threads=threads
        )
        inputs = [i.name for i in self._session.session.get_inputs()]
        if sorted(inputs) != ["attention_mask", "input_ids"]:
            raise BundleError(
                f"{self.root / TOWER_TEXT_FILE} takes {inputs}, not input_ids and attention_mask"
            )
        out = self._session.session.get_outputs()[0].shape
        if out and isinstance(out[-1], int) and out[-1] != self.manifest.embed_dim:
            raise BundleError(
                f"{self.root / TOWER_MANIFEST} says embed_dim {self.manifest.embed_dim} but"
                f" text.onnx gives {out[-1]}-d vectors"
            )

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def embed_dim(self) -> int:
        return self.manifest.embed_dim

    @property
    def identity(self) -> str:
        """What the tower's vectors depend on (its graph's checksum), for caches."""
        return self.manifest.files[TOWER_TEXT_FILE].sha256

    @property
    def provider(self) -> str:
        return self._session.provider

    @property
    def active_providers(self) -> list[str]:
        return self._session.active_providers

    def tokenize(self, text: str, *, truncate: bool = False) -> list[int]:
        """The ids of one query with its special tokens, or a :class:`QueryError`."""
        if not isinstance(text, str) or not text.strip():
            raise QueryError("the query is empty: type a few words describing the moment")
        ids: list[int] = list(self.tokenizer.encode(text).ids)
        limit = self.manifest.max_tokens
        if len(ids) > limit:
            if not truncate:
                raise QueryError(
                    f"the description is too long: this model reads at most {limit} word"
                    f" pieces ({len(ids)} given); shorten it"
                )
            ids = ids[: limit - 1] + ids[-1:]  # keep the closing token
        return ids

    def encode_texts(
        self,
        texts: Sequence[str],
        *,
        normalize: bool = True,
        truncate: bool = False,
        batch_size: int = 32,
    ) -> np.ndarray:
        """Vectors [N, D]; each batch runs at its own longest query's length."""
        if len(texts) == 0:
            return np.zeros((0, self.embed_dim), np.float32)
        token_lists = [self.tokenize(t, truncate=truncate) for t in texts]

        def run(batch: list[Sequence[int]]) -> np.ndarray:
            ids, mask = pad_batch(batch, self.manifest.pad_id)
            feeds = {"input_ids": ids, "attention_mask": mask}
            out: np.ndarray = self._session.session.run(None, feeds)[0]
            return out

        result = encode_by_length(token_lists, self.embed_dim, batch_size, run)
        return l2_normalise(result) if normalize else result

    def encode_text(self, text: str, *, normalize: bool = True) -> np.ndarray:
        vector: np.ndarray = self.encode_texts([text], normalize=normalize)[0]
        return vector


def pad_batch(token_lists: Iterable[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """``input_ids`` and ``attention_mask`` (int64 [B, L], L the longest list), padded right."""
    rows = [list(t) for t in token_lists]
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, np.int64)
    mask = np.zeros((len(rows), width), np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


__all__ = [
    "BUNDLED_TOWER_DIR",
    "OPENAI_VIT_B32",
    "TOWER_DATA_FILE",
    "TOWER_MANIFEST",
    "TOWER_TEXT_FILE",
    "TOWER_TOKENIZER_FILE",
    "TextTower",
    "TowerChoice",
    "TowerManifest",
    "candidate_folders",
    "describe_space",
    "image_space",
    "pad_batch",
    "read_tower_manifest",
    "towers_for",
    "verify_tower_files",
    "write_tower_manifest",
]
