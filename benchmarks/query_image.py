"""What reading a query picture costs: the old ``cv2.imread`` path against ``read_query_image``.

    python benchmarks/query_image.py [--keep DIR]

For PNG and JPEG at several sizes, each way of reading runs in a fresh subprocess, so its peak
resident memory (``ru_maxrss``) is its own: the table gives that peak, the part of it above the
process's baseline after imports, and the wall time of the read alone.

* old: ``cv2.imread(str(path))`` then ``cvtColor(BGR2RGB)``, as ``Library._read_image`` did —
  full size, whatever the model needs; run only where its estimated peak (9 bytes a pixel:
  OpenCV's buffer, its copy into numpy, the RGB copy) stays under 5 GB, and said so otherwise;
* new: :func:`core.query.images.read_query_image` — header checked first, decoded reduced to a short
  side of at least 448 px, refused above ``MAX_QUERY_PIXELS``.

Pictures are smooth colour fields (a random 48×48 picture enlarged), which PNG and JPEG compress
as they do photographs; the oversized PNGs are black and written by hand, the way a 1.2 MB file
can claim 20000×20000 pixels. About 2–3 minutes on 2 cores; temporary files take ~0.3 GB.
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import cv2
import numpy as np
from fixtures import machine

from core.query.images import MAX_QUERY_PIXELS

OLD_PATH_BUDGET = 5 * 10**9  # bytes: above this estimate the old path is not run
OLD_BYTES_PER_PIXEL = 9

# Run in the child (the same Python, so it finds the installed ``core`` as the parent does):
# the read alone is timed. Peak memory is VmHWM where there is /proc: ru_maxrss survives exec
# on Linux, so a child would report its parent's peak.
_CHILD = r"""
import json, resource, sys, time
import cv2, numpy as np
from core.query.images import read_query_image
from core.model.encoder import QueryError

def rss():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024

mode, path = sys.argv[1], sys.argv[2]
base = rss()
t = time.perf_counter()
shape, refused = None, None
if mode == "old":
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    shape = list(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).shape)
else:
    try:
        shape = list(read_query_image(path).shape)
    except QueryError as error:
        refused = str(error)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "peak": rss(), "base": base, "shape": shape,
                  "refused": refused}))
"""


def smooth(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A BGR picture of smooth colour: compresses like a photograph, costs nothing to make."""
    small = np.random.default_rng(seed).integers(0, 255, (48, 48, 3), np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def black_png(width: int, height: int, colour: int = 2, depth: int = 8) -> bytes:
    """A valid, fully decodable black PNG of any size in a few megabytes: one deflate block of
    zero rows, flushed to a byte boundary, repeated; n zero bytes have Adler-32 (n % 65521)<<16 | 1.
    """
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = 1 + width * channels * depth // 8  # filter byte + samples
    per_block = 64
    whole, rest = divmod(height, per_block)
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    repeated = block.compress(bytes(row * per_block)) + block.flush(zlib.Z_FULL_FLUSH)
    last = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = last.compress(bytes(row * rest)) + last.flush(zlib.Z_FINISH)
    adler = ((row * height % 65521) << 16) | 1
    idat = b"\x78\xda" + repeated * whole + tail + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def make_cases(folder: Path) -> list[tuple[str, Path, int, int]]:
    """(label, file, width, height) for every picture measured, written into ``folder``."""
    cases: list[tuple[str, Path, int, int]] = []
    for width, height in ((4000, 4000), (8000, 8000), (12000, 12000), (16320, 12240)):
        img = smooth(width, height, seed=width)
        for ext, params, label in (
            (".jpg", [], "JPEG"),
            (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1], "JPEG progressive"),
            (".png", [], "PNG"),
        ):
            if "progressive" in label and width != 16320:
                continue
            path = folder / f"{label.replace(' ', '-')}-{width}x{height}{ext}"
            ok, buf = cv2.imencode(ext, img, params)
            assert ok
            buf.tofile(path)
            cases.append((label, path, width, height))
        del img
    for width, colour, depth, label in (
        (20000, 2, 8, "PNG black"),
        (20000, 6, 16, "PNG black RGBA16"),
        (40000, 2, 8, "PNG black"),
    ):
        path = folder / f"{label.replace(' ', '-')}-{width}x{width}.png"
        path.write_bytes(black_png(width, width, colour, depth))
        cases.append((label, path, width, width))
    return cases


def measure(mode: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cell(result: dict | None) -> str:
    if result is None:
        return f"{'skipped (> 5 GB)':>30}"
    peak, extra = result["peak"] / 2**20, (result["peak"] - result["base"]) / 2**20
    return f"{peak:7.0f} MB (+{extra:5.0f}) {result['seconds']:6.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="write the pictures here and keep them")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"OpenCV {cv2.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}")
    print(f"MAX_QUERY_PIXELS = {MAX_QUERY_PIXELS / 1e6:.0f} MP; peak RSS (+ above baseline), time")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cases = make_cases(folder)  # its big arrays are freed before any child starts
        print(
            f"\n{'picture':<18}{'size':>12}{'MP':>5}{'file':>9}  "
            f"{'old: cv2.imread':>30}  {'new: read_query_image':>30}  result"
        )
        for label, path, width, height in cases:
            pixels = width * height
            old = None
            if pixels * OLD_BYTES_PER_PIXEL <= OLD_PATH_BUDGET:
                old = measure("old", path)
            new = measure("new", path)
            outcome = (
                "refused: " + new["refused"].split(": ", 1)[1][:40] + "…"
                if new["refused"]
                else "x".join(map(str, new["shape"][1::-1]))
            )
            size_mb = path.stat().st_size / 1e6
            print(
                f"{label:<18}{width:>6}x{height:<5}{pixels / 1e6:>5.0f}{size_mb:>7.1f}MB  "
                f"{_cell(old)}  {_cell(new)}  {outcome}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
