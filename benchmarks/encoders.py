"""Encoder throughput of a model bundle: images/s by batch size and text latency.

    python benchmarks/encoders.py --bundle DIR [--cpu] [--seconds 5]

Prints the machine, the *active* provider, image throughput at batch 1/8/32 (and 256 on a GPU),
and text latency p50/p99 at the true token length versus padded to 77 tokens — the reason the
text tower is exported with a dynamic sequence length.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from fixtures import encoder_header, run_times

from core.model.bundle import BundleError
from core.model.encoder import Encoder

QUERIES = [
    "my daughter blowing out birthday candles",
    "a dog jumping into a lake",
    "sunset at the beach",
    "kids opening presents under the christmas tree",
    "grandpa laughing at the dinner table",
    "a red car driving through snow",
]

#: Timed runs per measurement at least, however short ``--seconds`` is (after one warm-up run).
MIN_RUNS = 3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--cpu", action="store_true", help="force the CPU provider")
    ap.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    args = ap.parse_args()
    try:
        enc = Encoder(args.bundle, force_cpu=args.cpu)
    except BundleError as exc:
        print(f"encoders.py: error: {exc}", file=sys.stderr)
        return 2
    m = enc.manifest
    print("\n".join(encoder_header(enc)))
    on_gpu = enc.provider == "CUDAExecutionProvider"
    size = m.image_size
    rng = np.random.default_rng(0)
    print("\nimage tower (preprocessed input)")
    for batch in (1, 8, 32, 256) if on_gpu else (1, 8, 32):
        pixels = rng.normal(size=(batch, 3, size, size)).astype(np.float32)
        times = run_times(
            lambda p=pixels, b=batch: enc.encode_pixels(p, batch_size=b),
            MIN_RUNS,
            seconds=args.seconds,
        )
        print(
            f"  batch {batch:>3}: {batch / np.median(times):8.1f} img/s"
            f"  ({np.median(times) * 1000:.1f} ms per batch, {len(times)} runs)"
        )

    print("\ntext tower, one query at a time")
    session = enc._text.session
    ids_true = [np.array([enc.tokenizer.tokenize(q)], np.int64) for q in QUERIES]
    ids_pad = []
    for ids in ids_true:
        padded = np.zeros((1, m.context_length), np.int64)
        padded[0, : ids.shape[1]] = ids[0]
        ids_pad.append(padded)
    for label, feeds in (("true length", ids_true), ("padded to 77", ids_pad)):
        lat: list[float] = []
        for ids in feeds:
            lat += run_times(
                lambda i=ids: session.run(None, {"input_ids": i}),
                MIN_RUNS,
                seconds=args.seconds / 6,
            )
        ms = np.array(lat) * 1000
        p50, p99 = np.percentile(ms, 50), np.percentile(ms, 99)
        print(f"  {label:>12}: p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  ({len(ms)} runs)")
    full = run_times(lambda: enc.encode_text(QUERIES[0]), MIN_RUNS, seconds=args.seconds / 2)
    print(f"  end to end (tokenize + encode + normalise): p50 {np.median(full) * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
