"""Reading a picture given as a search query: safely, quietly, and no bigger than the model needs.

``cv2.imread(path)`` fails a desktop app in three ways, all reproduced on opencv-python-headless
5.0 (issue 14):

* **Size is only known after decoding.** A 1.2 MB PNG of 20000×20000 black pixels costs 2.3 GB
  of memory and 7–14 s on 2 cores (17–26 s when it is 16-bit RGBA) to turn into an array that
  the model then shrinks to 224×224. So the dimensions are read from the file's header first
  (:func:`image_size`) and anything above :data:`MAX_QUERY_PIXELS` is refused in milliseconds.
* **Paths go to C as UTF-8.** Given a name that is not valid UTF-8 (Python's surrogate-escaped
  ``'bad\\udcff.png'``), ``cv2.imread`` and ``cv2.VideoCapture`` kill the process with SIGSEGV.
  So OpenCV never sees a path: Python reads the bytes (``os.open`` takes any str, bytes or
  PathLike name) and ``cv2.imdecode`` decodes them from memory.
* **Damaged files are noisy.** libpng writes ``libpng error: …`` and OpenCV ``[ERROR:0@…]`` lines
  straight to fd 2 before returning nothing, and ``imread`` hands back a half-grey picture for a
  cut-short JPEG. So each format's structure is walked first — PNG chunks with their CRCs,
  JPEG segments up to the real end-of-image marker, BMP/WebP/GIF/TIFF/PNM extents — and a damaged
  file gets one line of our own, without the decoder ever running.

Decoding is reduced when the picture is far larger than the model needs: the short side is
kept at or above ``min_short_side`` (default :data:`MIN_SHORT_SIDE`, twice the 224 pixels the
model reads, so the final bicubic resize still averages several source pixels per output pixel).
What ``cv2.IMREAD_REDUCED_COLOR_{2,4,8}`` does, measured here:

* **JPEG:** real libjpeg DCT scaling. A 12000×12000 baseline JPEG decodes at 1/8 in 0.25 s with a
  67 MB peak, against 1.9 s and 870 MB at full size. (Progressive JPEGs still hold every DCT
  coefficient — about 3 bytes a pixel for 4:2:0 — so they save less: 192 MP costs 614 MB.)
* **Everything else:** the full picture is decoded, then shrunk by ``resize(INTER_LINEAR_EXACT)``.
  Peak memory is still ~40% below ``IMREAD_COLOR``'s (one full-size copy alive, not two), but
  bilinear sampling at 1/4 or 1/8 skips most pixels and aliases. So non-JPEG pictures are decoded
  at 1/2 only — there bilinear is an exact 2×2 average — and shrunk the rest of the way with
  ``INTER_AREA``.

Other behaviour worth knowing:

* EXIF orientation is applied (OpenCV does so for ``IMREAD_COLOR`` and ``IMREAD_REDUCED_*``
  alike), so a phone portrait comes back upright, its height and width swapped.
* Alpha is dropped, not composited: that is what open_clip's ``convert("RGB")`` does before the
  images the model was trained and evaluated on, and it keeps transparent pictures as cheap as
  opaque ones. Grayscale and palette pictures become three equal or looked-up channels, 16-bit
  ones 8-bit.
* A file of a type whose header we do not read (AVIF, JPEG 2000, Radiance HDR, Sun raster…) is
  still handed to OpenCV, but only when it is at most :data:`MAX_UNPARSED_BYTES`. That bounds
  the raw ones; a compressed one can still claim up to OpenCV's own cap of 2**30 pixels
  (``OPENCV_IO_MAX_IMAGE_PIXELS``). Such files are not checked for damage, so may be noisy.
* Corruption *inside* intact structure (flipped bits in compressed data, not a cut) is caught by
  the CRCs for PNG only. A JPEG decodes with grey blocks and libjpeg may print ``Corrupt JPEG
  data``; GIF and TIFF decoders may log ``[ERROR]`` lines: finding it first would mean decoding.
"""

from __future__ import annotations

