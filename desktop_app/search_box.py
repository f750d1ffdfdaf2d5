"""The search box: answers as you type (after a short pause) and at once on Enter."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget

#: Long enough not to search on every keystroke of a fast typist, short enough to feel live.
DEBOUNCE_MS = 250


class SearchBox(QLineEdit):
    querySubmitted = Signal(str)  # the text, stripped; "" means the box was cleared
    moveIntoResults = Signal()  # Down pressed: hand the keyboard to the results

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBox")
        self.setPlaceholderText("Describe a moment — “a dog catching a ball on the beach”")
        self.setClearButtonEnabled(True)
        self.setMinimumHeight(34)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.submit)
        self.textEdited.connect(lambda _text: self._timer.start())
        self.textChanged.connect(self._cleared)
        self._last: str | None = None

    def submit(self, force: bool = False) -> None:
        self._timer.stop()
        text = self.text().strip()
        if force or text != self._last:
            self._last = text
            self.querySubmitted.emit(text)

    def forget(self) -> None:
        """Make the next submit search again even if the text is the same."""
        self._last = None

    def clear_quietly(self) -> None:
        """Empty the box without searching for "nothing" (a picture search has taken over).

        A plain ``clear()`` submits the empty text, which means "no search" and would throw
        the picture's results away. Typing anything afterwards, even the same words as before,
        searches again.
        """
        self._timer.stop()
        # Not by blocking signals: QLineEdit hides its clear (×) button on textChanged, and a
        # blocked one left the × showing in the empty box. With nothing searched for last,
        # _cleared submits nothing.
        self._last = ""
        self.clear()

    def _cleared(self, text: str) -> None:
        if not text and self._last:
            self.submit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit(force=True)
            return
        if key == Qt.Key.Key_Escape:
            self.clear()
            self.submit(force=True)  # "no search", even after a picture search left it empty
            return
        if key == Qt.Key.Key_Down:
            self.moveIntoResults.emit()
            return
        super().keyPressEvent(event)
