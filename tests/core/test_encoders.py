"""The torch-free runtime: text at true length, query errors, pooling, providers."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.encoder import Encoder, QueryError
from core.model.sessions import CPU, choose_providers, create_session


@pytest.fixture(scope="module")
def encoder(tiny_seqtransf) -> Encoder:
    return Encoder(tiny_seqtransf[1], force_cpu=True)


def test_true_length_equals_padded_to_77(encoder) -> None:
    session = encoder._text.session
    texts = ["a dog", "my daughter blowing out birthday candles", "x " * 40]
    for text in texts:
        ids = encoder.tokenizer.tokenize(text)
        short = np.array([ids], dtype=np.int64)
        padded = np.zeros((1, 77), np.int64)
        padded[0, : len(ids)] = ids
        a = session.run(None, {"input_ids": short})[0][0]
        b = session.run(None, {"input_ids": padded})[0][0]
        cos = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        assert cos >= 0.99999, (text, cos)


def test_batched_texts_equal_single_texts(encoder) -> None:
    texts = [
        "short",
        "a much longer sentence about a red ball rolling down the stairs",
        "mid size one",
    ]
    batch = encoder.encode_texts(texts)
    singles = np.stack([encoder.encode_text(t) for t in texts])
    assert np.allclose(batch, singles, atol=1e-5)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert batch.dtype == np.float32


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_a_clear_error(encoder, query) -> None:
    with pytest.raises(QueryError, match="empty"):
        encoder.encode_text(query)


def test_overlong_query_is_a_clear_error_unless_truncating(encoder) -> None:
    long = "birthday " * 100
    with pytest.raises(QueryError, match="at most 75"):
        encoder.encode_text(long)
    vec = encoder.encode_texts([long], truncate=True)
    assert vec.shape == (1, 8)


def test_images_any_size_and_empty_batch(encoder) -> None:
    rng = np.random.default_rng(0)
    imgs = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for h, w in [(20, 30), (1080, 1920), (64, 32)]
    ]
    out = encoder.encode_images(imgs)
    assert out.shape == (3, 8) and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    assert encoder.encode_images([]).shape == (0, 8)


def test_pool_frames_single_batch_and_thinning(encoder) -> None:
    rng = np.random.default_rng(1)
    frames = rng.normal(size=(30, 8)).astype(np.float32)
    single = encoder.pool_frames(frames)  # 30 > max_frames=12: thinned evenly
    idx = np.linspace(0, 29, 12).round().astype(int)
    assert np.allclose(single, encoder.pool_frames(frames[idx]), atol=1e-6)
    batch = np.zeros((2, 5, 8), np.float32)
    batch[0] = frames[:5]
    batch[1, :2] = frames[5:7]
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], np.float32)
    pooled = encoder.pool_frames(batch, mask)
    assert np.allclose(pooled[1], encoder.pool_frames(frames[5:7]), atol=1e-5)
    with pytest.raises(ValueError):
        encoder.pool_frames(np.zeros((0, 8), np.float32))


def test_forced_cpu_and_reported_provider(tiny_seqtransf) -> None:
    choice = choose_providers(force_cpu=True)
    assert choice.requested == (CPU,)
    session = create_session(tiny_seqtransf[1] / "image.onnx", force_cpu=True)
    assert session.provider == CPU == session.active_providers[0]
    assert session.describe() == "CPU (CPU forced by setting)"
    assert not session.fell_back


def test_env_forces_cpu(monkeypatch) -> None:
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")
    assert choose_providers().requested == (CPU,)


def test_fallback_is_detected_when_cuda_is_requested_but_inactive(
    tiny_seqtransf, monkeypatch, caplog
) -> None:
    """Simulate a machine whose CUDA provider fails to start: the fallback must be reported."""
    import core.model.sessions as s

    monkeypatch.setattr(
        s,
        "choose_providers",
        lambda force_cpu=False: s.ProviderChoice((s.CUDA, s.CPU), "CUDA requested"),
    )
    real = s.ort.InferenceSession

    def cpu_only(path, sess_options=None, providers=None):
        return real(path, sess_options=sess_options, providers=[s.CPU])

    monkeypatch.setattr(s.ort, "InferenceSession", cpu_only)
    with caplog.at_level("WARNING"):
        session = s.create_session(tiny_seqtransf[1] / "image.onnx")
    assert session.fell_back and session.provider == s.CPU
    assert "fell back" in caplog.text
    assert session.describe().startswith("CPU (CUDA failed")


def test_sessions_log_errors_only(tiny_seqtransf) -> None:
    """ONNX Runtime's start-up warnings (CUDA's "Memcpy nodes are added") stay out of the CLI."""
    session = create_session(tiny_seqtransf[1] / "image.onnx", force_cpu=True)
    assert session.session.get_session_options().log_severity_level == 3
