"""Whisper through CTranslate2: a video's audio track to a :class:`Transcript`.

The model is a CTranslate2 Whisper folder as ``Systran/faster-whisper-*`` ships it (``model.bin``,
``config.json``, ``tokenizer.json``, ``vocabulary.txt``). Neither ``transformers`` nor PyTorch nor
``faster-whisper`` is used: PyAV decodes (``audio.py``), numpy makes the log-mel features
(``features.py``), an energy rule skips silence (``vad.py``), CTranslate2 runs the model and the
``tokenizers`` package turns ids back into text with the model's own ``tokenizer.json``.

Per video:

1. one decoding pass measures the frame levels; the speech spans are packed into ≤ 30 s windows;
2. the language is detected once, on the first window, and stored in the transcript (a model
   that is not multilingual says "en");
3. each window is decoded (greedy by default, ``beam_size`` for a small beam) *with* timestamps:
   the text between two timestamp tokens is one :class:`Line`, its times offset by the window's
   start; text after the last timestamp ends at the window's end;
4. word times come from ``Whisper.align`` (cross-attention of the model's alignment heads, median
   filtered, dynamic time warping), one word per space-led token group (per character group for
   Chinese, Japanese, Thai, Lao, Burmese and Cantonese), clamped into their line;
5. ``progress(seconds_done, seconds_total)`` after each window (skipped silence counts as done),
   and ``cancel`` is looked at before each window (:class:`TranscribeCancelled`).

``identity`` is the model folder's name and the SHA-256 of its ``model.bin`` (cached per path,
size and modification time), so that changing the speech model re-transcribes.
``runtime`` says the device and compute type CTranslate2 really uses: asking for ``int8`` on a
CPU gives ``int8_float32``, and CTranslate2 silently falls back to a type the device supports
(``float16`` on a CPU becomes ``float32``).
"""

from __future__ import annotations

import hashlib
import json
import string
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.speech import audio as audio_mod
from core.speech.features import N_FRAMES, log_mel
from core.speech.transcript import MODEL, Line, TranscribeCancelled, Transcript, Word
from core.speech.vad import EnergyRule, frame_levels, speech_spans, windows

#: Encoder positions (and timestamp steps) per second: 3000 mel frames -> 1500 positions / 30 s.
TOKENS_PER_SECOND = 50
TIME_STEP = 0.02
#: Whisper's own guards against what it invents (openai/whisper's transcribe defaults): a window
#: whose "no speech" probability is above NO_SPEECH while the text is unlikely (mean log
#: probability under LOGPROB_FLOOR) holds no speech; a text that compresses better than
#: COMPRESSION_CEILING (gzip) is a loop ("thank you thank you thank you …"); an unlikely or
#: looping text is decoded again with sampling at each of FALLBACK_TEMPERATURES.
NO_SPEECH = 0.6
LOGPROB_FLOOR = -1.0
COMPRESSION_CEILING = 2.4
FALLBACK_TEMPERATURES = (0.2, 0.4, 0.6, 0.8, 1.0)


def compression_ratio(text: str) -> float:
    """Bytes of ``text`` over bytes of its gzip: above ~2.4 a decoder is repeating itself."""
    import zlib

    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def judge(text: str, avg_logprob: float, no_speech_prob: float) -> str:
    """What to do with one decoded window: "silence" (drop it), "retry" (decode again hotter)
    or "keep"."""
    if no_speech_prob > NO_SPEECH and avg_logprob < LOGPROB_FLOOR:
        return "silence"
    if compression_ratio(text) > COMPRESSION_CEILING or avg_logprob < LOGPROB_FLOOR:
        return "retry"
    return "keep"


#: Languages whose words are not separated by spaces.
_UNSPACED = frozenset({"zh", "ja", "th", "lo", "my", "yue"})

_identity_cache: dict[tuple[str, int, int], str] = {}
_identity_lock = threading.Lock()


