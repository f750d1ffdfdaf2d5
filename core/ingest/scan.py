"""Finding video files: a walk that survives symlink loops, content sniffing, fingerprints.

A file is a candidate video when its first bytes look like a video container *or* its extension
says video (so an odd container we do not sniff is still tried, and a broken ``.mp4`` is reported
rather than silently ignored). Everything else is listed as skipped, with what it looks like.

The fingerprint — size plus a hash of the first and last 64 KiB — identifies content cheaply: a
renamed or moved file keeps its fingerprint (and so its vectors), an edited one almost never does.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".qt",
        ".avi",
        ".mkv",
        ".webm",
        ".mts",
        ".m2ts",
        ".ts",
        ".3gp",
        ".3g2",
        ".mpg",
        ".mpeg",
        ".mpe",
        ".vob",
        ".wmv",
        ".asf",
        ".flv",
        ".f4v",
        ".ogv",
        ".mxf",
        ".dv",
        ".divx",
        ".hevc",
        ".h264",
    }
)
_CHUNK = 64 * 1024
_SNIFF = 512
# ISO-BMFF brands that are still images, not video.
_IMAGE_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")


@dataclass(frozen=True)
class FoundFile:
    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class ScanResult:
    videos: list[FoundFile]
    skipped: list[tuple[Path, str]]
    errors: list[tuple[Path, str]]


def sniff(head: bytes) -> str | None:
    """The video container ``head`` (a file's first bytes) starts, or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return None if head[8:12] in _IMAGE_BRANDS else "MP4/QuickTime"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "QuickTime"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "Matroska/WebM"
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "MPEG"
    if len(head) >= 377 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return "MPEG-TS"
    if len(head) >= 389 and head[4] == 0x47 and head[196] == 0x47 and head[388] == 0x47:
        return "MPEG-TS (M2TS)"
    if head[:3] == b"FLV":
        return "FLV"
    if head[:8] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11":
        return "ASF/WMV"
    if head[:4] == b"OggS":
        return "Ogg"
    if head[:4] == b"\x06\x0e\x2b\x34":
        return "MXF"
    return None


def describe_content(head: bytes) -> str:
    """A few words on what a non-video file is, for the skipped list."""
    if not head:
        return "empty file"
    known = {
        b"\xff\xd8\xff": "JPEG image",
        b"\x89PNG": "PNG image",
        b"GIF8": "GIF image",
        b"%PDF": "PDF document",
        b"PK\x03\x04": "ZIP archive",
        b"ID3": "MP3 audio",
        b"fLaC": "FLAC audio",
    }
    for magic, what in known.items():
        if head.startswith(magic):
            return what
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV audio"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "HEIF/AVIF image"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "not a video (unrecognised content)"
    if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return "text file"
    return "not a video (unrecognised content)"


def read_head(path: Path, size: int = _SNIFF) -> bytes:
    with path.open("rb") as fh:
        return fh.read(size)


def fingerprint(path: Path, size: int | None = None) -> str:
    """``<size hex>-<blake2b of first and last 64 KiB>``: cheap, and stable across renames."""
    size = path.stat().st_size if size is None else size
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        digest.update(fh.read(_CHUNK))
        if size > _CHUNK:
            fh.seek(max(size - _CHUNK, _CHUNK))
            digest.update(fh.read(_CHUNK))
    return f"{size:x}-{digest.hexdigest()}"


def is_candidate(path: Path, head: bytes) -> bool:
    return sniff(head) is not None or path.suffix.lower() in VIDEO_EXTENSIONS


def _walk(root: Path, errors: list[tuple[Path, str]]) -> Iterator[tuple[Path, os.stat_result]]:
    """Regular files under ``root`` (following symlinks), each real file once, loops cut."""
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
        except OSError as exc:
            errors.append((folder, f"cannot open folder: {exc.strerror or exc}"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:  # a symlink loop, or the same folder reached twice
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            errors.append((folder, f"cannot list folder: {exc.strerror or exc}"))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):  # hidden files, .Trash, .git, editors' temp files
                continue
            path = Path(entry.path)
            try:
                est = entry.stat(follow_symlinks=True)
            except OSError:  # a dangling symlink
                continue
            if stat.S_ISDIR(est.st_mode):
                subfolders.append(path)
            elif stat.S_ISREG(est.st_mode):
                fkey = (est.st_dev, est.st_ino)
                if fkey not in seen_files:
                    seen_files.add(fkey)
                    yield path, est
        stack.extend(reversed(subfolders))


def scan(root: Path) -> ScanResult:
    """Every candidate video under ``root`` (a folder or a single file)."""
    videos: list[FoundFile] = []
    skipped: list[tuple[Path, str]] = []
    errors: list[tuple[Path, str]] = []
    if root.is_file():
        files: Iterator[tuple[Path, os.stat_result]] = iter([(root, root.stat())])
    else:
        files = _walk(root, errors)
    for path, st in files:
        try:
            head = read_head(path)
        except OSError as exc:
            if path.suffix.lower() in VIDEO_EXTENSIONS:
                errors.append((path, f"not readable: {exc.strerror or exc}"))
            continue
        if is_candidate(path, head):
            videos.append(FoundFile(path, st.st_size, st.st_mtime_ns))
        else:
            skipped.append((path, describe_content(head)))
    return ScanResult(videos, skipped, errors)
