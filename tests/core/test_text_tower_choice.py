"""Which multilingual text tower serves which model: the image space it was trained for.

A tower folder is found by its ``text_tower.json``; one trained for another image tower is
refused with a line that says so, and a damaged manifest never gets used. These tests need no
ONNX file to be valid: choosing reads manifests only.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from core.model.bundle import BundleError, Manifest, load_bundle
from core.model.encoder import QueryError
from core.model.registry import DEMO_MODEL
from core.model.text_tower import (
    OPENAI_VIT_B32,
    TOWER_MANIFEST,
    image_space,
    read_tower_manifest,
    towers_for,
    verify_tower_files,
    write_tower_manifest,
)
from core.query.towers import QueryTowers, check_lang


def _openai_manifest(**changes: object) -> Manifest:
    demo = load_bundle(DEMO_MODEL, verify_checksums=False).manifest
    base = replace(
        demo,
        name="OpenAI CLIP ViT-B/32 (int8)",
        arch="ViT-B-32",
        head="meanP",
        embed_dim=512,
        precision="int8",
        source="huggingface:timm/vit_base_patch32_clip_224.openai@a6f597a30f7b/"
        "open_clip_model.safetensors sha256:e6d1bd7789aa45192b3bf90570a789b478bae1b74ebcce7eddd"
        "908e83a2b7c31",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _tower(
    root: Path, space: str, *, name: str = "Tower", dim: int = 512, precision: str = "fp32"
) -> Path:
    root.mkdir(parents=True)
    (root / "text.onnx").write_bytes(b"graph")
    (root / "tokenizer.json").write_text("{}")
    write_tower_manifest(
        root, name=name, image_space=space, embed_dim=dim, max_tokens=512, pad_id=1,
        precision=precision, languages=["ko", "en"],
    )  # fmt: skip
    return root


def test_openai_vit_b32_is_recognised_by_its_weights_at_any_precision() -> None:
    assert image_space(_openai_manifest()) == OPENAI_VIT_B32
    assert image_space(_openai_manifest(precision="fp32")) == OPENAI_VIT_B32


@pytest.mark.parametrize(
    "changes",
    [
        {"head": "seqTransf"},  # a trained head pools frames into another space
        {"source": "checkpoint:/runs/finetuned/best.pt"},  # fine-tuned weights
        {"arch": "ViT-B-16"},
    ],
)
def test_other_models_have_a_space_of_their_own(changes: dict[str, object]) -> None:
    space = image_space(_openai_manifest(**changes))
    assert space != OPENAI_VIT_B32
    assert space.startswith("image-sha256:")


def test_the_tower_for_the_models_space_is_chosen_int8_first_on_cpus(tmp_path: Path) -> None:
    models = tmp_path / "models"
    _tower(models / "mclip", OPENAI_VIT_B32, name="M-CLIP")
    _tower(models / "mclip-int8", OPENAI_VIT_B32, name="M-CLIP (int8)", precision="int8")
    choice = towers_for(_openai_manifest(), tmp_path / "bundle", models)
    assert choice.manifest is not None and choice.manifest.name == "M-CLIP (int8)"
    on_gpu = towers_for(_openai_manifest(), tmp_path / "bundle", models, prefer_int8=False)
    assert on_gpu.manifest is not None and on_gpu.manifest.name == "M-CLIP"


def test_a_tower_of_another_space_is_refused_in_words(tmp_path: Path) -> None:
    models = tmp_path / "models"
    _tower(models / "mclip", OPENAI_VIT_B32, name="M-CLIP")
    demo = load_bundle(DEMO_MODEL, verify_checksums=False).manifest
    choice = towers_for(demo, tmp_path / "nowhere", models)
    assert choice.root is None
    assert choice.refused == (
        f"M-CLIP was trained for OpenAI CLIP ViT-B/32; {demo.name} is not that model,"
        " so it cannot answer its queries",
    )


def test_a_tower_inside_the_bundle_is_found(tmp_path: Path) -> None:
    demo = load_bundle(DEMO_MODEL, verify_checksums=False).manifest
    bundle = tmp_path / "bundle"
    _tower(bundle / "multilingual", image_space(demo), name="student", dim=demo.embed_dim)
    choice = towers_for(demo, bundle, tmp_path / "no-models")
    assert choice.manifest is not None and choice.manifest.name == "student"


def test_an_edited_tower_manifest_is_refused(tmp_path: Path) -> None:
    root = _tower(tmp_path / "t", OPENAI_VIT_B32)
    data = json.loads((root / TOWER_MANIFEST).read_text())
    data["image_space"] = "image-sha256:00"
    (root / TOWER_MANIFEST).write_text(json.dumps(data))
    with pytest.raises(BundleError, match="edited"):
        read_tower_manifest(root)
    choice = towers_for(_openai_manifest(), tmp_path / "b", tmp_path)
    assert choice.root is None and "edited" in choice.refused[0]


def test_a_truncated_tower_file_is_named(tmp_path: Path) -> None:
    root = _tower(tmp_path / "t", OPENAI_VIT_B32)
    manifest = read_tower_manifest(root)
    assert manifest.files["text.onnx"].bytes == 5
    (root / "text.onnx").write_bytes(b"gra")
    with pytest.raises(BundleError, match=r"text\.onnx: size differs"):
        verify_tower_files(root, manifest)


@pytest.mark.parametrize("lang", ["auto", "EN", "ko", "multi", "ja"])
def test_query_languages_people_may_name(lang: str) -> None:
    assert check_lang(lang) == lang.lower()


@pytest.mark.parametrize("lang", ["korean!", "k", "ko-KR-x", "12"])
def test_an_unknown_language_is_one_line(lang: str) -> None:
    with pytest.raises(QueryError, match="unknown query language"):
        check_lang(lang)


class _FakeEncoder:
    """What QueryTowers reads of an encoder (no sessions needed to choose a route)."""

    def __init__(self, manifest: Manifest, root: Path) -> None:
        self.manifest, self.root, self.name = manifest, root, manifest.name
        self.provider, self.force_cpu, self.threads = "CPUExecutionProvider", True, None


def test_without_a_tower_korean_goes_to_clip_with_a_note_and_a_forced_language_is_refused(
    tmp_path: Path,
) -> None:
    towers = QueryTowers(_FakeEncoder(_openai_manifest(), tmp_path), tmp_path / "models")  # type: ignore[arg-type]
    route = towers.route("생일 케이크 촛불 끄는 딸")
    assert route.tower == "clip" and route.language == "ko"
    assert "install-model --multilingual" in route.note
    assert towers.route("a dog on the beach").note == ""
    with pytest.raises(QueryError, match="cannot read the query as Korean"):
        towers.route("생일 케이크", "ko")
    forced = towers.route("생일 케이크", "en")
    assert forced.tower == "clip" and forced.note == "set to English, so Korean is read poorly"
    assert towers.route("birthday cake", "en").note == ""


def test_a_tower_installed_while_running_is_taken_up(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    towers = QueryTowers(_FakeEncoder(_openai_manifest(), tmp_path), models)  # type: ignore[arg-type]
    assert towers.route("바닷가에서 뛰노는 강아지").tower == "clip"
    _tower(models / "mclip-int8", OPENAI_VIT_B32, name="M-CLIP (int8)", precision="int8")
    route = towers.route("바닷가에서 뛰노는 강아지")
    assert route.tower == "multilingual" and route.tower_name == "M-CLIP (int8)"
    assert route.describe() == "Read as Korean by the multilingual text model (M-CLIP (int8))"
    assert towers.route("a dog running on the beach").tower == "clip"
