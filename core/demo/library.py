"""The demo library: fresh synthetic videos, indexed with the demo model, ready to search.

Each run draws a new seed, so the videos are ones the model has never seen, and uses the
(colour, shape) pairs the demo model was *not* trained on (its training split seed), so a search
that works is a sentence the model understood, not one it remembers.

Everything lives under the data folder's ``demo/`` (videos and a library of their own): the demo
never touches the user's real library or folders.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.demo.synthetic import generate
from core.ingest.job import Progress
from core.library import Library
from core.model.encoder import Encoder
from core.paths import data_dir
from core.query.ranking import SearchResult

#: The split seed the demo model was trained with (``clipseek-export synth --seed 1``).
DEMO_SPLIT_SEED = 1


@dataclass(frozen=True)
class Example:
    caption: str
    video: str
    rank: int | None  # rank of the video the caption describes; None if not in the results
    results: list[SearchResult]


def demo_root() -> Path:
    return data_dir() / "demo"


def make_demo_videos(
    root: Path, *, videos: int = 40, seed: int | None = None
) -> tuple[Path, list[tuple[str, str]]]:
    """Write fresh demo videos under ``root/videos`` (replacing ``root``).

    Returns the video folder and its (video path, caption) pairs.
    """
    seed = random.SystemRandom().randrange(1, 1_000_000) if seed is None else seed
    shutil.rmtree(root, ignore_errors=True)
    folder = root / "videos"
    generate(folder, videos, seed, split_seed=DEMO_SPLIT_SEED, test_only=True)
    return folder, demo_pairs(root)


def demo_pairs(root: Path | None = None) -> list[tuple[str, str]]:
    """The current demo videos' (video path, caption) pairs; none if there is no demo."""
    folder = (root or demo_root()) / "videos"
    try:
        data = json.loads((folder / "data.json").read_text(encoding="utf-8"))
        files = {v["video_id"]: str((folder / v["file"]).resolve()) for v in data["videos"]}
        return [(files[s["video_id"]], s["caption"]) for s in data["sentences"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def demo_captions(root: Path | None = None) -> list[str]:
    """The captions of the current demo videos."""
    return [caption for _video, caption in demo_pairs(root)]


def choose_example(library: Library, pairs: list[tuple[str, str]]) -> str | None:
    """The example search to suggest: the first caption that, searched in ``library``, finds
    its own video first (a caption chosen blindly could show another video above its own, as
    one describing a red square then a blue star can). None if no caption does."""
    for video, caption in pairs:
        results = library.search(caption, k=1, merge=True)
        if results and results[0].path == video:
            return caption
    return None


def build_demo(
    encoder: Encoder,
    *,
    videos: int = 40,
    seed: int | None = None,
    root: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[Library, list[tuple[str, str]]]:
    """Generate and index a fresh demo library; returns it and its (video path, caption) pairs.

    The previous demo library is replaced. The caller closes the library.
    """
    root = root or demo_root()
    folder, pairs = make_demo_videos(root, videos=videos, seed=seed)
    library = Library(encoder, root / "library")
    library.add_folder(folder)
    library.sync()
    library.index_job(on_progress=on_progress).run()
    return library, pairs


def examples(
    library: Library, pairs: list[tuple[str, str]], count: int = 5, k: int = 5, seed: int = 0
) -> list[Example]:
    """A few captions searched in the library, with where their own video came."""
    chosen = random.Random(seed).sample(pairs, min(count, len(pairs)))
    out = []
    for video, caption in chosen:
        results = library.search(caption, k=len(pairs), merge=True)
        paths = [r.path for r in results]
        rank = paths.index(video) + 1 if video in paths else None
        out.append(Example(caption, video, rank, results[:k]))
    return out
