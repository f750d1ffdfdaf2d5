"""Which system player opens a result, and how to make it start at the matched second.

Pure Python (no Qt) so every platform's choice can be tested on any machine: the caller falls
back to ``QDesktopServices.openUrl`` when :func:`plan_open` says no player was found, and that
default handler always starts at the beginning, which :meth:`Launch.describe` admits.
"""

from __future__ import annotations

import math
import ntpath
import os
import posixpath
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

PLAYERS = ("mpv", "vlc", "iina", "quicktime")  # keys, in the auto order per platform
NAMES = {"mpv": "mpv", "vlc": "VLC", "iina": "IINA", "quicktime": "QuickTime Player"}
# QuickTime is on every Mac, so macOS reaches the default handler only without osascript.
AUTO_ORDER: dict[str, tuple[str, ...]] = {
    "linux": ("mpv", "vlc"), "darwin": ("iina", "mpv", "vlc", "quicktime"), "win32": ("mpv", "vlc"),
}  # fmt: skip
ENV_VAR = "CLIPSEEK_PLAYER"
_children: list[subprocess.Popen[bytes]] = []  # kept so exited players are reaped, not zombies


def format_clock(t: float) -> str:
    """``65`` → ``"1:05"``, ``3723`` → ``"1:02:03"``: how a person reads a moment."""
    whole = int(t) if math.isfinite(t) and t > 0 else 0
    hours, rest = divmod(whole, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def format_seconds(t: float) -> str:
    """Seconds for a command line: at most 3 decimals, never negative, never ``1e-07``
    (players parse plain decimals; integer arithmetic also avoids a stray ``-0``)."""
    millis = max(round(t * 1000), 0) if math.isfinite(t) else 0
    whole, frac = divmod(millis, 1000)
    return f"{whole}.{frac:03d}".rstrip("0") if frac else str(whole)


def applescript_string(text: str) -> str:
    """An AppleScript string literal: backslashes and double quotes are its only escapes."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Launch:
    """What "Open" will do. ``argv`` None means the caller opens the file with the default
    handler; ``missing`` names the players looked for and not found, for the status bar."""

    player: str | None
    argv: tuple[str, ...] | None
    at_moment: bool
    missing: tuple[str, ...] = ()

    def describe(self, t: float) -> str:
        """Status-bar words that never promise a seek the player will not do."""
        if self.player is not None and self.at_moment:
            return f"Opened in {self.player} at {format_clock(t)}"
        if self.player is not None:
            return f"Opened in {self.player} (it starts at the beginning)"
        why = ""
        if self.missing:
            names = self.missing
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
            why = f": ClipSeek found no {listed}"
        return f"Opened with the default player (it starts at the beginning{why})"


def no_player_text(path: str | os.PathLike[str]) -> str:
    """Status-bar words for a file nothing could open (the caller copies its path): the
    players worth installing are the ones that start at the moment (``Launch.at_moment``)."""
    name = os.path.basename(os.fspath(path)) or os.fspath(path)
    wanted = " or ".join(NAMES[k] for k in ("mpv", "vlc"))
    return (
        f"No video player could open {name}; its path is copied."
        f" Install {wanted} to open moments at their second"
    )


def _find(
    key: str, platform: str, which: Callable[[str], str | None],
    exists: Callable[[str], bool], environ: Mapping[str, str],
) -> str | None:  # fmt: skip
    """The executable for one player, or None. On macOS an app started from the Finder gets a
    bare PATH, so the usual install places are tried too."""
    places: list[str] = []
    if key == "mpv":
        if platform == "darwin":
            places = ["/opt/homebrew/bin/mpv", "/usr/local/bin/mpv",
                      "/Applications/mpv.app/Contents/MacOS/mpv"]  # fmt: skip
        return which("mpv") or next((p for p in places if exists(p)), None)
    if key == "vlc":
        if platform == "darwin":
            places = ["/Applications/VLC.app/Contents/MacOS/VLC"]
        elif platform == "win32":
            roots = (environ.get("ProgramFiles"), environ.get("ProgramFiles(x86)"))
            places = [r.rstrip("\\") + "\\VideoLAN\\VLC\\vlc.exe" for r in roots if r]
        return which("vlc") or next((p for p in places if exists(p)), None)
    if platform != "darwin":
        return None
    if key == "iina":
        app = "/Applications/IINA.app/Contents/MacOS/iina-cli"
        return app if exists(app) else which("iina")  # Homebrew links iina-cli as `iina`
    return which("osascript") or ("/usr/bin/osascript" if exists("/usr/bin/osascript") else None)


def _argv(key: str, exe: str, path: str, t: float) -> tuple[str, ...]:
    """The command line. ``path`` is absolute, so a name like ``-x.mp4`` (or VLC's ``:opt``)
    cannot read as an option; mpv also gets ``--``."""
    s = format_seconds(t)
    if key == "mpv":
        return (exe, f"--start={s}", "--", path)
    if key == "vlc":
        return (exe, f"--start-time={s}", path)
    if key == "iina":  # --no-stdin: with stdin on /dev/null iina-cli would play stdin instead
        return (exe, "--no-stdin", f"--mpv-start={s}", path)
    script = "\n".join((
        f"set theFile to POSIX file {applescript_string(path)}",
        'tell application "QuickTime Player"',
        "activate", "open theFile", f"set current time of document 1 to {s}",
        "play document 1", "end tell",
    ))  # fmt: skip
    return (exe, "-e", script)


def plan_open(
    path: str | os.PathLike[str], t: float, *, preferred: str | None = None,
    platform: str = sys.platform, which: Callable[[str], str | None] = shutil.which,
    exists: Callable[[str], bool] = os.path.exists, environ: Mapping[str, str] = os.environ,
) -> Launch:  # fmt: skip
    """Choose the player: ``preferred``, else $CLIPSEEK_PLAYER, else the platform's order.
    A choice that is unknown or not installed falls through to the auto order; ``"default"``
    asks for the default handler outright."""
    wanted = ((c or "").strip().lower() for c in (preferred, environ.get(ENV_VAR)))
    choice = next((c for c in wanted if c in (*PLAYERS, "default")), None)
    if choice == "default":
        return Launch(None, None, False)
    order = AUTO_ORDER.get(platform, AUTO_ORDER["linux"])  # BSDs too
    if choice is not None:
        order = (choice, *(k for k in order if k != choice))
    full = (ntpath if platform == "win32" else posixpath).abspath(os.fspath(path))
    for key in order:
        exe = _find(key, platform, which, exists, environ)
        if exe is not None:
            return Launch(NAMES[key], _argv(key, exe, full, t), True)
    return Launch(None, None, False, tuple(NAMES[k] for k in order))


def start(launch: Launch) -> None:
    """Start the player detached (its own session / process group, no inherited pipes) and
    return at once: ClipSeek must not wait for, or die with, the player."""
    if launch.argv is None:
        raise ValueError("this launch is for the default handler: open the file with it")
    _children[:] = [c for c in _children if c.poll() is None]
    options: dict[str, Any] = {"start_new_session": True}
    if sys.platform == "win32":
        flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
        options = {"creationflags": flags}
    try:
        child = subprocess.Popen(
            launch.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, close_fds=True, **options,
        )  # fmt: skip
    except OSError as exc:
        name = launch.player or launch.argv[0]
        why = exc.strerror or str(exc)
        raise OSError(exc.errno, f"Could not start {name} ({launch.argv[0]}): {why}") from exc
    _children.append(child)
