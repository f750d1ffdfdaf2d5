"""One way to show progress on a terminal, for every command (indexing, installing a model,
training): a status line rewritten in place on a terminal, whole lines in between; when the
output is a pipe or a log, the status line is left out and only whole lines are written.
"""

from __future__ import annotations

import sys
from typing import TextIO

#: Erase from the cursor to the end of the line (every terminal ClipSeek runs in has it).
_CLEAR = "\x1b[K"


class ProgressLine:
    """A status line on a terminal (``status``), with lines that stay (``line``) above it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream  # now, not at import
        self.tty = self.stream.isatty()
        self._showing = False

    def status(self, text: str) -> None:
        """Replace the status line (a terminal only: pipes and logs get no half lines)."""
        if self.tty:
            self.stream.write(f"\r{text}{_CLEAR}")
            self.stream.flush()
            self._showing = True

    def line(self, text: str) -> None:
        """A line that stays: written above the status line, which the next ``status`` redraws."""
        prefix = f"\r{_CLEAR}" if self._showing else ""
        self.stream.write(f"{prefix}{text}\n")
        self.stream.flush()
        self._showing = False

    def end(self) -> None:
        """Leave the status line where it is (so an error or the result starts a new line)."""
        if self._showing:
            self.stream.write("\n")
            self.stream.flush()
            self._showing = False
