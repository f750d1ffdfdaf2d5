"""Installing M-CLIP's multilingual text tower without PyTorch, against a loopback stand-in hub.

The stand-in serves the hub's URLs for a TINY tower in the real repository's layout:
``pytorch_model.bin`` (``torch.save`` of the tiny :class:`MultilingualTextTower`'s state dict under
M-CLIP's key names, with XLM-R's unused pooler and ``position_ids`` as the real file has them) in
LFS, ``tokenizer.json`` (a Unigram tokenizer trained here on English and Korean sentences, with
XLM-R's special tokens) and ``config.json`` in git. Nothing here touches the internet.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from core.model.assemble import AssembleError
from core.model.hub import git_blob_oid
from core.model.install_tower import install_multilingual
from core.model.sources import InstallCancelled, InstallError, ModelSource
from core.model.text_tower import OPENAI_VIT_B32, TextTower, read_tower_manifest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

REPO = "clipseek-tests/tiny-mclip"
SOURCE = ModelSource(
    repo=REPO,
    filename="pytorch_model.bin",
    arch="tiny",
    name="Tiny M-CLIP",
    folder="tiny-mclip",
    head="",
    companions=("tokenizer.json", "config.json"),
)
SENTENCES = [
    "a dog catching a ball on the beach",
    "my daughter blowing out the candles on her birthday cake",
    "snow falling in the garden at night",
    "생일 케이크 촛불 끄는 딸",
    "바닷가에서 공 물어 오는 강아지",
    "눈 내리는 밤의 정원",
    "Schnee im Garten",
    "夕焼けの海",
]


def make_tokenizer() -> bytes:
    """A small Unigram tokenizer with XLM-R's specials: <s>=0 <pad>=1 </s>=2 <unk>=3."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import UnigramTrainer

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = UnigramTrainer(
        vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], unk_token="<unk>"
    )
    tok.train_from_iterator(SENTENCES * 4, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    assert [tok.token_to_id(t) for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    return tok.to_str().encode()


def state_dict_bytes(model) -> bytes:
    """``torch.save`` of the tower's state dict in M-CLIP's layout (zip format)."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    width = model.config.hidden_size
    generator = torch.Generator().manual_seed(9)
    state["transformer.pooler.dense.weight"] = torch.randn(width, width, generator=generator)
    state["transformer.pooler.dense.bias"] = torch.randn(width, generator=generator)
    positions = model.config.max_position_embeddings
    state["transformer.embeddings.position_ids"] = torch.arange(positions)[None]
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


class Hub:
    """A loopback HTTP server shaped like the hub, serving several files of one revision."""

    def __init__(
        self,
        files: dict[str, bytes],
        lfs: tuple[str, ...] = ("pytorch_model.bin", "open_clip_model.safetensors"),
        others: dict[str, dict[str, bytes]] | None = None,
    ):
        self.files = files
        self.lfs = lfs
        #: other repositories on the same hub (the CLIP model the window installs first)
        self.others = others or {}
        self.corrupt: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        self.chunk_delay = 0.0
        self.break_after: int | None = None  # bytes of the weights sent before hanging up
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                repos = {REPO: hub.files, **hub.others}
                for repo, files in repos.items():
                    if self.path == f"/api/models/{repo}/tree/main":
                        body = json.dumps(hub.listing(files)).encode()
                        self._send(200, body, "application/json")
                        return
                    prefix = f"/{repo}/resolve/main/"
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

    def listing(self, files: dict[str, bytes] | None = None) -> list[dict]:
        out: list[dict] = [{"type": "file", "path": "README.md", "size": 10, "oid": "0" * 40}]
        for name, data in (self.files if files is None else files).items():
            if name in self.lfs:
                sha = hashlib.sha256(data).hexdigest()
                out.append({"type": "file", "path": name, "size": len(data),
                            "oid": "1" * 40, "lfs": {"oid": sha, "size": len(data)}})  # fmt: skip
            else:
                out.append({"type": "file", "path": name, "size": len(data),
                            "oid": git_blob_oid(data)})  # fmt: skip
        return out

    @property
    def weight_requests(self) -> list[str | None]:
        return [r for name, r in self.requests if name == SOURCE.filename]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def tiny_mclip():
    from export.multilingual import build_text_tower

    model = build_text_tower("tiny", seed=3)
    files = {
        "pytorch_model.bin": state_dict_bytes(model),
        "tokenizer.json": make_tokenizer(),
        "config.json": json.dumps(
            {"modelBase": "xlm-roberta-large", "transformerDimensions": 32, "numDims": 16}
        ).encode(),
    }
    return model, files


@pytest.fixture
def hub(tiny_mclip):
    server = Hub(dict(tiny_mclip[1]))
    yield server
    server.close()


def _torch_vectors(model, tower: TextTower, texts: list[str]) -> np.ndarray:
    rows = []
    with torch.no_grad():
        for text in texts:
            ids = torch.tensor([tower.tokenize(text)])
            rows.append(model(ids, torch.ones_like(ids)).numpy()[0])
    return np.stack(rows)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


@pytest.fixture(scope="module")
def installed(tiny_mclip, tmp_path_factory):
    server = Hub(dict(tiny_mclip[1]))
    models = tmp_path_factory.mktemp("models")
    stages: list[str] = []
    try:
        path = install_multilingual(
            SOURCE, models_dir=models, hub_url=server.url, precision="fp32",
            on_progress=lambda p: stages.append(p.stage),
        )  # fmt: skip
    finally:
        server.close()
    return path, models, stages


def test_install_downloads_verifies_and_assembles(installed, tiny_mclip) -> None:
    path, models, stages = installed
    assert path == models / "tiny-mclip"
    assert list(dict.fromkeys(stages)) == [
        "connecting", "downloading", "verifying", "converting", "done"
    ]  # fmt: skip
    assert sorted(p.name for p in path.iterdir()) == [
        "text.onnx",
        "text_tower.json",
        "tokenizer.json",
    ]
    assert (path / "tokenizer.json").read_bytes() == tiny_mclip[1]["tokenizer.json"]
    tower = TextTower(path, force_cpu=True)  # checksums verified on load
    m = tower.manifest
    assert (m.name, m.image_space, m.embed_dim, m.precision) == (
        "Tiny M-CLIP", OPENAI_VIT_B32, 16, "fp32"
    )  # fmt: skip
    assert (m.max_tokens, m.pad_id) == (128, 1)
    assert "ja" in m.languages and "de" in m.languages and len(m.languages) == 47
    sha = hashlib.sha256(tiny_mclip[1]["pytorch_model.bin"]).hexdigest()
    assert m.source == f"huggingface:{REPO}@main/pytorch_model.bin sha256:{sha}"
    assert m.parity["text_min_cosine"] >= 0.9999 and m.parity["sentences"] == 5
    got = tower.encode_texts(SENTENCES, normalize=False)
    assert _cosines(got, _torch_vectors(tiny_mclip[0], tower, SENTENCES)).min() >= 0.9999
    assert sorted(p.name for p in models.iterdir()) == [".downloads", "tiny-mclip"]
    assert list((models / ".downloads").iterdir()) == []  # downloads gone, the tower stays


def test_int8_is_one_file_and_close_to_pytorch(hub, tiny_mclip, tmp_path) -> None:
    path = install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="int8")
    assert path == tmp_path / "tiny-mclip-int8"
    tower = TextTower(path, force_cpu=True)
    assert tower.manifest.precision == "int8" and tower.name == "Tiny M-CLIP (int8)"
    assert not (path / "text.onnx.data").exists()
    assert tower.manifest.parity["threshold"] == 0.99
    got = tower.encode_texts(SENTENCES, normalize=False)
    assert _cosines(got, _torch_vectors(tiny_mclip[0], tower, SENTENCES)).min() >= 0.99


def test_the_default_precision_is_int8_on_a_processor(hub, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")
    path = install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url)
    assert path.name == "tiny-mclip-int8"


def test_a_broken_download_resumes_with_a_range_request(hub, tiny_mclip, tmp_path) -> None:
    size = len(tiny_mclip[1]["pytorch_model.bin"])
    hub.break_after = size // 3
    with pytest.raises(InstallError, match="try again to resume it"):
        install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="fp32")
    (part,) = (tmp_path / ".downloads").glob("*.part")
    have = part.stat().st_size
    assert 0 < have < size and not (tmp_path / "tiny-mclip").exists()
    hub.break_after = None
    path = install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="fp32")
    assert hub.weight_requests == [None, f"bytes={have}-"]
    TextTower(path, force_cpu=True)


def test_a_damaged_download_is_refused_and_deleted(hub, tmp_path) -> None:
    hub.corrupt = {SOURCE.filename}
    with pytest.raises(InstallError, match="arrived damaged") as err:
        install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="fp32")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "tiny-mclip").exists()
    assert list((tmp_path / ".downloads").glob("*pytorch_model.bin*")) == []


def test_a_damaged_tokenizer_is_refused(hub, tmp_path) -> None:
    hub.corrupt = {"tokenizer.json"}
    with pytest.raises(InstallError, match=r"^tokenizer.json arrived damaged"):
        install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="fp32")
    assert not (tmp_path / "tiny-mclip").exists()


def test_a_file_other_than_the_pinned_one_is_refused_before_downloading(hub, tmp_path) -> None:
    pinned = ModelSource(
        repo=REPO, filename=SOURCE.filename, arch="tiny", name="x", folder="x",
        companions=SOURCE.companions, sha256="ab" * 32,
    )  # fmt: skip
    with pytest.raises(InstallError, match="not the file this ClipSeek expects") as err:
        install_multilingual(pinned, models_dir=tmp_path, hub_url=hub.url, precision="fp32")
    assert "\n" not in str(err.value) and hub.requests == []


def test_the_pinned_sha_is_accepted_without_a_pinned_size(hub, tiny_mclip, tmp_path) -> None:
    sha = hashlib.sha256(tiny_mclip[1]["pytorch_model.bin"]).hexdigest()
    pinned = ModelSource(
        repo=REPO, filename=SOURCE.filename, arch="tiny", name="x", folder="x",
        companions=SOURCE.companions, sha256=sha,
    )  # fmt: skip
    assert install_multilingual(pinned, models_dir=tmp_path, hub_url=hub.url, precision="fp32")


def test_an_unknown_repo_is_named(hub, tmp_path) -> None:
    other = ModelSource(repo="nobody/nothing", filename="x", arch="tiny", name="x", folder="x")
    with pytest.raises(InstallError, match=r"nobody/nothing was not found .*HTTP 404"):
        install_multilingual(other, models_dir=tmp_path, hub_url=hub.url, precision="fp32")


def test_a_missing_companion_is_named(hub, tmp_path) -> None:
    del hub.files["tokenizer.json"]
    with pytest.raises(InstallError, match=f"{REPO} on 127.0.0.1:\\d+ has no file tokenizer.json"):
        install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="fp32")
    assert hub.requests == []


def test_offline_is_said_plainly(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InstallError, match="cannot reach the Hugging Face hub"):
        install_multilingual(
            SOURCE, models_dir=tmp_path, hub_url=f"http://127.0.0.1:{port}", precision="fp32"
        )
    assert not (tmp_path / "tiny-mclip").exists()


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /dev/null",))


def test_a_pickle_that_runs_code_is_refused(tiny_mclip, tmp_path) -> None:
    buffer = io.BytesIO()
    torch.save({"transformer.embeddings.word_embeddings.weight": _Evil()}, buffer)
    server = Hub({**tiny_mclip[1], "pytorch_model.bin": buffer.getvalue()})
    try:
        with pytest.raises(InstallError, match=r"refuses to run code .*: posix\.system") as err:
            install_multilingual(SOURCE, models_dir=tmp_path, hub_url=server.url, precision="fp32")
    finally:
        server.close()
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".downloads"]  # no scratch, no tower


def test_cancel_keeps_the_partial_download(hub, tmp_path) -> None:
    hub.chunk_delay = 0.05
    cancel = threading.Event()

    def progress(p) -> None:
        if p.stage == "downloading" and p.bytes_done > 0:
            cancel.set()

    with pytest.raises(InstallCancelled):
        install_multilingual(
            SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="fp32",
            on_progress=progress, cancel=cancel,
        )  # fmt: skip
    (part,) = (tmp_path / ".downloads").glob("*.part")
    assert 0 < part.stat().st_size < len(hub.files[SOURCE.filename])
    assert not (tmp_path / "tiny-mclip").exists()


def test_a_full_disk_is_said_before_downloading(hub, tmp_path, monkeypatch) -> None:
    import shutil

    from core.model import install_tower

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(install_tower.shutil, "disk_usage", lambda p: usage._replace(free=1000))
    with pytest.raises(InstallError, match="not enough free disk space"):
        install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="fp32")
    assert hub.weight_requests == []


def test_a_config_of_another_model_is_refused(hub, tmp_path) -> None:
    hub.files["config.json"] = json.dumps({"transformerDimensions": 768, "numDims": 640}).encode()
    with pytest.raises(InstallError, match=r"config\.json says transformerDimensions 768"):
        install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="fp32")


def test_a_new_install_replaces_the_old_only_when_complete(hub, tmp_path) -> None:
    old = tmp_path / "tiny-mclip"
    old.mkdir()
    (old / "old-file").write_text("old")
    hub.corrupt = {SOURCE.filename}
    with pytest.raises(InstallError):
        install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="fp32")
    assert (old / "old-file").exists()
    hub.corrupt = set()
    install_multilingual(SOURCE, models_dir=tmp_path, hub_url=hub.url, precision="fp32")
    assert not (old / "old-file").exists() and (old / "text_tower.json").exists()


# -- the assembly's one-line refusals ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_weights(tiny_mclip, tmp_path_factory):
    from core.model.weights import read_weights

    folder = tmp_path_factory.mktemp("weights")
    (folder / "pytorch_model.bin").write_bytes(tiny_mclip[1]["pytorch_model.bin"])
    (folder / "tokenizer.json").write_bytes(tiny_mclip[1]["tokenizer.json"])
    return read_weights(folder / "pytorch_model.bin"), folder / "tokenizer.json"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("missing", r"the weights have no transformer.encoder.layer.1.output.dense.weight"),
        ("shape", r"transformer.encoder.layer.1.output.dense.weight is \[32, 32\]; .* \[32, 64\]"),
        ("nan", r"LinearTransformation.weight holds NaN or infinite values"),
    ],
)
def test_wrong_weights_are_refused_in_one_line(tiny_weights, tmp_path, change, message) -> None:
    from core.model.assemble_text import assemble_text_tower

    weights = dict(tiny_weights[0])
    key = "transformer.encoder.layer.1.output.dense.weight"
    if change == "missing":
        del weights[key]
    elif change == "shape":
        weights[key] = np.zeros((32, 32), np.float32)
    else:
        weights["LinearTransformation.weight"] = np.full((16, 32), np.nan, np.float32)
    with pytest.raises(AssembleError, match=message) as err:
        assemble_text_tower(weights, "tiny", tiny_weights[1], tmp_path / "tower")
    assert "\n" not in str(err.value) and not (tmp_path / "tower").exists()


def test_a_tokenizer_of_another_vocabulary_is_refused(tiny_weights, tmp_path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    from core.model.assemble_text import assemble_text_tower

    vocab = {f"w{i}": i for i in range(4999)} | {"<unk>": 4999}
    big = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    big.pre_tokenizer = pre_tokenizers.Whitespace()
    big.save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(AssembleError, match="past the model's 1000-word vocabulary"):
        assemble_text_tower(tiny_weights[0], "tiny", tmp_path / "tokenizer.json", tmp_path / "t")


def test_an_external_data_file_gives_the_same_vectors(tiny_weights, tmp_path) -> None:
    """The full tower's layout (weights in text.onnx.data, 64 KiB-aligned), on the tiny one."""
    import onnxruntime as ort

    from core.model.assemble_text import fill_text, parity_batch, text_config

    inline = fill_text("tiny", tiny_weights[0], tmp_path / "inline")
    external = fill_text("tiny", tiny_weights[0], tmp_path / "external", external_data=True)
    assert [p.name for p in external] == ["text.onnx", "text.onnx.data"]
    assert external[0].stat().st_size < inline[0].stat().st_size // 4
    ids, mask = parity_batch(tiny_weights[1], text_config("tiny"))
    outs = [
        ort.InferenceSession(str(p[0]), providers=["CPUExecutionProvider"]).run(
            None, {"input_ids": ids, "attention_mask": mask}
        )[0]
        for p in (inline, external)
    ]
    np.testing.assert_array_equal(outs[0], outs[1])


def test_the_reference_is_pytorchs_tower(tiny_mclip, tiny_weights) -> None:
    from core.model.assemble_text import parity_batch, text_config
    from core.model.xlmr_reference import encode_text

    cfg = text_config("tiny")
    ids, mask = parity_batch(tiny_weights[1], cfg, SENTENCES)
    with torch.no_grad():
        expected = tiny_mclip[0](torch.from_numpy(ids), torch.from_numpy(mask)).double().numpy()
    got = encode_text(tiny_weights[0], cfg, ids, mask)
    np.testing.assert_allclose(got, expected, atol=2e-5)


# -- the command ------------------------------------------------------------------------------


def test_clipseek_install_model_multilingual(hub, tmp_path, monkeypatch, capsys) -> None:
    from core.cli import main as cli
    from core.model import sources

    monkeypatch.setattr(sources, "MULTILINGUAL_SOURCE", SOURCE)
    monkeypatch.setenv("CLIPSEEK_HOME", str(tmp_path))
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")  # no GPU: int8 by default
    assert cli.main(["install-model", "--multilingual", "--hub", hub.url]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(tmp_path / "models" / "tiny-mclip-int8")
    stages = [line.split()[0] for line in out.err.splitlines()]  # not a TTY: a line per stage
    assert stages == ["connecting", "downloading", "verifying", "converting", "done"]
    argv = ["install-model", "--multilingual", "--hub", hub.url, "--precision", "fp32", "--json"]
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {
        "model": "Tiny M-CLIP",
        "path": str(tmp_path / "models" / "tiny-mclip"),
    }
    assert read_tower_manifest(tmp_path / "models" / "tiny-mclip").precision == "fp32"
    assert cli.main(["install-model", "--multilingual", "--file", "x.bin"]) == 2
    assert "--file" in capsys.readouterr().err
    hub.corrupt = {SOURCE.filename}
    assert cli.main(["install-model", "--multilingual", "--hub", hub.url]) == 1
    assert "arrived damaged" in capsys.readouterr().err.strip().splitlines()[-1]


def test_the_multilingual_source_is_pinned() -> None:
    from core.model.sources import MULTILINGUAL_SOURCE

    s = MULTILINGUAL_SOURCE
    assert (s.repo, s.filename, s.arch) == (
        "M-CLIP/XLM-Roberta-Large-Vit-B-32", "pytorch_model.bin", "full"
    )  # fmt: skip
    assert s.revision == "358a8bbb24369324bacf4d7c970c51ca928aad70"
    assert s.sha256 == "c33a6bec12ba8251492f1e4068c39507c1512692a2e0e7f37cdcf8cdaf7aa2f8"
    assert s.companions == ("tokenizer.json", "config.json")
    assert s.with_precision("int8").folder == "mclip-xlmr-large-vit-b32-int8"


def test_git_blob_oid_is_gits() -> None:
    # `printf 'hello\n' | git hash-object --stdin`
    assert git_blob_oid(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_the_full_template_ships_and_fits_xlm_roberta_large() -> None:
    from core.model.assemble_text import text_config, text_template_archs, text_template_dir

    assert {"tiny", "full"} <= set(text_template_archs())
    cfg = text_config("full")
    assert (cfg.vocab_size, cfg.width, cfg.layers, cfg.heads, cfg.embed_dim) == (
        250_002, 1024, 24, 16, 512
    )  # fmt: skip
    assert cfg.max_tokens == 512
    size = sum(p.stat().st_size for p in text_template_dir("full").iterdir())
    assert size < 1_000_000  # the graph only
    assert len(cfg.shapes()) == 391
