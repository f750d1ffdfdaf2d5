"""Queries that match nothing in particular: what a model scores when nothing is there.

A score means something only next to what the same model gives a query with no match. The
library's own distribution (:class:`core.query.relevance.Background`) says whether a moment stands
out among the others, but in a library of similar videos everything stands out a little (the
best of 2,000 ordinary scores is three spreads above their median), and a query the model cannot
read at all still has a "best" moment. So each model is also asked a bank of *null* queries, one
bank per kind of query:

* sentences: :data:`SENTENCES` (``resources/null_queries/sentences.txt``), everyday scenes and
  captions in the demo model's grammar; in any one library most of them match nothing, so only
  quantiles of their scores are read, never their maximum;
* pictures: :func:`null_pictures`, made here from a fixed seed: noise at several grains, colour
  gradients, stripes, checkerboards and flat colours. None of them is a photograph, so none can
  match a frame of a real video.

Their vectors depend only on the model, so they are computed once per model (the text or image
tower's checksum and the bank's own) and kept in a cache folder the caller names (the library
passes the per-user cache folder); a lost or unreadable cache is simply computed again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from core.model.encoder import Encoder, l2_normalise
from core.model.text_tower import TextTower

log = logging.getLogger(__name__)

SENTENCES = Path(
    str(importlib.resources.files("resources").joinpath("null_queries", "sentences.txt"))
)
#: Bumped whenever :func:`null_pictures` draws different pictures.
PICTURES_VERSION = 1
PICTURE_COUNT = 32
#: Side of the generated pictures (the encoder resizes them to the model's own size).
PICTURE_SIZE = 256
KINDS = ("sentence", "picture")


def null_sentences() -> list[str]:
    """The bank of sentences, without comments and blank lines."""
    lines = SENTENCES.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


@functools.cache
def _positions() -> dict[str, int]:
    return {_normal(t): i for i, t in enumerate(null_sentences())}


def position(text: str) -> int | None:
    """Where ``text`` stands in the sentence bank (case and spacing aside), or None."""
    return _positions().get(_normal(text))


def null_pictures(count: int = PICTURE_COUNT, size: int = PICTURE_SIZE) -> list[np.ndarray]:
    """Pictures of nothing (RGB uint8), the same every time: noise of several grains, smooth
    gradients, stripes, checkerboards and flat colours."""
    rng = np.random.default_rng(20261207)
    out: list[np.ndarray] = []
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(count):
        kind = i % 5
        if kind == 0:  # noise, coarse to fine
            grain = int(2 ** (1 + i // 5 % 6))
            small = rng.integers(0, 256, (grain, grain, 3), dtype=np.uint8)
            img = np.repeat(np.repeat(small, size // grain + 1, 0), size // grain + 1, 1)[
                :size, :size
            ]
        elif kind == 1:  # a gradient between two colours
            a, b = rng.integers(0, 256, (2, 3)).astype(np.float32)
            angle = rng.uniform(0, np.pi)
            t = (np.cos(angle) * x + np.sin(angle) * y)[..., None]
            t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
            img = (a * (1 - t) + b * t).astype(np.uint8)
        elif kind == 2:  # stripes
            a, b = rng.integers(0, 256, (2, 3), dtype=np.uint8)
            period = rng.uniform(0.03, 0.3)
            mask = (np.floor((x + y * rng.uniform(-1, 1)) / period) % 2).astype(bool)
            img = np.where(mask[..., None], a, b).astype(np.uint8)
        elif kind == 3:  # a checkerboard
            a, b = rng.integers(0, 256, (2, 3), dtype=np.uint8)
            cells = int(rng.integers(2, 16))
            mask = ((np.floor(x * cells) + np.floor(y * cells)) % 2).astype(bool)
            img = np.where(mask[..., None], a, b).astype(np.uint8)
        else:  # a flat colour with a little sensor noise
            colour = rng.integers(0, 256, 3).astype(np.int16)
            noise = rng.integers(-6, 7, (size, size, 3))
            img = np.clip(colour + noise, 0, 255).astype(np.uint8)
        out.append(np.ascontiguousarray(img))
    return out


def _bank_key(encoder: Encoder, kind: str, reader: TextTower | None = None) -> str:
    tower = "text.onnx" if kind == "sentence" else "image.onnx"
    files = encoder.manifest.files
    tower_sum = files[tower].sha256 if tower in files else encoder.manifest.name
    if reader is not None:  # a second text tower reads the sentences: its own vectors
        tower_sum = f"tower-{reader.identity}"
    if kind == "sentence":
        bank = hashlib.sha256(SENTENCES.read_bytes()).hexdigest()
    else:
        bank = f"pictures-v{PICTURES_VERSION}-{PICTURE_COUNT}-{PICTURE_SIZE}"
    recipe = f"{kind}|{tower_sum}|{encoder.manifest.image_size}|{bank}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:24]


def bank_vectors(
    encoder: Encoder, kind: str, cache: Path | None = None, reader: TextTower | None = None
) -> np.ndarray:
    """The L2-normalised vectors [N, D] of ``kind``'s bank under ``encoder``'s model, from the
    ``cache`` folder when they were computed before (None: computed every time). ``reader``: the
    multilingual tower that reads this query's sentences instead of the bundle's own (a query
    and its null must be read by the same tower, or the comparison measures the towers)."""
    if kind not in KINDS:
        raise ValueError(f"no null bank for {kind!r}")
    path = None if cache is None else cache / f"{_bank_key(encoder, kind, reader)}.npy"
    try:
        if path is None:
            raise FileNotFoundError
        cached = np.load(path, allow_pickle=False)
        if cached.ndim == 2 and cached.shape[1] == encoder.embed_dim and len(cached):
            return np.asarray(cached, np.float32)
    except (OSError, ValueError):
        pass
    if kind == "sentence":
        vectors = (reader or encoder).encode_texts(null_sentences(), truncate=True)
    else:
        vectors = encoder.encode_images(null_pictures())
    vectors = l2_normalise(np.asarray(vectors, np.float32))
    if path is not None:
        _save(path, vectors)
    return vectors


def _save(path: Path, vectors: np.ndarray) -> None:
    """Written aside and renamed: two processes computing the same bank never see half a file.
    A cache that cannot be written only costs the computation again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".null-", suffix=".npy", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, vectors, allow_pickle=False)
        os.replace(tmp, path)
    except OSError as exc:
        log.info("null query cache not written (%s): computed again next time", exc)
