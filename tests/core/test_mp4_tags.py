"""MP4 / QuickTime tags read from box headers agree with what FFmpeg reads, without FFmpeg."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest

from core.ingest.mp4_tags import read_mp4_tags
from tests.videos import write_tagged_video

DATE_KEYS = (
    "creation_time",
    "com.apple.quicktime.creationdate",
    "com.apple.quicktime.location.iso6709",
    "location",
)


def ffmpeg_tags(path: Path) -> dict[str, str]:
    with av.open(str(path), metadata_errors="ignore") as container:
        return {k.lower(): v for k, v in container.metadata.items()}


@pytest.mark.parametrize(
    ("name", "tags"),
    [
        ("phone.mov", {
            "com.apple.quicktime.creationdate": "2020-05-17T18:30:00+0200",
            "creation_time": "2020-05-17T16:30:05.000000Z",
            "com.apple.quicktime.location.ISO6709": "+48.8583+002.2945+035.000/",
        }),
        ("camera.mp4", {"creation_time": "2019-07-14T13:32:10.000000Z"}),
        ("keys.mp4", {"com.apple.quicktime.creationdate": "2021-01-02T03:04:05-0500",
                      "location": "+40.7128-074.0060/"}),
        ("bare.mp4", {}),
    ],
)  # fmt: skip
def test_the_tags_that_date_a_video_match_ffmpeg(tmp_path, name, tags) -> None:
    path = write_tagged_video(tmp_path / name, 1, tags, seconds=1)
    ours, theirs = read_mp4_tags(path), ffmpeg_tags(path)
    assert ours is not None
    for key in DATE_KEYS:
        assert ours.get(key) == theirs.get(key), key


def test_ffmpegs_3gpp_location_reads_as_ffmpeg_shows_it(tmp_path) -> None:
    """FFmpeg's MP4 muxer writes a place as a binary ``loci`` box (without metadata tags)."""
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        out.metadata["location"] = "+48.8583+002.2945/"
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert read_mp4_tags(path)["location"] == ffmpeg_tags(path)["location"] == "+48.8583+002.2945/"


def box(kind: bytes, payload: bytes, *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mvhd(seconds_since_1904: int) -> bytes:
    return box(b"mvhd", b"\x00\x00\x00\x00" + struct.pack(">II", seconds_since_1904, 0) + bytes(88))


def test_a_moov_after_a_64_bit_mdat_and_an_unset_date(tmp_path) -> None:
    since_1904 = datetime(2019, 7, 14, 13, 32, 10, tzinfo=UTC) - datetime(1904, 1, 1, tzinfo=UTC)
    late = box(b"ftyp", b"isom\x00\x00\x02\x00") + box(b"mdat", bytes(1000), large=True)
    path = tmp_path / "late.mp4"
    path.write_bytes(
        late + box(b"moov", mvhd(int(since_1904.total_seconds())) + box(b"trak", bytes(5000)))
    )
    assert read_mp4_tags(path) == {"creation_time": "2019-07-14T13:32:10.000000Z"}
    unset = tmp_path / "unset.mp4"
    unset.write_bytes(late + box(b"moov", mvhd(0)))
    assert read_mp4_tags(unset) == {}


def test_not_mp4_damaged_or_cut_short_never_raises(tmp_path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_bytes(b"these are not the boxes you are looking for")
    assert read_mp4_tags(text) is None
    mkv = write_tagged_video(tmp_path / "clip.mkv", 1, {"DATE_RECORDED": "2019-07-14"}, seconds=1)
    assert read_mp4_tags(mkv) is None  # Matroska: PyAV's to read
    phone = write_tagged_video(
        tmp_path / "phone.mov", 2, {"com.apple.quicktime.creationdate": "2020-05-17T18:30:00+0200"}
    )
    whole = phone.read_bytes()
    (tmp_path / "cut.mov").write_bytes(whole[:12])  # not even a whole first box: PyAV's turn
    assert read_mp4_tags(tmp_path / "cut.mov") is None
    for cut in (len(whole) // 2, len(whole) - 40):  # moov (written last) lost or cut: no tags
        (tmp_path / "cut.mov").write_bytes(whole[:cut])
        assert read_mp4_tags(tmp_path / "cut.mov") == {}
    lying = bytearray(whole)
    at = whole.find(b"keys") - 4
    lying[at : at + 4] = struct.pack(">I", 0xFFFFFF)  # a box that claims to run past its parent
    (tmp_path / "lying.mov").write_bytes(bytes(lying))
    assert isinstance(read_mp4_tags(tmp_path / "lying.mov"), dict)
