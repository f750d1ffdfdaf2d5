"""Nothing lost, nothing crashes: odd names, full disks, read-only libraries, interrupted
re-cuts, lost databases, and one exit code per kind of failure.

Each test reproduces a failure found by hostile-input runs against ``clipseek``; the disk is
filled by SQLite's own page limit (a real SQLITE_FULL, no special mount needed), read-only is a
process without CAP_DAC_OVERRIDE (when run as root) over a folder without write permission.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import DiskFull, ReadOnlyLibrary
from core.ingest.segments import SegmentRule
from core.library import Library
from core.model.encoder import Encoder
from core.pathnames import from_db, openable, readable, to_db
from core.store.layout import DB_NAME, FOLDERS_NAME
from tests.library_support import clipseek, consistent, index_all, make_folder
from tests.videos import frame_at, write_video

pytestmark = pytest.mark.slow  # runs clipseek in subprocesses against damaged libraries

BAD = b"bad\xff.mp4"  # Latin-1 'ÿ': not valid UTF-8, as on old USB sticks and SMB shares


@pytest.fixture(scope="module")
def encoder(tiny_seqtransf) -> Encoder:
    return Encoder(tiny_seqtransf[1], force_cpu=True)


@pytest.fixture(scope="module")
def bundle(tiny_seqtransf) -> Path:
    return Path(tiny_seqtransf[1])


def odd_folder(root: Path) -> Path:
    """A folder with a plain video, one whose name is not UTF-8, and one in a folder whose
    name is not UTF-8 either."""
    make_folder(root, {"plain.mp4": 6, "other.mp4": 5})
    os.rename(os.fsencode(root / "other.mp4"), os.fsencode(root) + b"/" + BAD)
    sub = os.fsencode(root) + b"/caf\xe9"
    os.mkdir(sub)
    write_video(root / "third.mp4", seed=7, seconds=5)
    os.rename(os.fsencode(root / "third.mp4"), sub + b"/clip\xe9.mp4")
    return root


# --------------------------------------------------------------------- 1. names not in UTF-8
def test_database_text_round_trips_every_name() -> None:
    names = [
        "plain/ä/日本.mp4",
        os.fsdecode(b"/media/usb/bad\xff.mp4"),
        os.fsdecode(b"/x/\x80\xfe\xff/y"),
        "/x/" + chr(0x10FF7F) + chr(0x10FF80) + chr(0x10FFFF),  # the mapping's own range
    ]
    for name in names:
        stored = to_db(name)
        stored.encode("utf-8")  # valid text for SQLite
        assert from_db(stored) == name
    folder, inside = os.fsdecode(b"/m/caf\xe9"), os.fsdecode(b"/m/caf\xe9/a\xff.mp4")
    assert to_db(inside).startswith(to_db(folder) + "/")  # prefixes stay prefixes
    assert readable(os.fsdecode(BAD)) == "bad\ufffd.mp4"


def test_opencv_gets_a_name_it_can_take(tmp_path) -> None:
    write_video(tmp_path / "v.mp4", seed=3, seconds=2)
    os.rename(os.fsencode(tmp_path / "v.mp4"), os.fsencode(tmp_path) + b"/" + BAD)
    path = os.fsdecode(os.fsencode(tmp_path) + b"/" + BAD)
    link = openable(path)
    assert link.encode("utf-8") and os.path.samefile(link, path)
    assert openable(path) == link  # asked again: the same link
    cap = cv2.VideoCapture(link, cv2.CAP_FFMPEG)
    assert cap.isOpened() and cap.read()[0]
    cap.release()


def test_a_folder_with_names_not_in_utf8_indexes_every_file(tmp_path, encoder) -> None:
    videos = odd_folder(tmp_path / "videos")
    with Library(encoder, tmp_path / "lib") as lib:
        sync, report = index_all(lib, videos)
        assert len(sync.new) == 3 and not report.failed, report.failed
        names = sorted(os.fsencode(Path(o.path).name) for o in report.encoded)
        assert names == sorted([BAD, b"clip\xe9.mp4", b"plain.mp4"])
        assert consistent(lib)
        frame = frame_at(openable(os.fsdecode(os.fsencode(videos) + b"/" + BAD)), 2.5)
        best = lib.search_image(frame, 1)[0]
        assert os.fsencode(best.path).endswith(b"/" + BAD) and os.path.exists(best.path)
        sub = os.fsdecode(os.fsencode(videos.resolve()) + b"/caf\xe9")
        only = lib.search("a clip", 5, folders=[sub])
        assert [os.fsencode(Path(r.path).name) for r in only] == [b"clip\xe9.mp4"]
        assert lib.sync().unchanged == 3  # the stored names match the disk's again
    with Library(encoder, tmp_path / "lib") as again:  # and after reopening
        assert again.status().indexed == 3


def test_cli_indexes_prints_and_reports_odd_names(tmp_path, bundle) -> None:
    videos = odd_folder(tmp_path / "videos")
    common = ["--model", bundle, "--library", tmp_path / "lib", "--cpu"]
    indexing = clipseek("index", videos, *common, "--json")
    report = json.loads(indexing.stdout)
    assert len(report["indexed"]) == 3 and report["failed"] == []
    assert "bad\ufffd.mp4: " in indexing.stderr  # progress lines name it readably
    found = json.loads(clipseek("search", "a clip", "-k", "5", "--json", *common).stdout)
    paths = {os.fsencode(r["path"]) for r in found["results"]}  # JSON keeps the real bytes
    assert os.fsencode(videos.resolve()) + b"/" + BAD in paths
    text = subprocess.run(  # printing must not crash: the name's own bytes, as `ls` prints
        [sys.executable, "-m", "core.cli", "search", "a clip", "-k", "5", *map(str, common)],
        capture_output=True, timeout=300, cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert b"/" + BAD + b"\n" in text.stdout and b"/plain.mp4" in text.stdout
    status = clipseek("status", *common)
    assert status.returncode == 0 and "3 indexed" in status.stdout


# --------------------------------------------------------------------------- 3. full disk
def _limit_database(lib: Library, spare_pages: int) -> None:
    """Let the database grow by only a few pages: SQLite then fails exactly as on a full disk
    ('database or disk is full')."""
    conn = lib.catalog.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + spare_pages}")


def test_a_full_disk_stops_indexing_cleanly_and_resumes(tmp_path, encoder) -> None:
    videos = make_folder(tmp_path / "videos", {"a.mp4": 6})
    lib = Library(encoder, tmp_path / "lib")
    index_all(lib, videos)
    make_folder(tmp_path / "more", {f"m{i}.mp4": 30 for i in range(4)})
    lib.add_folder(tmp_path / "more")
    lib.sync()
    _limit_database(lib, 0)
    with pytest.raises(DiskFull, match=r"the disk holding the library is full \(\d+ MB free\)"):
        lib.index_job(workers=2).run()
    assert not [t for t in threading.enumerate() if t.name.startswith("clipseek-decode")]
    assert not list((tmp_path / "lib").glob("*.tmp"))
    st = lib.status()
    # what was committed stays (free pages let a video or two in), the rest waits
    assert st.indexed >= 1 and st.pending >= 1 and st.indexed + st.pending == 5
    assert consistent(lib)
    lib.catalog.conn.execute("PRAGMA max_page_count = 1073741823")  # space is back
    report = lib.index_job().run()
    assert len(report.encoded) == st.pending and lib.status().indexed == 5
    lib.close()


def test_a_full_disk_does_not_abort_the_process(tmp_path, bundle) -> None:
    """Before: the failed commit escaped run() with decoders still running, and the process
    died with SIGABRT ('terminate called without an active exception')."""
    videos = make_folder(tmp_path / "videos", {f"v{i}.mp4": 40 for i in range(3)})
    script = f"""
