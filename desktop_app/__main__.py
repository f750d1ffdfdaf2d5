"""Start the ClipSeek desktop app: ``clipseek-app [--model DIR] [--cpu]``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clipseek-app", description="ClipSeek desktop app")
    parser.add_argument("--model", metavar="DIR", help="model bundle folder")
    parser.add_argument("--cpu", action="store_true", help="force the CPU provider")
    parser.add_argument("--library", metavar="DIR", help="library folder (e.g. the demo's)")
    args, qt_args = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from PySide6.QtWidgets import QApplication

    from desktop_app.main_window import MainWindow

    app = QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("ClipSeek")
    app.setOrganizationName("ClipSeek")
    window = MainWindow(model=args.model, force_cpu=args.cpu)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
