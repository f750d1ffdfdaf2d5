"""Fine-tuning CLIP4Clip on video–caption pairs, as the paper does, resumable to the bit.

* Loss: symmetric cross-entropy over the batch similarity matrix, CLIP's learnable logit scale
  (clamped at 100 like CLIP).
* Optimiser: AdamW with two learning rates — CLIP's own weights and the new head's (CLIP4Clip
  used 1e-7 and 1e-4 on pretrained CLIP; from random weights the towers need far more) — linear
  warm-up then cosine decay, gradient clipping; no weight decay on gains, biases and embeddings.
* AMP (float16 autocast + gradient scaling) on CUDA; float32 on CPU.
* Frames come from :mod:`export.datasets`, i.e. the runtime's own sampling and preprocessing.
* A checkpoint every epoch (``last.pt``, and ``best.pt`` for the best validation text→video
  R@1), in ClipSeek's checkpoint format, so ``clipseek-export convert --checkpoint`` takes it.
  The order of the data in epoch e depends only on (seed, e), and the checkpoint holds the model,
  optimiser, scheduler and scaler, so resuming after epoch e gives bit-for-bit the same weights as
  never having stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.cli.progress import ProgressLine
from core.model.tokenizer import ClipTokenizer
from export.architectures import OPENAI_MEAN, OPENAI_STD, load_openai_clip
from export.checkpoints import load_clip4clip, read_checkpoint, save_checkpoint
from export.datasets import Clip, clip_frames, load_dataset, split
from export.heads import SeqTransfHead, TightTransfHead
from export.metrics import retrieval_metrics
from export.model import CLIP4Clip, build_model, symmetric_cross_entropy

LOGIT_SCALE_MAX = math.log(100.0)
LAST = "last.pt"
BEST = "best.pt"


@dataclass
class TrainConfig:
    data: str
    out: str
    arch: str = "small"
    head: str = "meanP"
    init: str = "random"  # 'random', 'openai' or a checkpoint path
    epochs: int = 10
    batch_size: int = 32
    lr_clip: float | None = None  # default: 1e-7 for pretrained towers, 1e-3 from scratch
    lr_new: float | None = None  # default: 1e-4, or 1e-3 from scratch
    weight_decay: float = 0.2
    warmup: float = 0.1
    grad_clip: float = 1.0
    max_frames: int = 12
    max_words: int = 32
    rate: float = 1.0
    seed: int = 0
    device: str = "auto"

    def learning_rates(self) -> tuple[float, float]:
        scratch = self.init == "random"
        lr_clip = self.lr_clip if self.lr_clip is not None else (1e-3 if scratch else 1e-7)
        lr_new = self.lr_new if self.lr_new is not None else (1e-3 if scratch else 1e-4)
        return lr_clip, lr_new


# --------------------------------------------------------------------------- model and data


def build(config: TrainConfig) -> CLIP4Clip:
    torch.manual_seed(config.seed)
    if config.init == "random":
        model = build_model(config.arch, config.head)
        if isinstance(model.head, SeqTransfHead):  # config.head == "seqTransf"
            # CLIP4Clip copies the frame positions from CLIP's text positions; from scratch those
            # are noise of std 0.01, some 40x smaller than the frame vectors they are added to
            # (measured: norms 0.15 vs 6.5 after training), so the head could barely see order.
            # Give them the frame vectors' scale instead.
            with torch.no_grad():
                model.head.frame_position_embeddings.weight.normal_(0.0, 1.0)
        return model
    if config.init == "openai":
        return build_model(config.arch, config.head, clip=load_openai_clip(config.arch))
    source = load_clip4clip(config.init)  # fine-tune further, possibly under another head
    if source.head_name == config.head:
        return source
    return CLIP4Clip(source.config, head=config.head, arch=source.arch, clip=source.clip)


class FrameStore:
    """Every clip's preprocessed frames, decoded once (float16 in memory)."""

    def __init__(self, clips: Sequence[Clip], model: CLIP4Clip, config: TrainConfig) -> None:
        def load(clip: Clip) -> torch.Tensor:
            frames = clip_frames(
                clip,
                image_size=model.image_size,
                mean=OPENAI_MEAN,
                std=OPENAI_STD,
                rate=config.rate,
                max_frames=config.max_frames,
            )
            return torch.from_numpy(frames).to(torch.float16)

        with ThreadPoolExecutor(max_workers=2) as pool:
            self.frames = list(pool.map(load, clips))
        self.max_frames = config.max_frames

    def batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixels [B, T, 3, S, S] (zero-padded) and mask [B, T]."""
        longest = max(self.frames[i].shape[0] for i in indices)
        first = self.frames[indices[0]]
        pixels = torch.zeros((len(indices), longest, *first.shape[1:]), dtype=torch.float32)
        mask = torch.zeros((len(indices), longest), dtype=torch.float32)
        for row, i in enumerate(indices):
            n = self.frames[i].shape[0]
            pixels[row, :n] = self.frames[i].float()
            mask[row, :n] = 1.0
        return pixels, mask


def token_ids(tokenizer: ClipTokenizer, captions: Sequence[str], max_words: int) -> torch.Tensor:
    """Captions as padded ids, cut to ``max_words`` tokens including start and end."""
    lists = []
    for caption in captions:
        body = tokenizer.encode(caption)[: max_words - 2]
        lists.append(tokenizer.wrap(body))
    ids, _ = ClipTokenizer.pad(lists)
    return torch.from_numpy(np.asarray(ids, dtype=np.int64))


def video_frames(model: CLIP4Clip, pixels: torch.Tensor) -> torch.Tensor:
    b, t = pixels.shape[:2]
    return model.encode_frames(pixels.flatten(0, 1)).view(b, t, -1)


# --------------------------------------------------------------------------- evaluation


@torch.no_grad()
def similarity_matrix(
    model: CLIP4Clip,
    clips: Sequence[Clip],
    store: FrameStore,
    tokenizer: ClipTokenizer,
    *,
    max_words: int,
    device: torch.device,
    batch: int = 64,
) -> np.ndarray:
    """[texts, videos] similarities of each clip's first caption against every clip."""
    model.eval()
    texts, frames, masks = [], [], []
    for start in range(0, len(clips), batch):
        idx = list(range(start, min(start + batch, len(clips))))
        ids = token_ids(tokenizer, [clips[i].captions[0] for i in idx], max_words).to(device)
        texts.append(model.encode_text(ids).float())
        pixels, mask = store.batch(idx)
        frames.append(video_frames(model, pixels.to(device)).float())
        masks.append(mask.to(device))
    longest = max(f.shape[1] for f in frames)
    frames = [torch.nn.functional.pad(f, (0, 0, 0, longest - f.shape[1])) for f in frames]
    masks = [torch.nn.functional.pad(m, (0, longest - m.shape[1])) for m in masks]
    text, video, mask = torch.cat(texts), torch.cat(frames), torch.cat(masks)
    if isinstance(model.head, TightTransfHead):  # head_name == "tightTransf"
        rows = [
            model.head.score_matrix(text[i : i + 16], video, mask) for i in range(0, len(text), 16)
        ]
        return torch.cat(rows).cpu().numpy()
    pooled = model.pool(video, mask)
    return (torch.nn.functional.normalize(text, dim=-1) @ pooled.t()).cpu().numpy()


