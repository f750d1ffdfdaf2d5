"""``clipseek-export``: the PyTorch-side command line: convert models, make the synthetic benchmark.

Errors a user can cause (bad paths, wrong checkpoints, failed parity) print one line on stderr
and exit with status 2; nothing prints a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.model.bundle import BundleError
from export.architectures import ARCH_NAMES
from export.errors import ExportError
from export.heads import INDEXABLE_HEADS

if TYPE_CHECKING:
    from export.model import CLIP4Clip

log = logging.getLogger("clipseek.export")


def _add_convert(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a CLIP4Clip model to an ONNX model bundle and verify it",
        description="Export image, text and head towers to ONNX, write manifest and tokenizer, "
        "then check ONNX Runtime against PyTorch (cosine >= 0.9999 fp32, >= 0.999 fp16; "
        "int8: image >= 0.999, text and head as fp32).",
    )
    p.add_argument("--arch", choices=ARCH_NAMES, help="architecture (inferred for checkpoints)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--random-init", action="store_true", help="random weights (tests, benchmarks)"
    )
    src.add_argument(
        "--pretrained", choices=["openai"], help="OpenAI CLIP weights (needs internet)"
    )
    src.add_argument(
        "--checkpoint", metavar="FILE", help="a ClipSeek or original CLIP4Clip checkpoint"
    )
    p.add_argument(
        "--head", choices=INDEXABLE_HEADS, help="temporal head (default meanP, or the checkpoint's)"
    )
    p.add_argument("--fp16", action="store_true", help="store weights and compute in float16")
    p.add_argument(
        "--int8",
        action="store_true",
        help="an int8 image tower for CPUs (dynamic quantization, ~1.7x faster, 4x smaller)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="bundle folder to write")
    p.add_argument("--name", help="model name shown in the app (default ARCH-HEAD)")
    p.add_argument("--max-frames", type=int, default=12, help="frames per segment the head reads")
    p.add_argument("--seed", type=int, default=0, help="seed for --random-init")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")


def _build_model(args: argparse.Namespace) -> tuple[CLIP4Clip, str]:
    import torch

    from export.architectures import load_openai_clip
    from export.checkpoints import load_clip4clip
    from export.model import build_model

    if args.checkpoint:
        return load_clip4clip(
            args.checkpoint, arch=args.arch, head=args.head
        ), f"checkpoint:{args.checkpoint}"
    if not args.arch:
        raise ExportError("--arch is required with --random-init or --pretrained")
    head = args.head or "meanP"
    if args.pretrained:
        clip = load_openai_clip(args.arch)
        return build_model(args.arch, head, clip=clip), "openai"
    torch.manual_seed(args.seed)
    return build_model(args.arch, head), f"random-init:seed={args.seed}"


def _run_convert(args: argparse.Namespace) -> int:
    from export.convert import convert

    model, source = _build_model(args)
    result = convert(
        model,
        args.out,
        name=args.name,
        fp16=args.fp16,
        int8=args.int8,
        max_frames=args.max_frames,
        source=source,
    )
    if args.json:
        print(result.manifest.to_json(), end="")
    else:
        p = result.parity
        print(f"wrote {result.bundle} ({result.manifest.name}, {result.manifest.precision})")
        print(
            f"parity on {p.provider}: image {p.image:.6f}, text {p.text:.6f}, head {p.head:.6f}"
            f" (min cosine, need >= {p.threshold}"
            + (f", image >= {p.image_threshold})" if p.image_threshold != p.threshold else ")")
        )
    return 0


def _add_synth(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "synth",
        help="generate the synthetic video-caption benchmark",
        description="Coloured shapes with exact captions (appearance, motion, temporal order);"
        " val/test show (colour, shape) pairs never seen in training.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--videos", type=int, default=1000, help="how many videos (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="every video follows it")
    p.add_argument(
        "--split-seed",
        type=int,
        help="chooses the held-out pairs (default --seed); keep a training set's for fresh tests",
    )
    p.add_argument("--size", type=int, default=96, help="frame size in pixels (square)")
    p.add_argument("--seconds", type=int, default=6, help="video length")
    p.add_argument("--test-only", action="store_true", help="every video a test video")


def _run_synth(args: argparse.Namespace) -> int:
    from core.demo.synthetic import generate

    try:
        target = generate(
            args.out,
            args.videos,
            args.seed,
            size=args.size,
            seconds=args.seconds,
            split_seed=args.split_seed,
            test_only=args.test_only,
        )
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    print(f"wrote {args.videos} videos and {target}")
    return 0


def _add_train(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from export.heads import ALL_HEADS

    p = sub.add_parser(
        "train",
        help="fine-tune (or train from scratch) a CLIP4Clip model on video-caption data",
        description="Symmetric cross-entropy, AdamW with separate learning rates for CLIP and the"
        " head, warm-up + cosine, gradient clipping, AMP on CUDA; a checkpoint every epoch"
        " (OUT/last.pt resumes exactly; OUT/best.pt is the best on validation).",
    )
    p.add_argument("--data", required=True, help="dataset folder (data.json) or CSV file")
    p.add_argument("--arch", default="small", choices=ARCH_NAMES)
    p.add_argument("--head", default="meanP", choices=ALL_HEADS)
    p.add_argument("--init", default="random", help="random, openai, or a checkpoint file")
    p.add_argument("--out", required=True, metavar="DIR", help="checkpoint folder")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr-clip", type=float, help="CLIP towers (default 1e-7; 1e-3 from scratch)")
    p.add_argument("--lr-new", type=float, help="new head (default 1e-4; 1e-3 from scratch)")
    p.add_argument("--max-frames", type=int, default=12)
    p.add_argument("--max-words", type=int, default=32)
    p.add_argument("--rate", type=float, default=1.0, help="frames sampled per second")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda")
    p.add_argument("--restart", action="store_true", help="ignore OUT/last.pt and start over")
    p.add_argument(
        "--stop-after", type=int, metavar="N", help="stop after epoch N (continue later)"
    )


def _run_train(args: argparse.Namespace) -> int:
    from export.train import TrainConfig, train

    config = TrainConfig(
        data=args.data,
        out=args.out,
        arch=args.arch,
        head=args.head,
        init=args.init,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr_clip=args.lr_clip,
        lr_new=args.lr_new,
        max_frames=args.max_frames,
        max_words=args.max_words,
        rate=args.rate,
        seed=args.seed,
        device=args.device,
    )
    result = train(config, restart=args.restart, stop_after=args.stop_after)
    print(f"best validation text->video R@1 {result['best_val_r1']:.1f}; checkpoints in {args.out}")
    return 0


def _add_eval(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "eval",
        help="retrieval metrics of a bundle, measured through the app's indexing pipeline",
    )
    p.add_argument("--bundle", required=True, metavar="DIR")
    p.add_argument("--data", required=True, help="dataset folder (data.json) or CSV file")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--rate", type=float, default=1.0, help="frames sampled per second")
    p.add_argument("--rerank", metavar="CHECKPOINT", help="a tightTransf checkpoint to re-rank")
    p.add_argument("--top-k", type=int, default=10, help="how many videos --rerank re-scores")
    p.add_argument("--json", action="store_true")


def _run_eval(args: argparse.Namespace) -> int:
    import json

    from export.evaluate import evaluate

    result = evaluate(
        args.bundle,
        args.data,
        split_name=args.split,
        rate=args.rate,
        rerank_checkpoint=args.rerank,
        top_k=args.top_k,
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['videos']} {args.split} videos, bundle {args.bundle}")
    for title, metrics in [("bundle", result["metrics"])] + (
        [("re-ranked", result["reranked"])] if "reranked" in result else []
    ):
        for name, m in metrics.items():
            print(
                f"{title:9} {name:13} R@1 {m['R@1']:5.1f}  R@5 {m['R@5']:5.1f}"
                f"  R@10 {m['R@10']:5.1f}  MdR {m['MdR']:4.0f}  MnR {m['MnR']:6.1f}  (n={m['n']})"
            )
    return 0


def _add_template(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "template",
        help="write an architecture's weight-free ONNX templates (the torch-free model install)",
    )
    p.add_argument("--arch", required=True, help="tiny, small, ViT-B-32 or ViT-B-16")
    p.add_argument(
        "--multilingual",
        action="store_true",
        help="M-CLIP's XLM-R text tower instead (--arch tiny or full)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="default: resources/templates/ARCH-meanP (with --multilingual: mclip-xlmr-ARCH)"
        " in this checkout",
    )


def _run_template(args: argparse.Namespace) -> int:
    from core.model.assemble import TEMPLATES, template_dir
    from core.model.assemble_text import text_template_dir
    from export.templates import make_multilingual_template, make_template

    if args.multilingual:
        out = Path(args.out) if args.out else text_template_dir(args.arch, TEMPLATES)
        recipe = make_multilingual_template(args.arch, out)
    else:
        out = Path(args.out) if args.out else template_dir(args.arch, TEMPLATES)
        recipe = make_template(args.arch, out)
    filled = sum(len(v) for v in recipe["files"].values())
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{args.arch}: {filled} weights by name, {size / 1e6:.1f} MB of graph in {out}")
    return 0


def _add_distil(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from export.distil import DistilConfig

    d = DistilConfig()
    p = sub.add_parser(
        "distil-multilingual",
        help="distil the demo's Korean + English student text tower (M-CLIP's method)",
        description="Train a small XLM-R-shaped text tower with MSE to the demo model's English"
        " text vectors of parallel English and Korean synthetic captions (training seeds and"
        " training styles only), export it to ONNX with its tokenizer and a text_tower.json."
        " The defaults reproduce the tower shipped in resources/models/demo/multilingual.",
    )
    p.add_argument("--out", metavar="DIR", help="default: the demo bundle's multilingual/")
    p.add_argument("--teacher", metavar="DIR", help="the model bundle (default: the demo model)")
    p.add_argument("--arch", default=d.arch, help=f"student arch (default {d.arch})")
    p.add_argument("--seeds", type=int, default=d.seeds, help="training seeds (plans)")
    p.add_argument("--videos-per-seed", type=int, default=d.videos_per_seed)
    p.add_argument("--korean-per-video", type=int, default=d.korean_per_video)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--bpe-dropout", type=float, default=d.bpe_dropout)
    p.add_argument("--augment", type=float, default=d.augment, help="share of noised sentences")
    p.add_argument("--word-dropout", type=float, default=d.word_dropout)
    p.add_argument(
        "--raw-targets", action="store_true", help="fit raw teacher vectors (M-CLIP's way)"
    )
    p.add_argument("--seed", type=int, default=d.seed)


def _run_distil(args: argparse.Namespace) -> int:
    import torch

    from core.model.registry import DEMO_MODEL
    from export.distil import DEFAULT_OUT, DistilConfig, distil

    config = DistilConfig(
        arch=args.arch,
        seeds=args.seeds,
        videos_per_seed=args.videos_per_seed,
        korean_per_video=args.korean_per_video,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        bpe_dropout=args.bpe_dropout,
        augment=args.augment,
        word_dropout=args.word_dropout,
        normalize_targets=not args.raw_targets,
        seed=args.seed,
    )
    print(f"{config.command()} (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    distil(
        config,
        Path(args.out) if args.out else DEFAULT_OUT,
        teacher=Path(args.teacher) if args.teacher else DEMO_MODEL,
        say=lambda line: print(line, flush=True),
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clipseek-export", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_convert(sub)
    _add_synth(sub)
    _add_train(sub)
    _add_eval(sub)
    _add_template(sub)
    _add_distil(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "convert":
            return _run_convert(args)
        if args.command == "synth":
            return _run_synth(args)
        if args.command == "train":
            return _run_train(args)
        if args.command == "eval":
            return _run_eval(args)
        if args.command == "template":
            return _run_template(args)
        if args.command == "distil-multilingual":
            return _run_distil(args)
    except (ExportError, BundleError, OSError) as exc:
        if args.debug:
            raise
        print(f"clipseek-export: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("clipseek-export: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
