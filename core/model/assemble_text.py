"""A multilingual text tower from M-CLIP's weights without PyTorch: the exporter's graph, filled.

``export.templates.make_multilingual_template`` ships ``resources/templates/mclip-xlmr-<arch>/``:
the ``text.onnx`` that :func:`export.multilingual.export_text_tower` writes, with the weights taken
out, and a ``recipe.json`` naming each emptied initializer's M-CLIP state-dict key and how it is
stored (as it is, or transposed: the exporter stores ``x @ W.T``'s ``W.T``), plus the
architecture's numbers. :func:`assemble_text_tower` puts the tensors of ``pytorch_model.bin``
(read by :mod:`core.model.weights`, through the allow-list unpickler) back by name and makes a
text-tower folder (:mod:`core.model.text_tower`):

* fp32: ``text.onnx``; past :data:`EXTERNAL_DATA_OVER` bytes of weights (the full tower: 2.2 GB,
  more than protobuf's 2 GiB) the weights go to ONE file beside it, ``text.onnx.data``, written
  tensor by tensor (never a second copy of the 2.2 GB in memory), each large tensor aligned to
  64 KiB so ONNX Runtime can map it;
* int8 (for CPUs): the template filled and quantized tensor by tensor from the weights
  (:mod:`core.model.text_quantize`: the Linear layers' weights int8 per output column in
  ``com.microsoft.DynamicQuantizeMatMul``, the word table int8 per row), never an fp32 graph:
  one ``text.onnx`` (the full tower: ~0.57 GB), written once the weights are let go;
* ``tokenizer.json``: the model's own, copied;
* parity: ONNX Runtime against :mod:`core.model.xlmr_reference` (numpy, float64) on fixed
  sentences in several languages (Korean among them), tokenized by that ``tokenizer.json``; the
  minimum cosine must reach :data:`THRESHOLD` (fp32) or :data:`INT8_THRESHOLD` (int8);
* ``text_tower.json`` by :func:`core.model.text_tower.write_tower_manifest`.

Every failure is one :class:`~core.model.assemble.AssembleError` line: a missing, misshapen or
non-finite tensor, a tokenizer whose ids the model cannot read, failed parity.
"""

from __future__ import annotations

import gc
import json
import math
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from core.model.assemble import TEMPLATE_FORMAT, TEMPLATES, AssembleError
from core.model.text_quantize import graph_array, int8_text_model
from core.model.text_tower import (
    OPENAI_VIT_B32,
    TOWER_DATA_FILE,
    TOWER_TEXT_FILE,
    TOWER_TOKENIZER_FILE,
    TowerManifest,
    pad_batch,
    write_tower_manifest,
)
from core.model.xlmr_reference import XlmrConfig, encode_text

#: What a multilingual template's recipe says it is.
MULTILINGUAL_KIND = "multilingual-text"
TEXT_TOWER_FILE = TOWER_TEXT_FILE
RECIPE_FILE = "recipe.json"
#: Template folders: ``mclip-xlmr-tiny`` (tests) and ``mclip-xlmr-full`` (the real tower).
TEMPLATE_PREFIX = "mclip-xlmr-"
#: Above this many bytes of weights the graph keeps them in ``text.onnx.data`` (as the exporter).
EXTERNAL_DATA_OVER = 1_800_000_000
#: Tensors of at least this size start at a multiple of :data:`ALIGN` in the data file.
ALIGN_OVER = 1 << 20
ALIGN = 1 << 16
#: Parity thresholds: fp32 against the float64 reference, as every other tower; int8 (the weights
#: of every Linear layer but the last, and the word table, quantized): see :data:`INT8_THRESHOLD`.
THRESHOLD = 0.9999
#: Measured on random full-size weights (benchmarks/multilingual_install.py) and the tiny test
#: tower: see the README's figures. A tower whose int8 graph is further from the reference than
#: this is refused rather than installed.
INT8_THRESHOLD = 0.99
#: Fixed sentences the parity is measured on: English, Korean, and a few other scripts.
PARITY_SENTENCES = (
    "a dog catching a ball on the beach",
    "생일 케이크 촛불 끄는 딸",
    "바닷가에서 공 물어 오는 강아지",
    "Schnee im Garten",
    "夕焼けの海",
)
#: The languages of M-CLIP's training captions: the 48 rows of FreddeFrallan/Multilingual-CLIP's
#: translation/data/fine_tune_languages.csv (Chinese in two scripts, so 47 codes; English is a
#: row but its captions were not used, the authors say). Korean is not among them: XLM-R read it
#: in pre-training and M-CLIP reports it through transfer (MS-COCO text-to-image R@10: Korean
#: 82.1, German 88.7, English 91.8).
MCLIP_LANGUAGES = (
    "af", "am", "ar", "az", "bg", "bn", "bs", "ca", "cs", "da", "de", "el", "en", "es", "et", "fr",
    "hi", "hr", "hu", "id", "is", "it", "ja", "mk", "ml", "mr", "nl", "pl", "pt", "ro", "ru",
    "sl", "sq", "sr", "sv", "sw", "te", "tk", "tl", "tr", "ug", "uk", "ur", "uz", "vi", "xh",
    "zh",
)  # fmt: skip


