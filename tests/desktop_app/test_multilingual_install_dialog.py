"""The install dialog's second choice: M-CLIP's multilingual text model after the CLIP model.

One loopback stand-in hub serves both: a tiny CLIP (safetensors, as open_clip's file) and a tiny
M-CLIP tower in the real repository's layout (see tests/core/test_multilingual_install.py).
"""

from __future__ import annotations

import pytest

from core.model.sources import ModelSource
from core.model.text_tower import TextTower
from tests.core.test_multilingual_install import SOURCE as TOWER_SOURCE
from tests.core.test_multilingual_install import Hub, make_tokenizer, state_dict_bytes

torch = pytest.importorskip("torch")

CLIP_REPO = "clipseek-tests/tiny-clip"
CLIP_SOURCE = ModelSource(
    repo=CLIP_REPO, filename="open_clip_model.safetensors", arch="tiny", name="Tiny CLIP",
    folder="tiny",
)  # fmt: skip


@pytest.fixture(scope="module")
def payloads():
    import json

    from safetensors.torch import save

    from export.model import build_model
    from export.multilingual import build_text_tower

    torch.manual_seed(3)
    clip = build_model("tiny", "meanP")
    clip_file = save({k: v.contiguous() for k, v in clip.clip.state_dict().items()})
    tower = build_text_tower("tiny", seed=3)
    files = {
        "pytorch_model.bin": state_dict_bytes(tower),
        "tokenizer.json": make_tokenizer(),
        "config.json": json.dumps({"transformerDimensions": 32, "numDims": 16}).encode(),
    }
    return clip_file, files


@pytest.fixture
def hub(payloads):
    server = Hub(dict(payloads[1]), others={CLIP_REPO: {CLIP_SOURCE.filename: payloads[0]}})
    yield server
    server.close()


def _dialog(qtbot, hub, tmp_path):
    from desktop_app.model_install_dialog import ModelInstallDialog

    dialog = ModelInstallDialog(
        source=CLIP_SOURCE, models_dir=str(tmp_path), hub_url=hub.url, tower_source=TOWER_SOURCE
    )
    qtbot.addWidget(dialog)
    return dialog


def test_the_first_screen_offers_it_unchecked_and_fits_800_by_600(qtbot, hub, tmp_path) -> None:
    dialog = _dialog(qtbot, hub, tmp_path)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.multilingual_box.isVisible() and not dialog.multilingual_box.isChecked()
    assert dialog.multilingual_box.text() == "Also search in other languages (Korean and more)"
    assert "2.2 GB more to download" in dialog.multilingual_label.text()
    size = dialog.sizeHint().expandedTo(dialog.minimumSizeHint())
    assert size.width() <= 800 and size.height() <= 600
    assert not dialog.running and hub.requests == []


def test_both_models_install_and_a_retry_skips_the_done_one(qtbot, hub, tmp_path) -> None:
    dialog = _dialog(qtbot, hub, tmp_path)
    dialog.int8_box.setChecked(False)
    dialog.multilingual_box.setChecked(True)
    labels: list[str] = []
    dialog.progressed.connect(lambda p: labels.append(dialog.stage_label.text()))
    dialog.show()
    hub.corrupt = {"tokenizer.json"}  # the tower's part fails after CLIP is in
    dialog.install_button.click()
    assert not dialog.multilingual_box.isEnabled()
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=120_000)
    assert dialog.error.startswith("tokenizer.json arrived damaged")
    assert (tmp_path / "tiny").is_dir() and not (tmp_path / "tiny-mclip").exists()
    assert any(text.startswith("Multilingual model: ") for text in labels)
    assert dialog.multilingual_box.isEnabled() and dialog.retry_button.isVisible()
    clip_requests = [r for r in hub.requests if r[0] == CLIP_SOURCE.filename]
    hub.corrupt = set()
    with qtbot.waitSignal(dialog.installed, timeout=120_000) as signal:
        dialog.retry_button.click()
    assert signal.args == [str(tmp_path / "tiny")]
    assert dialog.tower_path == str(tmp_path / "tiny-mclip")
    assert [r for r in hub.requests if r[0] == CLIP_SOURCE.filename] == clip_requests
    tower = TextTower(tmp_path / "tiny-mclip", force_cpu=True)
    assert tower.manifest.precision == "fp32"  # the dialog's precision choice, for both
    assert tower.encode_text("생일 케이크").shape == (16,)


def test_adding_the_multilingual_model_later_does_not_fetch_clip_again(
    qtbot, hub, payloads, tmp_path
) -> None:
    """Found living with it: the dialog is how a user adds Korean search to a CLIP model
    installed last month, and it downloaded and rebuilt the 600 MB model first."""
    import dataclasses
    import hashlib

    from desktop_app.model_install_dialog import ModelInstallDialog

    pinned = dataclasses.replace(
        CLIP_SOURCE, sha256=hashlib.sha256(payloads[0]).hexdigest(), size=len(payloads[0])
    )

    def dialog():
        d = ModelInstallDialog(
            source=pinned, models_dir=str(tmp_path), hub_url=hub.url, tower_source=TOWER_SOURCE
        )
        qtbot.addWidget(d)
        d.int8_box.setChecked(False)
        return d

    first = dialog()
    with qtbot.waitSignal(first.installed, timeout=120_000):
        first.install_button.click()
    fetched = [r for r in hub.requests if r[0] == CLIP_SOURCE.filename]
    assert fetched
    built = (tmp_path / "tiny" / "manifest.json").stat().st_mtime_ns
    second = dialog()
    second.multilingual_box.setChecked(True)
    with qtbot.waitSignal(second.installed, timeout=120_000) as signal:
        second.install_button.click()
    assert signal.args == [str(tmp_path / "tiny")]
    assert [r for r in hub.requests if r[0] == CLIP_SOURCE.filename] == fetched
    assert (tmp_path / "tiny" / "manifest.json").stat().st_mtime_ns == built
    assert second.tower_path == str(tmp_path / "tiny-mclip")
