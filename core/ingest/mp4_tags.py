"""The tags of an MP4 / QuickTime file, read from its box headers: no stream is probed.

Opening a file with PyAV runs FFmpeg's stream probing, which reads packets and may decode some:
about 20-34 ms per 1080p phone clip, the cost of dating a library. The dates of MP4 and MOV
files (what phones and most cameras write) sit in a few small boxes of ``moov``, which this
reads by walking box headers and seeking past everything else (``mdat`` and each ``trak`` are
skipped whole), reading a few kilobytes however long the video:

* ``moov/mvhd``: the creation time, seconds since 1904 in UTC (0 when unset) → ``creation_time``
  (what FFmpeg reports under that name);
* ``moov/meta`` or ``moov/udta/meta`` with ``keys`` + ``ilst``: QuickTime's ``mdta`` tags
  (``com.apple.quicktime.creationdate``, ``com.apple.quicktime.location.ISO6709``, …), iPhones
  writing them in ``moov``, FFmpeg in ``udta``;
* ``moov/udta/©xyz`` (QuickTime) or ``loci`` (3GPP, what FFmpeg writes in MP4) →
  ``location``, and ``©day`` → ``date``, as FFmpeg names them.

Keys come back lower-cased, as :mod:`core.ingest.capture` reads them. A file that is not ISO
BMFF gives None (the caller then asks PyAV); damage gives whatever was read before it.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from core.pathnames import openable

#: First boxes an ISO BMFF file starts with (``ftyp`` in MP4; old QuickTime may start anyhow).
_LEADING = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"uuid"}
#: The boxes read whole (all small); anything else inside ``moov`` is skipped.
_SMALL_LIMIT = 1 << 20
_EPOCH_1904 = datetime(1904, 1, 1, tzinfo=UTC)
_UDTA_TEXT = {b"\xa9xyz": "location", b"\xa9day": "date"}


def _boxes(fh: BinaryIO, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in [start, end), by their headers only."""
    out = []
    at = start
    while at + 8 <= end:
        fh.seek(at)
        head = fh.read(16)
        if len(head) < 8:
            break
        size, kind = struct.unpack(">I4s", head[:8])
        payload = at + 8
        if size == 1:  # a 64-bit size follows
            if len(head) < 16:
                break
            size = struct.unpack(">Q", head[8:16])[0]
            payload = at + 16
        elif size == 0:  # to the end of the file (or of the parent)
            size = end - at
        if size < payload - at or at + size > end:
            break  # damaged: keep what was read
        out.append((kind, payload, at + size))
        at += size
    return out


def _read(fh: BinaryIO, start: int, end: int) -> bytes:
    if end - start > _SMALL_LIMIT:
        return b""
    fh.seek(start)
    return fh.read(end - start)


def _creation_time(mvhd: bytes) -> str | None:
    """``mvhd``'s creation time as FFmpeg writes the tag, or None when unset."""
    if len(mvhd) < 8:
        return None
    version = mvhd[0]
    if version == 1:
        if len(mvhd) < 12:
            return None
        seconds = struct.unpack(">Q", mvhd[4:12])[0]
    else:
        seconds = struct.unpack(">I", mvhd[4:8])[0]
    if seconds == 0:
        return None
    try:
        when = _EPOCH_1904 + timedelta(seconds=seconds)
    except OverflowError:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _mdta(fh: BinaryIO, meta: tuple[bytes, int, int]) -> dict[str, str]:
    """QuickTime ``mdta`` tags of a ``meta`` box: ``keys`` names them, ``ilst`` holds them."""
    _, start, end = meta
    fh.seek(start)
    if fh.read(8)[4:8] != b"hdlr":  # an ISO FullBox: version and flags come first
        start += 4
    children = {kind: (s, e) for kind, s, e in _boxes(fh, start, end)}
    if b"keys" not in children or b"ilst" not in children:
        return {}
    keys_box = _read(fh, *children[b"keys"])
    names: dict[int, str] = {}
    at, index = 8, 1  # after version/flags and the entry count
    while at + 8 <= len(keys_box):
        size = struct.unpack(">I", keys_box[at : at + 4])[0]
        if size < 8 or at + size > len(keys_box):
            break
        names[index] = keys_box[at + 8 : at + size].decode("utf-8", "replace").lower()
        at, index = at + size, index + 1
    tags: dict[str, str] = {}
    for kind, s, e in _boxes(fh, *children[b"ilst"]):
        name = names.get(struct.unpack(">I", kind)[0])
        data = next(((ds, de) for k, ds, de in _boxes(fh, s, e) if k == b"data"), None)
        if name is None or data is None:
            continue
        value = _read(fh, *data)
        if len(value) >= 8 and struct.unpack(">I", value[:4])[0] == 1:  # well-known type 1: UTF-8
            tags.setdefault(name, value[8:].decode("utf-8", "replace").strip("\x00 "))
    return tags


def _loci(box: bytes) -> str | None:
    """3GPP ``loci`` (what FFmpeg writes for MP4): a name, a role, then longitude, latitude and
    altitude as 16.16 fixed point, as ISO 6709 (``+48.8583+002.2945/``, as FFmpeg shows it)."""
    name_end = box.find(b"\x00", 6)  # after version/flags and the language
    if name_end < 0 or len(box) < name_end + 14:
        return None
    lon, lat, alt = struct.unpack(">iii", box[name_end + 2 : name_end + 14])
    place = f"{lat / 65536:+08.4f}{lon / 65536:+09.4f}"
    return place + (f"{alt / 65536:+.3f}" if alt else "") + "/"


def read_mp4_tags(path: Path) -> dict[str, str] | None:
    """The file's tags (lower-case names), or None when it is not an MP4/QuickTime file."""
    with open(openable(path), "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        top = _boxes(fh, 0, size)
        if not top or top[0][0] not in _LEADING:
            return None
        tags: dict[str, str] = {}
        for kind, start, end in top:
            if kind != b"moov":
                continue
            inside = _boxes(fh, start, end)
            for child, s, e in inside:
                if child == b"mvhd":
                    created = _creation_time(_read(fh, s, e))
                    if created:
                        tags["creation_time"] = created
                elif child == b"meta":
                    for name, value in _mdta(fh, (child, s, e)).items():
                        tags.setdefault(name, value)
                elif child == b"udta":
                    for item, us, ue in _boxes(fh, s, e):
                        if item == b"meta":
                            for name, value in _mdta(fh, (item, us, ue)).items():
                                tags.setdefault(name, value)
                        elif item == b"loci":
                            place = _loci(_read(fh, us, ue))
                            if place:
                                tags.setdefault("location", place)
                        elif item in _UDTA_TEXT:
                            text = _read(fh, us, ue)  # 16-bit length, 16-bit language, text
                            if len(text) >= 4:
                                length = struct.unpack(">H", text[:2])[0]
                                value = text[4 : 4 + length].decode("utf-8", "replace")
                                tags.setdefault(_UDTA_TEXT[item], value.strip())
        return tags
