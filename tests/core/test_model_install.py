"""Installing the real model, against a loopback stand-in for the Hugging Face hub.

The stand-in serves the hub's two URLs — the file listing with the LFS SHA-256 and the file
itself, with HTTP Range — and a tiny CLIP's weights written by our own export code in the same
format as the real file (safetensors). Nothing here touches the internet.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from core.model.encoder import Encoder
from core.model.install import install_model
from core.model.sources import InstallCancelled, InstallError, ModelSource

REPO = "clipseek-tests/tiny-clip"
SOURCE = ModelSource(
    repo=REPO, filename="open_clip_model.safetensors", arch="tiny", name="Tiny CLIP", folder="tiny"
)


class Hub:
    """A loopback HTTP server shaped like the hub; records what it was asked."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.sha = hashlib.sha256(payload).hexdigest()
        self.corrupt = False
        self.ranges: list[str | None] = []
        self.chunk_delay = 0.0
        self.honour_range = True
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == f"/api/models/{REPO}/tree/main":
                    body = json.dumps(
                        [
                            {"type": "file", "path": "README.md", "size": 10},
                            {
                                "type": "file",
                                "path": SOURCE.filename,
                                "size": len(hub.payload),
                                "lfs": {"oid": hub.sha, "size": len(hub.payload)},
                            },
                        ]
                    ).encode()
                    self._send(200, body, "application/json")
                elif self.path == f"/{REPO}/resolve/main/{SOURCE.filename}":
                    data = bytearray(hub.payload)
                    if hub.corrupt:
                        data[len(data) // 2] ^= 0xFF
                    header = self.headers.get("Range")
                    hub.ranges.append(header)
                    if header and hub.honour_range:
                        start = int(header.split("=")[1].split("-")[0])
                        self._send(206, bytes(data[start:]), extra={
                            "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"
                        })  # fmt: skip
                    else:
                        self._send(200, bytes(data))
                else:
                    self._send(404, b"not found")

            def _send(self, code, body, ctype="application/octet-stream", extra=None) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                step = 64 * 1024
                for i in range(0, len(body), step):
                    if hub.chunk_delay:
                        threading.Event().wait(hub.chunk_delay)
                    try:
                        self.wfile.write(body[i : i + step])
                    except (BrokenPipeError, ConnectionResetError):
                        return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _cosine(a, b) -> float:
    return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def tiny_clip():
    """A tiny CLIP (the export code's) and its weights as the hub would serve them."""
    import torch
    from safetensors.torch import save

    from export.model import build_model

    torch.manual_seed(3)
    model = build_model("tiny", "meanP")
    state = {k: v.contiguous() for k, v in model.clip.state_dict().items()}
    return model, save(state)


@pytest.fixture
def hub(tiny_clip):
    server = Hub(tiny_clip[1])
    yield server
    server.close()


@pytest.fixture(scope="module")
def installed(tiny_clip, tmp_path_factory):
    """One real install (the conversion takes a few seconds), shared by the checks below."""
    server = Hub(tiny_clip[1])
    models = tmp_path_factory.mktemp("models")
    stages: list[str] = []
    done: list[int] = []

    def progress(p) -> None:
        stages.append(p.stage)
        if p.stage == "downloading":
            done.append(p.bytes_done)

    try:
        path = install_model(SOURCE, models_dir=models, hub_url=server.url, on_progress=progress)
    finally:
        server.close()
    return path, models, stages, done


def test_install_downloads_verifies_and_converts(installed, tiny_clip) -> None:
    path, models, stages, done = installed
    assert path == models / "tiny"
    order = list(dict.fromkeys(stages))
    assert order == ["connecting", "downloading", "verifying", "converting", "done"]
    assert done == sorted(done) and done[-1] == len(tiny_clip[1])
    encoder = Encoder(path, force_cpu=True)  # checksums verified on load
    assert encoder.manifest.name == "Tiny CLIP" and encoder.manifest.head == "meanP"
    import torch

    model = tiny_clip[0]
    with torch.no_grad():
        tokens = torch.tensor([encoder.tokenize_query("a dog on the beach")])
        expected = model.encode_text(tokens).numpy()[0]
    got = encoder.encode_text("a dog on the beach", normalize=False)
    assert _cosine(got, expected) > 0.9999
    pixels = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected_images = model.encode_frames(torch.from_numpy(pixels)).numpy()
    got_images = encoder.encode_pixels(pixels, normalize=False)
    assert min(_cosine(a, b) for a, b in zip(got_images, expected_images, strict=True)) > 0.9999
    sha = hashlib.sha256(tiny_clip[1]).hexdigest()
    assert encoder.manifest.source == f"huggingface:{REPO}@main/{SOURCE.filename} sha256:{sha}"
    assert encoder.manifest.parity["text_min_cosine"] >= 0.9999  # the converter's own check
    assert not list((models / ".downloads").iterdir())  # the weights are gone, the bundle stays
    assert sorted(p.name for p in models.iterdir()) == [".downloads", "tiny"]


def test_a_damaged_download_is_refused_and_deleted(hub, tmp_path) -> None:
    hub.corrupt = True
    with pytest.raises(InstallError, match="arrived damaged"):
        install_model(SOURCE, models_dir=tmp_path, hub_url=hub.url)
    assert not (tmp_path / "tiny").exists()
    assert not [p for p in (tmp_path / ".downloads").iterdir()]


def test_offline_is_said_plainly_and_quickly(tmp_path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InstallError, match="cannot reach the Hugging Face hub"):
        install_model(SOURCE, models_dir=tmp_path, hub_url=f"http://127.0.0.1:{port}")
    assert not (tmp_path / "tiny").exists()


def test_unknown_repo_is_named(hub, tmp_path) -> None:
    other = ModelSource(repo="nobody/nothing", filename="x", arch="tiny", name="x", folder="x")
    with pytest.raises(InstallError, match=r"nobody/nothing was not found .*HTTP 404"):
        install_model(other, models_dir=tmp_path, hub_url=hub.url)


def test_an_interrupted_download_resumes_with_a_range_request(hub, tmp_path) -> None:
    from core.model.hub import download, remote_file

    size, sha = remote_file(SOURCE, hub.url)
    target = tmp_path / "weights.safetensors"
    (tmp_path / "weights.safetensors.part").write_bytes(hub.payload[:100_000])
    download(SOURCE, target, size, hub.url, lambda p: None, None)
    assert hub.ranges == ["bytes=100000-"]
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha


def test_cancel_keeps_the_partial_download(hub, tmp_path) -> None:
    hub.chunk_delay = 0.05
    cancel = threading.Event()

    def progress(p) -> None:
        if p.stage == "downloading" and p.bytes_done > 0:
            cancel.set()

    with pytest.raises(InstallCancelled):
        install_model(
            SOURCE, models_dir=tmp_path, hub_url=hub.url, on_progress=progress, cancel=cancel
        )
    parts = list((tmp_path / ".downloads").glob("*.part"))
    assert len(parts) == 1 and 0 < parts[0].stat().st_size < len(hub.payload)
    assert not (tmp_path / "tiny").exists()


def test_a_server_that_ignores_range_makes_the_download_start_over(hub, tmp_path) -> None:
    from core.model.hub import download, remote_file

    hub.honour_range = False
    size, sha = remote_file(SOURCE, hub.url)
    target = tmp_path / "weights.safetensors"
    (tmp_path / "weights.safetensors.part").write_bytes(b"\0" * 5000)  # wrong bytes: overwritten
    download(SOURCE, target, size, hub.url, lambda p: None, None)
    assert hub.ranges == ["bytes=5000-"]
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha


def test_without_the_export_extra_nothing_is_downloaded(hub, tmp_path) -> None:
    """Weights ClipSeek cannot assemble itself (no template: here the ``small`` architecture)
    still go through the converter, which is looked for before anything is downloaded."""
    no_torch = tmp_path / "python-without-torch"  # an interpreter whose find_spec finds nothing
    no_torch.write_text("#!/bin/sh\necho torch open_clip; exit 1\n")
    no_torch.chmod(0o755)
    small = ModelSource(repo=REPO, filename=SOURCE.filename, arch="small", name="x", folder="x")
    with pytest.raises(
        InstallError, match=r"needs the export extra: pip install 'clipseek\[export\]'"
    ):
        install_model(small, models_dir=tmp_path / "models", hub_url=hub.url, python=str(no_torch))
    assert hub.ranges == []  # asked before the 600 MB, not after


def test_zero_shot_clip_installs_without_pytorch(hub, tiny_clip, tmp_path) -> None:
    """The whole install, in a Python where ``import torch`` fails: downloaded from the stand-in
    hub, assembled from the templates, checked against the numpy reference."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['open_clip'] = None\n"
        "from core.model.install import install_model\n"
        "from core.model.sources import ModelSource\n"
        f"source = ModelSource(repo={REPO!r}, filename={SOURCE.filename!r}, arch='tiny',"
        " name='Tiny CLIP', folder='tiny')\n"
        f"print(install_model(source, models_dir={str(tmp_path)!r}, hub_url={hub.url!r},"
        " python='/nonexistent/python'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    bundle = Path(done.stdout.strip().splitlines()[-1])
    encoder = Encoder(bundle, force_cpu=True)
    assert encoder.manifest.parity["image_min_cosine"] >= 0.9999
    import torch

    model = tiny_clip[0]
    with torch.no_grad():
        tokens = torch.tensor([encoder.tokenize_query("a dog on the beach")])
        expected = model.encode_text(tokens).numpy()[0]
    assert _cosine(encoder.encode_text("a dog on the beach", normalize=False), expected) > 0.99999


def _pinned(payload: bytes) -> ModelSource:
    return ModelSource(
        repo=REPO, filename=SOURCE.filename, arch="tiny", name="Tiny CLIP", folder="tiny",
        sha256=hashlib.sha256(payload).hexdigest(), size=len(payload),
    )  # fmt: skip


def test_install_from_a_file_on_disk(tiny_clip, tmp_path) -> None:
    from core.model.install import install_file

    weights = tmp_path / "copied from the other laptop.safetensors"
    weights.write_bytes(tiny_clip[1])
    stages: list[str] = []
    path = install_file(
        weights, _pinned(tiny_clip[1]), models_dir=tmp_path / "models",
        on_progress=lambda p: stages.append(p.stage),
    )  # fmt: skip
    assert path == tmp_path / "models" / "tiny" and weights.exists()  # the file stays
    assert list(dict.fromkeys(stages)) == ["verifying", "converting", "done"]
    encoder = Encoder(path, force_cpu=True)
    assert encoder.manifest.name == "Tiny CLIP"
    origin = "file:copied from the other laptop.safetensors sha256:"
    assert encoder.manifest.source.startswith(origin)


def test_a_file_that_is_not_the_pinned_one_needs_its_architecture_named(
    tiny_clip, tmp_path
) -> None:
    """Another file (fine-tuned, or a pytorch_model.bin) is refused unless --arch says what it
    is; then it gets a folder of its own, and weights of another shape say so in one line."""
    import torch

    from core.model.install import install_file

    pinned = _pinned(b"the official file")
    other = tmp_path / "pytorch_model.bin"
    torch.save({k: v.clone() for k, v in tiny_clip[0].clip.state_dict().items()}, other)
    models = tmp_path / "models"
    with pytest.raises(InstallError, match=r"not the file this ClipSeek expects.*--arch"):
        install_file(other, pinned, models_dir=models)
    path = install_file(other, pinned, arch="tiny", models_dir=models)
    assert path.parent == models and path.name.startswith("tiny-") and path.name != "tiny"
    assert Encoder(path, force_cpu=True).manifest.name == "CLIP tiny (pytorch_model.bin)"
    with pytest.raises(InstallError, match=r"cannot be made into a model: .*needs"):
        install_file(other, pinned, arch="ViT-B-32", models_dir=models)
    with pytest.raises(InstallError, match="no weights file"):
        install_file(tmp_path / "missing.bin", pinned, arch="tiny", models_dir=models)
    assert sorted(p.name for p in models.iterdir()) == [path.name]  # nothing half-made left


def test_a_file_other_than_the_pinned_one_is_refused(hub, tmp_path) -> None:
    pinned = ModelSource(
        repo=REPO, filename=SOURCE.filename, arch="tiny", name="x", folder="tiny",
        sha256="ab" * 32, size=len(hub.payload),
    )  # fmt: skip
    with pytest.raises(InstallError, match="not the file this ClipSeek expects"):
        install_model(pinned, models_dir=tmp_path, hub_url=hub.url)
    assert hub.ranges == [] and not (tmp_path / "tiny").exists()


def test_the_default_source_is_open_clips_copy_of_openai_vit_b32() -> None:
    from core.model.sources import DEFAULT_SOURCE

    assert DEFAULT_SOURCE.repo == "timm/vit_base_patch32_clip_224.openai"
    assert DEFAULT_SOURCE.filename == "open_clip_model.safetensors"
    assert (DEFAULT_SOURCE.arch, DEFAULT_SOURCE.head) == ("ViT-B-32", "meanP")
    assert len(DEFAULT_SOURCE.revision) == 40 and len(DEFAULT_SOURCE.sha256 or "") == 64


def test_a_full_disk_is_said_before_downloading(hub, tmp_path, monkeypatch) -> None:
    import shutil

    from core.model import install as model_install

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(model_install.shutil, "disk_usage", lambda p: usage._replace(free=1000))
    with pytest.raises(InstallError, match="not enough free disk space"):
        install_model(SOURCE, models_dir=tmp_path, hub_url=hub.url)
    assert hub.ranges == []


def test_a_hub_address_without_scheme_is_refused(tmp_path) -> None:
    with pytest.raises(InstallError, match="must start with https://"):
        install_model(SOURCE, models_dir=tmp_path, hub_url="huggingface.co")


def test_a_failed_conversion_names_the_reason_and_keeps_the_weights(hub, tmp_path) -> None:
    wrong = ModelSource(repo=REPO, filename=SOURCE.filename, arch="small", name="x", folder="x")
    with pytest.raises(InstallError, match=r"converting the weights failed: .*does not fit"):
        install_model(wrong, models_dir=tmp_path, hub_url=hub.url)
    assert not (tmp_path / "x").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".downloads"]  # no scratch left
    assert [p.name for p in (tmp_path / ".downloads").iterdir()] == [f"x-{SOURCE.filename}"]
    install_model_calls = len(hub.ranges)
    with pytest.raises(InstallError, match="converting the weights failed"):
        install_model(wrong, models_dir=tmp_path, hub_url=hub.url)
    assert len(hub.ranges) == install_model_calls  # verified weights are not fetched again


def test_the_plain_clip_state_dict_of_openai_loads_as_meanp(tiny_clip, tmp_path) -> None:
    """OpenAI's .pt/.bin state dicts also carry three sizes as tensors; they are not weights."""
    import torch

    from export.checkpoints import load_clip4clip

    model = tiny_clip[0]
    state = dict(model.clip.state_dict())
    state.update(input_resolution=torch.tensor(32), context_length=torch.tensor(77),
                 vocab_size=torch.tensor(49408))  # fmt: skip
    torch.save(state, tmp_path / "clip.bin")
    loaded = load_clip4clip(tmp_path / "clip.bin", arch="tiny")
    assert loaded.head_name == "meanP"
    pixels = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded.encode_frames(pixels), model.encode_frames(pixels))


