"""Which text tower reads a query (core.query.language, issue 25 item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.query import language
from core.query.language import LanguageGuess, guess_language

ROUTING_SET = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "routing_queries.tsv"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("생일 케이크 촛불 끄는 딸", "ko"),
        ("딸이 촛불을 끄는 장면", "ko"),
        ("2019년 제주도 여행", "ko"),
        ("생일파티", "ko"),
        ("娘の誕生日ケーキ", "ja"),
        ("女儿吹生日蜡烛", "zh"),
        ("бабушка на пляже", "ru"),
        ("діти граються у снігу", "uk"),
        ("الأطفال يلعبون في الثلج", "ar"),
    ],
)
def test_other_scripts_route_away_from_english(query: str, code: str) -> None:
    guess = guess_language(query)
    assert not guess.english
    assert guess.language == code


@pytest.mark.parametrize(
    "query",
    [
        "coffee at a little café in the morning",
        "piñata at the party",
        "Zoë's birthday",
        "jalapeño eating contest",
        "the naïve look on his face",
        "crème brûlée at the restaurant",
        "lunch at Müller's bakery",
        "trip to São Paulo with the team",
        "Minji's first day of kindergarten",
        "dog beach sunset",
        "BIRTHDAY PARTY AT GRANDMAS",
        "brithday cake",
        "Jeju",
        "Paris",
        "snow",
        "e-bike ride",
        "war memorial with grandpa",
        "man walking the dog",
    ],
)
def test_english_with_loanwords_names_and_keywords_stays(query: str) -> None:
    guess = guess_language(query)
    assert guess.english, guess
    assert guess.language == "en"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("meine Tochter bläst die Kerzen aus", "de"),
        ("Oma am Strand", "de"),
        ("ma fille souffle les bougies", "fr"),
        ("gâteau d'anniversaire", "fr"),
        ("mi hija soplando las velas", "es"),
        ("la abuela en la playa", "es"),
        ("mia figlia che spegne le candeline", "it"),
        ("kinderen spelen in de sneeuw", "nl"),
        ("pies goni piłkę", "pl"),
        ("çocuklar karda oynuyor", "tr"),
        ("bánh sinh nhật", "vi"),
    ],
)
def test_latin_script_languages_route_away(query: str, code: str) -> None:
    guess = guess_language(query)
    assert not guess.english, guess
    assert guess.language == code


def test_words_clip_never_learnt_route_away() -> None:
    guess = guess_language("picknick i parken")
    assert not guess.english
    assert "vocabulary" in guess.reason


@pytest.mark.parametrize(
    "query",
    ["아이폰 unboxing 영상", "a sign saying 안녕", "지수 birthday party", "Seoul trip with 할머니"],
)
def test_any_hangul_word_routes_the_mixed_query_away(query: str) -> None:
    guess = guess_language(query)
    assert not guess.english
    assert guess.language == "ko"
    assert "Hangul" in guess.reason


def test_hangul_beside_han_is_korean_and_kana_beside_han_japanese() -> None:
    assert guess_language("生日 파티").language == "ko"
    assert guess_language("花火を見た").language == "ja"


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "🎂🎉", "2019", "!!! ???", "🌊 ☀️ 12:30"])
def test_nothing_to_tell_is_english(query: str) -> None:
    guess = guess_language(query)
    assert guess.english
    assert guess.language == "en"
    assert guess.reason


def test_deterministic_and_hashable() -> None:
    first = guess_language("les enfants jouent dans la neige")
    assert first == guess_language("les enfants jouent dans la neige")
    assert isinstance(hash(first), int)
    assert isinstance(first, LanguageGuess)


def test_fullwidth_latin_is_read_as_latin() -> None:
    assert guess_language("ｄｏｇ ｂｅａｃｈ").english


# Common English words other languages spell alike: no foreign list may hold one, or an English
# query would gather foreign evidence from its own words.
_HOMOGRAPHS = """die man see gift kind also was war hat bad will den am an in on so is me no as at
    be by do he if it my of or to up us we fast son pain chat sale come more tag rock hut most boot
    arm rat mist bald not per pan ten over under long top bank hand land wind ball film park
    hotel zoo taxi piano pizza baby mama papa camping party foto mare pasta video winter auto
    pies court cane door till care din pe ai ale pod pro pre jest mint van met tot ton par
    pour premier sin hay primer dove natal semester springer barn mum mine sine sit mitt min
    vid ant bet mana meg ali um con rower pastel zee souffle ama ada mia ella"""
ENGLISH_HOMOGRAPHS = set(_HOMOGRAPHS.split())


def test_no_foreign_word_list_holds_an_english_word() -> None:
    foreign = set(language._FUNCTION_WORDS) | set(language._CONTENT_WORDS)
    assert not foreign & ENGLISH_HOMOGRAPHS
    assert not foreign & language._ENGLISH
    assert all(len(word) > 1 or not word.isascii() for word in foreign)


def load_routing_set() -> list[tuple[str, str]]:
    rows = []
    for line in ROUTING_SET.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, _, query = line.partition("\t")
            rows.append((label, query))
    return rows


def test_routing_set_is_as_described() -> None:
    rows = load_routing_set()
    counts: dict[str, int] = {}
    for label, _ in rows:
        counts[label] = counts.get(label, 0) + 1
    assert len(rows) >= 250
    assert counts["en"] >= 80
    assert counts["ko"] >= 50
    wanted = "ja zh de fr es it pt nl sv pl tr vi id ru ar"
    for code in wanted.split():
        assert counts[code] >= 8, code


def test_labelled_set_routes_97_percent_both_ways() -> None:
    rows = load_routing_set()
    english = [guess_language(q).english for label, q in rows if label == "en"]
    others = [not guess_language(q).english for label, q in rows if label != "en"]
    assert sum(english) / len(english) >= 0.97
    assert sum(others) / len(others) >= 0.97
