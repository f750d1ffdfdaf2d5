"""Tests for ``core.model.tokenizer``: exact id parity with open_clip's ``SimpleTokenizer``.

The reference is open_clip itself (installed with the ``export`` extra), imported only inside the
tests that need it, so the runtime module under test stays torch-free. A few golden id lists are
hard-coded as well, so that the most basic behaviour is still pinned where open_clip is absent.
"""

from __future__ import annotations

import gzip
import pathlib
import random
import subprocess
import sys

import numpy as np
import pytest

from core.model.tokenizer import (
    DEFAULT_CONTEXT_LENGTH,
    ClipTokenizer,
    TokenizerError,
    default_vocab_path,
)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SOT, EOT = 49406, 49407

# --------------------------------------------------------------------------- corpus

HAND_PICKED: list[str] = [
    # empty and whitespace-only
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "\r\n",
    "\u00a0",
    " \t\n\u00a0\u2003\u3000 ",
    "\u200b",
    "\x1c\x1d\x1e\x1f",
    # plain English
    "a photo of a cat",
    "A man in a red jacket is riding a bicycle down the street.",
    "Two dogs playing fetch on the beach at sunset",
    "my daughter's first birthday party, blowing out the candles",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "someone cooking pasta in a small kitchen",
    "Fireworks over the river on New Year's Eve!",
    # contractions, including case and the long-s case-fold quirk
    "it's",
    "IT'S",
    "don't",
    "DON'T",
    "we're here",
    "they've gone",
    "I'm fine",
    "you'll see",
    "he'd go",
    "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D",
    "it'ſ",
    "rock 'n' roll",
    "o'clock",
    "the dogs' bowls",
    "it’s (curly apostrophe)",
    "''s'''t",
    # punctuation runs
    "!!!",
    "?!?!",
    "...",
    "wait... what?!",
    "----====____",
    "(a), [b]; {c}: <d>",
    "@user #hashtag $100 %50 ^caret &and *star",
    "e-mail: someone@example.com / https://example.org/path?q=1&x=2",
    "C:\\Users\\me\\Videos\\clip.mp4",
    "~`|\\/\"'",
    "“smart quotes” and ‘single’ — em-dash – en-dash …",
    # numbers
    "0",
    "123456789",
    "3.14159",
    "1,000,000",
    "2023-07-14 18:30:00",
    "phone 555-0199",
    "½ ¾ ² ³ ① Ⅻ",
    "١٢٣ ٤٥٦",
    "१२३",
    "五百",
    # unicode text
    "café crème brûlée",
    "naïve résumé façade",
    "Ångström Øresund Æsir",
    "straße Ω µ",
    "İstanbul",
    "ǅ ǈ ǋ",
    "e\u0301 a\u0300 o\u0308",
    "a\u0323\u0302",
    "\u0301\u0301\u0301",
    "東京タワーの夜景",
    "我爱北京天安门",
    "한국어 텍스트",
    "مرحبا بالعالم",
    "שלום עולם",
    "Привет, мир! Ёжик",
    "Γειά σου Κόσμε",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "ﬁ ﬂ ﬀ",
    "𝐁𝐨𝐥𝐝 𝑖𝑡𝑎𝑙𝑖𝑐",
    "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ",
    "\ufeffBOM at start",
    "\U0010ffff\ue000",
    # emoji
    "😀",
    "I love pizza 🍕🍕🍕",
    "family 👨‍👩‍👧‍👦 photo",
    "👩🏽‍💻 coding",
    "🏳️‍🌈 flag",
    "🇫🇷🇩🇪🇯🇵",
    "🇺🇸 fourth of july 🎆",
    "❤️ ❤ ♥",
    "👍🏻👍🏿",
    "1️⃣ keycap",
    # HTML entities
    "fish &amp; chips",
    "&lt;b&gt;bold&lt;/b&gt;",
    "it&#39;s",
    "double &amp;amp; escaped",
    "triple &amp;amp;amp; escaped",
    "&amp;lt;i&amp;gt;",
    "&quot;quoted&quot;",
    "&nbsp;space&nbsp;",
    "&eacute;t&eacute;",
    "&#x1F600; &#128512;",
    "&notanentity; & alone",
    "AT&T",
    # ftfy unescapes HTML itself (all levels) unless the text contains "<"; then only
    # open_clip's two html.unescape rounds apply
    "<i>fish &amp;amp; chips</i>",
    "<b>&amp;amp;amp; triple inside a tag</b>",
    "a < b &amp;amp; c",
    "&amp;amp;amp;amp; four times",
    # special-token text typed by a user (open_clip maps it to the special ids)
    "<start_of_text>",
    "<end_of_text>",
    "hello <end_of_text> world",
    "<START_OF_TEXT>",
    "&lt;end_of_text&gt;",
    "<ſtart_of_text>",
    "<|startoftext|>",
    # mojibake that ftfy repairs
    "cafÃ©",
    "Ã©tÃ©",
    "donâ€™t",
    "â€œquotedâ€\x9d",
    "naÃ¯ve",
    "ÐŸÑ€Ð¸Ð²ÐµÑ‚",
    "schÃ¶n",
    "The Mona Lisa doesnÃƒÂ¢Ã¢â€šÂ¬Ã¢â€žÂ¢t have eyebrows.",
    # whitespace oddities
    "tabs\tbetween\twords",
    "new\nlines\n\nhere",
    "non\u00a0breaking\u00a0space",
    "  leading and trailing  ",
    "many     spaces",
    "mixed \t\n\r\u00a0\u2009 whitespace",
    "line\u2028separator\u2029para",
    "zero\u200bwidth\u200cjoin\u200dchars",
    "soft\u00adhyphen",
    "vertical\x0btab\x0cformfeed",
    "null\x00byte",
    "bell\x07 and esc\x1b[0m",
]