def _fake_converter(bundle: Path):
    """Stands in for the subprocess where the conversion itself is not what is tested."""
    import shutil

    def convert(source, weights, out, python, cancel, report=None) -> None:
        assert weights.is_file()
        shutil.copytree(bundle, out)

    return convert


def test_the_install_dialog(qtbot, hub, tmp_path, monkeypatch) -> None:
    from desktop_app.model_install_dialog import ModelInstallDialog

    (tmp_path / "tiny").mkdir()  # a previous install: replaced only once the new one is complete
    (tmp_path / "tiny" / "old-file").write_text("old")
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")
    dialog = ModelInstallDialog(source=SOURCE, models_dir=str(tmp_path), hub_url=hub.url)
    qtbot.addWidget(dialog)
    assert dialog.int8_box.isChecked()  # no GPU: the faster int8 image tower is offered first
    dialog.int8_box.setChecked(False)  # the full model, this time
    stages: list[str] = []
    dialog.progressed.connect(lambda p: stages.append(p.stage))
    dialog.show()
    with qtbot.waitSignal(dialog.installed, timeout=120_000) as signal:
        dialog.start()
    assert signal.args == [str(tmp_path / "tiny")]
    assert dialog.result_path == str(tmp_path / "tiny")
    assert list(dict.fromkeys(stages)) == [
        "connecting",
        "downloading",
        "verifying",
        "converting",
        "done",
    ]
    assert dialog.result() == dialog.DialogCode.Accepted and not dialog.isVisible()
    assert not (tmp_path / "tiny" / "old-file").exists()
    Encoder(tmp_path / "tiny", force_cpu=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".downloads", "tiny"]


