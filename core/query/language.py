"""Which text tower reads a typed query: CLIP's own (English) or the multilingual one (issue 25).

CLIP's text tower reads English only and is the best one for English; the multilingual tower
(M-CLIP, XLM-R) reads 48 languages, English too, but is weaker on English. :func:`guess_language`
says whether a query is English, in microseconds, from the text alone (standard library only):

1. **Script.** Any word written in a script other than Latin (Hangul, kana, Han, Cyrillic,
   Greek, Arabic, Hebrew, Thai, Devanagari, ...) sends the whole query to the multilingual tower,
   even beside English words ("아이폰 unboxing 영상", "a sign saying 안녕"): CLIP's byte-level
   tokens carry nothing it learnt for such a word, while the multilingual tower reads the English
   part as well. Hangul anywhere means Korean, kana Japanese, Han alone Chinese (Japanese written
   in kanji alone is told as "zh": the route is the same).
2. **Latin script: words.** Each word is looked up in small lists of function words (articles,
   prepositions, pronouns, auxiliaries) of English and of the Latin-script languages the
   multilingual tower covers, and of everyday home-video words (dog, beach, birthday, grandma,
   ...) of the common ones. No foreign list holds a word that is also an English word ("die",
   "man", "see", "gift", "kind", "a", "in", "on"), so an English query cannot gather foreign
   evidence from its own words.
3. **Latin script: letters.** Letters no English word has (ß ł ş ğ ı ř ő đ ơ ư å ø ...) are one
   unit of evidence for their languages per word; accents that English borrows with loanwords
   (é è à ñ ü ö ï ç ...) are half a unit, so "café", "jalapeño", "piñata at the party" and
   "Zoë's birthday" stay English. Letters of a capitalised word after the first are not counted
   (a name: "lunch at Müller's bakery").
4. **Decision.** A Latin-script query leaves English when some other language has at least one
   unit of evidence and more than English's (its function words and clitics: 's, n't, 're, 'll).
5. **CLIP's own vocabulary.** Otherwise, the words no list knows (three letters or more, not
   capitalised: names say nothing) are looked up in CLIP's BPE vocabulary: a word it holds as
   one token is one it learnt. When the unknown ones outnumber the known ones plus the English
   function words ("picknick i parken", "wisuda kakak", "joulu mummolla"), the query leaves
   English, language "und" unless some list gave a hint. A misspelt English keyword
   ("brithday cake") stays: its neighbours are known. Anything else (keywords "dog beach
   sunset", a name "Jeju", numbers, emoji, nothing) is English: CLIP reads it best.

Measured by ``benchmarks/query_routing.py`` on ``benchmarks/data/routing_queries.tsv``.
"""

from __future__ import annotations

import gzip
import importlib.resources
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

__all__ = ["LanguageGuess", "guess_language"]


@dataclass(frozen=True)
class LanguageGuess:
    """Where a query goes, and why."""

    english: bool
    """True: CLIP's own (English) text tower should read it."""
    language: str
    """ISO 639-1 code when known ("en", "ko", "ja", "de", ...) or "und"."""
    reason: str
    """Short words for people and logs, e.g. "Hangul letters", "French words: le, de, la"."""


# --------------------------------------------------------------------------- word lists


def _split(words: str) -> list[str]:
    return words.split()


#: English evidence: function words only (content words are shared with too many languages).
_ENGLISH = frozenset(
    _split(
        """the a an of in on at to with and or but my our your his her their its is are was were
    be been being am it this that these those for from by up out into onto over under after
    before during when where who what which while we me you he she they them us him some all
    just about around through off near behind next then there here has have had did does do
    not as than very got going get gets went can will with without show find my our mine
    yours hers theirs how why again too also each every other another any no yes"""
    )
)

#: English clitics after an apostrophe ("kid's", "can't", "we're", "she'll", "we've").
_ENGLISH_CLITICS = frozenset({"s", "t", "re", "ll", "ve", "d", "m"})

#: Elided articles and prepositions before an apostrophe ("d'anniversaire", "l'été", "all'alba").
_ELISIONS: dict[str, tuple[str, ...]] = {
    "l": ("fr", "it", "ca"),
    "d": ("fr", "it", "ca"),
    "qu": ("fr",),
    "j": ("fr",),
    "n": ("fr",),
    "c": ("fr",),
    "dell": ("it",),
    "all": ("it",),
    "nell": ("it",),
    "sull": ("it",),
    "dall": ("it",),
    "un": ("it",),
}

