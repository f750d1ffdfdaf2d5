"""What a library holds and how it stands, typed: the window's status bar and panels and
``clipseek status`` read the same object; ``to_json()`` is the ``--json`` shape (README,
"status --json"), unchanged since the status was a plain dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelStatus:
    name: str
    id: str
    head: str
    path: str
    provider: str
    provider_detail: str


@dataclass(frozen=True)
class SamplingStatus:
    frames_per_second: float
    segment_seconds: float
    segment_hop_seconds: float


@dataclass(frozen=True)
class FolderStatus:
    path: str
    online: bool
    videos: int
    indexed: int
    failed: int
    pending: int
    segments: int


@dataclass(frozen=True)
class FileNote:
    """A file and what to say about it: an error, a warning or why it was skipped."""

    path: str
    text: str


@dataclass(frozen=True)
class LibraryStatus:
    library: str
    read_only: str | None
    model: ModelStatus
    sampling: SamplingStatus
    videos: int
    indexed: int
    failed: int
    pending: int
    indexed_seconds: float
    frames: int
    segments: int
    index_segments: int
    index_on_open: str
    indexing_frames_per_second: float
    speed_measured: bool
    folders: tuple[FolderStatus, ...]
    errors: tuple[FileNote, ...]
    warnings: tuple[FileNote, ...]
    skipped: tuple[FileNote, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``clipseek status --json`` object (its keys in their documented order)."""
        return {
            "library": self.library,
            "read_only": self.read_only,
            "model": vars(self.model).copy(),
            "sampling": vars(self.sampling).copy(),
            "videos": self.videos,
            "indexed": self.indexed,
            "failed": self.failed,
            "pending": self.pending,
            "indexed_seconds": self.indexed_seconds,
            "frames": self.frames,
            "segments": self.segments,
            "index": {"segments": self.index_segments, "on_open": self.index_on_open},
            "indexing": {
                "frames_per_second": self.indexing_frames_per_second,
                "measured": self.speed_measured,
            },
            "folders": [vars(f).copy() for f in self.folders],
            "errors": [{"path": n.path, "error": n.text} for n in self.errors],
            "warnings": [{"path": n.path, "warning": n.text} for n in self.warnings],
            "skipped": [{"path": n.path, "reason": n.text} for n in self.skipped],
        }
