"""What the benchmarks share: test videos and folders, models, timing, the machine line.

Not a benchmark: it answers no question and prints nothing of its own. The scripts beside it
import it as a sibling module (``from fixtures import ...``), which works because Python puts a
script's own folder first on ``sys.path``; so every benchmark runs as a script with the venv's
Python (where ``core`` and ``export`` are installed), from any folder, e.g.
``python benchmarks/indexing.py``. (``benchmarks`` is not a package: ``python -m
benchmarks.indexing`` is not a way to run them.)

* the machine: :func:`machine` (the line every report starts with);
* models: :func:`ensure_bundle` (a random-init bundle, converted once and cached),
  :func:`encoder_header`, :func:`provider_line`, :func:`bundle_fields`;
* timing: :func:`run_times` (wall time of each call, after a warm-up) and :func:`best_time`
  (the fastest of ``repeat`` runs: interference on a shared machine only ever slows a run down);
* footage: :class:`VideoKind` and :func:`write_video` (H.264 at any size and keyframe interval,
  of a :class:`MovingScene`), :func:`ensure_video` / :func:`ensure_folder` (cached under
  ``--out``), :func:`keyframe_interval`; :func:`scene_videos` (demo-style videos of several
  scenes each, for the demo model);
* indexing: :func:`index_folder` (a fresh library indexing a folder through the real pipeline).

No ``core`` module is imported at import time, only inside the functions that need one:
``soak.py`` and ``search_latency.py`` point ``CLIPSEEK_HOME`` at a scratch folder (and soak
forces the CPU) before the engine first loads.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import cv2
import numpy as np

if TYPE_CHECKING:
    from core.demo.synthetic import VideoSpec
    from core.ingest.job import IndexReport
    from core.library import Library
    from core.model.bundle import Manifest
    from core.model.encoder import Encoder

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Frame rate of the generated H.264 test videos.
FPS = 30

T = TypeVar("T")


# --------------------------------------------------------------------------- machine


def machine() -> str:
    """``OS arch, CPU model, N logical CPUs``: the first line of a report."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} logical CPUs"


# --------------------------------------------------------------------------- timing


def run_times(
    fn: Callable[[], object], runs: int, *, seconds: float = 0.0, warm_up: bool = True
) -> list[float]:
    """Wall seconds of each timed call of ``fn``: at least ``runs`` calls, and more until
    ``seconds`` have passed; after one untimed call first when ``warm_up`` (allocations,
    ONNX Runtime's first run of a shape, CUDA kernels)."""
    if warm_up:
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < runs or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def best_time(fn: Callable[[], T], repeat: int) -> tuple[T, float]:
    """(what ``fn`` returns, its fastest wall time over ``repeat`` runs); no warm-up."""
    result: list[T] = []

    def call() -> None:
        result[:] = [fn()]

    times = run_times(call, repeat, warm_up=False)
    return result[0], min(times)


# --------------------------------------------------------------------------- models


def ensure_bundle(arch: str, out: Path, *, int8: bool = False) -> Path:
    """A random-init meanP bundle of ``arch`` under ``out/bundles``, converted once and reused
    (``int8``: with its image tower quantized, as ``clipseek-export convert --int8`` makes it).

    Conversion runs in a child process so that PyTorch (and its thread pools) never loads into
    the process being measured.
    """
    from core.model.bundle import MANIFEST_NAME

    bundle = out / "bundles" / f"{arch}-meanP-random{'-int8' if int8 else ''}"
    if (bundle / MANIFEST_NAME).is_file():
        return bundle
    print(f"converting a random-init {arch} bundle to {bundle} (once) ...", flush=True)
    started = time.perf_counter()
    command = [sys.executable, "-m", "export.cli", "convert", "--random-init", "--arch", arch]
    command += ["--int8"] if int8 else []
    subprocess.run([*command, "--out", str(bundle)], cwd=REPO_ROOT, check=True)
    print(f"  converted in {time.perf_counter() - started:.0f} s", flush=True)
    return bundle


def provider_line(encoder: Encoder) -> str:
    """The provider as the status bar says it, and what the image session really runs on."""
    return f"{encoder.describe_provider()}  active={encoder.active_providers['image']}"