import sys
from core.model.encoder import Encoder
from core.library import Library
lib = Library(Encoder({str(bundle)!r}, force_cpu=True), {str(tmp_path / "lib")!r})
lib.add_folder({str(videos)!r}); lib.sync()
conn = lib.catalog.conn
conn.execute(f"PRAGMA max_page_count = {{conn.execute('PRAGMA page_count').fetchone()[0] + 0}}")
try:
    lib.index_job(workers=2).run()
except Exception as exc:
    print(type(exc).__name__, exc)
    sys.exit(3)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert proc.stdout.startswith("DiskFull the disk holding the library is full")
    assert "terminate called" not in proc.stderr


def test_a_completely_full_disk_is_not_called_a_broken_library(tmp_path, encoder) -> None:
    lib = Library(encoder, tmp_path / "lib")
    lib.close()

    def full_disk(*args, **kwargs):  # what SQLite says when it cannot grow its -shm/-wal
        raise sqlite3.OperationalError("disk I/O error")

    import core.errors
    import core.store.catalog

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(core.store.catalog.sqlite3, "connect", full_disk)
        mp.setattr(core.errors, "free_bytes", lambda where: 0)
        with pytest.raises(DiskFull, match=r"full \(0 MB free\)"):
            Library(encoder, tmp_path / "lib")


