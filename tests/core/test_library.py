"""The library engine through its public API: index, search, rescans, bad input, concurrency."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import LibraryBusy, LibraryError
from core.ingest.segments import SegmentRule
from core.library import Library
from core.model.encoder import Encoder, QueryError
from tests.library_support import consistent, index_all, make_folder
from tests.videos import frame_at, pattern, write_video


@pytest.fixture(scope="module")
def encoder(tiny_seqtransf) -> Encoder:
    return Encoder(tiny_seqtransf[1], force_cpu=True)


@pytest.fixture
def counted(encoder, monkeypatch) -> list[int]:
    """Frames passed to the image tower since the test started."""
    calls: list[int] = []
    real = Encoder.encode_pixels

    def counting(self, pixels, **kwargs):
        calls.append(len(pixels))
        return real(self, pixels, **kwargs)

    monkeypatch.setattr(Encoder, "encode_pixels", counting)
    return calls


def test_a_frame_finds_its_own_segment_first(tmp_path, encoder) -> None:
    videos = make_folder(tmp_path / "videos", {f"clip{i}.mp4": 10 + 3 * i for i in range(5)})
    with Library(encoder, tmp_path / "lib") as lib:
        sync, report = index_all(lib, videos)
        assert len(sync.new) == 5 and len(report.encoded) == 5 and not report.failed
        assert consistent(lib)
        for name, t in [("clip0.mp4", 2.5), ("clip3.mp4", 11.4), ("clip4.mp4", 20.2)]:
            results = lib.search_image(frame_at(videos / name, t), k=3)
            best = results[0]
            assert Path(best.path).name == name
            assert best.t0 <= t < best.t1
            assert best.thumbnail and Path(best.thumbnail).is_file()
            assert cv2.imread(best.thumbnail).shape[1] <= 320


def test_text_search_results_are_well_formed(tmp_path, encoder) -> None:
    videos = make_folder(tmp_path / "v", {"a.mp4": 20, "b.mp4": 9})
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, videos)
        raw = lib.search("children playing in the garden", k=50, merge=False)
        merged = lib.search("children playing in the garden", k=50)
        assert len(raw) == lib.catalog.segment_count() == 6
        assert [r.score for r in raw] == sorted((r.score for r in raw), reverse=True)
        assert 0 < len(merged) <= len(raw)
        for r in merged:  # merged moments never overlap each other within a video
            others = [o for o in merged if o.video_id == r.video_id and o is not r]
            assert all(o.t1 <= r.t0 or o.t0 >= r.t1 for o in others)
        with pytest.raises(QueryError, match="empty"):
            lib.search("   ")
        with pytest.raises(QueryError, match="at most"):
            lib.search("candles " * 100)


def test_rename_move_modify_delete(tmp_path, encoder, counted) -> None:
    videos = make_folder(
        tmp_path / "v",
        {"keep.mp4": 5, "rename.mp4": 6, "move.mp4": 7, "edit.mp4": 8, "gone.mp4": 9},
    )
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, videos)
        assert sum(counted) == 5 + 6 + 7 + 8 + 9
        before = {Path(v.path).name: v.id for v in lib.catalog.videos()}
        segs_before = lib.catalog.segment_ids()

        (videos / "rename.mp4").rename(videos / "renamed.mp4")
        (videos / "sub").mkdir()
        shutil.move(videos / "move.mp4", videos / "sub" / "moved.mp4")
        write_video(videos / "edit.mp4", seed=999, seconds=4)
        (videos / "gone.mp4").unlink()
        counted.clear()

        sync = lib.sync()
        assert sorted(Path(b).name for _, b in sync.moved) == ["moved.mp4", "renamed.mp4"]
        assert [Path(p).name for p in sync.modified] == ["edit.mp4"]
        assert [Path(p).name for p in sync.deleted] == ["gone.mp4"]
        assert sync.new == [] and sync.unchanged == 1
        report = lib.index_job().run()

        # only the modified file went through the image tower again, 4 frames for 4 seconds
        assert sum(counted) == 4
        assert [Path(o.path).name for o in report.encoded] == ["edit.mp4"]
        after = {Path(v.path).name: v.id for v in lib.catalog.videos()}
        assert after["renamed.mp4"] == before["rename.mp4"]
        assert after["moved.mp4"] == before["move.mp4"]
        assert "gone.mp4" not in after
        assert consistent(lib)
        # the moved video's segments are the very same rows (same ids): vectors kept
        moved_segments = {
            s
            for s in lib.catalog.segment_ids()
            if lib.catalog.segments([s])[s].video_id == after["moved.mp4"]
        }
        assert moved_segments and moved_segments <= segs_before
        paths = {Path(r.path).name for r in lib.search("a person", k=50, merge=False)}
        assert "gone.mp4" not in paths and {"renamed.mp4", "moved.mp4", "edit.mp4"} <= paths
        found = lib.search_image(cv2.cvtColor(pattern(999, 2), cv2.COLOR_BGR2RGB), k=1)
        assert Path(found[0].path).name == "edit.mp4"

        # a second copy of a file reuses the vectors: no encoding at all
        counted.clear()
        shutil.copy(videos / "keep.mp4", videos / "copy of keep.mp4")
        sync = lib.sync()
        assert [Path(p).name for p in sync.copied] == ["copy of keep.mp4"]
        assert lib.index_job().run().frames == 0 and sum(counted) == 0
        assert consistent(lib)


def test_bad_files_are_listed_and_the_rest_indexes(tmp_path, encoder) -> None:
    videos = make_folder(tmp_path / "v", {"good1.mp4": 6, "good2.mp4": 7})
    data = (videos / "good2.mp4").read_bytes()
    (videos / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (videos / "empty.mp4").write_bytes(b"")
    (videos / "random.mp4").write_bytes(np.random.default_rng(0).bytes(50_000))
    (videos / "readme.txt").write_text("holiday videos 2024\n")
    with Library(encoder, tmp_path / "lib") as lib:
        _, report = index_all(lib, videos)
        assert sorted(Path(o.path).name for o in report.encoded) == ["good1.mp4", "good2.mp4"]
        status = lib.status()
    errors = {Path(e.path).name: e.text for e in status.errors}
    assert set(errors) == {"truncated.mp4", "empty.mp4", "random.mp4"}
    assert errors["empty.mp4"] == "empty file"
    assert "decode" in errors["random.mp4"] and "decode" in errors["truncated.mp4"]
    assert [(Path(s.path).name, s.text) for s in status.skipped] == [("readme.txt", "text file")]
    assert status.indexed == 2 and status.failed == 3


def test_searching_from_another_thread_while_indexing(tmp_path, encoder) -> None:
    videos = make_folder(tmp_path / "v", {f"c{i:02d}.mp4": 12 for i in range(16)})
    query_image = cv2.cvtColor(pattern(105, 3), cv2.COLOR_BGR2RGB)
    with Library(encoder, tmp_path / "lib") as lib:
        lib.add_folder(videos)
        lib.sync()
        job = lib.index_job(workers=2)
        errors: list[BaseException] = []
        during = [0]

        def searcher() -> None:
            try:
                for i in range(200):
                    running = indexer.is_alive()
                    if i % 4 == 3:
                        lib.search_image(query_image, k=5)
                    else:
                        lib.search(f"a clip number {i}", k=5)
                    during[0] += running
            except BaseException as exc:
                errors.append(exc)

        indexer = threading.Thread(target=job.run)
        indexer.start()
        reader = threading.Thread(target=searcher)
        reader.start()
        reader.join(120)
        indexer.join(120)
        assert not errors, errors
        assert during[0] > 0, "no search overlapped the indexing"
        assert consistent(lib)
        assert len(lib.search("anything", k=100, merge=False)) == lib.catalog.segment_count()


def test_pause_resume_cancel_and_resume_later(tmp_path, encoder) -> None:
    videos = make_folder(tmp_path / "v", {f"c{i}.mp4": 6 for i in range(6)})
    states: list[str] = []
    with Library(encoder, tmp_path / "lib") as lib:
        lib.add_folder(videos)
        lib.sync()
        job = lib.index_job(on_progress=lambda p: states.append(p.state))
        first = threading.Event()
        job.on_video = lambda outcome: (job.pause(), first.set())
        result = {}
        runner = threading.Thread(target=lambda: result.setdefault("report", job.run()))
        runner.start()
        assert first.wait(30)
        frames = job.progress().frames
        time.sleep(0.4)
        assert job.paused and job.progress().frames == frames  # nothing moves while paused
        assert "paused" in states
        job.on_video = lambda outcome: job.cancel()
        job.resume()
        runner.join(30)
        report = result["report"]
        assert report.cancelled and len(report.encoded) == 2
        assert states[-1] == "cancelled"
        assert consistent(lib)
        pending = lib.pending()
        assert len(pending) == 6 - len(report.encoded)
        rest = lib.index_job().run()
        assert len(rest.encoded) == len(pending) and not lib.pending()


def test_folder_filter_and_removal(tmp_path, encoder) -> None:
    home = make_folder(tmp_path / "home", {"h.mp4": 6})
    trip = make_folder(tmp_path / "trip", {"t.mp4": 6, "inner/deep.mp4": 6})
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, home, trip)
        only_trip = lib.search("the sea", k=20, folders=[trip])
        assert {Path(r.path).name for r in only_trip} == {"t.mp4", "deep.mp4"}
        inner = lib.search("the sea", k=20, folders=[trip / "inner"])
        assert {Path(r.path).name for r in inner} == {"deep.mp4"}
        with pytest.raises(QueryError, match="watched"):
            lib.search("x", folders=[tmp_path / "elsewhere"])
        assert lib.remove_folder(trip) == 2
        assert {Path(r.path).name for r in lib.search("the sea", k=20)} == {"h.mp4"}
        assert consistent(lib)
        with pytest.raises(LibraryError, match="not a watched folder"):
            lib.remove_folder(trip)


def test_offline_folder_keeps_its_videos(tmp_path, encoder) -> None:
    drive = make_folder(tmp_path / "drive", {"a.mp4": 6})
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, drive)
        drive.rename(tmp_path / "unplugged")
        sync = lib.sync()
        assert sync.offline == [str(drive.resolve())] and not sync.deleted
        assert lib.status().indexed == 1 and lib.search("x", k=5)


def test_vector_index_recovers_from_loss_and_corruption(tmp_path, encoder) -> None:
    videos = make_folder(tmp_path / "v", {"a.mp4": 10, "b.mp4": 10})
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, videos)
        expected = [(r.path, r.t0, r.t1) for r in lib.search("a dog", k=5)]
    index_file = tmp_path / "lib" / "segments.hnsw"
    for damage in ("delete", "truncate", "flip"):
        if damage == "delete":
            index_file.unlink()
        elif damage == "truncate":
            index_file.write_bytes(index_file.read_bytes()[: index_file.stat().st_size // 2])
        else:
            data = bytearray(index_file.read_bytes())
            data[len(data) // 2] ^= 0xFF
            index_file.write_bytes(bytes(data))
        with Library(encoder, tmp_path / "lib") as lib:
            assert lib.open_report.startswith("rebuilt"), (damage, lib.open_report)
            assert consistent(lib)
            assert [(r.path, r.t0, r.t1) for r in lib.search("a dog", k=5)] == expected
            lib.writable()  # saving on close repairs the file
        with Library(encoder, tmp_path / "lib") as lib:
            assert lib.open_report == "loaded"


def test_one_library_per_model_and_settings_are_kept(tmp_path, encoder, convert_tiny) -> None:
    _, other = convert_tiny(tmp_path / "other", "meanP", seed=5)
    with Library(encoder, tmp_path / "lib", segment=SegmentRule(6.0, 3.0)):
        pass
    with pytest.raises(LibraryError, match="indexed with the model"):
        Library(Encoder(other.bundle, force_cpu=True), tmp_path / "lib")
    with pytest.raises(LibraryError, match="6 s segments"):
        Library(encoder, tmp_path / "lib", segment=SegmentRule(10.0, 5.0))
    with Library(encoder, tmp_path / "lib") as lib:
        assert lib.settings.segment == SegmentRule(6.0, 3.0)
    # the default library lives in the per-user data folder, never next to the videos
    with Library(encoder) as lib:
        assert Path(os.environ["CLIPSEEK_HOME"]) in lib.root.parents


def test_a_second_writer_is_refused(tmp_path, encoder) -> None:
    with Library(encoder, tmp_path / "lib") as first, Library(encoder, tmp_path / "lib") as second:
        second.lock_wait = 0.2
        with first.writing():  # the lock is held while a change is being written ...
            with pytest.raises(LibraryBusy):
                second.add_folder(tmp_path)
            assert second.search("reading still works", k=1) == []
        second.add_folder(tmp_path)  # ... and only then


def test_rebuild_with_new_segment_length_needs_no_decoding(tmp_path, encoder, counted) -> None:
    videos = make_folder(tmp_path / "v", {"a.mp4": 20})
    with Library(encoder, tmp_path / "lib") as lib:
        index_all(lib, videos)
        counted.clear()
        assert lib.rebuild(SegmentRule(4.0, 2.0)) == lib.catalog.segment_count() == 9
        assert sum(counted) == 0 and consistent(lib)
        best = lib.search_image(frame_at(videos / "a.mp4", 13.5), k=1)[0]
        assert (best.t0, best.t1) in {(10.0, 14.0), (12.0, 16.0), (10.0, 16.0)}


def test_a_running_job_takes_videos_added_while_it_runs(tmp_path, encoder) -> None:
    """A folder dropped in mid-job joins that job instead of waiting for the next one."""
    first = make_folder(tmp_path / "first", {"a.mp4": 6, "b.mp4": 6})
    second = make_folder(tmp_path / "second", {"c.mp4": 5})
    with Library(encoder, tmp_path / "lib") as lib:
        lib.add_folder(first)
        lib.sync()
        extended: list[bool] = []
        totals: list[int] = []

        def on_video(outcome) -> None:
            if not extended:
                lib.add_folder(second)
                lib.sync([second])
                extended.append(job.extend(lib.pending()))

        job = lib.index_job(on_video=on_video, on_progress=lambda p: totals.append(p.files_total))
        report = job.run()
        assert extended == [True]
        assert sorted(Path(o.path).name for o in report.encoded) == ["a.mp4", "b.mp4", "c.mp4"]
        assert max(totals) == 3 and not lib.pending()
        assert not job.extend(lib.pending())  # finished: the caller must start a new job
        assert consistent(lib)


def test_a_job_whose_decoders_ran_out_still_takes_new_videos(tmp_path, encoder) -> None:
    """Videos added after the last decode finished (but before the job ended) still join it."""
    first = make_folder(tmp_path / "first", {"a.mp4": 4})
    second = make_folder(tmp_path / "second", {"c.mp4": 5, "d.mp4": 3})  # unlike a.mp4
    with Library(encoder, tmp_path / "lib") as lib:
        lib.add_folder(first)
        lib.sync()
        extended: list[bool] = []

        def on_video(outcome) -> None:
            if not extended:
                time.sleep(0.3)  # the lone decoder has found its queue empty and quit by now
                lib.add_folder(second)
                lib.sync([second])
                extended.append(job.extend(lib.pending()))

        job = lib.index_job(on_video=on_video, workers=2)
        report = job.run()
        assert extended == [True]
        assert not report.failed, report.failed
        assert sorted(Path(o.path).name for o in report.encoded) == ["a.mp4", "c.mp4", "d.mp4"]
        assert not lib.pending() and consistent(lib)


@pytest.mark.parametrize(
    ("provider", "cpus", "workers"),
    [
        ("CPUExecutionProvider", 1, 1),
        ("CPUExecutionProvider", 2, 1),
        ("CPUExecutionProvider", 8, 2),
        ("CPUExecutionProvider", 16, 4),
        ("CPUExecutionProvider", 64, 4),
        ("CUDAExecutionProvider", 2, 1),
        ("CUDAExecutionProvider", 4, 2),
        ("CUDAExecutionProvider", 8, 4),
        ("CUDAExecutionProvider", 64, 4),
    ],
)
def test_decode_workers_follow_the_provider_and_cores(provider, cpus, workers) -> None:
    from core.ingest.job import auto_decode_workers

    assert auto_decode_workers(provider, cpus) == workers


def test_a_job_picks_its_decode_workers_unless_told(tmp_path, encoder, monkeypatch) -> None:
    import core.ingest.job

    folder = make_folder(tmp_path / "v", {f"{i}.mp4": 2 for i in range(3)})
    monkeypatch.setattr(core.ingest.job.os, "cpu_count", lambda: 16)
    with Library(encoder, tmp_path / "lib") as lib:
        lib.add_folder(folder)
        lib.sync()
        assert lib.index_job(workers=1).workers == 1
        job = lib.index_job()
        assert job.workers == 4  # a 16-core machine without a GPU
        report = job.run()
        assert len(report.encoded) == 3 and not report.failed
        assert consistent(lib)
        monkeypatch.setattr(core.ingest.job.os, "cpu_count", lambda: 8)
        monkeypatch.setattr(Encoder, "provider", property(lambda self: "CUDAExecutionProvider"))
        assert lib.index_job().workers == 4  # 8 cores feeding a GPU
