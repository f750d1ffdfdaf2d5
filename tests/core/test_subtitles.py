"""Subtitles read as transcripts: sidecar SRT/VTT files and embedded text tracks (real files,
muxed with PyAV), markup stripped, times exact, encodings guessed, broken files in one line."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from core.speech import subtitles
from core.speech.subtitles import SubtitleError, read_subtitles
from core.speech.transcript import SUBTITLE
from tests.videos import write_video

SRT = """1
00:00:12,000 --> 00:00:15,000
<i>happy birthday</i> {\\an8}grandma

2
00:00:16,250 --> 00:00:18,500
<font color="#ff0000">we are</font>
lost
"""

VTT = """WEBVTT - made by hand

NOTE this is a comment
with two lines

intro
00:12.000 --> 00:15.000 align:start position:10%
<v Grandpa>happy birthday</v> &amp; more

00:00:16.250 --> 00:00:18.500
<c.loud>we are lost</c>
"""

ASS_HEADER_TEXT = (
    "[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour,"
    " Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline,"
    " Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
    "Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\n\n"
    "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
)
#: The ASS header the mov_text encoder needs, NUL-terminated: the encoder reads it as a C
#: string.
ASS_HEADER = ASS_HEADER_TEXT.encode() + b"\0"

CUES = [(12.0, 15.0, "happy birthday grandma"), (16.25, 18.5, "생일 축하해요 할머니")]


def _cues(transcript) -> list[tuple[float, float, str]]:
    return [(line.start, line.end, line.text) for line in transcript.lines]


def _video(out: av.container.OutputContainer) -> av.VideoStream:
    """A video stream. Every stream must be added before the first packet is muxed (the
    header is written then: a stream added later crashed PyAV's muxer)."""
    v = out.add_stream("mpeg4", rate=10)
    v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
    return v


def _frames(out: av.container.OutputContainer, v: av.VideoStream, seconds: int) -> None:
    """``seconds`` of black video."""
    for _ in range(seconds * 10):
        frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
        for p in v.encode(frame):
            out.mux(p)
    for p in v.encode():
        out.mux(p)


def _mux(out: av.container.OutputContainer, stream, cues, payload) -> None:
    for start, end, text in cues:
        packet = av.Packet(payload(text))
        packet.stream = stream
        packet.time_base = Fraction(1, 1000)
        packet.pts = packet.dts = round(start * 1000)
        packet.duration = round((end - start) * 1000)
        out.mux(packet)


def mp4_with_mov_text(path: Path, cues, language: str = "kor", seconds: int = 20) -> Path:
    """An MP4 with a video and a mov_text (3GPP timed text) track, as phones and ffmpeg write."""
    with av.open(str(path), "w") as out:
        video = _video(out)
        sub = out.add_stream("mov_text")
        sub.codec_context.subtitle_header = ASS_HEADER
        sub.time_base = Fraction(1, 1000)
        sub.metadata["language"] = language
        _frames(out, video, seconds)

        def payload(text: str) -> bytes:
            body = text.encode()
            return struct.pack(">H", len(body)) + body

        _mux(out, sub, cues, payload)
    return path


def mkv_with_track(path: Path, cues, kind: str = "srt", language: str | None = "eng") -> Path:
    """An MKV with a video and a text subtitle track (``srt`` or ``ass``), its stream copied
    from a file PyAV's own demuxer reads."""
    source = path.with_suffix(f".{kind}")
    if kind == "srt":
        text = "".join(
            f"{i}\n{_stamp(a)} --> {_stamp(b)}\n{t}\n\n" for i, (a, b, t) in enumerate(cues, 1)
        )
    else:
        broken = [(a, b, t.replace(" ", "\\N", 1)) for a, b, t in cues]  # an ASS line break
        text = ASS_HEADER_TEXT + "".join(
            f"Dialogue: 0,{_ass(a)},{_ass(b)},Default,,0,0,0,,{{\\i1}}{t}\n" for a, b, t in broken
        )
    source.write_text(text, encoding="utf-8")
    with av.open(str(source)) as inp, av.open(str(path), "w") as out:
        video = _video(out)
        template = inp.streams.subtitles[0]
        sub = out.add_stream_from_template(template)
        if language:
            sub.metadata["language"] = language
        _frames(out, video, 20)
        for packet in inp.demux(template):
            if packet.dts is None:
                continue
            packet.stream = sub
            out.mux(packet)
    source.unlink()
    return path


def _stamp(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3600000:02}:{ms // 60000 % 60:02}:{ms // 1000 % 60:02},{ms % 1000:03}"


def _ass(t: float) -> str:
    cs = round(t * 100)
    return f"{cs // 360000}:{cs // 6000 % 60:02}:{cs // 100 % 60:02}.{cs % 100:02}"


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "party.mp4", seed=1, seconds=20)


# --------------------------------------------------------------------------- sidecars
def test_an_srt_sidecar_is_read_with_exact_times_and_no_markup(video: Path) -> None:
    video.with_suffix(".srt").write_text(SRT, encoding="utf-8")
    found = read_subtitles(video)
    assert found is not None
    assert found.source == SUBTITLE and found.origin == "sidecar:party.srt"
    assert found.language == ""  # the name says none
    assert _cues(found) == [(12.0, 15.0, "happy birthday grandma"), (16.25, 18.5, "we are lost")]


def test_a_vtt_sidecar_skips_header_notes_ids_and_settings(video: Path) -> None:
    video.with_suffix(".vtt").write_text(VTT, encoding="utf-8")
    found = read_subtitles(video)
    assert found is not None and found.origin == "sidecar:party.vtt"
    assert _cues(found) == [(12.0, 15.0, "happy birthday & more"), (16.25, 18.5, "we are lost")]


def test_the_language_comes_from_the_sidecar_name(video: Path, tmp_path: Path) -> None:
    (tmp_path / "party.ko.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\n안녕\n", "utf-8")
    (tmp_path / "party.en-US.vtt").write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n", "utf-8")
    (tmp_path / "partygoers.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nno\n", "utf-8")
    langs = {s.path.name: s.language for s in subtitles.sidecars(video)}
    assert langs == {"party.en-US.vtt": "en", "party.ko.srt": "ko"}
    assert read_subtitles(video, prefer="ko").language == "ko"  # type: ignore[union-attr]
    assert read_subtitles(video, prefer="en").lines[0].text == "hi"  # type: ignore[union-attr]
    # no preference: the first by name
    assert read_subtitles(video).origin == "sidecar:party.en-US.vtt"  # type: ignore[union-attr]
    # a sidecar naming no language comes before those that do
    (tmp_path / "party.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nplain\n", "utf-8")
    assert read_subtitles(video).origin == "sidecar:party.srt"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8-sig", "생일 축하해요 할머니"),
        ("utf-16", "생일 축하해요 할머니"),  # with its BOM
        ("utf-16-le", "happy birthday grandma"),  # no BOM: told by its NULs
        ("cp949", "생일 축하해요 할머니"),
        ("cp1252", "joyeux anniversaire, mémé"),
    ],
)
def test_encodings(video: Path, encoding: str, text: str) -> None:
    srt = f"1\r\n00:00:12,000 --> 00:00:15,000\r\n{text}\r\n"
    video.with_suffix(".srt").write_bytes(srt.encode(encoding))
    found = read_subtitles(video)
    assert found is not None and _cues(found) == [(12.0, 15.0, text)]


