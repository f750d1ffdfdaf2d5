"""Helpers shared by the library and CLI tests: folders of generated videos, a full index run,
the ``clipseek`` command in a subprocess, and the catalog/index consistency check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from core.library import Library
from tests.videos import write_video

ROOT = Path(__file__).resolve().parents[1]


def make_folder(root: Path, seconds: dict[str, int]) -> Path:
    for i, (name, length) in enumerate(sorted(seconds.items())):
        write_video(root / name, seed=100 + i, seconds=length)
    return root


def index_all(lib: Library, *paths: Path, **options):
    for p in paths:
        lib.add_folder(p)
    sync = lib.sync()
    report = lib.index_job(**options).run()
    return sync, report


def consistent(lib: Library) -> bool:
    """Every live ANN label has a segment row and the reverse; the graph returns them all."""
    ids = lib.catalog.segment_ids()
    if lib.index.labels() != ids:
        return False
    if not ids:
        return True
    probe = np.ones(lib.encoder.embed_dim, np.float32) / np.sqrt(lib.encoder.embed_dim)
    return {h[0] for h in lib.index.query(probe, len(ids))} == ids


def clipseek(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc
