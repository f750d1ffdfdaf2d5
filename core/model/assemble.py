"""A model bundle from CLIP weights without PyTorch: the exporter's graph templates, filled.

``export.templates`` ships, per architecture, the three ONNX files ``clipseek-export convert``
writes, with the weights taken out and a ``recipe.json`` naming each emptied initializer's open_clip
parameter and how it is stored (as it is, transposed, or reshaped). :func:`assemble` puts the
tensors of a weights file (read by :mod:`core.model.weights`: safetensors, or PyTorch's zip through
the allow-list unpickler) back by name, with numpy and onnx only. The files come out byte for byte
as the exporter writes them from the same weights, so the bundle has the same vector identity and
indexes into the same library (tested against ``clipseek-export convert``).

The manifest is the converter's, and so are its parity figures, measured here against
:mod:`core.model.reference` (CLIP's towers in numpy, float64) instead of PyTorch: the ONNX towers
through ONNX Runtime on a few fixed pictures and sentences, min cosine per tower, the same
thresholds. ``precision="int8"`` quantizes the image tower with ONNX Runtime's dynamic quantizer
(:mod:`core.model.quantize`), as the converter does.
"""

from __future__ import annotations

import importlib.resources
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from core.model.bundle import (
    HEAD_FILE,
    IMAGE_FILE,
    TEXT_FILE,
    VOCAB_FILE,
    Manifest,
    new_manifest,
    with_parity,
)
from core.model.preprocess import OPENAI_MEAN, OPENAI_STD
from core.model.quantize import quantize_int8
from core.model.reference import ClipConfig, encode_image, encode_text
from core.model.tokenizer import ClipTokenizer, default_vocab_path

TEMPLATE_FORMAT = "clipseek-onnx-template-1"
#: Templates are zero-shot CLIP: the mean of frame vectors (a trained head comes as a checkpoint,
#: which the exporter converts).
TEMPLATE_HEAD = "meanP"
RECIPE_FILE = "recipe.json"
TOWER_FILES = {"image": IMAGE_FILE, "text": TEXT_FILE, "head": HEAD_FILE}
TEMPLATES = Path(str(importlib.resources.files("resources").joinpath("templates")))
#: Frames a segment vector pools at most: the converter's default (export.model).
MAX_FRAMES = 12
#: Parity thresholds, as the converter's (export.parity): fp32 towers, and an int8 image tower.
THRESHOLD = 0.9999
INT8_IMAGE_THRESHOLD = 0.999
PARITY_SENTENCES = (
    "a dog catching a ball on the beach",
    "my daughter blowing out the candles on her birthday cake",
    "snow",
)


class AssembleError(RuntimeError):
    """The weights do not make a bundle (wrong architecture, a missing or misshapen tensor,
    failed parity); the message says which in one line."""


def template_dir(arch: str, templates: Path = TEMPLATES) -> Path:
    return templates / f"{arch}-{TEMPLATE_HEAD}"


def template_archs(templates: Path = TEMPLATES) -> list[str]:
    """Architectures with a shipped template."""
    suffix = f"-{TEMPLATE_HEAD}"
    if not templates.is_dir():
        return []
    return sorted(
        p.name.removesuffix(suffix)
        for p in templates.iterdir()
        if p.name.endswith(suffix) and (p / RECIPE_FILE).is_file()
    )


def _recipe(arch: str, templates: Path) -> dict[str, Any]:
    path = template_dir(arch, templates) / RECIPE_FILE
    try:
        recipe: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(template_archs(templates)) or "none"
        raise AssembleError(f"no template for {arch!r} (templates: {known})") from None
    if recipe.get("format") != TEMPLATE_FORMAT:
        raise AssembleError(f"the template for {arch} is of another ClipSeek ({path})")
    return recipe


def _tensor(weights: Mapping[str, np.ndarray], source: str, how: str, dims: list[int]) -> bytes:
    """The bytes of one initializer: ``source`` as the exporter stores it (float32, C order)."""
    value = weights.get(source)
    if value is None:
        raise AssembleError(f"the weights have no {source}: not this architecture's")
    array = np.asarray(value, dtype=np.float32)
    if how == "T":
        array = array.T
    shape = tuple(dims)
    if how == "reshape":
        if array.size != int(np.prod(shape)):
            raise AssembleError(f"{source} has {array.size} values, the graph needs {shape}")
        array = array.reshape(shape)
    elif array.shape != shape:
        raise AssembleError(f"{source} is {list(value.shape)}; this architecture needs {dims}")
    return np.ascontiguousarray(array, dtype="<f4").tobytes()