def test_broken_sidecars_are_one_line_errors_never_a_crash(
    video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = video.with_suffix(".srt")
    bad.write_bytes(b"\x00\xff\x13garbage" * 100)
    with pytest.raises(SubtitleError) as raised:
        subtitles.read_sidecar(bad)
    assert "\n" not in str(raised.value) and "party.srt" in str(raised.value)
    assert read_subtitles(video) is None  # logged, and nothing else to read
    assert "party.srt" in caplog.text
    # a readable candidate after a broken one is still found
    video.with_suffix(".vtt").write_text(VTT, encoding="utf-8")
    assert read_subtitles(video).origin == "sidecar:party.vtt"  # type: ignore[union-attr]


def test_a_missing_or_unreadable_video_has_no_subtitles(tmp_path: Path) -> None:
    assert read_subtitles(tmp_path / "gone.mp4") is None
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    assert read_subtitles(junk) is None


def test_markup_is_stripped() -> None:
    clean = subtitles.clean
    assert clean("{\\an8}<b>Hello</b>\\Nthere") == "Hello there"
    assert clean("{\\i1\\c&H0000FF&}red{\\i0} text") == "red text"
    assert clean('<font face="x">a</font> &lt;b&gt;  c') == "a <b> c"
    assert subtitles.language_code("kor") == "ko" and subtitles.language_code("und") == ""
    assert subtitles.language_code("pt_BR") == "pt"


# --------------------------------------------------------------------------- embedded tracks
def test_an_mp4_mov_text_track_is_read(tmp_path: Path) -> None:
    clip = mp4_with_mov_text(tmp_path / "phone.mp4", CUES)
    found = read_subtitles(clip)
    assert found is not None
    assert found.origin == "track:1:mov_text" and found.language == "ko"
    assert _cues(found) == CUES


@pytest.mark.parametrize("kind", ["srt", "ass"])
def test_an_mkv_text_track_is_read(tmp_path: Path, kind: str) -> None:
    clip = mkv_with_track(tmp_path / "film.mkv", CUES, kind)
    found = read_subtitles(clip)
    assert found is not None and found.language == "en"
    assert found.origin.startswith("track:1:")
    assert _cues(found) == CUES  # ASS: {\i1} and \N gone


def test_a_sidecar_wins_over_an_embedded_track(tmp_path: Path) -> None:
    clip = mp4_with_mov_text(tmp_path / "phone.mp4", CUES)
    clip.with_suffix(".srt").write_text(SRT, encoding="utf-8")
    assert read_subtitles(clip).origin == "sidecar:phone.srt"  # type: ignore[union-attr]


def test_a_track_asked_for_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    clip = mp4_with_mov_text(tmp_path / "phone.mp4", CUES)
    with pytest.raises(SubtitleError, match="no subtitle track 0"):
        subtitles.read_track(clip, 0)  # the video stream