def model_identity(model_dir: Path) -> str:
    """``<folder name>:<SHA-256 of model.bin>`` (cached per path, size and mtime)."""
    weights = Path(model_dir) / "model.bin"
    stat = weights.stat()
    key = (str(weights.resolve()), stat.st_size, stat.st_mtime_ns)
    with _identity_lock:
        cached = _identity_cache.get(key)
    if cached is None:
        digest = hashlib.sha256()
        with weights.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        cached = f"{Path(model_dir).resolve().name}:{digest.hexdigest()}"
        with _identity_lock:
            _identity_cache[key] = cached
    return cached


@dataclass(frozen=True)
class _Specials:
    eot: int
    sot: int
    transcribe: int
    no_timestamps: int
    timestamp_begin: int
    languages: dict[int, str]  # token id -> code


def _specials(tokenizer: Any, lang_ids: Sequence[int]) -> _Specials:
    def token_id(text: str) -> int:
        found = tokenizer.token_to_id(text)
        if found is None:
            raise ValueError(f"the model's tokenizer.json lacks {text}")
        return int(found)

    no_timestamps = token_id("<|notimestamps|>")
    languages: dict[int, str] = {}
    for ident in lang_ids:
        token = tokenizer.id_to_token(int(ident)) or ""
        if token.startswith("<|") and token.endswith("|>"):
            languages[int(ident)] = token[2:-2]
    return _Specials(
        eot=token_id("<|endoftext|>"),
        sot=token_id("<|startoftranscript|>"),
        transcribe=token_id("<|transcribe|>"),
        no_timestamps=no_timestamps,
        timestamp_begin=no_timestamps + 1,
        languages=languages,
    )


