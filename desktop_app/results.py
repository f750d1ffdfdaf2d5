"""The results grid: one card per matched moment, optionally grouped under its video.

Grouping keeps one flat :class:`QListView` in icon mode: a group header is a row as wide as the
view, which makes the flow layout start a new line after it. Headers can't be selected, and the
arrow keys step over them, so keyboard navigation only ever lands on moments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPainterPath,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from core.search import SearchResult
from desktop_app.formatting import plural, time_range

ResultRole = Qt.ItemDataRole.UserRole + 1
HeaderRole = Qt.ItemDataRole.UserRole + 2

CARD = QSize(232, 196)
THUMB_H = 130
HEADER_H = 34
SPACING = 10

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Header:
    path: str
    moments: int
    best: float


class ResultsModel(QAbstractListModel):
    """Search results as rows; in grouped mode videos are headed, moments in time order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[SearchResult | Header] = []
        self._results: list[SearchResult] = []
        self._images: dict[str, QImage] = {}
        self._pixmaps: dict[str, QPixmap] = {}
        self.grouped = False
        self.best_score = 1.0

    # -- content -----
    def set_results(
        self, results: list[SearchResult], thumbnails: dict[str, QImage] | None = None
    ) -> None:
        self.beginResetModel()
        self._results = list(results)
        if thumbnails is not None:
            self._images = dict(thumbnails)
            self._pixmaps = {k: v for k, v in self._pixmaps.items() if k in self._images}
        self.best_score = max((r.score for r in results), default=1.0)
        self._rows = self._layout()
        self.endResetModel()

    def set_grouped(self, grouped: bool) -> None:
        if grouped != self.grouped:
            self.grouped = grouped
            self.set_results(self._results)

    def _layout(self) -> list[SearchResult | Header]:
        if not self.grouped:
            return list(self._results)
        videos: dict[str, list[SearchResult]] = {}
        for r in self._results:  # best first, so videos come in order of their best moment
            videos.setdefault(r.path, []).append(r)
        rows: list[SearchResult | Header] = []
        for path, moments in videos.items():
            rows.append(Header(path, len(moments), moments[0].score))
            rows.extend(sorted(moments, key=lambda r: r.t0))
        return rows

    @property
    def results(self) -> list[SearchResult]:
        return list(self._results)

    def moments_of(self, path: str) -> list[SearchResult]:
        return [r for r in self._results if r.path == path]

    def result(self, index: Index) -> SearchResult | None:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        return row if isinstance(row, SearchResult) else None

    def row_of(self, result: SearchResult) -> int | None:
        for i, row in enumerate(self._rows):
            if isinstance(row, SearchResult) and (row.path, row.t0, row.t1) == (
                result.path,
                result.t0,
                result.t1,
            ):
                return i
        return None

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
        if isinstance(self._rows[index.row()], Header):
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == ResultRole:
            return row if isinstance(row, SearchResult) else None
        if role == HeaderRole:
            return row if isinstance(row, Header) else None
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(row, Header):
                return Path(row.path).name
            return f"{Path(row.path).name} {time_range(row.t0, row.t1)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            if isinstance(row, Header):
                return row.path
            return f"{row.path}\n{time_range(row.t0, row.t1)} · score {row.score:.3f}"
        return None


