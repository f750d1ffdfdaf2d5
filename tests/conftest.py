"""Shared fixtures: tiny models and bundles built by our own export code (no downloads)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never read or write the real user's data folder, and never start a real video player
    (a machine with mpv or VLC installed would open one for every "Open" a test makes)."""
    monkeypatch.setenv("CLIPSEEK_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("CLIPSEEK_MODEL", raising=False)
    monkeypatch.setenv("CLIPSEEK_PLAYER", "default")


def _convert_tiny(
    out: Path,
    head: str,
    *,
    fp16: bool = False,
    int8: bool = False,
    seed: int = 0,
    arch: str = "tiny",
):
    import torch

    from export.convert import convert
    from export.model import build_model

    torch.manual_seed(seed)
    model = build_model(arch, head)
    result = convert(model, out, fp16=fp16, int8=int8, source=f"random-init:seed={seed}")
    return model, result


@pytest.fixture(scope="session")
def tiny_seqtransf(tmp_path_factory: pytest.TempPathFactory):
    """(model, bundle path) for a random tiny seqTransf, converted once per test session."""
    out = tmp_path_factory.mktemp("bundles") / "tiny-seqTransf"
    model, result = _convert_tiny(out, "seqTransf", seed=1)
    return model, result.bundle


@pytest.fixture(scope="session")
def convert_tiny():
    return _convert_tiny


# --------------------------------------------------------------------------- the window
@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path, str]:
    """Ten demo-style videos, a 24 s video of two scenes and a corrupt file (app_support)."""
    from tests.app_support import make_footage

    return make_footage(tmp_path_factory.mktemp("footage"))


@pytest.fixture
def window(qtbot, monkeypatch):
    """The real main window on the demo model, shown, its library open (and empty)."""
    from core.model.registry import DEMO_MODEL
    from desktop_app.main_window import MainWindow

    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")
    w = MainWindow(model=str(DEMO_MODEL))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.snapshot is not None, timeout=30_000)
    yield w
    w.close()


@pytest.fixture
def indexed(qtbot, window, footage):
    """The window with the footage folder dropped in and indexed."""
    from tests.app_support import drop

    finished: list[object] = []
    window.engine.jobFinished.connect(finished.append)
    drop(window, [footage[0]])
    qtbot.waitUntil(lambda: bool(finished), timeout=180_000)
    qtbot.waitUntil(lambda: window.snapshot.indexed == 11, timeout=20_000)
    return window
