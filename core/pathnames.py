"""File names that are not valid UTF-8: stored losslessly, shown readably, opened safely.

Old USB sticks and SMB shares hold names in Latin-1 or CP-437 (``bad\\xff.mp4``). Python keeps
such a name as a ``str`` with *surrogate escapes* (``'bad\\udcff.mp4'``): round-trippable with
``os.fsencode``, and accepted by every ``os`` and ``open`` call. Three things downstream are not:

* SQLite text must be valid UTF-8 (``UnicodeEncodeError: surrogates not allowed``);
* OpenCV and FFmpeg take a UTF-8 ``char*``: OpenCV **crashes** (SIGSEGV) when handed one;
* Qt drops the surrogates silently (``bad.mp4``), so it would show or open the wrong file.

So a name crosses each boundary through one function here: :func:`to_db`/:func:`from_db` map it
to and from valid text losslessly, :func:`readable` is what people see (``bad�.mp4``), and
:func:`openable` gives C libraries a symbolic link with a plain name that points at the file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

# Each undecodable byte 0x80..0xFF (surrogate U+DC80..U+DCFF) is stored as one character of
# the last 128 code points of plane 16 (private use, never assigned). A real character from
# that range is stored behind an escape character, so the mapping is one-to-one; and since it
# maps character by character, prefixes stay prefixes (the SQL "videos under this folder" test).
_SURROGATE_BASE = 0xDC80
_STORED_BASE = 0x10FF80
_ESCAPE = chr(0x10FF7F)


def is_plain(path: str) -> bool:
    """True when ``path`` is valid Unicode (no surrogate escapes): every library can take it."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def to_db(path: str) -> str:
    """The database's text for a path: itself when plain, else surrogates mapped (lossless)."""
    if is_plain(path) and (not path or max(path) < _ESCAPE):
        return path
    out = []
    for c in path:
        code = ord(c)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(chr(_STORED_BASE + code - _SURROGATE_BASE))
        elif code >= 0x10FF7F:
            out.append(_ESCAPE + c)
        else:
            out.append(c)
    return "".join(out)


def from_db(text: str) -> str:
    """The path a database text stands for (the inverse of :func:`to_db`)."""
    # max() compares in C: a generator over every character cost a search of 200 moments
    # 8 ms (two paths per moment)
    if not text or max(text) < _ESCAPE:
        return text
    out = []
    escaped = False
    for c in text:
        code = ord(c)
        if escaped:
            out.append(c)
            escaped = False
        elif c == _ESCAPE:
            escaped = True
        elif code >= _STORED_BASE:
            out.append(chr(_SURROGATE_BASE + code - _STORED_BASE))
        else:
            out.append(c)
    return "".join(out)


def readable(path: str | bytes | os.PathLike[str]) -> str:
    """How to show a path to a person: undecodable bytes become U+FFFD (``bad�.mp4``).

    Never raises and never drops a character, unlike handing the raw name to Qt or printing it
    to a strict UTF-8 terminal."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    if is_plain(text):
        return text
    return os.fsencode(text).decode("utf-8", "replace")


def _links_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"clipseek-{uid}-links"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def openable(path: str | os.PathLike[str]) -> str:
    """A name for this file that OpenCV, FFmpeg and Qt can open: the path itself when it is
    plain, else a symbolic link with a plain name (in a private temporary folder) pointing at
    it. The link is named by a hash of the path, so asking again reuses it; it is only a name,
    and deleting the folder loses nothing."""
    text = os.fspath(path)
    if is_plain(text):
        return text
    target = os.fsencode(os.path.abspath(text))
    suffix = os.path.splitext(text)[1]
    suffix = suffix if is_plain(suffix) else ""
    link = _links_dir() / (hashlib.blake2b(target, digest_size=12).hexdigest() + suffix)
    try:
        if os.readlink(link) == os.fsdecode(target):
            return str(link)
        link.unlink()
    except OSError:
        pass
    tmp = link.with_name(link.name + f".{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)
    return str(link)


def _collapsed(text: str) -> str:
    """``text`` with each run of replacement characters as one (decoders differ in how many
    U+FFFD they make of one bad sequence)."""
    out: list[str] = []
    for c in text:
        if not (c == "\ufffd" and out and out[-1] == "\ufffd"):
            out.append(c)
    return "".join(out)


def recover(path: str) -> str:
    """The real name of a path that came back from Qt (a file dialog) with U+FFFD where the
    name had undecodable bytes: each missing component is matched against its folder's
    entries as people see them. A path that exists, or cannot be matched exactly once, is
    returned unchanged (the caller then reports it missing)."""
    if os.path.exists(path) or "\ufffd" not in path:
        return path
    parts = Path(path).parts
    current = parts[0]
    for part in parts[1:]:
        candidate = os.path.join(current, part)
        if os.path.exists(candidate):
            current = candidate
            continue
        try:
            names = os.listdir(current)
        except OSError:
            return path
        wanted = _collapsed(part)
        matches = [n for n in names if _collapsed(readable(n)) == wanted]
        if len(matches) != 1:
            return path
        current = os.path.join(current, matches[0])
    return current
