"""The search row's "when" controls: a shooting-date range and the order of the results.

Two date fields, "from" and "to", each of which can be left at *any* (Qt's special-value text at
the minimum date stands for "no bound"), and a clear button. The range is both days included,
in local time, as a person reads it ("1 Jul 2019 – 31 Aug 2019" is all of July and August);
:meth:`core.Period.days` turns it into the half-open range the index is filtered by.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QWidget,
)

from core import ANY_TIME, LAST_DAY, Period

#: Stands for "no bound" in a date field (shown as "any").
_NO_BOUND = QDate(1900, 1, 1)
ORDER_LABELS = {"relevance": "Best match first", "date": "Newest first"}


class DateField(QDateEdit):
    """A date that may be "any". Touched while "any" (an arrow key, the wheel, a click that
    opens the calendar), it starts from :attr:`start` — the library's first or last shooting
    day — not from the 1 January 1900 that stands for "any" (found living with the window:
    one step up from "any" read "2 Jan 1900")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start = QDate.currentDate()
        #: The field was "any" when it took the focus, and nothing was chosen since.
        self._visiting = False
        #: The last key filled a part of the date and Qt moved on to the next by itself.
        self._advanced = False
        self.dateChanged.connect(self._chosen)
        self.lineEdit().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A click into a field that only shows its suggested day (entered by Tab) selects the
        day again instead of leaving the cursor inside the year, where typed days were refused
        (found living with the window)."""
        if (
            watched is self.lineEdit()
            and event.type() == QEvent.Type.MouseButtonRelease
            and self._visiting
        ):
            QTimer.singleShot(0, self._select_day)
        return super().eventFilter(watched, event)

    def _chosen(self) -> None:
        self._visiting = False

    @property
    def visiting(self) -> bool:
        """Entered at "any" and nothing chosen yet: the day shown is only where typing starts."""
        return self._visiting

    def is_any(self) -> bool:
        return self.date() == _NO_BOUND

    def _leave_any(self) -> bool:
        if self.is_any():
            self.setDate(self.start)
            return True
        return False

    def stepBy(self, steps: int) -> None:
        if not self._leave_any():
            super().stepBy(steps)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._leave_any()  # the calendar then opens on the library's dates
        super().mousePressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        """Entering an "any" field (a click lands on its line edit, or Tab) shows the library's
        day with the day selected, so that typing "9 Jun 2020" replaces it: typed into the word
        "any", the keys were refused or became "any1Dec2026" (found living with the window).
        Nothing is searched until a day is chosen; left untouched, the field is "any" again."""
        if self.is_any():
            self.blockSignals(True)
            self.setDate(self.start)
            self.blockSignals(False)
            self._visiting = True
        super().focusInEvent(event)
        if self._visiting:
            # after the click that gave the focus has placed its cursor (inside the year)
            QTimer.singleShot(0, self._select_day)

    def _select_day(self) -> None:
        if self._visiting and self.hasFocus():
            self.setSelectedSection(QDateTimeEdit.Section.DaySection)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Qt's date typing moves to the next part by itself once a part is full ("12" fills
        the day), and a separator typed then moved on again: "12 Mar 2020" became 12 Jun 2020,
        the month skipped. A separator right after such a move is taken as already done."""
        text = event.text()
        if text and text in " /-.," and self._advanced:
            self._advanced = False
            event.accept()
            return
        before = self.currentSection()
        super().keyPressEvent(event)
        self._advanced = bool(text) and text.isalnum() and self.currentSection() != before

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)  # a typed day is taken here (dateChanged)
        if self._visiting:
            self._visiting = False
            self.blockSignals(True)
            self.setDate(_NO_BOUND)
            self.blockSignals(False)


def _field(parent: QWidget, name: str, tip: str) -> DateField:
    field = DateField(parent)
    field.setObjectName(name)
    field.setCalendarPopup(True)
    field.setDisplayFormat("d MMM yyyy")
    field.setMinimumDate(_NO_BOUND)
    field.setMaximumDate(QDate(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day))
    field.setSpecialValueText("any")
    field.setDate(_NO_BOUND)
    field.setToolTip(tip)
    # a typed date counts once it is finished (Enter, leaving the field), not at every digit:
    # a half-typed year would otherwise search, and could reverse the range on the way
    field.setKeyboardTracking(False)
    return field


