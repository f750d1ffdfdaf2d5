"""Loading original CLIP4Clip checkpoints and our own, then converting them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.model.encoder import Encoder
from export.checkpoints import load_clip4clip, save_checkpoint
from export.cli import main as export_main
from export.errors import ExportError
from export.model import build_model


def _perturbed(head: str, seed: int):
    """A tiny model whose weights differ from any fresh init (so loading must really load)."""
    torch.manual_seed(seed)
    model = build_model("tiny", head)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def _original_layout(model) -> dict[str, torch.Tensor]:
    """The state dict the authors' code saves: flat names, wrapped by DDP's 'module.'."""
    state = {f"module.{k}": v.clone() for k, v in model.state_dict().items()}
    if model.head_name == "seqLSTM":  # their seqLSTM also builds (unused) frame positions
        state["module.frame_position_embeddings.weight"] = torch.randn(77, model.embed_dim)
    return state


def _cos(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


def test_original_key_names_are_clip4clips() -> None:
    keys = set(build_model("tiny", "seqTransf").state_dict())
    assert "frame_position_embeddings.weight" in keys
    assert "transformerClip.resblocks.3.attn.in_proj_weight" in keys
    assert "clip.visual.conv1.weight" in keys and "clip.token_embedding.weight" in keys
    assert "lstm_visual.weight_ih_l0" in set(build_model("tiny", "seqLSTM").state_dict())
    tight = set(build_model("tiny", "tightTransf").state_dict())
    assert {"cross.pooler.dense.weight", "similarity_dense.weight"} <= tight


@pytest.mark.parametrize("head", ["seqTransf", "seqLSTM", "tightTransf"])
def test_original_checkpoint_loads_exactly(head, tmp_path) -> None:
    source = _perturbed(head, seed=11)
    path = tmp_path / "pytorch_model.bin.1"
    torch.save(_original_layout(source), path)
    loaded = load_clip4clip(path, arch="tiny")
    assert loaded.head_name == head
    expected = {k: v for k, v in source.state_dict().items()}
    got = loaded.state_dict()
    for key, value in expected.items():
        assert torch.equal(got[key], value), key


def test_original_checkpoint_converts_and_gives_same_vectors(tmp_path) -> None:
    source = _perturbed("seqTransf", seed=12)
    ckpt = tmp_path / "clip4clip_seqTransf.bin"
    torch.save(_original_layout(source), ckpt)
    out = tmp_path / "bundle"
    assert (
        export_main(["convert", "--checkpoint", str(ckpt), "--arch", "tiny", "--out", str(out)])
        == 0
    )
    encoder = Encoder(out, force_cpu=True)
    assert encoder.manifest.head == "seqTransf"
    texts = ["a dog catches a frisbee", "kids on a beach"]
    with torch.no_grad():
        ref = torch.cat(
            [source.encode_text(torch.tensor([encoder.tokenizer.tokenize(t)])) for t in texts]
        )
        frames = torch.randn(1, 7, 8)
        ref_seg = source.pool(frames, torch.ones(1, 7))
    assert _cos(encoder.encode_texts(texts, normalize=False), ref.numpy()).min() >= 0.9999
    assert _cos(encoder.pool_frames(frames.numpy()[0])[None], ref_seg.numpy()).min() >= 0.9999


def test_clipseek_checkpoint_round_trip_with_training_state(tmp_path) -> None:
    source = _perturbed("seqLSTM", seed=13)
    path = tmp_path / "epoch1.pt"
    save_checkpoint(source, path, extra={"epoch": 1, "optimizer": {"lr": 1e-4}})
    loaded = load_clip4clip(path)
    assert (loaded.arch, loaded.head_name) == ("tiny", "seqLSTM")
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    with pytest.raises(ExportError, match="trained with head seqLSTM"):
        load_clip4clip(path, head="meanP")


def test_bad_checkpoints_give_one_line_errors(tmp_path, capsys) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00not a checkpoint" * 10)
    stranger = tmp_path / "stranger.pt"
    torch.save({"encoder.weight": torch.zeros(2, 2)}, stranger)
    wrong_arch = tmp_path / "wrong.pt"
    torch.save(_original_layout(_perturbed("meanP", 1)), wrong_arch)
    cases = [
        (junk, "cannot read checkpoint junk.bin"),
        (stranger, "neither a ClipSeek nor a CLIP4Clip checkpoint"),
        (tmp_path / "absent.pt", "checkpoint not found"),
        (wrong_arch, "does not fit the ViT-B-32 architecture"),
    ]
    for path, message in cases:
        args = ["convert", "--checkpoint", str(path), "--out", str(tmp_path / "o")]
        if path is wrong_arch:
            args += ["--arch", "ViT-B-32"]
        assert export_main(args) == 2
        err = capsys.readouterr().err
        assert message in err, err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_pickled_code_is_refused(tmp_path) -> None:
    """weights_only=True: a checkpoint that would run code on load is rejected, not executed."""
    import pickle

    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    with path.open("wb") as fh:
        pickle.dump({"clip.x": Exploit()}, fh)
    with pytest.raises(ExportError, match="cannot read checkpoint"):
        load_clip4clip(path)
