"""The desktop app, driven as a user would: drop a folder, watch it index, search, preview.

Everything runs on the real window (offscreen), the real engine threads and the shipped demo
model; the videos are synthetic scenes the demo model was not trained on.
"""

from __future__ import annotations

import itertools
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.model.registry import DEMO_MODEL
from desktop_app.main_window import MainWindow
from desktop_app.results import HeaderRole
from tests.app_support import LoopLatency, drop, drop_and_pause, search


def test_drop_index_search_preview(qtbot, window, footage) -> None:
    folder, captions, long_video, second_scene = footage
    assert window.center.currentWidget() is window.welcome  # first run: "drop a folder here"
    assert window.status_line.provider_label.text() == "Running on the CPU"
    assert window.status_line.model_label.text() == f"Model: {window.status.title}"

    progress = []
    finished = []
    window.engine.progress.connect(progress.append)
    window.engine.jobFinished.connect(finished.append)
    latency = LoopLatency()
    latency.start()
    drop(window, [folder])
    qtbot.waitUntil(lambda: bool(finished), timeout=180_000)
    worst = latency.stop()

    # indexing reported progress, file by file, and finished with every good video
    assert finished[0].encoded == 11 and finished[0].failed == 1
    done = [p.files_done for p in progress]
    assert done == sorted(done) and len(set(done)) >= 5
    assert progress[-1].files_total == 12
    qtbot.waitUntil(lambda: window.snapshot.indexed == 11, timeout=20_000)
    assert window.center.currentWidget() is window.results_stack
    assert not window.indexing_bar.isVisible()
    # the corrupt file is in the problems panel, with its reason
    rows = window.problems.rows()
    assert [name for name, _ in rows] == ["broken.mp4"]
    assert "decode" in rows[0][1]
    assert (
        window.status_line.problems_button.isVisible()
        and window.status_line.problems_button.text() == "1 problem"
    )

    # typing a caption shows its video first
    caption, video = next(iter(captions.items()))
    response = search(qtbot, window, caption)
    assert response.error is None and response.results
    assert response.results[0].path == video
    assert window.results_view.isVisible()

    # a moment in the middle of a longer video: selecting it plays it from its start
    response = search(qtbot, window, second_scene)
    best = response.results[0]
    assert best.path == str(long_video)
    assert best.t0 >= 8.0, best  # the second scene starts at 12 s
    window.results_view.setFocus()
    window.select_result(window.results_model.first_result_row())
    qtbot.waitUntil(lambda: window.player.playing, timeout=10_000)
    qtbot.waitUntil(lambda: window.player.position > best.t0, timeout=10_000)
    assert best.t0 <= window.player.position <= best.t1
    assert window.player.timeline.moments and window.detail_title.text() == "long.mp4"

    print(
        f"worst UI-thread gap while indexing: {worst * 1000:.1f} ms;"
        f" {len(progress)} progress updates"
    )
    assert worst < 0.100, f"the UI thread was blocked for {worst * 1000:.0f} ms while indexing"