import math
import os
import re
import stat
import struct
import zlib
from collections.abc import Callable
from typing import TypeAlias

import cv2
import numpy as np

from core.model.encoder import QueryError
from core.pathnames import readable

__all__ = [
    "MAX_QUERY_BYTES",
    "MAX_QUERY_PIXELS",
    "MAX_UNPARSED_BYTES",
    "MIN_SHORT_SIDE",
    "image_size",
    "read_query_image",
]

#: Largest picture (width × height, from its header) read as a query. Set by the cameras people
#: own — 101.8 MP "100 MP" medium format (so not 100 MP flat), 151 MP Phase One, the 200 MP mode
#: of Samsung phones (16320×12240 = 199.8 MP) — and by what the costliest case still costs at the
#: limit, measured on 2 cores, quiet to busy (benchmarks/query_image.py): a 200 MP phone JPEG
#: reads in 0.4–0.8 s with a 107 MB peak (the old path: 3.3–5.8 s, 1.2 GB); progressive, 2–3 s
#: and 0.67 GB; a 200 MP PNG, which no decoder here can shrink while decoding, 5–9 s and 0.89 GB.
#: Above it lie only stitched panoramas, scans and crafted files; the 400 MP PNG of issue 14 took
#: 2.3 GB and 10–14 s the old way.
MAX_QUERY_PIXELS = 200_000_000

#: Largest file read at all. Far above any camera JPEG (a 200 MP one is 15–100 MB) or PNG of a
#: photograph within the pixel limit (105 MB for a smooth 200 MP one; only noise nears 3 bytes a
#: pixel). The bytes are held in memory while decoding, so this also caps that part of the peak.
MAX_QUERY_BYTES = 512 * 2**20

#: Largest file of a type whose header we cannot read that is still handed to OpenCV.
MAX_UNPARSED_BYTES = 50 * 2**20

#: Default floor for the short side when decoding reduced: twice the model's 224.
MIN_SHORT_SIDE = 448

#: Bytes read before anything else: enough for every header but JPEGs with huge APP segments,
#: whose size is then found by walking the whole file.
_HEAD_BYTES = 256 * 1024

_KNOWN = "JPEG, PNG, WebP, BMP, GIF or TIFF"

Size: TypeAlias = tuple[int, int]


class _Damaged(Exception):
    """The file's structure is broken; the argument says where, for the user's one line."""


def _short(complete: bool, what: str) -> None:
    """End of data: in the whole file that is damage; in a head it only means "read more"."""
    if complete:
        raise _Damaged(what)
    return None


# --------------------------------------------------------------------------------------- PNG
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}


def _png(buf: bytes, complete: bool) -> Size | None:
    """PNG: IHDR must come first and be valid; every chunk must fit and pass its CRC, up to IEND.

    libpng checks the same things, but it reports them on stderr (``libpng error: …``)."""
    if len(buf) < 33:
        _short(complete, "PNG ends inside its header")
        return None
    length, kind = struct.unpack_from(">I4s", buf, 8)
    if kind != b"IHDR" or length != 13:
        raise _Damaged("PNG does not start with its header chunk")
    width, height, depth, colour, method, filtering, interlace = struct.unpack_from(
        ">IIBBBBB", buf, 16
    )
    if (
        not (0 < width < 2**31 and 0 < height < 2**31)
        or depth not in _PNG_DEPTHS.get(colour, ())
        or method
        or filtering
        or interlace > 1
    ):
        raise _Damaged("PNG header holds impossible values")
    if not complete:
        return width, height
    view = memoryview(buf)
    pos, seen_data = 8, False
    while True:
        if pos + 12 > len(buf):
            raise _Damaged("PNG ends before its last chunk")
        length, kind = struct.unpack_from(">I4s", buf, pos)
        end = pos + 12 + length
        if length >= 2**31 or not kind.isalpha():
            raise _Damaged("PNG chunk list is garbled")
        if end > len(buf):
            raise _Damaged("PNG ends before its last chunk")
        (crc,) = struct.unpack_from(">I", buf, end - 4)
        if zlib.crc32(view[pos + 4 : end - 4]) != crc:
            raise _Damaged(f"PNG chunk {kind.decode('ascii')} fails its checksum")
        seen_data = seen_data or kind == b"IDAT"
        if kind == b"IEND":
            break
        pos = end
    if not seen_data:
        raise _Damaged("PNG holds no picture data")
    return width, height


