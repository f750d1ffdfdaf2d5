"""Korean captions for the synthetic benchmark (groundwork for issue 25, "Search in Korean").

The vocabulary below is the test's own, written independently of core/demo/korean.py: every
phrasing must say the English caption's count, size, colour, shape, motion, background and
order in a form Korean speakers use, and never another value's words.
"""

from __future__ import annotations

import itertools
import random
import re

import pytest

from core.demo.korean import (
    ALL_STYLES,
    HELD_OUT_STYLES,
    TRAIN_STYLES,
    draw_korean,
    has_final_consonant,
    korean_caption,
    korean_captions,
    with_particle,
)
from core.demo.synthetic import (
    BACKGROUNDS,
    COLOURS,
    MOTIONS,
    SHAPES,
    SIZES,
    ObjectSpec,
    Scene,
    VideoSpec,
    plan,
)

COLOUR_WORDS = {
    "red": ("빨간", "빨강"),
    "green": ("초록", "녹색"),
    "blue": ("파란", "파랑"),
    "yellow": ("노란", "노랑"),
    "purple": ("보라",),
    "orange": ("주황", "오렌지"),
}
SHAPE_WORDS = {
    "circle": ("원", "동그라미"),
    "square": ("사각형", "네모"),
    "triangle": ("삼각형", "세모"),
    "star": ("별",),
}
SIZE_WORDS = {"small": ("작은", "조그만", "조그마한"), "large": ("큰", "커다란")}
MOTION_WORDS = {
    "moving left": ("왼쪽",),
    "moving right": ("오른쪽",),
    "moving up": ("위로", "위쪽"),
    "moving down": ("아래로", "아래쪽"),
    "growing": ("커지", "커진", "커져", "커짐"),
    "shrinking": ("작아지", "작아진", "작아져", "작아짐", "줄어"),
}
BACKGROUND_WORDS = {
    "black": ("검은", "검정", "까만"),
    "grey": ("회색",),
    "white": ("흰", "하얀"),
}
COUNT_WORDS = {
    2: ("두 개", "두개", "2개", "둘"),
    3: ("세 개", "세개", "3개", "셋"),
}

#: nouns the captions put particles after, by whether they end in a final consonant (받침)
NOUNS_WITH_FINAL = ("원", "별", "사각형", "삼각형", "모양", "배경", "색", "검정", "영상")
NOUNS_WITHOUT_FINAL = ("동그라미", "네모", "세모", "하나", "개", "빨강", "파랑", "노랑", "보라")
#: (after a final consonant, after a vowel)
PARTICLES = (("이", "가"), ("을", "를"), ("은", "는"), ("과", "와"), ("이고", "고"))


def simple_specs() -> list[VideoSpec]:
    """Every simple scene the grammar can make."""
    specs = []
    for i, (colour, shape, size, count, motion, bg) in enumerate(
        itertools.product(COLOURS, SHAPES, SIZES, (1, 2, 3), MOTIONS, BACKGROUNDS)
    ):
        scene = Scene(ObjectSpec(colour, shape, size), count, motion, bg)
        specs.append(VideoSpec(f"s{i}", "test", (scene,)))
    return specs


def temporal_specs() -> list[VideoSpec]:
    """Every ordered pair of distinct (colour, shape) objects, on every background."""
    objects = [ObjectSpec(c, s, "small") for c in COLOURS for s in SHAPES]
    specs = []
    for i, (a, b, bg) in enumerate(itertools.product(objects, objects, BACKGROUNDS)):
        if (a.colour, a.shape) == (b.colour, b.shape):
            continue
        scenes = (Scene(a, 1, "moving right", bg), Scene(b, 1, "moving right", bg))
        specs.append(VideoSpec(f"t{i}", "test", scenes))
    return specs


SIMPLE = simple_specs()
TEMPORAL = temporal_specs()


def first_index(text: str, words: tuple[str, ...]) -> int:
    found = [text.find(w) for w in words if w in text]
    return min(found) if found else -1


def has_any(text: str, words: tuple[str, ...]) -> bool:
    return any(w in text for w in words)


