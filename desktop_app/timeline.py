"""A video's whole length with its matches on it: where else in this video the query matched.

Every matched moment of the video is a mark; the one being previewed is highlighted; the
playhead shows the position. Clicking a mark previews that moment, clicking elsewhere seeks.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_app.formatting import clock, time_range


class MatchTimeline(QWidget):
    seekRequested = Signal(float)  # seconds
    momentRequested = Signal(int)  # index into moments

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.duration = 0.0
        self.position = 0.0
        self.moments: list[tuple[float, float, float]] = []  # (t0, t1, score)
        self.current = -1
        self.setMinimumHeight(30)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setObjectName("timeline")

    def sizeHint(self) -> QSize:
        return QSize(400, 30)

    def set_moments(self, duration: float, moments: list[tuple[float, float, float]], current: int):
        self.duration = max(duration, max((m[1] for m in moments), default=0.0))
        self.moments = moments
        self.current = current
        self.update()

    def set_duration(self, duration: float) -> None:
        self.duration = max(duration, max((m[1] for m in self.moments), default=0.0))
        self.update()

    def set_position(self, seconds: float) -> None:
        self.position = seconds
        self.update()

    def _track(self) -> QRectF:
        return QRectF(6, self.height() / 2 - 5, self.width() - 12, 10)

    def _x(self, t: float) -> float:
        track = self._track()
        return track.left() + track.width() * (t / self.duration if self.duration > 0 else 0.0)

    def _t(self, x: float) -> float:
        track = self._track()
        if track.width() <= 0 or self.duration <= 0:
            return 0.0
        return max(0.0, min(self.duration, (x - track.left()) / track.width() * self.duration))

    def moment_at(self, x: float) -> int:
        for i, (t0, t1, _) in enumerate(self.moments):
            if self._x(t0) - 3 <= x <= self._x(t1) + 3:
                return i
        return -1

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        track = self._track()
        path = QPainterPath()
        path.addRoundedRect(track, 5, 5)
        p.fillPath(path, pal.color(QPalette.ColorRole.Midlight).darker(115))
        highlight = pal.color(QPalette.ColorRole.Highlight)
        best = max((m[2] for m in self.moments), default=1.0) or 1.0
        for i, (t0, t1, score) in enumerate(self.moments):
            r = QRectF(
                self._x(t0), track.top(), max(3.0, self._x(t1) - self._x(t0)), track.height()
            )
            color = QColor(highlight)
            color.setAlphaF(1.0 if i == self.current else 0.35 + 0.4 * max(0.0, score / best))
            if i != self.current:
                color = color.lighter(130)
            mark = QPainterPath()
            mark.addRoundedRect(r, 3, 3)
            p.fillPath(mark, color)
            if i == self.current:
                p.setPen(highlight.darker(150))
                p.drawPath(mark)
        if self.duration > 0:
            x = self._x(self.position)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(pal.color(QPalette.ColorRole.Text))
            p.drawEllipse(QPointF(x, track.center().y()), 6, 6)
            p.setBrush(pal.color(QPalette.ColorRole.Base))
            p.drawEllipse(QPointF(x, track.center().y()), 3, 3)
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        x = event.position().x()
        i = self.moment_at(x)
        if i >= 0 and i != self.current:
            self.momentRequested.emit(i)
        else:
            self.seekRequested.emit(self._t(x))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        i = self.moment_at(x)
        if i >= 0:
            t0, t1, score = self.moments[i]
            self.setToolTip(f"match {time_range(t0, t1)} · score {score:.3f}")
        else:
            self.setToolTip(clock(self._t(x)))
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.seekRequested.emit(self._t(x))
