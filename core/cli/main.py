"""``clipseek``: the headless command line over the core engine.

``index``, ``search``, ``status``, ``folders`` and ``rebuild`` work on one library (``--library``,
default: the model's library in the per-user data folder). Every failure a user can cause prints
one line on stderr and exits non-zero — no tracebacks unless ``--debug``. ``--json`` output is
stable and documented in README.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence

from core.cli.parser import build_parser
from core.errors import EXIT_FAILURE, EXIT_USAGE, LibraryError, UsageError
from core.model.bundle import BundleError
from core.model.encoder import QueryError
from core.model.sources import InstallError
from core.model.tokenizer import TokenizerError
from core.pathnames import readable
from core.store.catalog import CatalogError


def _fail(args: argparse.Namespace, exc: BaseException, code: int) -> int:
    """One line on stderr for any failure (a traceback only with --debug)."""
    if args.debug:
        raise exc
    known = (BundleError, QueryError, TokenizerError, LibraryError, CatalogError, InstallError)
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        first = f"the library database is damaged ({first}); `clipseek status` repairs it"
    elif isinstance(exc, OSError) and exc.strerror:
        first = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    elif not isinstance(exc, known):  # e.g. ONNX Runtime refusing a damaged graph
        first = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    print(f"clipseek: error: {readable(first)}", file=sys.stderr)
    return code


def _tolerant_stdout() -> None:
    """A file name that is not valid UTF-8 (``bad\\xff.mp4``) must print, not crash the command:
    on a UTF-8 stream its original bytes are written back (what ``ls`` shows), elsewhere escaped.
    stderr already escapes by default."""
    stream = sys.stdout
    if hasattr(stream, "reconfigure"):
        utf8 = (getattr(stream, "encoding", "") or "").lower().replace("-", "") == "utf8"
        stream.reconfigure(errors="surrogateescape" if utf8 else "backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_stdout()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("clipseek: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `clipseek search … | head`: the reader has all it wanted
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (QueryError, TokenizerError, UsageError) as exc:  # what was typed cannot work
        return _fail(args, exc, EXIT_USAGE)
    except Exception as exc:  # the library, the model, the disk, or a bug: the work failed
        return _fail(args, exc, EXIT_FAILURE)


if __name__ == "__main__":
    sys.exit(main())
