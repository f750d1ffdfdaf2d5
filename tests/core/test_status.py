"""The library's typed status keeps the documented ``status --json`` shape, and the indexing
pipeline needs only a sink, not a whole library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.ingest.job import IndexJob
from core.ingest.segments import LibrarySettings, SegmentRule
from core.library import Library
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL
from tests.videos import write_video

#: The keys of ``clipseek status --json`` (README, "status --json"), in order, as they were
#: when status was a plain dict: scripts read them, so they must not change.
TOP = [
    "library", "read_only", "model", "sampling", "videos", "indexed", "failed", "pending",
    "indexed_seconds", "frames", "segments", "index", "indexing", "folders", "errors",
    "warnings", "skipped",
]  # fmt: skip
NESTED = {
    "model": ["name", "id", "head", "path", "provider", "provider_detail"],
    "sampling": ["frames_per_second", "segment_seconds", "segment_hop_seconds"],
    "index": ["segments", "on_open"],
    "indexing": ["frames_per_second", "measured"],
}
FOLDER = ["path", "online", "videos", "indexed", "failed", "pending", "segments"]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(DEMO_MODEL, force_cpu=True)


def test_status_json_keeps_its_shape(tmp_path: Path, encoder: Encoder) -> None:
    videos = tmp_path / "videos"
    write_video(videos / "a.mp4", seed=1, seconds=10)
    (videos / "broken.mp4").write_bytes(b"\0" * 4096)
    (videos / "notes.txt").write_text("not a video\n")
    with Library(encoder, tmp_path / "lib") as lib:
        lib.add_folder(videos)
        lib.sync()
        lib.index_job().run()
        st = lib.status()
    data = json.loads(json.dumps(st.to_json()))
    assert list(data) == TOP
    for key, inner in NESTED.items():
        assert list(data[key]) == inner, key
    assert [list(f) for f in data["folders"]] == [FOLDER]
    broken, notes = (str((videos / name).resolve()) for name in ("broken.mp4", "notes.txt"))
    assert data["errors"] == [{"path": broken, "error": st.errors[0].text}]
    assert data["skipped"] == [{"path": notes, "reason": "text file"}]
    assert (data["videos"], data["indexed"], data["failed"]) == (2, 1, 1)
    assert data["segments"] == data["index"]["segments"] == st.index_segments > 0
    assert data["folders"][0]["online"] is True and data["read_only"] is None


class _Sink:
    """Everything IndexJob may ask of where videos go, recorded."""

    def __init__(self) -> None:
        self.stored: list[tuple[int, int, int]] = []
        self.failed: list[tuple[int, str]] = []
        self.checkpoints = 0
        self.throughput: tuple[int, float] | None = None

    def store_video(self, video_id, media, times, frames, spans, note=None) -> int:
        assert frames.shape == (len(times), 32) and frames.dtype == np.float32
        self.stored.append((video_id, len(times), len(spans)))
        return len(spans)

    def record_failure(self, video_id: int, error: str) -> None:
        self.failed.append((video_id, error))

    def record_throughput(self, frames: int, seconds: float) -> None:
        self.throughput = (frames, seconds)

    def checkpoint(self, force: bool = False) -> None:
        self.checkpoints += 1

    def explain(self, exc: BaseException) -> BaseException:
        return exc


def test_the_pipeline_indexes_into_any_sink(tmp_path: Path, encoder: Encoder) -> None:
    from core.store.catalog import VideoRow, VideoStatus

    write_video(tmp_path / "v.mp4", seed=2, seconds=12)
    (tmp_path / "bad.mp4").write_bytes(b"junk" * 100)
    rows = [
        VideoRow(1, str(tmp_path / "v.mp4"), 1, "f1", 1, 0, VideoStatus.PENDING, None, None),
        VideoRow(2, str(tmp_path / "bad.mp4"), 1, "f2", 400, 0, VideoStatus.PENDING, None, None),
    ]
    sink = _Sink()
    settings = LibrarySettings(1.0, SegmentRule())
    report = IndexJob(sink, encoder, settings, tmp_path / "thumbs", rows, workers=1).run()
    assert [o.path for o in report.encoded] == [rows[0].path]
    assert sink.stored == [(1, 12, report.encoded[0].segments)] and sink.stored[0][2] >= 2
    assert [vid for vid, _ in sink.failed] == [2]
    assert sink.throughput is None or sink.throughput[0] == 12
    assert sink.checkpoints >= 1