_WORD_TEXT = (
    "a the of and to in is on with for at by from up about into over after dog cat beach "
    "sunset birthday party kids playing football wedding dance snow mountain hiking car "
    "road trip guitar concert cake candles grandma garden rain umbrella boat lake fishing "
    "photograph video camera zoom slow motion timelapse drone aerial city night lights "
    "Christmas tree presents Halloween costume school graduation puppy kitten baby laughing"
)
_WORDS = _WORD_TEXT.split()
_CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "n't", "'", "’s"]
_PUNCT = [
    ".",
    ",",
    "!",
    "?",
    "...",
    "!!",
    "?!",
    "-",
    "--",
    "(",
    ")",
    '"',
    ":",
    ";",
    "/",
    "#",
    "@",
    "&",
    "*",
    "~",
    "|",
    "_",
    "+",
    "=",
    "[",
    "]",
    "{",
    "}",
    "<",
    ">",
    "…",
    "—",
]
_NUMBERS = [
    "0",
    "7",
    "42",
    "1999",
    "2024",
    "3.5",
    "10,000",
    "007",
    "1st",
    "2nd",
    "4K",
    "60fps",
    "½",
    "²",
    "٣",
    "१०",
    "Ⅻ",
]
_UNICODE = [
    "café",
    "naïve",
    "Zürich",
    "São Paulo",
    "Kraków",
    "İzmir",
    "Ölüdeniz",
    "東京",
    "北京",
    "서울",
    "مرحبا",
    "Москва",
    "Ελλάδα",
    "e\u0301",
    "n\u0303",
    "ﬁ",
    "ß",
    "ǆ",
    "ſ",
    "K",
    "Å",
    "𝓢𝓬𝓻𝓲𝓹𝓽",
    "ｆｕｌｌ",
]
_EMOJI = [
    "😀",
    "🎉",
    "🐶",
    "🍰",
    "👨‍👩‍👧",
    "👩🏽‍🚀",
    "🏳️‍🌈",
    "🇯🇵",
    "🇧🇷",
    "❤️",
    "✨",
    "👍🏼",
    "🤷‍♂️",
    "#️⃣",
]
_HTML = [
    "&amp;",
    "&amp;amp;",
    "&lt;b&gt;",
    "&lt;/b&gt;",
    "&#39;",
    "&quot;",
    "&nbsp;",
    "&eacute;",
    "&#233;",
    "&#x263A;",
    "&copy;",
    "&bogus;",
    "&",
]
_MOJIBAKE = ["cafÃ©", "Ã¼ber", "donâ€™t", "â€œhiâ€\x9d", "FranÃ§ois", "seÃ±or", "â€”"]
_SPACES = [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u2003", "\r\n", "\u3000", ""]

_POOLS: list[list[str]] = [
    _WORDS,
    _WORDS,
    _WORDS,
    _CONTRACTIONS,
    _PUNCT,
    _NUMBERS,
    _UNICODE,
    _EMOJI,
    _HTML,
    _MOJIBAKE,
]


def _random_strings(count: int, seed: int) -> list[str]:
    """Deterministic mixtures of all fragment kinds, joined by assorted whitespace."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(count):
        n = rng.randint(1, 14)
        parts: list[str] = []
        for _ in range(n):
            fragment = rng.choice(rng.choice(_POOLS))
            if rng.random() < 0.2:
                fragment = fragment.upper()
            elif rng.random() < 0.1:
                fragment = fragment.title()
            parts.append(fragment)
            parts.append(rng.choice(_SPACES))
        out.append("".join(parts[:-1]))
    return out


def _long_strings() -> list[str]:
    """Strings well past 77 tokens and 1000 characters, so truncation is exercised."""
    rng = random.Random(7)
    sentence = "A man in a red jacket is riding a bicycle down the street. "
    return [
        sentence * 20,
        " ".join(rng.choice(_WORDS) for _ in range(400)),
        "!?" * 600,
        "東京タワー" * 300,
        "😀👨‍👩‍👧🇫🇷" * 150,
        "&amp;amp; cafÃ© " * 120,
        "1234567890" * 120,
        "x" * 2000,
        "supercalifragilisticexpialidocious " * 60,
        " ".join(rng.choice(_UNICODE) for _ in range(300)),
        "word " * 75,  # exactly at the edge: 75 words + SOT + EOT == 77
        "word " * 76,  # one over the edge
    ]


RANDOM_STRINGS = _random_strings(450, seed=20240601)
LONG_STRINGS = _long_strings()
CORPUS: list[str] = HAND_PICKED + RANDOM_STRINGS + LONG_STRINGS


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tok() -> ClipTokenizer:
    return ClipTokenizer()


@pytest.fixture(scope="module")
def ref():
    """open_clip's tokenizer, the ground truth (needs the ``export`` extra)."""
    oc_tokenizer = pytest.importorskip("open_clip.tokenizer")
    return oc_tokenizer.SimpleTokenizer()


def _ref_ids(ref, text: str, context_length: int = DEFAULT_CONTEXT_LENGTH) -> list[int]:
    """open_clip's padded ``__call__`` output for one text, with the zero padding removed.

    The real sequence always ends in EOT (non-zero), so cutting after the last non-zero entry
    removes padding only, even though id 0 ("!") can legitimately occur inside a sequence.
    """
    row = ref([text], context_length=context_length)[0].tolist()
    last = max(i for i, v in enumerate(row) if v != 0)
    return row[: last + 1]


# --------------------------------------------------------------------------- parity with open_clip


def test_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 500
    assert len(set(CORPUS)) >= 500
    assert any(len(s) > 1000 for s in CORPUS)
    assert "" in CORPUS


@pytest.mark.parametrize("text", CORPUS, ids=[f"s{i:03d}" for i in range(len(CORPUS))])
def test_matches_open_clip(tok: ClipTokenizer, ref, text: str) -> None:
    expected_encode = ref.encode(text)
    assert tok.encode(text) == expected_encode, repr(text)
    # Truncated path: open_clip's batched __call__ at the default context length.
    assert tok.tokenize(text) == _ref_ids(ref, text), repr(text)
    # Debug decoding matches as well.
    assert tok.decode(tok.tokenize(text)) == ref.decode(tok.tokenize(text))


def test_untruncated_matches_open_clip(ref) -> None:
    wide = ClipTokenizer(context_length=100_000)
    for text in CORPUS:
        assert wide.tokenize(text) == [SOT, *ref.encode(text), EOT], repr(text)


@pytest.mark.parametrize("context_length", [2, 3, 16, 32, 78])
def test_other_context_lengths_match_open_clip(ref, context_length: int) -> None:
    short = ClipTokenizer(context_length=context_length)
    for text in HAND_PICKED + LONG_STRINGS:
        assert short.tokenize(text) == _ref_ids(ref, text, context_length), repr(text)


def test_batch_matches_open_clip(tok: ClipTokenizer, ref) -> None:
    texts = CORPUS[:64] + LONG_STRINGS
    ours = tok.tokenize_batch(texts)
    assert ours == [tok.tokenize(t) for t in texts]
    ids, eot_index = ClipTokenizer.pad(ours, length=DEFAULT_CONTEXT_LENGTH)
    expected = ref(texts).numpy()
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_array_equal(eot_index, expected.argmax(axis=1))


def test_vocabulary_matches_open_clip(tok: ClipTokenizer, ref) -> None:
    assert tok.vocab_size == ref.vocab_size == 49408
    assert (tok.sot_id, tok.eot_id) == (ref.sot_token_id, ref.eot_token_id)
    # Every id decodes to the same piece.
    assert [tok.decode([i]) for i in range(tok.vocab_size)] == [
        ref.decode([i]) for i in range(ref.vocab_size)
    ]


# --------------------------------------------------------------------------- pinned behaviour


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a photo of a cat", [SOT, 320, 1125, 539, 320, 2368, EOT]),
        ("A  Photo\tOF a CAT ", [SOT, 320, 1125, 539, 320, 2368, EOT]),
        ("!!!", [SOT, 995, EOT]),
        ("", [SOT, EOT]),
        (" \t\n\u00a0", [SOT, EOT]),
        ("<start_of_text> hi <END_OF_TEXT>", [SOT, SOT, 1883, EOT, EOT]),
        ("it'ſ", [SOT, 585, 6, 129, 379, EOT]),
        ("İstanbul", [SOT, 328, 16384, 11231, EOT]),
        ("cafÃ© &amp;amp; 😀👨‍👩‍👧🇫🇷", [SOT, 15304, 261, 12832, 25023, 26304, 48938, 16223, EOT]),
    ],
)
def test_golden_ids(tok: ClipTokenizer, text: str, expected: list[int]) -> None:
    assert tok.tokenize(text) == expected


