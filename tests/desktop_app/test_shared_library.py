"""The window open on a library while another process (``clipseek index``) changes it."""

from __future__ import annotations

from pathlib import Path

from core.library import Library
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL
from tests.videos import write_video


def test_the_window_shows_what_another_process_indexed(qtbot, window, tmp_path) -> None:
    folder = tmp_path / "from the terminal"
    for seed, name in enumerate(["one.mp4", "two.mp4"], 500):
        write_video(folder / name, seed=seed, seconds=6)
    root = Path(window.snapshot.root)
    assert window.snapshot.indexed == 0 and window.engine.idle

    # another process writes the library while the window stays open and idle
    with Library(Encoder(DEMO_MODEL, force_cpu=True), root) as other:
        other.add_folder(folder)
        other.sync()
        report = other.index_job(workers=1).run()
        assert len(report.encoded) == 2

        # within seconds, without a restart: the panels, then the results
        qtbot.waitUntil(lambda: window.snapshot.indexed == 2, timeout=15_000)
        assert [Path(f.path).name for f in window.snapshot.folders] == [folder.name]
        qtbot.waitUntil(
            lambda: (
                window.response is not None
                and {Path(r.path).name for r in window.response.results} == {"one.mp4", "two.mp4"}
            ),
            timeout=15_000,
        )

        # the window's own change while the other process writes: one line, no crash
        window.engine._library.lock_wait = 0.2
        with other.writing():
            window.engine.rescan()
            qtbot.waitUntil(
                lambda: "another ClipSeek process" in window.statusBar().currentMessage(),
                timeout=15_000,
            )
        qtbot.waitUntil(lambda: window.engine.idle, timeout=15_000)
        window.engine.rescan()  # and once it is done, the window writes again
        qtbot.waitUntil(
            lambda: "another ClipSeek process" not in window.statusBar().currentMessage(),
            timeout=15_000,
        )
        qtbot.waitUntil(lambda: window.engine.idle, timeout=15_000)
    assert window.snapshot.indexed == 2
