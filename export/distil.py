"""A Korean + English student text tower for the demo model, distilled as M-CLIP was made.

M-CLIP ("Multilingual CLIP", Carlsson et al. 2022) keeps CLIP's image tower and trains a new text
tower — XLM-R, attention-masked mean pooling, one Linear — with a plain MSE loss to give, for a
sentence in another language, the vector CLIP's own text tower gives its English original. No
image is seen in training; the student only has to land where the teacher lands. Here:

* **teacher**: the demo bundle's English text tower (``resources/models/demo/text.onnx``), run
  without torch through :class:`core.model.encoder.Encoder`;
* **data**: synthetic videos drawn by :func:`core.demo.synthetic.plan` from *training* seeds
  (:data:`TRAIN_SEED_BASE` upwards, far from the seeds the demo, the tests and the benchmarks
  draw), each with its English caption and several Korean phrasings drawn with
  :data:`core.demo.korean.TRAIN_STYLES` only (fresh words every time); the English caption trains
  on its own teacher vector too, so English queries keep working through the student;
* **targets**: the teacher's vectors L2-normalised (M-CLIP fitted raw CLIP vectors). The demo's
  raw text vectors differ in length by ±20 % (5.1 to 7.5) for no reason a search sees: the index
  compares directions only (cosine). MSE to unit vectors spends the student's small capacity on
  direction alone and is, for a student near unit length, ``2 - 2 cos``: the quantity search
  ranks by. (``normalize_targets=False`` trains on raw vectors, M-CLIP's way, for comparison.)
* **tokenizer**: byte-pair pieces trained here with the ``tokenizers`` package on the training
  captions of both languages, after NFKD (which splits a Hangul syllable into its letters, jamo:
  a word never seen in training — 있는데, 먼저 — is spelt from letters that were, never
  ``<unk>``) and lower-casing; Metaspace words (SentencePiece's ``▁``) as XLM-R has them; XLM-R's
  special tokens ``<s>``=0 ``<pad>``=1 ``</s>``=2 ``<unk>``=3 and every sentence read as
  ``<s> … </s>``;
* **student**: :class:`export.multilingual.MultilingualTextTower` of arch ``demo-student``,
  exported with :func:`export.multilingual.export_text_tower` and described by
  :func:`core.model.text_tower.write_tower_manifest` (image space: the demo's exact image tower),
  so :class:`core.model.text_tower.TextTower` runs it without torch.

Everything follows ``seed``: the same command writes the same tower (the files' bytes may differ
between machines or thread counts; the losses printed are the check).
"""

from __future__ import annotations

import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from tokenizers.trainers import BpeTrainer

from core.demo.korean import HELD_OUT_STYLES, TRAIN_STYLES, korean_caption, korean_captions
from core.demo.synthetic import VideoSpec, plan
from core.model.bundle import IMAGE_FILE, TEXT_FILE, load_bundle
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL
from core.model.text_tower import (
    BUNDLED_TOWER_DIR,
    TOWER_TEXT_FILE,
    TOWER_TOKENIZER_FILE,
    write_tower_manifest,
)
from export.errors import ExportError
from export.multilingual import (
    ARCHS,
    BOS_ID,
    EOS_ID,
    PAD_ID,
    MultilingualTextTower,
    export_text_tower,
    max_tokens,
    xlmr_config,
)

__all__ = [
    "DEFAULT_OUT",
    "SPECIALS",
    "TRAIN_SEED_BASE",
    "DistilConfig",
    "DistilResult",
    "distil",
    "held_out_accuracy",
    "student_vectors",
    "train_tokenizer",
    "training_specs",
]

#: Where the shipped tower lives: inside the demo bundle, where core.model.text_tower finds it.
DEFAULT_OUT = DEMO_MODEL / BUNDLED_TOWER_DIR
#: Training videos come from plan(seed) for seeds from here up. The demo draws its seeds below
#: 1,000,000 and the tests and benchmarks use small ones, so no evaluation video is a training one.
TRAIN_SEED_BASE = 10_000_000
#: A separate seed for the validation figure printed every epoch (never trained on).
VALIDATION_SEED = 9_000_000
#: XLM-R's special tokens, in id order (<s>=0, <pad>=1, </s>=2, <unk>=3).
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
#: Letters every tokenizer knows, whatever its training text: the Hangul jamo NFKD gives
#: (19 initials, 21 vowels, 27 finals), the Latin letters, digits and common punctuation.
_JAMO = [
    *range(0x1100, 0x1113),
    *range(0x1161, 0x1176),
    *range(0x11A8, 0x11C3),
]
_HANGUL_FIRST, _HANGUL_COUNT = 0xAC00, 11172  # 가 … 힣
ALPHABET = [chr(c) for c in _JAMO] + list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'\"-")


