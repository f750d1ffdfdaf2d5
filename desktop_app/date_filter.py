"""The search row's "when" controls: a shooting-date range and the order of the results.

Two date fields, "from" and "to", each of which can be left at *any* (Qt's special-value text at
the minimum date stands for "no bound"), and a clear button. The range is both days included,
in local time, as a person reads it ("1 Jul 2019 – 31 Aug 2019" is all of July and August);
:meth:`core.Period.days` turns it into the half-open range the index is filtered by.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QToolButton, QWidget

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
    d = field.date()
    return None if d == _NO_BOUND else date(d.year(), d.month(), d.day())


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
        first, last = _day(self.first), _day(self.last)
        if first and last and last < first:
            # "9 Jun 2027 – 1 Dec 2026" means the days between: the fields say so, in order
            # (the search used to swap them silently while the fields stayed reversed)
            a, b = self.first.date(), self.last.date()
            for field, day in ((self.first, b), (self.last, a)):
                field.blockSignals(True)
                field.setDate(day)
                field.blockSignals(False)
        self.clear_button.setVisible(self.period().bounded)
        self.changed.emit()