def text_template_dir(arch: str, templates: Path = TEMPLATES) -> Path:
    return templates / f"{TEMPLATE_PREFIX}{arch}"


def text_template_archs(templates: Path = TEMPLATES) -> list[str]:
    """Multilingual architectures with a shipped template ("tiny", "full")."""
    if not templates.is_dir():
        return []
    return sorted(
        p.name.removeprefix(TEMPLATE_PREFIX)
        for p in templates.iterdir()
        if p.name.startswith(TEMPLATE_PREFIX) and (p / RECIPE_FILE).is_file()
    )


def read_text_recipe(arch: str, templates: Path = TEMPLATES) -> dict[str, Any]:
    path = text_template_dir(arch, templates) / RECIPE_FILE
    try:
        recipe: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(text_template_archs(templates)) or "none"
        raise AssembleError(f"no multilingual template for {arch!r} (templates: {known})") from None
    if recipe.get("format") != TEMPLATE_FORMAT or recipe.get("kind") != MULTILINGUAL_KIND:
        raise AssembleError(f"the multilingual template for {arch} is of another ClipSeek ({path})")
    return recipe


def text_config(arch: str, templates: Path = TEMPLATES) -> XlmrConfig:
    try:
        return XlmrConfig.from_recipe(read_text_recipe(arch, templates)["config"])
    except (KeyError, ValueError) as exc:
        raise AssembleError(f"the multilingual template for {arch} is damaged ({exc})") from None


def check_weights(weights: Mapping[str, np.ndarray], cfg: XlmrConfig) -> None:
    """Every tensor the tower needs: present, of its shape, finite; one line for the first that
    is not. (Extra tensors, such as XLM-R's unused pooler and ``position_ids``, are ignored.)"""
    for key, shape in cfg.shapes().items():
        value = weights.get(key)
        if value is None:
            raise AssembleError(
                f"the weights have no {key}: not M-CLIP's XLM-R text tower of this size"
            )
        if tuple(value.shape) != shape:
            raise AssembleError(
                f"{key} is {list(value.shape)}; this tower needs {list(shape)}"
                " (another model, or another size)"
            )
        if not np.issubdtype(value.dtype, np.floating):
            raise AssembleError(f"{key} holds {value.dtype} values, not floating point")
        if not np.isfinite(value).all():
            raise AssembleError(f"{key} holds NaN or infinite values: the weights are damaged")


def _tensor_bytes(value: np.ndarray, how: str, dims: list[int], key: str) -> bytes:
    return np.ascontiguousarray(graph_array(value, how, dims, key), dtype="<f4").tobytes()