# --------------------------------------------------------------------------- training


def _param_groups(
    model: CLIP4Clip, lr_clip: float, lr_new: float, decay: float
) -> list[dict[str, Any]]:
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        is_clip = name.startswith("clip.")
        no_decay = p.ndim < 2 or "embedding" in name or "logit_scale" in name
        groups.setdefault((is_clip, no_decay), []).append(p)
    return [
        {
            "params": params,
            "lr": lr_clip if is_clip else lr_new,
            "weight_decay": 0.0 if no_decay else decay,
        }
        for (is_clip, no_decay), params in sorted(groups.items())
    ]


def _schedule(total: int, warmup: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _grouped_order(clips: Sequence[Clip], generator: torch.Generator) -> list[int]:
    """A shuffled order in which clips of one group (reversed twins) stay side by side."""
    groups: dict[str, list[int]] = {}
    for i, clip in enumerate(clips):
        groups.setdefault(clip.group or f"#{i}", []).append(i)
    units = list(groups.values())
    return [i for u in torch.randperm(len(units), generator=generator).tolist() for i in units[u]]


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train(
    config: TrainConfig, *, restart: bool = False, stop_after: int | None = None
) -> dict[str, Any]:
    """Train (or resume) and return the history; writes ``last.pt`` / ``best.pt`` in ``out``.

    ``stop_after`` ends the run after that many epochs in total (the schedule still spans
    ``config.epochs``), to be continued later from ``last.pt``: as if interrupted.
    """
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = _device(config.device)
    progress = ProgressLine()
    clips = load_dataset(config.data)
    train_clips = split(clips, "train")
    val_clips = [c for c in clips if c.split == "val"]
    model = build(config).to(device)
    tokenizer = ClipTokenizer(context_length=model.context_length)
    started = time.perf_counter()
    store = FrameStore(train_clips, model, config)
    val_store = FrameStore(val_clips, model, config) if val_clips else None
    progress.line(
        f"{len(train_clips)} training and {len(val_clips)} validation clips decoded in"
        f" {time.perf_counter() - started:.1f} s; device {device}"
    )

    lr_clip, lr_new = config.learning_rates()
    optimizer = torch.optim.AdamW(_param_groups(model, lr_clip, lr_new, config.weight_decay))
    steps_per_epoch = max(1, len(train_clips) // config.batch_size)
    total = steps_per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _schedule(total, round(config.warmup * total))
    )
    amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    history: list[dict[str, Any]] = []
    first_epoch = 0
    best = -1.0
    last = out / LAST
    if last.is_file() and not restart:
        state = read_checkpoint(last)
        model.load_state_dict(state["model"])
        saved = state["train"]
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        first_epoch, history, best = (
            int(saved["epoch"]),
            list(saved["history"]),
            float(saved["best"]),
        )
        progress.line(f"resuming from {last} after epoch {first_epoch}")

    last_epoch = config.epochs if stop_after is None else min(stop_after, config.epochs)
    for epoch in range(first_epoch, last_epoch):
        model.train()
        order = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        perm = _grouped_order(train_clips, order)
        picks = torch.randint(0, 1 << 30, (len(train_clips),), generator=order).tolist()
        losses = []
        epoch_start = time.perf_counter()
        for step in range(steps_per_epoch):
            idx = perm[step * config.batch_size : (step + 1) * config.batch_size]
            captions = [
                train_clips[i].captions[picks[i] % len(train_clips[i].captions)] for i in idx
            ]
            ids = token_ids(tokenizer, captions, config.max_words).to(device)
            pixels, mask = store.batch(idx)
            pixels, mask = pixels.to(device), mask.to(device)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                logits = model.similarity(model.encode_text(ids), video_frames(model, pixels), mask)
                loss = symmetric_cross_entropy(logits.float())
            optimizer.zero_grad(set_to_none=True)
            # torch leaves Tensor.backward unannotated (torch.autograd.backward is typed).
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            with torch.no_grad():
                model.clip.logit_scale.clamp_(0.0, LOGIT_SCALE_MAX)
            losses.append(float(loss.detach()))
            progress.status(
                f"epoch {epoch + 1} [{step + 1}/{steps_per_epoch}] loss {losses[-1]:.4f}"
            )
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "loss": float(np.mean(losses)),
            "seconds": time.perf_counter() - epoch_start,
        }
        if val_store is not None:
            sim = similarity_matrix(
                model, val_clips, val_store, tokenizer, max_words=config.max_words, device=device
            )
            metrics = retrieval_metrics(sim, [c.kind for c in val_clips])
            record["val"] = metrics
            r1 = float(metrics["t2v"]["R@1"])  # type: ignore[index]
        else:
            r1 = -record["loss"]
        history.append(record)
        if r1 > best:
            best = r1
            save_checkpoint(model, out / BEST, extra={"history": history})
        train_state = {
            "epoch": epoch + 1,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "history": history,
            "best": best,
            "config": asdict(config),
        }
        save_checkpoint(model, last, extra={"train": train_state})
        val_text = ""
        if "val" in record:
            t2v = record["val"]["t2v"]
            val_text = f", val t2v R@1 {t2v['R@1']:.1f} R@5 {t2v['R@5']:.1f} MdR {t2v['MdR']:.0f}"
        progress.line(
            f"epoch {epoch + 1}/{config.epochs}: loss {record['loss']:.4f}{val_text}"
            f" ({record['seconds']:.0f} s)"
        )
    return {"history": history, "best_val_r1": best}
