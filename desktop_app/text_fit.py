"""Text that never widens the window: names and paths are the user's, and can be any length.

A label's minimum width is the widest thing it cannot break, so one 200-character file name
in a plain label made the whole window 2,500 px wide (issue 23). Two remedies, one per kind of
label:

- :class:`ElidedLabel` for names and paths on lines of their own (the preview's title and
  details, the search summary, the status bar): each line is cut to the width the label gets,
  in the middle by default (a file name keeps its extension), and the whole text is in the
  tooltip. It asks for almost no width.
- :func:`breakable` for sentences that wrap (a placeholder, an error): long runs without a
  space get invisible break opportunities, so the label wraps them like words.

And the other way round, a dialog at least as wide as its title (:func:`fit_title`): the
desktop cut "Save clip — ClipSeek" to "Save c…pSeek" on a small progress dialog.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import (
    QFont,
    QFontMetrics,
    QGuiApplication,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import QGridLayout, QLabel, QMessageBox, QSizePolicy, QSpacerItem, QWidget

#: Zero-width space: a place a line may break, drawn as nothing.
ZWSP = "\u200b"
#: Runs of this many characters without a space get break opportunities.
_RUN = 24


#: What a title bar holds besides the title: the window's icon and its buttons.
TITLE_BAR_ROOM = 150


def shown_title(window: QWidget) -> str:
    """The title as the desktop writes it: Qt adds " — ClipSeek" (the application's display
    name) unless the title already ends with it."""
    title, name = window.windowTitle(), QGuiApplication.applicationDisplayName()
    if name and not title.endswith(name):
        return f"{title} — {name}" if title else name
    return title


def title_width(window: QWidget) -> int:
    """How wide ``window`` must be for its whole title bar to show (title bars are bold on
    most desktops, and a little larger)."""
    font = QFont(window.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.1)
    return QFontMetrics(font).horizontalAdvance(shown_title(window)) + TITLE_BAR_ROOM


def fit_title(dialog: QWidget) -> None:
    """Make ``dialog`` at least as wide as its title bar needs (call after setting its title).

    A message box sizes itself from its layout when shown, whatever its minimum width, so it
    gets a spacer that wide instead."""
    width = title_width(dialog)
    layout = dialog.layout()
    if isinstance(dialog, QMessageBox) and isinstance(layout, QGridLayout):
        spacer = QSpacerItem(width, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Minimum)
        layout.addItem(spacer, layout.rowCount(), 0, 1, layout.columnCount())
    else:
        dialog.setMinimumWidth(max(dialog.minimumWidth(), width))


def breakable(text: str, every: int = _RUN) -> str:
    """``text`` with a zero-width space every ``every`` characters of any run without spaces
    (a path, a long file name), so a word-wrapped label can break it; shorter words are
    untouched."""

    def cut(m: re.Match[str]) -> str:
        run = m.group(0)
        return ZWSP.join(run[i : i + every] for i in range(0, len(run), every))

    return re.sub(rf"[^\s{ZWSP}]{{{every + 1},}}", cut, text)


def breakable_html(html: str, every: int = _RUN) -> str:
    """:func:`breakable` for rich text: only the text between tags gets break opportunities."""
    parts = re.split(r"(<[^>]*>|&\w+;)", html)
    return "".join(p if p.startswith(("<", "&")) else breakable(p, every) for p in parts)


def unbroken(text: str) -> str:
    """The text :func:`breakable` was given."""
    return text.replace(ZWSP, "")


class ElidedLabel(QLabel):
    """Plain text, one or more lines, each cut to fit (``mode``) with "…"; the whole text is
    the tooltip while anything is cut (after what :meth:`setToolTip` gives, if anything).

    It asks for the width of a few characters at least and of ``preferred_chars`` at most, so
    the layout, not the text, decides how wide it is."""

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        mode: Qt.TextElideMode | tuple[Qt.TextElideMode, ...] = Qt.TextElideMode.ElideMiddle,
        preferred_chars: int = 40,
    ) -> None:
        """``mode``: how every line is cut, or one mode per line (the last one for the rest):
        a name keeps its both ends, a sentence its beginning."""
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._modes = mode if isinstance(mode, tuple) else (mode,)
        self._preferred = preferred_chars
        self._extra_tip = ""
        self.setText(text)

    # -- text and tooltip -----
    def setText(self, text: str) -> None:
        super().setText(text)
        self.updateGeometry()
        self._update_tip()
        self.update()

    def setToolTip(self, tip: str) -> None:
        """What the label's tooltip says besides the whole text (when that is cut)."""
        self._extra_tip = tip
        self._update_tip()

    def is_elided(self) -> bool:
        fm, width = self.fontMetrics(), self._text_width()
        return any(fm.horizontalAdvance(line) > width for line in self.text().split("\n"))

    def elided_lines(self) -> list[str]:
        """The lines as drawn."""
        fm, width = self.fontMetrics(), self._text_width()
        modes = self._modes
        return [
            line
            if fm.horizontalAdvance(line) <= width
            else fm.elidedText(line, modes[min(i, len(modes) - 1)], width)
            for i, line in enumerate(self.text().split("\n"))
        ]

    # -- size -----
    def _lines(self) -> int:
        return self.text().count("\n") + 1 if self.text() else 1

    def _frame(self) -> QSize:
        m = self.contentsMargins()
        extra = 2 * max(0, self.margin())
        return QSize(m.left() + m.right() + extra, m.top() + m.bottom() + extra)

    def minimumSizeHint(self) -> QSize:
        fm = self.fontMetrics()
        frame = self._frame()
        return QSize(
            fm.horizontalAdvance("M…M") + frame.width(),
            fm.lineSpacing() * self._lines() + frame.height(),
        )

    def sizeHint(self) -> QSize:
        fm = self.fontMetrics()
        frame = self._frame()
        widest = max((fm.horizontalAdvance(line) for line in self.text().split("\n")), default=0)
        cap = fm.averageCharWidth() * self._preferred
        return QSize(
            max(self.minimumSizeHint().width(), min(widest, cap) + frame.width()),
            fm.lineSpacing() * self._lines() + frame.height(),
        )

    def heightForWidth(self, width: int) -> int:
        return self.sizeHint().height()

    def hasHeightForWidth(self) -> bool:
        return False

    # -- drawing -----
    def _text_rect(self) -> QRect:
        m = max(0, self.margin())
        return self.contentsRect().adjusted(m, m, -m, -m)

    def _text_width(self) -> int:
        return max(1, self._text_rect().width())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_tip()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self._text_rect()
        fm = self.fontMetrics()
        lines = self.elided_lines()
        height = fm.lineSpacing() * len(lines)
        align = self.alignment()
        if align & Qt.AlignmentFlag.AlignBottom:
            y = rect.bottom() + 1 - height
        elif align & Qt.AlignmentFlag.AlignTop:
            y = rect.top()
        else:
            y = rect.top() + (rect.height() - height) // 2
        group = QPalette.ColorGroup.Active if self.isEnabled() else QPalette.ColorGroup.Disabled
        painter.setPen(self.palette().color(group, self.foregroundRole()))
        horizontal = align & Qt.AlignmentFlag.AlignHorizontal_Mask
        for line in lines:
            painter.drawText(
                QRect(rect.left(), y, rect.width(), fm.lineSpacing()),
                int(horizontal | Qt.AlignmentFlag.AlignVCenter),
                line,
            )
            y += fm.lineSpacing()
        painter.end()

    def _update_tip(self) -> None:
        parts = [self.text()] if self.text() and self.is_elided() else []
        if self._extra_tip:
            parts.append(self._extra_tip)
        super().setToolTip("\n".join(parts))