def test_keyboard_grouping_and_actions(qtbot, indexed, footage, monkeypatch) -> None:
    window = indexed
    second_scene = footage[3]
    opened = []
    monkeypatch.setattr("desktop_app.main_window.open_in_system_player", opened.append)

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search_box.hasFocus()
    search(qtbot, window, second_scene)
    first = window.response.results[0]

    def moment(r):  # (its thumbnail may turn into its best second's meanwhile)
        return (r.path, r.t0, r.t1)

    qtbot.keyClick(window.search_box, Qt.Key.Key_Down)  # into the results, on the best one
    assert window.results_view.hasFocus() and moment(window.current_result()) == moment(first)
    qtbot.keyClick(window.results_view, Qt.Key.Key_Right)
    assert moment(window.current_result()) == moment(window.response.results[1])
    qtbot.keyClick(window.results_view, Qt.Key.Key_Return)  # Enter opens it
    assert opened == [window.response.results[1].path]

    # Space plays and pauses the preview (not while typing in the search box)
    qtbot.waitUntil(lambda: window.player.playing, timeout=10_000)
    qtbot.keyClick(window.results_view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.player.playing, timeout=20_000)
    qtbot.keyClick(window.results_view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.player.playing, timeout=20_000)

    # grouped: a header per video shown, moments under it; the arrows never land on a header
    window.group_button.setChecked(True)
    model = window.results_model
    model.show_more()  # enough videos for the arrows to cross from one to the next
    headers = [model.index(i).data(HeaderRole) for i in range(model.rowCount())]
    assert headers[0] is not None and headers[0].path == first.path
    assert sum(h is not None for h in headers) == len({r.path for r in model.shown_results()})
    window.select_result(model.first_result_row())
    rows = [window.results_view.currentIndex().row()]
    for _ in range(4):
        qtbot.keyClick(window.results_view, Qt.Key.Key_Right)
        assert window.current_result() is not None
        assert model.index(window.results_view.currentIndex().row()).data(HeaderRole) is None
        rows.append(window.results_view.currentIndex().row())
    assert any(b - a > 1 for a, b in itertools.pairwise(rows))  # a header was stepped over

    # copy path with time range
    window.select_result(model.first_result_row())
    window.copy_current()
    copied = QApplication.clipboard().text()
    r = window.current_result()
    assert copied.startswith(r.path) and f"t={r.t0:g},{r.t1:g}" in copied

    # Esc clears the search: the library by date again, one card per video
    window.results_view.setFocus()
    qtbot.keyClick(window.results_view, Qt.Key.Key_Escape)
    assert window.search_box.text() == "" and window.browsing
    qtbot.waitUntil(lambda: window.response.request.browsing, timeout=15_000)
    assert window.results_model.browsing and window.current_result() is None
    assert len(window.results_model.shown_results()) == window.snapshot.indexed


def test_query_errors_are_shown_not_raised(qtbot, indexed) -> None:
    response = search(qtbot, indexed, " ".join(["candles"] * 90))
    assert response.error and "shorten it" in response.error
    assert "shorten it" in indexed.summary.text()
    assert indexed.results_model.rowCount() == 0


def test_dropping_a_picture_searches_by_it(qtbot, indexed, footage, tmp_path) -> None:
    import cv2

    long_video = footage[2]
    cap = cv2.VideoCapture(str(long_video))
    cap.set(cv2.CAP_PROP_POS_MSEC, 18_000)
    ok, frame = cap.read()
    cap.release()
    assert ok
    picture = tmp_path / "still.png"
    cv2.imwrite(str(picture), frame)
    drop(indexed, [picture])
    qtbot.waitUntil(  # (the library by date was shown before: wait for the picture's answer)
        lambda: indexed.response is not None and indexed.response.request.image is not None,
        timeout=15_000,
    )
    best = indexed.response.results[0]
    assert best.path == str(long_video) and best.t0 <= 18 <= best.t1
    assert "still.png" in indexed.summary.text()
    # ... and "find similar" on a result searches by its thumbnail, leaving out the moment it
    # started from (it came first, labelled a weak match of itself: issue 23, item 1)
    indexed.select_result(indexed.results_model.first_result_row())
    mine = indexed.current_result()
    indexed.similar_to_current()
    qtbot.waitUntil(
        lambda: (
            indexed.response.request.image is not None
            and not isinstance(indexed.response.request.image, str)
        ),
        timeout=15_000,
    )
    assert indexed.response.results
    assert not any(
        r.path == mine.path and r.t0 < mine.t1 and r.t1 > mine.t0 for r in indexed.response.results
    )


