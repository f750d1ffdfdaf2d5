"""The window's decisions that need no widgets: what a settings change does, what a drop is."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from core import FolderStatus
from desktop_app.app_settings import Preferences
from desktop_app.drops import plan_drop
from desktop_app.engine import Snapshot
from desktop_app.preference_change import plan_change, reindex_question
from tests.videos import write_video


def _snap(folders: list[str], *, demo: bool = False, indexed: int = 3) -> Snapshot:
    rows = [FolderStatus(p, True, indexed, indexed, 0, 0, 10) for p in folders]
    return Snapshot(
        "/lib", rows, [], [], [], indexed, indexed, 30, 1.0, 8.0, demo,
        indexed_seconds=600.0, frames_per_second=10.0, speed_measured=True,
    )  # fmt: skip


def test_another_model_or_rate_opens_its_own_library_watching_the_same_folders() -> None:
    old = Preferences()
    snap = _snap(["/home/me/Videos", "/media/phone"])
    for new in (replace(old, model="/models/clip"), replace(old, sample_rate=2.0)):
        change = plan_change(old, new, snap)
        assert change.restart and change.other_library and change.recut_seconds is None
        assert change.carry_folders == ("/home/me/Videos", "/media/phone")
    demo = plan_change(old, replace(old, sample_rate=2.0), _snap(["/demo"], demo=True))
    assert demo.other_library and demo.carry_folders == ()  # the demo's folder stays the demo's


def test_the_cpu_switch_restarts_in_place_and_a_moment_length_recuts() -> None:
    old, snap = Preferences(), _snap(["/v"])
    cpu = plan_change(old, replace(old, force_cpu=True), snap)
    assert cpu.restart and not cpu.other_library and cpu.carry_folders == ()
    recut = plan_change(old, replace(old, segment_seconds=6.0), snap)
    assert not recut.restart and recut.recut_seconds == 6.0
    assert plan_change(old, replace(old, rescan_minutes=30), snap) == plan_change(old, old, snap)


def test_a_new_rate_asks_only_when_it_indexes_again() -> None:
    snap = _snap(["/v"], indexed=3)
    text = reindex_question(snap, 1.0, 2.0, indexed_at_new=0)
    assert text is not None and "3 videos" in text and "1,200 frames" in text
    assert "measured on this computer" in text
    assert reindex_question(snap, 1.0, 2.0, indexed_at_new=3) is None  # already indexed there
    assert reindex_question(_snap(["/v"], indexed=0), 1.0, 2.0, 0) is None  # nothing to redo
    assert reindex_question(None, 1.0, 2.0, 0) is None


def test_a_drop_is_sorted_by_what_the_files_are(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.mov", seed=1, seconds=2)
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not checked here")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "from-camera").write_bytes((tmp_path / "clip.mov").read_bytes())  # no suffix
    (tmp_path / "folder").mkdir()
    names = ["clip.mov", "photo.jpg", "notes.txt", "from-camera", "folder"]
    plan = plan_drop([str(tmp_path / n) for n in names])
    assert [Path(p).name for p in plan.add] == ["clip.mov", "from-camera", "folder"]
    assert [Path(p).name for p in plan.images] == ["photo.jpg"]
    assert [Path(p).name for p in plan.refused] == ["notes.txt"]
    assert plan.search_image is None  # pictures among other things are not a search
    assert plan_drop([str(tmp_path / "photo.jpg")]).search_image == str(tmp_path / "photo.jpg")