@dataclass(frozen=True)
class DistilConfig:
    """Everything the shipped tower depends on (``clipseek-export distil-multilingual``)."""

    arch: str = "demo-student"
    #: training seeds: plan(videos_per_seed, TRAIN_SEED_BASE + i) for i in range(seeds)
    seeds: int = 20
    videos_per_seed: int = 200
    #: Korean phrasings drawn per video (TRAIN_STYLES, fresh words each)
    korean_per_video: int = 8
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.05
    grad_clip: float = 1.0
    #: BPE dropout while training (a word is split differently now and then); none at export
    bpe_dropout: float = 0.0
    #: share of training sentences changed each epoch (:func:`augment_sentence`), and each
    #: word's chance to be left out of a changed one
    augment: float = 0.5
    word_dropout: float = 0.15
    normalize_targets: bool = True
    seed: int = 0
    name: str = "ClipSeek demo Korean + English student"

    def command(self) -> str:
        """The command line that reproduces this configuration."""
        base = DistilConfig()
        flags = []
        for key in (
            "arch", "seeds", "videos_per_seed", "korean_per_video", "epochs", "batch_size", "lr",
            "bpe_dropout", "augment", "word_dropout", "seed",
        ):  # fmt: skip
            value = getattr(self, key)
            if value != getattr(base, key):
                flags.append(f"--{key.replace('_', '-')} {value}")
        if not self.normalize_targets:
            flags.append("--raw-targets")
        return " ".join(["clipseek-export distil-multilingual", *flags])


@dataclass
class DistilResult:
    out: Path
    #: mean training loss per epoch
    losses: list[float]
    #: held-out-style Korean -> own English caption, text-to-text top-1, per epoch (validation)
    validation: list[float]
    seconds: float
    parity: dict[str, Any]
    files: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- data


def training_specs(
    seeds: int, videos_per_seed: int, base: int = TRAIN_SEED_BASE
) -> list[VideoSpec]:
    """The training videos' specs (never rendered: only their captions are needed)."""
    return [s for i in range(seeds) for s in plan(videos_per_seed, base + i)]


def parallel_corpus(
    specs: Sequence[VideoSpec], korean_per_video: int, rng: random.Random
) -> list[tuple[str, str]]:
    """(sentence, English caption) pairs: each video's caption with itself, then its Korean
    phrasings in training styles."""
    pairs = []
    for spec in specs:
        english = spec.caption()
        pairs.append((english, english))
        pairs += [
            (korean_caption(spec, rng, TRAIN_STYLES), english) for _ in range(korean_per_video)
        ]
    return pairs


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Tokenizer:
    """Byte-pair pieces over NFKD, lower-cased text, XLM-R's special tokens and wrapping."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIALS),
        initial_alphabet=ALPHABET,
        min_frequency=2,
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    ids = [tok.token_to_id(t) for t in SPECIALS]
    if ids != [BOS_ID, PAD_ID, EOS_ID, 3]:
        raise ExportError(f"tokenizer special tokens got ids {ids}, not 0-3")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", BOS_ID), ("</s>", EOS_ID)],
    )
    return tok


def _with_dropout(tok: Tokenizer, dropout: float) -> Tokenizer:
    """A copy of ``tok`` whose BPE drops merges at random (training only)."""
    copy = Tokenizer.from_str(tok.to_str())
    if dropout > 0:
        model = copy.model
        assert isinstance(model, models.BPE)
        model.dropout = dropout
    return copy


def _random_word(rng: random.Random) -> str:
    """A word nobody says: one to three random Hangul syllables (now and then Latin letters)."""
    if rng.random() < 0.2:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 6)))
    return "".join(
        chr(_HANGUL_FIRST + rng.randrange(_HANGUL_COUNT)) for _ in range(rng.randint(1, 3))
    )


def augment_sentence(text: str, rng: random.Random, p: float) -> str:
    """``text`` with each word left out with probability ``p`` (two kept at least, in their
    order) and up to two words of nonsense put in anywhere.

    Why: every training style says "A, then B" with A first in the sentence, but a phrasing the
    student never saw (먼저 A, 이어서 B) has words it cannot read in front of A — spelt letter by
    letter, they are many tokens, and a student that learnt "the first object sits at positions
    1-4" reads the sentence backwards. Nonsense words anywhere teach it that what matters is
    which object comes first among the words it knows; words missing now and then (다음 among
    them) teach it not to hang the order on one connective.
    """
    words = text.split()
    kept = [w for w in words if rng.random() >= p]
    if len(kept) < 2:
        kept = words
    for _ in range(rng.choice((0, 1, 1, 2))):
        kept.insert(rng.randint(0, len(kept)), _random_word(rng))
    return " ".join(kept)


def _pad(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), PAD_ID, dtype=torch.int64)
    mask = torch.zeros((len(rows), width), dtype=torch.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
        mask[i, : len(row)] = 1
    return ids, mask


def student_vectors(
    model: MultilingualTextTower, tok: Tokenizer, texts: Sequence[str], batch_size: int = 256
) -> np.ndarray:
    """The student's L2-normalised vectors in PyTorch (what the ONNX file gives, normalised)."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            rows = [e.ids for e in tok.encode_batch(list(texts[start : start + batch_size]))]
            out.append(model(*_pad(rows)).numpy())
    vectors = np.concatenate(out).astype(np.float32)
    result: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return result


