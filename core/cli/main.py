"""``clipseek``: the headless command line over the core engine.

``index``, ``search``, ``status``, ``folders`` and ``rebuild`` work on one library (``--library``,
default: the model's library in the per-user data folder). Every failure a user can cause prints
one line on stderr and exits non-zero — no tracebacks unless ``--debug``. ``--json`` output is
stable and documented in README.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence

from core.cli.library import add_library_commands
from core.cli.progress import ProgressLine
from core.errors import EXIT_FAILURE, EXIT_USAGE, LibraryError, UsageError
from core.model.bundle import BundleError
from core.model.encoder import Encoder, QueryError
from core.model.registry import resolve_model
from core.model.sources import InstallError
from core.model.tokenizer import TokenizerError
from core.pathnames import readable
from core.store.catalog import CatalogError


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="DIR", help="model bundle folder (default: installed model)")
    p.add_argument("--cpu", action="store_true", help="force the CPU provider")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _cmd_model(args: argparse.Namespace) -> int:
    encoder = Encoder(resolve_model(args.model), force_cpu=args.cpu)
    m = encoder.manifest
    info = {
        "name": m.name,
        "path": str(encoder.root),
        "arch": m.arch,
        "head": m.head,
        "embed_dim": m.embed_dim,
        "image_size": m.image_size,
        "max_frames": m.max_frames,
        "precision": m.precision,
        "provider": encoder.provider,
        "provider_detail": encoder.describe_provider(),
        "active_providers": encoder.active_providers,
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"model     {m.name} ({m.arch}, head {m.head}, {m.precision}, {m.embed_dim}-d)")
        print(f"path      {encoder.root}")
        print(f"provider  {encoder.describe_provider()}")
    return 0


def _cmd_embed_text(args: argparse.Namespace) -> int:
    encoder = Encoder(resolve_model(args.model), force_cpu=args.cpu)
    vector = encoder.encode_text(args.text)
    if args.json:
        print(json.dumps({"text": args.text, "vector": [round(float(v), 6) for v in vector]}))
    else:
        print(" ".join(f"{v:.4f}" for v in vector))
    return 0


def _cmd_install_model(args: argparse.Namespace) -> int:
    from core.model.install import install_model
    from core.model.sources import DEFAULT_SOURCE, InstallCancelled, InstallProgress

    source = DEFAULT_SOURCE
    out = ProgressLine()
    last_stage = ""

    def progress(p: InstallProgress) -> None:
        nonlocal last_stage
        if p.stage == "downloading" and p.bytes_total:
            eta = f", {p.eta_seconds:,.0f} s left" if p.eta_seconds is not None else ""
            text = (
                f"downloading {p.bytes_done / 1e6:,.0f} of {p.bytes_total / 1e6:,.0f} MB"
                f" ({100 * p.bytes_done / p.bytes_total:.0f} %,"
                f" {p.bytes_per_second / 1e6:.1f} MB/s{eta})"
            )
        else:
            text = f"{p.stage} {p.message}".rstrip()
        if out.tty:  # one line, rewritten in place; a new line once done
            out.status(text)
            if p.stage == "done":
                out.end()
        elif p.stage != last_stage:  # logs and pipes: one line per stage
            out.line(text)
        last_stage = p.stage

    try:
        path = install_model(source, hub_url=args.hub, on_progress=progress)
    except InstallCancelled:
        print("clipseek: install interrupted; run it again to resume", file=sys.stderr)
        return 130
    finally:
        out.end()  # leave the progress line before an error line
    if args.json:
        print(json.dumps({"model": source.name, "path": str(path)}))
    else:
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clipseek", description="Search your videos by sentence.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("model", help="check a model bundle and show the active provider")
    _add_common(p)
    p.set_defaults(func=_cmd_model)
    p = sub.add_parser("embed-text", help="print a query's text vector (diagnostics)")
    p.add_argument("text")
    _add_common(p)
    p.set_defaults(func=_cmd_embed_text)
    p = sub.add_parser(
        "install-model", help="download OpenAI CLIP ViT-B/32 from the Hugging Face hub (once)"
    )
    p.add_argument(
        "--hub", metavar="URL", help="hub address (default: $CLIPSEEK_HUB_URL or huggingface.co)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_install_model)
    add_library_commands(sub, _add_common)
    return parser


def _fail(args: argparse.Namespace, exc: BaseException, code: int) -> int:
    """One line on stderr for any failure (a traceback only with --debug)."""
    if args.debug:
        raise exc
    known = (BundleError, QueryError, TokenizerError, LibraryError, CatalogError, InstallError)
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        first = f"the library database is damaged ({first}); `clipseek status` says more"
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