def encoder_header(encoder: Encoder) -> list[str]:
    """The machine, bundle and provider lines a model benchmark starts with."""
    m = encoder.manifest
    return [
        f"machine   {machine()}",
        f"bundle    {m.name} ({m.arch}, {m.head}, {m.precision}) at {encoder.root}",
        f"provider  {provider_line(encoder)}",
    ]


def bundle_fields(manifest: Manifest) -> dict[str, Any]:
    """The bundle, as a JSON report records it."""
    m = manifest
    return {"name": m.name, "arch": m.arch, "head": m.head, "precision": m.precision}


# --------------------------------------------------------------------------- H.264 test videos


@dataclass(frozen=True)
class VideoKind:
    width: int
    height: int
    gop: int
    #: "libx264" or "libx265"; ``bitrate`` in bit/s (None: the encoder's constant quality).
    codec: str = "libx264"
    bitrate: int | None = None

    @property
    def name(self) -> str:
        codec = "" if self.codec == "libx264" else " hevc"
        return f"{self.height}p g={self.gop}{codec}"

    @property
    def slug(self) -> str:
        codec = "" if self.codec == "libx264" else "-hevc"
        rate = "" if self.bitrate is None else f"-{self.bitrate // 100_000}hk"
        return f"{self.height}p-g{self.gop}{codec}{rate}"


def phone_bitrate(width: int, height: int) -> int:
    """What phones record: about 12 Mbit/s at 1080p30, the same bits per pixel elsewhere."""
    return round(12e6 * (width * height) / (1920 * 1080))


