"""The results grid: the moments worth seeing first, a few per video, and more on request.

What a search shows is decided with the library's own scores (:mod:`core.query.relevance`): the
moments that stand out come first, the rest wait behind a *Show more* row. No video fills the
grid: after :data:`PER_VIDEO` moments of one video a *N more in this video* tile stands in for
the rest, and choosing it lays them all out. Bars show relevance on the same 0–1 scale for every
search (a weak best looks weak), with a word a person reads at a glance.

One flat :class:`QListView` in icon mode. Cards share the view's width: as many columns as fit,
each as wide as the row allows, so no strip of dead space is left on the right. A group header
or the *Show more* row is as wide as the view, which makes the flow start a new line after it.
Headers can't be selected and the arrow keys step over them; Up from the first row hands the
keyboard back to the search box.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPixmap,
    QResizeEvent,
    QTextCharFormat,
    QTextLayout,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from core import SearchResult, readable, shown_count
from core import relevance_label as label
from desktop_app.date_sections import Section, sections, shot_detail, shot_text
from desktop_app.engine import frame_key
from desktop_app.formatting import length_text, plural, said_at, speech_source, time_range
from desktop_app.text_fit import elide_around

ResultRole = Qt.ItemDataRole.UserRole + 1
HeaderRole = Qt.ItemDataRole.UserRole + 2
MoreRole = Qt.ItemDataRole.UserRole + 3
#: The spoken line a moment was found by (``SearchResult.speech``), None for what was seen;
#: :meth:`ResultDelegate.spoken_line` gives it as a card paints it.
SpeechRole = Qt.ItemDataRole.UserRole + 4

#: Moments of one video shown before a "N more in this video" tile.
PER_VIDEO = 3
#: Moments a "Show more" row adds.
PAGE = 24
#: Cards are at least this wide; the grid gives them whatever width is left over.
MIN_CARD_W = 216
TEXT_H = 58  # file name and relevance lines under the thumbnail
#: The grey word before a card's spoken line.
SAID = "said"
HEADER_H = 34
MORE_H = 40
MORE_TILE_W = 132  # "N more in this video": narrower than a card
SPACING = 10
#: A thumbnail whose shape differs from the card's 16:9 by more than this is not cropped.
CROP_TOLERANCE = 0.25
#: Points across a card's range that hovering shows (each is decoded once, then cached).
SCRUB_STEPS = 8
#: Hover frames kept decoded (320 px wide: ~0.2 MB each as an image, as much as a pixmap),
#: the least recently added dropped first: hovering a thousand cards must not fill memory.
FRAME_CACHE = 240

Index = QModelIndex | QPersistentModelIndex

MATCH_WORDS = {"strong": "Strong match", "good": "Good match", "weak": "Weak match", "": ""}


@dataclass(frozen=True)
class Header:
    path: str
    moments: int  # the video's moments in the results
    best: float | None  # relevance of the video's best moment
    shown: int | None = None  # of them, the cards laid out under the header (None: all)


@dataclass(frozen=True)
class More:
    """A row that lays out more moments: of one video (``path``), or of the search."""

    count: int
    path: str | None = None  # None: the search's next page


Row = SearchResult | Header | More | Section


@dataclass(frozen=True)
class SpokenLine:
    """A card's spoken line as painted: ``text`` in quotes, cut around its first match to
    ``width`` pixels, and the character ranges of ``text`` drawn bold (the matched words)."""

    text: str
    marked: tuple[tuple[int, int], ...]

    def marked_words(self) -> list[str]:
        return [self.text[a:b] for a, b in self.marked]


def marked_font(font: QFont) -> QFont:
    bold = QFont(font)
    bold.setBold(True)
    return bold


def said_font(font: QFont) -> QFont:
    """The small grey "said" before a spoken line."""
    small = QFont(font)
    small.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
    return small


def spoken_line(r: SearchResult, font: QFont, width: int) -> SpokenLine | None:
    """What a card of ``r`` shows of its spoken line in ``width`` pixels after "said" (None:
    found by what was seen)."""
    if r.speech is None:
        return None
    fm, quotes = QFontMetrics(font), "\u201c\u201d"
    room = width - QFontMetrics(said_font(font)).horizontalAdvance(SAID + " ")
    room -= fm.horizontalAdvance(quotes) + 2  # (a pixel or two of rounding between pieces)
    text, spans = one_line(r.speech.text, r.speech.spans)
    shown, kept = elide_around(fm, QFontMetrics(marked_font(font)), text, spans, max(0, room))
    return SpokenLine(quotes[0] + shown + quotes[1], tuple((a + 1, b + 1) for a, b in kept))


def one_line(
    text: str, spans: tuple[tuple[int, int], ...]
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A spoken line on one line (a subtitle's line breaks and runs of white space become one
    space, its ends trimmed) and its marked ``spans`` where they fall in it."""
    joined = " ".join(text.split())
    if joined == text:
        return text, spans
    where, out = [], 0
    prev_space = True
    for ch in text:
        where.append(out)
        if ch.isspace():
            if not prev_space:
                out += 1
            prev_space = True
        else:
            out += 1
            prev_space = False
    where.append(out)
    n = len(joined)
    return joined, tuple(
        (min(where[a], n), min(where[b], n))
        for a, b in spans
        if min(where[a], n) < min(where[b], n)
    )