def particle_errors(text: str) -> list[str]:
    """Particles that disagree with the final consonant of the noun before them."""
    errors = []
    for (after_final, after_vowel), ends in itertools.product(PARTICLES, ("final", "vowel")):
        nouns = NOUNS_WITH_FINAL if ends == "final" else NOUNS_WITHOUT_FINAL
        wrong = after_vowel if ends == "final" else after_final
        for noun in nouns:
            # the particle ends the word: a space, a comma, a full stop or the end follows
            if re.search(f"{noun}{wrong}(?![가-힣])", text):
                errors.append(f"{noun}+{wrong}")
    return errors


# --------------------------------------------------------------------------- 받침


@pytest.mark.parametrize(
    ("word", "final"),
    [
        ("원", True),
        ("별", True),
        ("네모", False),
        ("세모", False),
        ("동그라미", False),
        ("삼각형", True),
        ("사각형", True),
        ("정사각형", True),
        ("배경", True),
        ("영상", True),
        ("장면", True),
        ("하나", False),
        ("개", False),
        ("별 모양", True),
        ("검은색", True),
        ("회색", True),
        ("검정", True),
        ("보라", False),
        ("가", False),  # U+AC00, the first syllable
        ("힣", True),  # U+D7A3, the last
        ("닭", True),  # a double final consonant
    ],
)
def test_final_consonant(word: str, final: bool) -> None:
    assert has_final_consonant(word) is final


def test_final_consonant_needs_a_hangul_syllable() -> None:
    for word in ("", "star", "3", "ㄱ", "원!"):
        with pytest.raises(ValueError):
            has_final_consonant(word)


@pytest.mark.parametrize(
    ("word", "pair", "expected"),
    [
        ("원", ("이", "가"), "원이"),
        ("별", ("이", "가"), "별이"),
        ("네모", ("이", "가"), "네모가"),
        ("세모", ("이", "가"), "세모가"),
        ("동그라미", ("이", "가"), "동그라미가"),
        ("원", ("을", "를"), "원을"),
        ("세모", ("을", "를"), "세모를"),
        ("삼각형", ("을", "를"), "삼각형을"),
        ("배경", ("은", "는"), "배경은"),
        ("두 개", ("이", "가"), "두 개가"),
        ("별 모양", ("을", "를"), "별 모양을"),
        ("회색", ("이에요", "예요"), "회색이에요"),
        ("보라", ("이에요", "예요"), "보라예요"),
    ],
)
def test_with_particle(word: str, pair: tuple[str, str], expected: str) -> None:
    assert with_particle(word, *pair) == expected


# --------------------------------------------------------------------------- phrasings


def test_enough_distinct_phrasings() -> None:
    for spec in SIMPLE:
        captions = korean_captions(spec)
        assert len(captions) >= 4
        assert len(set(captions)) == len(captions), captions
    for spec in TEMPORAL:
        captions = korean_captions(spec)
        assert len(captions) >= 3
        assert len(set(captions)) == len(captions), captions


def test_phrasings_are_not_one_template() -> None:
    """Word order varies: the noun comes first in some phrasings, the background in others."""
    scene = Scene(ObjectSpec("red", "circle", "small"), 1, "moving left", "black")
    captions = korean_captions(VideoSpec("v", "test", (scene,)))
    starts = {
        first_index(c, SHAPE_WORDS["circle"]) < first_index(c, BACKGROUND_WORDS["black"])
        for c in captions
    }
    assert starts == {True, False}
    endings = {c.split()[-1] for c in captions}
    assert len(endings) >= 4  # a noun, 영상, 장면, a verb ...


def check_simple(spec: VideoSpec, caption: str) -> None:
    scene = spec.scenes[0]
    o = scene.obj
    assert has_any(caption, COLOUR_WORDS[o.colour]), caption
    assert has_any(caption, SHAPE_WORDS[o.shape]), caption
    assert has_any(caption, SIZE_WORDS[o.size]), caption
    assert has_any(caption, MOTION_WORDS[scene.motion]), caption
    assert has_any(caption, BACKGROUND_WORDS[scene.background]), caption
    assert "배경" in caption, caption
    # no other value's words
    for table, value in (
        (COLOUR_WORDS, o.colour),
        (SIZE_WORDS, o.size),
        (MOTION_WORDS, scene.motion),
        (BACKGROUND_WORDS, scene.background),
    ):
        for other, words in table.items():
            if other != value:
                assert not has_any(caption, words), (caption, other)
    for other, words in SHAPE_WORDS.items():
        # "원" is one syllable: check it as a word start only where it is another shape's
        if other != o.shape and other != "circle":
            assert not has_any(caption, words), (caption, other)
    if o.shape != "circle":
        assert "동그라미" not in caption and not re.search(r"(^|[\s,])원", caption), caption
    # the count
    if scene.count == 1:
        assert not has_any(caption, COUNT_WORDS[2] + COUNT_WORDS[3]), caption
    else:
        assert has_any(caption, COUNT_WORDS[scene.count]), caption
        other = 5 - scene.count
        assert not has_any(caption, COUNT_WORDS[other]), caption
    assert not particle_errors(caption), (caption, particle_errors(caption))


