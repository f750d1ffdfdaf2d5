"""CLIP byte-level BPE tokenizer, bit-for-bit compatible with open_clip's ``SimpleTokenizer``.

Why this exists: the runtime engine (``core/``) must not depend on torch or open_clip, yet the
ONNX text tower was exported from an open_clip model and only produces the right embeddings if it
is fed *exactly* the token ids open_clip would have produced. A single differing id (a different
clean-up step, a different pre-tokenisation split, a different merge order) silently degrades
search quality rather than failing loudly, so every step below mirrors open_clip's observable
behaviour -- including its quirks -- and ``tests/core/test_tokenizer.py`` checks it against
open_clip on hundreds of strings.

Pipeline for one string:

1. clean: ``ftfy.fix_text`` (repairs mojibake such as ``cafÃ©``), ``html.unescape`` twice (web
   captions are often double-escaped: ``&amp;amp;``), strip, collapse runs of whitespace to a
   single space, lower-case;
2. split into pre-tokens with a regex (special tokens, English contractions, letter runs,
   single digits, runs of anything else); whitespace is dropped;
3. map each pre-token's UTF-8 bytes to printable unicode characters (so BPE never sees control
   or whitespace characters and any byte sequence is representable -- no ``<unk>``);
4. apply the BPE merges (lowest rank first) with a ``</w>`` end-of-word marker on the last
   symbol, and look the resulting pieces up in the vocabulary.

Only the standard library, numpy, ``regex`` and ``ftfy`` are used.
"""

from __future__ import annotations

import functools
import gzip
import html
import importlib.resources
import itertools
import os
import pathlib
import zlib
from collections.abc import Sequence

import ftfy
import numpy as np
import regex

__all__ = [
    "DEFAULT_CONTEXT_LENGTH",
    "ClipTokenizer",
    "TokenizerError",
    "default_vocab_path",
]

DEFAULT_CONTEXT_LENGTH = 77
"""Sequence length every OpenAI/open_clip CLIP text tower was trained with."""

# The vocab file holds ~262k merges, but CLIP's vocabulary is capped at 49408 entries:
# 256 byte symbols + 256 byte symbols with ``</w>`` + merges + 2 special tokens.
_VOCAB_SIZE = 49408
_NUM_SPECIAL = 2
_NUM_MERGES = _VOCAB_SIZE - 2 * 256 - _NUM_SPECIAL  # == 49152 - 256 - 2 == 48894
_SOT_TEXT = "<start_of_text>"  # open_clip's spelling (OpenAI's original was <|startoftext|>)
_EOT_TEXT = "<end_of_text>"
_END_OF_WORD = "</w>"

# Bound for the per-instance pre-token cache. Real queries reuse a small working set of words;
# the bound only guards a long-running app against unbounded growth from pasted junk.
_BPE_CACHE_SIZE = 1 << 16


class TokenizerError(ValueError):
    """Raised for an unusable vocabulary file or invalid tokenizer arguments."""


def default_vocab_path() -> pathlib.Path:
    """Return the path of the BPE vocabulary bundled in the ``resources`` package.

    Located through ``importlib.resources`` (not ``__file__`` arithmetic) so that it keeps working
    when ClipSeek is installed as a wheel or frozen into an app bundle, where ``core`` and
    ``resources`` need not sit next to each other in a source checkout.
    """
    resource = importlib.resources.files("resources").joinpath(
        "tokenizer", "bpe_simple_vocab_16e6.txt.gz"
    )
    if isinstance(resource, pathlib.Path):
        return resource
    # A non-filesystem loader (e.g. zipimport): hand back its string form; if it is not a
    # readable file, ClipTokenizer reports a TokenizerError naming it.
    return pathlib.Path(str(resource))


