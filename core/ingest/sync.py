"""Keep the catalog in step with the disk: new, modified, moved, copied and deleted videos.

A file is known by its fingerprint (``core.ingest.scan.fingerprint``), not its name, so a video
that moves keeps its vectors, a copy reuses them without decoding, and a file edited in place
is indexed again. A watched folder that is missing (an unplugged drive) is *offline*: its videos
are kept, never deleted.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.ingest import capture, scan, thumbnails
from core.store.catalog import Catalog, VideoRow, VideoStatus
from core.store.folders import owner
from core.store.vector_index import VectorIndex


@dataclass
class SyncReport:
    """What a scan of the watched folders found changed since the last one."""

    new: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0
    offline: list[str] = field(default_factory=list)
    pending: int = 0
    #: Videos whose capture time was read from their header in this scan (new ones, and every
    #: video of a library made before ClipSeek knew dates).
    dated: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.modified or self.moved or self.copied or self.deleted)

    def to_json(self) -> dict[str, Any]:
        """The ``scan`` object of ``clipseek index --json`` (README, "JSON output")."""
        return {
            "new": self.new,
            "modified": self.modified,
            "moved": [{"from": a, "to": b} for a, b in self.moved],
            "copied": self.copied,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "offline": self.offline,
            "unreadable": [{"path": p, "error": e} for p, e in self.unreadable],
        }


class Syncer:
    """Applies what the disk says to one library's catalog and vector index."""

    def __init__(self, catalog: Catalog, index: VectorIndex, thumbs_dir: Path, dim: int) -> None:
        self.catalog = catalog
        self.index = index
        self.thumbs_dir = thumbs_dir
        self.dim = dim

    def sync(self, wanted: set[str] | None = None) -> SyncReport:
        """Scan the watched folders (``wanted``: only those canonical paths)."""
        report = SyncReport()
        roots = self.catalog.folder_paths()
        for fid, root in roots:
            if wanted is not None and root not in wanted:
                continue
            if not os.path.exists(root):
                report.offline.append(root)
                continue
            self._sync_root(fid, root, roots, report)
        report.pending = len(self.catalog.videos(status=VideoStatus.PENDING))
        report.dated = self.date_videos()
        return report

    def date_videos(self) -> int:
        """Read when each undated video was shot, from its container header (no frame is
        decoded: a library of a thousand videos migrates in seconds). A file that cannot be
        reached now (an unplugged drive) stays undated and is read at a later scan."""
        found: list[tuple[int, str | None, float | None, str, str | None]] = []
        dated = 0
        for vid, path, mtime_ns in self.catalog.undated_videos():
            if not os.path.exists(path):
                continue
            shot = capture.read_capture(Path(path), mtime_ns)
            found.append((vid, shot.iso(), shot.timestamp(), shot.source, shot.location))
            dated += 1
            if len(found) >= 256:  # a kill half way keeps what was read
                self.catalog.set_captures(found)
                found.clear()
        if found:
            self.catalog.set_captures(found)
        return dated

    def forget(self, videos: Iterable[VideoRow]) -> None:
        """Remove videos, their vectors, and thumbnails no other copy still needs."""
        videos = list(videos)
        removed = self.catalog.delete_videos(v.id for v in videos)
        self.index.remove(removed)
        for v in videos:
            if v.fingerprint and not self.catalog.videos_with_fingerprint(v.fingerprint):
                shutil.rmtree(
                    thumbnails.thumb_path(self.thumbs_dir, v.fingerprint, 0).parent,
                    ignore_errors=True,
                )

    def record_failure(self, video_id: int, error: str) -> None:
        """Mark a video failed (with the words to show) and drop any vectors it had."""
        self.index.remove(self.catalog.mark_failed(video_id, error))

    def _sync_root(
        self, fid: int, root: str, roots: Sequence[tuple[int, str]], report: SyncReport
    ) -> None:
        cat = self.catalog
        result = scan.scan(Path(root))
        found = {str(f.path): f for f in result.videos}
        missing = {v.path: v for v in cat.videos(folder_id=fid) if v.path not in found}
        for path, f in found.items():
            home = owner(path, roots) or fid
            row = cat.video_by_path(path)
            if row is not None:
                if row.folder_id != home:
                    cat.set_folder(row.id, home)
                if row.size == f.size and row.mtime_ns == f.mtime_ns and row.fingerprint:
                    report.unchanged += 1
                    continue
                fp = scan.fingerprint(f.path, f.size)
                if fp == row.fingerprint:
                    cat.touch_video(row.id, f.size, f.mtime_ns)
                    report.unchanged += 1
                else:
                    cat.reset_video(row.id, fp, f.size, f.mtime_ns)
                    report.modified.append(path)
                continue
            fp = scan.fingerprint(f.path, f.size)
            twins = cat.videos_with_fingerprint(fp)
            gone = [v for v in twins if not os.path.exists(v.path)]
            if gone:
                cat.move_video(gone[0].id, path, home, f.mtime_ns)
                missing.pop(gone[0].path, None)
                report.moved.append((gone[0].path, path))
                continue
            new_id = cat.add_video(path, home, fp, f.size, f.mtime_ns)
            source = next((v for v in twins if v.status == VideoStatus.INDEXED), None)
            if source is not None:
                ids = cat.copy_vectors(source.id, new_id)
                for batch_ids, vectors in cat.iter_segment_vectors(self.dim, ids):
                    self.index.add(batch_ids, vectors)
                report.copied.append(path)
            else:
                report.new.append(path)
        for bad, reason in result.errors:
            key = str(bad)
            row = cat.video_by_path(key)
            if row is None and bad.suffix.lower() in scan.VIDEO_EXTENSIONS:
                row_id = cat.add_video(key, fid, "", 0, 0)
                self.record_failure(row_id, reason)
            elif row is not None:
                self.record_failure(row.id, reason)
                missing.pop(key, None)
            report.unreadable.append((key, reason))
        gone_for_good = [v for v in missing.values() if not os.path.exists(v.path)]
        report.deleted += [v.path for v in gone_for_good]
        self.forget(gone_for_good)
        cat.set_skipped(fid, [(str(p), r) for p, r in result.skipped])
        report.skipped += len(result.skipped)
