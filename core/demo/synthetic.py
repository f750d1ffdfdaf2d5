"""A synthetic video–caption benchmark with exact captions, for training and for proof.

No real video–caption data can be downloaded here, so we make some whose captions are true by
construction: coloured shapes on plain backgrounds, drawn with OpenCV, described by a small
grammar —

* **appearance**: count (one to three), size (small, large), colour, shape, background;
* **motion**: moving left / right / up / down, growing, shrinking;
* **temporal order**: "a red circle, then a blue square" — two scenes one after the other.

Generalisation is measured the way CLIP4Clip's compositional follow-ups do: a quarter of the
(colour, shape) pairs never appear in a training video, and every validation and test video
shows at least one of them, so a model must compose attributes rather than memorise pairs.
Each temporal test video comes with its time-reversed twin ("a blue square, then a red circle"):
both have the same set of frames, so an order-blind head (meanP) cannot tell them apart.

It lives in core/ (it needs no torch) because the app uses it too: ``clipseek demo`` makes a demo
library from it. Layout, MSR-VTT-like (``data.json``)::

    {"info": {...}, "videos": [{"video_id", "file", "split", "kind", "seconds"}],
     "sentences": [{"sen_id", "video_id", "caption"}]}

with the videos under ``videos/``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

FORMAT = "clipseek-synth"
FORMAT_VERSION = 1

COLOURS: dict[str, tuple[int, int, int]] = {  # RGB
    "red": (220, 30, 30),
    "green": (30, 180, 40),
    "blue": (40, 70, 230),
    "yellow": (240, 220, 30),
    "purple": (140, 40, 180),
    "orange": (250, 130, 20),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")
SIZES: dict[str, float] = {"small": 0.13, "large": 0.24}  # radius as a fraction of the frame
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (10, 10, 10),
    "grey": (128, 128, 128),
    "white": (245, 245, 245),
}
MOTIONS: tuple[str, ...] = (
    "moving left",
    "moving right",
    "moving up",
    "moving down",
    "growing",
    "shrinking",
)
COUNT_WORDS = {2: "two", 3: "three"}


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


PLURALS = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars"}

DEFAULT_SIZE = 96
DEFAULT_FPS = 8
DEFAULT_SECONDS = 6


@dataclass(frozen=True)
class ObjectSpec:
    colour: str
    shape: str
    size: str


@dataclass(frozen=True)
class Scene:
    """What one video (or one half of a temporal video) shows."""

    obj: ObjectSpec
    count: int
    motion: str
    background: str

    def caption(self) -> str:
        o = self.obj
        noun = o.shape if self.count == 1 else PLURALS[o.shape]
        count = article(o.size) if self.count == 1 else COUNT_WORDS[self.count]
        return f"{count} {o.size} {o.colour} {noun} {self.motion} on a {self.background} background"


@dataclass(frozen=True)
class VideoSpec:
    video_id: str
    split: str
    scenes: tuple[Scene, ...]  # one scene, or two for "then"
    group: str = ""  # a temporal video and its reversed twin share one

    @property
    def kind(self) -> str:
        return "temporal" if len(self.scenes) == 2 else "simple"

    def caption(self) -> str:
        if self.kind == "simple":
            return self.scenes[0].caption()
        a, b = (s.obj for s in self.scenes)
        first = f"{article(a.colour)} {a.colour} {a.shape}"
        second = f"{article(b.colour)} {b.colour} {b.shape}"
        return f"{first}, then {second} on a {self.scenes[0].background} background"

    def pairs(self) -> set[tuple[str, str]]:
        return {(s.obj.colour, s.obj.shape) for s in self.scenes}


def held_out_pairs(seed: int, fraction: float = 0.25) -> set[tuple[str, str]]:
    """The (colour, shape) pairs kept out of training: every colour and shape still appears."""
    rng = random.Random(f"held-out:{seed}")
    colours = list(COLOURS)
    shapes = list(SHAPES)
    count = max(1, round(fraction * len(colours) * len(shapes)))
    held: set[tuple[str, str]] = set()
    # A Latin-square-like choice so no colour or shape is held out with all its partners.
    offset = rng.randrange(len(shapes))
    for i, colour in enumerate(colours):
        held.add((colour, shapes[(i + offset) % len(shapes)]))
    pool = [(c, s) for c in colours for s in shapes if (c, s) not in held]
    rng.shuffle(pool)
    while len(held) < count and pool:
        held.add(pool.pop())
    return held


def _random_object(rng: random.Random, pairs: Sequence[tuple[str, str]]) -> ObjectSpec:
    colour, shape = rng.choice(list(pairs))
    return ObjectSpec(colour, shape, rng.choice(list(SIZES)))


def _random_scene(rng: random.Random, pairs: Sequence[tuple[str, str]], bg: str) -> Scene:
    return Scene(_random_object(rng, pairs), rng.choice([1, 1, 2, 3]), rng.choice(MOTIONS), bg)


def plan(
    videos: int,
    seed: int,
    *,
    temporal_fraction: float = 0.3,
    eval_fraction: float = 0.2,
    split_seed: int | None = None,
    test_only: bool = False,
) -> list[VideoSpec]:
    """Specs for ``videos`` videos: train, then val and test (each ``eval_fraction``).

    ``test_only`` makes every video a test video (fresh test sets, the demo library).

    ``split_seed`` (default: ``seed``) chooses the held-out pairs: fresh test videos for a
    trained model come from a new ``seed`` with the training set's ``split_seed``.
    """
    if videos < 10:
        raise ValueError("make at least 10 videos (train, val and test all need some)")
    rng = random.Random(f"plan:{seed}")
    held = held_out_pairs(seed if split_seed is None else split_seed)
    seen = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in held]
    unseen = sorted(held)
    n_eval = max(2, round(videos * eval_fraction))
    splits = ["val"] * n_eval + ["test"] * n_eval
    splits = ["train"] * (videos - len(splits)) + splits
    if test_only:
        splits = ["test"] * videos
    specs: list[VideoSpec] = []
    i = 0
    while len(specs) < videos:
        split = splits[len(specs)]
        bg = rng.choice(list(BACKGROUNDS))
        temporal = rng.random() < temporal_fraction
        # training shows seen pairs only; evaluation always shows a pair never seen in training
        first_pool = seen if split == "train" else unseen
        second_pool = seen if split == "train" else seen + unseen
        if temporal and len(specs) + 2 <= videos and splits[len(specs) + 1] == split:
            # a video and its reversed twin: "A, then B" next to "B, then A" is what forces a
            # model to read order (the trainer keeps twins in one batch)
            a = _random_object(rng, first_pool)
            b = _random_object(rng, second_pool)
            while (b.colour, b.shape) == (a.colour, a.shape):
                b = _random_object(rng, second_pool)
            forward = (Scene(a, 1, "moving right", bg), Scene(b, 1, "moving right", bg))
            pair = f"video{i:05d}"
            specs.append(VideoSpec(pair, split, forward, pair))
            specs.append(VideoSpec(f"video{i + 1:05d}", split, forward[::-1], pair))
            i += 2
        else:
            specs.append(VideoSpec(f"video{i:05d}", split, (_random_scene(rng, first_pool, bg),)))
            i += 1
    return specs


# --------------------------------------------------------------------------- drawing


def _star(cx: float, cy: float, r: float) -> np.ndarray:
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return np.array(points, np.int32)


def draw_shape(
    img: np.ndarray, shape: str, cx: float, cy: float, r: float, rgb: Sequence[int]
) -> None:
    colour = tuple(int(v) for v in rgb[::-1])  # OpenCV draws BGR
    if shape == "circle":
        cv2.circle(img, (round(cx), round(cy)), max(1, round(r)), colour, -1, cv2.LINE_AA)
    elif shape == "square":
        half = r * 0.85
        p0 = (round(cx - half), round(cy - half))
        p1 = (round(cx + half), round(cy + half))
        cv2.rectangle(img, p0, p1, colour, -1, cv2.LINE_AA)
    elif shape == "triangle":
        pts = np.array(
            [(cx, cy - r), (cx - r * 0.95, cy + r * 0.75), (cx + r * 0.95, cy + r * 0.75)],
            np.int32,
        )
        cv2.fillPoly(img, [pts], colour, cv2.LINE_AA)
    elif shape == "star":
        cv2.fillPoly(img, [_star(cx, cy, r * 1.15)], colour, cv2.LINE_AA)
    else:  # pragma: no cover - the grammar has no other shapes
        raise ValueError(shape)


def _scene_frames(
    scene: Scene, frames: int, size: int, rng: random.Random | None
) -> list[np.ndarray]:
    """A scene's frames; ``rng`` jitters where objects start (None: fixed places)."""
    base = float(SIZES[scene.obj.size] * size)
    # Starting places spread out so that several objects stay apart.
    slots = [(0.3, 0.3), (0.7, 0.65), (0.35, 0.75)][: scene.count]
    if rng is None:
        starts = list(slots)
    else:
        starts = [(x + rng.uniform(-0.05, 0.05), y + rng.uniform(-0.05, 0.05)) for x, y in slots]
    travel = 0.35
    out = []
    for f in range(frames):
        p = f / max(1, frames - 1)  # 0 -> 1 over the scene
        img = np.empty((size, size, 3), np.uint8)
        img[:] = BACKGROUNDS[scene.background][::-1]
        for sx, sy in starts:
            dx = dy = 0.0
            r = base
            if scene.motion == "moving left":
                dx = travel * (0.5 - p)
            elif scene.motion == "moving right":
                dx = travel * (p - 0.5)
            elif scene.motion == "moving up":
                dy = travel * (0.5 - p)
            elif scene.motion == "moving down":
                dy = travel * (p - 0.5)
            elif scene.motion == "growing":
                r = base * (0.5 + p)
            elif scene.motion == "shrinking":
                r = base * (1.5 - p)
            cx = min(max(sx + dx, 0.15), 0.85) * size
            cy = min(max(sy + dy, 0.15), 0.85) * size
            draw_shape(img, scene.obj.shape, cx, cy, r, COLOURS[scene.obj.colour])
        out.append(img)
    return out


