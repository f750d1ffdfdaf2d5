"""The speech runtime against transformers: the same tokens, timestamps and features.

A tiny multilingual Whisper with random weights (``export/whisper_tiny.py``) converted by
CTranslate2's own converter must decode, greedy and in float32, to the very tokens and timestamp
tokens ``transformers``' ``generate`` gives on the same features; and the numpy log-mel of
``core/speech/features.py`` must equal ``WhisperFeatureExtractor``'s within 1e-4.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("transformers")
ctranslate2 = pytest.importorskip("ctranslate2")
import torch  # noqa: E402
from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration  # noqa: E402

from core.speech.features import log_mel  # noqa: E402
from export.whisper_tiny import build_tiny_whisper, convert_to_ct2, whisper_languages  # noqa: E402

SOT, EN, TRANSCRIBE, EOT, TIMESTAMP_BEGIN = 50258, 50259, 50359, 50257, 50364


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("whisper")
    hf = build_tiny_whisper(root / "hf", seed=3)
    return hf, convert_to_ct2(hf, root / "ct2")


def _audio(rng: np.random.Generator, seconds: float) -> np.ndarray:
    n = round(seconds * 16000)
    t = np.arange(n) / 16000
    tone = np.sin(2 * np.pi * rng.uniform(100, 3000) * t) * rng.uniform(0.05, 0.5)
    return (tone + rng.standard_normal(n) * rng.uniform(0.001, 0.1)).astype(np.float32)


def test_folder_is_what_systran_ships(tiny: tuple[Path, Path]) -> None:
    _, ct2 = tiny
    assert sorted(p.name for p in ct2.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    vocabulary = (ct2 / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert len(vocabulary) == 51865
    assert vocabulary[50256] == ""
    assert vocabulary[SOT] == "<|startoftranscript|>"
    assert vocabulary[EN] == "<|en|>"
    assert vocabulary[50363] == "<|notimestamps|>"
    assert vocabulary[TIMESTAMP_BEGIN] == "<|0.00|>"
    model = ctranslate2.models.Whisper(str(ct2))
    assert model.is_multilingual and model.n_mels == 80
    assert model.num_languages == len(whisper_languages(80)) == 99


@pytest.mark.parametrize("n_mels", [80, 128])
def test_log_mel_equals_feature_extractor(n_mels: int) -> None:
    rng = np.random.default_rng(n_mels)
    extractor = WhisperFeatureExtractor(feature_size=n_mels)
    worst = 0.0
    for seconds in (0.5, 7.3, 30.0, 31.0):
        audio = _audio(rng, seconds)
        ours = log_mel(audio, n_mels)
        theirs = extractor(audio, sampling_rate=16000, return_tensors="np").input_features[0]
        assert ours.shape == theirs.shape == (n_mels, 3000)
        worst = max(worst, float(np.abs(ours - theirs).max()))
    assert worst <= 1e-4, worst


def test_greedy_tokens_and_timestamps_equal_transformers(tiny: tuple[Path, Path]) -> None:
    hf_dir, ct2_dir = tiny
    reference = WhisperForConditionalGeneration.from_pretrained(hf_dir).eval()
    model = ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type="float32")
    rng = np.random.default_rng(7)
    new_tokens = 40
    compared = timestamps = 0
    distinct: set[tuple[int, ...]] = set()
    for _ in range(6):
        features = log_mel(_audio(rng, float(rng.uniform(2, 30))))[None]
        with torch.no_grad():
            out = reference.generate(
                input_features=torch.from_numpy(features),
                language="en",
                task="transcribe",
                return_timestamps=True,
                force_unique_generate_call=True,
                return_dict_in_generate=True,
                do_sample=False,
                num_beams=1,
                max_new_tokens=new_tokens,
            )
        theirs = [int(t) for t in out["sequences"][0].tolist()]
        assert theirs[:3] == [SOT, EN, TRANSCRIBE]
        theirs = [t for t in theirs[3:] if t != EOT]
        # CTranslate2's max_length counts prompt and new tokens over two: ask for twice as many.
        ours = model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features)),
            [[SOT, EN, TRANSCRIBE]],
            beam_size=1,
            max_length=2 * new_tokens,
        )[0].sequences_ids[0]
        n = min(len(theirs), len(ours))
        assert n >= 10
        assert ours[:n] == theirs[:n]
        compared += n
        timestamps += sum(1 for t in ours[:n] if t >= TIMESTAMP_BEGIN)
        distinct.add(tuple(ours[:n]))
    assert timestamps >= 6  # the timestamp rules were exercised, not only text
    assert len(distinct) >= 2  # the tokens depend on the audio
    assert compared >= 60
