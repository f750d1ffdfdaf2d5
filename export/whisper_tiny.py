"""A tiny Whisper with random weights, and CTranslate2's conversion of any Whisper.

No Whisper weights reach the machines this project is built on, so the speech runtime
(``core/speech/whisper.py``) is proven on a model made here: ``transformers``'
``WhisperForConditionalGeneration`` with random weights and a tokenizer in the **real multilingual
id layout** (what ``Systran/faster-whisper-*`` ships), converted with CTranslate2's own converter
into the folder layout those repositories ship (``model.bin``, ``config.json``,
``tokenizer.json``, ``vocabulary.txt``).

The id layout (multilingual Whisper, 80 mel bins)::

    0 … 50255      byte-level BPE tokens (here: the 256 byte symbols, then symbol pairs)
    50256          ""  (the empty token; CTranslate2 >= 4.7 calls a model without it "not
                   multilingual" and ``detect_language`` refuses it)
    50257          <|endoftext|>
    50258          <|startoftranscript|>
    50259 …        <|en|> <|zh|> … (99 languages; 100 with <|yue|> for 128 mel bins, as v3)
    then           <|translate|> <|transcribe|> <|startoflm|> <|startofprev|> <|nocaptions|>
                   <|notimestamps|>   (50363 with 80 bins)
    then           <|0.00|> … <|30.00|>  (1501 timestamps, 0.02 s apart)

Everything runs offline (``HF_HUB_OFFLINE=1``): nothing is fetched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

#: Timestamps: 0.00 … 30.00 s in steps of 0.02 s.
N_TIMESTAMPS = 1501
N_TEXT_TOKENS = 50256  # ids 0 … 50255
AFTER_LANGUAGES = (
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (the byte-level BPE alphabet)."""
    bs = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    cs = list(bs)
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


def whisper_languages(num_mel_bins: int = 80) -> list[str]:
    """The language codes in id order (v3's 128-bin models add Cantonese)."""
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    codes = list(LANGUAGES)
    return codes if num_mel_bins == 128 else [c for c in codes if c != "yue"]


def _vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    symbols = list(_bytes_to_unicode().values())
    vocab: dict[str, int] = {s: i for i, s in enumerate(symbols)}
    merges: list[tuple[str, str]] = []
    # Letters and the space symbol first, so that merges make plausible pieces of English.
    first = [s for s in symbols if s.isalpha() and s.isascii()] + ["Ġ"]
    rest = [s for s in symbols if s not in first]
    order = first + rest
    for a in order:
        for b in order:
            if len(vocab) >= N_TEXT_TOKENS:
                break
            piece = a + b
            if piece not in vocab:
                vocab[piece] = len(vocab)
                merges.append((a, b))
    vocab[""] = N_TEXT_TOKENS  # 50256, as in the real multilingual vocabulary
    return vocab, merges


def build_tiny_whisper(
    out: Path,
    seed: int = 0,
    *,
    d_model: int = 64,
    layers: int = 2,
    num_mel_bins: int = 80,
    heads: int | None = None,
) -> Path:
    """Write a random-weight multilingual Whisper (``save_pretrained`` layout, with tokenizer
    and generation config) to ``out`` and return ``out``. ``layers`` is per side (encoder and
    decoder); ``heads`` defaults to ``d_model // 64`` (at least 2)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from tokenizers import AddedToken
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperForConditionalGeneration,
        WhisperTokenizer,
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    languages = whisper_languages(num_mel_bins)

    vocab, merges = _vocab_and_merges()
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges)
    specials = [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *(f"<|{code}|>" for code in languages),
        *AFTER_LANGUAGES,
    ]
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True) for t in specials[1:]]}
    )
    ids = [tokenizer.convert_tokens_to_ids(t) for t in specials]
    want = list(range(N_TEXT_TOKENS + 1, N_TEXT_TOKENS + 1 + len(specials)))
    if ids != want:
        raise RuntimeError(f"tokenizer ids {ids[:3]}… are not Whisper's layout {want[:3]}…")
    eot, sot = want[0], want[1]
    lang_to_id = {f"<|{c}|>": sot + 1 + i for i, c in enumerate(languages)}
    translate = sot + 1 + len(languages)
    no_timestamps = translate + 5
    vocab_size = no_timestamps + 1 + N_TIMESTAMPS  # 51865 with 80 bins

    n_heads = heads if heads is not None else max(2, d_model // 64)
    config = WhisperConfig(
        vocab_size=vocab_size,
        num_mel_bins=num_mel_bins,
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=n_heads,
        decoder_attention_heads=n_heads,
        encoder_ffn_dim=4 * d_model,
        decoder_ffn_dim=4 * d_model,
        max_source_positions=1500,
        max_target_positions=448,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
        begin_suppress_tokens=[220, eot],
        suppress_tokens=[],
        # Untied output layer: with tied embeddings a random model repeats its last token.
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config)
    model.eval()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated
    # Whisper's own init (std 0.02 everywhere, output layer tied to the token embeddings) makes
    # a model that repeats one token whatever the audio. Untied, with weights scaled to their
    # fan-in, its tokens and timestamps depend on the features, so parity tests compare
    # something.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("weight") and param.dim() >= 2 and "embed_positions" not in name:
                fan_in = param[0].numel()
                std = 0.02 if "embed_tokens" in name else 1.0 / fan_in**0.5
                param.normal_(0.0, std)

    generation = GenerationConfig(  # type: ignore[no-untyped-call]
        decoder_start_token_id=sot,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        max_length=448,
        begin_suppress_tokens=[220, eot],
        suppress_tokens=[],
        is_multilingual=True,
        lang_to_id=lang_to_id,
        task_to_id={"transcribe": translate + 1, "translate": translate},
        no_timestamps_token_id=no_timestamps,
        prev_sot_token_id=translate + 3,
        max_initial_timestamp_index=50,
        return_timestamps=False,
        alignment_heads=[[layers - 1, h] for h in range(n_heads)],
        forced_decoder_ids=None,
    )
    model.generation_config = generation
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def convert_to_ct2(hf_dir: Path, out: Path, quantization: str | None = None) -> Path:
    """Convert a ``save_pretrained`` Whisper folder with CTranslate2's ``TransformersConverter``
    into ``out`` in the layout ``Systran/faster-whisper-*`` ships: ``model.bin``,
    ``config.json``, ``tokenizer.json`` and ``vocabulary.txt`` (the converter writes
    ``vocabulary.json``; it is rewritten one token a line, as those repositories have it).
    ``quantization``: None (the weights' own type, float32 here), "int8", "float16", …"""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ctranslate2.converters import TransformersConverter

    hf_dir, out = Path(hf_dir), Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".ct2-") as tmp:
        staged = Path(tmp) / "model"
        converter = TransformersConverter(
            str(hf_dir), copy_files=["tokenizer.json"], low_cpu_mem_usage=True
        )
        converter.convert(str(staged), quantization=quantization, force=True)
        vocab_json = staged / "vocabulary.json"
        if vocab_json.exists():
            tokens = json.loads(vocab_json.read_text(encoding="utf-8"))
            if any("\n" in t for t in tokens):
                raise RuntimeError("a token holds a newline: vocabulary.txt cannot carry it")
            (staged / "vocabulary.txt").write_text(
                "".join(t + "\n" for t in tokens), encoding="utf-8"
            )
            vocab_json.unlink()
        staged.rename(out)
    return out