def test_constants(tok: ClipTokenizer) -> None:
    assert (tok.sot_id, tok.eot_id) == (SOT, EOT)
    assert tok.vocab_size == 49408
    assert tok.context_length == DEFAULT_CONTEXT_LENGTH == 77


@pytest.mark.parametrize("text", LONG_STRINGS[:-2])
def test_truncation_keeps_eot_last(tok: ClipTokenizer, text: str) -> None:
    assert len(tok.encode(text)) > DEFAULT_CONTEXT_LENGTH
    ids = tok.tokenize(text)
    assert len(ids) == DEFAULT_CONTEXT_LENGTH
    assert ids[0] == SOT
    assert ids[-1] == EOT
    assert ids[1:-1] == tok.encode(text)[: DEFAULT_CONTEXT_LENGTH - 2]


def test_truncation_boundary(tok: ClipTokenizer) -> None:
    exact = tok.tokenize("word " * 75)
    assert len(exact) == 77 and exact[-1] == EOT and exact[-2] != EOT
    over = tok.tokenize("word " * 76)
    assert len(over) == 77 and over[-1] == EOT
    assert over[:-1] == exact[:-1]


def test_decode_round_trip(tok: ClipTokenizer) -> None:
    assert tok.decode(tok.encode("Café &amp; 東京 😀")) == "café & 東京 😀 "
    assert tok.decode(tok.tokenize("hi")) == "<start_of_text>hi <end_of_text>"
    with pytest.raises(TokenizerError):
        tok.decode([tok.vocab_size])