#: Function words per language. None is an English word (tests/core/test_query_language.py
#: checks a list of homographs), none is a single letter ("e", "y", "o", "z" and "w" come in
#: English as "e-bike", "Gen Z", "Y2K"), and none is a common first name ("mia", "ella", "ada").
_FUNCTION: dict[str, str] = {
    "de": """der das und ist ein eine einer einem einen eines mit im vom zum zur beim auf dem
        des nicht ich du er sie wir ihr mein meine meinem meiner meinen dein deine seine
        seinem seinen unser unsere unserem bei aus nach von für über vor wie wo wenn als
        auch noch schon sehr oder aber dass zu sind haben wird wurde ins durch gegen ohne
        hinter neben zwischen dieser diese dieses jetzt hier ihm ihn ihre ihrem ihren""",
    "fr": """le la les un une des du de et à au aux en dans sur avec chez ma mon mes ta tes
        sa ses notre nos leur leurs est sont qui que quand où ce cette ces je il elle nous
        vous ils elles pas ne très après avant pendant fois première premiers premières""",
    "es": """el la los las un una unos unas de del al en por para sobre mi mis tu su sus
        nuestro nuestra nuestros es está están que cuando donde dónde cómo muy pero se le lo
        él nosotros primera primeros primeras""",
    "it": """il lo la gli le un uno una di del della dello dei degli delle al alla allo
        agli alle nel nella nello nei negli nelle sul sulla sui dal dalla dai è tra fra
        che mio miei mie suo sua suoi sue nostro nostra sono quando non ma anche molto ci si
        questo questa quello quella dietro primo prima primi""",
    "pt": """os uma uns umas de da dos das na nos nas em com por para pelo pela pelos
        pelas meu minha meus minhas seu sua seus suas nosso nossa é são está estão que
        quando onde como muito mas não ele ela eles elas nós ao à aos às primeira primeiro
        primeiros primeiras""",
    "ca": """els les amb la el un una de del al als que és són dels pels""",
    "nl": """de het een en op voor naar bij uit aan niet ik wij mijn onze ons zijn zij ze dat
        deze dit er om ook nog wel als maar achter naast tijdens eerste""",
    "sv": """och är en ett på av för med som det de vi mina vår vårt våra inte efter från
        om när över ut hos sina sitt första""",
    "da": """og er en et på af til med som det de jeg vi hun han vores ikke efter fra ved om
        når ud hos første""",
    "no": """og er en et på av til med som det de jeg vi hun han vår vårt våre ikke etter fra
        ved om når ut hos sitt første""",
    "fi": """ja ei se hän minä sinä että kun tämä tuo myös kanssa mutta minun meidän sinun
        hänen""",
    "pl": """na się nie że od przy dla jak moja mój moje moi nad ze są czy tak już oraz jego
        jej ich""",
    "cs": """je se na ve že si jsou při jak jeho její jejich který která které""",
    "sk": """je sa na vo že si sú pri ako jeho jej ich ktorý ktorá""",
    "hr": """je se na sa iz da su od za kao njegov njezin koji koja""",
    "sl": """je se na da od za kot njegov njen ki""",
    "ro": """și în cu de la un este sunt pentru lui mea meu mei mele""",
    "hu": """az és egy hogy nem már ez azt ami aki vagy""",
    "tr": """ve bir bu şu ile için çok da de mi ne gibi sonra önce ilk olan""",
    "id": """di ke dan yang dengan saya kami kita ini itu untuk dari pada bersama sedang
        tidak juga sudah akan""",
    "vi": """của và các những với trong cho là không này đó một""",
    "et": """ja ei et kui aga ka oma mis""",
    "lt": """ir yra su iš kad mano""",
    "lv": """un ir ar uz ka mans""",
}

