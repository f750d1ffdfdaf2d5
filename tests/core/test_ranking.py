"""From hits to moments a person trusts: merged without overlaps, inside the video, copies
folded, and rated on a scale that means the same in every library (core.query.ranking,
core.query.relevance, through the library and the CLI)."""

from __future__ import annotations

import itertools
import json
import random
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.cli.main import main as cli
from core.library import Library
from core.model.encoder import Encoder
from core.query import relevance
from core.query.ranking import Place, SearchResult, fold_copies, merge_adjacent
from core.query.relevance import Background, label, shown_count
from tests.videos import pattern, write_video


def hit(video: int, t0: float, t1: float, score: float, path: str | None = None) -> SearchResult:
    return SearchResult(
        path or f"/v/{video}.mp4", t0, t1, score, None, video, (int(t0 * 10 + video * 1000),)
    )


def overlapping_pairs(moments: list[SearchResult]) -> list[tuple[SearchResult, SearchResult]]:
    return [
        (a, b)
        for a, b in itertools.combinations(moments, 2)
        if a.video_id == b.video_id and a.t0 < b.t1 - 1e-6 and b.t0 < a.t1 - 1e-6
    ]


def test_a_moment_widened_into_another_absorbs_it() -> None:
    """28–36 comes first, 20–28 only touches it, then 24–32 widens 28–36 to 24–36, which
    overlapped 20–28: the window showed 0:24–0:36 and 0:20–0:28 as two results."""
    hits = [hit(1, 28, 36, 0.90), hit(1, 20, 28, 0.89), hit(1, 24, 32, 0.85), hit(2, 0, 8, 0.1)]
    moments = merge_adjacent(hits, k=10)
    assert not overlapping_pairs(moments)
    first = moments[0]
    assert (first.t0, first.t1, first.score) == (20, 36, 0.90)
    assert len(moments) == 2


def test_merged_moments_never_overlap_random_hits() -> None:
    rng = random.Random(5)
    for _ in range(300):
        hits = []
        for video in range(3):
            for start in range(0, 40, 4):  # 8 s windows every 4 s, like the library's
                if rng.random() < 0.6:
                    hits.append(hit(video, start, start + 8, rng.random()))
        moments = merge_adjacent(hits, k=rng.randint(1, 20))
        assert not overlapping_pairs(moments), moments
        assert [m.score for m in moments] == sorted((m.score for m in moments), reverse=True)


def test_copies_fold_into_one_moment_and_keep_merging() -> None:
    a, b = "/photos/party.mp4", "/backup/party.mp4"
    hits = [
        hit(2, 0, 8, 0.9, b),  # the backup copy's hit comes first...
        hit(1, 0, 8, 0.9, a),
        hit(1, 4, 12, 0.89, a),
        hit(2, 4, 12, 0.89, b),
        hit(3, 0, 8, 0.5, "/other.mp4"),
    ]
    fingerprints = {1: "f-party", 2: "f-party", 3: "f-other"}
    folded = fold_copies(hits, lambda r: fingerprints[r.video_id])
    assert len(folded) == 3
    # ...yet the video found first (the lowest id) names the card, for both windows: which
    # copy scores best flips from one search to the next, the card's name must not
    assert {r.path for r in folded[:2]} == {a}
    assert folded[0].copies == (b,) and folded[2].copies == ()
    moments = merge_adjacent(folded, 10)
    assert [(m.path, m.t0, m.t1) for m in moments] == [(a, 0, 12), ("/other.mp4", 0, 8)]


def test_a_copy_is_named_by_the_places_it_lives_not_by_the_hits() -> None:
    """Only the third copy's segments came back from the index: the card is still named after
    the first place the file was found, with that place's video, dates and length."""
    first = Place("/photos/bikes.mp4", 1, True, 12.0, "2020-01-01T10:00:00+00:00", 1.5e9, "mtime")
    places = {"f-bikes": [Place("/z/aaaa_long_name.mp4", 7), first, Place("/b/bikes.mp4", 3)]}
    hits = [hit(7, 0, 8, 0.9, "/z/aaaa_long_name.mp4"), hit(9, 0, 8, 0.5, "/other.mp4")]
    prints = {7: "f-bikes", 9: "f-other"}
    folded = fold_copies(hits, lambda r: prints[r.video_id], places)
    assert [(r.path, r.video_id) for r in folded] == [("/photos/bikes.mp4", 1), ("/other.mp4", 9)]
    card = folded[0]
    assert (card.duration, card.captured_ts, card.captured_source) == (12.0, 1.5e9, "mtime")
    assert card.copies == ("/b/bikes.mp4", "/z/aaaa_long_name.mp4")  # in the order found
    assert card.segment_ids == hits[0].segment_ids and card.score == 0.9
    # a reachable copy goes before an unreachable one, then the first found
    offline = {"f-bikes": [replace(first, online=False), Place("/z/aaaa_long_name.mp4", 7)]}
    assert fold_copies(hits[:1], lambda r: "f-bikes", offline)[0].path == "/z/aaaa_long_name.mp4"