def _byte_alphabet() -> list[tuple[int, str]]:
    """Return ``(byte, stand-in character)`` pairs in vocabulary-id order.

    Bytes that are already visible, non-space Latin-1 characters stand for themselves; the rest
    (controls, space, DEL, NBSP, soft hyphen, ...) are shifted to code points 256 and up, in
    increasing byte order. The vocabulary file is written in this alphabet, and this order is
    also the order of the first 256 vocabulary ids, so it must match CLIP's construction: the
    visible bytes first in ascending order, then the shifted ones.
    """
    visible = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    shifted = sorted(set(range(256)) - set(visible))
    return [(b, chr(b)) for b in visible] + [(b, chr(256 + i)) for i, b in enumerate(shifted)]


def _clean(text: str) -> str:
    """Normalise raw user text the way CLIP's training captions were normalised.

    ``ftfy`` undoes encoding accidents (``cafÃ©`` -> ``café``) and NFC-composes accents; HTML is
    unescaped twice because scraped captions were frequently double-escaped. ``str.split()`` (no
    argument) both trims and collapses every Python-whitespace run, including tabs, newlines and
    NBSP, to one space. Lower-casing comes last, as in open_clip.

    Note that ``ftfy.fix_text`` already unescapes HTML entities (repeatedly) unless the text
    contains a ``<``; in that case only the two explicit ``html.unescape`` rounds apply, so
    both are needed to reproduce open_clip on text such as ``<b>&amp;amp;</b>``.
    """
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).lower()