#: Everyday home-video words per language (dog, beach, birthday, grandma, fireworks, ...),
#: under the same rules; German nouns count capitalised.
_CONTENT: dict[str, str] = {
    "de": """hund katze strand meer schnee geburtstag torte kuchen kerzen hochzeit tanz oma
        opa tochter sohn kinder weihnachten urlaub feuerwerk garten schwimmbad berge
        fahrrad spielen spielt läuft rennt tanzen schule regen sonnenuntergang familie
        freunde großeltern mädchen ferien erste ersten schritte pferd baum blumen wasser
        ausflug spielplatz geschenke ostern silvester frühstück abendessen zug flugzeug
        fußball schlitten schwimmen geburtstagsfeier""",
    "fr": """chien plage mer neige anniversaire gâteau bougies mariage danse mamie papi
        grand-mère grand-père fille fils enfants bébé noël vacances feu artifice vélo
        jardin piscine montagne pluie soleil famille amis joue jouent jouer cadeaux""",
    "es": """perro gato playa mar nieve cumpleaños tarta velas boda baile abuela abuelo hija
        hijo niños niña niño bebé navidad vacaciones fuegos artificiales bici bicicleta
        jardín piscina montaña lluvia atardecer familia amigos jugando corriendo soplando
        pelota regalos pasos""",
    "it": """gatto spiaggia neve compleanno torta candeline candele matrimonio ballo nonna
        nonno figlia figlio bambini bambino bambina natale vacanze fuochi artificio
        giardino piscina montagna pioggia tramonto famiglia amici gioca giocano corre
        passi capodanno regali palla""",
    "pt": """cachorro cão gato praia neve aniversário bolo velas casamento dança vovó vovô
        avó avô avós filha filho crianças criança bebê férias fogos artifício bicicleta
        jardim piscina montanha chuva família amigos brincando correndo apagando bola
        passos presentes""",
    "nl": """hond sneeuw verjaardag taart kaarsjes kaarsen bruiloft dans oma opa dochter zoon
        kinderen vakantie vuurwerk fiets spelen speelt stapjes kerst kerstmis zwembad tuin
        verjaardagstaart sinterklaas cadeautjes""",
    "sv": """hund hunden katt katten stranden hav havet snö snön födelsedag tårta ljus ljusen
        bröllop bröllopet dans dansen mormor morfar farmor farfar pappa dotter barnen bebis
        bebisen jul julafton midsommar sjön sjö fyrverkeri cykel leker badar
        födelsedagstårta""",
    "pl": """kot plaża plaży śnieg śniegu morze morzem urodziny urodzinowy tort świeczki wesele
        weselu taniec babcia dziadek tata córka syn dzieci dziecka wakacje fajerwerki
        sylwester sylwestra choinka góry jezioro deszcz pierwszy pierwsze kroki piłka
        piłkę""",
    "tr": """köpek kedi deniz sahil kar karda doğum günü düğün babaanne anneanne dede bebek
        çocuk çocuklar tatil yaz kış havai fişek oynuyor yılbaşı""",
    "id": """pantai anjing kucing salju ulang tahun kue lilin nenek kakek ibu ayah bayi
        pernikahan liburan keluarga kembang hujan laut gunung sepeda bermain anak
        anak-anak""",
    "vi": """gái bé bà ông mẹ bố biển tuyết chó mèo""",
}


def _build_words(source: dict[str, str]) -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for lang, words in source.items():
        for word in words.split():
            langs = table.setdefault(word, [])
            if lang not in langs:
                langs.append(lang)
    return {word: tuple(langs) for word, langs in table.items()}


_FUNCTION_WORDS = _build_words(_FUNCTION)
_CONTENT_WORDS = _build_words(_CONTENT)

# --------------------------------------------------------------------------- letters

