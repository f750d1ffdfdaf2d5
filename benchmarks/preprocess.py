"""Benchmark CLIP frame preprocessing: core.model.preprocess vs PIL/open_clip vs cv2.resize.

Usage::

    .venv/bin/python benchmarks/preprocess.py [--repeat 50] [--image-size 224]

For each frame size it prints milliseconds per frame (median and best of ``--repeat`` runs,
after a warm-up) for the full "RGB uint8 frame -> normalised float32 3xSxS" step:

* ``core.model.preprocess``: this project's numpy/OpenCV implementation
  (bit-identical to open_clip);
* ``PIL + open_clip``: ``Image.fromarray`` + ``open_clip.image_transform(S, is_train=False)``,
  i.e. what the export tooling does (needs the ``export`` extra; skipped when missing);
* ``cv2 INTER_CUBIC``: ``cv2.resize`` + crop + normalise, for reference only: it is fast but
  does no antialiasing, so its output is *not* what CLIP was trained on (its max deviation
  from open_clip is printed to show by how much).

The machine line matters when reading the numbers: the target is a 2-core laptop.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
from collections.abc import Callable

import cv2
import numpy as np
from fixtures import run_times

from core.model.preprocess import (
    OPENAI_MEAN,
    OPENAI_STD,
    center_crop,
    preprocess_image,
    resized_shape,
)

FRAME_SIZES: list[tuple[int, int]] = [(1920, 1080), (1280, 720), (1080, 2400)]


def time_ms(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, best) wall time of ``fn`` in milliseconds, after one warm-up call."""
    samples = [t * 1e3 for t in run_times(fn, repeat)]
    return statistics.median(samples), min(samples)


def cv2_cubic(rgb: np.ndarray, size: int) -> np.ndarray:
    """Same pipeline shape as open_clip's, with cv2.resize(INTER_CUBIC) as the resampler."""
    new_h, new_w = resized_shape(rgb.shape[0], rgb.shape[1], size)
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_CUBIC)
    crop = center_crop(resized, size)
    mean = np.asarray(OPENAI_MEAN, dtype=np.float32)
    std = np.asarray(OPENAI_STD, dtype=np.float32)
    return np.ascontiguousarray(((crop.astype(np.float32) / 255.0 - mean) / std).transpose(2, 0, 1))


def machine_line() -> str:
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    return (
        f"{platform.platform()} | {platform.processor() or platform.machine()} | "
        f"cpu_count={os.cpu_count()} | python {platform.python_version()} | "
        f"numpy {np.__version__} | opencv {cv2.__version__} | "
        f"cv2 threads={cv2.getNumThreads()} | OPENBLAS_NUM_THREADS={blas}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per measurement")
    parser.add_argument("--image-size", type=int, default=224, help="model input size S")
    args = parser.parse_args(argv)
    size = args.image_size

    try:
        import open_clip
        from PIL import Image
    except ImportError:  # runtime-only install: no reference pipeline to compare with
        open_clip = None
        Image = None

    print(f"machine: {machine_line()}")
    if open_clip is not None:
        import PIL

        print(f"reference: Pillow {PIL.__version__}, open_clip {open_clip.__version__}")
    print(f"ms per frame -> {size}x{size} float32 (median / best of {args.repeat})")

    rng = np.random.default_rng(0)
    transform = open_clip.image_transform(size, is_train=False) if open_clip else None
    columns = ("ours (core)", "PIL + open_clip", "cv2 INTER_CUBIC")
    header = f"{'frame':>11}" + "".join(f"  {c:>17}" for c in columns)
    print(header)
    print("-" * len(header))
    for width, height in FRAME_SIZES:
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        ours_med, ours_best = time_ms(lambda rgb=rgb: preprocess_image(rgb, size), args.repeat)
        cv_med, cv_best = time_ms(lambda rgb=rgb: cv2_cubic(rgb, size), args.repeat)
        if transform is not None:
            pil_med, pil_best = time_ms(
                lambda rgb=rgb: transform(Image.fromarray(rgb)).numpy(), args.repeat
            )
            pil_cell = f"{pil_med:7.2f} / {pil_best:6.2f}"
        else:
            pil_cell = f"{'n/a':>17}"
        print(
            f"{width:>5}x{height:<5}  {ours_med:7.2f} / {ours_best:6.2f}  {pil_cell}  "
            f"{cv_med:7.2f} / {cv_best:6.2f}"
        )
        if transform is not None:
            ref = transform(Image.fromarray(rgb)).numpy()
            ours_dev = float(np.abs(preprocess_image(rgb, size) - ref).max())
            cv_dev = float(np.abs(cv2_cubic(rgb, size) - ref).max())
            print(f"{'':>11}  max |diff| vs open_clip: core {ours_dev:.2e}, cv2 {cv_dev:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
