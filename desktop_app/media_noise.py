"""Keeping the video back-end's chatter out of the terminal, and in the log where it belongs.

Qt Multimedia plays previews through its own copy of FFmpeg, whose default log level prints
every opened file's stream layout (``Input #0, mov,mp4…``, a dozen lines) to stderr; Qt adds
warnings about optional libraries it did not find (PipeWire, VA-API) and hardware decoders. None
of it is a problem, all of it buried real messages. FFmpeg is set to report errors only, and
Qt's messages go through :mod:`logging` (the app's log file), the known-harmless ones at debug
level.

FFmpeg's decoders report a damaged stream at the error level itself (``[h264 @ 0x…] Invalid
inter IDR frame``, ``A non-intra slice in an IDR NAL unit``), once per decoder thread on every
preview of such a file, and OpenCV's copy (thumbnails, indexing) prints the same through its
own ``av_log``. No log level keeps those out short of silencing FFmpeg, and a Python ``av_log``
callback would take the GIL in FFmpeg's threads (a deadlock when the UI thread waits for them).
So :func:`route_stderr` sends the process's stderr (fd 2, what C libraries write) through a
pipe: FFmpeg's lines, recognisable by their ``[name @ 0x…]`` prefix, go to the log at debug
level; every other line goes on to the terminal, unchanged. Python's ``sys.stderr`` writes to the
terminal directly, so a traceback never waits on the pipe.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import io
import logging
import os
import re
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("qt")
ffmpeg_log = logging.getLogger("ffmpeg")
#: How FFmpeg's default log callback starts a line: ``[h264 @ 0x55d0c0a1b2c0] ``.
FFMPEG_LINE = re.compile(rb"^\[[\w.:-]+ @ (0x)?[0-9a-fA-F]+\] ")

AV_LOG_ERROR = 16
#: Qt logging categories whose messages are routine on a desktop without PipeWire or VA-API.
ROUTINE = (
    "qt.multimedia.symbolsresolver",
    "qt.multimedia.ffmpeg",
    "qt.multimedia.playbackengine",
    "qt.rhi",
    "qt.qpa.wayland",
)
_done = False


def quiet_ffmpeg() -> bool:
    """Set the FFmpeg that Qt Multimedia uses to log errors only; False if it is not loaded yet.

    It is Qt's own copy (``PySide6/Qt/lib/libavutil.so.*``; PyAV and OpenCV bundle theirs),
    loaded with the multimedia plugin, i.e. once a ``QMediaPlayer`` exists. It is looked up
    among the loaded libraries only (``RTLD_NOLOAD``): loading it ourselves fails, as it
    expects OpenSSL's symbols from the plugin.
    """
    global _done
    if _done:
        return True
    libs = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.LibrariesPath))
    names = ["libavutil.so.*", "libavutil*.dylib", "avutil*.dll"]
    if not libs.is_dir():
        return False
    candidates = sorted((p for n in names for p in libs.glob(n)), key=lambda p: len(p.name))
    mode = getattr(os, "RTLD_NOLOAD", 0) | ctypes.DEFAULT_MODE
    for candidate in candidates:
        try:
            ctypes.CDLL(str(candidate), mode=mode).av_log_set_level(AV_LOG_ERROR)
        except (OSError, AttributeError):
            continue
        _done = True
        return True
    return False


_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    category = context.category or "default"
    level = _LEVELS.get(kind, logging.WARNING)
    if any(category.startswith(c) for c in ROUTINE) or message.startswith("PulseAudioService"):
        level = min(level, logging.DEBUG)
    log.log(level, "%s: %s", category, message)


def route_qt_messages() -> None:
    """Send Qt's own messages to :mod:`logging` (the app's log file), routine ones as debug."""
    qInstallMessageHandler(_handler)


def _forward(read_fd: int, terminal: int) -> None:
    """(Its own thread.) Lines from the pipe: FFmpeg's to the log, the rest to the terminal."""
    pending = b""
    while True:
        try:
            chunk = os.read(read_fd, 65536)
        except OSError:
            chunk = b""
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop() if chunk else b""  # a line without its end yet (or the last)
        for line in lines:
            if not line and not chunk:
                continue
            if FFMPEG_LINE.match(line):
                ffmpeg_log.debug("%s", line.decode("utf-8", "backslashreplace").rstrip())
            else:
                with contextlib.suppress(OSError):
                    os.write(terminal, line + b"\n")
        if not chunk:
            os.close(read_fd)
            return


_routed: tuple[int, threading.Thread] | None = None


def route_stderr() -> bool:
    """Route fd 2 through a filtering pipe (see the module's notes); False where there is no
    stderr to route (a Windows GUI process) or it is done already."""
    global _routed
    if _routed is not None:
        return False
    try:
        terminal = os.dup(2)
    except OSError:
        return False
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    with contextlib.suppress(OSError, AttributeError):  # (Windows before Python 3.12)
        os.set_blocking(2, False)  # a full pipe drops a C library's line; it never blocks it
    sys.stderr.flush()
    sys.stderr = io.TextIOWrapper(
        io.FileIO(terminal, "w", closefd=False),
        encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )
    thread = threading.Thread(
        target=_forward, args=(read_fd, terminal), name="clipseek-stderr", daemon=True
    )
    thread.start()
    _routed = (terminal, thread)
    atexit.register(_unroute)
    return True


def _unroute() -> None:
    """At exit: fd 2 is the terminal again, and what the pipe still held is passed on."""
    global _routed
    if _routed is None:
        return
    terminal, thread = _routed
    _routed = None
    os.dup2(terminal, 2)  # closes the pipe's only writer: the thread reads to its end
    thread.join(2.0)