class MovingScene:
    """Frames that move like footage: a textured background panning, shapes crossing, grain.

    Every pixel changes every frame, so the encoder makes real P-frames (motion vectors plus
    residual), not the near-empty ones a static test card would give.
    """

    def __init__(self, width: int, height: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.width, self.height = width, height
        coarse = rng.integers(0, 256, (height // 24 + 2, width // 24 + 2, 3), dtype=np.uint8)
        self.texture = cv2.resize(coarse, (2 * width, 2 * height), interpolation=cv2.INTER_CUBIC)
        self.grain = [rng.integers(0, 10, (height, width, 3), dtype=np.uint8) for _ in range(7)]
        count = 12
        self.pos = rng.uniform(0, 1, (count, 2)) * (width, height)
        self.vel = rng.uniform(-1, 1, (count, 2)) * height / 60
        self.radius = rng.integers(height // 20, height // 6, count)
        self.colour = rng.integers(0, 256, (count, 3))

    def frame(self, i: int) -> np.ndarray:
        """RGB frame ``i``: the background pans on a slow ellipse, shapes bounce off the edges."""
        w, h = self.width, self.height
        x = int((w / 2) * (1 + np.sin(2 * np.pi * i / (FPS * 11))))
        y = int((h / 2) * (1 + np.cos(2 * np.pi * i / (FPS * 7))))
        img = self.texture[y : y + h, x : x + w].copy()
        self.pos += self.vel
        for axis, limit in ((0, w), (1, h)):
            out = (self.pos[:, axis] < 0) | (self.pos[:, axis] > limit)
            self.vel[out, axis] *= -1
        for (cx, cy), r, c in zip(self.pos, self.radius, self.colour, strict=True):
            cv2.circle(img, (int(cx), int(cy)), int(r), tuple(int(v) for v in c), -1)
        return cv2.add(img, self.grain[i % len(self.grain)])


def write_video(path: Path, kind: VideoKind, seconds: int, seed: int | None = None) -> None:
    """H.264 (libx264 veryfast, B-frames) or HEVC (libx265 ultrafast) at 30 fps, yuv420p, a
    keyframe every ``kind.gop`` frames, at ``kind.bitrate`` when one is set."""
    import av  # only needed to generate videos; `pip install av` (its wheel has libx264)

    tmp = path.with_name(path.name + ".partial.mp4")
    scene = MovingScene(kind.width, kind.height, seed=kind.height if seed is None else seed)
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream(kind.codec, rate=FPS)
        stream.width, stream.height = kind.width, kind.height
        stream.pix_fmt = "yuv420p"
        if kind.bitrate is not None:
            stream.bit_rate = kind.bitrate
        if kind.codec == "libx265":
            stream.options = {
                "preset": "ultrafast",
                "x265-params": f"keyint={kind.gop}:min-keyint={kind.gop}:scenecut=0:log-level=none",
            }
        else:
            stream.options = {"g": str(kind.gop), "preset": "veryfast"}
        for i in range(seconds * FPS):
            frame = av.VideoFrame.from_ndarray(scene.frame(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    tmp.replace(path)


def keyframe_interval(path: Path) -> float:
    """Mean frames between keyframes, read from the file (x264 may add scene-cut keyframes)."""
    import av

    with av.open(str(path)) as container:
        flags = [p.is_keyframe for p in container.demux(video=0) if p.size]
    return len(flags) / max(1, sum(flags))


def ensure_video(out: Path, kind: VideoKind, seconds: int) -> Path:
    """The video of ``kind`` alone in its own folder (a library watches folders), cached."""
    path = out / "videos" / f"{kind.slug}-{seconds}s" / "clip.mp4"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"  writing {path.relative_to(out)} ...", end=" ", flush=True)
        started = time.perf_counter()
        write_video(path, kind, seconds)
        print(f"{time.perf_counter() - started:.0f} s", flush=True)
    return path


def ensure_folder(out: Path, kind: VideoKind, seconds: int, count: int) -> Path:
    """A folder of ``count`` distinct videos of ``kind`` (different scenes, so no two share a
    fingerprint and none is skipped as a copy), cached."""
    folder = out / "videos" / f"{kind.slug}-{seconds}s-x{count}"
    missing = [i for i in range(count) if not (folder / f"clip{i:02d}.mp4").is_file()]
    if missing:
        folder.mkdir(parents=True, exist_ok=True)
        where = folder.relative_to(out)
        print(f"  writing {len(missing)} videos to {where} ...", end=" ", flush=True)
        started = time.perf_counter()
        for i in missing:
            write_video(folder / f"clip{i:02d}.mp4", kind, seconds, seed=1000 + i)
        print(f"{time.perf_counter() - started:.0f} s", flush=True)
    return folder


# --------------------------------------------------------------------------- demo-style videos


def scene_videos(
    folder: Path,
    count: int,
    plan_seed: int,
    *,
    name: str = "outing_{k}",
    size: int,
    fps: int,
    seconds: int,
    seed: int | None = None,
) -> list[VideoSpec]:
    """``count`` synthetic test videos of four scenes each (moments for tiles and the timeline),
    rendered into ``folder`` as ``name.format(k=k) + ".mp4"``; returns their specs.

    The scenes are those of ``4 * count`` one-scene held-out videos planned with ``plan_seed``
    (the demo's split, so the demo model knows their captions); video ``k`` is rendered with
    ``seed`` (default ``k``).
    """
    from core.demo.library import DEMO_SPLIT_SEED
    from core.demo.synthetic import VideoSpec, plan, render

    planned = plan(
        4 * count, plan_seed, split_seed=DEMO_SPLIT_SEED, test_only=True, temporal_fraction=0
    )
    scenes = [s.scenes[0] for s in planned]
    folder.mkdir(parents=True, exist_ok=True)
    specs = []
    for k in range(count):
        video = name.format(k=k)
        spec = VideoSpec(video, "test", tuple(scenes[4 * k : 4 * k + 4]))
        render(
            spec,
            folder / f"{video}.mp4",
            size=size,
            fps=fps,
            seconds=seconds,
            seed=k if seed is None else seed,
        )
        specs.append(spec)
    return specs


# --------------------------------------------------------------------------- indexing


def index_folder(
    encoder: Encoder, folder: Path, root: Path, workers: int = 1
) -> tuple[Library, IndexReport, float]:
    """A fresh library at ``root`` indexing ``folder`` through the real pipeline
    (``Library.index_job().run()``): (the library, still open; the job's report; seconds of
    ``job.run()`` alone). The caller closes the library and decides what a failure means."""
    from core.library import Library

    library = Library(encoder, root)
    try:
        library.add_folder(folder)
        library.sync()
        job = library.index_job(workers=workers)
        started = time.perf_counter()
        report = job.run()
        seconds = time.perf_counter() - started
    except BaseException:
        library.close()
        raise
    return library, report, seconds
