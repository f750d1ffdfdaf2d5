"""Typing a day into a shooting-date field that says "any" (found living with the window: the
click went to the field's line edit, so the field stayed at "any" and the keys were added to the
word itself — "any1Dec2026" — or refused)."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt

from desktop_app.date_filter import DateFilter


def _filter(qtbot) -> DateFilter:
    f = DateFilter()
    qtbot.addWidget(f)
    f.set_bounds(date(2014, 6, 9), date(2026, 12, 7))
    f.show()
    qtbot.waitExposed(f)
    return f


def _type_into(qtbot, field, text: str) -> None:
    qtbot.mouseClick(field.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.wait(20)  # the click's own cursor placement comes first
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def test_a_day_typed_into_an_any_field_is_taken(qtbot) -> None:
    f = _filter(qtbot)
    with qtbot.waitSignal(f.changed, timeout=2000):
        _type_into(qtbot, f.first, "12 Mar 2020")
    assert f.first.date().toPython() == date(2020, 3, 12)
    assert f.period().bounded
    # the month is not skipped after a full day ("12" moves on by itself), in other forms too
    for typed, day in (("25 dec 1999", date(1999, 12, 25)), ("3 July 2021", date(2021, 7, 3))):
        f.clear()
        f.last.setFocus()
        _type_into(qtbot, f.first, typed)
        assert f.first.date().toPython() == day, typed


def test_a_reversed_typed_range_is_shown_in_order(qtbot) -> None:
    f = _filter(qtbot)
    _type_into(qtbot, f.first, "9 Jun 2027")
    _type_into(qtbot, f.last, "1 Dec 2026")
    assert f.first.date().toPython() == date(2026, 12, 1)
    assert f.last.date().toPython() == date(2027, 6, 9)


def test_a_field_only_visited_stays_any(qtbot) -> None:
    f = _filter(qtbot)
    qtbot.mouseClick(f.first.lineEdit(), Qt.MouseButton.LeftButton)
    f.last.setFocus()
    qtbot.wait(50)
    assert f.first.is_any() and not f.period().bounded


def test_tab_into_an_any_field_then_click_then_type(qtbot) -> None:
    """Tab from "from" enters "to" (at "any"); a click into it then placed the cursor in the
    year, and the typed day was refused (seen living with the window)."""
    f = _filter(qtbot)
    _type_into(qtbot, f.first, "9 Jun 2027")
    qtbot.keyClick(f.first, Qt.Key.Key_Tab)
    qtbot.wait(50)  # a person looks before clicking: the field has settled
    assert f.last.hasFocus()
    _type_into(qtbot, f.last, "1 Dec 2026")
    assert f.first.date().toPython() == date(2026, 12, 1)
    assert f.last.date().toPython() == date(2027, 6, 9)
