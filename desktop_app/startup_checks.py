"""Checks made before Qt starts, so that a broken setup ends in one clear line, not a crash.

Two ways the window can fail that no test of the window itself catches:

* **A Qt binding with a reference-count bug.** PySide6 6.12.0 drops one reference to ``None``
  on every call of a method that returns nothing (``setText``, ``update``, ``QTimer.stop``…).
  On Python 3.11 ``None`` is an ordinary object: when its count reaches zero the interpreter
  aborts (``Fatal Python error: none_dealloc``), a few minutes into normal use. (Python 3.12
  made ``None`` immortal, so the same wheel is harmless there.) Known-bad combinations are
  refused by name, and any other binding is measured: a few dozen void calls must leave
  ``sys.getrefcount(None)`` where it was.
* **A platform plugin that cannot load.** Qt's xcb plugin links a dozen X libraries that a
  minimal Debian lacks (``libxcb-icccm4``, ``libxcb-keysyms1``…); without them Qt prints a
  generic message and aborts. ``ldd`` on the plugin names what is missing, and the message says
  which Debian packages provide it.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

#: (PySide6 version, first Python version on which it is safe).
KNOWN_BAD_BINDINGS: tuple[tuple[str, tuple[int, int]], ...] = (
    # None loses a reference per void call; fatal where None is mortal (Python < 3.12).
    ("6.12.0", (3, 12)),
)
#: The PySide6 this project pins and tests (pyproject.toml).
TESTED_PYSIDE = "6.11.3"
#: Void calls made by the live check; a leaking binding loses one reference to None per call.
PROBE_CALLS = 64

#: The shared libraries Qt's xcb platform, widgets and multimedia load from the system, and the
#: Debian/Ubuntu packages that provide them (`make system-deps` installs these).
DEBIAN_PACKAGES: dict[str, str] = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXext.so.6": "libxext6",
    "libXrandr.so.2": "libxrandr2",
    "libdbus-1.so.3": "libdbus-1-3",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libpulse.so.0": "libpulse0",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}
#: Libraries every Debian system has (the C and C++ runtimes, zlib, zstd).
BASE_LIBRARIES = re.compile(
    r"^(ld-linux.*|linux-vdso.*|lib(c|m|dl|rt|pthread|gcc_s|stdc\+\+|z|zstd)\.so(\.\d+)*)$"
)


# --------------------------------------------------------------------------- the binding
def known_bad_binding(pyside: str, python: Sequence[int]) -> str | None:
    """The refusal for a PySide6 release known to crash on this Python, else None."""
    for version, safe_from in KNOWN_BAD_BINDINGS:
        if pyside == version and tuple(python[:2]) < safe_from:
            return (
                f"PySide6 {pyside} on Python {python[0]}.{python[1]} loses a reference to None on"
                " every call and would crash the app within minutes; install the tested release"
                f" (pip install PySide6=={TESTED_PYSIDE}) or use Python"
                f" {safe_from[0]}.{safe_from[1]}+"
            )
    return None


def none_references_lost(call: Callable[[], object], calls: int = PROBE_CALLS) -> int:
    """How many references to None ``calls`` calls of ``call`` lost (0 for a sound binding).

    Python ≥ 3.12 reports a constant count for the immortal None, so this is 0 there.
    """
    call()  # the first call may cache things (method lookups, type objects)
    before = sys.getrefcount(None)
    for _ in range(calls):
        call()
    return before - sys.getrefcount(None)


def _void_call() -> Callable[[], object]:
    from PySide6.QtCore import QObject

    obj = QObject()
    return lambda: obj.setObjectName("probe")  # a void method: returns None through the binding


def binding_problem(
    pyside: str | None = None,
    python: Sequence[int] | None = None,
    probe: Callable[[], object] | None = None,
) -> str | None:
    """Why this Qt binding must not run the app, or None when it is sound.

    Checks the table of known-bad releases, then measures: :data:`PROBE_CALLS` void calls
    must not lose references to None (a release not yet in the table is caught the same way).
    """
    if pyside is None:
        import PySide6

        pyside = PySide6.__version__
    python = tuple(python or sys.version_info[:2])
    known = known_bad_binding(pyside, python)
    if known is not None:
        return known
    lost = none_references_lost(probe or _void_call())
    if lost >= PROBE_CALLS // 2:
        return (
            f"PySide6 {pyside} loses a reference to None on every call ({lost} in"
            f" {PROBE_CALLS} calls) and would crash the app within minutes; install the tested"
            f" release (pip install PySide6=={TESTED_PYSIDE})"
        )
    return None


# --------------------------------------------------------------------------- the platform
def chosen_platform(env: Mapping[str, str], qt_args: Sequence[str] = ()) -> str:
    """The platform plugin Qt will load: ``-platform NAME``, ``$QT_QPA_PLATFORM``, or the
    session's default on Linux (wayland in a Wayland session, else xcb)."""
    args = list(qt_args)
    for i, arg in enumerate(args):
        if arg in ("-platform", "--platform") and i + 1 < len(args):
            return args[i + 1].split(":")[0]
    value = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0]
    if value:
        return value
    if env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb"