def test_cache_does_not_change_results() -> None:
    texts = RANDOM_STRINGS[:100]
    first = ClipTokenizer()
    cold = [first.tokenize(t) for t in texts]
    warm = [first.tokenize(t) for t in texts]
    assert cold == warm
    assert first._pretoken_ids.cache_info().hits > 0
    assert [ClipTokenizer().tokenize(t) for t in reversed(texts)] == cold[::-1]


def test_tokenize_batch_rejects_bare_string(tok: ClipTokenizer) -> None:
    with pytest.raises(TokenizerError):
        tok.tokenize_batch("a photo")
    assert tok.tokenize_batch([]) == []


@pytest.mark.parametrize("bad", [0, 1, -5, 2.5, True])
def test_bad_context_length(bad) -> None:
    with pytest.raises(TokenizerError):
        ClipTokenizer(context_length=bad)


# --------------------------------------------------------------------------- pad()


def test_pad_to_longest(tok: ClipTokenizer) -> None:
    lists = tok.tokenize_batch(["a photo of a cat", "", "dog", "!!! !!!"])
    ids, eot_index = ClipTokenizer.pad(lists)
    assert ids.dtype == np.int64 and eot_index.dtype == np.int64
    assert ids.shape == (4, 7)
    assert eot_index.shape == (4,)
    assert eot_index.tolist() == [6, 1, 2, 3]
    for row, lst, eot in zip(ids, lists, eot_index, strict=True):
        assert row[: len(lst)].tolist() == lst
        assert not row[len(lst) :].any()
        assert row[eot] == EOT


