"""How moments seen and moments said are ranked together: R@1 of each fusion rule, and what a
short (LIKE) term costs against a trigram (FTS5) one.

A fresh demo library (core.demo: synthetic videos with known captions, the demo model) where
some videos carry an SRT sidecar with a known sentence (some sentences said in two videos, some
naming colours and motions the pictures show elsewhere: speech that could pull a visual query the
wrong way). Three kinds of query, each with one right video:

* **seen** — a video's caption (what is shown);
* **said** — a few words of a video's sentence, as a person remembers them (not quoted);
* **both** — a caption and the words said, for sentences said in two videos: only the two
  together name one.

R@1 is printed per rule (core.query.speech.RULES, and ``visual`` alone), over fresh seeds.

    python benchmarks/speech_fusion.py [--videos 40] [--seeds 3] [--lines 100000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from fixtures import machine

from core.demo.library import make_demo_videos
from core.library import Library
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL
from core.query import speech
from core.speech.transcript import MODEL, Line, Transcript
from core.store import transcripts
from core.store.catalog import Catalog

#: Sentences said in the videos: everyday speech, two of them in Korean, some naming colours and
#: motions (the demo's captions are made of those words).
SENTENCES = [
    "happy birthday grandma, blow out the candles",
    "we are lost again, where is the car",
    "look at the dog running on the beach",
    "the cake is ready, everybody come inside",
    "welcome to the wedding of anna and tom",
    "the water is so cold today",
    "let us go home before the rain",
    "생일 축하해요 할머니",
    "바다가 정말 예뻐요",
    "the red kite is moving up so fast",
    "a blue balloon is growing in the sky",
    "two green frogs on the rock",
]
#: What a person remembers of each sentence (the "said" query).
REMEMBERED = [
    "happy birthday grandma",
    "we are lost",
    "dog running on the beach",
    "the cake is ready",
    "wedding of anna and tom",
    "water is so cold",
    "go home before the rain",
    "생일 축하",
    "바다가 예뻐요",
    "red kite moving up",
    "blue balloon growing",
    "green frogs on the rock",
]


def _srt(line: str) -> str:
    return f"1\n00:00:01,000 --> 00:00:04,000\n{line}\n"


def one_seed(encoder: Encoder, videos: int, seed: int, work: Path) -> dict[str, list[int]]:
    folder, pairs = make_demo_videos(work / f"demo-{seed}", videos=videos, seed=seed)
    rng = random.Random(seed)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    said: dict[int, int] = {}  # video index -> sentence index
    twice = [0, 1, 2, 7]  # sentences said in two videos
    slots = order[: len(SENTENCES) + len(twice)]
    for sentence, video in zip(list(range(len(SENTENCES))) + twice, slots, strict=False):
        said[video] = sentence
    for video, sentence in said.items():
        Path(pairs[video][0]).with_suffix(".srt").write_text(_srt(SENTENCES[sentence]), "utf-8")
    queries: list[tuple[str, str, str]] = []  # (kind, text, right path)
    for path, caption in pairs:
        queries.append(("seen", caption, path))
    by_sentence: dict[int, list[int]] = {}
    for video, sentence in said.items():
        by_sentence.setdefault(sentence, []).append(video)
    for sentence, holders in by_sentence.items():
        if len(holders) == 1:
            queries.append(("said", REMEMBERED[sentence], pairs[holders[0]][0]))
        else:
            for video in holders:
                text = f"{pairs[video][1]} {REMEMBERED[sentence]}"
                queries.append(("both", text, pairs[video][0]))
    hits: dict[str, list[int]] = {}
    with Library(encoder, work / f"lib-{seed}") as lib:
        lib.add_folder(folder)
        lib.sync()
        lib.index_job().run()
        for rule in ("visual", *speech.RULES):
            for kind, text, right in queries:
                if rule == "visual":
                    found = _visual(lib, text)
                else:
                    lib._searcher.fusion = rule
                    found = [r.path for r in lib.search(text, k=5)]
                hits.setdefault(f"{rule}/{kind}", []).append(int(bool(found) and found[0] == right))
    return hits


def _visual(lib: Library, text: str) -> list[str]:
    """What the visual search alone ranks first (the library's speech is not consulted)."""
    searcher = lib._searcher
    spoken = searcher.spoken
    searcher.spoken = lambda *a, **k: []  # type: ignore[method-assign]
    try:
        return [r.path for r in lib.search(text, k=5)]
    finally:
        searcher.spoken = spoken  # type: ignore[method-assign]


def term_costs(lines: int, work: Path) -> dict[str, float]:
    """Median milliseconds to find the lines holding a term among ``lines`` stored lines: a
    two-syllable Korean word (LIKE scan), a three-syllable one and an English word (trigrams)."""
    catalog = Catalog(work / "terms.sqlite")
    rng = random.Random(0)
    words = [s.split() for s in SENTENCES]
    per_video = 50
    for start in range(0, lines, per_video):
        vid = catalog.add_video(f"/v/{start}.mp4", None, f"fp{start}", 1, 1)
        said = tuple(
            Line(float(i), i + 1.0, " ".join(rng.choice(words)[: rng.randint(2, 6)]))
            for i in range(per_video)
        )
        transcripts.store(catalog, vid, Transcript("en", MODEL, "m", said), f"fp{start}")
    out: dict[str, float] = {}
    terms = (
        ("LIKE 생일 (2 chars)", "생일"),
        ("FTS 할머니 (3)", "할머니"),
        ("FTS birthday", "birthday"),
        ("LIKE 'we' (2, whole word)", "we"),
    )
    for label, term in terms:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            transcripts.lines_containing(catalog, term)
            times.append(time.perf_counter() - started)
        out[label] = statistics.median(times) * 1000
    catalog.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {machine()}; SQLite {sqlite3.sqlite_version}")
    encoder = Encoder(DEMO_MODEL, force_cpu=True)
    totals: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.seeds + 1):
            for key, values in one_seed(encoder, args.videos, 1000 + seed, Path(tmp)).items():
                totals.setdefault(key, []).extend(values)
        kinds = ("seen", "said", "both")
        counts = {kind: len(totals[f"visual/{kind}"]) for kind in kinds}
        print(
            f"{args.seeds} seeds x {args.videos} demo videos; queries: "
            + ", ".join(f"{counts[k]} {k}" for k in kinds)
        )
        print(f"{'rule':<15}" + "".join(f"{k:>8}" for k in (*kinds, "all")) + "   R@1 %")
        for rule in ("visual", *speech.RULES):
            row = [totals[f"{rule}/{kind}"] for kind in kinds]
            every = [x for r in row for x in r]
            cells = [100 * sum(r) / len(r) for r in row] + [100 * sum(every) / len(every)]
            mark = "  <- FUSION_RULE" if rule == speech.FUSION_RULE else ""
            print(f"{rule:<15}" + "".join(f"{c:8.1f}" for c in cells) + mark)
        if args.lines:
            print(f"finding a term among {args.lines:,} stored lines (median of 7, ms):")
            for label, ms in term_costs(args.lines, Path(tmp)).items():
                print(f"  {label:<28} {ms:8.2f}")


if __name__ == "__main__":
    main()
