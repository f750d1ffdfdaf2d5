"""A damaged library database is salvaged: what SQLite's file still holds is kept, only the videos
it lost are encoded again, and the user is told once how much that was.

One library of 20 short videos is indexed once; each case copies it, damages its database the way
disks and crashes do (4 KiB of garbage at a quarter of the file, over a page of frame vectors,
over the header page; the file cut in half), then drives ``clipseek`` as a user would: ``status``
must work and say what was recovered, ``search`` must still find the surviving videos, and
``index`` must encode again exactly the videos that were lost, no others.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.library import Library, open_library
from core.model.encoder import Encoder
from core.store.layout import DB_NAME
from core.store.salvage import read_rows
from tests.library_support import clipseek, consistent, index_all, make_folder
from tests.videos import frame_at

VIDEOS = 20
NOTICE = re.compile(
    r"library\.sqlite was damaged; recovered (\d+) of (\d+) videos \(([\d,]+) of ([\d,]+)"
    r" frames\)(?:; (\d+) videos? will be indexed again)? \(the damaged file is kept as (.+)\)$"
)


@pytest.fixture(scope="module")
def encoder(tiny_seqtransf) -> Encoder:
    return Encoder(tiny_seqtransf[1], force_cpu=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory, encoder) -> tuple[Path, Path, dict[str, int]]:
    """(videos, a pristine library of them, frames per video path)."""
    root = tmp_path_factory.mktemp("salvage")
    videos = make_folder(root / "videos", {f"v{i:02d}.mp4": 6 + (i % 4) * 3 for i in range(20)})
    with Library(encoder, root / "lib", sample_rate=10) as lib:
        _, report = index_all(lib, videos)
        assert len(report.encoded) == VIDEOS
    frames = {o.path: o.frames for o in report.encoded}
    return videos, root / "lib", frames


def _garbage(db: Path, at: int, length: int = 4096) -> None:
    with open(db, "r+b") as fh:
        fh.seek(at)
        fh.write(np.random.default_rng(at).integers(0, 256, length, dtype=np.uint8).tobytes())


def _at_a_quarter(db: Path) -> None:
    _garbage(db, db.stat().st_size // 4)


def _over_a_frames_page(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        pages = [
            r[0]
            for r in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'frames' AND pagetype = 'leaf'"
                " ORDER BY pageno"
            )
        ]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table to find a page of frames with")
    finally:
        conn.close()
    _garbage(db, (pages[len(pages) // 2] - 1) * size, size)


def _over_the_header(db: Path) -> None:
    _garbage(db, 0)


def _cut_in_half(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 2)


DAMAGE = [_at_a_quarter, _over_a_frames_page, _over_the_header, _cut_in_half]


def _damaged_copy(built, tmp_path: Path, damage) -> Path:
    _, pristine, _ = built
    lib = tmp_path / "lib"
    shutil.copytree(pristine, lib)
    assert not Path(f"{lib / DB_NAME}-wal").exists()  # closed cleanly: all in the main file
    damage(lib / DB_NAME)
    return lib


def _indexed_paths(lib: Path) -> set[str]:
    conn = sqlite3.connect(lib / DB_NAME)
    try:
        rows = conn.execute("SELECT path FROM videos WHERE status = 'indexed'").fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}


@pytest.mark.slow  # clipseek in subprocesses
@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_status_salvages_search_keeps_and_index_reencodes_only_the_lost(
    built, tmp_path, damage, tiny_seqtransf
) -> None:
    videos, _, frames = built
    lib = _damaged_copy(built, tmp_path, damage)
    common = ["--model", tiny_seqtransf[1], "--library", lib, "--cpu"]

    status = clipseek("status", "--json", *common, check=False)
    assert status.returncode == 0, status.stderr
    said = [line for line in status.stderr.splitlines() if "damaged" in line]
    assert len(said) == 1, status.stderr  # said once, on one line
    assert said[0].startswith("clipseek: warning: ")
    match = NOTICE.search(said[0])
    assert match, said[0]
    kept, total = int(match[1]), int(match[2])
    kept_frames, total_frames = (int(match[i].replace(",", "")) for i in (3, 4))
    assert total == VIDEOS and total_frames == sum(frames.values())
    st = json.loads(status.stdout)
    assert st["integrity"] == "ok" and st["videos"] == VIDEOS
    assert st["indexed"] == kept and st["pending"] == VIDEOS - kept
    assert int(match[5] or 0) == VIDEOS - kept

    aside = Path(match[6])
    assert aside.parent == lib and aside.name.startswith(f"{DB_NAME}.damaged-") and aside.is_file()
    survivors = _indexed_paths(lib)
    assert len(survivors) == kept and kept_frames == sum(frames[p] for p in survivors)
    if damage is _over_the_header:  # page 1 holds only the schema: nothing is lost
        assert kept == VIDEOS
    elif damage is _over_a_frames_page:  # one page of frames: a video or two
        assert VIDEOS - 2 <= kept < VIDEOS
    elif damage is _cut_in_half:
        assert 0 < kept < VIDEOS

    # the survivors are found without encoding anything again
    for path in sorted(survivors)[:1]:
        still = tmp_path / f"{Path(path).stem}.png"
        cv2.imwrite(str(still), cv2.cvtColor(frame_at(Path(path), 2.5), cv2.COLOR_RGB2BGR))
        found = clipseek("search", "--image", still, "-k", "1", "--json", *common)
        assert json.loads(found.stdout)["results"][0]["path"] == path

    # the next run encodes the lost videos, and only them
    again = json.loads(clipseek("index", *common, "--json").stdout)
    reencoded = {v["path"] for v in again["indexed"]}
    lost = {str(videos / f"v{i:02d}.mp4") for i in range(VIDEOS)} - survivors
    assert reencoded == lost
    assert again["frames"] == sum(frames[p] for p in lost)
    assert len(_indexed_paths(lib)) == VIDEOS
    final = clipseek("status", "--json", *common)
    assert "damaged" not in final.stderr
    st = json.loads(final.stdout)
    assert st["indexed"] == VIDEOS and st["segments"] == st["index"]["segments"]


def test_opening_salvages_a_database_sqlite_refuses(built, tmp_path, encoder) -> None:
    """The library API (what the window uses): a database SQLite will not even open is salvaged
    on open, the notice says so, and the library is whole and consistent."""
    lib_dir = _damaged_copy(built, tmp_path, _over_the_header)
    with open_library(encoder, lib_dir) as lib:
        assert lib.notice and NOTICE.search(lib.notice), lib.notice
        assert lib.status().indexed == VIDEOS
        assert lib.catalog.integrity_problems() == []
        assert consistent(lib)
        report = lib.index_job().run()
        assert report.encoded == [] and report.frames == 0
    with open_library(encoder, lib_dir) as lib:  # said once: the next open is quiet
        assert lib.notice is None


def test_an_undamaged_database_reads_back_row_for_row(built, encoder) -> None:
    """The page reader against SQLite itself: every row of a sound database, exactly."""
    _, pristine, _ = built
    rows = read_rows(pristine / DB_NAME, encoder.embed_dim)
    conn = sqlite3.connect(pristine / DB_NAME)
    try:
        videos = conn.execute("SELECT * FROM videos ORDER BY id").fetchall()
        frames = conn.execute("SELECT video_id, idx, t, vector FROM frames").fetchall()
        segments = conn.execute("SELECT * FROM segments").fetchall()
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    finally:
        conn.close()
    assert [tuple(rows.videos[k]) for k in sorted(rows.videos)] == videos
    assert sorted(
        (vid, i, t, blob) for vid, by in rows.frames.items() for i, (t, blob) in by.items()
    ) == sorted(frames)
    assert sorted((k, *v) for k, v in rows.segments.items()) == sorted(segments)
    assert rows.meta == meta and not rows.doubtful