def fill_text(
    arch: str,
    weights: Mapping[str, np.ndarray],
    out: Path,
    *,
    templates: Path = TEMPLATES,
    external_data: bool | None = None,
) -> list[Path]:
    """Write ``out/text.onnx`` (and ``text.onnx.data`` when the weights are too big for one
    protobuf, or ``external_data`` says so) from the template of ``arch``; returns the files."""
    recipe = read_text_recipe(arch, templates)
    entries: dict[str, list[str]] = recipe["files"].get(TEXT_TOWER_FILE, {})
    graph = onnx.load(str(text_template_dir(arch, templates) / TEXT_TOWER_FILE))
    inits = [(init, entries[init.name]) for init in graph.graph.initializer if init.name in entries]
    if len(inits) != len(entries):
        raise AssembleError(f"the multilingual template for {arch} does not match its recipe")
    total = sum(4 * math.prod(init.dims) for init, _ in inits)
    if external_data is None:
        external_data = total > EXTERNAL_DATA_OVER
    out.mkdir(parents=True, exist_ok=True)
    path, data = out / TEXT_TOWER_FILE, out / TOWER_DATA_FILE
    data.unlink(missing_ok=True)
    for _init, (key, _how) in inits:
        if key not in weights:
            raise AssembleError(f"the weights have no {key}: not M-CLIP's XLM-R text tower")
    if not external_data:
        for init, (key, how) in inits:
            init.raw_data = _tensor_bytes(weights[key], how, list(init.dims), key)
        path.write_bytes(graph.SerializeToString())
        return [path]
    offset = 0
    with data.open("wb") as fh:
        for init, (key, how) in inits:
            raw = _tensor_bytes(weights[key], how, list(init.dims), key)
            if len(raw) >= ALIGN_OVER and offset % ALIGN:
                pad = ALIGN - offset % ALIGN
                fh.write(b"\0" * pad)
                offset += pad
            fh.write(raw)
            init.ClearField("raw_data")
            init.data_location = onnx.TensorProto.EXTERNAL
            del init.external_data[:]
            for k, v in (
                ("location", data.name),
                ("offset", str(offset)),
                ("length", str(len(raw))),
            ):
                entry = init.external_data.add()
                entry.key, entry.value = k, v
            offset += len(raw)
            del raw
    path.write_bytes(graph.SerializeToString())
    return [path, data]


def int8_text(
    arch: str, weights: Mapping[str, np.ndarray], *, templates: Path = TEMPLATES
) -> onnx.ModelProto:
    """The int8 graph of ``arch`` made from ``weights`` (:mod:`core.model.text_quantize`), in
    memory: the caller writes it (``SerializeToString``) once it has let the weights go."""
    recipe = read_text_recipe(arch, templates)
    entries: dict[str, list[str]] = recipe["files"].get(TEXT_TOWER_FILE, {})
    model = onnx.load(str(text_template_dir(arch, templates) / TEXT_TOWER_FILE))
    names = {init.name for init in model.graph.initializer}
    if not set(entries) <= names:
        raise AssembleError(f"the multilingual template for {arch} does not match its recipe")
    model, _stats = int8_text_model(model, entries, weights)
    return model


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return float(np.min(np.sum(a * b, axis=-1)))


