"""How long a typed query takes to answer, in the library and as the window gets it.

    python benchmarks/search_latency.py [--videos 120] [--queries 60]

Builds a fresh demo library (the demo model, synthetic demo videos plus a few long ones of
several scenes) in a scratch folder and times, per query:

* ``library``: ``Library.search(text, 200)`` — the text tower, 800 nearest segments from
  hnswlib, SQLite rows, copies folded, overlaps merged, relevance against the library's sample,
  thumbnails looked up (what ``clipseek search`` does, with the app's k);
* ``window``: the engine's whole answer as the window receives it: the search plus decoding the
  first page's thumbnails into ``QImage``s (the engine's search thread does this, off the UI
  thread).

Prints p50 / p90 / max in milliseconds and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fixtures import scene_videos


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=120, help="demo videos (120)")
    parser.add_argument("--queries", type=int, default=60, help="queries timed (60)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="clipseek-latency-"))
    os.environ["CLIPSEEK_HOME"] = str(scratch / "home")
    try:
        from PySide6.QtGui import QGuiApplication

        from core.demo.library import build_demo
        from core.model.encoder import Encoder
        from core.model.registry import DEMO_MODEL
        from desktop_app.engine import SHOWN_THUMBNAILS, _decode_thumbnails

        app = QGuiApplication(sys.argv[:1])  # QImage's JPEG reader wants an application
        encoder = Encoder(DEMO_MODEL, force_cpu=True)
        lib, pairs = build_demo(encoder, videos=args.videos, seed=11)
        extra = scratch / "long"
        scene_videos(extra, 6, 3, size=128, fps=8, seconds=48)  # six of 4 scenes each
        lib.add_folder(extra)
        lib.sync()
        lib.index_job().run()
        captions = [c for _v, c in pairs][: args.queries]
        lib.search(captions[0], 200)  # the first query fills the library's sample
        library_ms, window_ms, counts = [], [], []
        for caption in captions:
            started = time.perf_counter()
            results = lib.search(caption, 200)
            library_ms.append((time.perf_counter() - started) * 1000)
            _decode_thumbnails([r.thumbnail for r in results[:SHOWN_THUMBNAILS] if r.thumbnail])
            window_ms.append((time.perf_counter() - started) * 1000)
            counts.append(len(results))
        summary = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
            "segments": lib.catalog.segment_count(),
            "videos": args.videos + 6,
            "results_per_query": round(statistics.mean(counts), 1),
            "library_ms": {
                "p50": round(percentile(library_ms, 0.5), 1),
                "p90": round(percentile(library_ms, 0.9), 1),
                "max": round(max(library_ms), 1),
            },
            "window_ms": {
                "p50": round(percentile(window_ms, 0.5), 1),
                "p90": round(percentile(window_ms, 0.9), 1),
                "max": round(max(window_ms), 1),
            },
        }
        lib.close()
        del app
        print(json.dumps(summary, indent=2))
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
