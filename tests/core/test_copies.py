"""One card per file: copies of a video (same bytes, other names, other folders) fold into one
card in browsing and in every search, named the same way each time — the copy inside the
folder filter when one is set, else the place the file was found first — with the other places
listed as its copies (core.query.ranking.fold_copies, core.query.search, core.store.catalog,
the CLI)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from core.cli.main import main as cli
from core.library import Library
from core.model.encoder import Encoder
from tests.library_support import index_all
from tests.videos import frame_at, write_video

LONG = "aaaa" + "_a_long_name" * 6 + ".mp4"  # sorts before "bikes.mp4"


@pytest.fixture(scope="module")
def encoder(tiny_seqtransf) -> Encoder:
    return Encoder(tiny_seqtransf[1], force_cpu=True)


@pytest.fixture(scope="module")
def library(tmp_path_factory, encoder) -> dict[str, Path]:
    """bikes.mp4 found first, then two copies of it in two folders added later, one by one."""
    base = tmp_path_factory.mktemp("copies")
    home, backup, archive = base / "home", base / "backup", base / "archive"
    write_video(home / "bikes.mp4", seed=1, seconds=12)
    for i in range(4):
        write_video(home / f"clip{i}.mp4", seed=40 + i, seconds=8)
    backup.mkdir()
    archive.mkdir()
    shutil.copy(home / "bikes.mp4", backup / LONG)
    shutil.copy(home / "bikes.mp4", archive / "bikes (2).mp4")
    with Library(encoder, base / "lib") as lib:
        index_all(lib, home)
        lib.add_folder(backup)
        assert len(lib.sync().copied) == 1  # the long name, found second
        lib.add_folder(archive)
        assert len(lib.sync().copied) == 1  # bikes (2).mp4, found third
    return {
        "lib": base / "lib",
        "home": home,
        "backup": backup,
        "archive": archive,
        "first": (home / "bikes.mp4").resolve(),
        "long": (backup / LONG).resolve(),
        "second": (archive / "bikes (2).mp4").resolve(),
    }


def _bikes(lib: dict[str, Path]) -> set[str]:
    return {str(lib["first"]), str(lib["long"]), str(lib["second"])}


def test_browse_shows_one_card_per_file_named_where_it_was_first_found(library, encoder):
    bikes = _bikes(library)
    with Library(encoder, library["lib"]) as lib:
        cards = lib.browse()
        shown = [r for r in cards if r.path in bikes]
        assert [r.path for r in shown] == [str(library["first"])]
        assert set(shown[0].copies) == bikes - {str(library["first"])}
        assert len(cards) == 5  # bikes and the four clips
        # the catalog's own browse gives one row per file too
        rows = lib.catalog.browse()
        assert len(rows) == len({r.fingerprint for r in rows}) == 5
        assert lib.browse(limit=2) == cards[:2]


def test_every_search_names_the_file_the_same_way(library, encoder):
    bikes = _bikes(library)
    first = str(library["first"])
    still = frame_at(library["first"], 5.5)
    with Library(encoder, library["lib"]) as lib:
        searches = [
            lib.search(text, k=20)
            for text in ("bikes", "a party at night", "a cat on a sofa", "aaaa", "the sea")
        ]
        searches.append(lib.search_image(still, k=20))
        searches.append(lib.search("bikes", k=20, merge=False))
        for results in searches:
            found = [r for r in results if r.path in bikes or set(r.copies) & bikes]
            assert found
            assert {r.path for r in found} == {first}, [Path(r.path).name for r in found]
            assert all(set(r.copies) == bikes - {first} for r in found)
            keys = [(r.t0, r.t1) for r in found]
            assert len(keys) == len(set(keys))  # one card per moment, not one per copy


def test_a_folder_filter_names_the_copy_inside_it(library, encoder):
    bikes = _bikes(library)
    second, long = str(library["second"]), str(library["long"])
    with Library(encoder, library["lib"]) as lib:
        cards = lib.browse(folders=[library["archive"]])
        assert [r.path for r in cards] == [second]
        assert set(cards[0].copies) == bikes - {second}  # the other places are still listed
        found = lib.search("bikes", k=20, folders=[library["archive"]])
        assert found and {r.path for r in found} == {second}
        # two folders, each with a copy: the one found first of those inside
        both = [library["archive"], library["backup"]]
        assert [r.path for r in lib.browse(folders=both)] == [long]
        for text in ("bikes", "a party at night", "the sea"):
            assert {r.path for r in lib.search(text, k=20, folders=both)} == {long}
        assert {
            r.path for r in lib.search_image(frame_at(library["first"], 2.5), folders=both)
        } == {long}


def test_an_unreachable_first_copy_gives_way_to_a_reachable_one(library, encoder):
    first, long = library["first"], str(library["long"])
    away = first.with_name("away.bin")
    os.rename(first, away)  # an unplugged drive: the catalog still knows the path
    try:
        with Library(encoder, library["lib"]) as lib:
            bikes = [r for r in lib.browse() if r.path in _bikes(library)]
            assert [(r.path, r.online) for r in bikes] == [(long, True)]
            assert {r.path for r in lib.search("bikes", k=20) if r.path in _bikes(library)} == {
                long
            }
    finally:
        os.rename(away, first)


def test_the_cli_lists_each_file_once(library, tiny_seqtransf, capsys):
    bikes = _bikes(library)
    common = ["--library", str(library["lib"]), "--model", str(tiny_seqtransf[1]), "--cpu"]
    assert cli(["browse", "--json", *common]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["path"] for r in results if r["path"] in bikes] == [str(library["first"])]
    assert cli(["browse", *common]) == 0
    out = capsys.readouterr().out
    assert "bikes.mp4" in out and LONG not in out and "bikes (2).mp4" not in out
    for text in ("bikes", "the sea"):
        assert cli(["search", text, "-k", "20", "--json", *common]) == 0
        results = json.loads(capsys.readouterr().out)["results"]
        assert {r["path"] for r in results if r["path"] in bikes} == {str(library["first"])}