class WhisperTranscriber:
    """The :class:`~core.speech.transcript.Transcriber` that runs Whisper with CTranslate2."""

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str = "auto",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = 1,
        max_new_tokens: int = 224,
        max_tokens_per_second: float | None = None,
        word_timestamps: bool = True,
        rule: EnergyRule | None = None,
        guards: bool = True,
    ) -> None:
        import ctranslate2
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        for name in ("model.bin", "config.json", "tokenizer.json"):
            if not (self.model_dir / name).is_file():
                raise ValueError(
                    f"{self.model_dir.name}: not a CTranslate2 Whisper ({name} missing)"
                )
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
        if device == "auto":
            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        try:
            self._model = ctranslate2.models.Whisper(
                str(self.model_dir),
                device=device,
                compute_type=compute_type,
                intra_threads=cpu_threads,
            )
        except (RuntimeError, ValueError) as error:
            message = " ".join(str(error).split())
            raise ValueError(
                f"{self.model_dir.name}: CTranslate2 cannot load it ({message})"
            ) from None
        self._tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        config = json.loads((self.model_dir / "config.json").read_text(encoding="utf-8"))
        self._specials = _specials(self._tokenizer, config.get("lang_ids") or [])
        self.n_mels = int(self._model.n_mels)
        self.multilingual = bool(self._model.is_multilingual)
        #: The device and compute type CTranslate2 really runs ("cpu int8_float32").
        self.device = str(self._model.device)
        self.compute_type = str(self._model.compute_type)
        self.runtime = f"{self.device} {self.compute_type}"
        self.identity = model_identity(self.model_dir)
        self.beam_size = beam_size
        self.max_new_tokens = max_new_tokens
        self.max_tokens_per_second = max_tokens_per_second
        self.word_timestamps = word_timestamps
        self.guards = guards
        self.rule = rule if rule is not None else EnergyRule()

    # -- the Transcriber protocol ------------------------------------------------------------

    def transcribe(
        self,
        path: Path,
        *,
        cancel: threading.Event | None = None,
        progress: Callable[[float, float], None] | None = None,
    ) -> Transcript:
        path = Path(path)
        levels: list[np.ndarray] = []
        total = 0.0
        start_at: float | None = None
        for chunk in audio_mod.iter_audio(path):
            if cancel is not None and cancel.is_set():
                raise TranscribeCancelled(path.name)
            if start_at is None:
                start_at = chunk.start
            levels.append(frame_levels(chunk.samples, self.rule.frame_s))
            total = chunk.end
        if start_at is None:
            return Transcript(language="", source=MODEL, origin=self.identity)
        all_levels = np.concatenate(levels) if levels else np.zeros(0)
        spans = [(a + start_at, b + start_at) for a, b in speech_spans(all_levels, self.rule)]
        plan = windows(spans)
        if progress is not None:
            progress(0.0, total)
        language = ""
        lines: list[Line] = []
        for piece in audio_mod.iter_windows(path, plan):
            if cancel is not None and cancel.is_set():
                raise TranscribeCancelled(path.name)
            features = self._features(piece.samples)
            if not language:
                language = self.detect_language(features)
            lines.extend(self._decode(features, piece, language))
            if progress is not None:
                progress(min(piece.end, total), total)
        if progress is not None:
            progress(total, total)
        return Transcript(language=language, source=MODEL, origin=self.identity, lines=tuple(lines))

    # -- pieces ------------------------------------------------------------------------------

    def _features(self, samples: np.ndarray) -> Any:
        import ctranslate2

        mel = log_mel(samples, self.n_mels)[None]
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(mel))

    def detect_language(self, features: Any) -> str:
        """The most likely language code of one window's features ("en" for an English-only
        model)."""
        if not self.multilingual:
            return "en"
        ranked = self._model.detect_language(features)[0]
        token = ranked[0][0]
        return str(token)[2:-2] if token.startswith("<|") else str(token)

    def _prompt(self, language: str) -> list[int]:
        if not self.multilingual:
            return [self._specials.sot]
        ids = {code: ident for ident, code in self._specials.languages.items()}
        prompt = [self._specials.sot]
        if language in ids:
            prompt.append(ids[language])
        prompt.append(self._specials.transcribe)
        return prompt

    def _decode(self, features: Any, piece: audio_mod.AudioChunk, language: str) -> list[Line]:
        duration = len(piece.samples) / audio_mod.SAMPLE_RATE
        limit = self.max_new_tokens
        if self.max_tokens_per_second is not None:
            limit = max(4, min(limit, round(self.max_tokens_per_second * duration) + 2))
        encoded = self._model.encode(features)
        prompt = self._prompt(language)
        ids = self._generate(encoded, prompt, limit)
        if ids is None:
            return []  # no speech, or only a loop at every temperature
        segments = self._segments(ids, duration)
        words: list[list[Word]] = [[] for _ in segments]
        if self.word_timestamps and any(tokens for _, _, tokens in segments):
            words = self._words(encoded, prompt, segments, duration, language)
        lines: list[Line] = []
        for (start, end, tokens), line_words in zip(segments, words, strict=True):
            text = self._tokenizer.decode(tokens).strip()
            if not text:
                continue
            offset = piece.start
            lines.append(
                Line(
                    start=offset + start,
                    end=offset + end,
                    text=text,
                    words=tuple(Word(offset + w.start, offset + w.end, w.text) for w in line_words),
                )
            )
        return lines

    def _generate(self, encoded: Any, prompt: list[int], limit: int) -> list[int] | None:
        """The window's tokens, greedy first and hotter when the text is unlikely or loops
        (:func:`judge`); None for a window without speech, or one that loops at every
        temperature (dropped rather than stored as invented lines). ``guards=False`` keeps the
        greedy result as it is (the parity tests compare it with transformers')."""
        import ctranslate2

        tried: list[tuple[float, list[int]]] = []
        for temperature in (0.0, *FALLBACK_TEMPERATURES):
            options: dict[str, Any] = {"beam_size": self.beam_size}
            if temperature > 0:
                ctranslate2.set_random_seed(len(tried))  # the same audio, the same lines
                options = {"beam_size": 1, "sampling_topk": 0, "sampling_temperature": temperature}
            result = self._model.generate(
                encoded, [prompt], max_length=limit, suppress_blank=True,
                return_scores=True, return_no_speech_prob=True, **options,
            )[0]  # fmt: skip
            ids = [int(i) for i in result.sequences_ids[0]]
            if not self.guards:
                return ids
            text = self._tokenizer.decode([i for i in ids if i < self._specials.eot])
            # ctranslate2's score is the log probability over the length (penalty 1)
            avg = float(result.scores[0]) * len(ids) / (len(ids) + 1) if result.scores else 0.0
            verdict = judge(text, avg, float(result.no_speech_prob))
            if verdict == "silence":
                return None
            if verdict == "keep":
                return ids
            if compression_ratio(text) <= COMPRESSION_CEILING:
                tried.append((avg, ids))
        return max(tried)[1] if tried else None

    def _segments(self, ids: list[int], duration: float) -> list[tuple[float, float, list[int]]]:
        """(start, end, text tokens) of each segment, in seconds from the window's start."""
        begin, eot = self._specials.timestamp_begin, self._specials.eot
        out: list[tuple[float, float, list[int]]] = []
        start: float | None = None
        tokens: list[int] = []
        for ident in ids:
            if ident >= begin:
                at = min((ident - begin) * TIME_STEP, duration)
                if tokens:
                    first = start if start is not None else 0.0
                    out.append((min(first, at), at, tokens))
                    tokens, start = [], None
                else:
                    start = at
            elif ident < eot:
                tokens.append(ident)
        if tokens:
            first = min(start if start is not None else 0.0, duration)
            out.append((first, duration, tokens))
        return out

    def _split_words(self, tokens: list[int], language: str) -> list[tuple[str, list[int]]]:
        """Tokens grouped into words: whole characters first, then joined at spaces (except in
        languages written without them)."""
        decoded_full = self._tokenizer.decode(tokens)
        pieces: list[tuple[str, list[int]]] = []
        current: list[int] = []
        offset = 0
        for token in tokens:
            current.append(token)
            decoded = self._tokenizer.decode(current)
            bad = decoded.find("\ufffd")
            if bad < 0 or (
                offset + bad < len(decoded_full) and decoded_full[offset + bad] == "\ufffd"
            ):
                pieces.append((decoded, current))
                offset += len(decoded)
                current = []
        if current:
            pieces.append((self._tokenizer.decode(current), current))
        if language in _UNSPACED:
            return pieces
        words: list[tuple[str, list[int]]] = []
        for text, group in pieces:
            if not words or text.startswith(" ") or text.strip() in string.punctuation:
                words.append((text, list(group)))
            else:
                words[-1] = (words[-1][0] + text, words[-1][1] + group)
        return words

    def _words(
        self,
        encoded: Any,
        prompt: list[int],
        segments: list[tuple[float, float, list[int]]],
        duration: float,
        language: str,
    ) -> list[list[Word]]:
        text_tokens = [t for _, _, tokens in segments for t in tokens]
        num_frames = min(N_FRAMES, max(1, round(duration * audio_mod.SAMPLE_RATE / 160)))
        alignment = self._model.align(
            encoded, [*prompt, self._specials.no_timestamps], [text_tokens], num_frames
        )[0]
        pairs = np.asarray(alignment.alignments, dtype=np.int64).reshape(-1, 2)
        out: list[list[Word]] = [[] for _ in segments]
        if len(pairs) == 0:
            return out
        text_index, time_index = pairs[:, 0], pairs[:, 1]
        jumps = np.pad(np.diff(text_index), (1, 0), constant_values=1).astype(bool)
        jump_times = time_index[jumps] / TOKENS_PER_SECOND
        position = 0
        for index, (seg_start, seg_end, tokens) in enumerate(segments):
            for text, group in self._split_words(tokens, language):
                first, last = position, position + len(group)
                position = last
                if first >= len(jump_times) or not text.strip():
                    continue
                start = float(jump_times[first])
                end = float(jump_times[min(last, len(jump_times) - 1)])
                start = min(max(start, seg_start), seg_end)
                end = min(max(end, start), seg_end)
                out[index].append(Word(start, end, text.strip()))
        return out