# ----------------------------------------------------------------------- 4. read-only
def _as_reader() -> list[str]:
    """A command prefix that runs without the right to write what is not writable: root
    loses CAP_DAC_OVERRIDE (permission bits then apply to it too); others need nothing."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop the override capability")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


def _read_only_library(tmp_path, bundle) -> tuple[Path, list[str]]:
    videos = make_folder(tmp_path / "videos", {"a.mp4": 6, "b.mp4": 5})
    lib = tmp_path / "lib"
    clipseek("index", videos, "--model", bundle, "--library", lib, "--cpu")
    for path in [lib, *lib.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return lib, ["--model", str(bundle), "--library", str(lib), "--cpu"]


def _run(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "core.cli", *args],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip


def test_a_read_only_library_searches_and_says_what_needs_write_access(tmp_path, bundle) -> None:
    lib, common = _read_only_library(tmp_path, bundle)
    reader = _as_reader()
    before = {p.name: p.read_bytes() for p in lib.iterdir() if p.is_file()}
    try:
        status = _run(reader, "status", "--json", *common)
        assert status.returncode == 0, status.stderr
        st = json.loads(status.stdout)
        assert st["indexed"] == 2 and st["read_only"] and st["integrity"] == "ok"
        found = _run(reader, "search", "a scene", "-k", "2", "--json", *common)
        assert found.returncode == 0, found.stderr
        assert len(json.loads(found.stdout)["results"]) == 2
        change = _run(reader, "index", *common)
        assert change.returncode == 1 and change.stderr.count("\n") == 1, change.stderr
        assert "is read-only" in change.stderr and "need write access" in change.stderr
        assert {p.name: p.read_bytes() for p in lib.iterdir() if p.is_file()} == before
    finally:
        for path in [lib, *lib.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_the_library_api_refuses_changes_read_only(tmp_path, encoder, monkeypatch) -> None:
    videos = make_folder(tmp_path / "videos", {"a.mp4": 5})
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, videos)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: mode != os.W_OK and real(p, mode))
    with Library(encoder, tmp_path / "lib") as lib:
        assert lib.read_only and lib.search("a", 1)
        for change in (lib.sync, lambda: lib.add_folder(videos), lib.rebuild):
            with pytest.raises(ReadOnlyLibrary, match="need write access"):
                change()


# ------------------------------------------------------------------ 6. interrupted re-cut
def test_an_interrupted_recut_changes_nothing(tmp_path, encoder, monkeypatch) -> None:
    videos = make_folder(tmp_path / "videos", {f"v{i}.mp4": 20 for i in range(4)})
    lib = Library(encoder, tmp_path / "lib")
    index_all(lib, videos)
    spans = lib.catalog.conn.execute("SELECT t1 - t0 FROM segments").fetchall()
    assert max(s[0] for s in spans) == pytest.approx(8.0)
    import core.library

    real, calls = core.library.pool_segments, [0]

    def dies_half_way(encoder, frames, spans):
        calls[0] += 1
        if calls[0] == 3:
            raise KeyboardInterrupt  # as a kill half way through would
        return real(encoder, frames, spans)

    monkeypatch.setattr(core.library, "pool_segments", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        lib.rebuild(SegmentRule(6.0, 3.0))
    lib.close()
    with Library(encoder, tmp_path / "lib") as again:
        lengths = {
            round(r[0], 3) for r in again.catalog.conn.execute("SELECT t1 - t0 FROM segments")
        }
        assert max(lengths) == pytest.approx(8.0) and again.settings.segment.window == 8.0
        assert again.status().sampling.segment_seconds == 8.0
        again.rebuild(SegmentRule(6.0, 3.0))
    with Library(encoder, tmp_path / "lib") as done:
        lengths = [r[0] for r in done.catalog.conn.execute("SELECT t1 - t0 FROM segments")]
        assert max(lengths) == pytest.approx(6.0) and done.settings.segment.window == 6.0
        assert consistent(done)


# ------------------------------------------------------------------- 8. lost database
def test_a_deleted_database_is_said_and_its_folders_are_indexed_again(tmp_path, bundle) -> None:
    one = make_folder(tmp_path / "one", {"a.mp4": 5})
    two = make_folder(tmp_path / "two", {"b.mp4": 5})
    lib = tmp_path / "lib"
    common = ["--model", bundle, "--library", lib, "--cpu"]
    clipseek("index", one, two, *common)
    assert json.loads((lib / FOLDERS_NAME).read_text())["folders"] == sorted(
        [str(one.resolve()), str(two.resolve())]
    )
    for name in os.listdir(lib):
        if name.startswith(DB_NAME):
            (lib / name).unlink()
    status = clipseek("status", "--json", *common)
    assert "the library database is missing; 2 watched folders will be indexed again" in (
        status.stderr
    )
    assert len(json.loads(status.stdout)["folders"]) == 2
    again = json.loads(clipseek("index", *common, "--json").stdout)
    assert len(again["indexed"]) == 2


def test_status_salvages_a_damaged_database(tmp_path, bundle) -> None:
    videos = make_folder(tmp_path / "videos", {f"v{i}.mp4": 12 for i in range(3)})
    lib = tmp_path / "lib"
    common = ["--model", bundle, "--library", lib, "--cpu"]
    clipseek("index", videos, *common)
    conn = sqlite3.connect(lib / DB_NAME)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'segments_video'")
    page = root.fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(lib / DB_NAME, "r+b") as fh:  # scramble one index page: the table still reads
        fh.seek((page - 1) * size + 8)
        fh.write(bytes(np.random.default_rng(0).integers(0, 256, 64, dtype=np.uint8)))
    proc = clipseek("status", *common, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # an index page holds no row of its own: everything is kept (tests/core/test_catalog_salvage)
    assert "library.sqlite was damaged; recovered 3 of 3 videos" in proc.stderr
    assert "3 indexed, 0 failed, 0 pending" in proc.stdout


# ------------------------------------------------------------------------- 8. exit codes
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["search", ""], 2),  # the request is wrong: 2
        (["search", "--image", "missing.png"], 2),
        (["search", "a", "-k", "0"], 2),
        (["index", "/no/such/folder"], 2),
        (["status", "--model", "/no/such/model"], 1),  # the work cannot be done: 1
    ],
)
def test_one_kind_of_failure_one_exit_code(tmp_path, bundle, args, code) -> None:
    model = [] if "--model" in args else ["--model", str(bundle)]
    proc = clipseek(*args, *model, "--library", tmp_path / "lib", check=False)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("clipseek: error: ") and proc.stderr.count("\n") == 1


# ---------------------------------------------------------------------- 5. model identity
def _unchecksummed_copy(bundle: Path, dest: Path, **changes) -> Path:
    """A copy of the bundle whose manifest has no checksum (as older exports), edited."""
    from core.model.bundle import CHECKSUM_FIELD

    shutil.copytree(bundle, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    manifest.pop(CHECKSUM_FIELD, None)
    manifest.update(changes)
    (dest / "manifest.json").write_text(json.dumps(manifest))
    return dest


def test_edited_preprocessing_cannot_mix_into_a_library(tmp_path, bundle) -> None:
    videos = make_folder(tmp_path / "videos", {"a.mp4": 5})
    with Library(Encoder(bundle, force_cpu=True), tmp_path / "lib") as lib:
        index_all(lib, videos)
    edited = _unchecksummed_copy(bundle, tmp_path / "edited", mean=[0.5, 0.5, 0.5])
    with pytest.raises(Exception, match="was indexed with another version of the model"):
        Library(Encoder(edited, force_cpu=True), tmp_path / "lib")


def test_a_library_named_by_the_old_identity_is_found_and_upgraded(tmp_path, bundle) -> None:
    from core.location import library_root, model_id
    from core.model.bundle import legacy_identity

    encoder = Encoder(bundle, force_cpu=True)
    videos = make_folder(tmp_path / "videos", {"a.mp4": 5})
    new_root = library_root(encoder, 1.0)
    old_root = new_root.with_name(
        new_root.name.replace(model_id(encoder)[:8], legacy_identity(encoder.manifest)[:8])
    )
    with Library(encoder, old_root) as lib:  # as an earlier ClipSeek made it
        index_all(lib, videos)
        lib.catalog.set_meta({"model_id": legacy_identity(encoder.manifest)})
    assert library_root(encoder, 1.0) == old_root
    with Library(encoder, library_root(encoder, 1.0)) as lib:
        assert lib.status().indexed == 1
        assert lib.catalog.get_meta("model_id") == model_id(encoder)


# ------------------------------------------------------------------ 2. pictures as queries
def test_picture_queries_odd_huge_or_cut_short_are_one_line_each(tmp_path, bundle) -> None:
    from tests.core.test_query_images import black_png

    videos = make_folder(tmp_path / "videos", {"a.mp4": 6, "b.mp4": 6})
    common = ["--model", bundle, "--library", tmp_path / "lib", "--cpu"]
    clipseek("index", videos, *common)
    frame = cv2.cvtColor(frame_at(videos / "b.mp4", 3.5), cv2.COLOR_RGB2BGR)
    odd = os.fsencode(tmp_path) + b"/still\xff.png"
    with open(odd, "wb") as fh:  # a picture whose name is not UTF-8 (OpenCV crashed on it)
        fh.write(cv2.imencode(".png", frame)[1].tobytes())
    found = clipseek("search", "--image", os.fsdecode(odd), "-k", "1", "--json", *common)
    assert Path(json.loads(found.stdout)["results"][0]["path"]).name == "b.mp4"
    (tmp_path / "huge.png").write_bytes(black_png(20000, 20000))
    whole = cv2.imencode(".png", frame)[1].tobytes()
    (tmp_path / "cut.png").write_bytes(whole[: len(whole) // 2])
    for name, words in [("huge.png", "20000×20000 pixels"), ("cut.png", "cut short")]:
        proc = clipseek("search", "--image", tmp_path / name, *common, check=False)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and words in proc.stderr, proc.stderr  # no libpng line


def test_a_short_index_write_is_never_published_nor_left_behind(tmp_path) -> None:
    """hnswlib reports no failed write: on a full disk it leaves a short file and returns."""
    from core.store.vector_index import VectorIndex

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(tmp_path / "segments.hnsw", 16)
    index.add(list(range(1, 301)), vectors)
    index.save()
    good = (tmp_path / "segments.hnsw").read_bytes()

    class FullDisk:  # hnswlib's index, whose file write stops half way like on a full disk
        def __init__(self, real) -> None:
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def save_index(self, path: str) -> None:
            self.real.save_index(path)
            with open(path, "r+b") as fh:
                fh.truncate(os.path.getsize(path) // 2)

    index.add([301], vectors[:1])
    index._index = FullDisk(index._index)
    with pytest.raises(OSError, match="could not be written completely"):
        index.save()
    assert index.dirty and sorted(p.name for p in tmp_path.iterdir()) == [
        "segments.hnsw",
        "segments.hnsw.json",
    ]
    assert (tmp_path / "segments.hnsw").read_bytes() == good


# ------------------------------------------------------------- 7. rebuild never loads the file
def test_rebuild_never_reads_the_index_it_replaces(tmp_path, bundle, monkeypatch) -> None:
    from core.library import open_library
    from core.store.layout import INDEX_NAME
    from core.store.vector_index import VectorIndex

    videos = make_folder(tmp_path / "videos", {"a.mp4": 9, "b.mp4": 9})
    common = ["--model", bundle, "--library", tmp_path / "lib", "--cpu"]
    clipseek("index", videos, *common)
    (tmp_path / "lib" / INDEX_NAME).write_bytes(os.urandom(4096))  # damaged beyond any check

    def must_not_load(self):
        raise AssertionError("rebuild read the index file it replaces")

    monkeypatch.setattr(VectorIndex, "_load_checked", must_not_load)
    lib = open_library(Encoder(bundle, force_cpu=True), tmp_path / "lib", load_index=False)
    with lib:
        assert lib.rebuild() == lib.catalog.segment_count() > 0 and consistent(lib)
    proc = clipseek("rebuild", *common)  # and the command, in its own process
    assert proc.returncode == 0 and "rebuilt the vector index" in proc.stdout


def test_a_scan_that_fills_the_disk_says_so(tmp_path, encoder) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(400):  # each a row in the database (broken videos are recorded too)
        (many / f"clip-with-a-long-name-{i:04d}.mp4").write_bytes(b"\0" * 64)
    with Library(encoder, tmp_path / "lib") as lib:
        lib.add_folder(many)
        _limit_database(lib, 0)
        with pytest.raises(DiskFull, match="the disk holding the library is full"):
            lib.sync()