# -------------------------------------------------------------------------------------- JPEG
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # not DHT, JPG, DAC
_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM, RST0-7: no length field
# In entropy-coded data 0xFF is followed by 0x00 (stuffing), RSTn or more 0xFF (fill): any other
# byte is the next marker. A regex finds it at C speed, however large the scan.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg(buf: bytes, complete: bool) -> Size | None:
    """JPEG: segments are skipped by their lengths (so an EXIF thumbnail's own SOI/EOI is never
    mistaken for ours), scans by searching for the next marker, up to the main picture's EOI.

    Bytes after that EOI are allowed: zero padding, camera trailers, the MP4 that Android
    "motion photos" append, MPF secondary pictures. Requiring EOI itself matches the decoder:
    ``imdecode`` of a JPEG cut before it returns nothing."""
    n, pos = len(buf), 2
    size: Size | None = None
    while True:
        if pos >= n:
            _short(complete, "JPEG ends before its end-of-image marker")
            return None
        if buf[pos] != 0xFF:
            raise _Damaged("JPEG has stray bytes where a marker should be")
        while pos < n and buf[pos] == 0xFF:  # fill bytes may precede any marker
            pos += 1
        if pos >= n:
            _short(complete, "JPEG ends before its end-of-image marker")
            return None
        marker = buf[pos]
        pos += 1
        if marker == 0xD9:
            if size is None:
                raise _Damaged("JPEG ends before its frame header")
            return size
        if marker in _STANDALONE:
            continue
        if marker in (0x00, 0xD8):
            raise _Damaged("JPEG has a marker out of place")
        if pos + 2 > n:
            _short(complete, "JPEG ends inside a segment")
            return None
        (length,) = struct.unpack_from(">H", buf, pos)
        end = pos + length
        if length < 2:
            raise _Damaged("JPEG segment has an impossible length")
        if end > n:
            _short(complete, "JPEG ends inside a segment")
            return None
        if marker in _SOF and size is None:
            if length < 8:
                raise _Damaged("JPEG frame header is too short")
            height, width = struct.unpack_from(">HH", buf, pos + 3)
            if not (width and height):  # height 0 = "given by a DNL marker", which libjpeg refuses
                raise _Damaged("JPEG frame header gives no size")
            size = (width, height)
            if not complete:
                return size
        pos = end
        if marker == 0xDA:
            if size is None:
                raise _Damaged("JPEG picture data comes before its frame header")
            found = _NEXT_MARKER.search(buf, pos)
            if found is None:
                _short(complete, "JPEG ends before its end-of-image marker")
                return None
            pos = found.start()


# --------------------------------------------------------------------------------------- BMP
_BMP_INFO_SIZES = frozenset([40, 52, 56, 64, 108, 124])  # BITMAPINFOHEADER and its successors


def _is_bmp(head: bytes) -> bool:
    """``BM`` is only two bytes (a text file may start "BMW…"), so the DIB header size must fit."""
    if len(head) < 18 or head[:2] != b"BM":
        return False
    (dib,) = struct.unpack_from("<I", head, 14)
    return dib == 12 or dib in _BMP_INFO_SIZES