def test_pad_to_fixed_length(tok: ClipTokenizer) -> None:
    lists = tok.tokenize_batch(["a photo of a cat", "dog"])
    ids, eot_index = ClipTokenizer.pad(lists, length=77)
    assert ids.shape == (2, 77)
    assert eot_index.tolist() == [6, 2]
    assert ids[1].tolist() == [SOT, tok.encode("dog")[0], EOT] + [0] * 74


def test_pad_eot_index_is_first_max_like_clip_pooling() -> None:
    # A literal "<end_of_text>" in a query yields an early EOT; CLIP pools at argmax, the first.
    ids, eot_index = ClipTokenizer.pad([[SOT, 5, EOT, 7, EOT]])
    assert eot_index.tolist() == [2]
    assert ids.tolist() == [[SOT, 5, EOT, 7, EOT]]


def test_pad_errors() -> None:
    with pytest.raises(TokenizerError):
        ClipTokenizer.pad([[SOT, 1, 2, EOT]], length=3)
    with pytest.raises(TokenizerError):
        ClipTokenizer.pad([[SOT, EOT], []])
    ids, eot_index = ClipTokenizer.pad([])
    assert ids.shape == (0, 0) and eot_index.shape == (0,)


# --------------------------------------------------------------------------- vocabulary file


def test_default_vocab_path() -> None:
    path = default_vocab_path()
    assert isinstance(path, pathlib.Path)
    assert path.is_file()
    assert path == REPO_ROOT / "resources" / "tokenizer" / "bpe_simple_vocab_16e6.txt.gz"


def test_missing_vocab_file(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nope" / "vocab.txt.gz"
    with pytest.raises(TokenizerError, match="not found") as info:
        ClipTokenizer(missing)
    assert str(missing) in str(info.value)


def test_non_gzip_vocab_file(tmp_path: pathlib.Path) -> None:
    corrupt = tmp_path / "corrupt.txt.gz"
    corrupt.write_bytes(b"this is definitely not gzip data\n" * 10)
    with pytest.raises(TokenizerError) as info:
        ClipTokenizer(corrupt)
    assert str(corrupt) in str(info.value)


def test_truncated_gzip_stream(tmp_path: pathlib.Path) -> None:
    data = default_vocab_path().read_bytes()
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(TokenizerError) as info:
        ClipTokenizer(str(cut))
    assert str(cut) in str(info.value)


def test_too_few_merges(tmp_path: pathlib.Path) -> None:
    small = tmp_path / "small.txt.gz"
    small.write_bytes(gzip.compress(b"#version: 0.2\ni n\nt h\n"))
    with pytest.raises(TokenizerError, match="truncated") as info:
        ClipTokenizer(small)
    assert str(small) in str(info.value)


def test_malformed_merge_line(tmp_path: pathlib.Path) -> None:
    lines = gzip.decompress(default_vocab_path().read_bytes()).decode("utf-8").split("\n")
    lines[10] = "onlyonesymbol"
    bad = tmp_path / "bad.txt.gz"
    bad.write_bytes(gzip.compress("\n".join(lines).encode("utf-8")))
    with pytest.raises(TokenizerError, match="line 11") as info:
        ClipTokenizer(bad)
    assert str(bad) in str(info.value)


def test_bundled_vocab_matches_open_clip(ref) -> None:
    import open_clip.tokenizer as oc_tokenizer

    ours = gzip.decompress(default_vocab_path().read_bytes())
    theirs = gzip.decompress(pathlib.Path(oc_tokenizer.default_bpe()).read_bytes())
    assert ours == theirs


# --------------------------------------------------------------------------- dependency hygiene


def test_module_does_not_import_torch_or_open_clip() -> None:
    code = (
        "import sys, core.model.tokenizer as t; t.ClipTokenizer().tokenize('a cat'); "
        "bad = sorted(m for m in ('torch', 'open_clip') if m in sys.modules); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
