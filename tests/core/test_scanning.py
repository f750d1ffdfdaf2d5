"""Finding videos: content sniffing, skipped files, symlink loops, fingerprints."""

from __future__ import annotations

import os

from core.ingest.scan import describe_content, fingerprint, scan, sniff
from tests.videos import write_video


def test_sniffing_recognises_containers_and_not_images() -> None:
    assert sniff(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 8) == "MP4/QuickTime"
    assert sniff(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 8) is None
    assert sniff(b"RIFF\x00\x00\x00\x00AVI LIST") == "AVI"
    assert sniff(b"\x1a\x45\xdf\xa3" + b"\x00" * 8) == "Matroska/WebM"
    ts = bytearray(400)
    ts[0] = ts[188] = ts[376] = 0x47
    assert sniff(bytes(ts)) == "MPEG-TS"
    assert sniff(b"hello world") is None
    assert describe_content(b"\xff\xd8\xff\xe0") == "JPEG image"
    assert describe_content(b"just some notes\n") == "text file"
    assert describe_content(bytes(range(256))) == "not a video (unrecognised content)"


def test_scan_finds_videos_by_content_and_extension(tmp_path) -> None:
    write_video(tmp_path / "a.mp4", seed=1, seconds=1)
    # a video whose name lost its extension is still found, by content
    write_video(tmp_path / "sub" / "renamed.mp4", seed=2, seconds=1).rename(
        tmp_path / "sub" / "renamed.bin"
    )
    (tmp_path / "broken.mov").write_bytes(os.urandom(2000))  # extension says video: try it
    (tmp_path / "notes.txt").write_text("shopping list")
    (tmp_path / ".hidden").mkdir()
    write_video(tmp_path / ".hidden" / "x.mp4", seed=3, seconds=1)
    result = scan(tmp_path)
    names = sorted(f.path.name for f in result.videos)
    assert names == ["a.mp4", "broken.mov", "renamed.bin"]
    assert [(p.name, r) for p, r in result.skipped] == [("notes.txt", "text file")]


def test_symlink_loops_and_duplicate_links_are_cut(tmp_path) -> None:
    write_video(tmp_path / "lib" / "v.mp4", seed=1, seconds=1)
    (tmp_path / "lib" / "loop").symlink_to(tmp_path / "lib")
    (tmp_path / "lib" / "again.mp4").symlink_to(tmp_path / "lib" / "v.mp4")
    (tmp_path / "lib" / "dangling.mp4").symlink_to(tmp_path / "nowhere.mp4")
    result = scan(tmp_path / "lib")
    assert len(result.videos) == 1


def test_fingerprint_survives_rename_and_changes_with_content(tmp_path) -> None:
    a = write_video(tmp_path / "a.mp4", seed=1, seconds=3)
    before = fingerprint(a)
    b = a.rename(tmp_path / "b.mp4")
    assert fingerprint(b) == before
    write_video(b, seed=9, seconds=3)
    assert fingerprint(b) != before