def speech_room(font: QFont) -> int:
    """Pixels a card with a spoken line takes from its picture for that line: none where the
    text under the picture has room for it (cards keep their size whatever they show, so the
    grid never jumps between searches)."""
    used = QFontMetrics(marked_font(font)).height() + 4 + QFontMetrics(font).height()
    needed = used + 2 + QFontMetrics(font).height()
    return max(0, needed - (TEXT_H - 8))


def _utf16(text: str, i: int) -> int:
    """Qt counts text in UTF-16 units; Python in code points."""
    return len(text[:i].encode("utf-16-le")) // 2


def _key(r: SearchResult) -> tuple[str, float, float]:
    return (r.path, r.t0, r.t1)


def scrub_time(r: SearchResult, fraction: float) -> float:
    """The point of ``r``'s range a mouse at ``fraction`` (0-1) across its card shows: the
    middle of one of :data:`SCRUB_STEPS` equal parts, so a hover decodes a few frames."""
    step = min(SCRUB_STEPS - 1, max(0, int(fraction * SCRUB_STEPS)))
    return r.t0 + (step + 0.5) * (r.t1 - r.t0) / SCRUB_STEPS


def match_text(r: SearchResult) -> str:
    """``Strong match`` etc.; a tiny library (no relevance) shows the similarity itself."""
    word = MATCH_WORDS[label(r.relevance)]
    return word or f"similarity {r.score:.2f}"