def fill(
    arch: str, weights: Mapping[str, np.ndarray], out: Path, templates: Path = TEMPLATES
) -> None:
    """Write image.onnx, text.onnx and head.onnx of ``arch`` with ``weights`` into ``out``."""
    recipe = _recipe(arch, templates)
    out.mkdir(parents=True, exist_ok=True)
    for filename in TOWER_FILES.values():
        graph = onnx.load(str(template_dir(arch, templates) / filename))
        entries: dict[str, list[str]] = recipe["files"].get(filename, {})
        for init in graph.graph.initializer:
            entry = entries.get(init.name)
            if entry is not None:
                init.raw_data = _tensor(weights, entry[0], entry[1], list(init.dims))
        (out / filename).write_bytes(graph.SerializeToString())


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return float(np.min(np.sum(a * b, axis=-1)))


def check_parity(
    bundle: Path, weights: Mapping[str, np.ndarray], cfg: ClipConfig, precision: str
) -> dict[str, float | str]:
    """ONNX Runtime against the numpy reference on fixed inputs: the manifest's ``parity``."""
    import onnxruntime as ort

    provider = "CPUExecutionProvider"
    opts = ort.SessionOptions()
    opts.log_severity_level = 3

    def run(name: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        session = ort.InferenceSession(str(bundle / name), opts, providers=[provider])
        out: np.ndarray = session.run(None, feeds)[0]
        return out

    rng = np.random.default_rng(20261207)
    pixels = rng.standard_normal((2, 3, cfg.image_size, cfg.image_size)).astype(np.float32)
    tokenizer = ClipTokenizer(bundle / VOCAB_FILE)
    ids, _ = ClipTokenizer.pad([tokenizer.wrap(tokenizer.encode(s)) for s in PARITY_SENTENCES])
    frames = rng.standard_normal((2, 5, cfg.embed_dim)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=np.float32)
    unit = frames / np.linalg.norm(frames, axis=-1, keepdims=True)
    pooled = (unit * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    image = _min_cosine(run(IMAGE_FILE, {"pixels": pixels}), encode_image(weights, cfg, pixels))
    text = _min_cosine(run(TEXT_FILE, {"input_ids": ids}), encode_text(weights, cfg, ids))
    head = _min_cosine(run(HEAD_FILE, {"frames": frames, "mask": mask}), pooled)
    image_threshold = INT8_IMAGE_THRESHOLD if precision == "int8" else THRESHOLD
    # written as 'not >=' so that a NaN cosine (NaN in the weights) fails too, as in export.parity
    if not (image >= image_threshold and text >= THRESHOLD and head >= THRESHOLD):
        raise AssembleError(
            f"the assembled bundle does not compute what the weights do (min cosine: image"
            f" {image:.6f}, text {text:.6f}, head {head:.6f}; needed {THRESHOLD})"
        )
    return {
        "image_min_cosine": round(image, 7),
        "text_min_cosine": round(text, 7),
        "head_min_cosine": round(head, 7),
        "threshold": THRESHOLD,
        "image_threshold": image_threshold,
        "provider": provider,
    }


def assemble(
    weights: Mapping[str, np.ndarray],
    arch: str,
    out: str | Path,
    *,
    precision: str = "fp32",
    name: str | None = None,
    source: str = "",
    templates: Path = TEMPLATES,
) -> Manifest:
    """Make the bundle of ``arch`` with ``weights`` at ``out`` (which must not exist yet), check
    its parity against the numpy reference, and return its manifest."""
    if precision not in ("fp32", "int8"):
        raise AssembleError(f"a bundle can be assembled as fp32 or int8, not {precision!r}")
    out = Path(out)
    if out.exists():
        raise AssembleError(f"{out} exists already")
    cfg = ClipConfig.for_arch(arch)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        fill(arch, weights, scratch, templates)
        if precision == "int8":  # the image tower only, as the converter does
            quantize_int8(scratch / IMAGE_FILE)
        vocab = scratch / VOCAB_FILE
        vocab.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(default_vocab_path(), vocab)
        manifest = new_manifest(
            scratch, name=name or f"{arch}-{TEMPLATE_HEAD}", arch=arch,
            embed_dim=cfg.embed_dim, image_size=cfg.image_size,
            context_length=cfg.context_length, vocab_size=cfg.vocab_size, head=TEMPLATE_HEAD,
            max_frames=MAX_FRAMES, precision=precision, source=source,
            mean=OPENAI_MEAN, std=OPENAI_STD,
        )  # fmt: skip
        manifest = with_parity(scratch, manifest, check_parity(scratch, weights, cfg, precision))
        scratch.rename(out)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return manifest
