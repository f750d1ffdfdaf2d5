"""The ``clipseek`` command line: every command, its arguments and the handler that runs it.

Handlers live by what they work on: ``model_commands`` (a bundle, the hub) and ``library`` (one
library: index, search, status, folders, rebuild, demo).
"""

from __future__ import annotations

import argparse

from core.cli import library, model_commands


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="DIR", help="model bundle folder (default: installed model)")
    p.add_argument("--cpu", action="store_true", help="force the CPU provider")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clipseek", description="Search your videos by sentence.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("model", help="check a model bundle and show the active provider")
    add_common(p)
    p.set_defaults(func=model_commands.cmd_model)
    p = sub.add_parser("embed-text", help="print a query's text vector (diagnostics)")
    p.add_argument("text")
    add_common(p)
    p.set_defaults(func=model_commands.cmd_embed_text)
    p = sub.add_parser(
        "install-model", help="download OpenAI CLIP ViT-B/32 from the Hugging Face hub (once)"
    )
    p.add_argument(
        "--hub", metavar="URL", help="hub address (default: $CLIPSEEK_HUB_URL or huggingface.co)"
    )
    p.add_argument(
        "--precision",
        choices=("auto", "fp32", "int8"),
        default="auto",
        help="int8: an image tower quantized for CPUs (1.7x faster); auto: int8 unless an"
        " NVIDIA GPU will run it",
    )
    p.add_argument(
        "--file",
        metavar="PATH",
        help="install from a weights file already on disk (safetensors or pytorch_model.bin)"
        " instead of downloading; it must be the pinned file unless --arch names what it is",
    )
    p.add_argument(
        "--arch",
        metavar="ARCH",
        help="with --file: the architecture of weights other than the pinned file (e.g. ViT-B-32)",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--multilingual",
        action="store_true",
        help="install M-CLIP's text model instead, for searching in other languages (Korean,"
        " Japanese, German ...): about 2.2 GB to download; int8 by default on a processor",
    )
    which.add_argument(
        "--speech",
        choices=("tiny", "base", "small"),
        metavar="SIZE",
        help="install a Whisper speech model instead, for searching what is said: tiny (about"
        " 78 MB to download), base (148 MB) or small (486 MB); Systran's CTranslate2 conversion",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=model_commands.cmd_install_model)
    _add_library_commands(sub)
    return parser


def _add_library_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        add_common(p)
        p.add_argument(
            "--library", metavar="DIR", help="library folder (default: per model, in user data)"
        )

    p = sub.add_parser("index", help="add folders and index new or changed videos")
    p.add_argument("paths", nargs="*", metavar="PATH", help="folders or files to watch and index")
    p.add_argument("--watch", action="store_true", help="keep watching for changes")
    p.add_argument("--interval", type=float, default=30.0, help="seconds between --watch scans")
    p.add_argument(
        "--rate",
        type=float,
        help="frames sampled per second from now on, for this command and the app (default 1;"
        " each rate has its own library)",
    )
    p.add_argument(
        "--segment-seconds", type=float, help="segment length, new library (default 8; hop = half)"
    )
    p.add_argument(
        "--workers",
        type=int,
        help="videos decoded at once (default: by GPU and cores, 1 on a CPU under 8 cores)",
    )
    p.add_argument("--batch", type=int, default=16, help="frames per image-encoder batch")
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=60.0,
        help="how often the vector index is saved while indexing (default 60)",
    )
    p.add_argument(
        "--speech-model",
        metavar="DIR",
        help="transcribe what is said with this speech model after indexing (default: the"
        " largest installed, see install-model --speech; 'none' turns it off)",
    )
    common(p)
    p.set_defaults(func=library.cmd_index)

    def when(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--after",
            metavar="DATE",
            help="only videos shot on or after DATE (YYYY, YYYY-MM, YYYY-MM-DD or ISO 8601)",
        )
        p.add_argument("--before", metavar="DATE", help="only videos shot before DATE")

    p = sub.add_parser("search", help="find moments by sentence or by picture")
    p.add_argument("text", nargs="?", help="what happens in the moment you are looking for")
    p.add_argument("--image", metavar="FILE", help="find moments that look like this picture")
    p.add_argument("-k", type=int, default=10, help="how many results (default 10)")
    p.add_argument("--folder", action="append", metavar="DIR", help="only videos under DIR")
    p.add_argument("--no-merge", action="store_true", help="list overlapping segments separately")
    p.add_argument(
        "--lang",
        default="auto",
        metavar="LANG",
        help="the sentence's language: auto (default: English to CLIP's text model, other"
        " languages to the multilingual one), en, multi, or a code such as ko",
    )
    when(p)
    p.add_argument(
        "--sort",
        choices=["relevance", "date"],
        default="relevance",
        help="order of the results: best match first (default), or newest shot first",
    )
    common(p)
    p.set_defaults(func=library.cmd_search)

    p = sub.add_parser("browse", help="list the library by shooting date, newest first")
    p.add_argument("--folder", action="append", metavar="DIR", help="only videos under DIR")
    when(p)
    p.add_argument("-k", type=int, default=50, help="how many videos (default 50)")
    common(p)
    p.set_defaults(func=library.cmd_browse)

    p = sub.add_parser("status", help="videos, segments, errors, model and provider")
    common(p)
    p.set_defaults(func=library.cmd_status)

    p = sub.add_parser("folders", help="watched folders: add, remove, list")
    p.add_argument("action", choices=["add", "remove", "list"])
    p.add_argument("paths", nargs="*", metavar="PATH")
    common(p)
    p.set_defaults(func=library.cmd_folders)

    p = sub.add_parser("demo", help="index fresh synthetic videos with the demo model and try it")
    p.add_argument("--videos", type=int, default=40, help="how many demo videos (default 40)")
    p.add_argument("--seed", type=int, help="video seed (default: a fresh one each run)")
    p.add_argument("--no-gui", action="store_true", help="print example searches instead")
    p.add_argument("--examples", type=int, default=5, help="how many example searches")
    add_common(p)
    p.set_defaults(func=library.cmd_demo)

    p = sub.add_parser("rebuild", help="rebuild the vector index from the database")
    p.add_argument(
        "--segment-seconds", type=float, help="re-cut segments from stored frame vectors first"
    )
    common(p)
    p.set_defaults(func=library.cmd_rebuild)