def check_temporal(spec: VideoSpec, caption: str) -> None:
    a, b = (s.obj for s in spec.scenes)
    bg = spec.scenes[0].background
    assert has_any(caption, BACKGROUND_WORDS[bg]) and "배경" in caption, caption
    for obj in (a, b):
        assert has_any(caption, COLOUR_WORDS[obj.colour]), caption
        assert has_any(caption, SHAPE_WORDS[obj.shape]), caption
    # no other colour; no size or motion (the English caption says none)
    for colour, words in COLOUR_WORDS.items():
        if colour not in (a.colour, b.colour):
            assert not has_any(caption, words), (caption, colour)
    for words in (*SIZE_WORDS.values(), *MOTION_WORDS.values(), *COUNT_WORDS.values()):
        assert not has_any(caption, words), caption
    # the order: where the two objects differ, the first one's words come first
    if a.colour != b.colour:
        i, j = (
            first_index(caption, COLOUR_WORDS[a.colour]),
            first_index(caption, COLOUR_WORDS[b.colour]),
        )
        assert 0 <= i < j, caption
    if a.shape != b.shape:
        i, j = (
            first_index(caption, SHAPE_WORDS[a.shape]),
            first_index(caption, SHAPE_WORDS[b.shape]),
        )
        assert 0 <= i < j, caption
    assert not particle_errors(caption), (caption, particle_errors(caption))


def test_every_simple_phrasing_keeps_the_meaning() -> None:
    for spec in SIMPLE:
        for caption in korean_captions(spec):
            check_simple(spec, caption)


def test_every_temporal_phrasing_keeps_the_meaning_and_the_order() -> None:
    for spec in TEMPORAL:
        for caption in korean_captions(spec):
            check_temporal(spec, caption)


def test_drawn_captions_keep_the_meaning() -> None:
    rng = random.Random(5)
    for spec in SIMPLE + TEMPORAL:
        for _ in range(3):
            caption = korean_caption(spec, rng)
            (check_simple if spec.kind == "simple" else check_temporal)(spec, caption)


def test_reversed_twins_read_in_opposite_orders() -> None:
    specs = plan(200, seed=4)
    twins: dict[str, list[VideoSpec]] = {}
    for spec in specs:
        if spec.kind == "temporal":
            twins.setdefault(spec.group, []).append(spec)
    assert twins
    for forward, backward in twins.values():
        assert set(korean_captions(forward)).isdisjoint(korean_captions(backward))


def test_particles_follow_the_noun() -> None:
    """Both particle forms occur, each after the right nouns (so they are not hard-coded)."""
    text = "\n".join(c for spec in SIMPLE + TEMPORAL for c in korean_captions(spec))
    for expected in (
        "원이",
        "별이",
        "네모가",
        "세모가",
        "동그라미가",
        "개가",
        "원을",
        "세모를",
        "배경은",
    ):
        assert re.search(f"{expected}(?![가-힣])", text), expected
    assert not particle_errors(text)


def test_spacing_variants_occur_but_rarely() -> None:
    """People sometimes type "빨간원" or "왼쪽으로움직이는": some phrasings do, most do not."""
    captions = [c for spec in SIMPLE for c in korean_captions(spec)]
    glued = [
        c
        for c in captions
        if re.search(r"(빨간|파란|노란)(원|별|네모|세모)", c)
        or re.search(r"(왼쪽|오른쪽)으로(움직|이동|가)", c)
    ]
    assert 0.02 * len(captions) < len(glued) < 0.4 * len(captions)