def test_new_files_are_picked_up_while_the_app_runs(qtbot, indexed, footage) -> None:
    folder = footage[0]
    assert str(folder) in indexed.watcher.directories
    before = indexed.snapshot.indexed
    from tests.videos import write_video

    new = write_video(folder.parent / "incoming" / "new.mp4", seed=7, seconds=5)
    new.rename(folder / "new.mp4")  # appears at once, whole
    try:
        qtbot.waitUntil(lambda: indexed.snapshot.indexed == before + 1, timeout=30_000)
    finally:
        (folder / "new.mp4").unlink()
    qtbot.waitUntil(lambda: indexed.snapshot.indexed == before, timeout=30_000)


def test_a_folder_dropped_while_indexing_joins_the_job(qtbot, window, tmp_path) -> None:
    from tests.videos import write_video

    first = tmp_path / "first"
    second = tmp_path / "second"
    for i in range(10):
        write_video(first / f"a{i}.mp4", seed=i, seconds=20, size=(320, 240), fps=15)
    write_video(second / "b.mp4", seed=99, seconds=6)
    started, finished, answers = [], [], []
    window.engine.jobStarted.connect(lambda: started.append(1))
    window.engine.jobFinished.connect(finished.append)
    window.engine.searchDone.connect(answers.append)

    drop_and_pause(qtbot, window, first, after=1)  # the job is surely still running
    qtbot.waitUntil(lambda: window.snapshot.indexed >= 1, timeout=10_000)
    window.engine.search_text("a red square")  # searching works while indexing
    qtbot.waitUntil(lambda: bool(answers), timeout=10_000)
    drop(window, [second])  # served by the paused job, which takes the new video
    qtbot.waitUntil(lambda: len(window.library_panel.folder_paths) == 2, timeout=10_000)
    qtbot.waitUntil(lambda: window.indexing_bar.last.files_total == 11, timeout=10_000)
    window.engine.resume()
    qtbot.waitUntil(lambda: bool(finished), timeout=180_000)
    assert len(started) == 1 and finished[0].encoded == 11  # one job took both folders
    assert answers[0].error is None and answers[0].results


def test_remove_folder_and_layout_persist(qtbot, indexed, monkeypatch) -> None:
    window = indexed
    window.group_button.setChecked(True)
    window.resize(1100, 700)
    window.splitter.setSizes([200, 500, 400])
    sizes = window.splitter.sizes()
    size = (window.width(), window.height())
    asked = []
    monkeypatch.setattr(window, "ask", lambda *a: asked.append(a) or True)
    window.remove_folder(window.library_panel.folder_paths[0])
    qtbot.waitUntil(lambda: window.snapshot.empty, timeout=30_000)
    assert asked[0][2] == "Stop watching"  # the button says what it does
    assert window.center.currentWidget() is window.welcome  # nothing left: welcome again
    window.close()

    again = MainWindow(model=str(DEMO_MODEL))
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: again.snapshot is not None, timeout=30_000)
    assert again.group_button.isChecked()
    # (the offscreen screen is small: Qt keeps a restored window's width inside it)
    assert again.height() == size[1] and again.settings.state("geometry") is not None
    assert again.splitter.sizes()[0] == sizes[0]  # the library panel keeps its width
    again.close()


