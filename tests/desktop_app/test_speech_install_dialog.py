"""The install dialog's third choice: a Whisper speech model (tiny, base, small), installed after
the CLIP model (and the multilingual one, when chosen), skipped when already installed.

One loopback stand-in hub serves both: a tiny CLIP (safetensors, as open_clip's file) and a
speech model in the real repository's layout at a pinned commit (placeholder bytes: that the
installed files open in CTranslate2 is shown in tests/core/test_speech_install.py).
"""

from __future__ import annotations

import dataclasses

import pytest

from core.model.sources import ModelSource
from core.speech.install import MODEL_FILE, SPEECH_SOURCES, install_speech, load_speech_model
from tests.core.test_speech_install import SOURCE as SPEECH_SOURCE
from tests.core.test_speech_install import Hub, placeholder_files

torch = pytest.importorskip("torch")

CLIP_REPO = "clipseek-tests/tiny-clip"
CLIP_SOURCE = ModelSource(
    repo=CLIP_REPO, filename="open_clip_model.safetensors", arch="tiny", name="Tiny CLIP",
    folder="tiny",
)  # fmt: skip
#: Every size served by the stand-in (one repository, one commit: the folders differ).
SOURCES = {size: dataclasses.replace(SPEECH_SOURCE, size=size) for size in SPEECH_SOURCES}


@pytest.fixture(scope="module")
def clip_file() -> bytes:
    from safetensors.torch import save

    from export.model import build_model

    torch.manual_seed(3)
    clip = build_model("tiny", "meanP")
    return save({k: v.contiguous() for k, v in clip.clip.state_dict().items()})


@pytest.fixture
def hub(clip_file):
    server = Hub(
        placeholder_files(),
        lfs=(MODEL_FILE, CLIP_SOURCE.filename),
        others={(CLIP_REPO, "main"): {CLIP_SOURCE.filename: clip_file}},
    )
    yield server
    server.close()


def _dialog(qtbot, hub, tmp_path, sources=SOURCES):
    from desktop_app.model_install_dialog import ModelInstallDialog

    dialog = ModelInstallDialog(
        source=CLIP_SOURCE, models_dir=str(tmp_path), hub_url=hub.url, speech_sources=sources
    )
    qtbot.addWidget(dialog)
    dialog.int8_box.setChecked(False)
    return dialog


def test_the_first_screen_offers_it_unchecked_with_sizes_and_fits_800_by_600(
    qtbot, hub, tmp_path
) -> None:
    from desktop_app.model_install_dialog import ModelInstallDialog

    dialog = ModelInstallDialog(source=CLIP_SOURCE, models_dir=str(tmp_path), hub_url=hub.url)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.speech_box.isVisible() and not dialog.speech_box.isChecked()
    assert dialog.speech_size.isVisible()
    sizes = [dialog.speech_size.itemText(i) for i in range(dialog.speech_size.count())]
    assert sizes == ["tiny", "base", "small"] and dialog.speech_size.currentText() == "base"
    assert (
        dialog.speech_box.text() == "Also search what is said (speech: Whisper base, about 148 MB)"
    )
    dialog.speech_size.setCurrentText("tiny")
    assert (
        dialog.speech_box.text() == "Also search what is said (speech: Whisper tiny, about 78 MB)"
    )
    dialog.speech_size.setCurrentText("small")
    assert "Whisper small, about 486 MB" in dialog.speech_box.text()
    assert dialog.multilingual_box.isVisible()  # the other choices stay
    size = dialog.sizeHint().expandedTo(dialog.minimumSizeHint())
    print(f"first screen: {size.width()} x {size.height()}")
    assert size.width() <= 800 and size.height() <= 600
    assert not dialog.running and hub.requests == []


def test_clip_then_speech_and_a_retry_skips_the_done_one(qtbot, hub, tmp_path) -> None:
    dialog = _dialog(qtbot, hub, tmp_path)
    dialog.speech_box.setChecked(True)
    dialog.speech_size.setCurrentText("tiny")
    labels: list[str] = []
    dialog.progressed.connect(lambda p: labels.append(dialog.stage_label.text()))
    dialog.show()
    hub.corrupt = {"vocabulary.txt"}  # the speech part fails after CLIP is in
    dialog.install_button.click()
    assert not dialog.speech_box.isEnabled() and not dialog.speech_size.isEnabled()
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=120_000)
    assert dialog.error.startswith("vocabulary.txt arrived damaged")
    assert (tmp_path / "tiny").is_dir() and not (tmp_path / "whisper-tiny").exists()
    assert any(text.startswith("Speech model: ") for text in labels)
    assert dialog.speech_box.isEnabled() and dialog.speech_size.isEnabled()
    assert dialog.retry_button.isVisible()
    clip_requests = [r for r in hub.requests if r[0] == CLIP_SOURCE.filename]
    hub.corrupt = set()
    with qtbot.waitSignal(dialog.installed, timeout=120_000) as signal:
        dialog.retry_button.click()
    assert signal.args == [str(tmp_path / "tiny")]
    assert dialog.speech_path == str(tmp_path / "whisper-tiny") and dialog.tower_path is None
    assert [r for r in hub.requests if r[0] == CLIP_SOURCE.filename] == clip_requests
    assert hub.weight_requests == [None]  # model.bin, checked, was kept for the retry
    assert load_speech_model(tmp_path / "whisper-tiny").manifest.size == "tiny"


def test_a_speech_model_installed_already_is_not_fetched_again(qtbot, hub, tmp_path) -> None:
    install_speech(SOURCES["small"], models_dir=tmp_path, hub_url=hub.url)
    fetched = list(hub.requests)
    dialog = _dialog(qtbot, hub, tmp_path)
    dialog.speech_box.setChecked(True)
    dialog.speech_size.setCurrentText("small")
    with qtbot.waitSignal(dialog.installed, timeout=120_000):
        dialog.install_button.click()
    assert dialog.speech_path == str(tmp_path / "whisper-small")
    assert [r for r in hub.requests if r[0] != CLIP_SOURCE.filename] == fetched


def test_without_the_choice_no_speech_model_is_fetched(qtbot, hub, tmp_path) -> None:
    dialog = _dialog(qtbot, hub, tmp_path)
    with qtbot.waitSignal(dialog.installed, timeout=120_000):
        dialog.install_button.click()
    assert dialog.speech_path is None and hub.weight_requests == []
    assert not any(p.name.startswith("whisper-") for p in tmp_path.iterdir())