class ResultDelegate(QStyledItemDelegate):
    """Paints a card: thumbnail with its time range, file name, score bar."""

    def __init__(self, view: ResultsView) -> None:
        super().__init__(view)
        self._view = view

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        if index.data(HeaderRole) is not None:
            return QSize(max(CARD.width(), self._view.viewport().width() - 2 * SPACING), HEADER_H)
        return CARD

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        header = index.data(HeaderRole)
        if header is not None:
            self._paint_header(painter, option, header)
        else:
            result = index.data(ResultRole)
            if result is not None:
                self._paint_card(painter, option, index, result)
        painter.restore()

    def _paint_header(self, p: QPainter, option: QStyleOptionViewItem, h: Header) -> None:
        pal = option.palette
        pal.setCurrentColorGroup(QPalette.ColorGroup.Active)  # headers are not "disabled" text
        r = option.rect.adjusted(4, 0, -4, 0)
        font = QFont(option.font)
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + 1)
        p.setFont(font)
        p.setPen(pal.color(QPalette.ColorRole.Text))
        name = Path(h.path).name
        fm = QFontMetrics(font)
        name_w = min(fm.horizontalAdvance(name), r.width() // 2)
        p.drawText(
            QRect(r.left(), r.top(), name_w, r.height()),
            Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(name, Qt.TextElideMode.ElideMiddle, name_w),
        )
        p.setFont(option.font)
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        detail = f"{plural(h.moments, 'moment')} · best {h.best:.3f} · {Path(h.path).parent}"
        rest = QRect(r.left() + name_w + 12, r.top(), r.width() - name_w - 12, r.height())
        p.drawText(
            rest,
            Qt.AlignmentFlag.AlignVCenter,
            QFontMetrics(option.font).elidedText(
                detail, Qt.TextElideMode.ElideMiddle, rest.width()
            ),
        )
        p.setPen(pal.color(QPalette.ColorRole.Mid))
        p.drawLine(r.left(), r.bottom() - 2, r.right(), r.bottom() - 2)

    def _paint_card(
        self, p: QPainter, option: QStyleOptionViewItem, index: Index, r: SearchResult
    ) -> None:
        pal = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        rect = QRectF(option.rect).adjusted(2, 2, -2, -2)
        card = QPainterPath()
        card.addRoundedRect(rect, 8, 8)
        base = pal.color(QPalette.ColorRole.Base)
        p.fillPath(card, base.darker(108) if hovered and not selected else base)
        if selected:
            pen = p.pen()
            pen.setColor(pal.color(QPalette.ColorRole.Highlight))
            pen.setWidthF(3)
            p.setPen(pen)
            p.drawPath(card)
        # thumbnail, cropped to fill a 16:9-ish box
        thumb = QRectF(rect.left() + 6, rect.top() + 6, rect.width() - 12, THUMB_H)
        clip = QPainterPath()
        clip.addRoundedRect(thumb, 6, 6)
        p.save()
        p.setClipPath(clip)
        model = index.model()
        pm = model.pixmap(r) if isinstance(model, ResultsModel) else None
        if pm is not None and not pm.isNull():
            scaled = pm.scaled(
                thumb.size().toSize(),
                Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                Qt.TransformationMode.SmoothTransformation,
            )
            sx = (scaled.width() - thumb.width()) / 2
            sy = (scaled.height() - thumb.height()) / 2
            p.drawPixmap(thumb, scaled, QRectF(sx, sy, thumb.width(), thumb.height()))
        else:
            p.fillRect(thumb, QColor(40, 40, 46))
            p.setPen(QColor(150, 150, 160))
            p.drawText(thumb, Qt.AlignmentFlag.AlignCenter, "no preview")
        # time badge
        badge_text = time_range(r.t0, r.t1)
        fm = QFontMetrics(option.font)
        bw, bh = fm.horizontalAdvance(badge_text) + 12, fm.height() + 4
        badge = QRectF(thumb.right() - bw - 6, thumb.bottom() - bh - 6, bw, bh)
        bp = QPainterPath()
        bp.addRoundedRect(badge, 4, 4)
        p.fillPath(bp, QColor(0, 0, 0, 170))
        p.setPen(QColor(255, 255, 255))
        p.drawText(badge, Qt.AlignmentFlag.AlignCenter, badge_text)
        p.restore()
        # file name
        text_left = rect.left() + 8
        text_w = rect.width() - 16
        y = thumb.bottom() + 6
        bold = QFont(option.font)
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(pal.color(QPalette.ColorRole.Text))
        name = QFontMetrics(bold).elidedText(
            Path(r.path).name, Qt.TextElideMode.ElideMiddle, int(text_w)
        )
        line_h = QFontMetrics(bold).height()
        p.drawText(QRectF(text_left, y, text_w, line_h), Qt.AlignmentFlag.AlignLeft, name)
        # score: number and a bar relative to the best result of this search
        y += line_h + 4
        p.setFont(option.font)
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        score_text = f"{r.score:.3f}"
        sw = fm.horizontalAdvance("0.000") + 6
        p.drawText(QRectF(text_left, y, sw, fm.height()), Qt.AlignmentFlag.AlignLeft, score_text)
        bar = QRectF(text_left + sw + 4, y + fm.height() / 2 - 3, text_w - sw - 4, 6)
        track = QPainterPath()
        track.addRoundedRect(bar, 3, 3)
        p.fillPath(track, pal.color(QPalette.ColorRole.Midlight))
        best = model.best_score if isinstance(model, ResultsModel) else 1.0
        frac = max(0.04, min(1.0, r.score / best)) if best > 0 else 0.0
        fill = QPainterPath()
        fill.addRoundedRect(QRectF(bar.left(), bar.top(), bar.width() * frac, bar.height()), 3, 3)
        p.fillPath(fill, pal.color(QPalette.ColorRole.Highlight))


class ResultsView(QListView):
    """The grid. Headers are disabled rows, which Qt's arrow keys step over; Enter activates."""

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
        self.setMouseTracking(True)
        self.setDragEnabled(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setItemDelegate(ResultDelegate(self))
        self.setObjectName("results")

    def resizeEvent(self, event) -> None:  # headers span the width: re-lay out on resize
        super().resizeEvent(event)
        self.scheduleDelayedItemsLayout()
