"""The right-hand pane: the moment being previewed, what it is, and what can be done with it.

It always shows one moment or none. Nothing previewed: a hint and no action buttons. A moment
whose file cannot be reached (an unplugged drive) is explained in place of the video, once,
instead of an error dialog at every selection; the actions that need the file are disabled.
A video the player cannot play is explained the same way.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core import SearchResult, readable
from desktop_app.date_sections import shot_detail, shot_text
from desktop_app.formatting import length_text, plural, said_at, speech_source, time_range
from desktop_app.player import PreviewPlayer
from desktop_app.results import match_text, one_line
from desktop_app.text_fit import ElidedLabel, breakable, breakable_html, elide_around

HINT = "Select a moment to preview it here"

_SP = QStyle.StandardPixmap
#: (key, label, icon, tooltip) of the buttons under the preview.
ACTIONS = (
    ("open", "Open", _SP.SP_MediaPlay, "Open in your video player (Enter)"),
    ("reveal", "Show file", _SP.SP_DirOpenIcon, "Show in the file manager"),
    ("copy", "Copy", _SP.SP_FileLinkIcon, "Copy the path with the time range"),
    ("save", "Save clip…", _SP.SP_DialogSaveButton, "Save this moment as a video"),
    ("similar", "Similar", _SP.SP_FileDialogContentsView, "Find moments that look alike"),
)
#: Disabled while the file cannot be reached.
NEEDS_FILE = {"open", "reveal", "save"}
#: Lines of the pane the spoken line may take: a speech model's 30 s segment (600 characters)
#: is cut around its match, whole in the tooltip, so the video keeps its room.
SAID_LINES = 4


def _marks(
    r: SearchResult, moments: list[SearchResult]
) -> tuple[list[tuple[float, float, float]], int]:
    """The timeline's marks (by time) for a video's matches, and which one is ``r``."""
    ordered = sorted(moments, key=lambda m: m.t0)
    marks = [(m.t0, m.t1, m.relevance if m.relevance is not None else m.score) for m in ordered]
    index = next((i for i, m in enumerate(ordered) if (m.t0, m.t1) == (r.t0, r.t1)), 0)
    return marks, index


def said_text(r: SearchResult) -> str:
    """What the preview says of the line a moment was found by, plain: ``Said at 0:12–0:15
    (subtitles): “happy birthday grandma”`` ("" when it was found by what was seen)."""
    if r.speech is None:
        return ""
    return f"{_said_head(r)}\u201c{' '.join(r.speech.text.split())}\u201d"


def said_html(r: SearchResult, font: QFont | None = None, room: int = 0) -> str:
    """:func:`said_text` as the pane shows it: the matched words bold, long runs breakable;
    with a ``font`` and ``room`` (pixels: the label's width times its lines), a line longer
    than that cut around its first match."""
    if r.speech is None:
        return ""
    text, spans = one_line(r.speech.text, r.speech.spans)
    if font is not None and room > 0:
        bold = QFont(font)
        bold.setBold(True)
        fm = QFontMetrics(font)
        room -= fm.horizontalAdvance(_said_head(r) + "\u201c\u201d")
        text, spans = elide_around(fm, QFontMetrics(bold), text, spans, max(room, 1))
    parts: list[str] = []
    at = 0
    for a, b in sorted(spans):
        if a < at or b <= a:
            continue
        parts += [html.escape(text[at:a]), f"<b>{html.escape(text[a:b])}</b>"]
        at = b
    parts.append(html.escape(text[at:]))
    return breakable_html(f"{html.escape(_said_head(r))}\u201c{''.join(parts)}\u201d")


def _said_head(r: SearchResult) -> str:
    assert r.speech is not None
    said = said_at(r.speech.start, r.speech.end)
    return f"{said[0].upper()}{said[1:]} ({speech_source(r.speech.source, r.speech.language)}): "


def offline_text(r: SearchResult) -> str:
    folder = Path(r.path).parent
    where = "its drive or folder" if not os.path.exists(folder) else "the file"
    return (
        f"{readable(Path(r.path).name)} is offline: {where} cannot be reached now"
        f" ({folder}).\n\nConnect the drive to play this moment; it stays in your library."
    )


class ActionBar(QWidget):
    """The buttons under the preview: words under their icons where the pane is wide enough,
    icons alone (their tooltips say what they do) where it is not, so the buttons never make
    the pane, and the window, wider."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons: list[QToolButton] = []
        self._widths: dict[Qt.ToolButtonStyle, int] = {}
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def add(self, button: QToolButton) -> None:
        self.buttons.append(button)
        self._widths.clear()

    def _width(self, style: Qt.ToolButtonStyle) -> int:
        """The buttons' width side by side in ``style`` (measured once)."""
        if style not in self._widths:
            layout = self.layout()
            spacing = layout.spacing() if layout is not None else 6
            widths = []
            for b in self.buttons:
                shown = b.toolButtonStyle()
                b.setToolButtonStyle(style)
                widths.append(b.sizeHint().width())
                b.setToolButtonStyle(shown)
            self._widths[style] = sum(widths) + spacing * max(0, len(widths) - 1)
        return self._widths[style]

    def minimumSizeHint(self) -> QSize:
        return QSize(
            self._width(Qt.ToolButtonStyle.ToolButtonIconOnly), super().minimumSizeHint().height()
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        full = self._width(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        style = (
            Qt.ToolButtonStyle.ToolButtonTextUnderIcon
            if event.size().width() >= full
            else Qt.ToolButtonStyle.ToolButtonIconOnly
        )
        for b in self.buttons:
            b.setToolButtonStyle(style)


class PreviewPane(QWidget):
    actionRequested = Signal(str)  # a key of ACTIONS
    momentRequested = Signal(int)  # a match on the timeline was clicked (index by time)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewPane")
        self.result: SearchResult | None = None
        #: The grid shows the library by date (a card is a whole video, with no score).
        self.browsing = False
        self.player = PreviewPlayer(self)
        self.player.momentRequested.connect(self.momentRequested)
        self.player.errorOccurred.connect(self._cannot_play)
        # a name or a path is cut to the pane's width (whole in the tooltip): never wider
        self.title = ElidedLabel("", self)
        self.title.setObjectName("detailTitle")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + 1)
        self.title.setFont(font)
        # what the moment is (a sentence: cut at its end), then where the file is (a path)
        self.info = ElidedLabel(
            "", self, (Qt.TextElideMode.ElideRight, Qt.TextElideMode.ElideMiddle)
        )
        self.info.setObjectName("detailInfo")
        self.info.setStyleSheet("color: palette(placeholder-text);")
        # the spoken line the moment was found by, whole (it wraps: never wider than the pane)
        self.speech = QLabel("", self)
        self.speech.setObjectName("detailSpeech")
        self.speech.setTextFormat(Qt.TextFormat.RichText)
        self.speech.setWordWrap(True)
        self.speech.hide()
        self.problem = QLabel("", self)
        self.problem.setObjectName("previewProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c0392b;")
        self.problem.hide()
        self.buttons: dict[str, QToolButton] = {}
        self.action_bar = ActionBar(self)  # not `actions`: that is QWidget.actions()
        row = QHBoxLayout()
        style = self.style()
        for key, text, icon, tip in ACTIONS:
            b = QToolButton(self)
            b.setObjectName(f"action_{key}")
            b.setText(text)
            b.setIcon(style.standardIcon(icon))
            b.setToolTip(tip)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.clicked.connect(lambda _checked=False, key=key: self.actionRequested.emit(key))
            self.buttons[key] = b
            self.action_bar.add(b)
            row.addWidget(b)
        row.addStretch(1)
        self.action_bar.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 8, 10, 8)
        layout.addWidget(self.player, 1)
        layout.addWidget(self.title)
        layout.addWidget(self.info)
        layout.addWidget(self.speech)
        layout.addWidget(self.problem)
        layout.addWidget(self.action_bar)
        self.clear()

    # -- API -----
    def show_moment(self, r: SearchResult, moments: list[SearchResult]) -> None:
        """Preview ``r`` (one of ``moments``, its video's matches) and describe it."""
        same = self.result is not None and (self.result.path, self.result.t0, self.result.t1) == (
            r.path,
            r.t0,
            r.t1,
        )
        self.result = r
        self._describe(r, moments)
        self.problem.hide()
        if not r.online or not os.path.exists(r.path):
            self.player.clear(offline_text(r))
        elif not same or self.player.path != r.path:
            ordered = sorted(moments, key=lambda m: m.t0)
            marks = [
                (m.t0, m.t1, m.relevance if m.relevance is not None else m.score) for m in ordered
            ]
            index = next((i for i, m in enumerate(ordered) if (m.t0, m.t1) == (r.t0, r.t1)), 0)
            self.player.preview(
                r.path, r.t0, r.t1, marks, index, duration=r.duration or 0.0, start=r.start
            )
        self._enable(r)

    def refresh(self, r: SearchResult, moments: list[SearchResult]) -> None:
        """The previewed moment in a new search: new score and matches, playback untouched."""
        self.result = r
        self._describe(r, moments)
        ordered = sorted(moments, key=lambda m: m.t0)
        if self.player.path == r.path:
            marks = [
                (m.t0, m.t1, m.relevance if m.relevance is not None else m.score) for m in ordered
            ]
            index = next((i for i, m in enumerate(ordered) if (m.t0, m.t1) == (r.t0, r.t1)), 0)
            self.player.timeline.set_moments(self.player.timeline.duration, marks, index)
        self._enable(r)

    def clear(self, message: str = HINT) -> None:
        """Nothing previewed: playback stops, the hint shows, no buttons."""
        self.result = None
        self.player.clear(message)
        self.title.setText("")
        self.info.setText("")
        self._show_speech(None)
        self.problem.hide()
        for b in self.buttons.values():
            b.setEnabled(False)
        self.action_bar.hide()

    # -- internals -----
    def _describe(self, r: SearchResult, moments: list[SearchResult]) -> None:
        self.title.setText(readable(Path(r.path).name))
        if self.browsing:  # a video, not a match: how long, and when it was shot
            length = f"Length {length_text(r.t0, r.t1)}"
            self.info.setText("\n".join([f"{length} · {shot_detail(r)}", r.path]))
            self.info.setToolTip("")
            self._show_speech(None)
            return
        others = len(moments) - 1
        parts = [time_range(r.t0, r.t1), match_text(r)]
        if others > 0:
            parts.append(f"{plural(others, 'other match', 'other matches')} in this video")
        if shot_text(r):
            parts.append(f"shot {shot_text(r)}")
        lines = [" · ".join(parts), r.path]
        if r.copies:
            lines.append("Also at " + ", ".join(r.copies))
        self.info.setText("\n".join(lines))
        said = ""
        if r.speech is not None:  # (in a said: search the score is the line's own)
            said = "found by what was said; "
            if abs(r.score - r.speech.score) > 1e-9:
                said += "the picture's "
        self.info.setToolTip(
            f"{said}similarity {r.score:.3f}"
            + ("" if r.relevance is None else f", relevance {r.relevance * 100:.0f} of 100")
        )
        self._show_speech(r)

    def _show_speech(self, r: SearchResult | None) -> None:
        if r is None or r.speech is None:
            self.speech.setText("")
            self.speech.setToolTip("")
            self.speech.hide()
            return
        self.speech.setToolTip(said_text(r))
        self._fit_speech()
        self.speech.show()

    def _fit_speech(self) -> None:
        """The spoken line, cut to :data:`SAID_LINES` of the pane's width where longer."""
        r = self.result
        if r is None or r.speech is None or self.browsing:
            return
        layout = self.layout()
        margins = layout.contentsMargins() if layout is not None else None
        width = self.width() - (margins.left() + margins.right() if margins else 0)
        room = max(120, width) * SAID_LINES * 3 // 4  # (words wrap: lines are not full)
        self.speech.setText(said_html(r, self.speech.font(), room))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.speech.isVisible():
            self._fit_speech()

    def _enable(self, r: SearchResult) -> None:
        reachable = r.online and os.path.exists(r.path)
        for key, b in self.buttons.items():
            if key in NEEDS_FILE:
                b.setEnabled(reachable)
            elif key == "similar":
                b.setEnabled(bool(r.thumbnail))
            else:
                b.setEnabled(True)
        self.action_bar.show()

    def _cannot_play(self, message: str) -> None:
        """The player failed on this file: say so here, not in a dialog."""
        self.problem.setText(breakable(message))
        self.problem.show()