def held_out_accuracy(vectors: np.ndarray, own: Sequence[int], captions: np.ndarray) -> float:
    """Share of ``vectors`` (normalised) whose nearest of ``captions`` (normalised teacher
    vectors) is their own (``own[i]``)."""
    best = np.argmax(vectors @ captions.T, axis=1)
    return float(np.mean(best == np.asarray(own)))


def _unit(vectors: np.ndarray) -> np.ndarray:
    result: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return result


# --------------------------------------------------------------------------- training


def distil(
    config: DistilConfig,
    out: Path = DEFAULT_OUT,
    *,
    teacher: Path = DEMO_MODEL,
    say: Callable[[str], None] = print,
) -> DistilResult:
    """Train the student, export it to ``out`` (replaced) and check ONNX against PyTorch."""
    started = time.perf_counter()
    try:
        arch = ARCHS[config.arch]
    except KeyError:
        raise ExportError(f"unknown multilingual arch {config.arch!r}") from None
    bundle = load_bundle(teacher)
    if arch.embed_dim != bundle.manifest.embed_dim:
        raise ExportError(
            f"arch {config.arch} gives {arch.embed_dim}-d vectors; the teacher's are"
            f" {bundle.manifest.embed_dim}-d"
        )
    encoder = Encoder(bundle, force_cpu=True)
    rng = random.Random(f"distil:{config.seed}")
    torch.manual_seed(config.seed)

    specs = training_specs(config.seeds, config.videos_per_seed)
    pairs = parallel_corpus(specs, config.korean_per_video, rng)
    captions = sorted({english for _, english in pairs})
    index = {c: i for i, c in enumerate(captions)}
    targets = encoder.encode_texts(captions, normalize=config.normalize_targets)
    tok = train_tokenizer([text for text, _ in pairs], arch.vocab_size)
    say(
        f"data: {len(specs)} videos from {config.seeds} training seeds, {len(pairs)} sentences"
        f" ({len(captions)} distinct English captions), tokenizer of {tok.get_vocab_size()}"
        f" pieces; targets {'unit' if config.normalize_targets else 'raw'} teacher vectors"
    )

    # validation: held-out-style Korean of videos from a seed never trained on
    val_specs = plan(200, VALIDATION_SEED)
    val_captions = sorted({s.caption() for s in val_specs})
    val_teacher = encoder.encode_texts(val_captions, normalize=True)
    val_index = {c: i for i, c in enumerate(val_captions)}
    val_texts, val_own = [], []
    for spec in val_specs:
        for text in korean_captions(spec, HELD_OUT_STYLES):
            val_texts.append(text)
            val_own.append(val_index[spec.caption()])

    model = MultilingualTextTower(xlmr_config(arch), arch.embed_dim)
    train_tok = _with_dropout(tok, config.bpe_dropout)
    texts = [text for text, _ in pairs]
    target_rows = torch.from_numpy(targets[[index[e] for _, e in pairs]])
    augment_rng = random.Random(f"augment:{config.seed}")

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embeddings" not in n]
    other = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embeddings" not in n)]
    optimiser = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": other, "weight_decay": 0.0},
        ],
        lr=config.lr,
    )
    steps_per_epoch = math.ceil(len(pairs) / config.batch_size)
    total = steps_per_epoch * config.epochs
    warm = max(1, int(total * config.warmup))

    def schedule(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
    losses: list[float] = []
    validation: list[float] = []
    order_rng = np.random.default_rng(config.seed)
    for epoch in range(config.epochs):
        model.train()
        order = order_rng.permutation(len(pairs))
        running = 0.0
        for start in range(0, len(order), config.batch_size):
            chunk = order[start : start + config.batch_size]
            batch = [texts[i] for i in chunk]
            if config.augment > 0:
                batch = [
                    augment_sentence(t, augment_rng, config.word_dropout)
                    if augment_rng.random() < config.augment
                    else t
                    for t in batch
                ]
            rows = [e.ids for e in train_tok.encode_batch(batch)]
            ids, mask = _pad(rows)
            loss = torch.nn.functional.mse_loss(model(ids, mask), target_rows[chunk])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimiser.step()
            scheduler.step()
            running += loss.item() * len(chunk)
        losses.append(running / len(pairs))
        accuracy = held_out_accuracy(student_vectors(model, tok, val_texts), val_own, val_teacher)
        validation.append(accuracy)
        say(
            f"epoch {epoch + 1}/{config.epochs}: loss {losses[-1]:.5f}, held-out Korean ->"
            f" own caption {accuracy:.3f} (validation seed, text to text)"
            f" [{time.perf_counter() - started:.0f} s]"
        )

    model.eval()
    parity = _export(model, tok, out, val_texts[:64] + val_captions[:64])
    image_sha = bundle.manifest.files[IMAGE_FILE].sha256
    write_tower_manifest(
        out,
        name=config.name,
        image_space=f"image-sha256:{image_sha}",
        embed_dim=arch.embed_dim,
        max_tokens=max_tokens(model.config),
        pad_id=PAD_ID,
        precision="fp32",
        languages=["ko", "en"],
        source=(
            f"distilled from {bundle.manifest.name} (text.onnx sha256"
            f" {bundle.manifest.files[TEXT_FILE].sha256[:16]}) by `{config.command()}`"
        ),
        parity=parity,
    )
    seconds = time.perf_counter() - started
    files = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    say(
        f"wrote {out} ({sum(files.values()) / 1e6:.2f} MB) in {seconds:.0f} s; ONNX vs PyTorch"
        f" min cosine {parity['min_cosine']:.7f}"
    )
    return DistilResult(out, losses, validation, seconds, parity, files)


def _export(
    model: MultilingualTextTower, tok: Tokenizer, out: Path, sentences: Sequence[str]
) -> dict[str, Any]:
    """text.onnx and tokenizer.json into ``out`` (replaced), and the ONNX-vs-PyTorch cosine on
    ``sentences`` batched together (padding included)."""
    import onnxruntime as ort

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    export_text_tower(model, out / TOWER_TEXT_FILE, external_data=False)
    tok.save(str(out / TOWER_TOKENIZER_FILE))
    rows = [e.ids for e in tok.encode_batch(list(sentences))]
    ids, mask = _pad(rows)
    with torch.no_grad():
        expected = model(ids, mask).numpy()
    session = ort.InferenceSession(str(out / TOWER_TEXT_FILE), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    cosine = float(np.min(np.sum(_unit(expected) * _unit(got), axis=1)))
    threshold = 0.9999
    if not cosine >= threshold:
        raise ExportError(
            f"student text.onnx disagrees with PyTorch: cosine {cosine} < {threshold}"
        )
    return {
        "min_cosine": round(cosine, 7),
        "threshold": threshold,
        "provider": "CPUExecutionProvider",
        "sentences": len(rows),
    }
