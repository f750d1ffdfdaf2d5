"""Video–caption datasets for training and evaluation, read with the runtime's own sampling.

Three layouts:

* the synthetic benchmark and MSR-VTT: a folder with ``data.json`` / ``MSRVTT_data.json``
  (``videos`` with ``video_id`` and ``split``, ``sentences`` with ``video_id`` and ``caption``);
  MSR-VTT's ``validate`` split is read as ``val``;
* a plain CSV for users' own footage: ``video path, caption[, start, end]`` (a header row is
  allowed); every tenth video (by a hash of its path, so stable) is held out as ``val``.

Frames go through exactly the code the indexer uses — :func:`core.ingest.sample.sample_frames` and
:func:`core.model.preprocess.preprocess_batch` — and are thinned to ``max_frames`` the way
:meth:`core.model.encoder.Encoder.pool_frames` thins, so a model is trained on what it will be
shown.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.ingest.sample import SamplingError, sample_frames
from core.model.encoder import uniform_frame_indices
from core.model.preprocess import preprocess_batch
from export.errors import ExportError

SPLIT_NAMES = {"train": "train", "val": "val", "validate": "val", "test": "test"}


@dataclass(frozen=True)
class Clip:
    """One video (or a time range of one) and its captions."""

    key: str
    video: Path
    captions: tuple[str, ...]
    split: str
    kind: str = "simple"
    start: float | None = None
    end: float | None = None
    #: Clips that differ only in a hard way (a video and its reversed twin) share a group; the
    #: trainer keeps a group in one batch so the loss must tell them apart.
    group: str | None = None


def _video_file(root: Path, entry: dict[str, Any]) -> Path:
    if "file" in entry:
        named: Path = root / entry["file"]
        return named
    vid = str(entry["video_id"])
    for candidate in (root / "videos" / f"{vid}.mp4", root / f"{vid}.mp4"):
        if candidate.exists():
            return candidate
    return root / "videos" / f"{vid}.mp4"


def _load_json(root: Path, data_file: Path) -> list[Clip]:
    try:
        data = json.loads(data_file.read_text(encoding="utf-8"))
        videos, sentences = data["videos"], data["sentences"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExportError(f"{data_file}: not an MSR-VTT-style dataset ({exc})") from None
    captions: dict[str, list[str]] = {}
    for s in sentences:
        captions.setdefault(str(s["video_id"]), []).append(str(s["caption"]))
    clips = []
    for v in videos:
        vid = str(v["video_id"])
        split = SPLIT_NAMES.get(str(v.get("split", "train")))
        if split is None or vid not in captions:
            continue
        group = v.get("group")
        clips.append(
            Clip(
                vid,
                _video_file(root, v),
                tuple(captions[vid]),
                split,
                str(v.get("kind", "simple")),
                group=None if group is None else f"{split}:{group}",
            )
        )
    return clips


def _load_csv(path: Path) -> list[Clip]:
    clips: list[Clip] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.reader(fh)):
            if not row or (n == 0 and row[0].strip().lower() in ("video", "path", "video_path")):
                continue
            if len(row) < 2:
                raise ExportError(f"{path}:{n + 1}: expected 'video path, caption[, start, end]'")
            video = Path(row[0].strip()).expanduser()
            if not video.is_absolute():
                video = path.parent / video
            try:
                start = float(row[2]) if len(row) > 2 and row[2].strip() else None
                end = float(row[3]) if len(row) > 3 and row[3].strip() else None
            except ValueError:
                raise ExportError(f"{path}:{n + 1}: start and end must be seconds") from None
            bucket = hashlib.blake2b(str(video).encode(), digest_size=2).digest()[0] % 10
            split = "val" if bucket == 0 else "train"
            clips.append(Clip(f"{n}", video, (row[1].strip(),), split, "simple", start, end))
    return clips


def load_dataset(path: str | Path) -> list[Clip]:
    """Every clip of a dataset folder (synthetic or MSR-VTT layout) or CSV file."""
    path = Path(path).expanduser()
    if path.is_file() and path.suffix.lower() == ".csv":
        clips = _load_csv(path)
    elif path.is_dir():
        for name in ("data.json", "MSRVTT_data.json"):
            if (path / name).is_file():
                clips = _load_json(path, path / name)
                break
        else:
            raise ExportError(f"{path}: no data.json or MSRVTT_data.json in this folder")
    else:
        raise ExportError(f"dataset not found: {path} (a folder with data.json, or a .csv)")
    if not clips:
        raise ExportError(f"{path}: the dataset has no clips")
    return clips


def split(clips: Sequence[Clip], name: str) -> list[Clip]:
    chosen = [c for c in clips if c.split == name]
    if not chosen:
        raise ExportError(f"the dataset has no {name!r} clips")
    return chosen


def clip_frames(
    clip: Clip,
    *,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    rate: float = 1.0,
    max_frames: int = 12,
) -> np.ndarray:
    """Preprocessed frames [T, 3, S, S] (T <= max_frames) of a clip, as the indexer sees them."""
    try:
        frames = [
            f.rgb
            for f in sample_frames(clip.video, rate)
            if (clip.start is None or f.t >= clip.start) and (clip.end is None or f.t < clip.end)
        ]
    except SamplingError as exc:
        raise ExportError(f"clip {clip.key}: {exc}") from None
    if not frames:
        raise ExportError(f"clip {clip.key}: no frames in its time range")
    keep = uniform_frame_indices(len(frames), max_frames)
    return preprocess_batch([frames[i] for i in keep], image_size, mean=mean, std=std)