@pytest.mark.parametrize("decoders", [None, 3], ids=["decoders-auto", "decoders-3"])
def test_ui_stays_responsive_while_indexing_real_sized_video(
    qtbot, window, tmp_path, monkeypatch, decoders
) -> None:
    """Seconds of decoding busy 640×360 footage (noise is costly to decode), with searches.

    Run with this machine's own choice of decoders and with three at once, as a many-core or
    GPU machine would run them (here they compete with the window for two cores).
    """
    import cv2
    import numpy as np

    import core.ingest.job

    if decoders is not None:
        monkeypatch.setattr(core.ingest.job, "auto_decode_workers", lambda *a, **k: decoders)

    folder = tmp_path / "camera"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        writer = cv2.VideoWriter(
            str(folder / f"clip{i}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 360)
        )
        for _ in range(30 * 20):
            writer.write(rng.integers(0, 256, (360, 640, 3), np.uint8))
        writer.release()
    root = window.snapshot.root
    window.replace_config(sample_rate=15.0)  # 15 frames/s: a library of its own, 30x the work
    qtbot.waitUntil(lambda: window.snapshot.root != root, timeout=30_000)
    assert window.snapshot.sample_rate == 15.0
    finished, answers = [], []
    window.engine.jobFinished.connect(finished.append)
    window.engine.searchDone.connect(answers.append)
    latency = LoopLatency()
    latency.start()
    started = time.perf_counter()
    drop(window, [folder])
    typed = 0
    while not finished and time.perf_counter() - started < 180:
        qtbot.wait(150)
        if typed < 5:  # a search now and then, as a user would
            qtbot.keyClicks(window.search_box, "ab"[typed % 2])
            typed += 1
    seconds = time.perf_counter() - started
    worst = latency.stop()
    print(f"indexing took {seconds:.1f} s; worst UI-thread gap {worst * 1000:.1f} ms")
    assert finished and finished[0].encoded == 3
    assert answers and all(a.error is None for a in answers)
    assert seconds > 1.0  # the measurement covered real work
    assert worst < 0.100, f"the UI thread was blocked for {worst * 1000:.0f} ms while indexing"


def test_settings_segment_length_and_bad_model_folder(qtbot, indexed, tmp_path) -> None:
    from desktop_app.settings_dialog import SettingsDialog

    window = indexed
    before = window.snapshot.segments
    dialog = SettingsDialog(window.prefs, library_segment=8.0, library_rate=1.0, parent=window)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    dialog.model_edit.setText(str(tmp_path))  # not a bundle: said so, and OK is disabled
    assert "not a model bundle" in dialog.model_error.text() and not ok.isEnabled()
    dialog.model_edit.setText("")
    assert ok.isEnabled()
    dialog.segment_spin.setValue(4.0)
    window.apply_preferences(dialog.preferences())  # re-cut from stored vectors
    qtbot.waitUntil(lambda: window.snapshot.segment_seconds == 4.0, timeout=30_000)
    assert window.snapshot.segments > before
    assert window.settings.preferences().segment_seconds == 4.0  # remembered


def test_save_clip_from_a_result(qtbot, indexed, footage, tmp_path, monkeypatch) -> None:
    pytest.importorskip("av")
    window = indexed
    search(qtbot, window, footage[3])
    window.select_result(window.results_model.first_result_row())
    r = window.current_result()
    dest = tmp_path / "moment.mp4"
    monkeypatch.setattr(
        "desktop_app.main_window.QFileDialog.getSaveFileName", lambda *a, **k: (str(dest), "")
    )
    window.save_current()
    qtbot.waitUntil(lambda: "Saved" in window.statusBar().currentMessage(), timeout=30_000)
    import cv2

    cap = cv2.VideoCapture(str(dest))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    assert abs(frames / fps - (r.t1 - r.t0)) < 0.5


def test_clipseek_demo_opens_the_app_on_the_demo_library(qtbot, monkeypatch) -> None:
    from core.cli import main as cli

    launched = []
    monkeypatch.setattr("subprocess.call", lambda command: launched.append(command) or 0)
    assert cli.main(["demo", "--videos", "10", "--cpu"]) == 0
    command = launched[0]
    assert command[1:3] == ["-m", "desktop_app"]
    args = dict(zip(command[3::2], command[4::2], strict=False))
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")
    window = MainWindow(model=args["--model"], library=args["--library"])
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.snapshot is not None, timeout=30_000)
    assert window.snapshot.demo and window.snapshot.indexed == 10
    assert window.demo_banner.isVisible() and "Try “" in window.demo_banner.label.text()
    assert window.windowTitle() == "Demo library"  # the desktop adds " — ClipSeek"
    window.close()