class ResultsModel(QAbstractListModel):
    """Search results as rows: what stands out first, a few per video, More rows for the rest."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._results: list[SearchResult] = []
        self._images: dict[str, QImage] = {}
        self._pixmaps: dict[str, QPixmap] = {}
        self.grouped = False
        self.limit = 0  # results (best first) within the shown part of the search
        self.expanded: set[str] = set()  # videos whose every moment is laid out
        #: Cards under month headers (browsing, or a search sorted by date), not by relevance.
        self.by_date = False
        #: The library without a query: cards are videos, with no score to show.
        self.browsing = False
        #: Frames of videos decoded for hovering, by (path, ms), oldest first.
        self._frames: OrderedDict[tuple[str, int], QImage] = OrderedDict()
        self._frame_pixmaps: dict[tuple[str, int], QPixmap] = {}
        #: Frames asked for since the last search (each once: one that cannot be decoded is
        #: not asked again on every mouse move).
        self._asked: set[tuple[str, int]] = set()
        #: The card under the mouse and the point of its range shown, or None.
        self.scrubbing: tuple[tuple[str, float, float], float] | None = None

    # -- content -----
    def set_results(
        self,
        results: list[SearchResult],
        thumbnails: dict[str, QImage] | None = None,
        *,
        keep_view: bool = False,
        by_date: bool = False,
        browsing: bool = False,
    ) -> None:
        """New results. ``keep_view`` (the same search, refreshed while indexing) keeps what
        the user opened with Show more and N more; a new search starts from its best.
        ``by_date``: the results are newest first, laid out under month headers; ``browsing``:
        they are the library's videos, every one shown."""
        self.beginResetModel()
        self._results = list(results)
        self.by_date, self.browsing = by_date or browsing, browsing
        self.scrubbing = None
        self._asked.clear()
        if thumbnails is not None:
            self._images = dict(thumbnails)
            self._pixmaps = {k: v for k, v in self._pixmaps.items() if k in self._images}
        cut = shown_count([r.relevance for r in self._ranked()])
        if browsing:
            cut = len(self._results)
        if keep_view:
            self.limit = min(len(self._results), max(self.limit, cut))
            paths = {r.path for r in self._results}
            self.expanded &= paths
        else:
            self.limit = cut
            self.expanded = set()
        self._rows = self._layout()
        self.endResetModel()

    def add_thumbnails(self, thumbnails: dict[str, QImage]) -> None:
        """Thumbnails decoded after the results came (rows shown by Show more)."""
        self._images.update(thumbnails)
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    def add_frames(self, frames: dict[tuple[str, int], tuple[str, QImage]]) -> None:
        """Frames decoded in the background: a moment's best second becomes its thumbnail;
        the rest serve hovering."""
        if not frames:
            return
        for key, (_path, image) in frames.items():
            self._frames[key] = image
            self._frames.move_to_end(key)
        while len(self._frames) > FRAME_CACHE:
            old, _ = self._frames.popitem(last=False)
            self._frame_pixmaps.pop(old, None)
        best = {
            i: frames[frame_key(r.path, r.best_t)]
            for i, r in enumerate(self._results)
            if r.best_t is not None and frame_key(r.path, r.best_t) in frames
        }
        if best:
            for i, (path, image) in best.items():
                self._images[path] = image
                self._results[i] = replace(self._results[i], thumbnail=path)
            by_key = {_key(r): r for r in self._results}
            self._rows = [
                by_key.get(_key(row), row) if isinstance(row, SearchResult) else row
                for row in self._rows
            ]
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    # -- hovering -----
    def scrub(self, result: SearchResult, fraction: float) -> tuple[SearchResult, float] | None:
        """The mouse is ``fraction`` across ``result``'s card: show that point of its range.
        Returns the frame to decode when it is not here yet (None: nothing to fetch)."""
        t = scrub_time(result, fraction)
        changed = self.scrubbing != (_key(result), t)
        self.scrubbing = (_key(result), t)
        row = self.row_of(result)
        if changed and row is not None:
            self.dataChanged.emit(self.index(row), self.index(row))
        key = frame_key(result.path, t)
        if key in self._frames or key in self._asked or not result.online:
            return None
        self._asked.add(key)
        return result, t

    def stop_scrub(self) -> None:
        if self.scrubbing is None:
            return
        key = self.scrubbing[0]
        self.scrubbing = None
        row = self._row_of_key(key)
        if row is not None:
            self.dataChanged.emit(self.index(row), self.index(row))

    def scrub_pixmap(self, result: SearchResult) -> tuple[QPixmap | None, float] | None:
        """(the frame to paint, where in the range 0-1) while ``result``'s card is scrubbed;
        the frame is None until it is decoded."""
        if self.scrubbing is None or self.scrubbing[0] != _key(result):
            return None
        t = self.scrubbing[1]
        span = max(1e-6, result.t1 - result.t0)
        key = frame_key(result.path, t)
        pm = self._frame_pixmaps.get(key)
        if pm is None and key in self._frames:
            pm = QPixmap.fromImage(self._frames[key])
            self._frame_pixmaps[key] = pm
        return pm, (t - result.t0) / span

    def section_rows(self) -> list[tuple[Section, int]]:
        """The month headers laid out, with their rows (what the scrubber jumps to)."""
        return [(row, i) for i, row in enumerate(self._rows) if isinstance(row, Section)]

    def missing_thumbnails(self) -> list[str]:
        """Thumbnail files of laid-out moments not decoded yet."""
        return [
            r.thumbnail
            for r in self._rows
            if isinstance(r, SearchResult) and r.thumbnail and r.thumbnail not in self._images
        ]

    def set_grouped(self, grouped: bool) -> None:
        if grouped != self.grouped:
            self.beginResetModel()
            self.grouped = grouped
            self._rows = self._layout()
            self.endResetModel()

    def show_more(self) -> None:
        self.beginResetModel()
        self.limit = min(len(self._results), self.limit + PAGE)
        self._rows = self._layout()
        self.endResetModel()

    def expand(self, path: str) -> None:
        self.beginResetModel()
        self.expanded.add(path)
        self._rows = self._layout()
        self.endResetModel()

    def activate(self, index: Index) -> bool:
        """Act on a More row (True), or leave the row to the caller (a moment: False)."""
        more = index.data(MoreRole) if index.isValid() else None
        if not isinstance(more, More):
            return False
        if more.path is None:
            self.show_more()
        else:
            self.expand(more.path)
        return True

    def _ranked(self) -> list[SearchResult]:
        """The results best first: as they came, unless sorted by date (then the cut and
        Show more still go by match, and the chosen moments are laid out by date)."""
        if not self.by_date or self.browsing:
            return self._results
        return sorted(self._results, key=lambda r: -r.score)

    def _layout(self) -> list[Row]:
        results = self._results
        base = results[: self.limit]
        if self.by_date and not self.browsing:  # (a video opened from the timeline: all of it)
            best = {_key(r) for r in self._ranked()[: self.limit]}
            base = [r for r in results if _key(r) in best or r.path in self.expanded]
        by_video: dict[str, list[SearchResult]] = {}
        for r in results:
            by_video.setdefault(r.path, []).append(r)
        chosen: dict[str, list[SearchResult]] = {}  # per video, in order of its best moment
        for r in base:
            picked = chosen.setdefault(r.path, [])
            if r.path in self.expanded:
                if not picked:
                    picked.extend(by_video[r.path])
            elif len(picked) < PER_VIDEO:
                picked.append(r)
        for path in self.expanded:  # opened from the timeline or a tile beyond the cut
            if path not in chosen and path in by_video:
                chosen[path] = list(by_video[path])
        in_base: dict[str, int] = {}
        for r in base:
            in_base[r.path] = in_base.get(r.path, 0) + 1

        def hidden(path: str) -> int:
            """Moments of this video among the shown part of the search left off its cards
            (those below the cut stay behind Show more, and on the timeline)."""
            if path in self.expanded:
                return 0
            return max(0, in_base.get(path, 0) - len(chosen[path]))

        rows: list[Row] = []
        if self.by_date:  # newest first under month headers, every moment as a card
            for section, group in sections(base):
                rows.append(section)
                rows.extend(group)
        elif self.grouped:
            for path, moments in chosen.items():
                total = len(by_video[path])
                rows.append(Header(path, total, moments[0].relevance, len(moments)))
                in_time: list[SearchResult] = sorted(moments, key=lambda m: m.t0)
                rows.extend(in_time)
                if hidden(path):
                    rows.append(More(hidden(path), path))
        else:
            shown = {_key(m) for moments in chosen.values() for m in moments}
            last: dict[str, int] = {}
            for r in base:
                if _key(r) in shown and r.path not in self.expanded:
                    rows.append(r)
                    last[r.path] = len(rows) - 1
                elif r.path in self.expanded and r.path not in last:
                    rows.extend(chosen[r.path])
                    last[r.path] = len(rows) - 1
            for path in self.expanded:
                if path not in last and path in chosen:
                    rows.extend(chosen[path])
                    last[path] = len(rows) - 1
            # a tile after each video's last card stands in for its other moments
            for path, at in sorted(last.items(), key=lambda kv: -kv[1]):
                if hidden(path):
                    rows.insert(at + 1, More(hidden(path), path))
        laid_out = {_key(r) for r in rows if isinstance(r, SearchResult)}
        rest = sum(1 for r in results if _key(r) not in laid_out)
        hidden_in_tiles = sum(r.count for r in rows if isinstance(r, More))
        if self.limit < len(results) and rest - hidden_in_tiles > 0:
            rows.append(More(min(PAGE, len(results) - self.limit)))
        return rows

    @property
    def results(self) -> list[SearchResult]:
        return list(self._results)

    def shown_results(self) -> list[SearchResult]:
        """The moments laid out as cards, in row order."""
        return [r for r in self._rows if isinstance(r, SearchResult)]

    def moments_of(self, path: str) -> list[SearchResult]:
        return [r for r in self._results if r.path == path]

    def result(self, index: Index) -> SearchResult | None:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        return row if isinstance(row, SearchResult) else None

    def row_of(self, result: SearchResult) -> int | None:
        return self._row_of_key(_key(result))

    def _row_of_key(self, key: tuple[str, float, float]) -> int | None:
        for i, row in enumerate(self._rows):
            if isinstance(row, SearchResult) and _key(row) == key:
                return i
        return None

    def find(self, result: SearchResult) -> SearchResult | None:
        """The same moment (video and range) in the current results, with its new score."""
        return next((r for r in self._results if _key(r) == _key(result)), None)

    def first_result_row(self) -> int | None:
        return next((i for i, r in enumerate(self._rows) if isinstance(r, SearchResult)), None)

    def pixmap(self, result: SearchResult) -> QPixmap | None:
        key = result.thumbnail
        if not key:
            return None
        pm = self._pixmaps.get(key)
        if pm is None and key in self._images:
            pm = QPixmap.fromImage(self._images[key])
            self._pixmaps[key] = pm
        return pm

    # -- Qt model API -----
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if isinstance(self._rows[index.row()], Header | Section):
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == ResultRole:
            return row if isinstance(row, SearchResult) else None
        if role == HeaderRole:
            return row if isinstance(row, Header | Section) else None
        if role == MoreRole:
            return row if isinstance(row, More) else None
        if role == SpeechRole:
            return row.speech if isinstance(row, SearchResult) else None
        if isinstance(row, Section):
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                return f"{row.title} · {plural(row.count, 'video' if self.browsing else 'moment')}"
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(row, Header):
                return readable(Path(row.path).name)
            if isinstance(row, More):
                return more_text(row)
            shown = f"{readable(Path(row.path).name)} {time_range(row.t0, row.t1)}"
            if row.speech is not None:  # (what a screen reader says of the card, too)
                shown += f" · {SAID} \u201c{' '.join(row.speech.text.split())}\u201d"
            return shown
        if role == Qt.ItemDataRole.ToolTipRole:
            if isinstance(row, Header):
                return readable(row.path)
            if isinstance(row, More):
                return more_text(row)
            return card_tooltip(row, self.browsing)
        return None


