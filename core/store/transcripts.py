"""Transcripts in the catalog: what was said in each video, line by line, searchable by text.

Three tables of the library database (made by :mod:`core.store.catalog`, schema 3):

* ``transcripts`` — one row per video: language, source (subtitle or model), origin (which
  subtitle file or track, or which speech model), the fingerprint of the content it was made
  from (an edited file's old transcript is known stale) and its number of lines (a salvage
  keeps a transcript only when every line came back);
* ``transcript_lines`` — its lines: start, end, text, and word times as JSON (``[[t0, t1, "w"],
  …]``, ``[]`` for subtitles);
* ``transcript_fts`` — an FTS5 index over the lines' text with the ``trigram`` tokenizer: any
  substring of three characters or more, in any script, case-folded (Korean inside words, "birth"
  inside "birthday"), kept in step by triggers.

FTS5's trigram index cannot answer a term of one or two characters (no trigram to look up): such
terms — a Korean word is often two syllables, 생일 — are matched with ``LIKE`` over the lines
table, a scan (``benchmarks/speech_fusion.py`` measures it). A video's transcript is replaced in
one transaction (a kill half way leaves the old one whole), goes when its video goes (foreign
keys cascade, the triggers follow), and is copied with a copy's vectors.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.pathnames import from_db
from core.speech.transcript import MODEL, SUBTITLE, Line, Transcript, Word
from core.store.catalog import INDEXED, Catalog

#: Lines a single term may bring back (a term found in more lines than this is nearly every
#: line: it adds weight to lines the other terms found, it does not find lines of its own).
TERM_LIMIT = 5000
#: Terms shorter than this are matched with LIKE (FTS5's trigram index needs three characters).
TRIGRAM = 3


@dataclass(frozen=True)
class StoredTranscript:
    """A transcript as stored for one video, with what it was made from."""

    video_id: int
    transcript: Transcript
    #: The video's content fingerprint when it was transcribed.
    fingerprint: str
    stored_at: float


@dataclass(frozen=True)
class StoredLine:
    """One stored line, with the transcript facts a search result shows."""

    id: int
    video_id: int
    t0: float
    t1: float
    text: str
    words: tuple[Word, ...]
    language: str
    source: str


def _words_json(words: Sequence[Word]) -> str:
    return json.dumps(
        [[round(w.start, 3), round(w.end, 3), w.text] for w in words], ensure_ascii=False
    )


def _words(text: str) -> tuple[Word, ...]:
    try:
        return tuple(Word(float(a), float(b), str(w)) for a, b, w in json.loads(text))
    except (ValueError, TypeError):
        return ()


def store(catalog: Catalog, video_id: int, transcript: Transcript, fingerprint: str) -> None:
    """Replace ``video_id``'s transcript with ``transcript``, in one transaction: a reader (or a
    kill half way) sees the old transcript or the new one, never a mix. A transcript without
    lines is stored too (the video was transcribed and nothing was said)."""
    with catalog.conn as conn:
        conn.execute("DELETE FROM transcript_lines WHERE video_id = ?", (video_id,))
        conn.execute("DELETE FROM transcripts WHERE video_id = ?", (video_id,))
        conn.execute(
            "INSERT INTO transcripts(video_id, language, source, origin, fingerprint, stored_at,"
            " lines) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                video_id,
                transcript.language,
                transcript.source,
                transcript.origin,
                fingerprint,
                time.time(),
                len(transcript.lines),
            ),
        )
        conn.executemany(
            "INSERT INTO transcript_lines(video_id, t0, t1, text, words) VALUES (?, ?, ?, ?, ?)",
            [
                (video_id, float(line.start), float(line.end), line.text, _words_json(line.words))
                for line in transcript.lines
            ],
        )


def delete(catalog: Catalog, video_id: int) -> None:
    """Forget ``video_id``'s transcript (its lines and their index entries with it)."""
    with catalog.conn as conn:
        conn.execute("DELETE FROM transcript_lines WHERE video_id = ?", (video_id,))
        conn.execute("DELETE FROM transcripts WHERE video_id = ?", (video_id,))


