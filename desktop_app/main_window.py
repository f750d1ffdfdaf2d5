"""The main window: library on the left, results in the middle, the preview on the right.

The window only shows things and forwards requests: all library work goes through
:class:`Engine`, whose signals arrive here on the UI thread. (Saving a clip, which touches no
library, runs on a thread of its own.)
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core import scanning
from core.demo import demo_captions
from core.indexing import Progress, VideoOutcome
from core.models import DEMO_MODEL
from core.search import SearchResult
from desktop_app.app_settings import AppSettings, Preferences
from desktop_app.engine import Engine, EngineConfig, JobSummary, SearchResponse, Snapshot
from desktop_app.folder_watcher import FolderWatcher
from desktop_app.formatting import media_fragment, plural, time_range
from desktop_app.indexing_bar import IndexingBar
from desktop_app.library_panel import LibraryPanel
from desktop_app.model_status import ModelStatus
from desktop_app.player import PreviewPlayer
from desktop_app.problems_panel import ProblemsPanel
from desktop_app.results import ResultsModel, ResultsView
from desktop_app.search_box import SearchBox
from desktop_app.settings_dialog import SettingsDialog
from desktop_app.system_actions import open_in_system_player, reveal_in_file_manager
from desktop_app.welcome import WelcomeView

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
#: After a video lands, wait this long before refreshing the current search (more may land).
REFRESH_MS = 1200


def _head(path: Path) -> bytes:
    try:
        return scanning.read_head(path)
    except OSError:
        return b""


class _ClipSignals(QObject):
    """A clip-saving thread's news for the UI thread (queued connections).

    Parentless and send-only, like the model installer's: the thread holds this and never the
    window, so the window can only ever be deleted in the UI thread.
    """

    progress = Signal(float)  # fraction done
    finished = Signal(str, object)  # destination, error (None: saved; "cancelled")


def _save_clip_worker(
    source: str, t0: float, t1: float, dest: str, signals: _ClipSignals, cancel: threading.Event
) -> None:
    from core.segment_export import SegmentExportCancelled, SegmentExportError, save_segment

    try:
        save_segment(source, t0, t1, dest, on_progress=signals.progress.emit, cancel=cancel)
        signals.finished.emit(dest, None)
    except SegmentExportCancelled:
        signals.finished.emit(dest, "cancelled")
    except (SegmentExportError, OSError) as exc:
        signals.finished.emit(dest, str(exc))


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
        self.setWindowTitle("ClipSeek")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = AppSettings()
        self.prefs = self.settings.preferences()
        self._overrides = {"model": model, "force_cpu": force_cpu, "library": library}
        self.status: ModelStatus | None = None
        self.snapshot: Snapshot | None = None
        self.response: SearchResponse | None = None
        self.folder_filter: str | None = None
        self.last_query: tuple[str, object] | None = None  # ("text", str) | ("image", path/array)
        self._latest_serial = 0
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
        style = self.style()
        # search row
        self.search_box = SearchBox(self)
        self.image_button = QToolButton(self)
        self.image_button.setObjectName("imageSearch")
        self.image_button.setText("Search by picture…")
        self.image_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.image_button.setIcon(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView)
        )
        self.image_button.setToolTip("Find moments that look like a picture (or drop one here)")
        self.group_button = QToolButton(self)
        self.group_button.setObjectName("groupByVideo")
        self.group_button.setText("Group by video")
        self.group_button.setCheckable(True)
        self.settings_button = QToolButton(self)
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.setText("Settings")
        self.settings_button.setIcon(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView)
        )
        self.settings_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        top = QHBoxLayout()
        top.setContentsMargins(10, 8, 10, 4)
        top.addWidget(self.search_box, 1)
        top.addWidget(self.image_button)
        top.addWidget(self.group_button)
        top.addWidget(self.settings_button)
        self.summary = QLabel("", self)
        self.summary.setObjectName("searchSummary")
        self.summary.setContentsMargins(12, 0, 12, 4)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)

        # demo banner
        self.demo_banner = QFrame(self)
        self.demo_banner.setObjectName("demoBanner")
        self.demo_banner.setStyleSheet(
            "#demoBanner { background: palette(alternate-base);"
            " border-bottom: 1px solid palette(mid); }"
        )
        self.demo_label = QLabel("", self.demo_banner)
        self.demo_label.setWordWrap(True)
        self.demo_leave = QPushButton("Back to my library", self.demo_banner)
        banner = QHBoxLayout(self.demo_banner)
        banner.setContentsMargins(12, 6, 12, 6)
        banner.addWidget(self.demo_label, 1)
        banner.addWidget(self.demo_leave)
        self.demo_banner.hide()

        # left: library
        self.library_panel = LibraryPanel(self)
        # middle: welcome or results
        self.welcome = WelcomeView(self)
        self.results_model = ResultsModel(self)
        self.results_view = ResultsView(self)
        self.results_view.setModel(self.results_model)
        self.empty_label = QLabel("", self)
        self.empty_label.setObjectName("emptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text); font-size: 15px;")
        self.results_stack = QStackedWidget(self)
        self.results_stack.addWidget(self.empty_label)
        self.results_stack.addWidget(self.results_view)
        self.center = QStackedWidget(self)
        self.center.addWidget(self.welcome)
        self.center.addWidget(self.results_stack)
        # right: preview
        self.player = PreviewPlayer(self)
        self.detail_title = QLabel("", self)
        self.detail_title.setObjectName("detailTitle")
        font = self.detail_title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + 1)
        self.detail_title.setFont(font)
        self.detail_title.setWordWrap(True)
        self.detail_info = QLabel("", self)
        self.detail_info.setObjectName("detailInfo")
        self.detail_info.setWordWrap(True)
        self.detail_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_info.setStyleSheet("color: palette(placeholder-text);")
        self.actions_row = QHBoxLayout()
        self.action_buttons: dict[str, QToolButton] = {}
        sp = QStyle.StandardPixmap
        for key, text, icon, tip in (
            ("open", "Open", sp.SP_MediaPlay, "Open in the system player (Enter)"),
            ("reveal", "Show file", sp.SP_DirOpenIcon, "Show in the file manager"),
            ("copy", "Copy", sp.SP_FileLinkIcon, "Copy the path with the time range"),
            ("save", "Save clip…", sp.SP_DialogSaveButton, "Save this moment as a new video"),
            ("similar", "Similar", sp.SP_FileDialogContentsView, "Find moments that look alike"),
        ):
            b = QToolButton(self)
            b.setObjectName(f"action_{key}")
            b.setText(text)
            b.setIcon(style.standardIcon(icon))
            b.setToolTip(tip)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.setEnabled(False)
            self.action_buttons[key] = b
            self.actions_row.addWidget(b)
        self.actions_row.addStretch(1)
        preview = QWidget(self)
        pv = QVBoxLayout(preview)
        pv.setContentsMargins(6, 8, 10, 8)
        pv.addWidget(self.player, 1)
        pv.addWidget(self.detail_title)
        pv.addWidget(self.detail_info)
        pv.addLayout(self.actions_row)
        self.preview_pane = preview

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.library_panel)
        self.splitter.addWidget(self.center)
        self.splitter.addWidget(preview)
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
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.vsplitter, 1)
        self.setCentralWidget(central)

        # status bar
        self.indexing_bar = IndexingBar(self)
        self.problems_button = QToolButton(self)
        self.problems_button.setObjectName("problemsButton")
        self.problems_button.setAutoRaise(True)
        self.problems_button.setCheckable(True)
        self.problems_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
        self.problems_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.problems_button.hide()
        self.model_label = QLabel("Model: loading…", self)
        self.model_label.setObjectName("modelLabel")
        self.provider_label = QLabel("Provider: …", self)
        self.provider_label.setObjectName("providerLabel")
        sb = self.statusBar()
        sb.addPermanentWidget(self.indexing_bar)
        sb.addPermanentWidget(self.problems_button)
        sb.addPermanentWidget(self.model_label)
        sb.addPermanentWidget(self.provider_label)
        sb.showMessage("Starting…")

        # menus
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("Add folder…", QKeySequence("Ctrl+O"), self.choose_folder)
        self.remove_action = file_menu.addAction(
            "Stop watching the selected folder", self._remove_selected
        )
        file_menu.addAction("Rescan all folders", QKeySequence("F5"), lambda: self.engine.rescan())
        file_menu.addAction("Search by picture…", QKeySequence("Ctrl+I"), self.choose_image)
        file_menu.addSeparator()
        file_menu.addAction("Open the demo library", self.open_demo)
        file_menu.addAction("Settings…", QKeySequence("Ctrl+,"), self.open_settings)
        file_menu.addSeparator()
        file_menu.addAction("Quit", QKeySequence("Ctrl+Q"), self.close)
        view_menu = self.menuBar().addMenu("&View")
        self.group_action = QAction("Group results by video", self, checkable=True)
        self.group_action.setShortcut(QKeySequence("Ctrl+G"))
        view_menu.addAction(self.group_action)
        self.problems_action = QAction("Problems panel", self, checkable=True)
        view_menu.addAction(self.problems_action)

    def _connect(self) -> None:
        e = self.engine
        e.modelLoaded.connect(self._on_model)
        e.libraryOpened.connect(self._on_snapshot)
        e.snapshot.connect(self._on_snapshot)
        e.progress.connect(self._on_progress)
        e.videoIndexed.connect(self._on_video)
        e.jobFinished.connect(self._on_job_finished)
        e.searchDone.connect(self._on_search_done)
        e.busy.connect(self._on_busy)
        e.message.connect(self._on_message)
        self.watcher = FolderWatcher(self, self.prefs.rescan_minutes)
        e.watchDirs.connect(self.watcher.set_directories)
        self.watcher.changed.connect(lambda _dirs: self.engine.rescan(automatic=True))
        self.watcher.periodic.connect(lambda: self.engine.rescan(automatic=True))

        self.search_box.querySubmitted.connect(self.search)
        self.search_box.moveIntoResults.connect(self._focus_results)
        self.image_button.clicked.connect(self.choose_image)
        self.group_button.toggled.connect(self._set_grouped)
        self.group_action.toggled.connect(self.group_button.setChecked)
        self.group_button.toggled.connect(self.group_action.setChecked)
        self.settings_button.clicked.connect(self.open_settings)
        self.demo_leave.clicked.connect(self.leave_demo)
        self.problems_button.toggled.connect(self.problems.setVisible)
        self.problems_action.toggled.connect(self.problems_button.setChecked)
        self.problems_button.toggled.connect(self.problems_action.setChecked)

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

        rv = self.results_view
        rv.selectionModel().currentChanged.connect(self._on_current)
        rv.activated.connect(lambda _i: self.open_current())
        rv.customContextMenuRequested.connect(self._result_menu)
        self.player.momentRequested.connect(self._select_moment_of_video)
        self.player.errorOccurred.connect(lambda msg: self._on_message("error", msg))
        b = self.action_buttons
        b["open"].clicked.connect(self.open_current)
        b["reveal"].clicked.connect(self.reveal_current)
        b["copy"].clicked.connect(self.copy_current)
        b["save"].clicked.connect(self.save_current)
        b["similar"].clicked.connect(self.similar_to_current)

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
        if status.ok:
            self.model_label.setText(f"Model: {status.title}")
            self.model_label.setToolTip(status.detail)
            self.provider_label.setText(f"Provider: {status.provider}")
            demo = Path(status.path).resolve() == DEMO_MODEL.resolve()
            note = f"Model: <b>{status.title}</b> on {status.provider}." + (
                " The built-in demo model understands coloured shapes, not real footage:"
                " install OpenAI CLIP ViT-B/32 in Settings for your own videos."
                if demo
                else ""
            )
            self.welcome.set_model_note(note)
        else:
            self.model_label.setText("Model: none")
            self.provider_label.setText("Provider: none")
            self.welcome.set_model_note(
                f"<b>{status.title}</b>: {status.detail}<br>Choose or install one in Settings."
            )
            self._set_empty(f"{status.title}\n{status.detail}\nOpen Settings to choose a model.")
            self.statusBar().showMessage(status.title)

    def _on_snapshot(self, snap: Snapshot) -> None:
        first = self.snapshot is None or self.snapshot.root != snap.root
        self.snapshot = snap
        self.library_panel.set_folders(snap.folders, snap.videos, snap.indexed, snap.segments)
        self.problems.set_problems(snap.errors, snap.warnings)
        count = self.problems.count
        self.problems_button.setVisible(count > 0)
        self.problems_button.setText(plural(count, "problem"))
        self.center.setCurrentWidget(self.welcome if snap.empty else self.results_stack)
        self._show_demo_banner(snap)
        name = "Demo library" if snap.demo else Path(snap.root).name
        self.setWindowTitle(f"ClipSeek — {name}")
        if first:
            self._clear_results()
        elif self.response is None or not self.response.results:
            self._update_empty_state()

    def _show_demo_banner(self, snap: Snapshot) -> None:
        self.demo_banner.setVisible(snap.demo)
        if snap.demo:
            captions = demo_captions()
            example = f" Try “{captions[0]}”." if captions else ""
            self.demo_label.setText(
                "Demo library: synthetic videos of coloured shapes, indexed with the built-in"
                f" demo model.{example}"
            )

    def _on_progress(self, p: Progress) -> None:
        self.indexing_bar.update_progress(p)

    def _on_video(self, outcome: VideoOutcome) -> None:
        if self.last_query is not None and not self._refresh.isActive():
            self._refresh.start()  # new segments appear in the current results

    def _on_job_finished(self, s: JobSummary) -> None:
        self.indexing_bar.finish()
        if s.cancelled:
            text = (
                f"Indexing cancelled: {plural(s.encoded, 'video')} indexed;"
                " the rest wait for the next run"
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
        self.search_box.clear()
        self.search_box.submit()
        self.search_box.setFocus()

    def search(self, text: str) -> None:
        if not text:
            self.last_query = None
            self._clear_results()
            return
        self.last_query = ("text", text)
        self._latest_serial = self.engine.search_text(text, self.folder_filter)

    def search_image(self, image: str | np.ndarray) -> None:
        self.last_query = ("image", image)
        self.search_box.clear_quietly()
        self._latest_serial = self.engine.search_image(image, self.folder_filter)

    def _repeat_search(self) -> None:
        if self.last_query is None:
            return
        kind, query = self.last_query
        if kind == "text":
            self._latest_serial = self.engine.search_text(str(query), self.folder_filter)
        else:
            self._latest_serial = self.engine.search_image(query, self.folder_filter)  # type: ignore[arg-type]

    def _on_search_done(self, response: SearchResponse) -> None:
        if response.request.serial != self._latest_serial:
            return  # an older query; the user has typed on
        if self.last_query is None:
            return
        self.response = response
        if response.error:
            self.summary.setStyleSheet("color: #c0392b;")
            self.summary.setText(response.error)
            self.results_model.set_results([], {})
            self._set_empty(response.error)
            return
        self.summary.setStyleSheet("")
        current = self.current_result()
        self.results_model.set_results(response.results, response.thumbnails)
        what = (
            f"“{response.request.text}”"
            if response.request.text is not None
            else f"looking like {response.request.label}"
        )
        where = f" in {Path(self.folder_filter).name}" if self.folder_filter else ""
        self.summary.setText(
            f"{plural(len(response.results), 'moment')} {what}{where}"
            f" · {response.seconds * 1000:.0f} ms"
        )
        if response.results:
            self.results_stack.setCurrentWidget(self.results_view)
            if current is not None:
                row = self.results_model.row_of(current)
                if row is not None:
                    self.results_view.selectionModel().blockSignals(True)
                    self.results_view.setCurrentIndex(self.results_model.index(row))
                    self.results_view.selectionModel().blockSignals(False)
        else:
            self._set_empty(
                "No moments match yet." if self.engine.indexing else "No moments match."
            )

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
        self.empty_label.setText(text)
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
        if self.last_query is not None:
            self._repeat_search()

    def _focus_results(self) -> None:
        self.results_view.setFocus()
        if not self.results_view.currentIndex().isValid():
            row = self.results_model.first_result_row()
            if row is not None:
                self.results_view.setCurrentIndex(self.results_model.index(row))

    # ------------------------------------------------------------------ preview and actions
    def current_result(self) -> SearchResult | None:
        return self.results_model.result(self.results_view.currentIndex())

    def select_result(self, row: int) -> None:
        self.results_view.setCurrentIndex(self.results_model.index(row))

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        r = self.results_model.result(current)
        for b in self.action_buttons.values():
            b.setEnabled(r is not None)
        if r is None:
            return
        moments = sorted(self.results_model.moments_of(r.path), key=lambda m: m.t0)
        marks = [(m.t0, m.t1, m.score) for m in moments]
        index = next(i for i, m in enumerate(moments) if (m.t0, m.t1) == (r.t0, r.t1))
        self.player.preview(r.path, r.t0, r.t1, marks, index)
        self.detail_title.setText(Path(r.path).name)
        others = len(moments) - 1
        self.detail_info.setText(
            f"{time_range(r.t0, r.t1)} · score {r.score:.3f}"
            + (
                f" · {plural(others, 'other match', 'other matches')} in this video"
                if others
                else ""
            )
            + f"\n{r.path}"
        )

    def _select_moment_of_video(self, index: int) -> None:
        r = self.current_result()
        if r is None:
            return
        moments = sorted(self.results_model.moments_of(r.path), key=lambda m: m.t0)
        if 0 <= index < len(moments):
            row = self.results_model.row_of(moments[index])
            if row is not None:
                self.select_result(row)

    def open_current(self) -> None:
        r = self.current_result()
        if r is not None and not open_in_system_player(r.path):
            self._on_message("error", f"No application could open {r.path}")

    def reveal_current(self) -> None:
        r = self.current_result()
        if r is not None:
            reveal_in_file_manager(r.path)

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
        self.search_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        self.summary.setText(
            f"Moments that look like {Path(r.path).name} at {time_range(r.t0, r.t1)}…"
        )

    def save_current(self) -> None:
        r = self.current_result()
        if r is None:
            return
        from core.segment_export import suggest_name

        default = str(Path.home() / suggest_name(r.path, r.t0, r.t1))
        dest, _ = QFileDialog.getSaveFileName(
            self, "Save the moment as a video", default, "Videos (*.mp4 *.mov *.mkv)"
        )
        if not dest:
            return
        dialog = QProgressDialog(f"Saving {Path(dest).name}…", "Cancel", 0, 100, self)
        dialog.setWindowTitle("Save clip")
        dialog.setMinimumDuration(300)
        cancel = threading.Event()
        dialog.canceled.connect(cancel.set)
        signals = _ClipSignals()
        signals.progress.connect(lambda f: dialog.setValue(int(f * 100)))
        signals.finished.connect(self._saved)
        self._save_dialog, self._clip_signals = dialog, signals
        threading.Thread(
            target=_save_clip_worker,
            args=(r.path, r.t0, r.t1, dest, signals, cancel),
            name="clipseek-save-clip",
            daemon=True,
        ).start()

    def _saved(self, dest: str, error: str | None) -> None:
        self._save_dialog.reset()
        if error is None:
            self.statusBar().showMessage(f"Saved {dest}", 10000)
        elif error != "cancelled":
            self._on_message("error", f"Could not save the clip: {error}")

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
            self.add_paths([folder])

    def add_paths(self, paths: list[str]) -> None:
        if self.snapshot is not None and self.snapshot.demo:
            self.leave_demo()
        self.engine.add_paths(paths)
        self.statusBar().showMessage(f"Adding {', '.join(Path(p).name for p in paths)}…")

    def _remove_selected(self) -> None:
        path = self.library_panel.selected_folder()
        if path:
            self.remove_folder(path)
        else:
            self.statusBar().showMessage("Select a folder in the library panel first", 5000)

    def remove_folder(self, path: str) -> None:
        answer = QMessageBox.question(
            self,
            "Stop watching this folder?",
            f"ClipSeek will forget the videos in\n{path}\n\nThe files themselves stay on disk.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.engine.remove_folder(path)

    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Find moments that look like a picture", str(Path.home()),
            "Pictures (*.jpg *.jpeg *.png *.bmp *.webp *.gif *.tif *.tiff)",
        )  # fmt: skip
        if path:
            self.search_image(path)

    def open_demo(self) -> None:
        self.engine.open_demo()

    def leave_demo(self) -> None:
        self._overrides["library"] = None
        self.engine.start(self._config())

    def open_settings(self) -> None:
        snap = self.snapshot
        dialog = SettingsDialog(
            self.prefs,
            active_model=self.status.title if self.status and self.status.ok else "",
            active_provider=self.status.provider if self.status else "",
            library_rate=snap.sample_rate if snap else None,
            library_segment=snap.segment_seconds if snap else None,
            parent=self,
        )
        if dialog.exec():
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, new: Preferences) -> None:
        old, snap = self.prefs, self.snapshot
        self.prefs = new
        self.settings.save_preferences(new)
        self.watcher.set_rescan_minutes(new.rescan_minutes)
        if new.model != old.model:
            self._overrides["model"] = None
        if new.force_cpu != old.force_cpu:
            self._overrides["force_cpu"] = False
        rate_changed = snap is not None and abs(new.sample_rate - snap.sample_rate) > 1e-9
        if new.model != old.model or new.force_cpu != old.force_cpu or rate_changed:
            if rate_changed:
                self._overrides["library"] = None
            self.engine.start(self._config())
            if rate_changed and snap is not None and snap.folders:
                # the new rate's library starts empty: watch the same folders there
                self.engine.add_paths([f["path"] for f in snap.folders])
        elif snap is not None and abs(new.segment_seconds - snap.segment_seconds) > 1e-9:
            self.engine.rebuild_segments(new.segment_seconds)

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
            self.welcome.set_highlight(True)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.welcome.set_highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self.welcome.set_highlight(False)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.handle_drop(paths)

    def handle_drop(self, paths: list[str]) -> None:
        """Pictures search by image; folders and videos are added to the library."""
        images = [
            p for p in paths if Path(p).suffix.lower() in IMAGE_SUFFIXES and Path(p).is_file()
        ]
        others = [p for p in paths if p not in images]
        wanted, refused = [], []
        for p in others:
            path = Path(p)
            if path.is_dir() or (path.is_file() and scanning.is_candidate(path, _head(path))):
                wanted.append(p)
            else:
                refused.append(path.name)
        if refused:
            self._on_message("warning", f"Not a folder or a video: {', '.join(refused)}")
        if wanted:
            self.add_paths(wanted)
        elif images and not others:
            self.search_image(images[0])

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_state()
        self.player.clear()
        self.engine.shutdown()
        super().closeEvent(event)

    def replace_config(self, **changes: object) -> None:
        """Restart the engine with changed settings for this run only (not saved)."""
        self.engine.start(replace(self._config(), **changes))