#: Letters no English word has: one unit of evidence per word for these languages.
_STRONG_LETTERS: dict[str, tuple[str, ...]] = {
    "ß": ("de",),
    "œ": ("fr",),
    "ã": ("pt", "vi"),
    "õ": ("pt", "et", "vi"),
    "ł": ("pl",),
    "ą": ("pl", "lt"),
    "ę": ("pl", "lt"),
    "ś": ("pl",),
    "ź": ("pl",),
    "ż": ("pl",),
    "ć": ("pl", "hr"),
    "ń": ("pl",),
    "ř": ("cs",),
    "ě": ("cs",),
    "ů": ("cs",),
    "ď": ("cs", "sk"),
    "ť": ("cs", "sk"),
    "ň": ("cs", "sk"),
    "ľ": ("sk",),
    "ĺ": ("sk",),
    "ŕ": ("sk",),
    "č": ("cs", "sk", "hr", "sl", "lt", "lv"),
    "š": ("cs", "sk", "hr", "sl", "lt", "lv", "et"),
    "ž": ("cs", "sk", "hr", "sl", "lt", "lv", "et"),
    "ğ": ("tr",),
    "ş": ("tr", "ro"),
    "ı": ("tr",),
    "ș": ("ro",),
    "ț": ("ro",),
    "ő": ("hu",),
    "ű": ("hu",),
    "å": ("sv", "da", "no", "fi"),
    "ø": ("da", "no"),
    "æ": ("da", "no"),
    "ā": ("lv",),
    "ē": ("lv",),
    "ī": ("lv",),
    "ū": ("lv", "lt"),
    "ģ": ("lv",),
    "ķ": ("lv",),
    "ļ": ("lv",),
    "ņ": ("lv",),
    "ė": ("lt",),
    "į": ("lt",),
    "ų": ("lt",),
    "þ": ("is",),
    "ð": ("is",),
    "đ": ("vi", "hr"),
    "ơ": ("vi",),
    "ư": ("vi",),
    "ă": ("ro", "vi"),
    "¿": ("es",),
    "¡": ("es",),
}
# Vietnamese tone marks on vowels (dot below, hook above, and the stacked ones): no other
# language writes them.
_STRONG_LETTERS.update(dict.fromkeys("ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ", ("vi",)))

#: Accents English borrows with loanwords (café, jalapeño, naïve, Zoë, crème brûlée): half a unit.
_WEAK_LETTERS: dict[str, tuple[str, ...]] = {
    "é": ("fr", "es", "it", "pt", "ca", "cs", "sk", "hu", "vi"),
    "è": ("fr", "it", "ca", "vi"),
    "ê": ("fr", "pt", "vi"),
    "ë": ("fr", "nl"),
    "à": ("fr", "it", "pt", "ca", "vi"),
    "â": ("fr", "pt", "ro", "tr", "vi"),
    "î": ("fr", "ro"),
    "ï": ("fr", "nl", "ca"),
    "ô": ("fr", "pt", "sk", "vi"),
    "û": ("fr",),
    "ù": ("fr", "it", "vi"),
    "ì": ("it", "vi"),
    "ò": ("it", "ca", "vi"),
    "ç": ("fr", "pt", "tr", "ca"),
    "ñ": ("es",),
    "á": ("es", "pt", "cs", "sk", "hu", "vi"),
    "í": ("es", "pt", "cs", "sk", "hu", "vi"),
    "ó": ("es", "pt", "pl", "cs", "sk", "hu", "vi"),
    "ú": ("es", "pt", "cs", "sk", "hu", "vi"),
    "ý": ("cs", "sk", "vi"),
    "ä": ("de", "sv", "fi", "et", "sk"),
    "ö": ("de", "sv", "fi", "et", "tr", "hu"),
    "ü": ("de", "tr", "hu", "et"),
}

#: Tie order when two languages gather the same evidence (the more common first).
_ORDER = {
    code: i
    for i, code in enumerate(
        _split("de fr es it pt nl sv da no pl tr id vi cs sk ro hu fi ca hr sl et lv lt is")
    )
}

_NAMES = {
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "sv": "Swedish",
    "da": "Danish",
    "no": "Norwegian",
    "pl": "Polish",
    "tr": "Turkish",
    "id": "Indonesian",
    "vi": "Vietnamese",
    "cs": "Czech",
    "sk": "Slovak",
    "ro": "Romanian",
    "hu": "Hungarian",
    "fi": "Finnish",
    "ca": "Catalan",
    "hr": "Croatian",
    "sl": "Slovenian",
    "et": "Estonian",
    "lv": "Latvian",
    "lt": "Lithuanian",
    "is": "Icelandic",
}

# --------------------------------------------------------------------------- scripts