def test_try_the_demo_library_from_the_welcome_view(qtbot, window) -> None:
    finished = []
    window.engine.jobFinished.connect(finished.append)
    window.welcome.demo_button.click()
    qtbot.waitUntil(lambda: bool(finished), timeout=120_000)
    qtbot.waitUntil(lambda: window.snapshot.demo and window.snapshot.indexed == 40, timeout=30_000)
    caption = window.demo_banner.label.text().split("“")[1].rstrip("”.")
    response = search(qtbot, window, caption)
    assert response.results and response.error is None
    window.demo_banner.button.click()  # back to the user's own (empty) library
    qtbot.waitUntil(lambda: not window.snapshot.demo, timeout=30_000)
    assert window.center.currentWidget() is window.welcome and not window.demo_banner.isVisible()


def test_changes_made_while_the_app_was_closed_are_picked_up_at_start(
    qtbot, indexed, footage, tmp_path
) -> None:
    from tests.videos import write_video

    folder = footage[0]
    before = indexed.snapshot.indexed
    indexed.close()
    new = write_video(folder / "while_closed.mp4", seed=11, seconds=5)
    try:
        again = MainWindow(model=str(DEMO_MODEL))
        qtbot.addWidget(again)
        again.show()
        qtbot.waitUntil(
            lambda: again.snapshot is not None and again.snapshot.indexed == before + 1,
            timeout=60_000,
        )
        again.close()
    finally:
        new.unlink()


def test_cancel_keeps_finished_videos_and_waits_for_the_user(qtbot, window, tmp_path) -> None:
    from tests.videos import write_video

    folder = tmp_path / "many"
    for i in range(6):
        write_video(folder / f"v{i}.mp4", seed=i, seconds=6)
    started, finished = [], []
    window.engine.jobStarted.connect(lambda: started.append(1))
    window.engine.jobFinished.connect(finished.append)

    drop_and_pause(qtbot, window, folder, after=2)
    window.indexing_bar.cancel_button.click()
    qtbot.waitUntil(lambda: bool(finished), timeout=30_000)
    assert finished[0].cancelled and 2 <= finished[0].encoded < 6
    assert "Indexing stopped" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.snapshot.indexed == finished[0].encoded, timeout=20_000)
    bar = window.indexing_bar  # stopping is not a dead end: the bar offers to go on
    assert bar.isVisible() and bar.state.text() == "Indexing stopped"
    assert bar.resume_button.isVisible() and not bar.cancel_button.isVisible()
    assert bar.label.text() == f"{6 - finished[0].encoded} videos waiting"

    window.watcher.periodic.emit()  # an automatic rescan does not undo the user's cancel
    qtbot.waitUntil(
        lambda: "waiting to be indexed" in window.statusBar().currentMessage(), timeout=30_000
    )
    assert len(started) == 1
    bar.resume_button.click()  # the user asks again
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=60_000)
    qtbot.waitUntil(lambda: window.snapshot.indexed == 6, timeout=20_000)
    assert len(started) == 2
    qtbot.waitUntil(lambda: not bar.isVisible(), timeout=10_000)


def test_dropping_something_that_is_not_a_video_is_refused_politely(qtbot, window, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list")
    drop(window, [notes])
    assert "Not a folder or a video: notes.txt" in window.statusBar().currentMessage()
    qtbot.wait(300)
    assert window.snapshot.empty and window.center.currentWidget() is window.welcome


def test_switching_between_videos_keeps_playing_the_selected_moment(qtbot, indexed, footage):
    window = indexed
    search(qtbot, window, footage[3])
    results = window.response.results
    other = next(i for i, r in enumerate(results) if r.path != results[0].path)
    for row in (0, other, 0):
        r = results[row]
        window.select_result(window.results_model.row_of(r))
        qtbot.waitUntil(
            lambda r=r: (
                window.player.path == r.path
                and window.player.playing
                and window.player.position > r.t0 + 0.2
            ),
            timeout=10_000,
        )
        assert r.t0 <= window.player.position <= r.t1