def test_an_offline_copy_gives_way_to_a_reachable_one() -> None:
    hits = [
        SearchResult("/usb/a.mp4", 0, 8, 0.9, None, 1, (1,), online=False),
        SearchResult("/home/a.mp4", 0, 8, 0.9, None, 2, (2,), online=True),
    ]
    folded = fold_copies(hits, lambda r: "same")
    shown = [(r.path, r.copies, r.online) for r in folded]
    assert shown == [("/home/a.mp4", ("/usb/a.mp4",), True)]


# --------------------------------------------------------------------------- relevance
def test_relevance_is_measured_against_the_library_not_the_best_hit() -> None:
    rng = np.random.default_rng(0)
    library = rng.normal(0.2, 0.02, 2000)  # CLIP-like: typical moments score 0.2 ± 0.02
    bg = Background.of(library)
    assert bg is not None and abs(bg.median - 0.2) < 0.003 and abs(bg.spread - 0.02) < 0.003
    assert bg.relevance(bg.median) == 0.0 and bg.relevance(0.1) == 0.0  # typical or worse
    assert bg.relevance(bg.median + 4.01 * bg.spread) == 1.0  # four spreads above the median
    assert abs(bg.relevance(0.24) - 0.5) < 0.05
    assert label(bg.relevance(0.27)) == "strong" and label(bg.relevance(0.245)) == "good"
    assert label(bg.relevance(0.21)) == "weak" and label(None) == ""
    # the same similarity means something else in a library whose scores spread widely
    wide = Background.of(rng.normal(0.0, 0.3, 2000))
    assert wide is not None and wide.relevance(0.28) < 0.3
    assert Background.of(np.array([0.1, 0.2, 0.3])) is None  # too few moments to tell


def test_what_a_search_shows_first_follows_the_scores() -> None:
    full = relevance.FULL_STANDOUT
    # one strong match: middling ones wait behind "show more"
    assert shown_count([6 / full, 2.5 / full, 2.4 / full, 2.0 / full]) == 3  # MIN_SHOWN
    assert shown_count([1.0, 0.95, 0.9, 0.85, 0.5, 0.45]) == 4
    # several good ones: all of them, not the weak tail
    assert shown_count([3 / full, 2.9 / full, 2.6 / full, 2.2 / full, 1.0 / full]) == 4
    # nothing stands out: the closest few are still shown
    assert shown_count([0.2, 0.19, 0.18, 0.17, 0.16]) == 3
    assert shown_count([0.2]) == 1 and shown_count([]) == 0
    assert shown_count([None, None, None, None, None]) == 5  # a tiny library: everything


# --------------------------------------------------------------------------- the library
@pytest.fixture(scope="module")
def encoder(tiny_seqtransf) -> Encoder:
    return Encoder(tiny_seqtransf[1], force_cpu=True)