def load(catalog: Catalog, video_id: int) -> StoredTranscript | None:
    """``video_id``'s stored transcript, or None (never transcribed, or an older library)."""
    if not catalog.has_transcripts:
        return None
    head = catalog.conn.execute(
        "SELECT language, source, origin, fingerprint, stored_at FROM transcripts"
        " WHERE video_id = ?",
        (video_id,),
    ).fetchone()
    if head is None:
        return None
    rows = catalog.conn.execute(
        "SELECT t0, t1, text, words FROM transcript_lines WHERE video_id = ? ORDER BY t0, id",
        (video_id,),
    ).fetchall()
    lines = tuple(Line(float(a), float(b), str(text), _words(w)) for a, b, text, w in rows)
    transcript = Transcript(str(head[0]), str(head[1]), str(head[2]), lines)
    return StoredTranscript(video_id, transcript, str(head[3]), float(head[4]))


def needing(catalog: Catalog, origin: str) -> list[tuple[int, str]]:
    """(id, path) of the indexed videos a speech model of identity ``origin`` should transcribe:
    never transcribed, transcribed by another model, or transcribed from content since changed.
    A video with subtitles is not one of them (subtitles win over a model)."""
    if not catalog.has_transcripts:
        return []
    rows = catalog.conn.execute(
        "SELECT v.id, v.path FROM videos v LEFT JOIN transcripts t ON t.video_id = v.id"
        f" WHERE v.status = '{INDEXED}' AND (t.video_id IS NULL OR t.fingerprint != v.fingerprint"
        f" OR (t.source = '{MODEL}' AND t.origin != ?)) ORDER BY v.id",
        (origin,),
    ).fetchall()
    return [(int(vid), from_db(path)) for vid, path in rows]


def subtitle_origins(catalog: Catalog) -> dict[int, tuple[str, float]]:
    """video id → (origin, stored_at) of every transcript read from subtitles, in one query
    (a rescan compares them with the sidecar files on disk)."""
    if not catalog.has_transcripts:
        return {}
    rows = catalog.conn.execute(
        f"SELECT video_id, origin, stored_at FROM transcripts WHERE source = '{SUBTITLE}'"
    ).fetchall()
    return {int(vid): (str(origin), float(at)) for vid, origin, at in rows}


def counts(catalog: Catalog) -> dict[str, int]:
    """How many videos have a transcript from subtitles and from a model, and how many lines."""
    if not catalog.has_transcripts:
        return {SUBTITLE: 0, MODEL: 0, "lines": 0}
    rows = dict(
        catalog.conn.execute("SELECT source, COUNT(*) FROM transcripts GROUP BY source").fetchall()
    )
    lines = catalog.conn.execute("SELECT COUNT(*) FROM transcript_lines").fetchone()[0]
    return {SUBTITLE: int(rows.get(SUBTITLE, 0)), MODEL: int(rows.get(MODEL, 0)), "lines": lines}


def line_count(catalog: Catalog) -> int:
    if not catalog.has_transcripts:
        return 0
    return int(catalog.conn.execute("SELECT COUNT(*) FROM transcript_lines").fetchone()[0])


def _fts_phrase(term: str) -> str:
    """``term`` as an FTS5 string (a phrase: with trigrams, a substring match)."""
    return '"' + term.replace('"', '""') + '"'


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: Scripts written without spaces between words, or gluing endings to them (Hangul: 생일을):
#: a short term of theirs matches inside a word. Elsewhere a term of one or two characters
#: matches a whole word only ("a" must not find every line with an "a" in it).
_INSIDE_WORDS = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7a3]")


