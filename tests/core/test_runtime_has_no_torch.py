"""The app's runtime path (core + GUI) must run without PyTorch installed."""

from __future__ import annotations

import subprocess
import sys


def test_core_and_app_import_without_torch(tiny_seqtransf) -> None:
    _, bundle = tiny_seqtransf
    code = f"""
import sys
sys.modules['torch'] = None  # any 'import torch' now raises ImportError
sys.modules['open_clip'] = None
import numpy as np
from core.model.encoder import Encoder
import core.cli.main, desktop_app.main_window
enc = Encoder({str(bundle)!r}, force_cpu=True)
v = enc.encode_texts(['a dog'])
img = enc.encode_images([np.zeros((40, 60, 3), np.uint8)])
seg = enc.pool_frames(np.ones((3, enc.embed_dim), np.float32))
print(v.shape, img.shape, seg.shape)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(1, 8) (1, 8) (8,)"