def more_text(row: More) -> str:
    if row.path is None:
        return f"Show {plural(row.count, 'more moment')} (weaker matches)"
    return f"{plural(row.count, 'more moment')} in this video"


def time_badge(r: SearchResult, browsing: bool = False) -> str:
    """The time on a card's picture: a moment's range, or a whole video's length when browsing
    (its range always read "0:00 – 0:11", as its tooltip once did)."""
    return length_text(r.t0, r.t1) if browsing else time_range(r.t0, r.t1)


def card_tooltip(r: SearchResult, browsing: bool = False) -> str:
    if browsing:
        return "\n".join([readable(r.path), shot_detail(r), f"Length {length_text(r.t0, r.t1)}"])
    lines = [readable(r.path), f"{time_range(r.t0, r.t1)} · {match_text(r)}", shot_detail(r)]
    if r.relevance is not None:
        how = f"similarity {r.score:.3f}"
        if r.speech is not None:  # found by its line: the score alone may be the picture's
            how = "found by what was said"
            if abs(r.score - r.speech.score) > 1e-9:  # (in a said: search it is the line's)
                how += f"; the picture's similarity {r.score:.3f}"
        lines.append(
            f"Relevance {r.relevance * 100:.0f} of 100 against the rest of your library ({how})"
        )
    if r.speech is not None:
        source = speech_source(r.speech.source, r.speech.language)
        said = said_at(r.speech.start, r.speech.end)
        lines.append(f"{said[0].upper()}{said[1:]} ({source}): \u201c{r.speech.text}\u201d")
    if r.copies:
        lines.append("Also at: " + ", ".join(r.copies))
    if not r.online:
        lines.append("Offline: the drive or folder holding this video is not reachable now")
    return "\n".join(lines)


