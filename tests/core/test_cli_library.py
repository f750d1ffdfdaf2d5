"""``clipseek index/search/status/folders/rebuild`` as a user runs them, in subprocesses."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from core.library import Library
from core.model.encoder import Encoder
from tests.library_support import clipseek, consistent, make_folder
from tests.videos import frame_at, write_video

pytestmark = pytest.mark.slow  # runs clipseek in subprocesses, kills some

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle(tiny_seqtransf) -> Path:
    return Path(tiny_seqtransf[1])


def test_index_then_search_by_image_status_and_json(tmp_path, bundle) -> None:
    videos = make_folder(tmp_path / "videos", {f"v{i}.mp4": 9 + 2 * i for i in range(4)})
    (videos / "empty.mp4").write_bytes(b"")
    (videos / "notes.txt").write_text("not a video")
    common = ["--model", bundle, "--library", tmp_path / "lib", "--cpu"]

    out = clipseek("index", videos, *common, "--json")
    report = json.loads(out.stdout)
    assert sorted(Path(v["path"]).name for v in report["indexed"]) == [
        f"v{i}.mp4" for i in range(4)
    ]
    assert [Path(f["path"]).name for f in report["failed"]] == ["empty.mp4"]
    assert "[5/5]" in out.stderr and "scan: 5 new" in out.stderr

    frame = tmp_path / "frame.png"
    cv2.imwrite(str(frame), cv2.cvtColor(frame_at(videos / "v2.mp4", 9.5), cv2.COLOR_RGB2BGR))
    found = json.loads(clipseek("search", "--image", frame, "-k", "3", "--json", *common).stdout)
    best = found["results"][0]
    assert Path(best["path"]).name == "v2.mp4" and best["t0"] <= 9.5 < best["t1"]
    assert {"path", "t0", "t1", "score", "thumbnail"} <= set(best)
    assert Path(best["thumbnail"]).is_file()

    text = clipseek("search", "a birthday party", "-k", "2", *common).stdout.splitlines()
    assert len(text) == 2 and all(".mp4" in line for line in text)

    status = json.loads(clipseek("status", "--json", *common).stdout)
    assert (status["videos"], status["indexed"], status["failed"]) == (5, 4, 1)
    assert status["errors"] == [
        {"path": str(videos.resolve() / "empty.mp4"), "error": "empty file"}
    ]
    assert status["skipped"][0]["reason"] == "text file"
    assert status["model"]["provider"] == "CPUExecutionProvider"
    assert status["index"]["segments"] == status["segments"] > 0
    human = clipseek("status", *common).stdout
    assert "CPU (CPU forced by setting)" in human and "empty.mp4: empty file" in human

    again = json.loads(clipseek("index", *common, "--json").stdout)  # nothing changed
    assert again["indexed"] == [] and again["failed"] == [] and again["scan"]["unchanged"] == 5

    listed = json.loads(clipseek("folders", "list", "--json", *common).stdout)
    assert [f["path"] for f in listed] == [str(videos.resolve())]
    assert "2 s" not in clipseek("rebuild", *common).stderr
    assert clipseek("folders", "remove", videos, *common).returncode == 0
    assert json.loads(clipseek("status", "--json", *common).stdout)["videos"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", ""], "empty"),
        (["search"], "either a sentence or --image"),
        (["search", "--image", "missing.png"], "no such image"),
        (["index"], "nothing to index"),
        (["index", "/no/such/folder"], "no such file or folder"),
        (["folders", "remove", "/nowhere"], "not a watched folder"),
    ],
)
def test_bad_requests_are_one_line_errors(tmp_path, bundle, args, message) -> None:
    proc = clipseek(*args, "--model", bundle, "--library", tmp_path / "lib", check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_wrong_model_file_is_a_clear_error(tmp_path) -> None:
    proc = clipseek("status", "--model", tmp_path, "--library", tmp_path / "lib", check=False)
    assert proc.returncode == 1 and "manifest.json: missing" in proc.stderr  # the work failed


def _indexed(lib_dir: Path, encoder: Encoder) -> set[str]:
    with Library(encoder, lib_dir) as lib:
        assert consistent(lib), "the library reopened inconsistent"
        for v in lib.catalog.videos():  # a video is whole or absent: never half-stored
            count = len(lib.catalog.frames(v.id, encoder.embed_dim)[0])
            assert (count > 0) == (v.status == "indexed"), v
        return {Path(v.path).name for v in lib.catalog.videos(status="indexed")}


def _run_until_killed(args: list[str], kill_after: int, delay: float) -> list[str]:
    """Start an indexing run; SIGKILL it ``delay`` s after its ``kill_after``-th video line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    done: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("[") and " indexed " in line:
            done.append(Path(line.split(" indexed ", 1)[1].split(":", 1)[0]).name)
            if len(done) == kill_after:
                time.sleep(delay)
                proc.kill()
                break
    proc.wait(timeout=120)
    return done


