"""Encoding images, text and frame sequences with a model bundle — no torch.

This is the runtime mirror of ``export.model.CLIP4Clip``: the same three computations
(image tower, text tower at its true length, temporal head), run by ONNX Runtime from the bundle's
files, with preprocessing and tokenisation re-implemented in numpy so that a user's install needs
no PyTorch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.model.bundle import MANIFEST_NAME, Bundle, BundleError, load_bundle
from core.model.preprocess import preprocess_batch
from core.model.sessions import Session, create_session
from core.model.tokenizer import ClipTokenizer

log = logging.getLogger(__name__)


class QueryError(ValueError):
    """A text query that cannot be answered as typed (empty, or longer than the model reads)."""


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    out: np.ndarray = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return out


def uniform_frame_indices(count: int, keep: int) -> np.ndarray:
    """Indices of ``keep`` frames spread evenly over ``count`` (CLIP4Clip's uniform sampling)."""
    if count <= keep:
        return np.arange(count)
    return np.linspace(0, count - 1, num=keep).round().astype(np.int64)


def encode_by_length(
    token_lists: Sequence[Sequence[int]],
    dim: int,
    batch_size: int,
    run: Callable[[list[Sequence[int]]], np.ndarray],
) -> np.ndarray:
    """Vectors [N, dim] of token lists, ``run`` on batches of similar length: sorting by
    length keeps padding (wasted work) small inside each batch. Every text tower batches so."""
    order = sorted(range(len(token_lists)), key=lambda i: len(token_lists[i]))
    result = np.empty((len(token_lists), dim), np.float32)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        result[chunk] = run([token_lists[i] for i in chunk])
    return result


class Encoder:
    """Image, text and head sessions of one bundle, with their preprocessing."""

    def __init__(
        self,
        bundle: Bundle | str | os.PathLike[str],
        *,
        force_cpu: bool = False,
        threads: int | None = None,
    ) -> None:
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        m = self.bundle.manifest
        self.manifest = m
        #: How the sessions were asked for: a second text tower is made the same way.
        self.force_cpu, self.threads = force_cpu, threads
        self.tokenizer = ClipTokenizer(self.bundle.vocab, context_length=m.context_length)
        # The image tower and head run while video decodes on the same cores: no spinning.
        self._image: Session = create_session(
            self.bundle.image_model, force_cpu=force_cpu, threads=threads, spin=False
        )
        self._text: Session = create_session(
            self.bundle.text_model, force_cpu=force_cpu, threads=threads
        )
        self._head: Session = create_session(
            self.bundle.head_model, force_cpu=force_cpu, threads=threads, spin=False
        )
        self._check_shapes()
        self._image_input = self._image.session.get_inputs()[0].name
        self._text_input = self._text.session.get_inputs()[0].name
        self._head_inputs = [i.name for i in self._head.session.get_inputs()]

    def _check_shapes(self) -> None:
        """Refuse a manifest that contradicts its ONNX files, before the first encode.

        The files' checksums match, so only the manifest can be wrong (an old one edited by
        hand, without a checksum of its own). Left alone it ends in a raw ONNX Runtime
        ``InvalidArgument`` at the first frame, or in vectors of the wrong width in an index.
        Dynamic dimensions (names, not numbers) cannot be checked and are skipped.
        """
        m = self.manifest
        where = self.bundle.root / MANIFEST_NAME
        pixels = self._image.session.get_inputs()[0].shape
        side = [d for d in pixels[2:4] if isinstance(d, int)] if len(pixels) == 4 else []
        if any(d != m.image_size for d in side):
            taken = "×".join(str(d) for d in pixels[2:4])
            raise BundleError(
                f"{where} says image_size {m.image_size} but image.onnx takes {taken} pictures;"
                " restore the manifest or export the bundle again"
            )
        widths = [
            ("image.onnx", self._image.session.get_outputs()[0].shape),
            ("text.onnx", self._text.session.get_outputs()[0].shape),
            ("head.onnx", self._head.session.get_inputs()[0].shape),
            ("head.onnx", self._head.session.get_outputs()[0].shape),
        ]
        for file, shape in widths:
            last = shape[-1] if shape else None
            if isinstance(last, int) and last != m.embed_dim:
                raise BundleError(
                    f"{where} says embed_dim {m.embed_dim} but {file} works on {last}-d vectors;"
                    " restore the manifest or export the bundle again"
                )

    # -- reporting -----
    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def embed_dim(self) -> int:
        return self.manifest.embed_dim

    @property
    def provider(self) -> str:
        """The execution provider the image tower really runs on (the one that matters)."""
        return self._image.provider

    @property
    def active_providers(self) -> dict[str, list[str]]:
        return {
            "image": self._image.active_providers,
            "text": self._text.active_providers,
            "head": self._head.active_providers,
        }

    def describe_provider(self) -> str:
        return self._image.describe()

    @property
    def root(self) -> Path:
        return self.bundle.root

    # -- images -----
    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """RGB uint8 images -> the float32 [N, 3, S, S] batch the image tower expects."""
        m = self.manifest
        return preprocess_batch(images, m.image_size, mean=m.mean, std=m.std)

    def encode_pixels(
        self, pixels: np.ndarray, *, normalize: bool = True, batch_size: int = 32
    ) -> np.ndarray:
        """Image vectors from preprocessed pixels; raw vectors (``normalize=False``) feed heads."""
        pixels = np.ascontiguousarray(pixels, dtype=np.float32)
        if pixels.ndim != 4 or pixels.shape[1:] != (
            3,
            self.manifest.image_size,
            self.manifest.image_size,
        ):
            raise ValueError(
                f"pixels must be [N, 3, {self.manifest.image_size}, {self.manifest.image_size}],"
                f" got {list(pixels.shape)}"
            )
        if pixels.shape[0] == 0:
            return np.zeros((0, self.embed_dim), np.float32)
        out = [
            self._image.session.run(None, {self._image_input: pixels[i : i + batch_size]})[0]
            for i in range(0, pixels.shape[0], batch_size)
        ]
        vectors = np.concatenate(out).astype(np.float32, copy=False)
        return l2_normalise(vectors) if normalize else vectors

    def encode_images(
        self, images: Sequence[np.ndarray], *, normalize: bool = True, batch_size: int = 32
    ) -> np.ndarray:
        """Image vectors [N, D] from RGB uint8 images of any size."""
        if len(images) == 0:
            return np.zeros((0, self.embed_dim), np.float32)
        return self.encode_pixels(
            self.preprocess(images), normalize=normalize, batch_size=batch_size
        )

    # -- text -----
    def tokenize_query(self, text: str, *, truncate: bool = False) -> list[int]:
        """Token ids for one query, or a :class:`QueryError` that says what is wrong with it."""
        if not isinstance(text, str) or not text.strip():
            raise QueryError("the query is empty: type a few words describing the moment")
        body = self.tokenizer.encode(text)
        limit = self.manifest.context_length
        if len(body) + 2 > limit and not truncate:
            words = max(1, len(text.split()))
            most = max(1, int(words * (limit - 2) / len(body)))
            raise QueryError(
                f"the description is too long: this model reads at most {most} words like these"
                f" ({words} given); shorten it"
            )
        return self.tokenizer.wrap(body)

    def encode_texts(
        self,
        texts: Sequence[str],
        *,
        normalize: bool = True,
        truncate: bool = False,
        batch_size: int = 64,
    ) -> np.ndarray:
        """Text vectors [N, D], each computed at the batch's true token length (not 77)."""
        if len(texts) == 0:
            return np.zeros((0, self.embed_dim), np.float32)
        token_lists = [self.tokenize_query(t, truncate=truncate) for t in texts]

        def run(batch: list[Sequence[int]]) -> np.ndarray:
            ids, _ = ClipTokenizer.pad([list(t) for t in batch])
            out: np.ndarray = self._text.session.run(None, {self._text_input: ids})[0]
            return out

        result = encode_by_length(token_lists, self.embed_dim, batch_size, run)
        return l2_normalise(result) if normalize else result

    def encode_text(self, text: str, *, normalize: bool = True) -> np.ndarray:
        vector: np.ndarray = self.encode_texts([text], normalize=normalize)[0]
        return vector

    # -- temporal head -----
    def pool_frames(self, frames: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Segment vectors from *raw* frame vectors through the bundle's head, L2-normalised.

        ``frames`` is [T, D] (one segment, returns [D]) or [B, T, D] with ``mask`` [B, T] marking
        real frames (real frames first). Segments longer than the model's ``max_frames`` are
        thinned to that many evenly spaced frames, as CLIP4Clip samples long clips.
        """
        frames = np.asarray(frames, dtype=np.float32)
        single = frames.ndim == 2
        if single:
            frames = frames[None]
            mask = None if mask is None else np.asarray(mask)[None]
        if frames.ndim != 3 or frames.shape[-1] != self.embed_dim:
            raise ValueError(f"frames must be [T, {self.embed_dim}] or [B, T, {self.embed_dim}]")
        if frames.shape[1] == 0:
            raise ValueError("cannot pool a segment with no frames")
        if mask is None:
            mask = np.ones(frames.shape[:2], np.float32)
        mask = np.asarray(mask, dtype=np.float32)
        keep = self.manifest.max_frames
        if frames.shape[1] > keep:
            frames, mask = self._thin(frames, mask, keep)
        out = self._head.session.run(
            None,
            {
                self._head_inputs[0]: np.ascontiguousarray(frames),
                self._head_inputs[1]: np.ascontiguousarray(mask),
            },
        )[0]
        out = l2_normalise(out.astype(np.float32, copy=False))
        return out[0] if single else out

    @staticmethod
    def _thin(frames: np.ndarray, mask: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
        new_frames = np.zeros((frames.shape[0], keep, frames.shape[2]), np.float32)
        new_mask = np.zeros((frames.shape[0], keep), np.float32)
        for row in range(frames.shape[0]):
            real = int(mask[row].sum())
            idx = uniform_frame_indices(real, keep)
            new_frames[row, : len(idx)] = frames[row, idx]
            new_mask[row, : len(idx)] = 1.0
        return new_frames, new_mask