def test_the_install_dialog_shows_download_progress_and_cancels(qtbot, hub, tmp_path) -> None:
    from desktop_app.model_install_dialog import ModelInstallDialog

    hub.chunk_delay = 0.1  # 2.6 s for the whole file: the click lands well before its end
    dialog = ModelInstallDialog(source=SOURCE, models_dir=str(tmp_path), hub_url=hub.url)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: " MB/s" in dialog.detail_label.text(), timeout=30_000)
    assert dialog.stage_label.text() == "Downloading the weights…"
    assert dialog.progress_bar.maximum() == 1000
    assert re.fullmatch(r"\d+ MB of 2 MB · [\d.]+ MB/s · (about \d+ (s|min)|estimating…) left",
                        dialog.detail_label.text())  # fmt: skip
    dialog.cancel_button.click()
    assert not dialog.isVisible() and dialog.result() == dialog.DialogCode.Rejected
    qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)
    parts = list((tmp_path / ".downloads").glob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size < len(hub.payload)
    assert not (tmp_path / "tiny").exists()


def test_the_install_dialog_offline_offers_retry(qtbot, tmp_path) -> None:
    from desktop_app.model_install_dialog import ModelInstallDialog

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dialog = ModelInstallDialog(
        source=SOURCE, models_dir=str(tmp_path), hub_url=f"http://127.0.0.1:{port}"
    )
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=30_000)
    assert dialog.error.startswith("cannot reach the Hugging Face hub")
    assert dialog.error_label.text().startswith("Cannot reach the Hugging Face hub")
    assert not dialog.progress_bar.isVisible()
    assert dialog.error_label.isVisible() and "#c0392b" in dialog.error_label.styleSheet()
    assert dialog.retry_button.isVisible() and dialog.cancel_button.text() == "Close"
    dialog.retry_button.click()  # tries again: still offline, same answer
    assert not dialog.error_label.isVisible() and dialog.progress_bar.isVisible()
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=30_000)
    assert dialog.retry_button.isVisible()
    dialog.cancel_button.click()
    assert not dialog.isVisible()