def _day(field: DateField) -> date | None:
    """The field's day; None for "any" (also while a field entered at "any" only shows the
    day it would start from)."""
    d = field.date()
    if d == _NO_BOUND or field.visiting:
        return None
    return date(d.year(), d.month(), d.day())


class DateFilter(QWidget):
    """ "Shot [from] – [to] ×" and "Best match first / Newest first"."""

    changed = Signal()  # the range or the order changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.first = _field(self, "shotFrom", "Only videos shot on or after this day")
        self.last = _field(self, "shotTo", "Only videos shot on or before this day")
        self.clear_button = QToolButton(self)
        self.clear_button.setObjectName("clearDates")
        self.clear_button.setText("×")
        self.clear_button.setToolTip("Any shooting date")
        self.clear_button.setVisible(False)
        self.order_box = QComboBox(self)
        self.order_box.setObjectName("resultOrder")
        for key, text in ORDER_LABELS.items():
            self.order_box.addItem(text, key)
        self.order_box.setToolTip("Sort results by how well they match, or by shooting date")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Shot", self))
        row.addWidget(self.first)
        row.addWidget(QLabel("–", self))
        row.addWidget(self.last)
        row.addWidget(self.clear_button)
        row.addSpacing(8)
        row.addWidget(self.order_box)
        self.first.dateChanged.connect(self._on_dates)
        self.last.dateChanged.connect(self._on_dates)
        self.first.editingFinished.connect(self._in_order)
        self.last.editingFinished.connect(self._in_order)
        self.clear_button.clicked.connect(self.clear)
        self.order_box.currentIndexChanged.connect(lambda _i: self.changed.emit())

    def period(self) -> Period:
        """The range shown (a reversed one is put in order as it is set: :meth:`_on_dates`)."""
        first, last = _day(self.first), _day(self.last)
        if first and last and last < first:
            first, last = last, first
        return Period.days(first, last) if first or last else ANY_TIME

    def order(self) -> str:
        return str(self.order_box.currentData())

    def set_range(self, first: date | None, last: date | None) -> None:
        """Set both ends at once (one ``changed``)."""
        for field, day in ((self.first, first), (self.last, last)):
            field.blockSignals(True)
            field.setDate(_NO_BOUND if day is None else QDate(day.year, day.month, day.day))
            field.blockSignals(False)
        self._on_dates()

    def clear(self) -> None:
        self.set_range(None, None)

    def set_bounds(self, first: date | None, last: date | None) -> None:
        """The library's first and last shooting days: where an "any" field starts when it is
        touched (so that it starts by changing nothing)."""
        if first is not None:
            self.first.start = QDate(first.year, first.month, first.day)
        if last is not None:
            self.last.start = QDate(last.year, last.month, last.day)

    def set_order(self, order: str) -> None:
        self.order_box.setCurrentIndex(max(0, self.order_box.findData(order)))

    def _on_dates(self) -> None:
        if not (self.first.hasFocus() or self.last.hasFocus()):
            self._in_order()  # set from code, the calendar or the wheel: finished at once
        self.clear_button.setVisible(self.period().bounded)
        self.changed.emit()

    def _in_order(self) -> None:
        """ "9 Jun 2027 – 1 Dec 2026" means the days between: the fields say so, in order (the
        search used to swap them silently while the fields stayed reversed). Only once a typed
        day is finished: Qt takes a day in as each part of it is typed, and swapping then moved
        the other date under the user's fingers (found living with the window)."""
        first, last = _day(self.first), _day(self.last)
        if first and last and last < first:
            a, b = self.first.date(), self.last.date()
            for field, day in ((self.first, b), (self.last, a)):
                field.blockSignals(True)
                field.setDate(day)
                field.blockSignals(False)