def term_pattern(term: str) -> re.Pattern[str]:
    """The regular expression that finds ``term`` in a line as the store matches it: any
    substring for three characters or more, else by the short-term rule; spaces inside a
    phrase match any run of whitespace."""
    body = r"\s+".join(re.escape(w) for w in term.split())
    if len(term) >= TRIGRAM or _INSIDE_WORDS.search(term):
        return re.compile(body, re.IGNORECASE)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def lines_containing(catalog: Catalog, term: str, limit: int = TERM_LIMIT) -> list[int]:
    """Ids of the lines whose text contains ``term`` (case-insensitive), at most ``limit``.

    Three characters or more: the trigram index (any substring). Fewer — FTS5 has no trigram
    to look up — (or a library without the index): ``LIKE`` over the lines, a scan, each hit
    checked by the short-term rule (:data:`_INSIDE_WORDS`). Whitespace finds nothing."""
    term = term.strip()
    if not term or not catalog.has_transcripts:
        return []
    if len(term) >= TRIGRAM and catalog.has_speech_index:
        rows = catalog.conn.execute(
            "SELECT rowid FROM transcript_fts WHERE transcript_fts MATCH ? LIMIT ?",
            (_fts_phrase(term), limit),
        ).fetchall()
        return [int(r[0]) for r in rows]
    cursor = catalog.conn.execute(
        "SELECT id, text FROM transcript_lines WHERE text LIKE ? ESCAPE '\\'", (_like(term),)
    )
    pattern = term_pattern(term) if len(term) < TRIGRAM else None
    out: list[int] = []
    for lid, text in cursor:
        if pattern is None or pattern.search(text):
            out.append(int(lid))
            if len(out) >= limit:
                break
    return out


def lines_frequency(catalog: Catalog, term: str) -> int:
    """How many lines contain ``term`` (for weighing rare words above common ones)."""
    term = term.strip()
    if not term or not catalog.has_transcripts:
        return 0
    if len(term) >= TRIGRAM and catalog.has_speech_index:
        row = catalog.conn.execute(
            "SELECT COUNT(*) FROM transcript_fts WHERE transcript_fts MATCH ?",
            (_fts_phrase(term),),
        ).fetchone()
        return int(row[0])
    return len(lines_containing(catalog, term, limit=1 << 62))


def lines(catalog: Catalog, ids: Iterable[int]) -> dict[int, StoredLine]:
    """The stored lines with these ids, with their transcript's language and source."""
    wanted = sorted(set(ids))
    out: dict[int, StoredLine] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = catalog.conn.execute(
            "SELECT l.id, l.video_id, l.t0, l.t1, l.text, l.words, t.language, t.source"
            " FROM transcript_lines l JOIN transcripts t ON t.video_id = l.video_id"
            f" WHERE l.id IN ({','.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        for lid, vid, t0, t1, text, words, language, source in rows:
            out[int(lid)] = StoredLine(
                int(lid), int(vid), float(t0), float(t1), str(text), _words(words),
                str(language), str(source),
            )  # fmt: skip
    return out


def segments_at(catalog: Catalog, spans: Sequence[tuple[int, float, float]]) -> list[int | None]:
    """For each (video id, t0, t1): the id of that video's segment overlapping [t0, t1] most
    (the one nearest in time when none overlaps: a line past the last sampled frame), or None
    for a video without segments (not indexed)."""
    out: list[int | None] = []
    for video_id, t0, t1 in spans:
        row = catalog.conn.execute(
            "SELECT id FROM segments WHERE video_id = ?"
            " ORDER BY MAX(0, MIN(t1, ?) - MAX(t0, ?)) DESC, ABS((t0 + t1) - (? + ?)), id"
            " LIMIT 1",
            (video_id, t1, t0, t0, t1),
        ).fetchone()
        out.append(None if row is None else int(row[0]))
    return out


def has_lines(catalog: Catalog) -> bool:
    """Whether any spoken line is stored (a library without speech skips speech search)."""
    if not catalog.has_transcripts:
        return False
    return catalog.conn.execute("SELECT 1 FROM transcript_lines LIMIT 1").fetchone() is not None