def test_a_source_in_int8_installs_beside_its_fp32_bundle(monkeypatch) -> None:
    from core.model.sources import DEFAULT_SOURCE, precision_for_this_machine

    int8 = DEFAULT_SOURCE.with_precision("int8")
    assert (int8.folder, int8.name, int8.precision) == (
        "clip-vit-b32-int8", "OpenAI CLIP ViT-B/32 (int8)", "int8"
    )  # fmt: skip
    assert int8.with_precision("fp32") == DEFAULT_SOURCE and int8.sha256 == DEFAULT_SOURCE.sha256
    with pytest.raises(InstallError, match="fp32 or int8"):
        DEFAULT_SOURCE.with_precision("fp16")
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")
    assert precision_for_this_machine() == "int8"


def test_clipseek_install_model_command(hub, tmp_path, monkeypatch, capsys) -> None:
    from core.cli import main as cli
    from core.model import sources

    monkeypatch.setattr(sources, "DEFAULT_SOURCE", SOURCE)
    monkeypatch.setenv("CLIPSEEK_HOME", str(tmp_path))
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")  # no GPU: the int8 image tower by default
    assert cli.main(["install-model", "--hub", hub.url]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(tmp_path / "models" / "tiny-int8")
    assert Encoder(tmp_path / "models" / "tiny-int8", force_cpu=True).manifest.precision == "int8"
    stages = [line.split()[0] for line in out.err.splitlines()]  # not a TTY: a line per stage
    assert stages == ["connecting", "downloading", "verifying", "converting", "done"]
    # ...and the app now finds it without being told
    from core.model.registry import resolve_model

    assert resolve_model() == Path(tmp_path / "models" / "tiny-int8")
    assert cli.main(["install-model", "--hub", hub.url, "--precision", "fp32", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "model": "Tiny CLIP",
        "path": str(tmp_path / "models" / "tiny"),
    }
    assert Encoder(tmp_path / "models" / "tiny", force_cpu=True).manifest.precision == "fp32"
    hub.corrupt = True
    assert cli.main(["install-model", "--hub", hub.url]) == 1  # the work failed
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) - 1 == err.index(next(e for e in err if e.startswith("clipseek: error:")))
    assert "arrived damaged" in err[-1]


def test_clipseek_install_model_from_a_file(tiny_clip, tmp_path, monkeypatch, capsys) -> None:
    from core.cli import main as cli
    from core.model import sources

    monkeypatch.setattr(sources, "DEFAULT_SOURCE", _pinned(b"the official file"))
    monkeypatch.setenv("CLIPSEEK_HOME", str(tmp_path))
    weights = tmp_path / "weights.safetensors"
    weights.write_bytes(tiny_clip[1])
    assert cli.main(["install-model", "--file", str(weights), "--precision", "fp32"]) == 1
    assert "name it with --arch" in capsys.readouterr().err
    argv = ["install-model", "--file", str(weights), "--arch", "tiny", "--precision", "fp32"]
    assert cli.main([*argv, "--json"]) == 0
    path = Path(json.loads(capsys.readouterr().out)["path"])
    assert path.parent == tmp_path / "models" and Encoder(path, force_cpu=True).embed_dim == 8
    assert cli.main(["install-model", "--arch", "tiny"]) == 2  # --arch only with --file
    assert "--arch goes with --file" in capsys.readouterr().err


def test_clipseek_install_model_offline(tmp_path, monkeypatch, capsys) -> None:
    from core.cli import main as cli
    from core.model import sources

    monkeypatch.setattr(sources, "DEFAULT_SOURCE", SOURCE)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CLIPSEEK_HUB_URL", f"http://127.0.0.1:{port}")
    assert cli.main(["install-model"]) == 1  # the work failed (no network)
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (
        f"clipseek: error: cannot reach the Hugging Face hub (127.0.0.1:{port}): check your"
        " internet connection; nothing was changed"
    )


def test_the_install_worker_does_not_keep_the_dialog_alive(qtbot, hub, tmp_path) -> None:
    """A dialog dropped mid-download dies at once, in the UI thread, while the worker runs on.

    If the worker thread held the dialog, its last reference could go in that thread, and
    PySide would delete the QDialog there, off the UI thread: a crash some time later.
    """
    import gc
    import weakref

    from desktop_app.model_install_dialog import ModelInstallDialog

    hub.chunk_delay = 0.1  # 2.6 s for the whole file
    dialog = ModelInstallDialog(source=SOURCE, models_dir=str(tmp_path), hub_url=hub.url)
    dialog.start()
    detail = dialog.detail_label
    qtbot.waitUntil(lambda: " MB/s" in detail.text(), timeout=30_000)
    task = dialog._task  # (the test keeps only the thread and its cancel flag)
    worker, cancel, alive = task._thread, task._cancel, weakref.ref(dialog)
    del task
    del dialog
    gc.collect()
    assert alive() is None and worker.is_alive()  # gone while the worker still downloads
    cancel.set()
    worker.join(30)
    assert not worker.is_alive()
    qtbot.wait(50)  # the worker's last signals reach no dialog: nothing happens


def test_the_converter_is_asked_for_the_int8_tower(tmp_path) -> None:
    from core.model.converter import convert
    from core.model.sources import DEFAULT_SOURCE

    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "argv"}\n')
    fake.chmod(0o755)
    for source in (DEFAULT_SOURCE, DEFAULT_SOURCE.with_precision("int8")):
        convert(source, tmp_path / "w.safetensors", tmp_path / "out", str(fake), None)
    fp32, int8 = (tmp_path / "argv").read_text().splitlines()
    assert fp32.startswith("-m export.cli convert --checkpoint") and "--int8" not in fp32
    assert int8.endswith("--int8") and "--name OpenAI CLIP ViT-B/32 (int8)" in int8


