"""The main window: library on the left, results in the middle, the preview on the right.

The window only shows things and forwards requests: all library work goes through
:class:`Engine`, whose signals arrive here on the UI thread. (Saving a clip, which touches no
library, runs on a thread of its own.)
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QModelIndex, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core import (
    DEMO_MODEL,
    Progress,
    SearchResult,
    SpeechReport,
    VideoOutcome,
    logs_dir,
    readable,
    recover,
)
from core import relevance_label as label
from desktop_app.app_settings import AppSettings, Preferences
from desktop_app.banners import DemoBanner, ModelBanner
from desktop_app.clip_saving import save_moment
from desktop_app.date_scrubber import DateScrubber
from desktop_app.drops import dropped_paths, plan_drop
from desktop_app.engine import (
    BROWSE_LIMIT,
    Engine,
    EngineConfig,
    JobSummary,
    SearchResponse,
    Snapshot,
)
from desktop_app.external_player import no_player_text, plan_open
from desktop_app.external_player import start as start_player
from desktop_app.folder_watcher import FolderWatcher
from desktop_app.formatting import (
    media_fragment,
    plural,
    rate_text,
    read_by,
    time_range,
)
from desktop_app.library_panel import LibraryPanel
from desktop_app.menus import Commands, Menus
from desktop_app.model_status import ModelStatus
from desktop_app.preference_change import plan_change, reindex_question
from desktop_app.preview_pane import PreviewPane
from desktop_app.problems_panel import ProblemsPanel
from desktop_app.results import ResultsModel, ResultsView
from desktop_app.search_row import SearchRow
from desktop_app.settings_dialog import SettingsDialog
from desktop_app.status_line import StatusLine
from desktop_app.system_actions import open_in_system_player, reveal_in_file_manager
from desktop_app.text_fit import ElidedLabel, breakable, fit_title
from desktop_app.titles import window_title
from desktop_app.welcome import WelcomeView

log = logging.getLogger(__name__)

#: After a video lands, wait this long before refreshing the current search (more may land).
REFRESH_MS = 1200


class MainWindow(QMainWindow):
    def __init__(
        self,
        model: str | None = None,
        force_cpu: bool = False,
        library: str | None = None,
        *,
        autostart: bool = True,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = AppSettings()
        self.prefs = self.settings.preferences()
        # What the command line asked for this run (None: the saved preferences decide).
        self._overrides: dict[str, Any] = {
            "model": model,
            "force_cpu": force_cpu,
            "library": library,
        }
        self.status: ModelStatus | None = None
        self.snapshot: Snapshot | None = None
        self.response: SearchResponse | None = None
        self.folder_filter: str | None = None
        self.last_query: tuple[str, object] | None = None  # ("text", str) | ("image", path/array)
        self._latest_serial = 0
        self._refreshes: set[int] = set()  # serials of searches repeated to refresh results
        self._image_label: str | None = None  # what a picture search is "looking like"
        self._image_exclude: tuple[str, float, float] | None = None  # "find similar"'s own moment
        self._busy_text = ""

        self.engine = Engine(self)
        self._build()
        self._connect()
        self._restore()
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._repeat_search)
        if autostart:
            self.engine.start(self._config())

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.search_row = SearchRow(self)
        self.search_box = self.search_row.search_box
        self.date_filter = self.search_row.date_filter
        self.group_button = self.search_row.group_button
        # a query, a folder or a picture's name: cut to the window, never widening it
        self.summary = ElidedLabel("", self, Qt.TextElideMode.ElideRight)
        self.summary.setObjectName("searchSummary")
        self.summary.setContentsMargins(12, 0, 12, 4)

        self.demo_banner = DemoBanner(self)
        self.model_banner = ModelBanner(self)
        self.model_install = self.model_banner.button

        # left: library
        self.library_panel = LibraryPanel(self)
        # middle: welcome or results
        self.welcome = WelcomeView(self)
        self.results_model = ResultsModel(self)
        self.results_view = ResultsView(self)
        self.results_view.setModel(self.results_model)
        self.scrubber = DateScrubber(self)
        self.scrubber.hide()
        self.results_area = QWidget(self)
        area = QHBoxLayout(self.results_area)
        area.setContentsMargins(0, 0, 0, 0)
        area.setSpacing(0)
        area.addWidget(self.results_view, 1)
        area.addWidget(self.scrubber)
        self.empty_label = QLabel("", self)
        self.empty_label.setObjectName("emptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text); font-size: 15px;")
        self.results_stack = QStackedWidget(self)
        self.results_stack.addWidget(self.empty_label)
        self.results_stack.addWidget(self.results_area)
        self.center = QStackedWidget(self)
        self.center.addWidget(self.welcome)
        self.center.addWidget(self.results_stack)
        # right: preview
        self.preview_pane = PreviewPane(self)
        self.player = self.preview_pane.player
        self.detail_title = self.preview_pane.title
        self.detail_info = self.preview_pane.info
        self.action_buttons = self.preview_pane.buttons

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.library_panel)
        self.splitter.addWidget(self.center)
        self.splitter.addWidget(self.preview_pane)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setChildrenCollapsible(False)
        self.problems = ProblemsPanel(self)
        self.vsplitter = QSplitter(Qt.Orientation.Vertical, self)
        self.vsplitter.setObjectName("problemsSplitter")
        self.vsplitter.addWidget(self.splitter)
        self.vsplitter.addWidget(self.problems)
        self.vsplitter.setStretchFactor(0, 1)
        self.problems.hide()

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.demo_banner)
        layout.addWidget(self.model_banner)
        layout.addWidget(self.search_row)
        layout.addWidget(self.summary)
        layout.addWidget(self.vsplitter, 1)
        self.setCentralWidget(central)

        self.status_line = StatusLine(self.statusBar(), self)
        self.indexing_bar = self.status_line.indexing_bar
        self.statusBar().showMessage("Starting…")
        self.menus = Menus(
            self.menuBar(),
            self,
            Commands(
                add_folder=self.choose_folder,
                remove_folder=self._remove_selected,
                rescan=lambda: self.engine.rescan(),
                search_by_picture=self.choose_image,
                open_demo=self.open_demo,
                settings=self.open_settings,
                quit=self.close,
                shortcuts=self.show_shortcuts,
                log_folder=self.open_log_folder,
                about=self.show_about,
            ),
        )

    def _connect(self) -> None:
        e = self.engine
        e.modelLoaded.connect(self._on_model)
        e.libraryOpened.connect(self._on_snapshot)
        e.snapshot.connect(self._on_snapshot)
        e.progress.connect(self._on_progress)
        e.videoIndexed.connect(self._on_video)
        e.libraryChanged.connect(self._on_changed_elsewhere)
        e.jobFinished.connect(self._on_job_finished)
        e.speechProgress.connect(self.indexing_bar.update_speech)
        e.speechFinished.connect(self._on_speech_finished)
        e.searchDone.connect(self._on_search_done)
        e.thumbnailsLoaded.connect(self._on_thumbnails)
        e.framesLoaded.connect(self.results_model.add_frames)
        e.busy.connect(self._on_busy)
        e.message.connect(self._on_message)
        self.watcher = FolderWatcher(self, self.prefs.rescan_minutes)
        e.watchDirs.connect(self.watcher.set_directories)
        self.watcher.changed.connect(lambda _dirs: self.engine.rescan(automatic=True))
        self.watcher.periodic.connect(lambda: self.engine.rescan(automatic=True))

        self.search_box.querySubmitted.connect(self.search)
        self.search_box.moveIntoResults.connect(self._focus_results)
        self.search_row.image_button.clicked.connect(self.choose_image)
        self.date_filter.changed.connect(self._on_when_changed)
        self.group_button.toggled.connect(self._set_grouped)
        group_action, problems_action = self.menus.group_action, self.menus.problems_action
        group_action.toggled.connect(self.group_button.setChecked)
        self.group_button.toggled.connect(group_action.setChecked)
        self.search_row.settings_button.clicked.connect(self.open_settings)
        self.demo_banner.button.clicked.connect(self.leave_demo)
        self.model_install.clicked.connect(self.install_real_model)
        problems_button = self.status_line.problems_button
        problems_button.toggled.connect(self.problems.setVisible)
        problems_action.toggled.connect(problems_button.setChecked)
        problems_button.toggled.connect(problems_action.setChecked)

        lp = self.library_panel
        lp.addRequested.connect(self.choose_folder)
        lp.removeRequested.connect(self.remove_folder)
        lp.rescanRequested.connect(lambda p: self.engine.rescan([p]))
        lp.revealRequested.connect(reveal_in_file_manager)
        lp.filterChanged.connect(self._set_filter)
        self.welcome.addRequested.connect(self.choose_folder)
        self.welcome.demoRequested.connect(self.open_demo)
        self.problems.revealRequested.connect(reveal_in_file_manager)
        self.problems.rescanRequested.connect(lambda: self.engine.rescan())

        ib = self.indexing_bar
        ib.pauseRequested.connect(self.engine.pause)
        ib.resumeRequested.connect(self.engine.resume)
        ib.cancelRequested.connect(self.engine.cancel)
        ib.restartRequested.connect(lambda: self.engine.rescan())

        rv = self.results_view
        rv.selectionModel().currentChanged.connect(self._on_current)
        rv.activated.connect(self._activated)
        rv.clicked.connect(self._clicked)
        rv.leaveUp.connect(self.focus_search)
        rv.escaped.connect(self.clear_search)
        rv.playPause.connect(self.player.toggle)
        rv.customContextMenuRequested.connect(self._result_menu)
        self.results_model.modelReset.connect(self._load_missing_thumbnails)
        self.results_model.modelReset.connect(self._update_scrubber)
        rv.frameWanted.connect(lambda r, t: self.engine.load_frames([(r, t)], hover=True))
        self.scrubber.jump.connect(self._jump_to_row)
        pane = self.preview_pane
        pane.momentRequested.connect(self._select_moment_of_video)
        pane.actionRequested.connect(self._act)

        for keys in ("Ctrl+F", "Ctrl+L"):
            QShortcut(QKeySequence(keys), self, self.focus_search)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.player.toggle)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.clear_search)

    def _restore(self) -> None:
        s = self.settings
        geometry = s.state("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        for key, splitter in (("splitter", self.splitter), ("vsplitter", self.vsplitter)):
            state = s.state(key)
            if state is None or not splitter.restoreState(state):
                if splitter is self.splitter:
                    splitter.setSizes([250, 620, 410])
                else:
                    splitter.setSizes([600, 180])
        grouped = s.flag("group_by_video")
        self.group_button.setChecked(grouped)
        self.results_model.set_grouped(grouped)

    def _save_state(self) -> None:
        s = self.settings
        s.set_state("geometry", self.saveGeometry())
        s.set_state("splitter", self.splitter.saveState())
        s.set_state("vsplitter", self.vsplitter.saveState())
        s.set_flag("group_by_video", self.group_button.isChecked())
        s.sync()

    def _config(self) -> EngineConfig:
        p, o = self.prefs, self._overrides
        return EngineConfig(
            model=o["model"] or p.model or None,
            force_cpu=bool(o["force_cpu"]) or p.force_cpu,
            library=o["library"],
            sample_rate=p.sample_rate,
            segment_seconds=p.segment_seconds,
        )

    # ------------------------------------------------------------------ engine events
    def _on_model(self, status: ModelStatus) -> None:
        self.status = status
        self.status_line.show_model(status)
        if status.ok:
            where = status.device.replace("Running on", "running on").split(":")[0]
            note = f"Model: <b>{status.title}</b>, {where}." + (
                " The built-in demo model understands coloured shapes, not real footage:"
                " install OpenAI CLIP ViT-B/32 in Settings for your own videos."
                if self.uses_demo_model
                else ""
            )
            self.welcome.set_model_note(note)
        else:
            self.welcome.set_model_note(
                f"<b>{status.title}</b>: {status.detail}<br>Choose or install one in Settings."
            )
            self._set_empty(f"{status.title}\n{status.detail}\nOpen Settings to choose a model.")
            self.statusBar().showMessage(status.title)
        self._show_banners()

    @property
    def uses_demo_model(self) -> bool:
        s = self.status
        return s is not None and s.ok and Path(s.path).resolve() == DEMO_MODEL.resolve()

    def _on_snapshot(self, snap: Snapshot) -> None:
        first = self.snapshot is None or self.snapshot.root != snap.root
        self.snapshot = snap
        self.library_panel.set_folders(snap.folders, snap.videos, snap.indexed, snap.segments)
        self.indexing_bar.set_counts(snap.indexed, snap.videos, snap.failed, snap.pending)
        self.problems.set_problems(snap.errors, snap.warnings)
        self.status_line.show_problems(self.problems.count)
        self.center.setCurrentWidget(self.welcome if snap.empty else self.results_stack)
        self.preview_pane.setVisible(not snap.empty)  # the welcome view has no empty player
        if snap.empty:
            self.preview_pane.clear()
        self._show_banners()
        self.setWindowTitle(window_title(snap))
        if first:  # another library: the query still in the box is asked of it
            self._clear_results()
            self.search(self.search_box.text().strip())
        elif self.last_query is None and snap.segments and not self.search_box.text():
            self.browse()  # the first moments of a new library: show them
        elif self.response is None or not self.response.results:
            self._update_empty_state()

    def _show_banners(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        if snap.demo:
            self.demo_banner.show_demo(snap.example)
        else:
            self.demo_banner.hide()
        self.model_banner.setVisible(self.uses_demo_model and not snap.demo and bool(snap.folders))

    def _on_progress(self, p: Progress) -> None:
        self.indexing_bar.update_progress(p)
        if self.statusBar().currentMessage() == self._busy_text:
            self.statusBar().clearMessage()  # the bar says what is going on

    def _on_video(self, outcome: VideoOutcome) -> None:
        if self.last_query is not None and not self._refresh.isActive():
            self._refresh.start()  # new segments appear in the current results

    def _on_changed_elsewhere(self) -> None:
        """Another process (``clipseek index``) changed the library: the results again."""
        if self.last_query is not None and not self._refresh.isActive():
            self._refresh.start()

    def _on_speech_finished(self, report: SpeechReport) -> None:
        self.indexing_bar.finish_speech()
        if report.transcribed or report.failed:
            text = f"Transcribed what is said in {plural(len(report.transcribed), 'video')}"
            if report.audio_seconds and report.seconds:
                text += f" ({report.audio_seconds / report.seconds:.1f}× real time)"
            if report.failed:
                text += f"; {len(report.failed)} could not be transcribed"
            self.statusBar().showMessage(text, 15000)
        if report.transcribed:
            self._repeat_search()  # what was said is searchable now

    def _on_job_finished(self, s: JobSummary) -> None:
        pending = self.snapshot.pending if self.snapshot is not None else 0
        self.indexing_bar.finish(s.cancelled, max(pending, 1) if s.cancelled else 0)
        if s.cancelled:
            text = (
                f"Indexing stopped after {plural(s.encoded, 'video')};"
                " the rest wait (Resume indexing goes on)"
            )
        elif s.encoded or s.failed:
            text = f"Indexed {plural(s.encoded, 'video')} ({s.frames} frames in {s.seconds:.0f} s)"
            if s.failed:
                text += f", {s.failed} could not be indexed (see Problems)"
        else:
            return
        self.statusBar().showMessage(text, 15000)
        if self.last_query is not None:
            self._refresh.start()

    def _on_busy(self, text: str) -> None:
        sb = self.statusBar()
        if text and not self.indexing_bar.isVisible():  # while indexing, the bar says it
            sb.showMessage(text)
        elif not text and sb.currentMessage() == self._busy_text:
            sb.clearMessage()  # only our own "working…" line, never a result message
        self._busy_text = text

    def _on_message(self, level: str, text: str) -> None:
        log.log(logging.ERROR if level == "error" else logging.INFO, text)
        self.statusBar().showMessage(text, 15000 if level != "info" else 8000)
        if level == "error" and self.isVisible() and QGuiApplication.platformName() != "offscreen":
            QMessageBox.warning(self, "ClipSeek", text)

    # ------------------------------------------------------------------ searching
    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def clear_search(self) -> None:
        """Esc: no search (text or picture), nothing previewed, the keyboard in the box."""
        self.search_box.clear_quietly()
        self.search("")
        self.preview_pane.clear()
        self.search_box.setFocus()

    def search(self, text: str) -> None:
        """A sentence; an empty box shows the library by date instead."""
        if not text:
            self.browse()
            return
        self.last_query = ("text", text)
        self._latest_serial = self._ask()

    def search_image(
        self,
        image: str | np.ndarray,
        label: str | None = None,
        exclude: tuple[str, float, float] | None = None,
    ) -> None:
        """Search by a picture (a file, or a moment's frame with ``label`` naming it and
        ``exclude`` its moment, which the answer leaves out: it would only find itself)."""
        self.last_query = ("image", image)
        self._image_label = label
        self._image_exclude = exclude
        self.search_box.clear_quietly()
        self._latest_serial = self._ask()

    def browse(self) -> None:
        """No query: every video, newest shot first, under month headers (the folder filter
        and the date range still apply). A library with nothing indexed says what to do."""
        snap = self.snapshot
        if snap is None or not snap.segments:
            self.last_query = None
            self._clear_results()
            return
        self.last_query = ("browse", None)
        self._latest_serial = self._ask()

    @property
    def browsing(self) -> bool:
        return self.last_query is not None and self.last_query[0] == "browse"

    def _ask(self) -> int:
        """Send the current query with the folder filter, the date range and the order."""
        assert self.last_query is not None
        kind, query = self.last_query
        when, order = self.date_filter.period(), self.date_filter.order()
        if kind == "browse":
            return self.engine.browse(self.folder_filter, when)
        if kind == "text":
            return self.engine.search_text(
                str(query), self.folder_filter, when, order, self.prefs.query_language
            )
        image: str | np.ndarray = query  # type: ignore[assignment]
        return self.engine.search_image(image, self.folder_filter, when, order, self._image_exclude)

    def _repeat_search(self) -> None:
        """The same search again (videos were indexed, the folder filter changed)."""
        if self.last_query is None:
            if self.snapshot is not None and self.snapshot.segments and not self.search_box.text():
                self.browse()  # the first videos of a new library were indexed
            return
        serial = self._ask()
        self._latest_serial = serial
        self._refreshes.add(serial)

    def _on_when_changed(self) -> None:
        """Another date range or order: a new search (from its top), not a refresh."""
        self.date_filter.order_box.setEnabled(not self.browsing)
        if self.last_query is None:
            self.browse()
        else:
            self._latest_serial = self._ask()

    def _update_scrubber(self) -> None:
        self.scrubber.set_sections(self.results_model.section_rows())

    def _jump_to_row(self, row: int) -> None:
        self.results_view.scrollTo(
            self.results_model.index(row), QAbstractItemView.ScrollHint.PositionAtTop
        )

    def _on_search_done(self, response: SearchResponse) -> None:
        if response.request.serial != self._latest_serial:
            return  # an older query; the user has typed on
        if self.last_query is None:
            return
        refresh = response.request.serial in self._refreshes
        self._refreshes.clear()
        self.response = response
        if response.error:
            self.summary.setStyleSheet("color: #c0392b;")
            self.summary.setText(response.error)
            self.results_model.set_results([], {})
            self.preview_pane.clear()
            self._set_empty(response.error)
            return
        self.summary.setStyleSheet("")
        previewed = self.preview_pane.result
        request = response.request
        self.date_filter.order_box.setEnabled(not request.browsing)
        self.preview_pane.browsing = request.browsing
        self.results_model.set_results(
            response.results,
            response.thumbnails,
            keep_view=refresh,
            by_date=request.order == "date",
            browsing=request.browsing,
        )
        # under month headers, cards are not grouped by video: say so rather than do nothing
        self.group_button.setEnabled(not self.results_model.by_date)
        self.menus.group_action.setEnabled(not self.results_model.by_date)
        self.summary.setText(self._summary_text(response))
        route = response.route
        self.summary.setToolTip("" if route is None else f"{route.describe()} ({route.reason})")
        if request.browsing and not request.when.bounded:
            shot = [r.captured_ts for r in response.results if r.captured_ts is not None]
            if shot:  # where a date field starts when touched: the library's own span
                self.date_filter.set_bounds(
                    datetime.fromtimestamp(min(shot)).date(),
                    datetime.fromtimestamp(max(shot)).date(),
                )
        if not response.results:
            self.preview_pane.clear()
            if request.when.bounded:
                self._set_empty(
                    f"No videos {request.when.describe()}."
                    "\n\nWiden the dates, or clear them with ×."
                )
            else:
                self._set_empty(
                    "No moments match yet." if self.engine.indexing else "No moments match."
                )
            return
        self.results_stack.setCurrentWidget(self.results_area)
        same = None if previewed is None else self.results_model.find(previewed)
        if same is None:
            self.preview_pane.clear()  # what was previewed is not a result of this search
        else:
            self.preview_pane.refresh(same, self.results_model.moments_of(same.path))
        row = None if same is None else self.results_model.row_of(same)
        selection = self.results_view.selectionModel()
        selection.blockSignals(True)
        if row is not None and refresh:
            self.results_view.setCurrentIndex(self.results_model.index(row))
        else:
            self.results_view.setCurrentIndex(QModelIndex())
            selection.clearSelection()
            if row is not None:
                selection.select(
                    self.results_model.index(row), selection.SelectionFlag.ClearAndSelect
                )
        selection.blockSignals(False)
        if not refresh:  # a new search starts at its best moment, at the top
            self.results_view.scrollToTop()

    def _summary_text(self, response: SearchResponse) -> str:
        request = response.request
        when = f" · {request.when.describe()}" if request.when.bounded else ""
        if request.browsing:
            where = f" in {Path(self.folder_filter).name}" if self.folder_filter else ""
            count = len(self.results_model.results)
            if count >= BROWSE_LIMIT:
                return f"The newest {count:,} videos{where}{when} (narrow the dates for older ones)"
            return f"{plural(count, 'video')}{where}{when} · newest first"
        if request.text is not None:
            what = f"“{request.text}”"
        elif self._image_label:
            what = f"looking like {self._image_label}"
        else:
            what = f"looking like {request.label}"
        where = f" in {Path(self.folder_filter).name}" if self.folder_filter else ""
        model = self.results_model
        shown, total = len(model.shown_results()), len(model.results)
        if not total:
            return f"No moments {what}{where}"
        strong = sum(1 for r in model.results if label(r.relevance) in ("strong", "good"))
        lead = f"{plural(shown, 'moment')} {what}{where}"
        if strong == 0 and model.results[0].relevance is not None:
            lead += " · none is a clear match"
        order = " · newest first" if request.order == "date" else ""
        return f"{lead}{when}{order}{read_by(response.route)} · {response.seconds * 1000:.0f} ms"

    def _load_missing_thumbnails(self) -> None:
        missing = self.results_model.missing_thumbnails()
        if missing:
            self.engine.load_thumbnails(missing)

    def _on_thumbnails(self, thumbnails: dict) -> None:
        self.results_model.add_thumbnails(thumbnails)

    def _clear_results(self) -> None:
        self.response = None
        self.summary.setText("")
        self.summary.setStyleSheet("")
        self.results_model.set_results([], {})
        self._update_empty_state()

    def _update_empty_state(self) -> None:
        snap = self.snapshot
        if snap is None:
            self._set_empty("Opening the library…")
        elif snap.segments:
            self._set_empty(
                f"Type to search {plural(snap.segments, 'moment')}"
                f" in {plural(snap.indexed, 'video')}"
                "\n\nor drop a picture here to find moments that look like it"
            )
        else:
            self._set_empty("Indexing… results appear here as videos are indexed.")

    def _set_empty(self, text: str) -> None:
        self.empty_label.setText(breakable(text))  # a long name or path wraps
        self.results_stack.setCurrentWidget(self.empty_label)

    def _set_grouped(self, grouped: bool) -> None:
        current = self.current_result()
        self.results_model.set_grouped(grouped)
        if current is not None:
            row = self.results_model.row_of(current)
            if row is not None:
                self.results_view.setCurrentIndex(self.results_model.index(row))

    def _set_filter(self, folder: object) -> None:
        self.folder_filter = folder if isinstance(folder, str) else None
        if self.last_query is not None:  # a new place to look: a new search, not a refresh
            self._latest_serial = self._ask()

    def _focus_results(self) -> None:
        """Down from the search box: the first card (the grid is at its top after a search)."""
        self.results_view.setFocus()
        if not self.results_view.currentIndex().isValid():
            row = self.results_model.first_result_row()
            if row is not None:
                self.results_view.setCurrentIndex(self.results_model.index(row))
                self.results_view.scrollTo(self.results_model.index(row))

    # ------------------------------------------------------------------ preview and actions
    def current_result(self) -> SearchResult | None:
        """The moment being previewed (the actions act on it)."""
        return self.preview_pane.result

    def select_result(self, row: int) -> None:
        self.results_view.setCurrentIndex(self.results_model.index(row))

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        r = self.results_model.result(current)
        if r is None:
            return  # a More row: what is previewed stays
        self.preview_pane.show_moment(r, self.results_model.moments_of(r.path))

    def _activated(self, index: QModelIndex) -> None:
        """Enter or double-click: a More row lays out its moments; a moment opens."""
        if self.results_model.activate(index):
            self._after_more()
        elif self.results_model.result(index) is not None:
            self.open_current()

    def _clicked(self, index: QModelIndex) -> None:
        if self.results_model.activate(index):
            self._after_more()

    def _after_more(self) -> None:
        """Keep the previewed moment selected after the grid re-laid out."""
        r = self.preview_pane.result
        row = None if r is None else self.results_model.row_of(r)
        if row is not None:
            self.results_view.selectionModel().blockSignals(True)
            self.results_view.setCurrentIndex(self.results_model.index(row))
            self.results_view.selectionModel().blockSignals(False)
        if self.response is not None:
            self.summary.setText(self._summary_text(self.response))

    def _select_moment_of_video(self, index: int) -> None:
        r = self.current_result()
        if r is None:
            return
        moments = sorted(self.results_model.moments_of(r.path), key=lambda m: m.t0)
        if 0 <= index < len(moments):
            row = self.results_model.row_of(moments[index])
            if row is None:  # laid out behind "N more in this video": open them
                self.results_model.expand(r.path)
                row = self.results_model.row_of(moments[index])
            if row is not None:
                self.select_result(row)

    def _act(self, key: str) -> None:
        {
            "open": self.open_current,
            "reveal": self.reveal_current,
            "copy": self.copy_current,
            "save": self.save_current,
            "similar": self.similar_to_current,
        }[key]()

    def open_current(self) -> None:
        r = self.current_result()
        if r is None:
            return
        if not r.online or not os.path.exists(r.path):
            self._on_message("warning", f"{Path(r.path).name} is offline: connect its drive")
        else:
            self._open_external(r)

    def _open_external(self, r: SearchResult) -> None:
        """The system player, at the moment's best second where the player can start there
        (mpv, VLC, IINA, QuickTime); the default handler otherwise, which the status bar says
        starts at the beginning."""
        start = r.start
        launch = plan_open(r.path, start)  # $CLIPSEEK_PLAYER names a preferred one
        if launch.argv is not None:
            try:
                start_player(launch)
            except OSError as exc:
                log.warning("%s", exc)
                failed = f"{exc.strerror or exc}; "
                launch = plan_open(r.path, start, preferred="default")
            else:
                self.statusBar().showMessage(launch.describe(start), 8000)
                return
        else:
            failed = ""
        if not open_in_system_player(r.path):  # said like Show file's: no modal, no error
            QGuiApplication.clipboard().setText(r.path)
            self._on_message("warning", f"{failed}{no_player_text(r.path)}")
        else:
            self.statusBar().showMessage(failed + launch.describe(start), 12000)

    def reveal_current(self) -> None:
        r = self.current_result()
        if r is not None:
            self.reveal(r.path)

    def reveal(self, path: str) -> None:
        """Show a file in the file manager; without one, say so and copy the path instead."""
        if not reveal_in_file_manager(path):
            QGuiApplication.clipboard().setText(path)
            self._on_message(
                "warning", f"No file manager could show it; its path is copied: {path}"
            )

    def copy_current(self) -> None:
        r = self.current_result()
        if r is not None:
            QGuiApplication.clipboard().setText(media_fragment(r.path, r.t0, r.t1))
            self.statusBar().showMessage("Copied the path and time range", 4000)

    def similar_to_current(self) -> None:
        r = self.current_result()
        if r is None or not r.thumbnail:
            return
        bgr = cv2.imread(r.thumbnail, cv2.IMREAD_COLOR)
        if bgr is None:
            self._on_message("error", "The thumbnail of this moment could not be read")
            return
        self.search_image(
            cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB),
            f"{Path(r.path).name} at {time_range(r.t0, r.t1)}",
            exclude=(r.path, r.t0, r.t1),
        )
        self.summary.setText(f"Moments that look like {self._image_label}…")

    def save_current(self) -> None:
        r = self.current_result()
        if r is None:
            return
        self._save_task = save_moment(
            self,
            r,
            on_saved=lambda path: self.statusBar().showMessage(f"Saved {readable(path)}", 10000),
            on_error=lambda text: self._on_message("error", text),
        )

    def _result_menu(self, pos) -> None:
        index = self.results_view.indexAt(pos)
        if self.results_model.result(index) is None:
            return
        self.results_view.setCurrentIndex(index)
        menu = QMenu(self)
        menu.addAction("Play", self.player.toggle)
        menu.addAction("Open in the system player", self.open_current)
        menu.addAction("Show in file manager", self.reveal_current)
        menu.addAction("Copy path with time", self.copy_current)
        menu.addAction("Save clip as…", self.save_current)
        menu.addSeparator()
        menu.addAction("Find similar moments", self.similar_to_current)
        menu.exec(self.results_view.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------ library actions
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of videos", str(Path.home()))
        if folder:
            self.add_paths([recover(folder)])  # Qt's name for a folder not named in UTF-8

    def add_paths(self, paths: list[str]) -> None:
        if self.snapshot is not None and self.snapshot.demo:
            self.leave_demo()
        self.engine.add_paths(paths)
        self.statusBar().showMessage(f"Adding {', '.join(readable(Path(p).name) for p in paths)}…")

    def _remove_selected(self) -> None:
        path = self.library_panel.selected_folder()
        if path:
            self.remove_folder(path)
        else:
            self.statusBar().showMessage("Select a folder in the library panel first", 5000)

    def remove_folder(self, path: str) -> None:
        if self.ask(
            "Stop watching a folder",
            f"ClipSeek will forget the videos in\n{readable(path)}\n\nThe files themselves stay"
            " on disk.",
            "Stop watching",
        ):
            self.engine.remove_folder(path)

    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Find moments that look like a picture", str(Path.home()),
            "Pictures (*.jpg *.jpeg *.png *.bmp *.webp *.gif *.tif *.tiff)",
        )  # fmt: skip
        if path:
            self.search_image(recover(path))

    def open_demo(self) -> None:
        self.engine.open_demo()

    def install_real_model(self) -> None:
        """Install OpenAI CLIP ViT-B/32 right here, then switch to it (same folders)."""
        from desktop_app.model_install_dialog import ModelInstallDialog

        dialog = ModelInstallDialog(self)
        dialog.installed.connect(
            lambda path: self.apply_preferences(replace(self.prefs, model=str(path)))
        )
        dialog.exec()  # it says what it will do; its Install button starts it

    def leave_demo(self) -> None:
        self._overrides["library"] = None
        self.engine.start(self._config())

    def open_settings(self) -> None:
        snap = self.snapshot
        dialog = SettingsDialog(
            self.prefs,
            active_model=self.status.title if self.status and self.status.ok else "",
            active_provider=self.status.device if self.status else "",
            library_rate=snap.sample_rate if snap else None,
            library_segment=snap.segment_seconds if snap else None,
            multilingual=snap.multilingual if snap else "",
            speech=snap.speech if snap else "",
            parent=self,
        )
        if dialog.exec():
            self.apply_preferences(dialog.preferences())

    def ask(self, title: str, text: str, accept: str, reject: str = "Cancel") -> bool:
        """A question with verb buttons (``accept`` / ``reject``); True if accepted."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        fit_title(box)  # its title whole, not "Stop watchin… er — ClipSeek"
        yes = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
        box.addButton(reject, QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(yes)
        box.exec()
        return box.clickedButton() is yes

    def confirm_rate_change(self, old: float, new: float) -> bool:
        """Changing the sampling rate indexes everything again: say what it costs, then ask."""
        text = reindex_question(self.snapshot, old, new, self.engine.videos_indexed_at(new))
        if text is None:
            return True
        return self.ask(
            "Index everything again?", text, f"Index again at {rate_text(new)}", "Keep the rate"
        )

    def apply_preferences(self, new: Preferences) -> None:
        old, snap = self.prefs, self.snapshot
        current = snap.sample_rate if snap is not None else old.sample_rate
        if abs(new.sample_rate - current) > 1e-9 and not self.confirm_rate_change(
            current, new.sample_rate
        ):
            new = replace(new, sample_rate=current)
        self.prefs = new
        self.settings.save_preferences(new)
        self.watcher.set_rescan_minutes(new.rescan_minutes)
        change = plan_change(old, new, snap)
        if (
            new.query_language != old.query_language
            and self.last_query is not None
            and self.last_query[0] == "text"
            and not change.restart
        ):
            self._latest_serial = self._ask()  # the same sentence, read by the other model
        if change.model_changed:
            self._overrides["model"] = None
        if change.force_cpu_changed:
            self._overrides["force_cpu"] = False
        if change.restart:
            if change.other_library:
                self._overrides["library"] = None
            self.engine.start(self._config())
            if change.carry_folders:
                # another model or rate has a library of its own: watch the same folders there
                # (folders it already watches stay as they are)
                self.engine.add_paths(list(change.carry_folders))
        elif change.recut_seconds is not None:
            self.engine.rebuild_segments(change.recut_seconds)

    # ------------------------------------------------------------------ help
    def show_shortcuts(self) -> None:
        from desktop_app.help_dialogs import ShortcutsDialog

        ShortcutsDialog(self).exec()

    def show_about(self) -> None:
        from desktop_app.help_dialogs import AboutDialog

        AboutDialog(self.status, self.snapshot.root if self.snapshot else None, self).exec()

    def open_log_folder(self) -> None:
        folder = logs_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            QGuiApplication.clipboard().setText(str(folder))
            self._on_message(
                "warning", f"No file manager could open it; its path is copied: {folder}"
            )

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
            self.welcome.set_highlight(True)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.welcome.set_highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self.welcome.set_highlight(False)
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.handle_drop(paths)

    def handle_drop(self, paths: list[str]) -> None:
        """Pictures search by image; folders and videos are added to the library."""
        plan = plan_drop(paths)
        if plan.refused:
            names = ", ".join(readable(Path(p).name) for p in plan.refused)
            self._on_message("warning", f"Not a folder or a video: {names}")
        if plan.add:
            self.add_paths(plan.add)
        elif plan.search_image is not None:
            self.search_image(plan.search_image)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_state()
        self.player.clear()
        self.engine.shutdown()
        super().closeEvent(event)

    def replace_config(self, **changes: Any) -> None:
        """Restart the engine with changed settings for this run only (not saved)."""
        self.engine.start(replace(self._config(), **changes))
