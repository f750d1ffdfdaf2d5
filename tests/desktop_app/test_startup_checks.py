"""Before Qt starts: a binding that would crash later, a platform plugin that cannot load."""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from desktop_app import startup_checks
from desktop_app.startup_checks import (
    BASE_LIBRARIES,
    DEBIAN_PACKAGES,
    binding_problem,
    known_bad_binding,
    missing_libraries,
    needed_libraries,
    none_references_lost,
    platform_problem,
    qt_plugin,
)

ROOT = Path(__file__).resolve().parents[2]

# Thousands of calls of methods that return nothing, through the real binding, in a process of
# its own: a binding that leaks None's references aborts it or shows a drift.
VOID_CALLS = r"""
import json, sys
from PySide6.QtCore import QObject, QTimer, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label, timer, pen, obj = QLabel(), QTimer(), QPen(), QObject()
calls = {
    "QLabel.setText": lambda: label.setText("x"),
    "QWidget.update": label.update,
    "QPen.setColor": lambda: pen.setColor(QColor(Qt.GlobalColor.red)),
    "QTimer.stop": timer.stop,
    "QObject.setObjectName": lambda: obj.setObjectName("a"),
}
drift = {}
for name, call in calls.items():
    call()
    before = sys.getrefcount(None)
    for _ in range(2000):
        call()
    drift[name] = sys.getrefcount(None) - before
print(json.dumps(drift))
"""


def test_void_calls_leave_none_alone() -> None:
    """10,000 void calls keep None's reference count where it was (PySide6 6.12.0 on Python
    3.11 loses one per call: this process dies with none_dealloc or shows -2000 per method)."""
    done = subprocess.run(
        [sys.executable, "-c", VOID_CALLS],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, f"the binding crashed the interpreter:\n{done.stderr[-2000:]}"
    drift = json.loads(done.stdout.strip().splitlines()[-1])
    assert drift == dict.fromkeys(drift, 0), drift


def test_the_pinned_pyside_is_not_a_known_bad_release() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in deps if d.startswith("PySide6"))
    assert pin == f"PySide6=={startup_checks.TESTED_PYSIDE}"
    for python in ((3, 11), (3, 12), (3, 13)):
        assert known_bad_binding(startup_checks.TESTED_PYSIDE, python) is None


def test_known_bad_combinations_are_refused_by_name() -> None:
    message = known_bad_binding("6.12.0", (3, 11))
    assert message is not None and "\n" not in message
    assert "6.12.0" in message and "PySide6==6.11.3" in message and "None" in message
    assert known_bad_binding("6.12.0", (3, 12)) is None  # immortal None: harmless there
    assert known_bad_binding("6.11.3", (3, 11)) is None


def test_the_installed_binding_passes_the_live_check() -> None:
    assert binding_problem() is None


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12")
def test_a_leaking_binding_not_in_the_table_is_caught_by_measurement() -> None:
    decref, incref = ctypes.pythonapi.Py_DecRef, ctypes.pythonapi.Py_IncRef
    decref.argtypes = incref.argtypes = [ctypes.py_object]
    calls = [0]

    def leaky() -> None:  # what the broken binding does: one reference to None lost per call
        calls[0] += 1
        decref(None)

    try:
        assert none_references_lost(leaky) == startup_checks.PROBE_CALLS
        message = binding_problem("6.99.0", (3, 11), probe=leaky)
    finally:
        for _ in range(calls[0]):
            incref(None)  # give None back what the fake binding took
    assert message is not None and "6.99.0" in message and "PySide6==6.11.3" in message
    assert none_references_lost(lambda: None) == 0


def test_the_app_refuses_a_bad_binding_in_one_line(monkeypatch, capsys) -> None:
    from desktop_app.__main__ import main

    monkeypatch.setattr(startup_checks, "binding_problem", lambda: "PySide6 6.12.0 is broken")
    assert main([]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "clipseek-app: PySide6 6.12.0 is broken"


def test_missing_xcb_libraries_are_named_with_their_packages(monkeypatch, capsys) -> None:
    absent = ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    message = platform_problem({"DISPLAY": ":0"}, missing=lambda _path: absent)
    assert message == (
        "Qt's X11 platform cannot load: missing libxcb-icccm.so.4, libxcb-keysyms.so.1;"
        " on Debian/Ubuntu: sudo apt-get install libxcb-icccm4 libxcb-keysyms1"
    )
    # ... and the app prints it instead of letting Qt abort
    from desktop_app.__main__ import main

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(startup_checks, "missing_libraries", lambda _path: absent)
    assert main(["-platform", "xcb"]) == 1
    assert capsys.readouterr().err.strip() == f"clipseek-app: {message}"


def test_other_platforms_and_no_display() -> None:
    assert "DISPLAY is not set" in (platform_problem({}) or "")
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert platform_problem({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}) is None
    assert platform_problem({}, qt_args=["-platform", "offscreen"]) is None
    assert platform_problem({"DISPLAY": ":0"}, missing=lambda _path: []) is None


@pytest.mark.skipif(shutil.which("ldd") is None, reason="needs ldd (glibc)")
def test_ldd_finds_what_a_plugin_cannot_load(tmp_path) -> None:
    plugin = qt_plugin("platforms/libqxcb.so")
    moved = tmp_path / "libqxcb.so"  # away from Qt's own libraries ($ORIGIN/../../lib)
    shutil.copy(plugin, moved)
    assert "libQt6XcbQpa.so.6" in missing_libraries(moved)
    assert not any(name.startswith("libQt6") for name in missing_libraries(plugin))


QT_FILES = [
    "plugins/platforms/libqxcb.so",
    "lib/libQt6XcbQpa.so.6",
    "lib/libQt6Gui.so.6",
    "lib/libQt6Core.so.6",
    "lib/libQt6DBus.so.6",
    "lib/libQt6Widgets.so.6",
    "lib/libQt6Multimedia.so.6",
    "lib/libQt6MultimediaWidgets.so.6",
    "plugins/multimedia/libffmpegmediaplugin.so",
]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux shared libraries")
def test_make_installs_every_system_library_qt_links() -> None:
    """Every library the window's Qt files link from the system has a Debian package, and
    ``make system-deps`` installs it (a minimal Debian lacked libxcb-icccm4 and keysyms1)."""
    qt = qt_plugin("").parent
    makefile = (ROOT / "Makefile").read_text()
    block = re.search(r"^QT_DEBS :=(.*?)(?<!\\)\n", makefile, re.S | re.M)
    assert block is not None
    installed = set(block.group(1).replace("\\", " ").split())
    external: set[str] = set()
    for relative in QT_FILES:
        path = qt / relative
        assert path.exists(), path
        for name in needed_libraries(path):
            if not (qt / "lib" / name).exists() and not BASE_LIBRARIES.match(name):
                external.add(name)
    assert "libxcb-icccm.so.4" in external and "libxcb-keysyms.so.1" in external
    unknown = external - DEBIAN_PACKAGES.keys()
    assert not unknown, f"no Debian package known for {sorted(unknown)}"
    packages = {DEBIAN_PACKAGES[name] for name in external}
    assert packages <= installed, f"the Makefile does not install {sorted(packages - installed)}"


def test_needed_libraries_of_something_that_is_not_elf(tmp_path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert needed_libraries(text) == []