def _bmp(buf: bytes, complete: bool) -> Size | None:
    """BMP: the rows the header promises must all be in the file."""
    (pixels_at, dib) = struct.unpack_from("<II", buf, 10)
    if dib == 12:
        if len(buf) < 26:
            _short(complete, "BMP ends inside its header")
            return None
        width, height, _, bits = struct.unpack_from("<HHHH", buf, 18)
        compression, stored = 0, 0
    else:
        if len(buf) < 38:
            _short(complete, "BMP ends inside its header")
            return None
        width, height, _, bits, compression, stored = struct.unpack_from("<iiHHII", buf, 18)
    height = abs(height)  # negative: rows stored top-down
    if width <= 0 or height == 0 or bits not in (1, 2, 4, 8, 16, 24, 32):
        raise _Damaged("BMP header holds impossible values")
    if not complete:
        return width, height
    if compression in (0, 3, 6):  # BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS: fixed row size
        needed = pixels_at + (width * bits + 31) // 32 * 4 * height
    else:  # run-length coded: only the stored size (if given) says where it ends
        needed = pixels_at + stored
    if needed > len(buf):
        raise _Damaged("BMP ends before its last row")
    return width, height


# -------------------------------------------------------------------------------------- WebP
def _webp(buf: bytes, complete: bool) -> Size | None:
    """WebP: size from the VP8, VP8L or VP8X chunk; the RIFF size and every chunk must fit."""
    if len(buf) < 30:
        _short(complete, "WebP ends inside its header")
        return None
    (riff_size,) = struct.unpack_from("<I", buf, 4)
    first = buf[12:16]
    if first == b"VP8 ":
        if buf[23:26] != b"\x9d\x01\x2a":
            raise _Damaged("WebP key frame is garbled")
        width, height = (v & 0x3FFF for v in struct.unpack_from("<HH", buf, 26))
    elif first == b"VP8L":
        if buf[20] != 0x2F:
            raise _Damaged("WebP lossless header is garbled")
        (bits,) = struct.unpack_from("<I", buf, 21)
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif first == b"VP8X":
        width = 1 + int.from_bytes(buf[24:27], "little")
        height = 1 + int.from_bytes(buf[27:30], "little")
    else:
        raise _Damaged("WebP of a kind ClipSeek does not know")
    if not complete:
        return width, height
    end = 8 + riff_size
    if end > len(buf):
        raise _Damaged("WebP ends before its last chunk")
    pos, kinds = 12, set()
    while pos + 8 <= end:
        kind, length = struct.unpack_from("<4sI", buf, pos)
        pos += 8 + length + (length & 1)
        if pos > end:
            raise _Damaged("WebP ends before its last chunk")
        kinds.add(kind)
    if not kinds & {b"VP8 ", b"VP8L", b"ANMF"}:
        raise _Damaged("WebP holds no picture data")
    return width, height


# --------------------------------------------------------------------------------------- GIF
def _gif_blocks(buf: bytes, pos: int) -> int:
    """Position after a chain of data sub-blocks (each length-prefixed, ended by a zero)."""
    n = len(buf)
    while True:
        if pos >= n:
            raise _Damaged("GIF ends inside a picture")
        size = buf[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _gif(buf: bytes, complete: bool) -> Size | None:
    """GIF: every block must be whole, up to the trailer; frames placed beyond the screen count
    toward the size. (Browsers forgive a missing trailer; OpenCV's decoder fails, noisily.)"""
    if len(buf) < 13:
        _short(complete, "GIF ends inside its header")
        return None
    width, height, packed = struct.unpack_from("<HHB", buf, 6)
    if not (width and height):
        raise _Damaged("GIF header gives no size")
    if not complete:
        return width, height
    n, frames = len(buf), 0
    pos = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    while True:
        if pos >= n:
            raise _Damaged("GIF ends before its trailer")
        if buf[pos] == 0x3B:
            break
        if buf[pos] == 0x21:  # extension: label, then sub-blocks
            pos = _gif_blocks(buf, pos + 2)
        elif buf[pos] == 0x2C:  # frame: descriptor, local palette, LZW code size, sub-blocks
            if pos + 11 > n:
                raise _Damaged("GIF ends inside a picture")
            left, top, w, h, packed = struct.unpack_from("<HHHHB", buf, pos + 1)
            width, height = max(width, left + w), max(height, top + h)
            pos += 10 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0) + 1
            pos = _gif_blocks(buf, pos)
            frames += 1
        else:
            raise _Damaged("GIF block list is garbled")
    if not frames:
        raise _Damaged("GIF holds no picture")
    return width, height


