"""Korean captions for the synthetic benchmark, phrased the ways Korean speakers phrase them.

Groundwork for issue 25 ("Search in Korean"): a multilingual student text tower will be distilled
against the English tower on these captions, and its Korean R@1 measured on phrasings it never
saw. So each video gets not one translation but several phrasings that differ the way people's
sentences differ:

* **word order** — the background first ("검은 배경에서 … 원"), the object first ("원이 검은
  배경 위를 …"), the background as an afterthought ("…, 배경은 검은색");
* **sentence form** — a bare noun phrase, "…는 영상", "…는 장면", a sentence in -다 or -요,
  search-box keywords ("작은 빨간 원 2개 왼쪽 이동 검은 배경");
* **words** — colour forms (빨간 / 빨간색 / 빨강; 초록색 / 녹색), shapes (원 / 동그라미,
  사각형 / 네모 / 정사각형, 삼각형 / 세모, 별 / 별 모양), sizes (작은 / 조그만 / 조그마한,
  큰 / 커다란), motion verbs (움직이는 / 이동하는 / 가는, 올라가는, 점점 커지는, 작아지는 /
  줄어드는), counters (원 하나, 원 한 개, 두 개의 별, 별 두 개, 별이 세 개, 별 3개);
* **particles** that agree with the noun's final consonant (받침): 원이 / 네모가, 원을 / 세모를
  (:func:`with_particle`, from the syllable's code point);
* **spacing** people actually type, now and then: "빨간원", "왼쪽으로움직이는", "검은배경".

Each phrasing says exactly what the English caption says — count, size, colour, shape, motion,
background, and for temporal videos the order ("X, then Y") — and nothing more (a temporal
caption names no size or motion, as the English one names none).

**Styles and the held-out split.** A *style* is a sentence template (word order and sentence
form); the words inside it are drawn separately. :data:`TRAIN_STYLES` are the templates a
student may train on; :data:`HELD_OUT_STYLES` are templates it must never see, kept for measuring
Korean R@1 on unseen phrasings (train on ``korean_caption(spec, rng, TRAIN_STYLES)``, evaluate on
``korean_captions(spec, HELD_OUT_STYLES)``). The held-out templates use the same vocabulary, so
what they test is new sentence structure, not new words:

======================  ========  =======================================================
style                   split     example
======================  ========  =======================================================
``bg_first``            train     검은 배경에서 왼쪽으로 움직이는 작은 빨간 원 두 개
``subject_verb``        train     작은 빨간 원이 검은 배경 위를 왼쪽으로 움직인다
``video``               train     검은 배경에서 빨간색 작은 동그라미가 왼쪽으로 가는 영상
``scene``               train     조그만 빨간 원이 검은 배경 위에서 왼쪽으로 이동하는 장면
``bg_after``            train     왼쪽으로 움직이는 작은 빨간 원, 배경은 검은색
``shows``               train     검은 배경에서 왼쪽으로 가는 작은 빨간 원 하나를 보여 주는 영상
``keywords``            train     작은 빨간 원 2개 왼쪽 이동 검은 배경
``there_is``            held out  검은 배경에 작은 빨간 원이 두 개 있는데 왼쪽으로 움직여요
``bg_topic``            held out  배경은 검은색이고 작은 빨간 원 두 개가 왼쪽으로 간다
``then``                train     검은 배경에서 빨간 원, 그다음 파란 네모
``appears_after``       train     검은 배경에 빨간 원이 나오고 나서 파란 네모가 나온다
``next``                train     검은 배경에서 빨간 원 다음에 파란 네모가 나와요
``shows_then``          train     검은 배경에서 빨간 원을 보여 준 다음 파란 세모를 보여 주는 영상
``keywords_then``       train     빨간 원 다음 파란 네모 검은 배경
``first_next``          held out  먼저 빨간 원, 이어서 파란 네모. 배경은 검은색
``at_first_later``      held out  처음에는 빨간 원이, 나중에는 파란 네모가 나오는 검은 배경 영상
======================  ========  =======================================================

:func:`korean_captions` gives one phrasing per style, with words chosen by the video's content
(so the same video always reads the same, and a set of videos covers every synonym);
:func:`korean_caption` draws a style and fresh words from an ``rng``, for training.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.demo.synthetic import Scene, VideoSpec

# --------------------------------------------------------------------------- 받침 and particles

_HANGUL_FIRST = 0xAC00  # 가
_HANGUL_LAST = 0xD7A3  # 힣
_FINALS = 28  # 27 final consonants and "none" per (initial, vowel)


def has_final_consonant(word: str) -> bool:
    """Whether ``word``'s last syllable ends in a consonant (받침): 원 yes, 네모 no.

    A precomposed Hangul syllable is ``0xAC00 + (initial * 21 + vowel) * 28 + final``, with
    final 0 for none. Raises ValueError where the word does not end in a Hangul syllable.
    """
    if not word:
        raise ValueError("an empty word has no final syllable")
    code = ord(word[-1])
    if not _HANGUL_FIRST <= code <= _HANGUL_LAST:
        raise ValueError(f"{word!r} does not end in a Hangul syllable")
    return (code - _HANGUL_FIRST) % _FINALS != 0


def with_particle(word: str, after_consonant: str, after_vowel: str) -> str:
    """``word`` with the particle form its last syllable takes: ("원", "이", "가") -> "원이"."""
    return word + (after_consonant if has_final_consonant(word) else after_vowel)


def _subject(word: str) -> str:
    return with_particle(word, "이", "가")


def _object(word: str) -> str:
    return with_particle(word, "을", "를")


# --------------------------------------------------------------------------- vocabulary

#: colour -> (adjectives, nouns in -색, bare nouns); a colour with no adjective form (초록,
#: 보라, 주황) is said with its noun
_COLOURS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "red": (("빨간",), ("빨간색",), ("빨강",)),
    "green": ((), ("초록색", "녹색"), ("초록",)),
    "blue": (("파란",), ("파란색",), ("파랑",)),
    "yellow": (("노란",), ("노란색",), ("노랑",)),
    "purple": ((), ("보라색",), ("보라",)),
    "orange": ((), ("주황색", "오렌지색"), ("주황",)),
}
_SHAPES: dict[str, tuple[str, ...]] = {
    "circle": ("원", "원", "동그라미"),
    "square": ("사각형", "네모", "정사각형"),
    "triangle": ("삼각형", "세모"),
    "star": ("별", "별", "별 모양"),
}
_SIZES: dict[str, tuple[str, ...]] = {
    "small": ("작은", "작은", "조그만", "조그마한"),
    "large": ("큰", "큰", "커다란"),
}
_NUMBERS = {1: ("한", "1"), 2: ("두", "2"), 3: ("세", "3")}


@dataclass(frozen=True)
class _Verb:
    """One way to say a motion: as a modifier, in -다, in -요, as a keyword (noun)."""

    modifier: str  # 왼쪽으로 움직이는
    plain: str  # 왼쪽으로 움직인다
    polite: str  # 왼쪽으로 움직여요
    keyword: str  # 왼쪽으로 이동
    path: bool  # travels across the background ("배경 위를 …"), unlike growing


def _travel(way: str, side: str, climb: tuple[str, str, str, str] | None) -> tuple[_Verb, ...]:
    verbs = [
        _Verb(f"{way} 움직이는", f"{way} 움직인다", f"{way} 움직여요", f"{way} 이동", True),
        _Verb(
            f"{side}으로 이동하는",
            f"{side}으로 이동한다",
            f"{side}으로 이동해요",
            f"{side} 이동",
            True,
        ),
    ]
    if climb is None:  # left and right: 가다
        verbs.append(_Verb(f"{way} 가는", f"{way} 간다", f"{way} 가요", f"{way} 감", True))
    else:
        modifier, plain, polite, keyword = (f"{way} {v}" for v in climb)
        verbs.append(_Verb(modifier, plain, polite, keyword, True))
    return tuple(verbs)


_MOTIONS: dict[str, tuple[_Verb, ...]] = {
    "moving left": _travel("왼쪽으로", "왼쪽", None),
    "moving right": _travel("오른쪽으로", "오른쪽", None),
    "moving up": _travel("위로", "위쪽", ("올라가는", "올라간다", "올라가요", "올라감")),
    "moving down": _travel("아래로", "아래쪽", ("내려가는", "내려간다", "내려가요", "내려감")),
    "growing": (
        _Verb("점점 커지는", "점점 커진다", "점점 커져요", "점점 커짐", False),
        _Verb("커지는", "커진다", "커져요", "커짐", False),
    ),
    "shrinking": (
        _Verb("작아지는", "작아진다", "작아져요", "작아짐", False),
        _Verb("점점 작아지는", "점점 작아진다", "점점 작아져요", "점점 작아짐", False),
        _Verb("줄어드는", "줄어든다", "줄어들어요", "줄어듦", False),
        _Verb("점점 줄어드는", "점점 줄어든다", "점점 줄어들어요", "점점 줄어듦", False),
    ),
}
#: background -> (modifiers of 배경, nouns for "배경은 …")
_BACKGROUNDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "black": (("검은", "검은색", "까만", "검정"), ("검은색", "검정", "까만색", "검정색")),
    "grey": (("회색",), ("회색",)),
    "white": (("흰", "하얀", "흰색", "하얀색"), ("흰색", "하얀색")),
}

#: how often a phrase is typed without its inner spaces ("빨간원", "왼쪽으로움직이는")
_GLUE = 0.15


# --------------------------------------------------------------------------- phrases


def _maybe_glue(rng: random.Random, phrase: str) -> str:
    return phrase.replace(" ", "") if rng.random() < _GLUE else phrase


def _colour(rng: random.Random, colour: str, *, bare: bool) -> str:
    adjectives, nouns, bare_nouns = _COLOURS[colour]
    # the adjective is the commonest form; a bare noun (빨강 원) only where nothing else
    # modifies the shape
    forms = adjectives * 2 + nouns + (bare_nouns if bare else ())
    return rng.choice(forms)


def _colour_shape(rng: random.Random, colour: str, shape: str) -> str:
    """빨간 원, or now and then 빨간원 (not "빨간별 모양": only a one-word shape is run on)."""
    return _maybe_glue(rng, f"{colour} {shape}") if " " not in shape else f"{colour} {shape}"


def _thing(rng: random.Random, scene: Scene) -> str:
    """The object without its count: 작은 빨간 원, 빨간색 작은 동그라미, 작은 빨간원."""
    o = scene.obj
    shape = rng.choice(_SHAPES[o.shape])
    small_big = rng.choice(_SIZES[o.size])
    if rng.random() < 0.3:  # the colour first, then as a noun: 빨간색 작은 동그라미
        return f"{rng.choice(_COLOURS[o.colour][1])} {small_big} {shape}"
    return f"{small_big} {_colour_shape(rng, _colour(rng, o.colour, bare=False), shape)}"


def _counter(rng: random.Random, count: int) -> str:
    """두 개, 두개, 2개 (one: 한 개, 1개)."""
    word, digit = _NUMBERS[count]
    return rng.choice((f"{word} 개", f"{word} 개", f"{word}개", f"{digit}개"))


def _counted(rng: random.Random, scene: Scene, *, before: bool = True) -> str:
    """The object with its count, as a noun phrase: 원 두 개, 두 개의 원 (``before``), 원 하나,
    원."""
    thing = _thing(rng, scene)
    if scene.count == 1:
        return rng.choice((thing, thing, thing, f"{thing} 하나", f"{thing} {_counter(rng, 1)}"))
    if before and rng.random() < 0.35:
        return f"{_counter(rng, scene.count)}의 {thing}"
    return f"{thing} {_counter(rng, scene.count)}"


def _counted_subject(rng: random.Random, scene: Scene, *, floating: bool) -> str:
    """The object as a subject: 원 두 개가, 두 개의 원이, 원이 두 개 (floating), 원 하나가."""
    if floating and scene.count > 1 and rng.random() < 0.5:
        return f"{_subject(_thing(rng, scene))} {_counter(rng, scene.count)}"
    return _subject(_counted(rng, scene))


def _verb(rng: random.Random, scene: Scene) -> _Verb:
    return rng.choice(_MOTIONS[scene.motion])


def _background(rng: random.Random, bg: str) -> str:
    """검은 배경, 회색 배경, 하얀색 배경, 검은배경."""
    return _maybe_glue(rng, f"{rng.choice(_BACKGROUNDS[bg][0])} 배경")


def _background_noun(rng: random.Random, bg: str) -> str:
    return rng.choice(_BACKGROUNDS[bg][1])


def _where(rng: random.Random, scene: Scene, *, path: bool = False) -> str:
    """Where it happens: 검은 배경에서, 검은 배경 위에서, 검은 배경 위를 (a path, with a verb)."""
    place = _background(rng, scene.background)
    forms = [f"{place}에서", f"{place}에서"]
    if scene.motion not in ("moving up", "moving down"):  # not "배경 위에서 위로"
        forms.append(f"{place} 위에서")
        if path and _MOTIONS[scene.motion][0].path:
            forms.append(f"{place} 위를")
    return rng.choice(forms)


def _ending(rng: random.Random, verb: _Verb) -> str:
    return rng.choice((verb.plain, verb.polite))


def _motion(rng: random.Random, text: str) -> str:
    return _maybe_glue(rng, text)


# --------------------------------------------------------------------------- simple styles


def _bg_first(scenes: Sequence[Scene], rng: random.Random) -> str:
    s = scenes[0]
    where = _where(rng, s)
    return f"{where} {_motion(rng, _verb(rng, s).modifier)} {_counted(rng, s)}"


def _subject_verb(scenes: Sequence[Scene], rng: random.Random) -> str:
    s = scenes[0]
    subject = _counted_subject(rng, s, floating=False)
    return f"{subject} {_where(rng, s, path=True)} {_motion(rng, _ending(rng, _verb(rng, s)))}"


def _video(scenes: Sequence[Scene], rng: random.Random) -> str:
    s = scenes[0]
    subject = _counted_subject(rng, s, floating=True)
    return f"{_where(rng, s)} {subject} {_motion(rng, _verb(rng, s).modifier)} 영상"


def _scene(scenes: Sequence[Scene], rng: random.Random) -> str:
    s = scenes[0]
    subject = _counted_subject(rng, s, floating=False)
    return f"{subject} {_where(rng, s)} {_motion(rng, _verb(rng, s).modifier)} 장면"


def _bg_after(scenes: Sequence[Scene], rng: random.Random) -> str:
    s = scenes[0]
    thing = f"{_motion(rng, _verb(rng, s).modifier)} {_counted(rng, s)}"
    return f"{thing}, 배경은 {_background_noun(rng, s.background)}"


def _shows(scenes: Sequence[Scene], rng: random.Random) -> str:
    s = scenes[0]
    thing = _object(_counted(rng, s))
    shows = rng.choice(("보여 주는", "보여주는"))
    return f"{_where(rng, s)} {_motion(rng, _verb(rng, s).modifier)} {thing} {shows} 영상"


def _keywords(scenes: Sequence[Scene], rng: random.Random) -> str:
    s = scenes[0]
    words = [_counted(rng, s, before=False), _verb(rng, s).keyword, _background(rng, s.background)]
    if rng.random() < 0.4:  # 검은 배경 작은 빨간 원 왼쪽 이동
        words = [words[2], words[0], words[1]]
    return " ".join(words)


def _there_is(scenes: Sequence[Scene], rng: random.Random) -> str:
    s = scenes[0]
    place = _background(rng, s.background)
    thing = _subject(_thing(rng, s))
    if s.count > 1:
        thing = f"{thing} {_counter(rng, s.count)}"
    elif rng.random() < 0.5:
        thing = f"{thing} 하나"
    link = rng.choice(("있는데", "있고", "있는데,"))
    return f"{place}에 {thing} {link} {_motion(rng, _ending(rng, _verb(rng, s)))}"


def _bg_topic(scenes: Sequence[Scene], rng: random.Random) -> str:
    s = scenes[0]
    ground = with_particle(_background_noun(rng, s.background), "이고", "고")
    subject = _counted_subject(rng, s, floating=False)
    return f"배경은 {ground} {subject} {_motion(rng, _ending(rng, _verb(rng, s)))}"


# --------------------------------------------------------------------------- temporal styles


def _pair(scenes: Sequence[Scene], rng: random.Random) -> tuple[str, str]:
    """The two objects, colour and shape only (the English caption names no more). A colour or
    shape both share is said with the same word twice (not "삼각형, 그다음 … 세모")."""
    colours: dict[str, str] = {}
    shapes: dict[str, str] = {}
    things = []
    for scene in scenes[:2]:
        o = scene.obj
        if o.colour not in colours:
            colours[o.colour] = _colour(rng, o.colour, bare=True)
        if o.shape not in shapes:
            shapes[o.shape] = rng.choice(_SHAPES[o.shape])
        things.append(_colour_shape(rng, colours[o.colour], shapes[o.shape]))
    return things[0], things[1]


def _appear(rng: random.Random) -> str:
    return rng.choice(("나온다", "나와요"))


def _then(scenes: Sequence[Scene], rng: random.Random) -> str:
    a, b = _pair(scenes, rng)
    then = rng.choice(("그다음", "그다음", "그다음에", "그 다음"))
    return f"{_where(rng, scenes[0])} {a}, {then} {b}"


def _appears_after(scenes: Sequence[Scene], rng: random.Random) -> str:
    a, b = _pair(scenes, rng)
    place = _background(rng, scenes[0].background)
    return f"{place}에 {_subject(a)} 나오고 나서 {_subject(b)} {_appear(rng)}"


def _next(scenes: Sequence[Scene], rng: random.Random) -> str:
    a, b = _pair(scenes, rng)
    if rng.random() < 0.5:
        ground = _background_noun(rng, scenes[0].background)
        return f"{a} 다음에 {_subject(b)} {_appear(rng)}. 배경은 {ground}"
    return f"{_where(rng, scenes[0])} {a} 다음에 {_subject(b)} {_appear(rng)}"


def _shows_then(scenes: Sequence[Scene], rng: random.Random) -> str:
    a, b = _pair(scenes, rng)
    show, shows = rng.choice((("보여 준", "보여 주는"), ("보여준", "보여주는")))
    return f"{_where(rng, scenes[0])} {_object(a)} {show} 다음 {_object(b)} {shows} 영상"


def _keywords_then(scenes: Sequence[Scene], rng: random.Random) -> str:
    a, b = _pair(scenes, rng)
    return f"{a} {rng.choice(('다음', '후'))} {b} {_background(rng, scenes[0].background)}"


def _first_next(scenes: Sequence[Scene], rng: random.Random) -> str:
    a, b = _pair(scenes, rng)
    if rng.random() < 0.5:
        ground = _background_noun(rng, scenes[0].background)
        return f"먼저 {a}, 이어서 {b}. 배경은 {ground}"
    place = _where(rng, scenes[0])
    return f"{place} 먼저 {_subject(a)} 나오고 이어서 {_subject(b)} {_appear(rng)}"


def _at_first_later(scenes: Sequence[Scene], rng: random.Random) -> str:
    a, b = _pair(scenes, rng)
    first, later = rng.choice((("처음에는", "나중에는"), ("처음엔", "나중엔")))
    place = _background(rng, scenes[0].background)
    return f"{first} {_subject(a)}, {later} {_subject(b)} 나오는 {place} 영상"


# --------------------------------------------------------------------------- styles


@dataclass(frozen=True)
class _Style:
    kind: str  # "simple" or "temporal", as VideoSpec.kind
    held_out: bool
    render: Callable[[Sequence[Scene], random.Random], str]


_STYLES: dict[str, _Style] = {
    "bg_first": _Style("simple", False, _bg_first),
    "subject_verb": _Style("simple", False, _subject_verb),
    "video": _Style("simple", False, _video),
    "scene": _Style("simple", False, _scene),
    "bg_after": _Style("simple", False, _bg_after),
    "shows": _Style("simple", False, _shows),
    "keywords": _Style("simple", False, _keywords),
    "there_is": _Style("simple", True, _there_is),
    "bg_topic": _Style("simple", True, _bg_topic),
    "then": _Style("temporal", False, _then),
    "appears_after": _Style("temporal", False, _appears_after),
    "next": _Style("temporal", False, _next),
    "shows_then": _Style("temporal", False, _shows_then),
    "keywords_then": _Style("temporal", False, _keywords_then),
    "first_next": _Style("temporal", True, _first_next),
    "at_first_later": _Style("temporal", True, _at_first_later),
}

ALL_STYLES: tuple[str, ...] = tuple(_STYLES)
#: templates a student may train on
TRAIN_STYLES: tuple[str, ...] = tuple(n for n, s in _STYLES.items() if not s.held_out)
#: templates kept out of training, for Korean R@1 on unseen phrasings
HELD_OUT_STYLES: tuple[str, ...] = tuple(n for n, s in _STYLES.items() if s.held_out)


def _styles_for(spec: VideoSpec, styles: Sequence[str]) -> list[str]:
    unknown = [s for s in styles if s not in _STYLES]
    if unknown:
        raise ValueError(f"unknown Korean caption styles: {', '.join(unknown)}")
    return [s for s in styles if _STYLES[s].kind == spec.kind]


def korean_captions(spec: VideoSpec, styles: Sequence[str] = ALL_STYLES) -> list[str]:
    """Every phrasing of ``spec``'s caption: one per style of its kind among ``styles``.

    The words inside each style are chosen by the video's content, so the list is the same
    on every call and for every video showing the same thing.
    """
    out = []
    for name in _styles_for(spec, styles):
        rng = random.Random(f"korean:{name}:{spec.caption()}")
        out.append(_STYLES[name].render(spec.scenes, rng))
    return out


def draw_korean(
    spec: VideoSpec, rng: random.Random, styles: Sequence[str] = ALL_STYLES
) -> tuple[str, str]:
    """(style, caption): a style of ``spec``'s kind among ``styles``, and fresh words in it."""
    eligible = _styles_for(spec, styles)
    if not eligible:
        raise ValueError(f"no {spec.kind} style among {list(styles)}")
    name = rng.choice(eligible)
    return name, _STYLES[name].render(spec.scenes, rng)


def korean_caption(spec: VideoSpec, rng: random.Random, styles: Sequence[str] = ALL_STYLES) -> str:
    """One Korean caption for ``spec``, style and words drawn from ``rng`` (for training:
    pass ``TRAIN_STYLES``)."""
    return draw_korean(spec, rng, styles)[1]