#: What stands for the part of a line that is cut.
ELLIPSIS = "…"


def elide_around(
    fm: QFontMetrics,
    fm_marked: QFontMetrics,
    text: str,
    spans: tuple[tuple[int, int], ...],
    width: int,
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``text`` cut to ``width`` around its first marked range, and the marked ranges in what
    is kept (``spans`` are [a, b) character ranges drawn with ``fm_marked``, the rest with
    ``fm``).

    Never the start of a long line with the match cut away: the first match is kept, with a
    little of what comes before it (from a word's start where one is near), then as much as
    fits after it, then more before. "…" marks each cut end. A match longer than the width
    keeps its beginning."""
    n = len(text)
    marked = [False] * n
    for a, b in spans:
        for i in range(max(0, a), min(n, b)):
            marked[i] = True
    cum = [0]
    for ch, bold in zip(text, marked, strict=True):
        cum.append(cum[-1] + (fm_marked if bold else fm).horizontalAdvance(ch))
    if cum[n] <= width:
        return text, tuple((a, b) for a, b in spans if a < b)
    ell = fm.horizontalAdvance(ELLIPSIS)

    def fits(s: int, e: int) -> bool:
        return cum[e] - cum[s] + (ell if s > 0 else 0) + (ell if e < n else 0) <= width

    first = min(spans, default=(0, 0))
    a, b = max(0, min(first[0], n)), max(0, min(first[1], n))
    if fits(0, b):  # the match is near the start: cut the end only
        s, e = 0, b
    elif not fits(a, b):  # a match wider than the line: its beginning
        s, e = a, a
        while e < n and fits(s, e + 1):
            e += 1
    else:
        s, e = a, b
        context = width // 4  # some of what comes before, then what follows
        while s > 0 and cum[a] - cum[s - 1] <= context and fits(s - 1, e):
            s -= 1
    while e < n and fits(s, e + 1):
        e += 1
    while s > 0 and s > a - 1000 and fits(s - 1, e):
        s -= 1
    space = text.find(" ", s, a)
    if s > 0 and not text[s - 1].isspace() and space >= s:  # from a word's start
        s = space + 1
    space = text.rfind(" ", b, e)
    if e < n and not text[e].isspace() and space >= b:  # to a word's end
        e = space
    while s < a and text[s].isspace():
        s += 1
    while e > b and text[e - 1].isspace():
        e -= 1
    body = text[s:e]
    lead = ELLIPSIS if s > 0 else ""
    shown = lead + body + (ELLIPSIS if e < n else "")
    shift = len(lead) - s
    kept = tuple((max(x, s) + shift, min(y, e) + shift) for x, y in spans if max(x, s) < min(y, e))
    return shown, kept