def card_width(viewport_width: int, spacing: int = SPACING // 2) -> int:
    """Cards fill the row: as many columns as fit at :data:`MIN_CARD_W`, sharing what is left.

    The list view puts ``spacing`` before, between and after the items of a row, so ``n``
    cards of width ``w`` take ``n * w + (n + 1) * spacing``. With as many columns as fit, a
    card grows by less than half (a wider window shows more cards, not bigger ones).
    """
    room = max(0, viewport_width - spacing - 1)  # a row must be narrower than the view
    columns = max(1, room // (MIN_CARD_W + spacing))
    return max(96, room // columns - spacing)


def elided(fm: QFontMetrics, text: str, width: int) -> str:
    """``text`` cut in the middle to fit ``width``; whole when it fits (Qt's own eliding can
    cut a name that fits exactly, rounding the width it measures)."""
    if fm.horizontalAdvance(text) <= width:
        return text
    return fm.elidedText(text, Qt.TextElideMode.ElideMiddle, width)


def header_detail(h: Header) -> str:
    """What a video's header says after its name: how many of its moments the cards under it
    show ("2 of 5 moments shown": the others wait in a tile or behind Show more), and its
    folder."""
    count = plural(h.moments, "moment")
    if h.shown is not None and h.shown < h.moments:
        count = f"{h.shown} of {count} shown"
    return f"{count} · {Path(h.path).parent}"


def header_layout(fm_name: QFontMetrics, name: str, width: int) -> tuple[str, int]:
    """The header's file name as drawn and the width it takes: whole unless it would take more
    than two thirds of the row (the folder and counts share the rest)."""
    want = fm_name.horizontalAdvance(name) + 2
    room = max(40, width * 2 // 3)
    if want <= room:
        return name, want
    return elided(fm_name, name, room), room


class ResultDelegate(QStyledItemDelegate):
    """Paints a card (thumbnail, time range, file name, relevance), a header or a More row."""

    def __init__(self, view: ResultsView) -> None:
        super().__init__(view)
        self._view = view

    def card_size(self) -> QSize:
        w = card_width(self._view.viewport().width(), self._view.spacing())
        return QSize(w, round((w - 12) * 9 / 16) + 12 + TEXT_H)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        full = max(MIN_CARD_W, self._view.viewport().width() - 2 * self._view.spacing() - 1)
        if index.data(HeaderRole) is not None:
            return QSize(full, HEADER_H)
        more = index.data(MoreRole)
        if isinstance(more, More):
            if more.path is None:
                return QSize(full, MORE_H)
            card = self.card_size()
            return QSize(min(card.width(), MORE_TILE_W), card.height())
        return self.card_size()

    def spoken_line(self, index: Index) -> SpokenLine | None:
        """The spoken line the card at ``index`` paints (None: it has none)."""
        r = index.data(ResultRole)
        if not isinstance(r, SearchResult):
            return None
        return spoken_line(r, self._view.font(), self._text_width(self.card_size().width()))

    @staticmethod
    def _text_width(card_w: float) -> int:
        return int(card_w - 4 - 16)  # the tile's inset and the text's margins

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        header = index.data(HeaderRole)
        more = index.data(MoreRole)
        if isinstance(header, Section):
            self._paint_section(painter, option, header)
        elif header is not None:
            self._paint_header(painter, option, header)
        elif isinstance(more, More):
            self._paint_more(painter, option, more)
        else:
            result = index.data(ResultRole)
            if result is not None:
                self._paint_card(painter, option, index, result)
        painter.restore()

    def _paint_section(self, p: QPainter, option: QStyleOptionViewItem, s: Section) -> None:
        """A month header: "July 2019", and how many cards follow."""
        model = self._view.model()
        browsing = isinstance(model, ResultsModel) and model.browsing
        detail = plural(s.count, "video" if browsing else "moment")
        self._paint_title_row(
            p, option, lambda fm, _w: (s.title, fm.horizontalAdvance(s.title) + 4), detail, grow=2
        )

    def _paint_header(self, p: QPainter, option: QStyleOptionViewItem, h: Header) -> None:
        """A video's header: its name, then its moments and folder."""
        name = readable(Path(h.path).name)
        detail = header_detail(h)
        self._paint_title_row(p, option, lambda fm, w: header_layout(fm, name, w), detail, grow=1)

    @staticmethod
    def _paint_title_row(
        p: QPainter,
        option: QStyleOptionViewItem,
        title: Callable[[QFontMetrics, int], tuple[str, int]],
        detail: str,
        grow: float,
    ) -> None:
        """A bold title (``title`` lays it out: text and width for the row's width), a quieter
        detail after it, and a rule under both: the look of every header row."""
        pal = option.palette
        pal.setCurrentColorGroup(QPalette.ColorGroup.Active)  # headers are not "disabled" text
        r = option.rect.adjusted(4, 0, -4, 0)
        font = QFont(option.font)
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + grow)
        p.setFont(font)
        p.setPen(pal.color(QPalette.ColorRole.Text))
        text, text_w = title(QFontMetrics(font), r.width())
        p.drawText(
            QRect(r.left(), r.top(), text_w, r.height()), Qt.AlignmentFlag.AlignVCenter, text
        )
        p.setFont(option.font)
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        rest = QRect(r.left() + text_w + 12, r.top(), r.width() - text_w - 12, r.height())
        p.drawText(
            rest,
            Qt.AlignmentFlag.AlignVCenter,
            elided(QFontMetrics(option.font), detail, rest.width()),
        )
        p.setPen(pal.color(QPalette.ColorRole.Mid))
        p.drawLine(r.left(), r.bottom() - 2, r.right(), r.bottom() - 2)

    @staticmethod
    def _tile(
        p: QPainter, option: QStyleOptionViewItem, role: QPalette.ColorRole
    ) -> tuple[QRectF, QPainterPath, bool]:
        """A card's rounded background, darker under the mouse: (rect, outline, selected)."""
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        rect = QRectF(option.rect).adjusted(2, 2, -2, -2)
        path = QPainterPath()
        path.addRoundedRect(rect, 8, 8)
        base = option.palette.color(role)
        p.fillPath(path, base.darker(107) if hovered and not selected else base)
        return rect, path, selected

    def _paint_more(self, p: QPainter, option: QStyleOptionViewItem, more: More) -> None:
        pal = option.palette
        rect, path, selected = self._tile(p, option, QPalette.ColorRole.AlternateBase)
        pen = p.pen()
        pen.setColor(
            pal.color(QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.Mid)
        )
        pen.setWidthF(3 if selected else 1)
        pen.setStyle(Qt.PenStyle.SolidLine if selected else Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawPath(path)
        font = QFont(option.font)
        font.setBold(True)
        p.setFont(font)
        p.setPen(pal.color(QPalette.ColorRole.Link))
        text = more_text(more)
        if more.path is not None:
            text = f"+ {text}"
        p.drawText(
            rect.adjusted(10, 4, -10, -4),
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            text,
        )

    def _paint_card(
        self, p: QPainter, option: QStyleOptionViewItem, index: Index, r: SearchResult
    ) -> None:
        pal = option.palette
        rect, card, selected = self._tile(p, option, QPalette.ColorRole.Base)
        if selected:
            pen = p.pen()
            pen.setColor(pal.color(QPalette.ColorRole.Highlight))
            pen.setWidthF(3)
            p.setPen(pen)
            p.drawPath(card)
        # thumbnail, cropped to fill a 16:9 box (a little less where a spoken line needs room)
        thumb_h = rect.height() - 12 - TEXT_H + 4
        if r.speech is not None:
            thumb_h -= speech_room(option.font)
        thumb = QRectF(rect.left() + 6, rect.top() + 6, rect.width() - 12, thumb_h)
        clip = QPainterPath()
        clip.addRoundedRect(thumb, 6, 6)
        p.save()
        p.setClipPath(clip)
        model = index.model()
        pm = model.pixmap(r) if isinstance(model, ResultsModel) else None
        scrub = model.scrub_pixmap(r) if isinstance(model, ResultsModel) else None
        if scrub is not None and scrub[0] is not None:
            pm = scrub[0]  # the point of the range the mouse is over
        if pm is not None and not pm.isNull():
            # Fill the box when the picture is about its shape; a square or portrait clip is
            # shown whole between bars instead (cropping it to 16:9 cut off what matched).
            fill = abs(pm.width() / max(1, pm.height()) / (thumb.width() / thumb.height()) - 1)
            mode = (
                Qt.AspectRatioMode.KeepAspectRatioByExpanding
                if fill < CROP_TOLERANCE
                else Qt.AspectRatioMode.KeepAspectRatio
            )
            scaled = pm.scaled(
                thumb.size().toSize(), mode, Qt.TransformationMode.SmoothTransformation
            )
            if mode == Qt.AspectRatioMode.KeepAspectRatio:
                p.fillRect(thumb, QColor(24, 24, 28))
            sx = (scaled.width() - thumb.width()) / 2
            sy = (scaled.height() - thumb.height()) / 2
            p.drawPixmap(thumb, scaled, QRectF(sx, sy, thumb.width(), thumb.height()))
        else:
            p.fillRect(thumb, QColor(40, 40, 46))
            p.setPen(QColor(150, 150, 160))
            p.drawText(thumb, Qt.AlignmentFlag.AlignCenter, "no preview")
        fm = QFontMetrics(option.font)
        if not r.online:  # dimmed, with a chip that says why it will not play
            p.fillRect(thumb, QColor(20, 20, 24, 150))
            self._chip(p, fm, "Offline", thumb.left() + 6, thumb.top() + 6, QColor(192, 57, 43))
        if r.copies:
            text = f"{len(r.copies) + 1} places"
            w = fm.horizontalAdvance(text) + 12
            self._chip(p, fm, text, thumb.right() - w - 6, thumb.top() + 6, QColor(0, 0, 0, 170))
        badge_text = time_badge(r, isinstance(model, ResultsModel) and model.browsing)
        bw, bh = fm.horizontalAdvance(badge_text) + 12, fm.height() + 4
        self._chip(
            p, fm, badge_text, thumb.right() - bw - 6, thumb.bottom() - bh - 6, QColor(0, 0, 0, 170)
        )
        if scrub is not None:  # where in the range the shown frame lies
            x = thumb.left() + thumb.width() * min(1.0, max(0.0, scrub[1]))
            p.fillRect(QRectF(thumb.left(), thumb.bottom() - 4, thumb.width(), 4),
                       QColor(0, 0, 0, 120))  # fmt: skip
            p.fillRect(QRectF(thumb.left(), thumb.bottom() - 4, x - thumb.left(), 4),
                       pal.color(QPalette.ColorRole.Highlight))  # fmt: skip
        p.restore()
        # file name
        text_left = rect.left() + 8
        text_w = rect.width() - 16
        y = thumb.bottom() + 6
        bold = QFont(option.font)
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(pal.color(QPalette.ColorRole.Text))
        name = elided(QFontMetrics(bold), readable(Path(r.path).name), int(text_w))
        line_h = QFontMetrics(bold).height()
        p.drawText(QRectF(text_left, y, text_w, line_h), Qt.AlignmentFlag.AlignLeft, name)
        # relevance: a word and a bar on the library's scale (not relative to this search's best)
        y += line_h + 4
        p.setFont(option.font)
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        if isinstance(model, ResultsModel) and model.browsing:  # a video: when it was shot
            when = shot_text(r, with_time=True) or "Date unknown"
            p.drawText(QRectF(text_left, y, text_w, fm.height()), Qt.AlignmentFlag.AlignLeft,
                       elided(fm, when, int(text_w)))  # fmt: skip
            return
        word = match_text(r)
        ww = fm.horizontalAdvance("Strong match") + 8
        p.drawText(QRectF(text_left, y, ww, fm.height()), Qt.AlignmentFlag.AlignLeft, word)
        if r.relevance is not None:
            bar = QRectF(text_left + ww + 4, y + fm.height() / 2 - 3, text_w - ww - 4, 6)
            track = QPainterPath()
            track.addRoundedRect(bar, 3, 3)
            p.fillPath(track, pal.color(QPalette.ColorRole.Midlight))
            frac = max(0.03, r.relevance)  # a sliver, so "weak" still reads as a bar
            filled = QPainterPath()
            filled.addRoundedRect(
                QRectF(bar.left(), bar.top(), bar.width() * frac, bar.height()), 3, 3
            )
            p.fillPath(filled, pal.color(QPalette.ColorRole.Highlight))
        line = spoken_line(r, option.font, self._text_width(option.rect.width()))
        if line is not None:
            self._paint_spoken(p, option, line, QRectF(text_left, y + fm.height() + 2, text_w,
                                                       fm.height()))  # fmt: skip

    @staticmethod
    def _paint_spoken(
        p: QPainter, option: QStyleOptionViewItem, line: SpokenLine, box: QRectF
    ) -> None:
        """A small grey "said", then the line in quotes with the matched words bold."""
        pal = option.palette
        small = said_font(option.font)
        p.setFont(small)
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        p.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, SAID)
        x = box.left() + QFontMetrics(small).horizontalAdvance(SAID + " ")
        layout = QTextLayout(line.text, option.font)
        ranges = []
        for a, b in line.marked:
            fr = QTextLayout.FormatRange()
            fr.start = _utf16(line.text, a)
            fr.length = _utf16(line.text, b) - fr.start
            fmt = QTextCharFormat()
            fmt.setFontWeight(QFont.Weight.Bold)
            fr.format = fmt
            ranges.append(fr)
        layout.setFormats(ranges)
        layout.beginLayout()
        text_line = layout.createLine()
        text_line.setLineWidth(box.right() - x + 50)  # one line: never wrapped (cut above)
        layout.endLayout()
        p.save()
        p.setClipRect(QRectF(x, box.top(), box.right() - x, box.height()))
        p.setPen(pal.color(QPalette.ColorRole.Text))
        y = box.top() + (box.height() - text_line.height()) / 2
        layout.draw(p, QPointF(x, y))
        p.restore()

    @staticmethod
    def _chip(p: QPainter, fm: QFontMetrics, text: str, x: float, y: float, color: QColor) -> None:
        chip = QRectF(x, y, fm.horizontalAdvance(text) + 12, fm.height() + 4)
        path = QPainterPath()
        path.addRoundedRect(chip, 4, 4)
        p.fillPath(path, color)
        p.setPen(QColor(255, 255, 255))
        p.drawText(chip, Qt.AlignmentFlag.AlignCenter, text)


class ResultsView(QListView):
    """The grid. Headers are disabled rows, which Qt's arrow keys step over; Enter activates;
    Up from the first row leaves for the search box (:attr:`leaveUp`)."""

    leaveUp = Signal()
    #: A hovered card wants a frame it does not have: (SearchResult, seconds).
    frameWanted = Signal(object, float)
    escaped = Signal()  # Esc: the window clears the search (also where shortcuts do not fire)
    playPause = Signal()  # Space: the preview plays or pauses (not Qt's selection toggle)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setSpacing(SPACING // 2)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Always there: cards take their width from the viewport, and a scroll bar that came
        # and went with the number of rows would change it and leave one column standing.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMouseTracking(True)
        self.setDragEnabled(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setItemDelegate(ResultDelegate(self))
        self.setObjectName("results")

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Hovering across a card shows frames across its range (scrubbing)."""
        super().mouseMoveEvent(event)
        model = self.model()
        if not isinstance(model, ResultsModel):
            return
        index = self.indexAt(event.position().toPoint())
        r = model.result(index)
        if r is None:
            model.stop_scrub()
            return
        rect = self.visualRect(index)
        fraction = (event.position().x() - rect.left()) / max(1, rect.width())
        wanted = model.scrub(r, fraction)
        if wanted is not None:
            self.frameWanted.emit(*wanted)

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        model = self.model()
        if isinstance(model, ResultsModel):
            model.stop_scrub()

    def resizeEvent(self, event: QResizeEvent) -> None:  # cards share the width: re-lay out
        super().resizeEvent(event)
        self.scheduleDelayedItemsLayout()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        if event.key() == Qt.Key.Key_Space:
            self.playPause.emit()
            return
        if event.key() == Qt.Key.Key_Up and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            current = self.currentIndex()
            above = self.moveCursor(
                QAbstractItemView.CursorAction.MoveUp, Qt.KeyboardModifier.NoModifier
            )
            if not current.isValid() or not above.isValid() or above.row() == current.row():
                self.leaveUp.emit()
                return
            if self.visualRect(above).top() >= self.visualRect(current).top():
                self.leaveUp.emit()  # nothing above: Qt would wrap or stay put
                return
        super().keyPressEvent(event)
