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

Then, for comparison (``--no-ort`` skips it), what the int8 install did before
:mod:`core.model.text_quantize`: ONNX Runtime's ``quantize_dynamic`` (:mod:`core.model.quantize`)
on a copy of the fp32 tower, in a process of its own (its seconds and peak RSS), and one last
process that measures both int8 towers against the numpy float64 reference (min cosine on the
parity sentences); then their 16-token queries are timed, each tower alone in a process, the two
taking turns for three rounds.
Minutes of work and several GB of memory (the old quantizer: ~13 GB): not part of the test suite.
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
from typing import Any

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


def sixteen_token_query(tower: Any) -> str:
    """A query of exactly 16 tokens for ``tower``'s tokenizer."""
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
    return query


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
    query = sixteen_token_query(tower)
    tokens = len(tower.tokenize(query))
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


def ort_child(fp32_tower: str, out: str) -> None:
    """The former int8 path: ``quantize_dynamic`` on a copy of the fp32 tower (torch-free)."""
    import resource

    sys.modules["torch"] = None  # type: ignore[assignment]
    sys.path.insert(0, str(ROOT))
    import onnx

    from core.model.quantize import quantize_int8
    from core.model.text_tower import (
        TOWER_DATA_FILE,
        TOWER_TEXT_FILE,
        read_tower_manifest,
        write_tower_manifest,
    )

    src, dst = Path(fp32_tower), Path(out)
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for name in (TOWER_TEXT_FILE, TOWER_DATA_FILE, "tokenizer.json"):
        shutil.copyfile(src / name, dst / name)
    t0 = time.perf_counter()
    # what assemble_text did before the quantizer: the exporter's value_info entries for
    # initializers dropped (quantize_dynamic turns Gemm(transB=1) into a MatMul on the
    # transposed weight under the same name and would find two shapes for it)
    graph = onnx.load(str(dst / TOWER_TEXT_FILE), load_external_data=False)
    names = {init.name for init in graph.graph.initializer}
    kept = [v for v in graph.graph.value_info if v.name not in names]
    del graph.graph.value_info[:]
    graph.graph.value_info.extend(kept)
    (dst / TOWER_TEXT_FILE).write_bytes(graph.SerializeToString())
    del graph
    quantize_int8(dst / TOWER_TEXT_FILE)
    (dst / TOWER_DATA_FILE).unlink()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    m = read_tower_manifest(src)
    write_tower_manifest(
        dst, name=m.name, image_space=m.image_space, embed_dim=m.embed_dim,
        max_tokens=m.max_tokens, pad_id=m.pad_id, precision="int8",
    )  # fmt: skip
    files = {p.name: round(p.stat().st_size / 1e6, 1) for p in dst.iterdir()}
    result = {
        "what": "ORT quantize_dynamic of the fp32 tower (the former int8 path)",
        "quantize_s": round(seconds, 1),
        "peak_rss_gb": round(peak / 1e9, 2),
        "files_mb": files,
    }
    print(json.dumps(result), flush=True)


def compare_child(weights: str, towers: list[str]) -> None:
    """Both int8 towers against the float64 reference (min cosine on the parity sentences)."""
    import gc

    sys.modules["torch"] = None  # type: ignore[assignment]
    sys.path.insert(0, str(ROOT))
    from core.model.assemble_text import (
        PARITY_SENTENCES,
        _min_cosine,
        reference_vectors,
        text_config,
    )
    from core.model.text_tower import TextTower
    from core.model.weights import read_weights

    cfg = text_config("full")
    tokenizer = Path(towers[0]) / "tokenizer.json"
    held = read_weights(weights)
    expected = reference_vectors(held, cfg, tokenizer)
    del held
    gc.collect()
    loaded = {t: TextTower(Path(t), force_cpu=True) for t in towers}
    out: dict[str, dict[str, Any]] = {}
    for path, tower in loaded.items():
        got = tower.encode_texts(list(PARITY_SENTENCES), normalize=False)
        out[path] = {"min_cosine_to_reference": round(_min_cosine(got.astype("f8"), expected), 6)}
    print(json.dumps(out), flush=True)