def parity_batch(
    tokenizer_path: Path, cfg: XlmrConfig, sentences: Sequence[str] = PARITY_SENTENCES
) -> tuple[np.ndarray, np.ndarray]:
    """The parity sentences as the runtime feeds them: ``tokenizer.json``'s ids, padded."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
    except Exception as exc:  # the tokenizers package raises its own Exception subclass
        raise AssembleError(f"{tokenizer_path.name} is unreadable ({exc})") from None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    try:
        rows = [list(tokenizer.encode(s).ids)[: cfg.max_tokens] for s in sentences]
    except Exception as exc:
        raise AssembleError(f"{tokenizer_path.name} cannot read a sentence ({exc})") from None
    top = max(max(r, default=0) for r in rows)
    if top >= cfg.vocab_size:
        raise AssembleError(
            f"{tokenizer_path.name} gives token id {top}, past the model's {cfg.vocab_size}-word"
            " vocabulary: it is not this model's tokenizer"
        )
    return pad_batch(rows, cfg.pad_id)


def reference_vectors(
    weights: Mapping[str, np.ndarray],
    cfg: XlmrConfig,
    tokenizer: Path,
    sentences: Sequence[str] = PARITY_SENTENCES,
) -> np.ndarray:
    """What the weights make of the parity sentences, by the numpy reference (float64)."""
    ids, mask = parity_batch(tokenizer, cfg, sentences)
    return encode_text(weights, cfg, ids, mask)


def check_text_parity(
    root: Path,
    expected: np.ndarray,
    cfg: XlmrConfig,
    precision: str,
    *,
    sentences: Sequence[str] = PARITY_SENTENCES,
) -> dict[str, float | str]:
    """ONNX Runtime on ``root/text.onnx`` against the reference's ``expected`` vectors of the
    same sentences (:func:`reference_vectors`): the manifest's parity."""
    import onnxruntime as ort

    ids, mask = parity_batch(root / TOWER_TOKENIZER_FILE, cfg, sentences)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    provider = "CPUExecutionProvider"
    session = ort.InferenceSession(str(root / TEXT_TOWER_FILE), opts, providers=[provider])
    got = np.asarray(session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
    del session
    cosine = _min_cosine(got.astype(np.float64), expected)
    threshold = INT8_THRESHOLD if precision == "int8" else THRESHOLD
    # 'not >=': a NaN cosine fails too
    if not cosine >= threshold:
        raise AssembleError(
            f"the assembled text tower does not compute what the weights do (min cosine"
            f" {cosine:.6f} on {len(sentences)} sentences; needed {threshold})"
        )
    return {
        "text_min_cosine": round(cosine, 7),
        "threshold": threshold,
        "sentences": len(sentences),
        "provider": provider,
    }


def assemble_text_tower(
    weights: Mapping[str, np.ndarray] | Callable[[], Mapping[str, np.ndarray]],
    arch: str,
    tokenizer: Path,
    out: str | Path,
    *,
    precision: str = "fp32",
    name: str = "M-CLIP XLM-R Large (ViT-B/32 text space)",
    source: str = "",
    image_space: str = OPENAI_VIT_B32,
    languages: Sequence[str] = MCLIP_LANGUAGES,
    templates: Path = TEMPLATES,
    on_step: Callable[[str], None] | None = None,
) -> TowerManifest:
    """Make the text tower of ``arch`` with ``weights`` at ``out`` (which must not exist yet),
    check it against the numpy reference, and return its manifest.

    ``weights`` may be a function that reads them: then they are let go as soon as the graph is
    made and the reference has its vectors, before the int8 graph is serialized and ONNX Runtime
    loads the graph (the full tower's 2.2 GB are not held twice).
    """
    if precision not in ("fp32", "int8"):
        raise AssembleError(f"a text tower can be assembled as fp32 or int8, not {precision!r}")
    out = Path(out)
    if out.exists():
        raise AssembleError(f"{out} exists already")

    def step(text: str) -> None:
        if on_step is not None:
            on_step(text)

    cfg = text_config(arch, templates)
    held: list[Mapping[str, np.ndarray]] = [weights() if callable(weights) else weights]
    del weights  # the only reference to what a reader made is in ``held``
    # The reader's map of the file (2.2 GB resident once read) is held by a reference cycle
    # until the collector runs; let it go now, not in the middle of the quantizer or the session.
    gc.collect()
    step("Checking the weights…")
    check_weights(held[0], cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        shutil.copyfile(tokenizer, scratch / TOWER_TOKENIZER_FILE)
        quantized: list[onnx.ModelProto] = []
        if precision == "int8":
            step("Quantizing it to int8…")
            quantized.append(int8_text(arch, held[0], templates=templates))
        else:
            step("Building the ONNX model…")
            fill_text(arch, held[0], scratch, templates=templates)
        step("Computing the reference vectors…")
        expected = reference_vectors(held[0], cfg, scratch / TOWER_TOKENIZER_FILE)
        held.clear()
        if quantized:
            step("Writing the int8 model…")
            (scratch / TEXT_TOWER_FILE).write_bytes(quantized[0].SerializeToString())
            quantized.clear()
        step("Checking it against the reference…")
        parity = check_text_parity(scratch, expected, cfg, precision)
        manifest = write_tower_manifest(
            scratch, name=name, image_space=image_space, embed_dim=cfg.embed_dim,
            max_tokens=cfg.max_tokens, pad_id=cfg.pad_id, precision=precision,
            languages=languages, source=source, parity=parity,
        )  # fmt: skip
        scratch.rename(out)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return manifest