# -------------------------------------------------------------------------------------- TIFF
_TIFF_ITEM = {3: "H", 4: "I"}  # SHORT, LONG: the only types the tags we read may use
# Bytes per value of each TIFF type, to check that every value stored out of line is in the file.
_TIFF_TYPE_SIZE = dict(enumerate((0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4)))


def _tiff(buf: bytes, complete: bool) -> Size | None:
    """TIFF (classic, not BigTIFF): size from the first directory; every strip or tile it lists
    must lie inside the file. The directory is often written last, so a head may not hold it."""
    order = "<" if buf[:2] == b"II" else ">"
    n = len(buf)
    (ifd,) = struct.unpack_from(order + "I", buf, 4)
    if ifd < 8:
        raise _Damaged("TIFF directory is misplaced")
    if ifd + 2 > n:
        _short(complete, "TIFF ends before its directory")
        return None
    (count,) = struct.unpack_from(order + "H", buf, ifd)
    if ifd + 2 + 12 * count + 4 > n:  # entries, then the next directory's offset
        _short(complete, "TIFF ends inside its directory")
        return None

    def values(tag: int) -> list[int]:
        for i in range(count):
            at = ifd + 2 + 12 * i
            got, kind, many = struct.unpack_from(order + "HHI", buf, at)
            if got != tag:
                continue
            item = _TIFF_ITEM.get(kind)
            if item is None or many == 0:
                raise _Damaged("TIFF directory is garbled")
            nbytes = struct.calcsize(item) * many
            where = at + 8  # up to 4 bytes of values sit in the entry itself
            if nbytes > 4:
                (where,) = struct.unpack_from(order + "I", buf, at + 8)
                if where + nbytes > n:
                    raise _Damaged("TIFF ends before its last strip")
            return list(struct.unpack_from(f"{order}{many}{item}", buf, where))
        return []

    width, height = (values(256) or [0])[0], (values(257) or [0])[0]
    if not (width and height):
        raise _Damaged("TIFF directory gives no size")
    if not complete:
        return width, height
    for i in range(count):  # libtiff reads every tag's values, not only those we need
        _, kind, many, where = struct.unpack_from(order + "HHII", buf, ifd + 2 + 12 * i)
        nbytes = _TIFF_TYPE_SIZE.get(kind, 1) * many
        if nbytes > 4 and where + nbytes > n:
            raise _Damaged("TIFF ends before the last value in its directory")
    offsets, lengths = values(273) or values(324), values(279) or values(325)
    if not offsets or len(offsets) != len(lengths):
        raise _Damaged("TIFF directory is garbled")
    if any(o + c > n for o, c in zip(offsets, lengths, strict=True)):
        raise _Damaged("TIFF ends before its last strip")
    return width, height


# --------------------------------------------------------------------------------------- PNM
# Header fields are ASCII numbers separated by whitespace, with "#" comments to the line's end.
_PNM_FIELD = re.compile(rb"(?:\s|#[^\r\n]*[\r\n])*(\d+)")


def _is_pnm(head: bytes) -> bool:
    return len(head) >= 3 and head[0:1] == b"P" and head[1] in b"123456" and head[2] in b" \t\r\n#"


def _pnm(buf: bytes, complete: bool) -> Size | None:
    """PBM/PGM/PPM: a 1-bit PBM packs 8 pixels a byte, so a small one can still be huge; for the
    binary kinds (P4–P6) every row must be in the file."""
    kind, pos, fields = buf[1:2], 2, []
    for _ in range(2 if kind in b"14" else 3):
        found = _PNM_FIELD.match(buf, pos)
        if found is None or found.end() == len(buf):  # a number at the very end may go on
            _short(complete, "PNM header is garbled or cut short")
            return None
        fields.append(int(found.group(1)))
        pos = found.end()
    width, height = fields[0], fields[1]
    if not (width and height):
        raise _Damaged("PNM header gives no size")
    if not complete:
        return width, height
    if kind in b"456":
        sample = 2 if len(fields) == 3 and fields[2] > 255 else 1
        row = (width + 7) // 8 if kind == b"4" else width * sample * (3 if kind == b"6" else 1)
        if pos + 1 + row * height > len(buf):  # one whitespace byte ends the header
            raise _Damaged("PNM ends before its last row")
    return width, height