#: Unicode character-name prefixes of scripts other than Latin, and the script's language.
_SCRIPTS: dict[str, tuple[str, str]] = {
    "HANGUL": ("Hangul", "ko"),
    "HIRAGANA": ("kana", "ja"),
    "KATAKANA": ("kana", "ja"),
    "KATAKANA-HIRAGANA": ("kana", "ja"),
    "CJK": ("Han", "zh"),
    "CYRILLIC": ("Cyrillic", "ru"),
    "GREEK": ("Greek", "el"),
    "ARABIC": ("Arabic", "ar"),
    "HEBREW": ("Hebrew", "he"),
    "THAI": ("Thai", "th"),
    "DEVANAGARI": ("Devanagari", "hi"),
    "BENGALI": ("Bengali", "bn"),
    "TAMIL": ("Tamil", "ta"),
    "TELUGU": ("Telugu", "te"),
    "KANNADA": ("Kannada", "kn"),
    "MALAYALAM": ("Malayalam", "ml"),
    "GUJARATI": ("Gujarati", "gu"),
    "GURMUKHI": ("Gurmukhi", "pa"),
    "ORIYA": ("Oriya", "or"),
    "SINHALA": ("Sinhala", "si"),
    "ARMENIAN": ("Armenian", "hy"),
    "GEORGIAN": ("Georgian", "ka"),
    "ETHIOPIC": ("Ethiopic", "am"),
    "KHMER": ("Khmer", "km"),
    "LAO": ("Lao", "lo"),
    "MYANMAR": ("Myanmar", "my"),
    "TIBETAN": ("Tibetan", "bo"),
    "MONGOLIAN": ("Mongolian", "mn"),
}

_LATIN = "Latin"

# CLIP's vocabulary: 48894 merges after the version line (core/model/tokenizer.py).
_CLIP_MERGES = 49408 - 2 * 256 - 2


@cache
def _clip_words() -> frozenset[str]:
    """The ASCII words CLIP's own tokenizer holds as one token (34k, mostly English).

    Read once, on the first query the word lists leave undecided (about 0.1 s).
    """
    resource = importlib.resources.files("resources").joinpath(
        "tokenizer", "bpe_simple_vocab_16e6.txt.gz"
    )
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        lines = text.read().split("\n")[1 : 1 + _CLIP_MERGES]
    words: set[str] = set()
    for line in lines:
        left, _, right = line.partition(" ")
        if right.endswith("</w>"):
            word = left + right[:-4]
            if word.isascii():
                words.add(word)
    return frozenset(words)


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    """The script of a letter: "Latin", a name from :data:`_SCRIPTS`, or "other"."""
    if ch < "\u0250":  # Basic Latin to Latin Extended-B (and the Latin-1 letters)
        return _LATIN
    name = unicodedata.name(ch, "")
    head = name.split(" ", 1)[0]
    if head == "LATIN":
        return _LATIN
    hit = _SCRIPTS.get(head)
    if hit is not None:
        return hit[0]
    if head == "CJK" or name.startswith("IDEOGRAPHIC"):
        return "Han"
    return "other"


_SCRIPT_LANGUAGE = {script: lang for script, lang in _SCRIPTS.values()}
_SCRIPT_LANGUAGE["other"] = "und"

_APOSTROPHES = "'\u2019\u02bc"


def _tokens(text: str) -> tuple[list[str], dict[str, int]]:
    """Latin-script words (with inner apostrophes as "'") and the letter count of other scripts."""
    latin: list[str] = []
    others: dict[str, int] = {}
    current: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] == "L" or (cat[0] == "M" and current):
            script = _LATIN if cat[0] == "M" else _script(ch)
            if script == _LATIN:
                current.append(ch)
                continue
            others[script] = others.get(script, 0) + 1
        elif ch in _APOSTROPHES and current:
            current.append("'")
            continue
        elif ch == "-" and current:
            current.append("-")
            continue
        if current:
            latin.append("".join(current).strip("'-"))
            current = []
    if current:
        latin.append("".join(current).strip("'-"))
    return [w for w in latin if w], others


def _script_guess(others: dict[str, int], text: str, with_latin: bool) -> LanguageGuess:
    if "Hangul" in others:
        script, lang = "Hangul", "ko"
    elif "kana" in others:
        script, lang = "kana", "ja"
    else:
        script = max(sorted(others), key=lambda s: others[s])
        lang = _SCRIPT_LANGUAGE.get(script, "und")
        if script == "Cyrillic":
            lang = _cyrillic_language(text)
        elif script == "Arabic":
            lang = _arabic_language(text)
    letters = "letters" if script != "Han" else "characters"
    reason = f"{script} {letters}" + (" beside Latin-script words" if with_latin else "")
    return LanguageGuess(english=False, language=lang, reason=reason)