def render(spec: VideoSpec, path: Path, *, size: int, fps: int, seconds: int, seed: int) -> None:
    """Write one video (MPEG-4 Part 2 in MP4: OpenCV's wheels cannot write H.264)."""
    rng = random.Random(f"render:{seed}:{spec.video_id}")
    total = fps * seconds
    per_scene = [total // len(spec.scenes)] * len(spec.scenes)
    per_scene[-1] += total - sum(per_scene)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (size, size))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {path}")
    try:
        # Temporal videos are drawn without jitter, so a video and its reversed twin show the
        # very same frames in the opposite order.
        jitter = rng if spec.kind == "simple" else None
        for scene, count in zip(spec.scenes, per_scene, strict=True):
            for frame in _scene_frames(scene, count, size, jitter):
                writer.write(frame)
    finally:
        writer.release()


def generate(
    out: str | Path,
    videos: int,
    seed: int,
    *,
    size: int = DEFAULT_SIZE,
    fps: int = DEFAULT_FPS,
    seconds: int = DEFAULT_SECONDS,
    temporal_fraction: float = 0.3,
    split_seed: int | None = None,
    test_only: bool = False,
) -> Path:
    """Write the benchmark to ``out`` and return the path of its ``data.json``."""
    out = Path(out)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    split_seed = seed if split_seed is None else split_seed
    specs = plan(
        videos,
        seed,
        temporal_fraction=temporal_fraction,
        split_seed=split_seed,
        test_only=test_only,
    )
    entries: list[dict[str, Any]] = []
    sentences: list[dict[str, Any]] = []
    for spec in specs:
        file = f"videos/{spec.video_id}.mp4"
        render(spec, out / file, size=size, fps=fps, seconds=seconds, seed=seed)
        entries.append(
            {
                "video_id": spec.video_id,
                "file": file,
                "split": spec.split,
                "kind": spec.kind,
                "seconds": seconds,
                # a temporal video and its reversed twin share a group (hard negatives)
                "group": spec.group or spec.video_id,
            }
        )
        sentences.append(
            {"sen_id": len(sentences), "video_id": spec.video_id, "caption": spec.caption()}
        )
    data = {
        "info": {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "seed": seed,
            "split_seed": split_seed,
            "size": size,
            "fps": fps,
            "held_out_pairs": sorted(list(p) for p in held_out_pairs(split_seed)),
        },
        "videos": entries,
        "sentences": sentences,
    }
    target = out / "data.json"
    target.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return target
