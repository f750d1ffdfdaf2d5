"""A video's subtitles as a transcript: sidecar files beside it and text tracks inside it.

No model is needed: a subtitle cue *is* a timed line of what was said. Two places are read:

* **sidecar files** beside the video, named after it: ``clip.srt``, ``clip.vtt``, and with a
  language, ``clip.ko.srt`` / ``clip.en-US.vtt`` (the language is taken from the name);
* **embedded text tracks**, read with PyAV without decoding a frame: ``mov_text`` (MP4/MOV),
  ``subrip``/``srt``, ``ass``/``ssa`` and ``webvtt`` (MKV); the language from the stream's
  metadata (ISO 639-2 ``kor`` becomes ``ko``). Picture subtitles (DVD, PGS) are not text and are
  left alone.

**Which one wins** when several exist (one transcript per video): a sidecar over an embedded track
(a file someone put beside the video is the deliberate choice); among sidecars, and among tracks,
the one in ``prefer`` (a language code) if given, else the one that names no language
(``clip.srt``) or the track marked default, else the first by file name or track order. Nothing
more clever: the choice is stated in the transcript's ``origin`` (``sidecar:clip.ko.srt``,
``track:2:mov_text``).

Text is cleaned of markup (``<i>``, ``<font>``, ``{\\an8}``, ASS override blocks, ``\\N``), times
are kept exactly as written (``00:00:12,000`` is 12.0 s). Files are decoded as UTF-8 (with or
without BOM), UTF-16 (BOM, or the NUL pattern of one), else EUC-KR/CP949 when that reads as
Korean, else CP1252. A broken file is a one-line :class:`SubtitleError`, never a traceback;
:func:`read_subtitles` logs it and goes on to the next candidate.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.speech.transcript import SUBTITLE, Line, Transcript

log = logging.getLogger(__name__)

SIDECAR_EXTENSIONS = (".srt", ".vtt")
#: Embedded codecs whose packets are text (PyAV's codec names).
TEXT_CODECS = ("mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text")
#: A sidecar bigger than this is not a subtitle file (a 2-hour film's SRT is ~100 KB).
MAX_SIDECAR_BYTES = 16 * 1024 * 1024

#: ISO 639-2 (B and T) codes of the languages a track most often names, to ISO 639-1.
_ISO_639_2 = {
    "eng": "en", "kor": "ko", "jpn": "ja", "zho": "zh", "chi": "zh", "fra": "fr", "fre": "fr",
    "deu": "de", "ger": "de", "spa": "es", "ita": "it", "por": "pt", "rus": "ru", "nld": "nl",
    "dut": "nl", "swe": "sv", "nor": "no", "dan": "da", "fin": "fi", "pol": "pl", "tur": "tr",
    "ara": "ar", "hin": "hi", "tha": "th", "vie": "vi", "ind": "id", "ukr": "uk", "ces": "cs",
    "cze": "cs", "ell": "el", "gre": "el", "heb": "he", "hun": "hu", "ron": "ro", "rum": "ro",
}  # fmt: skip
_UNKNOWN = {"", "und", "unk", "mis", "mul", "zxx", "xx"}


class SubtitleError(ValueError):
    """A subtitle file or track that cannot be read; the message is one line."""


def language_code(tag: str | None) -> str:
    """``kor`` / ``ko`` / ``ko-KR`` / ``en_US`` → ``ko`` / ``ko`` / ``ko`` / ``en``; ``""`` when
    unknown (``und``) or not a language tag."""
    if not tag:
        return ""
    head = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    if head in _UNKNOWN or not head.isascii() or not head.isalpha():
        return ""
    if len(head) == 3:
        return _ISO_639_2.get(head, head)
    return head if len(head) == 2 else ""


# --------------------------------------------------------------------------- text and markup
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<\d[\d:.]*>")  # <i>, <font ...>, <v Bob>, <00:01.000>
_BRACES = re.compile(r"\{[^{}]*\}")  # {\an8}, ASS override blocks {\i1\c&H0000FF&}
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Cue text without markup, on one line: tags, override blocks, ASS line breaks and hard
    spaces gone, entities decoded, whitespace collapsed."""
    text = text.replace("\\N", " ").replace("\\n", " ").replace("\\h", " ")
    text = _BRACES.sub("", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    return _SPACE.sub(" ", text).strip()


def decode_text(data: bytes) -> str:
    """Subtitle bytes as text: UTF-8 (BOM or not), UTF-16 (BOM, or NULs every other byte),
    else CP949/EUC-KR when that reads as Korean, else CP1252 (never fails)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    head = data[:4096]
    if len(head) >= 4 and head.count(0) >= len(head) // 4:  # UTF-16 without a BOM
        odd = head[1::2].count(0) > head[0::2].count(0)
        return data.decode("utf-16-le" if odd else "utf-16-be", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        korean = data.decode("cp949")
    except UnicodeDecodeError:
        korean = ""
    if korean:
        wide = [c for c in korean if ord(c) > 127]
        hangul = sum(1 for c in wide if "\uac00" <= c <= "\ud7a3")
        if wide and hangul >= len(wide) / 2:
            return korean
    return data.decode("cp1252", errors="replace")


# --------------------------------------------------------------------------- SRT and WebVTT
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")


def _seconds(h: str | None, m: str, s: str, frac: str | None) -> float:
    whole = int(h or 0) * 3600 + int(m) * 60 + int(s)
    return whole + (int(frac) / 10 ** len(frac) if frac else 0.0)


def parse_cues(text: str, name: str = "subtitles") -> tuple[Line, ...]:
    """The cues of an SRT or WebVTT text, in time order (both share the ``start --> end``
    timing line; numbers, cue ids, ``WEBVTT``, ``NOTE``/``STYLE`` blocks and cue settings are
    skipped). Raises :class:`SubtitleError` when no cue can be read at all."""
    lines: list[Line] = []
    rows = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(rows):
        found = _TIMING.match(rows[i])
        i += 1
        if not found:
            continue
        g = found.groups()
        start, end = _seconds(*g[:4]), _seconds(*g[4:])
        said: list[str] = []
        while i < len(rows) and rows[i].strip() and not _TIMING.match(rows[i]):
            said.append(rows[i])
            i += 1
        words = clean(" ".join(said))
        if words and end >= start:
            lines.append(Line(start, end, words))
    if not lines:
        raise SubtitleError(f"{name}: no subtitle cue could be read")
    return tuple(sorted(lines, key=lambda line: (line.start, line.end)))


# --------------------------------------------------------------------------- sidecars
@dataclass(frozen=True)
class Sidecar:
    path: Path
    #: From the name (``clip.ko.srt``): ISO 639-1, "" when the name gives none.
    language: str


def sidecars(video: Path) -> list[Sidecar]:
    """The subtitle files beside ``video`` named after it, by file name."""
    stem = video.stem
    out = []
    try:
        entries = sorted(video.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if entry.suffix.lower() not in SIDECAR_EXTENSIONS or not name.startswith(stem):
            continue
        middle = name[len(stem) : -len(entry.suffix)]
        if middle == "":
            out.append(Sidecar(entry, ""))
        elif middle.startswith(".") and 2 <= len(middle) <= 12:
            tag = middle[1:].split(".")[0]  # clip.ko.forced.srt: "ko"
            if language_code(tag):
                out.append(Sidecar(entry, language_code(tag)))
    return [s for s in out if s.path.is_file()]


def read_sidecar(path: Path, language: str = "") -> Transcript:
    """One sidecar file as a transcript. Raises :class:`SubtitleError` (one line)."""
    try:
        size = path.stat().st_size
        if size > MAX_SIDECAR_BYTES:
            raise SubtitleError(f"{path.name}: {size:,} bytes is too big for a subtitle file")
        data = path.read_bytes()
    except OSError as exc:
        raise SubtitleError(f"{path.name}: {exc.strerror or exc}") from None
    lines = parse_cues(decode_text(data), path.name)
    return Transcript(language, SUBTITLE, f"sidecar:{path.name}", lines)


# --------------------------------------------------------------------------- embedded tracks
@dataclass(frozen=True)
class Track:
    index: int
    codec: str
    language: str
    default: bool


def _packet_text(codec: str, payload: bytes) -> str:
    """The text of one subtitle packet of ``codec``."""
    if codec == "mov_text":  # 3GPP timed text: a 16-bit length, the text, then style boxes
        if len(payload) < 2:
            return ""
        size = int.from_bytes(payload[:2], "big")
        body = payload[2 : 2 + size]
        if body.startswith((b"\xff\xfe", b"\xfe\xff")):
            return clean(body.decode("utf-16", errors="replace"))
        return clean(body.decode("utf-8", errors="replace"))
    text = decode_text(payload)
    if codec in ("ass", "ssa"):  # ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text
        if text.startswith("Dialogue:"):
            text = text[len("Dialogue:") :]
        fields = text.split(",", 8)
        if len(fields) < 9 or "\\p1" in fields[8]:  # a drawing, not words
            return ""
        text = fields[8]
    return clean(text)


def tracks(video: Path) -> list[Track]:
    """The text subtitle tracks inside ``video`` (none for a file PyAV cannot open)."""
    import av

    try:
        with av.open(str(video), metadata_errors="ignore") as container:
            return [
                Track(
                    s.index,
                    s.codec_context.name,
                    language_code(s.metadata.get("language")),
                    bool(s.disposition & av.stream.Disposition.default),
                )
                for s in container.streams.subtitles
                if s.codec_context is not None and s.codec_context.name in TEXT_CODECS
            ]
    except (av.FFmpegError, OSError, ValueError) as exc:
        log.debug("%s: no subtitle tracks read (%s)", video.name, exc)
        return []


def read_track(video: Path, index: int) -> Transcript:
    """The embedded text track ``index`` (the stream's index) as a transcript; only that
    stream's packets are demuxed, nothing is decoded. Raises :class:`SubtitleError`."""
    import av

    try:
        with av.open(str(video), metadata_errors="ignore") as container:
            stream = next((s for s in container.streams if s.index == index), None)
            if stream is None or stream.type != "subtitle" or stream.codec_context is None:
                raise SubtitleError(f"{video.name}: no subtitle track {index}")
            codec = stream.codec_context.name
            if codec not in TEXT_CODECS:
                raise SubtitleError(f"{video.name}: track {index} ({codec}) is not text")
            language = language_code(stream.metadata.get("language"))
            cues: list[tuple[float, float | None, str]] = []
            for packet in container.demux(stream):
                if packet.pts is None or packet.time_base is None:
                    continue
                text = _packet_text(codec, bytes(packet))
                if not text:
                    continue
                start = float(packet.pts * packet.time_base)
                span = float(packet.duration * packet.time_base) if packet.duration else None
                cues.append((start, span, text))
    except SubtitleError:
        raise
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise SubtitleError(f"{video.name}: subtitle track {index} unreadable ({exc})") from None
    cues.sort(key=lambda c: c[0])
    lines = []
    for i, (start, span, text) in enumerate(cues):
        if span is None:  # no duration: until the next cue, at most 5 s
            following = cues[i + 1][0] if i + 1 < len(cues) else start + 5.0
            span = min(max(following - start, 0.0), 5.0)
        lines.append(Line(start, start + span, text))
    if not lines:
        raise SubtitleError(f"{video.name}: subtitle track {index} holds no text")
    return Transcript(language, SUBTITLE, f"track:{index}:{codec}", tuple(lines))


# --------------------------------------------------------------------------- the choice
def _choose_sidecar(found: Iterable[Sidecar], prefer: str) -> list[Sidecar]:
    """Candidates in the order they are tried (see the module's docstring)."""
    return sorted(
        found,
        key=lambda s: (not (prefer and s.language == prefer), s.language != "", s.path.name),
    )


def _choose_track(found: Iterable[Track], prefer: str) -> list[Track]:
    return sorted(
        found, key=lambda t: (not (prefer and t.language == prefer), not t.default, t.index)
    )


def read_subtitles(video: Path, prefer: str = "") -> Transcript | None:
    """The subtitles of ``video`` as one transcript, or None when it has none that can be read.

    Sidecars are tried before embedded tracks, each in the order the module's docstring gives;
    a candidate that cannot be read is logged (one line) and the next one tried. Cheap for a
    video without subtitles: a directory listing and a container header.
    """
    video = Path(video)
    prefer = language_code(prefer)
    for sidecar in _choose_sidecar(sidecars(video), prefer):
        try:
            return read_sidecar(sidecar.path, sidecar.language)
        except SubtitleError as exc:
            log.warning("%s", exc)
    for track in _choose_track(tracks(video), prefer):
        try:
            return read_track(video, track.index)
        except SubtitleError as exc:
            log.warning("%s", exc)
    return None