def test_the_install_dialog_says_what_it_will_do_and_waits_for_install(
    qtbot, hub, tmp_path
) -> None:
    """Opened, it downloads nothing: it shows the size, the folder and the precision (which can
    be changed at once, not only after a failed attempt); Install starts the work."""
    from core.model.sources import DEFAULT_SOURCE
    from desktop_app.model_install_dialog import ModelInstallDialog

    hub.chunk_delay = 0.1  # 2.6 s for the whole file: the cancel lands well before its end
    dialog = ModelInstallDialog(source=SOURCE, models_dir=str(tmp_path), hub_url=hub.url)
    qtbot.addWidget(dialog)
    stages: list[str] = []
    dialog.progressed.connect(lambda p: stages.append(p.stage))
    dialog.show()
    qtbot.wait(600)  # an offline attempt failed within 0.4 s of opening
    assert not dialog.running and not stages and hub.ranges == [] and dialog.error is None
    assert dialog.int8_box.isEnabled() and dialog.install_button.isVisible()
    assert not dialog.progress_bar.isVisible()
    assert dialog.folder_label.toolTip() == str(tmp_path)
    dialog.int8_box.setChecked(not dialog.int8_box.isChecked())  # chosen before any attempt
    dialog.install_button.click()
    assert dialog.running and not dialog.int8_box.isEnabled()
    assert not dialog.install_button.isVisible() and dialog.progress_bar.isVisible()
    qtbot.waitUntil(lambda: "downloading" in stages, timeout=30_000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)

    real = ModelInstallDialog(models_dir=str(tmp_path / "models"))  # ViT-B/32: core's size
    qtbot.addWidget(real)
    text = real.plan_label.text()
    assert f"{DEFAULT_SOURCE.size / 1e6:,.0f} MB" in text
    assert text == "Download: 605 MB, once (open_clip_model.safetensors)"
    assert not real.running


