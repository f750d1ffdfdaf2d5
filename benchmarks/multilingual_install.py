"""Install M-CLIP's full-size multilingual text tower without PyTorch from a loopback hub; time it.

    python benchmarks/multilingual_install.py [--out bench-out/mclip-install] [--keep]

Random full-size weights (XLM-R Large + Linear(1024 -> 512), ``export.multilingual``'s
``MultilingualTextTower`` with M-CLIP's key names, XLM-R's pooler and ``position_ids`` added as in
the real ``pytorch_model.bin``) are ``torch.save``'d (2.24 GB) and served, with a small
``tokenizer.json`` (trained here: the real one is not downloaded) and ``config.json``, by a
loopback stand-in for the Hugging Face hub. ``core.model.install_tower.install_multilingual`` then
installs the tower twice, fp32 and int8, each in a fresh Python process that never imports torch.
Printed: seconds per stage, the process's peak RSS, the folder's size on disk, the parity figures
of ``text_tower.json`` and milliseconds per 16-token query through ``TextTower`` on this CPU.
Minutes of work and several GB of memory: not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from fixtures import machine

ROOT = Path(__file__).resolve().parents[1]
REPO = "bench/XLM-Roberta-Large-Vit-B-32"


def make_weights(folder: Path) -> None:
    """pytorch_model.bin (random, full size), tokenizer.json and config.json, as on the hub."""
    import torch

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "core"))
    from test_multilingual_install import make_tokenizer

    from export.multilingual import build_text_tower

    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model = build_text_tower("full", seed=0)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    del model
    generator = torch.Generator().manual_seed(1)
    state["transformer.pooler.dense.weight"] = torch.randn(1024, 1024, generator=generator) * 0.02
    state["transformer.pooler.dense.bias"] = torch.zeros(1024)
    state["transformer.embeddings.position_ids"] = torch.arange(514)[None]
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "tokenizer.json").write_bytes(make_tokenizer())
    config = {"modelBase": "xlm-roberta-large", "transformerDimensions": 1024, "numDims": 512}
    (folder / "config.json").write_text(json.dumps(config))
    print(f"weights written in {time.perf_counter() - t0:.0f} s", flush=True)


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """The hub's listing and file URLs over ``folder``, streamed from disk, with Range."""
    from core.model.hub import git_blob_oid

    files = {p.name: p for p in folder.iterdir() if p.is_file()}
    listing = []
    for name, path in files.items():
        size = path.stat().st_size
        if name == "pytorch_model.bin":
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                while block := fh.read(1 << 24):
                    digest.update(block)
            lfs = {"oid": digest.hexdigest(), "size": size}
            listing.append({"type": "file", "path": name, "size": size, "lfs": lfs})
        else:
            oid = git_blob_oid(path.read_bytes())
            listing.append({"type": "file", "path": name, "size": size, "oid": oid})

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == f"/api/models/{REPO}/tree/main":
                body = json.dumps(listing).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            name = self.path.rsplit("/", 1)[-1]
            if name not in files:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            size = files[name].stat().st_size
            start = 0
            if header := self.headers.get("Range"):
                start = int(header.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(size - start))
            self.end_headers()
            with files[name].open("rb") as fh:
                fh.seek(start)
                try:
                    while block := fh.read(1 << 20):
                        self.wfile.write(block)
                except (BrokenPipeError, ConnectionResetError):
                    return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def child(hub: str, models: str, precision: str) -> None:
    """One install in this torch-free process; prints one JSON line of figures."""
    import dataclasses
    import resource
    import statistics

    sys.modules["torch"] = None  # type: ignore[assignment]  # prove it is not needed
    sys.path.insert(0, str(ROOT))
    from core.model.install_tower import install_multilingual
    from core.model.sources import MULTILINGUAL_SOURCE, InstallProgress
    from core.model.text_tower import TextTower

    source = dataclasses.replace(MULTILINGUAL_SOURCE, repo=REPO, revision="main", sha256=None)
    stages: dict[str, float] = {}
    steps: list[tuple[str, float]] = []
    last = [time.perf_counter(), ""]

    def progress(p: InstallProgress) -> None:
        now = time.perf_counter()
        key = p.stage if p.stage != "converting" else f"converting: {p.message}"
        if key != last[1]:
            if last[1]:
                stages[str(last[1])] = stages.get(str(last[1]), 0.0) + now - float(last[0])
            last[0], last[1] = now, key
            if p.stage == "converting":
                steps.append((p.message, now))

    t0 = time.perf_counter()
    path = install_multilingual(
        source, models_dir=models, hub_url=hub, precision=precision, on_progress=progress
    )
    total = time.perf_counter() - t0
    peak_install = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    files = {p.name: p.stat().st_size for p in path.iterdir()}
    t1 = time.perf_counter()
    tower = TextTower(path, force_cpu=True)
    load = time.perf_counter() - t1
    query = "a dog catching a ball on the beach at sunset with my daughter"
    ids = tower.tokenize(query)
    while len(ids) < 16:  # exactly 16 tokens: pad the sentence with more words
        query += " snow"
        ids = tower.tokenize(query)
    while len(ids) > 16:
        query = query.rsplit(" ", 1)[0]
        ids = tower.tokenize(query)
    while len(ids) < 16:  # a one-piece word to make up the count
        query += " a"
        ids = tower.tokenize(query)
    tokens = len(ids)
    tower.encode_texts([query])
    times = []
    for _ in range(30):
        t = time.perf_counter()
        tower.encode_texts([query])
        times.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "precision": precision,
                "path": str(path),
                "total_s": round(total, 1),
                "stages_s": {k: round(v, 1) for k, v in stages.items()},
                "peak_rss_install_gb": round(peak_install / 1e9, 2),
                "peak_rss_with_query_gb": round(peak / 1e9, 2),
                "files_mb": {k: round(v / 1e6, 1) for k, v in files.items()},
                "parity": tower.manifest.parity,
                "load_s": round(load, 1),
                "tokens": tokens,
                "query_ms_median": round(1000 * statistics.median(times), 1),
                "query_ms_p90": round(1000 * sorted(times)[int(0.9 * len(times))], 1),
                "provider": tower.provider,
            }
        ),
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "mclip-install")
    ap.add_argument("--keep", action="store_true", help="keep the weights and installed towers")
    ap.add_argument(
        "--child", nargs=3, metavar=("HUB", "MODELS", "PRECISION"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    print(machine())
    hub_files = args.out / "hub"
    if not (hub_files / "pytorch_model.bin").exists():
        make_weights(hub_files)
    print(f"pytorch_model.bin: {(hub_files / 'pytorch_model.bin').stat().st_size:,} bytes")
    server, url = serve(hub_files)
    models = args.out / "models"
    shutil.rmtree(models, ignore_errors=True)
    try:
        for precision in ("fp32", "int8"):
            done = subprocess.run(
                [sys.executable, __file__, "--child", url, str(models), precision],
                capture_output=True, text=True, check=False,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )  # fmt: skip
            if done.returncode != 0:
                print(done.stderr[-3000:])
                return 1
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(result, indent=1, ensure_ascii=False))
    finally:
        server.shutdown()
        if not args.keep:
            shutil.rmtree(models, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