def test_synonyms_all_occur() -> None:
    text = "\n".join(c for spec in SIMPLE + TEMPORAL for c in korean_captions(spec))
    for word in (
        "동그라미",
        "네모",
        "정사각형",
        "세모",
        "별 모양",
        "빨간색",
        "빨강",
        "조그만",
        "커다란",
        "이동하는",
        "가는",
        "점점 커지는",
        "줄어드는",
        "장면",
        "영상",
        "두 개의",
        "별이 세 개",
        "한 개",
        "하나",
        "그다음",
        "나오고 나서",
        "먼저",
        "이어서",
        "다음에",
    ):
        assert word in text, word


# --------------------------------------------------------------------------- determinism, split


def test_deterministic() -> None:
    spec = SIMPLE[123]
    assert korean_captions(spec) == korean_captions(spec)
    first = [korean_caption(s, random.Random(9)) for s in SIMPLE[:50] + TEMPORAL[:50]]
    again = [korean_caption(s, random.Random(9)) for s in SIMPLE[:50] + TEMPORAL[:50]]
    assert first == again
    rng = random.Random(9)
    draws = {korean_caption(spec, rng) for _ in range(50)}
    assert len(draws) > 5  # a draw varies the style and the words


def test_styles_split_into_train_and_held_out() -> None:
    assert TRAIN_STYLES and HELD_OUT_STYLES
    assert set(TRAIN_STYLES).isdisjoint(HELD_OUT_STYLES)
    assert set(TRAIN_STYLES) | set(HELD_OUT_STYLES) == set(ALL_STYLES)
    for spec in (SIMPLE[0], TEMPORAL[0]):
        train = korean_captions(spec, TRAIN_STYLES)
        held = korean_captions(spec, HELD_OUT_STYLES)
        assert train and held  # both kinds have styles on both sides
        assert set(train).isdisjoint(held)
        assert sorted(train + held) == sorted(korean_captions(spec))


def test_drawing_only_from_given_styles() -> None:
    rng = random.Random(1)
    for spec in SIMPLE[:300] + TEMPORAL[:300]:
        style, caption = draw_korean(spec, rng, TRAIN_STYLES)
        assert style in TRAIN_STYLES
        assert caption not in korean_captions(spec, HELD_OUT_STYLES)
        (check_simple if spec.kind == "simple" else check_temporal)(spec, caption)
        style, caption = draw_korean(spec, rng, HELD_OUT_STYLES)
        assert style in HELD_OUT_STYLES
        (check_simple if spec.kind == "simple" else check_temporal)(spec, caption)
    simple_only = tuple(s for s in TRAIN_STYLES if draw_korean_ok(SIMPLE[0], s))
    with pytest.raises(ValueError):
        korean_caption(SIMPLE[0], rng, ())
    with pytest.raises(ValueError):  # no temporal style among them
        korean_caption(TEMPORAL[0], rng, simple_only)
    with pytest.raises(ValueError):
        korean_captions(SIMPLE[0], ("no such style",))


def draw_korean_ok(spec: VideoSpec, style: str) -> bool:
    return bool(korean_captions(spec, (style,)))


def test_temporal_says_a_shared_colour_or_shape_with_one_word() -> None:
    """ "빨간 삼각형, 그다음 파란 삼각형", not "… 파란 세모": two words would read as two shapes."""
    shapes = re.compile("동그라미|원|정사각형|사각형|네모|삼각형|세모|별 모양|별")
    colours = re.compile(
        "|".join(
            sorted(
                {f"{c}색" for c in ("빨간", "파란", "노란")}
                | {
                    "빨간",
                    "빨강",
                    "파란",
                    "파랑",
                    "노란",
                    "노랑",
                    "초록색",
                    "초록",
                    "녹색",
                    "보라색",
                    "보라",
                    "주황색",
                    "주황",
                    "오렌지색",
                },
                key=len,
                reverse=True,
            )
        )
    )
    checked = 0
    for spec in TEMPORAL:
        a, b = (s.obj for s in spec.scenes)
        for caption in korean_captions(spec):
            if a.shape == b.shape:
                assert len(set(shapes.findall(caption))) == 1, caption
                checked += 1
            if a.colour == b.colour:
                assert len(set(colours.findall(caption))) == 1, caption
                checked += 1
    assert checked > 100
