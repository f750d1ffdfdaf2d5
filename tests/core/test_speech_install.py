"""Installing a Whisper speech model (CTranslate2 format), against a loopback stand-in hub.

The stand-in serves the hub's URLs at a pinned commit, in the real repositories' layout
(``model.bin`` in LFS; ``config.json``, ``tokenizer.json``, ``vocabulary.txt`` in git). The
install's mechanics (resume, damage, 404, offline, a file other than the pinned one, cancel, a
full disk, the swap) run on placeholder bytes; a tiny random-weight Whisper converted by
CTranslate2's own converter (``export.whisper_tiny``) shows that what is installed opens in
``ctranslate2.models.Whisper``. Nothing here touches the internet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.model.hub import git_blob_oid
from core.model.sources import InstallCancelled, InstallError
from core.speech.install import (
    MODEL_FILE,
    SPEECH_MANIFEST,
    SPEECH_SOURCES,
    SpeechModelError,
    SpeechSource,
    install_speech,
    installed_speech,
    installed_speech_models,
    load_speech_model,
    read_speech_manifest,
)

REPO = "clipseek-tests/faster-whisper-tiny"
REVISION = "0123456789abcdef0123456789abcdef01234567"
SOURCE = SpeechSource(
    size="tiny", repo=REPO, revision=REVISION, sha256=None, download_bytes=3_000_000
)
LAYOUT = ("config.json", MODEL_FILE, "tokenizer.json", "vocabulary.txt")


def placeholder_files() -> dict[str, bytes]:
    """Bytes in the real layout, for the mechanics (not a model)."""
    import random

    rng = random.Random(5)
    return {
        MODEL_FILE: rng.randbytes(2_000_000),
        "config.json": json.dumps({"lang_ids": [50259, 50260], "suppress_ids": []}).encode(),
        "tokenizer.json": json.dumps({"model": {"type": "BPE"}, "added_tokens": []}).encode(),
        "vocabulary.txt": "\n".join(f"t{i}" for i in range(3000)).encode(),
    }


class Hub:
    """A loopback HTTP server shaped like the hub: one repository's files at one commit
    (``others``: more repositories, each ``{(repo, revision): files}``)."""

    def __init__(
        self,
        files: dict[str, bytes],
        repo: str = REPO,
        revision: str = REVISION,
        lfs: tuple[str, ...] = (MODEL_FILE,),
        others: dict[tuple[str, str], dict[str, bytes]] | None = None,
    ):
        self.repos = {(repo, revision): files, **(others or {})}
        self.files = files
        self.lfs = lfs
        self.corrupt: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        self.paths: list[str] = []
        self.chunk_delay = 0.0
        self.break_after: int | None = None  # bytes of an LFS file sent before hanging up
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                hub.paths.append(self.path)
                for (repo, rev), files in hub.repos.items():
                    if self.path == f"/api/models/{repo}/tree/{rev}":
                        self._send(200, json.dumps(hub.listing(files)).encode(), "application/json")
                        return
                    prefix = f"/{repo}/resolve/{rev}/"
                    if self.path.startswith(prefix) and self.path[len(prefix) :] in files:
                        break
                else:
                    self._send(404, b"not found")
                    return
                name = self.path[len(prefix) :]
                data = bytearray(files[name])
                if name in hub.corrupt:
                    data[len(data) // 2] ^= 0xFF
                header = self.headers.get("Range")
                hub.requests.append((name, header))
                if header:
                    start = int(header.split("=")[1].split("-")[0])
                    self._send(206, bytes(data[start:]), extra={
                        "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"
                    })  # fmt: skip
                else:
                    self._send(200, bytes(data), limit=hub.break_after if name in hub.lfs else None)

            def _send(self, code, body, ctype="application/octet-stream", extra=None, limit=None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                step = 16 * 1024
                end = len(body) if limit is None else limit
                for i in range(0, end, step):
                    if hub.chunk_delay:
                        threading.Event().wait(hub.chunk_delay)
                    try:
                        self.wfile.write(body[i : min(i + step, end)])
                    except (BrokenPipeError, ConnectionResetError):
                        return
                if limit is not None:
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def listing(self, files: dict[str, bytes]) -> list[dict]:
        """As ``/api/models/<repo>/tree/<rev>`` gives it: LFS files with their SHA-256 as the
        LFS ``oid``, git files with their git blob id."""
        out: list[dict] = [
            {"type": "file", "path": ".gitattributes", "size": 10, "oid": "0" * 40},
            {"type": "file", "path": "README.md", "size": 10, "oid": "0" * 40},
        ]
        for name, data in files.items():
            if name in self.lfs:
                sha = hashlib.sha256(data).hexdigest()
                lfs = {"oid": sha, "size": len(data), "pointerSize": 134}
                out.append({"type": "file", "path": name, "size": len(data), "oid": "1" * 40,
                            "lfs": lfs})  # fmt: skip
            else:
                out.append({"type": "file", "path": name, "size": len(data),
                            "oid": git_blob_oid(data)})  # fmt: skip
        return out

    @property
    def weight_requests(self) -> list[str | None]:
        return [r for name, r in self.requests if name == MODEL_FILE]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub():
    server = Hub(placeholder_files())
    yield server
    server.close()


def _install(hub: Hub, models, **kwargs):
    return install_speech(SOURCE, models_dir=models, hub_url=hub.url, **kwargs)


# -- the mechanics, on placeholder bytes ------------------------------------------------------


def test_install_fetches_the_pinned_commit_checks_and_records_every_file(hub, tmp_path) -> None:
    stages: list[str] = []
    messages: list[str] = []

    def progress(p) -> None:
        stages.append(p.stage)
        messages.append(p.message)

    path = _install(hub, tmp_path, on_progress=progress)
    assert path == tmp_path / "whisper-tiny"
    assert list(dict.fromkeys(stages)) == ["connecting", "downloading", "verifying", "done"]
    # the disk space is said before anything is downloaded
    said = next(i for i, m in enumerate(messages) if "MB needed in" in m)
    assert said < stages.index("downloading") and "MB free" in messages[said]
    assert sorted(p.name for p in path.iterdir()) == sorted((*LAYOUT, SPEECH_MANIFEST))
    for name, data in hub.files.items():
        assert (path / name).read_bytes() == data
    # only the pinned commit was asked for, never a branch
    assert all(REVISION in p for p in hub.paths) and len(hub.paths) == 5
    m = load_speech_model(path).manifest
    assert (m.name, m.size, m.repo, m.revision, m.runtime) == (
        "Whisper tiny", "tiny", REPO, REVISION, "ctranslate2"
    )  # fmt: skip
    assert {k: (v.sha256, v.bytes) for k, v in m.files.items()} == {
        k: (hashlib.sha256(v).hexdigest(), len(v)) for k, v in hub.files.items()
    }
    assert m.identity == f"Whisper tiny sha256:{hashlib.sha256(hub.files[MODEL_FILE]).hexdigest()}"
    assert m.created
    assert sorted(p.name for p in tmp_path.iterdir()) == [".downloads", "whisper-tiny"]
    assert list((tmp_path / ".downloads").iterdir()) == []  # moved, not copied


def test_the_folder_confuses_neither_the_bundles_nor_the_text_towers(
    hub, tmp_path, monkeypatch
) -> None:
    from core.model import registry
    from core.model.text_tower import candidate_folders

    monkeypatch.setenv("CLIPSEEK_HOME", str(tmp_path))
    monkeypatch.delenv("CLIPSEEK_MODEL", raising=False)
    models = registry.models_dir()
    path = install_speech(SOURCE, hub_url=hub.url)  # the default models folder
    assert path == models / "whisper-tiny"
    assert registry.installed_bundles() == []
    assert candidate_folders(tmp_path / "no-bundle", models) == []
    assert registry.resolve_model() == registry.DEMO_MODEL  # not the speech model
    assert installed_speech_models() == [path]
    assert installed_speech(SOURCE) == path


def test_installed_models_are_listed_smallest_first_and_damaged_ones_left_out(
    hub, tmp_path
) -> None:
    tiny = _install(hub, tmp_path)
    base = dataclasses.replace(SOURCE, size="base")
    second = install_speech(base, models_dir=tmp_path, hub_url=hub.url)
    assert second == tmp_path / "whisper-base"
    (tmp_path / "whisper-zz").mkdir()
    (tmp_path / "whisper-zz" / SPEECH_MANIFEST).write_text("{}")
    assert installed_speech_models(tmp_path) == [tiny, second]
    assert installed_speech_models(tmp_path / "nothing") == []


def test_a_second_install_of_the_same_pin_is_found_installed(hub, tmp_path) -> None:
    assert installed_speech(SOURCE, tmp_path) is None
    path = _install(hub, tmp_path)
    assert installed_speech(SOURCE, tmp_path) == path
    other_commit = dataclasses.replace(SOURCE, revision="f" * 40)
    assert installed_speech(other_commit, tmp_path) is None
    other_weights = dataclasses.replace(SOURCE, sha256="ab" * 32)
    assert installed_speech(other_weights, tmp_path) is None
    (path / "vocabulary.txt").write_bytes(b"short")
    assert installed_speech(SOURCE, tmp_path) is None  # incomplete: install again


def test_a_broken_download_resumes_with_a_range_request(hub, tmp_path) -> None:
    size = len(hub.files[MODEL_FILE])
    hub.break_after = size // 3
    with pytest.raises(InstallError, match="try again to resume it") as err:
        _install(hub, tmp_path)
    assert "\n" not in str(err.value)
    (part,) = (tmp_path / ".downloads").glob("*.part")
    have = part.stat().st_size
    assert 0 < have < size and not (tmp_path / "whisper-tiny").exists()
    hub.break_after = None
    path = _install(hub, tmp_path)
    assert hub.weight_requests == [None, f"bytes={have}-"]
    load_speech_model(path)


def test_a_damaged_download_is_refused_and_deleted(hub, tmp_path) -> None:
    hub.corrupt = {MODEL_FILE}
    with pytest.raises(InstallError, match=r"^model\.bin arrived damaged") as err:
        _install(hub, tmp_path)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "whisper-tiny").exists()
    assert list((tmp_path / ".downloads").glob("*model.bin*")) == []


@pytest.mark.parametrize("name", ["vocabulary.txt", "tokenizer.json", "config.json"])
def test_a_damaged_small_file_is_refused(hub, tmp_path, name) -> None:
    hub.corrupt = {name}
    with pytest.raises(InstallError, match=f"^{name} arrived damaged"):
        _install(hub, tmp_path)
    assert not (tmp_path / "whisper-tiny").exists()
    hub.corrupt = set()
    _install(hub, tmp_path)  # the checked model.bin was kept: not downloaded again
    assert hub.weight_requests == [None]


def test_a_file_other_than_the_pinned_one_is_refused_before_downloading(hub, tmp_path) -> None:
    pinned = dataclasses.replace(SOURCE, sha256="ab" * 32)
    with pytest.raises(InstallError, match="not the file this ClipSeek expects") as err:
        install_speech(pinned, models_dir=tmp_path, hub_url=hub.url)
    assert "\n" not in str(err.value) and hub.requests == []


def test_the_pinned_sha_is_accepted(hub, tmp_path) -> None:
    sha = hashlib.sha256(hub.files[MODEL_FILE]).hexdigest()
    pinned = dataclasses.replace(SOURCE, sha256=sha)
    path = install_speech(pinned, models_dir=tmp_path, hub_url=hub.url)
    assert installed_speech(pinned, tmp_path) == path


def test_an_unknown_repo_or_commit_is_named(hub, tmp_path) -> None:
    gone = dataclasses.replace(SOURCE, revision="e" * 40)
    with pytest.raises(InstallError, match=rf"{REPO} was not found .*HTTP 404"):
        install_speech(gone, models_dir=tmp_path, hub_url=hub.url)


def test_a_missing_file_is_named(hub, tmp_path) -> None:
    del hub.files["vocabulary.txt"]
    with pytest.raises(InstallError, match=f"{REPO} on 127.0.0.1:\\d+ has no file vocabulary.txt"):
        _install(hub, tmp_path)
    assert hub.requests == []


def test_offline_is_said_plainly(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InstallError, match="cannot reach the Hugging Face hub") as err:
        install_speech(SOURCE, models_dir=tmp_path, hub_url=f"http://127.0.0.1:{port}")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "whisper-tiny").exists()


def test_cancel_keeps_the_partial_download(hub, tmp_path) -> None:
    hub.chunk_delay = 0.02
    cancel = threading.Event()

    def progress(p) -> None:
        if p.stage == "downloading" and p.bytes_done > 0:
            cancel.set()

    with pytest.raises(InstallCancelled):
        _install(hub, tmp_path, on_progress=progress, cancel=cancel)
    (part,) = (tmp_path / ".downloads").glob("*.part")
    assert 0 < part.stat().st_size < len(hub.files[MODEL_FILE])
    assert not (tmp_path / "whisper-tiny").exists()


def test_a_full_disk_is_said_before_downloading(hub, tmp_path, monkeypatch) -> None:
    import shutil

    from core.speech import install

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(install.shutil, "disk_usage", lambda p: usage._replace(free=1000))
    said = r"not enough free disk space .* the install needs about 19 MB, 0 MB are free"
    with pytest.raises(InstallError, match=said):
        _install(hub, tmp_path)
    assert hub.weight_requests == []


def test_a_config_that_is_not_an_object_is_refused(hub, tmp_path) -> None:
    hub.files["config.json"] = b"[1, 2]"
    with pytest.raises(InstallError, match=r"config\.json is not a CTranslate2 model's config"):
        _install(hub, tmp_path)
    assert not (tmp_path / "whisper-tiny").exists()


def test_a_new_install_replaces_the_old_only_when_complete(hub, tmp_path) -> None:
    old = tmp_path / "whisper-tiny"
    old.mkdir()
    (old / "old-file").write_text("old")
    hub.corrupt = {MODEL_FILE}
    with pytest.raises(InstallError):
        _install(hub, tmp_path)
    assert (old / "old-file").exists()
    hub.corrupt = set()
    _install(hub, tmp_path)
    assert not (old / "old-file").exists() and (old / SPEECH_MANIFEST).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".whisper")] == []


def test_an_unknown_size_is_one_line() -> None:
    with pytest.raises(InstallError, match=r"speech models come in tiny, base, small; .* 'huge'"):
        install_speech("huge", hub_url="http://127.0.0.1:9")


# -- the check at load ------------------------------------------------------------------------


@pytest.fixture
def installed(hub, tmp_path):
    return _install(hub, tmp_path)


def test_a_sound_model_loads_and_checks_can_be_skipped(installed) -> None:
    model = load_speech_model(installed)
    assert model.root == installed and model.name == "Whisper tiny"
    assert model.identity.startswith("Whisper tiny sha256:")
    assert load_speech_model(installed, verify_checksums=False).manifest == model.manifest


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", r"vocabulary\.txt: missing from the speech model; install it again"),
        ("truncated", r"model\.bin: size differs from speech_model\.json"),
        ("flipped", r"model\.bin: checksum mismatch"),
        ("edited", r"speech_model\.json was edited after it was written"),
        ("unlisted", r"does not list required file tokenizer\.json"),
        ("absent", r"speech_model\.json: missing; this folder is not a speech model"),
        ("garbage", r"speech_model\.json: unreadable"),
        ("newer", r"speech model format 9 is newer"),
    ],
)
def test_a_damaged_model_is_refused_in_one_line(installed, damage, message) -> None:
    from core.model.bundle import CHECKSUM_FIELD, BundleError, manifest_checksum

    manifest = installed / SPEECH_MANIFEST
    data = json.loads(manifest.read_text())
    if damage == "missing":
        (installed / "vocabulary.txt").unlink()
    elif damage == "truncated":
        with (installed / MODEL_FILE).open("r+b") as fh:
            fh.truncate(1000)
    elif damage == "flipped":
        raw = bytearray((installed / MODEL_FILE).read_bytes())
        raw[10] ^= 1
        (installed / MODEL_FILE).write_bytes(bytes(raw))
    elif damage == "edited":
        data["revision"] = "main"
        manifest.write_text(json.dumps(data))
    elif damage in ("unlisted", "newer"):
        if damage == "unlisted":
            del data["files"]["tokenizer.json"]
        else:
            data["format_version"] = 9
        data[CHECKSUM_FIELD] = manifest_checksum(data)
        manifest.write_text(json.dumps(data))
    elif damage == "absent":
        manifest.unlink()
    else:
        manifest.write_text("{not json")
    with pytest.raises(SpeechModelError, match=message) as err:
        load_speech_model(installed)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, BundleError)  # the command line says it in one line
    if damage == "flipped":
        load_speech_model(installed, verify_checksums=False)  # sizes only: it passes


def test_a_file_name_that_leaves_the_folder_is_refused(installed) -> None:
    from core.model.bundle import CHECKSUM_FIELD, manifest_checksum

    manifest = installed / SPEECH_MANIFEST
    data = json.loads(manifest.read_text())
    data["files"]["../escape"] = {"sha256": "0" * 64, "bytes": 1}
    data[CHECKSUM_FIELD] = manifest_checksum(data)
    manifest.write_text(json.dumps(data))
    with pytest.raises(SpeechModelError, match="not a plain file name"):
        read_speech_manifest(installed)


# -- the pins ---------------------------------------------------------------------------------


def test_the_sources_are_pinned_to_commits() -> None:
    assert list(SPEECH_SOURCES) == ["tiny", "base", "small"]
    for size, s in SPEECH_SOURCES.items():
        assert s.repo == f"Systran/faster-whisper-{size}" and s.folder == f"whisper-{size}"
        assert len(s.revision) == 40 and int(s.revision, 16) >= 0
        assert s.sha256 is None or len(s.sha256) == 64
        assert s.hub_source.companions == ("config.json", "tokenizer.json", "vocabulary.txt")
    assert SPEECH_SOURCES["tiny"].revision == "d90ca5fe260221311c53c58e660288d3deb8d356"
    assert SPEECH_SOURCES["tiny"].sha256 == (
        "dcb76c6586fc06cbdac6dd21f14cfd129cc4cdd9dce19bf4ffa62e59cbe6e6d1"
    )
    assert SPEECH_SOURCES["small"].sha256 == (
        "3e305921506d8872816023e4c273e75d2419fb89b24da97b4fe7bce14170d671"
    )
    sizes = [s.download_bytes for s in SPEECH_SOURCES.values()]
    assert sizes == sorted(sizes) and 70e6 < sizes[0] < 90e6 and 450e6 < sizes[2] < 500e6


# -- the command ------------------------------------------------------------------------------


def test_clipseek_install_model_speech(hub, tmp_path, monkeypatch, capsys) -> None:
    from core.cli import main as cli

    monkeypatch.setitem(SPEECH_SOURCES, "tiny", SOURCE)
    monkeypatch.setenv("CLIPSEEK_HOME", str(tmp_path))
    assert cli.main(["install-model", "--speech", "tiny", "--hub", hub.url]) == 0
    out = capsys.readouterr()
    folder = tmp_path / "models" / "whisper-tiny"
    assert out.out.strip() == str(folder)
    stages = [line.split()[0] for line in out.err.splitlines()]  # not a TTY: a line per stage
    assert stages == ["connecting", "downloading", "verifying", "done"]
    assert cli.main(["install-model", "--speech", "tiny", "--hub", hub.url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"model": "Whisper tiny", "path": str(folder)}
    load_speech_model(folder)
    hub.corrupt = {MODEL_FILE}
    assert cli.main(["install-model", "--speech", "tiny", "--hub", hub.url]) == 1
    assert "arrived damaged" in capsys.readouterr().err.strip().splitlines()[-1]


def test_clipseek_install_model_speech_refuses_what_does_not_go_with_it(capsys) -> None:
    from core.cli import main as cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["install-model", "--speech", "tiny", "--multilingual"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["install-model", "--speech", "huge"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err
    assert cli.main(["install-model", "--speech", "base", "--file", "x.bin"]) == 2
    assert "--file" in capsys.readouterr().err
    assert cli.main(["install-model", "--speech", "base", "--precision", "int8"]) == 2
    assert "--precision" in capsys.readouterr().err


# -- a real (tiny) Whisper in the real layout -------------------------------------------------


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory) -> dict[str, bytes]:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("ctranslate2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from export.whisper_tiny import build_tiny_whisper, convert_to_ct2

    work = tmp_path_factory.mktemp("whisper")
    out = convert_to_ct2(build_tiny_whisper(work / "hf", seed=0), work / "ct2")
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(files) == sorted(LAYOUT)
    return files


def test_the_installed_tiny_whisper_opens_in_ctranslate2(tiny_whisper, tmp_path) -> None:
    import ctranslate2
    import numpy as np

    server = Hub(dict(tiny_whisper))
    try:
        started = time.perf_counter()
        path = install_speech(SOURCE, models_dir=tmp_path, hub_url=server.url)
        took = time.perf_counter() - started
    finally:
        server.close()
    print(f"install of the tiny stand-in ({len(tiny_whisper[MODEL_FILE]):,} B): {took:.2f} s")
    model = load_speech_model(path)
    whisper = ctranslate2.models.Whisper(str(model.root), device="cpu", compute_type="float32")
    assert whisper.is_multilingual
    features = ctranslate2.StorageView.from_array(np.zeros((1, 80, 3000), np.float32))
    (languages,) = whisper.detect_language(features)
    assert len(languages) > 0 and languages[0][0].startswith("<|")
    del whisper
    # int8, as it runs on a processor, from the same folder
    ctranslate2.models.Whisper(str(model.root), device="cpu", compute_type="int8")


def test_the_command_line_transcribes_with_the_installed_model_after_indexing(
    tiny_whisper, tmp_path
) -> None:
    """End to end with the real runtime: the tiny Whisper (random weights: what it "hears" is
    noise, but its language, times and storage are real) installed from the stand-in hub, then
    `clipseek index` runs the speech pass after the visual one; a second run has nothing to do."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.library_support import ROOT
    from tests.speech_media import have_espeak, speech_track, write_speech_video

    if not have_espeak():
        pytest.skip("espeak-ng is not installed (make test installs it)")
    server = Hub(dict(tiny_whisper))
    try:
        model = install_speech(SOURCE, models_dir=tmp_path / "models", hub_url=server.url)
    finally:
        server.close()
    folder = tmp_path / "videos"
    folder.mkdir()
    samples, _truth = speech_track(6.0, [(1.0, "happy birthday grandma")])
    write_speech_video(folder / "party.mp4", samples, 6.0)
    write_speech_video(folder / "silent.mp4", None, 4.0)
    env = {**os.environ, "CLIPSEEK_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    command = [
        sys.executable, "-m", "core.cli", "index", str(folder), "--json", "--cpu",
        "--library", str(tmp_path / "lib"), "--speech-model", str(model),
    ]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert first.returncode == 0, first.stderr
    speech = json.loads(first.stdout)["speech"]
    assert sorted(Path(t["path"]).name for t in speech["transcribed"]) == [
        "party.mp4", "silent.mp4",
    ]  # fmt: skip
    heard = next(t for t in speech["transcribed"] if t["path"].endswith("party.mp4"))
    assert len(heard["language"]) in (2, 3)  # detected per video, from the model's list
    silent = next(t for t in speech["transcribed"] if t["path"].endswith("silent.mp4"))
    assert silent["lines"] == 0  # no audio track: nothing said, and not asked again
    assert "speech: whisper-tiny" in first.stderr and "x real time" in first.stderr
    again = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["speech"]["transcribed"] == []
