"""How long installing the real model takes, and that it needs no PyTorch (issue 24).

    python benchmarks/model_install.py [--arch ViT-B-32] [--precision fp32|int8] [--json FILE]

Writes random weights of the architecture's real shapes in open_clip's safetensors layout (605 MB
for ViT-B/32: the shapes come from the shipped template's recipe, so no PyTorch is needed), serves
them from a loopback stand-in for the Hugging Face hub (the file listing with its SHA-256, and the
file), and times ``install_model`` stage by stage — download, SHA-256, building the bundle (the
templates filled, checked against the numpy reference) — then ``install_file`` on the same file
(``clipseek install-model --file``). Prints whether torch is importable in this Python: run it in
the virtual environment ``make run`` makes to show the install works without it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import struct
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from fixtures import machine

from core.model.assemble import RECIPE_FILE, template_dir
from core.model.install import install_file, install_model
from core.model.sources import InstallProgress, ModelSource

REPO = "clipseek-bench/clip"
FILENAME = "open_clip_model.safetensors"


def weight_shapes(arch: str) -> dict[str, tuple[int, ...]]:
    """Each open_clip tensor's shape, read back from the template (dims, undoing the transform)."""
    folder = template_dir(arch)
    recipe = json.loads((folder / RECIPE_FILE).read_text())
    shapes: dict[str, tuple[int, ...]] = {}
    for filename, entries in recipe["files"].items():
        graph = onnx.load(str(folder / filename))
        for init in graph.graph.initializer:
            if init.name in entries:
                source, how = entries[init.name]
                dims = tuple(init.dims)
                if how == "T":
                    dims = dims[::-1]
                elif how == "reshape":  # the class embedding, stored as [1, 1, width]
                    dims = tuple(d for d in dims if d != 1)
                shapes[source] = dims
    return shapes


def write_safetensors(path: Path, shapes: dict[str, tuple[int, ...]], seed: int = 0) -> None:
    """Random float32 tensors, 0.02 wide, in the safetensors format (written here: no torch)."""
    rng = np.random.default_rng(seed)
    header: dict[str, Any] = {}
    offset = 0
    for name, shape in sorted(shapes.items()):
        size = 4 * int(np.prod(shape))
        header[name] = {
            "dtype": "F32",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        for _name, shape in sorted(shapes.items()):
            fh.write((rng.standard_normal(shape, dtype=np.float32) * 0.02).astype("<f4").tobytes())


def serve(path: Path, sha: str) -> tuple[ThreadingHTTPServer, str]:
    """The hub's two addresses on loopback: the listing of REPO@main and the file itself."""
    size = path.stat().st_size

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == f"/api/models/{REPO}/tree/main":
                entry = {"type": "file", "path": FILENAME, "size": size, "lfs": {"oid": sha}}
                body = json.dumps([entry]).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == f"/{REPO}/resolve/main/{FILENAME}":
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                with path.open("rb") as fh:
                    while chunk := fh.read(1 << 20):
                        self.wfile.write(chunk)
            else:
                self.send_error(404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


class Stages:
    """Seconds spent in each install stage, from the progress reports."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.current = ""
        self.seconds: dict[str, float] = {}

    def __call__(self, p: InstallProgress) -> None:
        now = time.perf_counter()
        if p.stage != self.current:
            if self.current:
                self.seconds[self.current] = self.seconds.get(self.current, 0.0) + now - self.last
            self.current, self.last = p.stage, now

    def total(self) -> float:
        return time.perf_counter() - self.started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "int8"])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch_here = importlib.util.find_spec("torch") is not None
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / FILENAME
        written = time.perf_counter()
        write_safetensors(weights, weight_shapes(args.arch))
        written = time.perf_counter() - written
        sha = hashlib.sha256(weights.read_bytes()).hexdigest()
        size = weights.stat().st_size
        source = ModelSource(
            repo=REPO, filename=FILENAME, arch=args.arch, name=f"{args.arch} (benchmark)",
            folder="bench", sha256=sha, size=size, precision=args.precision,
        )  # fmt: skip
        server, url = serve(weights, sha)
        try:
            hub_stages = Stages()
            install_model(source, models_dir=Path(tmp) / "hub", hub_url=url, on_progress=hub_stages)
            hub_total = hub_stages.total()
        finally:
            server.shutdown()
        file_stages = Stages()
        install_file(weights, source, models_dir=Path(tmp) / "file", on_progress=file_stages)
        file_total = file_stages.total()
    report = {
        "machine": machine(),
        "python": sys.executable,
        "torch_importable": torch_here,
        "arch": args.arch,
        "precision": args.precision,
        "weights_mb": round(size / 1e6, 1),
        "hub_seconds": round(hub_total, 1),
        "hub_stages": {k: round(v, 1) for k, v in hub_stages.seconds.items()},
        "file_seconds": round(file_total, 1),
        "file_stages": {k: round(v, 1) for k, v in file_stages.seconds.items()},
    }
    print(report["machine"])
    print(f"python {sys.executable}; torch importable: {torch_here}")
    print(
        f"{args.arch} {args.precision}: {size / 1e6:,.0f} MB of weights ({written:.1f} s to write)"
    )
    print(f"install from a loopback hub: {hub_total:.1f} s  {report['hub_stages']}")
    print(f"install --file:             {file_total:.1f} s  {report['file_stages']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
