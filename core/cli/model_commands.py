"""The model commands: ``model`` (check a bundle, show the provider really used), ``embed-text``
(a query's vector, for diagnostics) and ``install-model`` (OpenAI CLIP ViT-B/32, once; with
``--multilingual``, M-CLIP's text tower for searching in other languages; with ``--speech SIZE``,
a Whisper speech model for searching what is said)."""

from __future__ import annotations

import argparse
import json
import sys

from core.cli.progress import ProgressLine
from core.errors import UsageError
from core.model.encoder import Encoder
from core.model.registry import models_dir, resolve_model
from core.query.towers import QueryTowers


def cmd_model(args: argparse.Namespace) -> int:
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
    towers = QueryTowers(encoder, models_dir())
    tower = towers.choice()
    info["multilingual"] = {
        "name": None if tower.manifest is None else tower.manifest.name,
        "path": None if tower.root is None else str(tower.root),
        "summary": towers.summary(),
        "refused": list(tower.refused),
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"model     {m.name} ({m.arch}, head {m.head}, {m.precision}, {m.embed_dim}-d)")
        print(f"path      {encoder.root}")
        print(f"provider  {encoder.describe_provider()}")
        print(f"languages {towers.summary()}")
    return 0


def cmd_embed_text(args: argparse.Namespace) -> int:
    encoder = Encoder(resolve_model(args.model), force_cpu=args.cpu)
    vector = encoder.encode_text(args.text)
    if args.json:
        print(json.dumps({"text": args.text, "vector": [round(float(v), 6) for v in vector]}))
    else:
        print(" ".join(f"{v:.4f}" for v in vector))
    return 0


def cmd_install_model(args: argparse.Namespace) -> int:
    from core.model.install import install_file, install_model
    from core.model.sources import (
        DEFAULT_SOURCE,
        InstallCancelled,
        InstallProgress,
        precision_for_this_machine,
    )

    precision = precision_for_this_machine() if args.precision == "auto" else args.precision
    source = DEFAULT_SOURCE.with_precision(precision)
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

    if args.arch is not None and args.file is None:
        raise UsageError("--arch goes with --file (the architecture of a weights file on disk)")
    speech = getattr(args, "speech", None)
    if speech is not None:
        if args.file is not None or args.arch is not None:
            raise UsageError("--file and --arch are for CLIP's weights, not with --speech")
        if args.precision != "auto":
            raise UsageError("--precision is for CLIP's models; a speech model is one download")
    if getattr(args, "multilingual", False):
        if args.file is not None or args.arch is not None:
            raise UsageError("--file and --arch are for CLIP's weights, not with --multilingual")
        from core.model.install_tower import install_multilingual
        from core.model.sources import MULTILINGUAL_SOURCE

        source = MULTILINGUAL_SOURCE.with_precision(precision)
    name = source.name
    try:
        if speech is not None:
            from core.speech.install import install_speech, speech_source

            name = speech_source(speech).name
            path = install_speech(speech, hub_url=args.hub, on_progress=progress)
        elif getattr(args, "multilingual", False):
            path = install_multilingual(
                source, hub_url=args.hub, on_progress=progress, precision=precision
            )
        elif args.file is not None:
            path = install_file(args.file, source, arch=args.arch, on_progress=progress)
        else:
            path = install_model(source, hub_url=args.hub, on_progress=progress)
    except InstallCancelled:
        print("clipseek: install interrupted; run it again to resume", file=sys.stderr)
        return 130
    finally:
        out.end()  # leave the progress line before an error line
    if args.json:
        print(json.dumps({"model": name, "path": str(path)}))
    else:
        print(path)
    return 0