def time_child(tower_path: str, threads: int) -> None:
    """Milliseconds per 16-token query of one tower, alone in its process (one session: two
    sessions' spinning thread pools in one process would slow each other down)."""
    import statistics

    sys.modules["torch"] = None  # type: ignore[assignment]
    sys.path.insert(0, str(ROOT))
    from core.model.text_tower import TextTower

    tower = TextTower(Path(tower_path), force_cpu=True, threads=threads or None)
    query = sixteen_token_query(tower)
    tower.encode_texts([query])
    times = []
    for _ in range(30):
        t = time.perf_counter()
        tower.encode_texts([query])
        times.append(time.perf_counter() - t)
    result = {"tower": tower_path, "median_ms": round(1000 * statistics.median(times), 1)}
    result["min_ms"] = round(1000 * min(times), 1)
    print(json.dumps(result), flush=True)


def timed_turn_about(towers: dict[str, str], threads: int = 0, rounds: int = 3) -> None:
    """Each tower's queries timed in ``rounds`` processes, the towers taking turns (load on a
    shared machine comes and goes); the median of the rounds' medians, and the fastest query."""
    import statistics

    medians: dict[str, list[float]] = {k: [] for k in towers}
    mins: dict[str, list[float]] = {k: [] for k in towers}
    for _ in range(rounds):
        for label, path in towers.items():
            done = subprocess.run(
                [sys.executable, __file__, "--time-child", path, str(threads)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            result = json.loads(done.stdout.strip().splitlines()[-1])
            medians[label].append(result["median_ms"])
            mins[label].append(result["min_ms"])
    summary = {
        label: {
            "query_ms_median_of_rounds": round(statistics.median(medians[label]), 1),
            "query_ms_round_medians": medians[label],
            "query_ms_min": min(mins[label]),
        }
        for label in towers
    }
    what = f"16-token query, turn about, {threads or os.cpu_count()} thread(s)"
    print(json.dumps({what: summary}, indent=1), flush=True)


def _run_child(*args: str) -> dict[str, Any] | None:
    done = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    if done.returncode != 0:
        print(done.stderr[-3000:])
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result, indent=1, ensure_ascii=False), flush=True)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "mclip-install")
    ap.add_argument("--keep", action="store_true", help="keep the weights and installed towers")
    ap.add_argument(
        "--precision", choices=("fp32", "int8"), action="append",
        help="install only this precision (repeatable; default: both)",
    )  # fmt: skip
    ap.add_argument(
        "--no-ort", action="store_true", help="skip the former quantizer (ONNX Runtime's)"
    )
    ap.add_argument(
        "--child", nargs=3, metavar=("HUB", "MODELS", "PRECISION"), help=argparse.SUPPRESS
    )
    ap.add_argument("--ort-child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--compare-child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--time-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if args.ort_child:
        ort_child(*args.ort_child)
        return 0
    if args.compare_child:
        compare_child(args.compare_child[0], args.compare_child[1:])
        return 0
    if args.time_child:
        time_child(args.time_child[0], int(args.time_child[1]))
        return 0
    print(machine())
    hub_files = args.out / "hub"
    if not (hub_files / "pytorch_model.bin").exists():
        make_weights(hub_files)
    print(f"pytorch_model.bin: {(hub_files / 'pytorch_model.bin').stat().st_size:,} bytes")
    server, url = serve(hub_files)
    models = args.out / "models"
    shutil.rmtree(models, ignore_errors=True)
    paths: dict[str, str] = {}
    try:
        for precision in args.precision or ("fp32", "int8"):
            result = _run_child("--child", url, str(models), precision)
            if result is None:
                return 1
            paths[precision] = result["path"]
        if not args.no_ort and set(paths) == {"fp32", "int8"}:
            ort = str(models / "ort-quantize-dynamic-int8")
            if _run_child("--ort-child", paths["fp32"], ort) is None:
                return 1
            weights = str(hub_files / "pytorch_model.bin")
            if _run_child("--compare-child", weights, paths["int8"], ort) is None:
                return 1
            towers = {"int8 (text_quantize)": paths["int8"], "int8 (quantize_dynamic)": ort}
            timed_turn_about(towers)  # ONNX Runtime's default: every core
            timed_turn_about(towers, threads=1)
    finally:
        server.shutdown()
        if not args.keep:
            shutil.rmtree(models, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