def qt_plugin(relative: str) -> Path:
    """A file under the installed Qt's plugin folder (e.g. ``platforms/libqxcb.so``)."""
    from PySide6.QtCore import QLibraryInfo

    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / relative


def missing_libraries(library: Path) -> list[str]:
    """Shared libraries ``library`` needs that the dynamic loader cannot find (``ldd``)."""
    ldd = shutil.which("ldd")
    if ldd is None or not library.exists():
        return []
    try:
        done = subprocess.run(
            [ldd, str(library)], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    missing: list[str] = []
    for line in done.stdout.splitlines():
        name, _, where = line.strip().partition("=>")
        if where.strip() == "not found" and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def platform_problem(
    env: Mapping[str, str] | None = None,
    qt_args: Sequence[str] = (),
    missing: Callable[[Path], list[str]] | None = None,
) -> str | None:
    """Why Qt's platform plugin will not load here, in one line; None when it should.

    ``missing`` (default :func:`missing_libraries`) lists what a library cannot find.
    """
    if not sys.platform.startswith("linux"):
        return None
    env = os.environ if env is None else env
    if chosen_platform(env, qt_args) != "xcb":
        return None
    if not env.get("DISPLAY"):
        return (
            "there is no display to open the window on (DISPLAY is not set): start ClipSeek"
            " from a desktop session, or use `clipseek` on the command line"
        )
    absent = (missing or missing_libraries)(qt_plugin("platforms/libqxcb.so"))
    if not absent:
        return None
    packages = sorted({DEBIAN_PACKAGES[name] for name in absent if name in DEBIAN_PACKAGES})
    hint = f"; on Debian/Ubuntu: sudo apt-get install {' '.join(packages)}" if packages else ""
    return f"Qt's X11 platform cannot load: missing {', '.join(absent)}{hint}"


# --------------------------------------------------------------------------- ELF (for tests)
def needed_libraries(library: Path) -> list[str]:
    """The ``DT_NEEDED`` entries of a 64-bit little-endian ELF file (what it links directly).

    Used to check that :data:`DEBIAN_PACKAGES` and the Makefile cover what Qt's plugins link;
    returns [] for any other file.
    """
    data = library.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)
    ]
    dynamic = next((s for s in sections if s[1] == 6), None)  # SHT_DYNAMIC
    if dynamic is None:
        return []
    strtab = sections[dynamic[6]]  # sh_link: the section of its strings
    out: list[str] = []
    for pos in range(dynamic[4], dynamic[4] + dynamic[5], 16):
        tag, value = struct.unpack_from("<qQ", data, pos)
        if tag == 0:
            break
        if tag == 1:  # DT_NEEDED
            start = strtab[4] + value
            out.append(data[start : data.index(b"\0", start)].decode())
    return out


def startup_problem(qt_args: Sequence[str] = ()) -> str | None:
    """Everything that must hold before ``QApplication`` is made, checked in order."""
    return binding_problem() or platform_problem(qt_args=qt_args)