class ClipTokenizer:
    """Turns text into the int ids an open_clip-exported CLIP text tower expects.

    Instances are cheap to use but not to build (~0.1 s to parse the vocabulary), so create one
    and reuse it. An instance is safe to share between threads: its only mutable state is a
    ``functools.lru_cache``, which is thread-safe.
    """

    sot_id: int
    eot_id: int
    context_length: int
    vocab_size: int

    def __init__(
        self,
        vocab_path: str | os.PathLike[str] | None = None,
        context_length: int = DEFAULT_CONTEXT_LENGTH,
    ) -> None:
        """Load the BPE merges from ``vocab_path`` (default: the bundled vocabulary).

        Raises ``TokenizerError`` naming the file if it is missing, unreadable, not gzip, or does
        not contain the expected number of merges -- a truncated vocabulary would otherwise
        produce plausible-looking but wrong ids.
        """
        if isinstance(context_length, bool) or not isinstance(context_length, int):
            raise TokenizerError(f"context_length must be an int, got {context_length!r}")
        if context_length < 2:
            # Room for at least SOT and EOT; open_clip's behaviour below 2 is degenerate.
            raise TokenizerError(f"context_length must be >= 2, got {context_length}")

        path = pathlib.Path(vocab_path) if vocab_path is not None else default_vocab_path()
        merges = _read_merges(path)

        # Vocabulary order defines the ids: bytes, bytes + </w>, merged pairs, special tokens.
        alphabet = _byte_alphabet()
        symbols = [ch for _, ch in alphabet]
        vocab = symbols + [s + _END_OF_WORD for s in symbols]
        vocab += [left + right for left, right in merges]
        vocab += [_SOT_TEXT, _EOT_TEXT]

        self._encoder: dict[str, int] = {piece: i for i, piece in enumerate(vocab)}
        if len(self._encoder) != _VOCAB_SIZE:
            raise TokenizerError(
                f"BPE vocabulary file {str(path)!r} is corrupt: it yields "
                f"{len(self._encoder)} distinct tokens instead of {_VOCAB_SIZE}"
            )
        self._decoder: list[str] = vocab
        self._ranks: dict[tuple[str, str], int] = {pair: r for r, pair in enumerate(merges)}

        # str.translate on the latin-1 decoding of the UTF-8 bytes is the fastest pure-Python way
        # to map every byte to its stand-in character (latin-1 code point == byte value).
        self._byte_translation: dict[int, str] = dict(alphabet)
        self._byte_decoder: dict[str, int] = {ch: b for b, ch in alphabet}

        self.sot_id = self._encoder[_SOT_TEXT]
        self.eot_id = self._encoder[_EOT_TEXT]
        self.context_length = context_length
        self.vocab_size = len(self._encoder)

        # Typed text is matched against the special tokens as well. open_clip does this too, so
        # a query containing the literal "<end_of_text>" really yields the EOT id; we keep that
        # for compatibility. The pattern is compiled case-insensitively like open_clip's, which
        # matters even after lower-casing: case folding lets "'ſ" (long s) match the "'s"
        # contraction branch and "<ſtart_of_text>" match the special-token branch.
        self._specials: dict[str, int] = {_SOT_TEXT: self.sot_id, _EOT_TEXT: self.eot_id}
        special_alternatives = "|".join(regex.escape(s) for s in self._specials)
        self._pattern: regex.Pattern[str] = regex.compile(
            special_alternatives
            + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE,
        )

        # Per-instance cache keyed by the raw pre-token (before byte mapping), so a hit skips
        # byte mapping, BPE and vocabulary lookups alike. Words recur constantly in queries.
        self._pretoken_ids = functools.lru_cache(maxsize=_BPE_CACHE_SIZE)(self._pretoken_to_ids)

    # ------------------------------------------------------------------ encoding

    def _bpe(self, word: str) -> list[str]:
        """Apply the BPE merges to one byte-mapped pre-token and return its vocabulary pieces.

        Each round merges every occurrence (scanning left to right, non-overlapping) of the single
        best-ranked adjacent pair, until no adjacent pair is a known merge. This round structure,
        not just the set of merges, determines the result, so it follows CLIP's algorithm.
        """
        symbols = [*word[:-1], word[-1] + _END_OF_WORD]
        ranks = self._ranks
        while len(symbols) > 1:
            best_rank: int | None = None
            best_pair: tuple[str, str] | None = None
            for pair in itertools.pairwise(symbols):
                rank = ranks.get(pair)
                if rank is not None and (best_rank is None or rank < best_rank):
                    best_rank, best_pair = rank, pair
            if best_pair is None:
                break
            first, second = best_pair
            merged = first + second
            out: list[str] = []
            i = 0
            n = len(symbols)
            while i < n:
                if i + 1 < n and symbols[i] == first and symbols[i + 1] == second:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            symbols = out
        return symbols

    def _pretoken_to_ids(self, pretoken: str) -> tuple[int, ...]:
        """Ids for one regex pre-token (uncached; wrapped by an LRU cache in ``__init__``)."""
        special = self._specials.get(pretoken)
        if special is not None:
            return (special,)
        mapped = pretoken.encode("utf-8").decode("latin-1").translate(self._byte_translation)
        encoder = self._encoder
        return tuple(encoder[piece] for piece in self._bpe(mapped))

    def encode(self, text: str) -> list[int]:
        """Return the BPE ids of ``text`` without SOT/EOT and without truncation."""
        ids: list[int] = []
        lookup = self._pretoken_ids
        for pretoken in self._pattern.findall(_clean(text)):
            ids.extend(lookup(pretoken))
        return ids

    def tokenize(self, text: str) -> list[int]:
        """Return ``[SOT] + encode(text) + [EOT]``, cut to ``context_length`` with EOT kept last.

        The text tower pools the hidden state at the EOT position, so on truncation the final
        slot is overwritten with EOT instead of simply chopping (that is what open_clip does).
        """
        return self.wrap(self.encode(text))

    def wrap(self, body: Sequence[int]) -> list[int]:
        """``[SOT] + body + [EOT]`` cut to ``context_length`` with EOT kept last.

        Separate from :meth:`tokenize` so a caller that already has ``encode``'s ids (to check
        their length, say) does not clean and BPE-encode the text a second time.
        """
        ids = [self.sot_id, *body, self.eot_id]
        if len(ids) > self.context_length:
            ids = ids[: self.context_length]
            ids[-1] = self.eot_id
        return ids

    def tokenize_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """``tokenize`` each text. A bare ``str`` is rejected: it would be split into characters."""
        if isinstance(texts, str):
            raise TokenizerError("tokenize_batch expects a sequence of strings, not a str")
        return [self.tokenize(text) for text in texts]

    def decode(self, ids: Sequence[int]) -> str:
        """Turn ids back into text (lossy: cleaning is not undone). For debugging and tests.

        Mirrors open_clip: pieces are concatenated, mapped back to bytes, decoded as UTF-8 with
        replacement characters for partial sequences, and each ``</w>`` becomes a space. Special
        tokens come out literally (``<start_of_text>``).
        """
        try:
            text = "".join(self._decoder[int(i)] for i in ids)
        except IndexError as exc:
            raise TokenizerError(f"token id out of range 0..{self.vocab_size - 1}") from exc
        raw = bytes(self._byte_decoder[ch] for ch in text)
        return raw.decode("utf-8", errors="replace").replace(_END_OF_WORD, " ")

    # ------------------------------------------------------------------ batching

    @staticmethod
    def pad(
        token_lists: Sequence[Sequence[int]], length: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stack token lists into zero-padded ``int64 [B, L]`` ids plus ``int64 [B]`` EOT indices.

        ``L`` is the longest list (or ``length`` if given), not the 77-token context: the text
        tower uses a causal mask, so positions after EOT cannot influence the EOT hidden state
        and running at the true length gives identical embeddings for a fraction of the compute.

        The EOT index is the position of the first occurrence of the largest id in each row --
        the same ``argmax`` CLIP's text tower uses to pick the pooled position. For every output
        of ``tokenize`` that is the final token, as EOT (49407) is the largest id.
        """
        if isinstance(token_lists, np.ndarray) and token_lists.ndim == 2:
            rows: list[Sequence[int]] = list(token_lists)
        else:
            rows = list(token_lists)
        longest = max((len(row) for row in rows), default=0)
        if any(len(row) == 0 for row in rows):
            raise TokenizerError("cannot pad an empty token list: it has no EOT token to pool")
        if length is None:
            width = longest
        else:
            if isinstance(length, bool) or not isinstance(length, int | np.integer):
                raise TokenizerError(f"length must be an int, got {length!r}")
            if length < longest:
                raise TokenizerError(
                    f"length={length} is shorter than the longest token list ({longest}); "
                    "truncate with tokenize() so that EOT stays the last token"
                )
            width = int(length)

        ids = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
        eot_index = (
            ids.argmax(axis=1).astype(np.int64, copy=False)
            if width > 0
            else np.zeros(len(rows), dtype=np.int64)
        )
        return ids, eot_index

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, "
            f"context_length={self.context_length})"
        )


def _read_merges(path: pathlib.Path) -> list[tuple[str, str]]:
    """Read the first ``_NUM_MERGES`` merge rules from a gzip'd CLIP vocabulary file.

    Line 0 is a version header; each following line is ``"left right"``. Everything that can go
    wrong is converted into a ``TokenizerError`` naming the file, because a wrong or damaged
    vocabulary is a packaging/installation problem the user has to be told about plainly.
    """
    where = str(path)
    if not path.is_file():
        raise TokenizerError(f"BPE vocabulary file not found: {where!r}")
    try:
        with gzip.open(path, "rb") as fh:
            content = fh.read().decode("utf-8")
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise TokenizerError(
            f"cannot read BPE vocabulary file {where!r} (expected a gzip'd text file): {exc}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise TokenizerError(f"BPE vocabulary file {where!r} is not valid UTF-8: {exc}") from exc

    lines = content.split("\n")[1 : _NUM_MERGES + 1]
    if len(lines) < _NUM_MERGES:
        raise TokenizerError(
            f"BPE vocabulary file {where!r} is truncated: it has {len(lines)} merge rules, "
            f"{_NUM_MERGES} are required"
        )
    merges: list[tuple[str, str]] = []
    for lineno, line in enumerate(lines, start=2):
        parts = line.split()
        if len(parts) != 2:
            raise TokenizerError(
                f"BPE vocabulary file {where!r} is corrupt: line {lineno} is {line!r}, "
                "expected two space-separated symbols"
            )
        merges.append((parts[0], parts[1]))
    return merges
