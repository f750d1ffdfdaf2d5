"""One library, two processes: the window (a Library left open) and ``clipseek`` in a terminal.

The write lock is held only while a change is written, so an idle Library never keeps
``clipseek index`` out; whatever the other process writes, an open Library sees at its next
search or status, without being opened again; two writers still never write at once.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.errors import LibraryBusy
from core.library import Library
from core.model.encoder import Encoder
from tests.library_support import ROOT, clipseek, consistent, index_all, make_folder
from tests.videos import frame_at, write_video

pytestmark = pytest.mark.slow  # runs clipseek in subprocesses


@pytest.fixture(scope="module")
def bundle(tiny_seqtransf) -> Path:
    return Path(tiny_seqtransf[1])


@pytest.fixture(scope="module")
def encoder(bundle) -> Encoder:
    return Encoder(bundle, force_cpu=True)


def names(results) -> set[str]:
    return {Path(r.path).name for r in results}


def test_an_idle_library_lets_the_cli_index_and_sees_what_it_wrote(
    tmp_path, bundle, encoder
) -> None:
    first = make_folder(tmp_path / "first", {"a.mp4": 8, "b.mp4": 8})
    second = tmp_path / "second"
    for seed, (name, seconds) in enumerate({"c.mp4": 8, "d.mp4": 10}.items(), 300):
        write_video(second / name, seed=seed, seconds=seconds)  # not make_folder's seeds again
    common = ["--model", bundle, "--library", tmp_path / "lib", "--cpu"]
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, first)  # the window indexed its folder, and stays open, idle

        out = clipseek("index", second, *common, check=False)
        assert out.returncode == 0, out.stderr  # not "another ClipSeek process is changing"

        generation = lib.generation
        assert lib.changed_elsewhere()
        found = lib.search_image(frame_at(second / "d.mp4", 6.5), k=3)
        assert Path(found[0].path).name == "d.mp4" and found[0].t0 <= 6.5 < found[0].t1
        assert lib.generation == generation + 1 and not lib.changed_elsewhere()
        status = lib.status()
        assert (status.videos, status.indexed) == (4, 4)
        assert status.index_segments == status.segments == lib.catalog.segment_count()
        assert sorted(Path(f.path).name for f in status.folders) == ["first", "second"]
        assert consistent(lib)
        lib.search("anything", k=1)
        assert lib.generation == generation + 1  # nothing changed since: no second reload

        # a deletion elsewhere (a folder no longer watched) drops its moments here too
        clipseek("folders", "remove", second, *common)
        assert names(lib.search("anything", k=50)) == {"a.mp4", "b.mp4"}
        assert consistent(lib) and lib.status().videos == 2

        # and this library writes again afterwards, taking in what the other process wrote
        lib.sync()
        assert consistent(lib)
    with Library(encoder, tmp_path / "lib") as again:
        assert again.open_report in {"loaded", "new"} or again.open_report.startswith("reconciled")
        assert consistent(again) and names(again.search("anything", k=50)) == {"a.mp4", "b.mp4"}


def test_its_own_writes_are_not_a_change_elsewhere(tmp_path, encoder) -> None:
    videos = make_folder(tmp_path / "v", {"a.mp4": 6})
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, videos)
        lib.search("anything", k=1)
        assert not lib.changed_elsewhere() and not lib.refresh() and lib.generation == 0
        with Library(encoder, tmp_path / "lib") as other:  # another connection: as a process
            other.add_folder(tmp_path)
        assert lib.changed_elsewhere() and lib.refresh() and lib.generation == 1
        assert len(lib.folders()) == 2


def test_a_recut_elsewhere_is_taken_in(tmp_path, bundle, encoder) -> None:
    videos = make_folder(tmp_path / "v", {"a.mp4": 20})
    common = ["--model", bundle, "--library", tmp_path / "lib", "--cpu"]
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, videos)
        clipseek("rebuild", "--segment-seconds", "4", *common)
        assert lib.status().sampling.segment_seconds == 4.0
        assert consistent(lib) and lib.catalog.segment_count() == 9


def test_two_writers_never_write_at_once(tmp_path, encoder) -> None:
    videos = make_folder(tmp_path / "v", {"a.mp4": 6, "b.mp4": 6})
    other = make_folder(tmp_path / "other", {"c.mp4": 6})
    with Library(encoder, tmp_path / "lib") as one, Library(encoder, tmp_path / "lib") as two:
        two.lock_wait = 0.2
        one.add_folder(videos)
        one.sync()
        refused: list[BaseException] = []

        def on_video(_outcome) -> None:  # mid-job: the first library is writing
            try:
                two.add_folder(other)
            except LibraryBusy as exc:
                refused.append(exc)

        report = one.index_job(on_video=on_video, workers=1).run()
        assert len(report.encoded) == 2 and len(refused) == 2
        assert "another ClipSeek process is changing the library" in str(refused[0])
        two.add_folder(other)  # the job is over: the lock is free again
        assert sorted(Path(f.path).name for f in one.status().folders) == ["other", "v"]

        # a writer that waits: a short write elsewhere is waited for, not refused
        two.lock_wait = 10.0
        held = threading.Event()

        def short_write() -> None:
            with one.writing():
                held.set()
                time.sleep(0.5)

        writer = threading.Thread(target=short_write)
        writer.start()
        held.wait(5)
        started = time.monotonic()
        two.sync()
        writer.join()
        assert time.monotonic() - started >= 0.3


def test_the_cli_is_refused_while_another_process_writes_and_proceeds_after(
    tmp_path, bundle, encoder
) -> None:
    videos = make_folder(tmp_path / "v", {"a.mp4": 6})
    common = ["--model", str(bundle), "--library", str(tmp_path / "lib"), "--cpu"]
    with Library(encoder, tmp_path / "lib") as lib:
        lib.add_folder(videos)
        # another process holds the lock for longer than the CLI waits (a long indexing job)
        with lib.writing():
            cli = subprocess.run(
                [sys.executable, "-m", "core.cli", "index", *common],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=ROOT,
            )
        assert cli.returncode != 0
        assert "another ClipSeek process is changing the library" in cli.stderr
        assert len(cli.stderr.strip().splitlines()) == 1
        assert lib.status().indexed == 0
        clipseek("index", *common)  # idle now: it proceeds
        assert lib.status().indexed == 1 and consistent(lib)
