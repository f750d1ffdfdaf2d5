"""Parity checks: does the bundle compute what the PyTorch model computes?

Run after every conversion, through the runtime's own :class:`core.model.encoder.Encoder` (the same
preprocessing, tokenizer and sessions users get), on images, sentences and frame sequences that
exercise batching, short and long texts and partially masked segments. A bundle whose vectors
drift from PyTorch's would silently corrupt every index built with it, so a failure here is fatal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.model.encoder import Encoder
from export.errors import ExportError
from export.model import CLIP4Clip

#: Minimum cosine between ORT and PyTorch vectors, by stored precision.
THRESHOLDS = {"fp32": 0.9999, "fp16": 0.999, "int8": 0.9999}
#: An int8 bundle quantizes its image tower only (text tower and head stay float32 and keep
#: the fp32 threshold). ViT-B/32 measured 0.9997 (README, "Performance"); 0.999 keeps a margin
#: and still refuses the 0.980 that quantizing without reduce_range gives.
IMAGE_THRESHOLDS = {"int8": 0.999}

SAMPLE_TEXTS: tuple[str, ...] = (
    "a dog",
    "my daughter blowing out the candles on her birthday cake",
    "Sunset over the lake, waves & seagulls!",
    "two kids riding bikes down a steep hill while their father runs behind them shouting and"
    " waving his arms, on a windy autumn afternoon in the park near the river",
    "café crème 🎂 ünïcödé",
)


@dataclass(frozen=True)
class ParityReport:
    image: float
    text: float
    head: float
    provider: str
    threshold: float
    image_threshold: float

    def as_dict(self) -> dict[str, float | str]:
        return {
            "image_min_cosine": round(self.image, 7),
            "text_min_cosine": round(self.text, 7),
            "head_min_cosine": round(self.head, 7),
            "threshold": self.threshold,
            "image_threshold": self.image_threshold,
            "provider": self.provider,
        }


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return float((a * b).sum(-1).min())


def sample_images(count: int, seed: int = 0) -> list[np.ndarray]:
    """Noise, gradients and stripes in assorted shapes (landscape, portrait, tiny)."""
    rng = np.random.default_rng(seed)
    shapes = [(240, 320), (320, 180), (97, 131), (64, 64), (480, 640), (50, 90)]
    images = []
    for i in range(count):
        h, w = shapes[i % len(shapes)]
        if i % 3 == 0:
            img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        else:
            y, x = np.mgrid[0:h, 0:w]
            phase = rng.uniform(0, 2 * np.pi, 3)
            freq = rng.uniform(0.01, 0.2, 3)
            chans = [
                127.5 + 127.5 * np.sin(freq[c] * (x + (i % 2) * y) + phase[c]) for c in range(3)
            ]
            img = np.stack(chans, -1).astype(np.uint8)
        images.append(img)
    return images


def check_parity(model: CLIP4Clip, bundle_dir: Path, precision: str) -> ParityReport:
    """Compare the bundle against ``model``; raise :class:`ExportError` below the threshold."""
    threshold = THRESHOLDS[precision]
    image_threshold = IMAGE_THRESHOLDS.get(precision, threshold)
    encoder = Encoder(bundle_dir)
    model.eval()
    with torch.no_grad():
        images = sample_images(12)
        pixels = encoder.preprocess(images)
        ort_frames = encoder.encode_pixels(pixels, normalize=False, batch_size=5)
        ref_frames = model.encode_frames(torch.from_numpy(pixels)).float().numpy()
        image_cos = _min_cosine(ort_frames, ref_frames)

        ort_text = encoder.encode_texts(SAMPLE_TEXTS, normalize=False, truncate=True)
        token_lists = [encoder.tokenizer.tokenize(t) for t in SAMPLE_TEXTS]
        ref_text = np.stack(
            [
                model.encode_text(torch.tensor([ids], dtype=torch.int64)).float().numpy()[0]
                for ids in token_lists
            ]
        )
        text_cos = _min_cosine(ort_text, ref_text)

        # Segments of 12, 7, 3 and 1 real frames, from real image-tower outputs.
        steps = min(12, encoder.manifest.max_frames)
        frames = np.stack([np.roll(ref_frames, -k, axis=0)[:steps] for k in range(4)])
        mask = np.zeros(frames.shape[:2], np.float32)
        for row, length in enumerate((steps, max(1, steps * 7 // 12), min(3, steps), 1)):
            mask[row, :length] = 1.0
        ort_video = encoder.pool_frames(frames, mask)
        ref_video = model.pool(torch.from_numpy(frames), torch.from_numpy(mask)).float().numpy()
        # One single-frame segment on its own: batch 1 and length 1 are where exported graphs
        # most often hide a shape baked in at trace time.
        ort_one = encoder.pool_frames(frames[3, :1])[None]
        ref_one = model.pool(torch.from_numpy(frames[3:4, :1]), torch.ones(1, 1)).float().numpy()
        head_cos = min(_min_cosine(ort_video, ref_video), _min_cosine(ort_one, ref_one))

    report = ParityReport(
        image_cos, text_cos, head_cos, encoder.provider, threshold, image_threshold
    )
    failed = [
        f"{part} {value:.6f} < {need}"
        for part, value, need in (
            ("image", image_cos, image_threshold),
            ("text", text_cos, threshold),
            ("head", head_cos, threshold),
        )
        if not value >= need  # also catches NaN
    ]
    if failed:
        raise ExportError(
            f"parity check FAILED ({precision}, minimum cosine): "
            + ", ".join(failed)
            + f" on {encoder.provider}"
        )
    return report
