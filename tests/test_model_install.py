"""Installing the real model, against a loopback stand-in for the Hugging Face hub.

The stand-in serves the hub's two URLs — the file listing with the LFS SHA-256 and the file
itself, with HTTP Range — and a tiny CLIP's weights written by our own export code in the same
format as the real file (safetensors). Nothing here touches the internet.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from core.encoders import Encoder
from core.model_install import (
    InstallCancelled,
    InstallError,
    ModelSource,
    install_model,
)

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
                    if header:
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
    cos = float(np.dot(got, expected) / np.linalg.norm(got) / np.linalg.norm(expected))
    assert cos > 0.9999
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
    from core.model_install import download, remote_file

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


def test_the_install_dialog(qtbot, hub, tmp_path) -> None:
    from desktop_app.model_install_dialog import ModelInstallDialog

    dialog = ModelInstallDialog(source=SOURCE, models_dir=str(tmp_path), hub_url=hub.url)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.installed, timeout=120_000) as signal:
        dialog.start()
    assert signal.args == [str(tmp_path / "tiny")]
    assert dialog.result_path == str(tmp_path / "tiny")


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
    assert "cannot reach the Hugging Face hub" in dialog.error_label.text()
    assert dialog.retry_button.isVisible() and dialog.cancel_button.text() == "Close"


def test_clipseek_install_model_command(hub, tmp_path, monkeypatch, capsys) -> None:
    from core import cli

    monkeypatch.setattr("core.model_install.DEFAULT_SOURCE", SOURCE)
    monkeypatch.setenv("CLIPSEEK_HOME", str(tmp_path))
    assert cli.main(["install-model", "--hub", hub.url]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(tmp_path / "models" / "tiny")
    assert "downloading" in out.err or "Downloading" in out.err
    # ...and the app now finds it without being told
    from core.models import resolve_model

    assert resolve_model() == Path(tmp_path / "models" / "tiny")
    hub.corrupt = True
    assert cli.main(["install-model", "--hub", hub.url]) == 2
    assert "arrived damaged" in capsys.readouterr().err