def test_sigkill_at_random_moments_then_resume(tmp_path, bundle) -> None:
    n = 20
    names = {f"clip{i:02d}.mp4" for i in range(n)}
    videos = make_folder(
        tmp_path / "videos", {name: 7 + i % 4 for i, name in enumerate(sorted(names))}
    )
    lib_dir = tmp_path / "lib"
    encoder = Encoder(bundle, force_cpu=True)
    common = ["--model", str(bundle), "--cpu", "--checkpoint-seconds", "0"]
    args = ["index", str(videos), "--library", str(lib_dir), *common]
    rng = random.Random(20261124)
    kills = 0
    for _ in range(4):  # kills after 1-3 more videos, a few ms into the next one
        before = _indexed(lib_dir, encoder) if lib_dir.exists() else set()
        done = _run_until_killed(args, rng.randint(1, 3), rng.uniform(0.0, 0.01))
        kills += 1
        assert not (set(done) & before), "a finished video was encoded again"
    before = _indexed(lib_dir, encoder)
    assert kills == 4 and 0 < len(before) < n, before
    final = json.loads(clipseek(*args, "--json").stdout)
    resumed = {Path(v["path"]).name for v in final["indexed"]}
    assert resumed == names - before
    assert _indexed(lib_dir, encoder) == names

    clean_dir = tmp_path / "clean"
    clipseek("index", videos, "--library", clean_dir, *common)
    queries = ["a dog on the beach", "birthday candles", "red and blue squares"]
    with Library(encoder, lib_dir) as crashed, Library(encoder, clean_dir) as clean:
        for q in queries:
            a = {
                (Path(r.path).name, r.t0, r.t1): r.score
                for r in crashed.search(q, 100, merge=False)
            }
            b = {
                (Path(r.path).name, r.t0, r.t1): r.score for r in clean.search(q, 100, merge=False)
            }
            assert a.keys() == b.keys()
            assert max(abs(a[key] - b[key]) for key in a) < 1e-4
            assert [(r.path, r.t0, r.t1) for r in crashed.search(q, 5)] == [
                (r.path, r.t0, r.t1) for r in clean.search(q, 5)
            ]
        probe = frame_at(videos / "clip09.mp4", 4.5)
        assert [(r.path, r.t0, r.t1) for r in crashed.search_image(probe, 3)] == [
            (r.path, r.t0, r.t1) for r in clean.search_image(probe, 3)
        ]
    assert os.listdir(lib_dir)


def test_watch_picks_up_new_files_and_stops_on_ctrl_c(tmp_path, bundle) -> None:
    videos = make_folder(tmp_path / "videos", {"first.mp4": 5})
    command = [sys.executable, "-m", "core.cli", "index", str(videos), "--watch"]
    command += ["--interval", "0.3", "--model", str(bundle), "--library", str(tmp_path / "lib")]
    proc = subprocess.Popen(
        [*command, "--cpu"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        # as in a terminal: CI runners and job shells may start us with SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line)
        if "indexed" in line and "first.mp4" in line:
            write_video(videos / "later" / "second.mp4", seed=7, seconds=5)
        if "indexed" in line and "second.mp4" in line:
            proc.send_signal(signal.SIGINT)
            break
    assert proc.wait(timeout=60) == 0, "".join(seen)
    assert "stopped watching" in proc.stderr.read()


def test_a_new_rate_is_one_choice_for_every_command_and_keeps_the_folders(
    tmp_path, bundle, capsys
) -> None:
    """``index --rate`` chooses the rate for every later command (and the app): one rule in
    core picks the library, and the new rate's library watches the same folders."""
    from core.cli.main import main

    def run(*args: str | Path) -> tuple[int, str, str]:
        code = main([*map(str, args), "--model", str(bundle), "--cpu"])  # the default library
        out = capsys.readouterr()
        return code, out.out, out.err

    def status() -> dict:
        code, out, _err = run("status", "--json")
        assert code == 0
        return json.loads(out)

    videos = make_folder(tmp_path / "videos", {"a.mp4": 8, "b.mp4": 6})
    assert run("index", videos)[0] == 0
    first = status()
    assert first["sampling"]["frames_per_second"] == 1.0
    code, _out, err = run("index", "--rate", "2")
    assert code == 0 and "sampling 2 frames/s from now on" in err
    assert "watching the same 1 folder(s) as at 1 frame/s" in err
    second = status()  # no --rate: it follows the choice
    assert second["library"] != first["library"] and second["library"].endswith("-2fps")
    assert second["sampling"]["frames_per_second"] == 2.0 and second["indexed"] == 2
    assert second["frames"] > first["frames"]
    assert run("index", "--rate", "1")[0] == 0  # back: the first library, intact
    again = status()
    assert again["library"] == first["library"] and again["frames"] == first["frames"]
    code, _out, err = run("index", "--rate", "0")
    assert code == 2 and "between 0.05 and 30" in err


@pytest.mark.parametrize("address", ["postgresql://me@nas/clipseek", "sqlite:///lib.db"])
def test_an_address_is_never_taken_for_a_library_folder(tmp_path, address) -> None:
    """Found reading issue 27: `--library postgresql://…` quietly made a folder named
    `postgresql:` in the working directory and indexed into it."""
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "status", "--library", address],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "CLIPSEEK_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "is an address" in proc.stderr and "not a folder" in proc.stderr
    assert "me@" not in proc.stderr  # a user name (or password) in the address is not echoed
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(":")]