# ------------------------------------------------------------------------------------ formats
_Walker: TypeAlias = Callable[[bytes, bool], Size | None]

_FORMATS: tuple[tuple[str, Callable[[bytes], bool], _Walker], ...] = (
    ("JPEG", lambda h: h[:3] == b"\xff\xd8\xff", _jpeg),
    ("PNG", lambda h: h[:8] == _PNG_SIG, _png),
    ("WebP", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP", _webp),
    ("BMP", _is_bmp, _bmp),
    ("GIF", lambda h: h[:6] in (b"GIF87a", b"GIF89a"), _gif),
    ("TIFF", lambda h: h[:4] in (b"II*\x00", b"MM\x00*"), _tiff),
    ("PNM", _is_pnm, _pnm),
)


def _identify(head: bytes) -> tuple[str, _Walker] | None:
    for name, matches, walker in _FORMATS:
        if matches(head):
            return name, walker
    return None


def image_size(head: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) read from the first bytes of a picture file, without decoding.

    ``None`` when the format is not one we parse (JPEG, PNG, WebP, BMP, GIF, TIFF, PNM), when
    ``head`` stops before the size is given (a JPEG with large EXIF/ICC segments, a TIFF whose
    directory is at its end: pass more bytes) or when the header is garbled. Sizes are as
    stored: EXIF orientation, which may swap them on display, is not read."""
    found = _identify(head)
    if found is None:
        return None
    name, walker = found
    try:
        size = walker(head, False)
    except (_Damaged, struct.error):
        return None
    return None if size is None else (name, *size)


# ------------------------------------------------------------------------------------ reading
def _open_regular(path: str | os.PathLike[str] | bytes, name: str) -> tuple[int, int]:
    """(descriptor, size) of the regular file at ``path``; anything else gets its own message."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: a FIFO must not hang us before fstat refuses it
    except FileNotFoundError:
        raise QueryError(f"no such image file: {name}") from None
    except IsADirectoryError:
        raise QueryError(f"{name}: is a folder, not a picture") from None
    except PermissionError:
        if os.path.isdir(path):  # Windows refuses to open a folder as a file
            raise QueryError(f"{name}: is a folder, not a picture") from None
        raise QueryError(f"{name}: ClipSeek is not allowed to read this file") from None
    except ValueError:  # an embedded NUL
        raise QueryError(f"{name}: not a valid file name") from None
    except OSError as error:
        raise QueryError(f"{name}: cannot be read ({error.strerror or error})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):  # POSIX opens a folder read-only without complaint
            raise QueryError(f"{name}: is a folder, not a picture")
        if not stat.S_ISREG(info.st_mode):
            raise QueryError(f"{name}: not a regular file, so not a picture")
        if info.st_size == 0:
            raise QueryError(f"{name}: the file is empty")
        if info.st_size > MAX_QUERY_BYTES:
            raise QueryError(
                f"{name}: the file is {info.st_size / 2**20:.0f} MB; ClipSeek reads query "
                f"pictures up to {MAX_QUERY_BYTES // 2**20} MB"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


def _read_file(path: str | os.PathLike[str] | bytes, name: str) -> bytes:
    """The file's bytes — unless its header already shows the picture too large, or it is of an
    unknown type and too big to try, which is refused before the rest is read."""
    fd, size = _open_regular(path, name)
    with open(fd, "rb", buffering=0) as file:
        try:
            head = file.read(_HEAD_BYTES) or b""
            known = image_size(head)
            if known is not None:
                _check_pixels(name, known[1], known[2])
            elif _identify(head) is None and size > MAX_UNPARSED_BYTES:
                raise QueryError(f"{name}: not a picture ClipSeek can read ({_KNOWN})")
            file.seek(0)  # read it all in one piece: no second copy from joining head and rest
            data = file.read(MAX_QUERY_BYTES + 1) or b""
        except OSError as error:
            raise QueryError(f"{name}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_QUERY_BYTES:  # it grew while we read it
        raise QueryError(f"{name}: the file is larger than the {MAX_QUERY_BYTES // 2**20} MB limit")
    return data


def _check_pixels(name: str, width: int, height: int) -> None:
    pixels = width * height
    if pixels > MAX_QUERY_PIXELS:
        raise QueryError(
            f"{name}: the picture is {width}×{height} pixels ({pixels / 1e6:.0f} megapixels); "
            f"ClipSeek reads query pictures up to {MAX_QUERY_PIXELS / 1e6:.0f} megapixels — "
            "shrink it first"
        )


def _reduction(width: int, height: int, min_short_side: int) -> int:
    """The largest of 8, 4, 2 that keeps the short side at or above ``min_short_side``, else 1."""
    for factor in (8, 4, 2):
        if min(width, height) >= min_short_side * factor:
            return factor
    return 1


def _area_shrink(bgr: np.ndarray, factor: float) -> np.ndarray:
    """Shrink by ``factor`` (rounding sizes up, so the short side stays at or above the floor)."""
    if factor <= 1:
        return bgr
    rows, cols = bgr.shape[:2]
    size = (max(1, math.ceil(cols / factor)), max(1, math.ceil(rows / factor)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


_REDUCED = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}


def _decode(data: bytes, flag: int) -> np.ndarray | None:
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    except cv2.error:
        return None


def read_query_image(
    path: str | os.PathLike[str] | bytes, *, min_short_side: int = MIN_SHORT_SIDE
) -> np.ndarray:
    """The picture at ``path`` as RGB uint8 [H, W, 3], reduced to a short side no smaller than
    ``min_short_side`` (smaller pictures come back at their own size).

    Raises :class:`~core.model.encoder.QueryError` with one line naming the file for anything it
    cannot or will not read: missing, a folder, empty, not a picture, too large, damaged or cut
    short. Nothing is printed on stderr for the damage it checks (see the module notes)."""
    if min_short_side < 1:
        raise ValueError("min_short_side must be at least 1")
    name = readable(path)
    data = _read_file(path, name)
    found = _identify(data)
    if found is None:
        bgr = _decode(data, cv2.IMREAD_COLOR)
        if bgr is None:
            raise QueryError(f"{name}: not a picture ClipSeek can read ({_KNOWN})")
        rows, cols = bgr.shape[:2]
        bgr = _area_shrink(bgr, _reduction(cols, rows, min_short_side))
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    fmt, walker = found
    try:
        size = walker(data, True)
    except (_Damaged, struct.error) as damage:
        reason = str(damage) if isinstance(damage, _Damaged) else f"{fmt} header is garbled"
        raise QueryError(f"{name}: the picture is damaged or cut short ({reason})") from None
    assert size is not None  # a complete walk returns a size or raises
    _check_pixels(name, *size)
    bgr = _decode_reduced(data, fmt, _reduction(*size, min_short_side))
    if bgr is None or bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise QueryError(f"{name}: a {fmt} picture ClipSeek cannot decode (damaged or unusual)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _decode_reduced(data: bytes, fmt: str, factor: int) -> np.ndarray | None:
    """BGR, ``factor`` times smaller than stored (see the module notes for why so)."""
    if fmt == "JPEG":  # libjpeg scales in the DCT: cheap and well filtered
        return _decode(data, _REDUCED[factor])
    # The others decode in full anyway; at 1/2 OpenCV's bilinear is an exact 2×2 mean, and the
    # full picture is freed inside OpenCV, never copied out: ~40% less peak than IMREAD_COLOR.
    first = min(factor, 2)
    bgr = _decode(data, _REDUCED[first])
    return None if bgr is None else _area_shrink(bgr, factor / first)
