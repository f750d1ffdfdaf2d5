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
    """Never read or write the real user's data folder."""
    monkeypatch.setenv("CLIPSEEK_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("CLIPSEEK_MODEL", raising=False)


def _convert_tiny(out: Path, head: str, *, fp16: bool = False, seed: int = 0):
    import torch

    from export.convert import convert
    from export.model import build_model

    torch.manual_seed(seed)
    model = build_model("tiny", head)
    result = convert(model, out, fp16=fp16, source=f"random-init:seed={seed}")
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
