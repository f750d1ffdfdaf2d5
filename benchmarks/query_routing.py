"""Which text tower reads each query: is the routing rule right? (issue 25, item 2)

    python benchmarks/query_routing.py [--queries FILE] [--repeat 5]

Reads a labelled set of search-box queries (``benchmarks/data/routing_queries.tsv``: expected
ISO 639-1 code, tab, query; ``#`` starts a comment) and asks
:func:`core.query.language.guess_language` about each. A query labelled ``en`` must go to CLIP's
own text tower, any other label to the multilingual tower. Prints the machine line; per label,
how many queries were routed right and how many got the labelled language code (the code is
for logs only: Japanese written in kanji alone is told as "zh", Catalan words are shared with
Spanish, and so on, without changing the route); the two routing figures the issue asks for
(English -> CLIP, not English -> multilingual) and the overall one; every misrouted query with
the rule's reason. Rows after a ``#@ held-out`` line were written after the word lists and are
also reported apart (see the comment there for what was changed after seeing them); and the
time per call (best of ``--repeat`` passes over the whole set).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

from fixtures import machine

from core.query.language import guess_language

DEFAULT = Path(__file__).resolve().parent / "data" / "routing_queries.tsv"


HELD_OUT = "#@ held-out"


def load(path: Path) -> list[tuple[str, str, bool]]:
    """(label, query, held out) of a routing set; comment and blank lines skipped.

    Rows after a ``#@ held-out`` line were written after the rule and not tuned on.
    """
    rows: list[tuple[str, str, bool]] = []
    held_out = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() == HELD_OUT:
            held_out = True
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, query = line.partition("\t")
        if not sep:
            raise SystemExit(f"{path}:{number}: no tab between label and query")
        rows.append((label.strip(), query, held_out))
    return rows


def both_ways(rows: list[tuple[str, str, bool]]) -> tuple[int, int, int, int]:
    """(English routed to CLIP, English, others routed away, others)."""
    en_right = en_n = other_right = other_n = 0
    for label, query, _ in rows:
        english = guess_language(query).english
        if label == "en":
            en_n += 1
            en_right += english
        else:
            other_n += 1
            other_right += not english
    return en_right, en_n, other_right, other_n


def percent(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / whole:.1f}%" if whole else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = load(args.queries)

    print(f"machine   {machine()}")
    print(f"queries   {args.queries} ({len(rows)})")
    print()

    routed: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # right route, right code, n
    wrong: list[tuple[str, str, str, str, bool]] = []
    for label, query, held in rows:
        guess = guess_language(query)
        stats = routed[label]
        stats[2] += 1
        if guess.english == (label == "en"):
            stats[0] += 1
        else:
            wrong.append((label, guess.language, query, guess.reason, held))
        if guess.language == label:
            stats[1] += 1

    print(f"{'label':<6} {'queries':>7} {'routed right':>14} {'code right':>12}")
    order = sorted(routed, key=lambda k: (k != "en", k != "ko", -routed[k][2], k))
    for label in order:
        right, code, n = routed[label]
        print(f"{label:<6} {n:>7} {right:>6} {100 * right / n:>6.1f}% {100 * code / n:>11.1f}%")
    print()

    for name, part in (
        ("whole set", rows),
        ("tuned on (written with the rule)", [r for r in rows if not r[2]]),
        ("held out (written after the word lists)", [r for r in rows if r[2]]),
    ):
        en_right, en_n, other_right, other_n = both_ways(part)
        print(f"{name}: {len(part)} queries")
        print(f"  English -> CLIP text tower          {percent(en_right, en_n)}")
        print(f"  not English -> multilingual tower   {percent(other_right, other_n)}")
        print(f"  overall routing                     {percent(en_right + other_right, len(part))}")
    print()

    print(f"misrouted ({len(wrong)}):")
    for label, said, query, reason, held in wrong:
        tag = " (held out)" if held else ""
        print(f"  [{label} -> {said}] {query!r}: {reason}{tag}")
    print()

    queries = [query for _, query, _ in rows]
    best = float("inf")
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        for query in queries:
            guess_language(query)
        best = min(best, time.perf_counter() - start)
    longest = max(queries, key=len)
    start = time.perf_counter()
    for _ in range(1000):
        guess_language(longest)
    per_long = (time.perf_counter() - start) / 1000
    print(
        f"time      {1e6 * best / len(queries):.1f} us per call on average "
        f"(best of {args.repeat} passes over the set); "
        f"{1e6 * per_long:.1f} us for its longest query ({len(longest)} characters)"
    )


if __name__ == "__main__":
    main()
