"""Search by what was said, end to end through the library: subtitles read at indexing, stored
with a full-text index, found and fused with what is seen, kept through deletes and salvage."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from core.library import Library, salvage_library
from core.model.encoder import Encoder, QueryError
from core.model.registry import DEMO_MODEL
from core.query import speech
from core.query.ranking import SearchResult
from core.speech.transcript import MODEL, SUBTITLE, Line, Transcript, Word
from core.store import transcripts
from tests.library_support import clipseek, index_all
from tests.videos import write_video

PARTY_SRT = """1
00:00:12,000 --> 00:00:15,000
happy birthday <i>grandma</i>

2
00:00:16,000 --> 00:00:18,000
we are lost again
"""
KOREAN_SRT = "1\n00:00:02,000 --> 00:00:04,500\n생일 축하해요 할머니\n"


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(DEMO_MODEL, force_cpu=True)


@pytest.fixture
def footage(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    write_video(folder / "party.mp4", seed=1, seconds=20)
    write_video(folder / "beach.mp4", seed=2, seconds=10)
    write_video(folder / "korea.mp4", seed=3, seconds=10)
    (folder / "party.srt").write_text(PARTY_SRT, encoding="utf-8")
    (folder / "korea.ko.srt").write_bytes(KOREAN_SRT.encode("cp949"))
    return folder


@pytest.fixture
def lib(tmp_path: Path, encoder: Encoder, footage: Path):
    with Library(encoder, tmp_path / "lib") as library:
        index_all(library, footage)
        yield library


def _said(results: list[SearchResult]) -> list[SearchResult]:
    return [r for r in results if r.speech is not None]


def _video(lib: Library, name: str) -> int:
    return next(v.id for v in lib.catalog.videos() if Path(v.path).name == name)


def test_a_phrase_in_an_srt_at_12_to_15_is_found_at_12(lib: Library) -> None:
    best = lib.search("happy birthday", k=3)[0]
    assert Path(best.path).name == "party.mp4"
    assert best.best_t == 12.0 and best.start == 12.0
    assert best.t0 <= 12.0 and best.t1 >= 15.0  # the moment covers the line
    assert best.speech is not None
    assert best.speech.text == "happy birthday grandma"
    assert (best.speech.start, best.speech.end) == (12.0, 15.0)
    assert best.speech.source == SUBTITLE and best.speech.language == ""
    assert best.speech.spans == ((0, 5), (6, 14))  # "happy", "birthday" marked
    assert best.relevance == 1.0  # every word was said: strong
    shape = best.to_json()["speech"]
    assert shape["text"] == "happy birthday grandma" and shape["start"] == 12.0
    assert shape["source"] == "subtitle" and shape["spans"] == [[0, 5], [6, 14]]


def test_korean_is_found_by_a_two_syllable_word_and_inside_words(lib: Library) -> None:
    for query in ("생일", "축하", "할머니"):
        best = lib.search(f"said: {query}", k=3)
        assert len(best) == 1, query
        assert Path(best[0].path).name == "korea.mp4"
        assert best[0].best_t == 2.0
        assert best[0].speech is not None and best[0].speech.language == "ko"
    fused = lib.search("생일", k=3)[0]  # a plain Korean word finds the spoken line first
    assert Path(fused.path).name == "korea.mp4" and fused.speech is not None


def test_said_restricts_to_speech_and_quotes_need_the_phrase(lib: Library) -> None:
    only = lib.search("said: lost", k=10)
    assert [(Path(r.path).name, r.t0, r.t1) for r in only] == [("party.mp4", 16.0, 18.0)]
    assert only[0].score == 1.0  # a speech-only search scores by its line
    assert lib.search("said: nobody said this", k=10) == []
    quoted = lib.search('"we are lost"', k=10)
    assert len(quoted) == 1 and quoted[0].speech is not None
    assert quoted[0].speech.spans == ((0, 11),)
    assert lib.search('"we lost"', k=10) == []  # the words, but not as a phrase
    with pytest.raises(QueryError):
        lib.search("said:   ", k=10)


def test_one_letter_words_match_whole_words_only(lib: Library) -> None:
    # "a" is inside "grandma" and "again": it must not make those lines match
    assert lib.search("said: a", k=10) == []
    seen = lib.search("a red circle", k=10)
    assert not _said(seen)


def test_a_library_without_transcripts_searches_as_before(
    tmp_path: Path, encoder: Encoder, lib: Library
) -> None:
    folder = tmp_path / "plain"
    write_video(folder / "party.mp4", seed=1, seconds=20)
    write_video(folder / "beach.mp4", seed=2, seconds=10)
    write_video(folder / "korea.mp4", seed=3, seconds=10)
    with Library(encoder, tmp_path / "plain-lib") as plain:
        index_all(plain, folder)
        assert transcripts.line_count(plain.catalog) == 0
        before = plain.search("happy birthday", k=5)
        assert plain.search("said: happy", k=5) == []
        searcher = plain._searcher
        searcher.spoken = None  # type: ignore[method-assign, assignment]  # never consulted
        assert plain.search("happy birthday", k=5) == before
        assert all(r.speech is None and r.to_json()["speech"] is None for r in before)


def test_store_replace_and_delete(lib: Library, footage: Path) -> None:
    beach = _video(lib, "beach.mp4")
    assert lib.transcript(beach) is None
    said = Transcript(
        "en", MODEL, "whisper-tiny:abc",
        (Line(3.0, 5.0, " where is the dog", (Word(3.0, 3.5, " where"), Word(4.2, 4.6, " dog"))),),
    )  # fmt: skip
    assert lib.store_transcript(beach, said)
    assert lib.transcript(beach) == said
    best = lib.search("said: dog", k=1)[0]
    assert best.best_t == 4.2  # the first matched word's own time
    replacement = Transcript("en", MODEL, "whisper-base:def", (Line(1.0, 2.0, "sand castle"),))
    assert lib.store_transcript(beach, replacement)
    assert lib.search("said: dog", k=5) == []
    assert [Path(r.path).name for r in lib.search("said: castle", k=5)] == ["beach.mp4"]
    # subtitles win over a model
    party = _video(lib, "party.mp4")
    assert not lib.store_transcript(party, replacement)
    assert lib.transcript(party).source == SUBTITLE  # type: ignore[union-attr]
    # which videos a model still has to transcribe
    need = {Path(v.path).name for v in lib.videos_needing_transcripts("whisper-base:def")}
    assert need == set()  # party and korea have subtitles, beach has this model's words
    need = {Path(v.path).name for v in lib.videos_needing_transcripts("whisper-small:x")}
    assert need == {"beach.mp4"}
    # deleted with its video, lines and full-text entries alike
    (footage / "beach.mp4").unlink()
    lib.sync()
    assert lib.search("said: castle", k=5) == []
    conn = lib.catalog.conn
    assert (
        conn.execute("SELECT COUNT(*) FROM transcripts WHERE video_id = ?", (beach,)).fetchone()[0]
        == 0
    )
    conn.execute("INSERT INTO transcript_fts(transcript_fts) VALUES ('integrity-check')")


def test_a_sidecar_removed_before_reindexing_takes_its_transcript_along(
    lib: Library, footage: Path
) -> None:
    korea = _video(lib, "korea.mp4")
    (footage / "korea.ko.srt").unlink()
    assert lib.read_subtitles(korea) is None
    assert lib.transcript(korea) is None


def test_a_copy_and_a_moved_file_keep_what_was_said(lib: Library, footage: Path) -> None:
    (footage / "party.mp4").rename(footage / "moved.mp4")
    lib.sync()
    found = lib.search("said: lost", k=5)
    assert [Path(r.path).name for r in found] == ["moved.mp4"]
    copy = footage / "sub" / "again.mp4"
    copy.parent.mkdir()
    copy.write_bytes((footage / "moved.mp4").read_bytes())
    lib.sync()
    found = lib.search("said: lost", k=5)
    assert len(found) == 1 and found[0].copies  # one moment, with its copy listed


def test_a_transaction_cut_half_way_leaves_the_old_transcript(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    party = _video(lib, "party.mp4")
    old = lib.transcript(party)

    class Cut(Exception):
        pass

    written: list[int] = []
    real = transcripts._words_json

    def dies_on_the_second_line(words):  # the process dies while the lines are written
        written.append(1)
        if len(written) == 2:
            raise Cut
        return real(words)

    monkeypatch.setattr(transcripts, "_words_json", dies_on_the_second_line)
    new = Transcript("en", MODEL, "m", (Line(1.0, 2.0, "brand new"), Line(3.0, 4.0, "words")))
    with pytest.raises(Cut):
        transcripts.store(lib.catalog, party, new, "fp")
    monkeypatch.undo()
    assert lib.transcript(party) == old
    assert lib.search("said: brand", k=5) == []
    assert [Path(r.path).name for r in lib.search("said: lost", k=5)] == ["party.mp4"]


def test_another_thread_reads_the_old_or_the_new_never_a_mix(lib: Library) -> None:
    party = _video(lib, "party.mp4")
    new = Transcript(
        "en", MODEL, "m", tuple(Line(float(i), i + 0.5, f"line {i}") for i in range(200))
    )
    seen: list[int] = []

    def read() -> None:
        for _ in range(50):
            stored = transcripts.load(lib.catalog, party)
            seen.append(0 if stored is None else len(stored.transcript.lines))

    reader = threading.Thread(target=read)
    reader.start()
    transcripts.store(lib.catalog, party, new, "fp")
    reader.join()
    assert set(seen) <= {2, 200}


def test_salvage_keeps_whole_transcripts_and_rereads_lost_subtitles(
    tmp_path: Path, encoder: Encoder, lib: Library
) -> None:
    root = lib.root
    beach = _video(lib, "beach.mp4")
    lib.store_transcript(beach, Transcript("en", MODEL, "w", (Line(1.0, 2.0, "sand castle"),)))
    korea = _video(lib, "korea.mp4")
    conn = lib.catalog.conn
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    lib.close()
    db = root / "library.sqlite"
    # damage the first page: SQLite refuses the whole file
    data = bytearray(db.read_bytes())
    data[:100] = b"\x00" * 100
    db.write_bytes(bytes(data))
    with salvage_library(encoder, root) as saved:
        assert saved.transcript(beach) is not None  # a model's words survive
        assert saved.transcript(korea) is not None
        assert [Path(r.path).name for r in saved.search("said: 생일", k=3)] == ["korea.mp4"]
        assert [Path(r.path).name for r in saved.search("said: castle", k=3)] == ["beach.mp4"]
        saved.catalog.conn.execute(
            "INSERT INTO transcript_fts(transcript_fts) VALUES ('integrity-check')"
        )


def test_salvage_rereads_subtitles_whose_lines_were_lost(
    tmp_path: Path, encoder: Encoder, lib: Library
) -> None:
    root = lib.root
    party = _video(lib, "party.mp4")
    # a transcript whose row promises more lines than were stored: incomplete after a salvage
    lib.catalog.conn.execute("UPDATE transcripts SET lines = 5 WHERE video_id = ?", (party,))
    lib.catalog.conn.commit()
    lib.catalog.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    lib.close()
    db = root / "library.sqlite"
    data = bytearray(db.read_bytes())
    data[:100] = b"\x00" * 100
    db.write_bytes(bytes(data))
    with salvage_library(encoder, root) as saved:
        again = saved.transcript(party)
        assert again is not None and again.origin == "sidecar:party.srt"  # read again
        assert len(again.lines) == 2


def test_an_older_library_gains_transcript_tables(
    tmp_path: Path, encoder: Encoder, lib: Library
) -> None:
    root = lib.root
    lib.close()
    conn = sqlite3.connect(root / "library.sqlite")
    for name in ("transcript_fts", "transcript_lines", "transcripts"):
        conn.execute(f"DROP TABLE {name}")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with Library(encoder, root) as reopened:
        assert reopened.catalog.has_transcripts and reopened.catalog.has_speech_index
        assert reopened.search("said: lost", k=3) == []  # nothing said yet: not re-read
        party = _video(reopened, "party.mp4")
        reopened.read_subtitles(party)
        assert len(reopened.search("said: lost", k=3)) == 1


def test_fusion_rules_rank_one_list(lib: Library) -> None:
    seen = lib.search("a red circle", k=3)
    heard = lib._searcher.spoken(speech.parse("said: lost"), 3)
    for rule in speech.RULES:
        fused = speech.fuse(seen, heard, 3, rule)
        assert len(fused) == 3 and any(r.speech is not None for r in fused)
    with pytest.raises(ValueError):
        speech.fuse(seen, heard, 3, "nonsense")


def test_the_command_line_prints_the_spoken_line(lib: Library) -> None:
    root = lib.root
    lib.close()
    out = clipseek("search", "happy birthday", "--library", root, "-k", "2").stdout
    assert '   said: "happy birthday grandma" 0:12–0:15' in out
    shape = json.loads(clipseek("search", "said: lost", "--library", root, "--json").stdout)
    assert shape["results"][0]["speech"]["text"] == "we are lost again"
    assert shape["tower"] is None


def test_a_sidecar_dropped_beside_an_indexed_video_is_read_at_the_next_scan(lib, footage) -> None:
    """Found listing what was left: a person adds `beach.srt` beside a video indexed last year;
    the video did not change, so nothing read it until the video was indexed again."""
    import os
    import time

    assert not _said(lib.search("said: seagulls", k=3))
    srt = footage / "beach.srt"
    srt.write_text("1\n00:00:03,000 --> 00:00:05,000\nlook at the seagulls\n", encoding="utf-8")
    lib.sync()
    found = _said(lib.search("said: seagulls", k=3))
    assert [Path(r.path).name for r in found] == ["beach.mp4"] and found[0].best_t == 3.0
    # edited: the new words replace the old
    srt.write_text("1\n00:00:06,000 --> 00:00:08,000\nthe tide is coming in\n", encoding="utf-8")
    later = time.time() + 5
    os.utime(srt, (later, later))
    lib.sync()
    assert not _said(lib.search("said: seagulls", k=3))
    assert _said(lib.search("said: tide", k=3))[0].best_t == 6.0
    # removed: its words go with it; the other videos' subtitles stay
    srt.unlink()
    lib.sync()
    assert not _said(lib.search("said: tide", k=3))
    assert _said(lib.search("happy birthday", k=3))
