"""Choosing the system player and its start-at-t0 command line, on fake machines.

Nothing here starts a real player: ``which``/``exists``/``platform``/``environ`` are fakes. Only
:func:`start` runs real processes, and only harmless ones.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from desktop_app.external_player import (
    Launch,
    applescript_string,
    format_clock,
    format_seconds,
    plan_open,
    start,
)

VLC_MAC = "/Applications/VLC.app/Contents/MacOS/VLC"
IINA_CLI = "/Applications/IINA.app/Contents/MacOS/iina-cli"
VLC_WIN = "C:\\Program Files\\VideoLAN\\VLC\\vlc.exe"
VLC_WIN86 = "C:\\Program Files (x86)\\VideoLAN\\VLC\\vlc.exe"
WIN_ENV = {"ProgramFiles": "C:\\Program Files", "ProgramFiles(x86)": "C:\\Program Files (x86)"}


def machine(
    on_path: Iterable[str] = (), files: Iterable[str] = ()
) -> tuple[Callable[[str], str | None], Callable[[str], bool]]:
    """A fake ``which`` (programs on PATH live in /usr/bin) and ``exists``."""
    path, there = set(on_path), set(files)
    return (lambda name: f"/usr/bin/{name}" if name in path else None), there.__contains__


def plan(
    platform: str,
    on_path: Iterable[str] = (),
    files: Iterable[str] = (),
    environ: dict[str, str] | None = None,
    path: str = "/videos/a.mp4",
    t: float = 65.0,
    preferred: str | None = None,
) -> Launch:
    which, exists = machine(on_path, files)
    return plan_open(
        path, t, preferred=preferred, platform=platform, which=which, exists=exists,
        environ=environ or {},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("platform", "on_path", "files", "expected"),
    [
        ("linux", ["mpv", "vlc"], [], "mpv"),
        ("linux", ["vlc"], [], "VLC"),
        ("linux", [], [], None),
        ("darwin", ["mpv", "osascript"], [IINA_CLI, VLC_MAC], "IINA"),
        ("darwin", ["mpv", "osascript"], [VLC_MAC], "mpv"),
        ("darwin", ["osascript"], [VLC_MAC], "VLC"),
        ("darwin", ["osascript"], [], "QuickTime Player"),
        ("darwin", [], ["/usr/bin/osascript"], "QuickTime Player"),
        ("darwin", [], [], None),
        ("win32", ["mpv", "vlc"], [], "mpv"),
        ("win32", [], [VLC_WIN86], "VLC"),
        ("win32", [], [], None),
    ],
)
def test_auto_order_per_platform(
    platform: str, on_path: list[str], files: list[str], expected: str | None
) -> None:
    launch = plan(platform, on_path, files, environ=WIN_ENV if platform == "win32" else None)
    assert launch.player == expected
    assert (launch.argv is None) == (expected is None)
    assert launch.at_moment == (expected is not None)


def test_mpv_found_outside_a_bare_finder_path_on_macos() -> None:
    launch = plan("darwin", [], ["/opt/homebrew/bin/mpv"])
    assert launch.argv == ("/opt/homebrew/bin/mpv", "--start=65", "--", "/videos/a.mp4")


def test_windows_vlc_prefers_program_files() -> None:
    launch = plan("win32", [], [VLC_WIN, VLC_WIN86], WIN_ENV, path="C:\\v\\a.mp4")
    assert launch.argv == (VLC_WIN, "--start-time=65", "C:\\v\\a.mp4")


def test_preferred_beats_auto_order() -> None:
    assert plan("linux", ["mpv", "vlc"], preferred="vlc").player == "VLC"
    assert plan("darwin", ["osascript"], [IINA_CLI], preferred="quicktime").player == (
        "QuickTime Player"
    )


def test_preferred_but_missing_falls_back_to_auto_order() -> None:
    assert plan("linux", ["mpv"], preferred="vlc").player == "mpv"
    assert plan("linux", ["mpv"], preferred="iina").player == "mpv"  # IINA is macOS only


def test_env_var_names_a_player_and_the_argument_beats_it() -> None:
    env = {"CLIPSEEK_PLAYER": " VLC "}
    assert plan("linux", ["mpv", "vlc"], environ=env).player == "VLC"
    assert plan("linux", ["mpv", "vlc"], environ=env, preferred="mpv").player == "mpv"


def test_unknown_preferences_are_ignored() -> None:
    env = {"CLIPSEEK_PLAYER": "winamp"}
    assert plan("linux", ["mpv", "vlc"], environ=env).player == "mpv"
    assert plan("linux", ["mpv", "vlc"], preferred="totem").player == "mpv"
    # An unknown argument does not hide a known variable.
    env_vlc = {"CLIPSEEK_PLAYER": "vlc"}
    assert plan("linux", ["mpv", "vlc"], environ=env_vlc, preferred="x").player == "VLC"
    assert plan("linux", ["mpv", "vlc"], preferred="").player == "mpv"


def test_default_forces_the_default_handler() -> None:
    for launch in (
        plan("linux", ["mpv", "vlc"], preferred="default"),
        plan("darwin", ["osascript"], [IINA_CLI], environ={"CLIPSEEK_PLAYER": "default"}),
    ):
        assert launch == Launch(None, None, False)
    assert "found no" not in plan("linux", ["mpv"], preferred="default").describe(5)


def test_argv_per_player() -> None:
    assert plan("linux", ["mpv"]).argv == ("/usr/bin/mpv", "--start=65", "--", "/videos/a.mp4")
    assert plan("linux", ["vlc"]).argv == ("/usr/bin/vlc", "--start-time=65", "/videos/a.mp4")
    assert plan("darwin", [], [VLC_MAC]).argv == (VLC_MAC, "--start-time=65", "/videos/a.mp4")
    iina = plan("darwin", [], [IINA_CLI]).argv
    assert iina == (IINA_CLI, "--no-stdin", "--mpv-start=65", "/videos/a.mp4")
    assert plan("darwin", ["iina"]).argv == (
        "/usr/bin/iina", "--no-stdin", "--mpv-start=65", "/videos/a.mp4",
    )  # fmt: skip
    qt = plan("darwin", ["osascript"], t=12.5).argv
    assert qt is not None and qt[:2] == ("/usr/bin/osascript", "-e") and len(qt) == 3
    assert qt[2].splitlines() == [
        'set theFile to POSIX file "/videos/a.mp4"',
        'tell application "QuickTime Player"',
        "activate",
        "open theFile",
        "set current time of document 1 to 12.5",
        "play document 1",
        "end tell",
    ]


@pytest.mark.parametrize(
    ("t", "text"),
    [(0, "0"), (12.3456, "12.346"), (3600, "3600"), (-4.2, "0"), (-0.0004, "0"), (1e-7, "0"),
     (0.0006, "0.001"), (2.5, "2.5"), (1e-3, "0.001"), (float("nan"), "0"), (1e9, "1000000000")],
)  # fmt: skip
def test_seconds_formatting(t: float, text: str) -> None:
    assert format_seconds(t) == text
    assert "e" not in format_seconds(t) and not format_seconds(t).startswith("-")


def test_seconds_reach_every_command_line_formatted() -> None:
    for t, s in ((12.3456, "12.346"), (-3, "0"), (1e-7, "0"), (3600, "3600")):
        assert plan("linux", ["mpv"], t=t).argv == ("/usr/bin/mpv", f"--start={s}", "--",
                                                    "/videos/a.mp4")  # fmt: skip
        vlc = plan("linux", ["vlc"], t=t).argv
        assert vlc is not None and vlc[1] == f"--start-time={s}"


def test_dash_leading_filename_cannot_be_read_as_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    full = os.path.join(os.getcwd(), "-fs.mp4")
    mpv = plan("linux", ["mpv"], path="-fs.mp4").argv
    assert mpv == ("/usr/bin/mpv", "--start=65", "--", full)
    vlc = plan("linux", ["vlc"], path="-fs.mp4").argv
    assert vlc is not None and vlc[-1] == full and os.path.isabs(vlc[-1])
    iina = plan("darwin", [], [IINA_CLI], path="-fs.mp4").argv
    assert iina is not None and iina[-1] == full


def test_pathlike_paths_are_accepted(tmp_path: Path) -> None:
    launch = plan_open(
        tmp_path, 1, platform="linux", which=machine(["mpv"])[0], exists=lambda _: False,
        environ={},
    )  # fmt: skip
    assert launch.argv is not None and launch.argv[-1] == os.fspath(tmp_path)


def test_applescript_quoting_of_a_path_with_quotes_and_backslashes() -> None:
    assert applescript_string('a"b\\c') == '"a\\"b\\\\c"'
    path = '/v/say "hi"\\x.mov'
    argv = plan("darwin", ["osascript"], path=path).argv
    assert argv is not None
    first = argv[2].splitlines()[0]
    assert first == 'set theFile to POSIX file "/v/say \\"hi\\"\\\\x.mov"'
    tail = first.removeprefix('set theFile to POSIX file "').removesuffix('"')
    unescaped = tail.replace('\\"', '"').replace("\\\\", "\\")
    assert unescaped == path


def test_format_clock() -> None:
    assert [format_clock(t) for t in (0, 5.9, 65, 600, 3723, -3, float("inf"))] == [
        "0:00", "0:05", "1:05", "10:00", "1:02:03", "0:00", "0:00",
    ]  # fmt: skip


def test_describe_at_moment_and_default() -> None:
    assert plan("linux", ["mpv"]).describe(65) == "Opened in mpv at 1:05"
    assert plan("darwin", ["osascript"]).describe(3723) == "Opened in QuickTime Player at 1:02:03"
    assert plan("linux").describe(65) == (
        "Opened with the default player (it starts at the beginning: ClipSeek found no mpv or VLC)"
    )
    assert plan("darwin").describe(65) == (
        "Opened with the default player (it starts at the beginning: "
        "ClipSeek found no IINA, mpv, VLC or QuickTime Player)"
    )
    assert Launch(None, None, False).describe(9) == (
        "Opened with the default player (it starts at the beginning)"
    )
    assert Launch("Totem", ("totem", "x"), False).describe(9) == (
        "Opened in Totem (it starts at the beginning)"
    )


def test_start_runs_a_harmless_command_without_waiting() -> None:
    start(Launch("Python", (sys.executable, "-c", "pass"), True))


def test_start_of_a_missing_binary_raises_a_clear_oserror(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-player")
    with pytest.raises(OSError, match="Could not start mpv") as caught:
        start(Launch("mpv", (missing, "--start=1", "--", "/v/a.mp4"), True))
    assert missing in str(caught.value)


def test_start_refuses_a_default_handler_launch() -> None:
    with pytest.raises(ValueError, match="default handler"):
        start(Launch(None, None, False))
