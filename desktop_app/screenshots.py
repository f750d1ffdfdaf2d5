"""Render the app's main states to PNG files: ``python -m desktop_app.screenshots --out DIR``.

Runs the real window on the demo model and demo-style synthetic videos, in a scratch data
folder (your own library is never touched), under Qt's offscreen platform unless a display is
set. States: welcome, indexing, results with the preview playing, problems, the library browsed by
date, a date-filtered search sorted newest first, settings; each at 1280×800 and 1920×1080.
The videos' modification times are spread from January 2023 on, about five a month (demo
videos carry no shooting date), so browsing has months to show.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop_app.main_window import MainWindow

SIZES = [(1280, 800), (1920, 1080)]


def _wait(app: Any, condition: Callable[..., bool], timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the app did not reach the expected state")
        app.processEvents()
        time.sleep(0.01)


def _first_row(window: MainWindow) -> int:
    row = window.results_model.first_result_row()
    assert row is not None, "the search found moments"
    return row


def _settle(app: Any, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def render(out: Path, videos: int = 60) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="clipseek-shots-"))
    os.environ["CLIPSEEK_HOME"] = str(scratch / "home")
    os.environ["CLIPSEEK_FORCE_CPU"] = "1"
    from PySide6.QtCore import QPoint, QRect, Qt
    from PySide6.QtGui import QColor, QPainter
    from PySide6.QtWidgets import QApplication, QWidget

    from core import DEMO_MODEL, DEMO_SPLIT_SEED, Progress, VideoSpec
    from core import generate_videos as generate
    from core import plan_videos as plan
    from core import render_video as render
    from desktop_app.main_window import MainWindow
    from desktop_app.settings_dialog import SettingsDialog

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ClipSeek")
    generate(scratch / "Holidays", videos, 2026, split_seed=DEMO_SPLIT_SEED, test_only=True)
    folder = scratch / "Holidays" / "videos"
    # longer videos of several scenes, so that a query matches moments inside them
    scenes = [
        spec.scenes[0]
        for spec in plan(40, 7, split_seed=DEMO_SPLIT_SEED, test_only=True, temporal_fraction=0)
    ]
    for k in range(6):
        parts = tuple(scenes[4 * k : 4 * k + 4])
        spec = VideoSpec(f"outing_{k + 1:02d}", "test", parts)
        render(spec, folder / f"outing_{k + 1:02d}.mp4", size=160, fps=8, seconds=48, seed=7)
    caption = scenes[4 * 2 + 2].caption()  # the third scene of outing_03
    (folder / "IMG_0412.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    for i, video in enumerate(sorted(folder.glob("*.mp4"))):  # ~5 a month, from 2023 on
        month = i // 5
        shot = datetime(2023 + month // 12, 1 + month % 12, 1 + (i * 5) % 27, 9 + i % 10)
        os.utime(video, (shot.timestamp(), shot.timestamp()))
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def shoot(window: MainWindow, name: str, w: int, h: int, dialog: QWidget | None = None) -> None:
        _settle(app)
        path = out / f"{name}-{w}x{h}.png"
        picture = window.grab()
        frame = window.player.current_frame()
        if frame is not None:  # a video widget grabs blank: paint the frame it shows
            video = window.player.video
            area = QRect(video.mapTo(window, QPoint(0, 0)), video.size())
            scaled = frame.scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            painter = QPainter(picture)
            painter.fillRect(area, Qt.GlobalColor.black)
            painter.drawImage(
                area.left() + (area.width() - scaled.width()) // 2,
                area.top() + (area.height() - scaled.height()) // 2,
                scaled,
            )
            painter.end()
        if dialog is not None:  # a dialog is a window of its own: paint it over, centred
            shot = dialog.grab()
            painter = QPainter(picture)
            painter.fillRect(picture.rect(), QColor(0, 0, 0, 60))
            x = (picture.width() - shot.width()) // 2
            y = (picture.height() - shot.height()) // 2
            painter.fillRect(
                QRect(x - 1, y - 1, shot.width() + 2, shot.height() + 2), QColor(90, 90, 90)
            )
            painter.drawPixmap(x, y, shot)
            painter.end()
        picture.save(str(path))
        written.append(path)

    for w, h in SIZES:
        home = scratch / f"home-{w}"
        os.environ["CLIPSEEK_HOME"] = str(home)
        window = MainWindow(model=str(DEMO_MODEL))
        window.resize(w, h)
        window.show()
        _wait(app, lambda window=window: window.snapshot is not None)
        shoot(window, "welcome", w, h)

        progress: list[Progress] = []

        def hold(
            p: Progress, window: MainWindow = window, progress: list[Progress] = progress
        ) -> None:
            """Pause a third of the way in, to hold the indexing state still for the picture."""
            progress.append(p)
            if p.state == "indexing" and p.files_done >= videos // 3 and not window.engine.paused:
                window.engine.pause()

        window.engine.progress.connect(hold)
        window.engine.add_paths([str(folder)])
        _wait(app, lambda p=progress: bool(p) and p[-1].state == "paused")
        window.engine.progress.disconnect(hold)
        window.search_box.setText(caption.split(",")[0].split(" on ")[0])
        window.search_box.submit(force=True)
        _wait(app, lambda window=window: window.response is not None)
        _settle(app, 1.0)  # the panels' counts catch up (they refresh twice a second)
        shoot(window, "indexing", w, h)
        window.engine.resume()
        done: list[object] = []
        window.engine.jobFinished.connect(done.append)
        _wait(app, lambda d=done: bool(d), timeout=600)

        window.search_box.setText(caption)
        window.search_box.submit(force=True)
        _wait(
            app,
            lambda window=window: (
                window.response is not None and window.response.request.text == caption
            ),
        )
        window.select_result(_first_row(window))
        _wait(app, lambda window=window: window.player.playing)
        _settle(app, 1.2)
        shoot(window, "results", w, h)

        window.search_box.setText("a shape moving right")
        window.search_box.submit(force=True)
        _wait(
            app,
            lambda window=window: (
                window.response is not None
                and window.response.request.text == "a shape moving right"
            ),
        )
        window.select_result(_first_row(window))
        window.status_line.problems_button.setChecked(True)
        _wait(app, lambda window=window: window.player.playing)
        _settle(app, 1.2)
        shoot(window, "problems", w, h)
        window.status_line.problems_button.setChecked(False)

        window.search_box.setText("")  # an empty box: the library by date
        window.search_box.submit(force=True)
        _wait(app, lambda window=window: window.browsing and window.response is not None
              and window.response.request.browsing)  # fmt: skip
        _settle(app, 1.0)
        shoot(window, "browse", w, h)

        window.date_filter.set_range(date(2023, 6, 1), date(2023, 12, 31))
        window.date_filter.set_order("date")
        window.search_box.setText(caption)
        window.search_box.submit(force=True)
        _wait(
            app,
            lambda window=window: (
                window.response is not None
                and window.response.request.text == caption
                and window.response.request.when.bounded
            ),
        )
        if window.results_model.first_result_row() is not None:
            window.select_result(_first_row(window))
            _wait(app, lambda window=window: window.player.playing)
        _settle(app, 1.2)
        shoot(window, "dated-search", w, h)
        window.date_filter.clear()
        window.date_filter.set_order("relevance")

        snap, status = window.snapshot, window.status
        assert snap is not None and status is not None  # both arrived before the first search
        dialog = SettingsDialog(
            window.prefs,
            active_model=status.title,
            active_provider=status.device,
            library_rate=snap.sample_rate,
            library_segment=snap.segment_seconds,
            parent=window,
        )
        dialog.show()
        _settle(app)
        shoot(window, "settings", w, h, dialog=dialog)
        dialog.close()
        dialog.deleteLater()
        window.close()
        window.deleteLater()
        _settle(app)
    shutil.rmtree(scratch, ignore_errors=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNG files")
    parser.add_argument("--videos", type=int, default=60, help="demo videos to index")
    args = parser.parse_args(argv)
    for path in render(Path(args.out), args.videos):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
