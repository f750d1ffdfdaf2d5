"""The preview pane: plays the selected moment from t0 to t1 and loops it.

QMediaPlayer ignores a seek until the media is loaded, so the start position is applied when
the player reports ``LoadedMedia`` (or at once when the same file is already loaded). Looping is
done by watching the position: past t1 it jumps back to t0.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer, QVideoFrame
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.formatting import clock
from desktop_app.media_noise import quiet_ffmpeg
from desktop_app.system_actions import file_url
from desktop_app.text_fit import breakable
from desktop_app.timeline import MatchTimeline

log = logging.getLogger(__name__)


class PreviewPlayer(QWidget):
    momentRequested = Signal(int)  # a match mark was clicked on the timeline
    errorOccurred = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: str | None = None
        self.t0 = 0.0
        self.t1 = 0.0
        self.loop = True
        self._pending_start: float | None = None
        self._autoplay = True

        self.video = QVideoWidget(self)
        self.video.setMinimumSize(240, 135)  # fits a window of 800 × 600
        self.video.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.video.setStyleSheet("background: black;")
        self.placeholder = QLabel("Select a moment to preview it here", self)
        self.placeholder.setObjectName("previewPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setMargin(24)
        self.placeholder.setStyleSheet(
            "background: palette(dark); color: palette(bright-text); border-radius: 6px;"
        )
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.video)
        self.audio = QAudioOutput(self)
        self.player = QMediaPlayer(self)
        self.player.setAudioOutput(self.audio)
        self.player.setVideoOutput(self.video)
        quiet_ffmpeg()  # else every preview prints the file's stream layout to stderr
        self._frame: QVideoFrame | None = None
        self.video.videoSink().videoFrameChanged.connect(self._remember_frame)

        style = self.style()
        self.play_button = QToolButton(self)
        self.play_button.setObjectName("playButton")
        self.play_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.toggle)
        self.loop_button = QToolButton(self)
        self.loop_button.setObjectName("loopButton")
        self.loop_button.setCheckable(True)
        # on or off must be seen at a glance: the words change, and the checked button is
        # filled with the highlight colour (a style's sunken look alone was hard to tell)
        self.loop_button.setStyleSheet(
            "QToolButton#loopButton { padding: 1px 6px; }"
            " QToolButton#loopButton:checked { background: palette(highlight);"
            " color: palette(highlighted-text); border-radius: 3px; }"
        )
        self.loop_button.toggled.connect(self._set_loop)
        self.loop_button.setChecked(True)
        self.time_label = QLabel("0:00 / 0:00", self)
        self.time_label.setObjectName("timeLabel")
        self.mute_button = QToolButton(self)
        self.mute_button.setCheckable(True)
        self.mute_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume))
        self.mute_button.setToolTip("Mute")
        self.mute_button.toggled.connect(self._set_muted)
        self.volume = QSlider(self)
        self.volume.setOrientation(self.volume.orientation().Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(70)
        self.volume.setMaximumWidth(90)
        self.volume.valueChanged.connect(lambda v: self.audio.setVolume(v / 100))
        self.audio.setVolume(0.7)
        self.timeline = MatchTimeline(self)
        self.timeline.seekRequested.connect(self.seek)
        self.timeline.momentRequested.connect(self.momentRequested)

        self.controls = QWidget(self)
        self.controls.setObjectName("playerControls")
        controls = QHBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.play_button)
        controls.addWidget(self.loop_button)
        controls.addWidget(self.time_label)
        controls.addStretch(1)
        controls.addWidget(self.mute_button)
        controls.addWidget(self.volume)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.timeline)
        layout.addWidget(self.controls)

        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(lambda ms: self.timeline.set_duration(ms / 1000))
        self.player.mediaStatusChanged.connect(self._on_status)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.errorOccurred.connect(self._on_error)

    # -- API -----
    @property
    def position(self) -> float:
        return self.player.position() / 1000

    def preview(
        self,
        path: str,
        t0: float,
        t1: float,
        moments: list[tuple[float, float, float]] | None = None,
        current: int = 0,
        duration: float = 0.0,
        autoplay: bool = True,
        start: float | None = None,
    ) -> None:
        """Show ``path`` from ``start`` (the moment's best second; default ``t0``); play and
        loop the moment ``t0``–``t1``, whose range the timeline keeps showing."""
        quiet_ffmpeg()  # (a no-op once done; the first player may not have loaded FFmpeg yet)
        self.t0, self.t1 = t0, t1
        self._autoplay = autoplay
        first = t0 if start is None or not t0 <= start < t1 else start
        self.timeline.set_moments(duration, moments or [(t0, t1, 1.0)], current)
        self.timeline.set_position(first)
        self.stack.setCurrentWidget(self.video)
        self.timeline.show()
        self.controls.show()
        if path != self.path:
            self.path = path
            self._pending_start = None
            self.player.stop()  # else Qt keeps "playing" state but never starts the new file
            self.player.setSource(file_url(path))  # any name, even one not in UTF-8
            if self.player.mediaStatus() == QMediaPlayer.MediaStatus.LoadedMedia:
                self._start_at(first)
            else:
                self._pending_start = first  # applied when the new file has loaded
        else:
            self._start_at(first)

    def clear(self, message: str = "Select a moment to preview it here") -> None:
        """Stop, forget the file, and show ``message`` where the video was."""
        self._frame = None
        self._pending_start = None
        self.player.stop()
        self.player.setSource(QUrl())
        self.path = None
        self.placeholder.setText(breakable(message))  # a long name wraps, never widens
        self.stack.setCurrentWidget(self.placeholder)
        self.timeline.set_moments(0.0, [], -1)
        self.time_label.setText("0:00 / 0:00")
        self.timeline.hide()  # nothing to play: no controls for it
        self.controls.hide()

    def toggle(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        elif self.path:
            if self.loop and not (self.t0 <= self.position < self.t1):
                self.player.setPosition(int(self.t0 * 1000))
            self.player.play()

    def seek(self, seconds: float) -> None:
        if self.loop and not (self.t0 <= seconds <= self.t1):
            self.loop_button.setChecked(False)  # seeking outside the moment means "watch on"
        self.player.setPosition(int(seconds * 1000))

    def current_frame(self) -> QImage | None:
        """The frame on screen now (screenshots: grabbing a video widget gives no picture)."""
        if self._frame is None or not self._frame.isValid():
            return None
        image = self._frame.toImage()
        return None if image.isNull() else image

    def _remember_frame(self, frame: QVideoFrame) -> None:
        self._frame = frame  # a reference only; converted when asked for

    @property
    def playing(self) -> bool:
        return self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    # -- internals -----
    def _start_at(self, t0: float) -> None:
        self.player.setPosition(int(t0 * 1000))
        if self._autoplay:
            self.player.play()

    def _set_loop(self, on: bool) -> None:
        self.loop = on
        b = self.loop_button
        b.setText("Loop: on" if on else "Loop: off")
        b.setToolTip(
            "Looping the matched moment (click to play on past it)"
            if on
            else "Playing on past the moment (click to loop it)"
        )
        b.setAccessibleName("Loop the moment")
        b.setAccessibleDescription("on" if on else "off")

    def _set_muted(self, muted: bool) -> None:
        self.audio.setMuted(muted)
        icon = (
            QStyle.StandardPixmap.SP_MediaVolumeMuted
            if muted
            else QStyle.StandardPixmap.SP_MediaVolume
        )
        self.mute_button.setIcon(self.style().standardIcon(icon))

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.LoadedMedia and self._pending_start is not None:
            start, self._pending_start = self._pending_start, None
            self._start_at(start)
        elif status == QMediaPlayer.MediaStatus.EndOfMedia and self.loop:
            self._start_at(self.t0)
        elif status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._on_error(self.player.error(), self.player.errorString())

    def _on_position(self, ms: int) -> None:
        t = ms / 1000
        if self.loop and self.t1 > self.t0 and t >= self.t1 and self.playing:
            self.player.setPosition(int(self.t0 * 1000))
            t = self.t0
        self.timeline.set_position(t)
        self.time_label.setText(f"{clock(t)} / {clock(self.player.duration() / 1000)}")

    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        icon = (
            QStyle.StandardPixmap.SP_MediaPause
            if state == QMediaPlayer.PlaybackState.PlayingState
            else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_button.setIcon(self.style().standardIcon(icon))

    def _on_error(self, error: QMediaPlayer.Error, text: str) -> None:
        if error == QMediaPlayer.Error.NoError:
            return
        message = f"Cannot play {Path(self.path or '').name}: {text or error.name}"
        log.warning(message)
        self.errorOccurred.emit(message)
