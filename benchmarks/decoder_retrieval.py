"""Does the way frames are decoded, or an int8 image tower, change what search finds?

    python benchmarks/decoder_retrieval.py [--draws 3] [--videos 120] [--json FILE]

Each draw generates fresh demo videos (held-out shape/colour pairs, a new seed) and indexes them
through the app's own pipeline (:func:`export.evaluate.evaluate`) three ways: the bundled demo
model with the OpenCV reference sampler, the same model with the planned PyAV sampler (the
default), and an int8 copy of the demo model (its image tower quantized as
``clipseek-export convert --int8`` does, from the shipped fp16 weights cast up to float32)
with the planned sampler. Prints text→video R@1 and R@5
per draw and their means, and the int8 tower's cosine to the fp32 one on the demo frames.
Needs the ``export`` extra (onnx, for quantizing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from core.demo.library import DEMO_SPLIT_SEED
from core.demo.synthetic import generate
from core.model.bundle import describe_files, load_bundle, write_manifest
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL
from export.evaluate import evaluate
from export.onnx_export import quantize_int8


def _as_float32(path: Path) -> None:
    """An fp16 ONNX graph (the demo model ships as one) turned float32 in place: weights cast
    up, casts to float16 made casts to float32; quantizing needs float32 weights."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    f16, f32 = onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT
    for i, init in enumerate(model.graph.initializer):
        if init.data_type == f16:
            array = numpy_helper.to_array(init).astype(np.float32)
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(array, init.name))
    for node in model.graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == f16:
                attr.i = f32
            if attr.name == "value" and attr.t.data_type == f16:
                attr.t.CopyFrom(
                    numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float32))
                )
    for info in [*model.graph.value_info, *model.graph.input, *model.graph.output]:
        if info.type.tensor_type.elem_type == f16:
            info.type.tensor_type.elem_type = f32
    onnx.save(model, str(path))


def int8_copy(bundle: Path, out: Path) -> Path:
    """``bundle`` with its image tower quantized to int8 (manifest and checksums updated)."""
    manifest = load_bundle(bundle).manifest
    shutil.copytree(bundle, out)
    if manifest.precision == "fp16":
        _as_float32(out / "image.onnx")
    quantize_int8(out / "image.onnx")
    files = describe_files(out, list(manifest.files))
    write_manifest(
        out, replace(manifest, precision="int8", files=files, name=manifest.name + " (int8)")
    )
    return out


def tower_cosine(fp32: Path, int8: Path, data: Path) -> float:
    """Lowest cosine between the two image towers' raw vectors on frames of the demo videos."""
    from core.ingest.sample import sample_frames

    a, b = Encoder(fp32, force_cpu=True), Encoder(int8, force_cpu=True)
    frames = [f.rgb for p in sorted(data.rglob("*.mp4"))[:20] for f in sample_frames(p)]
    va = a.encode_images(frames, normalize=True)
    vb = b.encode_images(frames, normalize=True)
    return float((va * vb).sum(axis=1).min())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--videos", type=int, default=120)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="decoder-retrieval-"))
    os.environ["CLIPSEEK_HOME"] = str(scratch / "home")
    os.environ["CLIPSEEK_FORCE_CPU"] = "1"
    rows: list[dict[str, Any]] = []
    try:
        int8 = int8_copy(DEMO_MODEL, scratch / "demo-int8")
        shipped = load_bundle(DEMO_MODEL).manifest.precision
        for draw in range(args.draws):
            seed = 20261201 + draw
            data = scratch / f"draw{draw}"
            generate(data, args.videos, seed=seed, split_seed=DEMO_SPLIT_SEED, test_only=True)
            row: dict[str, Any] = {"seed": seed}
            for label, bundle, decoder in (
                (f"OpenCV, {shipped}", DEMO_MODEL, "opencv"),
                (f"planned, {shipped}", DEMO_MODEL, "auto"),
                ("planned, int8", int8, "auto"),
            ):
                os.environ["CLIPSEEK_DECODER"] = decoder
                t2v = evaluate(bundle, data)["metrics"]["t2v"]
                row[label] = {"R@1": t2v["R@1"], "R@5": t2v["R@5"]}
            os.environ["CLIPSEEK_DECODER"] = "auto"
            row["int8 min cosine"] = tower_cosine(DEMO_MODEL, int8, data)
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    shipped = load_bundle(DEMO_MODEL).manifest.precision
    labels = (f"OpenCV, {shipped}", f"planned, {shipped}", "planned, int8")
    print(f"\ntext→video on fresh demo videos ({args.draws} draws x {args.videos})")
    print("| sampler, tower | R@1 per draw | mean R@1 | mean R@5 |\n| --- | --- | --- | --- |")
    for label in labels:
        r1 = [r[label]["R@1"] for r in rows]
        r5 = [r[label]["R@5"] for r in rows]
        cells = ", ".join(f"{v:.1f}" for v in r1)
        print(f"| {label} | {cells} | {np.mean(r1):.1f} | {np.mean(r5):.1f} |")
    worst = min(r["int8 min cosine"] for r in rows)
    print(f"\nint8 image tower vs {shipped}: min cosine {worst:.5f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
