"""The first-run view: what ClipSeek does, and the two ways to start (a folder, or the demo)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_app.text_fit import breakable_html


class WelcomeView(QWidget):
    addRequested = Signal()
    demoRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.highlight = False  # a drag is over the window
        title = QLabel("Drop a folder here", self)
        title.setObjectName("welcomeTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lead = QLabel(
            "ClipSeek finds moments in your videos from a sentence, like <i>“blowing out the"
            " birthday candles”</i>. Drop a folder of videos anywhere on this window, or add one,"
            " and it is indexed in the background. Nothing leaves this computer.",
            self,
        )
        lead.setWordWrap(True)
        lead.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.add_button = QPushButton("Add a folder…", self)
        self.add_button.setObjectName("welcomeAdd")
        self.add_button.setDefault(True)
        self.add_button.setMinimumHeight(36)
        self.add_button.clicked.connect(self.addRequested)
        self.demo_button = QPushButton("Try the demo library", self)
        self.demo_button.setObjectName("welcomeDemo")
        self.demo_button.setMinimumHeight(36)
        self.demo_button.setToolTip(
            "Makes 40 short synthetic videos of coloured shapes and indexes them with the"
            " built-in demo model"
        )
        self.demo_button.clicked.connect(self.demoRequested)
        self.model_note = QLabel("", self)
        self.model_note.setObjectName("welcomeModel")
        self.model_note.setWordWrap(True)
        self.model_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.model_note.setTextFormat(Qt.TextFormat.RichText)
        self.model_note.setStyleSheet("color: palette(placeholder-text);")

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        buttons.addSpacing(12)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 48, 32, 48)  # fits beside the panels at 800 px
        layout.addStretch(2)
        layout.addWidget(title)
        layout.addSpacing(12)
        layout.addWidget(lead)
        layout.addSpacing(24)
        layout.addLayout(buttons)
        layout.addSpacing(24)
        layout.addWidget(self.model_note)
        layout.addStretch(3)

    def set_model_note(self, html: str) -> None:
        self.model_note.setText(breakable_html(html))  # a long model path wraps, never widens

    def set_highlight(self, on: bool) -> None:
        self.highlight = on
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """A dashed drop zone, brighter while something is dragged over the window."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(24, 24, -24, -24)
        path = QPainterPath()
        path.addRoundedRect(rect, 18, 18)
        color = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        if self.highlight:
            fill = QColor(color)
            fill.setAlpha(40)
            p.fillPath(path, fill)
        else:
            color = self.palette().color(QPalette.ColorRole.Mid)
        pen = QPen(color, 2.5, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawPath(path)
        p.end()
