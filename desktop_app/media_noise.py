"""Keeping the video back-end's chatter out of the terminal, and in the log where it belongs.

Qt Multimedia plays previews through its own copy of FFmpeg, whose default log level prints
every opened file's stream layout (``Input #0, mov,mp4…``, a dozen lines) to stderr; Qt adds
warnings about optional libraries it did not find (PipeWire, VA-API) and hardware decoders. None
of it is a problem, all of it buried real messages. FFmpeg is set to report errors only, and
Qt's messages go through :mod:`logging` (the app's log file), the known-harmless ones at debug
level.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("qt")

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
