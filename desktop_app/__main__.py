"""Start the ClipSeek desktop app: ``clipseek-app [--model DIR] [--cpu] [--library DIR]``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from logging.handlers import RotatingFileHandler

from core import logs_dir


def _logging(debug: bool) -> None:
    """Log to stderr and to a rotating file in the data folder (what a bug report needs)."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    try:
        logs = logs_dir()
        logs.mkdir(parents=True, exist_ok=True)
        handlers.append(
            RotatingFileHandler(
                logs / "clipseek-app.log",
                maxBytes=2**20,
                backupCount=3,
                encoding="utf-8",
                errors="backslashreplace",  # a non-UTF-8 file name must not break logging
            )
        )
    except OSError:
        pass
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clipseek-app", description="ClipSeek desktop app")
    parser.add_argument("--model", metavar="DIR", help="model bundle folder")
    parser.add_argument("--cpu", action="store_true", help="force the CPU provider")
    parser.add_argument("--library", metavar="DIR", help="library folder (e.g. the demo's)")
    parser.add_argument("--debug", action="store_true", help="debug logging")
    args, qt_args = parser.parse_known_args(argv)
    from desktop_app.startup_checks import startup_problem

    problem = startup_problem(qt_args)
    if problem is not None:  # Qt would crash later or abort with a vaguer message
        print(f"clipseek-app: {problem}", file=sys.stderr)
        return 1

    from desktop_app.media_noise import route_qt_messages, route_stderr

    route_stderr()  # FFmpeg's lines (any copy's) to the log, not the terminal; the rest goes on
    _logging(args.debug)  # (its terminal handler writes to the terminal, not through the pipe)
    route_qt_messages()  # Qt's own messages to the log file; routine ones only with --debug

    from PySide6.QtWidgets import QApplication

    from desktop_app.main_window import MainWindow

    app = QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("ClipSeek")
    app.setOrganizationName("ClipSeek")
    app.setApplicationDisplayName("ClipSeek")
    window = MainWindow(model=args.model, force_cpu=args.cpu, library=args.library)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