def test_install_from_the_window_opens_the_dialog_without_starting(qtbot, window, monkeypatch):
    from desktop_app.model_install_dialog import ModelInstallDialog

    seen: list[tuple[bool, bool]] = []

    def fake_exec(dialog) -> int:
        seen.append((dialog.running, dialog.int8_box.isEnabled()))
        return 0

    monkeypatch.setattr(ModelInstallDialog, "exec", fake_exec)
    window.install_real_model()
    assert seen == [(False, True)]


def test_a_file_that_changes_while_it_is_read_is_not_installed(tiny_clip, tmp_path, monkeypatch):
    """A copy still in progress: the SHA-256 was of one file, the weights read are another."""
    import torch
    from safetensors.torch import save

    import core.model.install as install
    from export.model import build_model

    torch.manual_seed(4)
    other = save(
        {k: v.contiguous() for k, v in build_model("tiny", "meanP").clip.state_dict().items()}
    )
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(tiny_clip[1])
    hashed = install.sha256_of

    def hash_then_change(path, *args):
        digest = hashed(path, *args)
        Path(path).write_bytes(other)
        return digest

    monkeypatch.setattr(install, "sha256_of", hash_then_change)
    models = tmp_path / "models"
    with pytest.raises(InstallError, match="changed while it was being read"):
        install.install_file(weights, _pinned(tiny_clip[1]), models_dir=models)
    assert list(models.iterdir()) == []
