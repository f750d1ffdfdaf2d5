"""One progress renderer for every command: a line rewritten in place on a terminal, only whole
lines in a pipe or a log."""

from __future__ import annotations

import io

from core.cli.progress import ProgressLine


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_whole_lines_and_no_status() -> None:
    out = io.StringIO()
    p = ProgressLine(out)
    p.status("[###   ] 1/4 files")
    p.line("indexed a.mp4")
    p.status("[######] 2/4 files")
    p.end()
    assert out.getvalue() == "indexed a.mp4\n"


def test_a_terminal_rewrites_the_status_and_keeps_lines_above_it() -> None:
    out = _Terminal()
    p = ProgressLine(out)
    p.status("1/4")
    p.status("2/4")
    p.line("indexed a.mp4")
    p.status("3/4")
    p.end()
    p.end()  # a second end adds nothing
    text = out.getvalue()
    assert text == "\r1/4\x1b[K\r2/4\x1b[K\r\x1b[Kindexed a.mp4\n\r3/4\x1b[K\n"