def _write_frames(path: Path, seed: int, frames: int, fps: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (128, 96))
    for i in range(frames):
        writer.write(pattern(seed, i // fps))
    writer.release()
    return path


def test_moments_end_inside_their_video_in_the_library_and_the_cli(
    tmp_path, encoder, tiny_seqtransf, capsys
) -> None:
    """A 7.5 s clip sampled at 1 frame/s has frames at 0–7 s; its last window used to end at
    8 s, past the end of the video (0:04–0:08 on a 0:07 clip)."""
    videos = tmp_path / "v"
    clip = _write_frames(videos / "short.mp4", seed=3, frames=75)
    for i in range(3):
        write_video(videos / f"other{i}.mp4", seed=20 + i, seconds=10)
    with Library(encoder, tmp_path / "lib") as lib:
        lib.add_folder(videos)
        lib.sync()
        lib.index_job().run()
        raw = lib.search("a clip", k=100, merge=False)
        merged = lib.search("a clip", k=100)
        for r in raw + merged:
            assert r.duration is not None and 0 <= r.t0 < r.t1 <= r.duration + 1e-6, r
        ends = [r.t1 for r in raw if r.path == str(clip.resolve())]
        assert max(ends) == pytest.approx(7.5, abs=0.05)
    code = cli(
        ["search", "a clip", "-k", "50", "--json", "--library", str(tmp_path / "lib"),
         "--model", str(tiny_seqtransf[1]), "--cpu"]
    )  # fmt: skip
    assert code == 0
    results = json.loads(capsys.readouterr().out)["results"]
    short = [r for r in results if r["path"].endswith("short.mp4")]
    assert short and max(r["t1"] for r in short) <= 7.5 + 1e-6
    assert all(set(r) >= {"relevance", "copies", "online"} for r in results)


def test_the_same_file_in_two_folders_is_one_moment(tmp_path, encoder, tiny_seqtransf, capsys):
    home, backup = tmp_path / "home", tmp_path / "backup"
    write_video(home / "party.mp4", seed=1, seconds=12)
    for i in range(4):
        write_video(home / f"clip{i}.mp4", seed=40 + i, seconds=8)
    backup.mkdir()
    shutil.copy(home / "party.mp4", backup / "party copy.mp4")
    with Library(encoder, tmp_path / "lib") as lib:
        lib.add_folder(home)
        lib.sync()
        lib.index_job().run()
        lib.add_folder(backup)  # a backup drive added later: its copy reuses the vectors
        report = lib.sync()
        assert report.copied == [str((backup / "party copy.mp4").resolve())]
        cap = cv2.VideoCapture(str(home / "party.mp4"))
        cap.set(cv2.CAP_PROP_POS_MSEC, 5500)
        ok, frame = cap.read()
        cap.release()
        assert ok
        results = lib.search_image(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), k=20)
        party = [r for r in results if "party" in Path(r.path).name]
        paths = {str((home / "party.mp4").resolve()), str((backup / "party copy.mp4").resolve())}
        assert party and all({r.path, *r.copies} == paths for r in party)
        keys = [(r.t0, r.t1) for r in party]
        assert len(keys) == len(set(keys))  # one card per moment, not one per copy
        assert not overlapping_pairs(results)
        # rated against the library, in score order (the tiny random model tells little apart)
        rel = [r.relevance for r in results]
        assert all(r is not None and 0 <= r <= 1 for r in rel)
        assert rel == sorted(rel, reverse=True)
    args = ["search", "a party", "--library", str(tmp_path / "lib")]
    assert cli([*args, "--model", str(tiny_seqtransf[1]), "--cpu"]) == 0
    out = capsys.readouterr().out
    assert "(+1 copy)" in out
    assert out.count("party") == out.count("(+1 copy)")


def test_the_demo_model_shows_the_right_video_and_cuts_the_rest() -> None:
    """On fresh demo videos: the video a caption describes is among the moments shown before
    "show more" for nearly every caption, and those are a small part of the library."""
    from core.demo.library import build_demo
    from core.model.registry import DEMO_MODEL

    encoder = Encoder(DEMO_MODEL, force_cpu=True)
    lib, pairs = build_demo(encoder, videos=60, seed=9)
    try:
        found, shown_sizes, right, others = 0, [], [], []
        for video, caption in pairs:
            results = lib.search(caption, 60)
            shown = shown_count([r.relevance for r in results])
            shown_sizes.append(shown)
            found += any(r.path == video for r in results[:shown])
            right += [r.relevance for r in results if r.path == video][:1]
            others += [r.relevance for r in results[1:] if r.path != video]
    finally:
        lib.close()
    print(
        f"right video shown first for {found}/{len(pairs)} captions;"
        f" shown {np.mean(shown_sizes):.1f} of {len(pairs)} on average;"
        f" relevance of the right video {np.median(right):.2f}, of others {np.median(others):.2f}"
    )
    assert found >= 0.85 * len(pairs)
    assert np.mean(shown_sizes) <= 0.25 * len(pairs)
    assert np.median(right) > np.median(others) + 0.2