def _cyrillic_language(text: str) -> str:
    lower = text.lower()
    if any(ch in lower for ch in "іїєґ"):
        return "uk"
    if "ў" in lower:
        return "be"
    if any(ch in lower for ch in "ђјљњћџ"):
        return "sr"
    if any(ch in lower for ch in "ѓќѕ"):
        return "mk"
    return "ru"


def _arabic_language(text: str) -> str:
    if any(ch in text for ch in "ٹڈڑںے"):
        return "ur"
    if any(ch in text for ch in "پچژگکی"):
        return "fa"
    return "ar"


def guess_language(text: str) -> LanguageGuess:
    """Whether CLIP's English text tower should read ``text``, the language, and why.

    Deterministic, standard library only, a few microseconds for a typical query (the first
    query that needs rule 5 reads CLIP's vocabulary once, about 0.1 s).
    """
    text = unicodedata.normalize("NFKC", text)
    if not text.strip():
        return LanguageGuess(english=True, language="en", reason="nothing typed")
    latin, others = _tokens(text)
    if others and sum(others.values()) > 0:
        return _script_guess(others, text, with_latin=bool(latin))
    if not latin:
        return LanguageGuess(english=True, language="en", reason="no letters")

    english = 0.0
    english_words: list[str] = []
    unsure: list[str] = []  # words no list knows, for the vocabulary test (rule 5)
    scores: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}

    def add(langs: tuple[str, ...], weight: float, why: str) -> None:
        for lang in langs:
            scores[lang] = scores.get(lang, 0.0) + weight
            evidence.setdefault(lang, []).append(why)

    for index, original in enumerate(latin):
        word = original.lower()
        # A capitalised word after the first is taken for a name ("Uncle Al", "lunch at
        # Müller's"): only the everyday-word lists (German nouns) may count it.
        name = index > 0 and original[:1].isupper() and not original.isupper()
        if "'" in word:
            head, _, tail = word.partition("'")
            if tail in _ENGLISH_CLITICS:
                english += 1.0
                english_words.append(word)
                word = head
            elif head in _ELISIONS:
                add(_ELISIONS[head], 1.0, head + "'")
                word = tail
            else:
                word = word.replace("'", "")
        if word in _ENGLISH:
            english += 1.0
            english_words.append(word)
            continue
        langs = _CONTENT_WORDS.get(word)
        if langs is not None:
            add(langs, 1.0, word)
            continue
        if name or (len(word) < 2 and word.isascii()):
            continue
        langs = _FUNCTION_WORDS.get(word)
        if langs is not None:
            add(langs, 1.0, word)
            continue
        if len(word) >= 3 and not original[:1].isupper():
            unsure.append(word)
        if word.isascii():
            continue
        strong: set[str] = set()
        weak: set[str] = set()
        for ch in word:
            if ch in _STRONG_LETTERS:
                strong.update(_STRONG_LETTERS[ch])
            elif ch in _WEAK_LETTERS:
                weak.update(_WEAK_LETTERS[ch])
        if strong:
            add(tuple(sorted(strong)), 1.0, word)
        weak -= strong
        if weak:
            add(tuple(sorted(weak)), 0.5, word)

    if scores:
        best = max(scores, key=lambda lang: (scores[lang], -_ORDER.get(lang, 99)))
        if scores[best] >= 1.0 and scores[best] > english:
            words = ", ".join(dict.fromkeys(evidence[best]))
            return LanguageGuess(
                english=False, language=best, reason=f"{_NAMES.get(best, best)} words: {words}"
            )
        best_language = best if scores[best] > 0 else "und"
    else:
        best_language = "und"
    if unsure:
        # Rule 5: most words unknown to CLIP's own vocabulary, and more of them than English
        # function words, is a language CLIP reads poorly ("picknick i parken", "wisuda kakak").
        clip = _clip_words()
        unknown = [w for w in unsure if not (w.isascii() and w in clip)]
        if len(unknown) > len(unsure) - len(unknown) + english:
            return LanguageGuess(
                english=False,
                language=best_language,
                reason="words CLIP's vocabulary lacks: " + ", ".join(unknown),
            )
    if english_words:
        words = ", ".join(dict.fromkeys(english_words))
        return LanguageGuess(english=True, language="en", reason=f"English words: {words}")
    return LanguageGuess(english=True, language="en", reason="no other language's words")
