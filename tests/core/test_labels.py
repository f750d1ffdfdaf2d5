"""Match labels that tell the truth (issue 23, items 1–3), through the library's public search.

The demo model over a fresh demo library: a video's own frame is never called a weak match of
it, sentences about nothing there are not called good, "find similar" leaves out the moment it
started from, and the null banks behind the rule are the model's own and cached.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.demo.library import build_demo
from core.model.encoder import Encoder
from core.model.registry import DEMO_MODEL
from core.query import null_queries
from core.query.relevance import Background, NullScores, judge, label

UNRELATED = [
    "a spreadsheet full of numbers",
    "a dog running on a beach",
    "grandma saying happy birthday",
    "a plate of pasta with tomato sauce",
    "code scrolling on a laptop screen",
    "fireworks over the harbour",
    "the speech at the wedding",
    "an old man fishing from a pier",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    encoder = Encoder(DEMO_MODEL, force_cpu=True)
    root = tmp_path_factory.mktemp("labels")
    lib, pairs = build_demo(encoder, videos=40, seed=4242, root=root)
    yield lib, pairs
    lib.close()


def _middle_frame(path: str) -> np.ndarray:
    cap = cv2.VideoCapture(path)
    cap.set(cv2.CAP_PROP_POS_FRAMES, cap.get(cv2.CAP_PROP_FRAME_COUNT) // 2)
    ok, bgr = cap.read()
    cap.release()
    assert ok
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def test_a_videos_own_frame_is_never_a_weak_match_of_it(demo) -> None:
    lib, pairs = demo
    labels = []
    for video, _ in pairs[:20]:
        results = lib.search_image(_middle_frame(video), k=len(pairs))
        mine = next(r for r in results if r.path == video)
        assert mine.score > 0.99  # its own frame
        labels.append(label(mine.relevance))
    assert labels.count("weak") == 0, labels


def test_sentences_about_nothing_there_are_weak(demo) -> None:
    lib, _ = demo
    labels = [label(lib.search(s, k=10)[0].relevance) for s in UNRELATED]
    assert labels.count("weak") >= len(UNRELATED) - 1, labels
    assert "strong" not in labels


def test_captions_label_their_own_video_a_match(demo) -> None:
    lib, pairs = demo
    labels = []
    for video, caption in pairs:
        results = lib.search(caption, k=len(pairs))
        labels.append(label(next(r for r in results if r.path == video).relevance))
    good = sum(lab in ("strong", "good") for lab in labels)
    assert good >= 0.85 * len(pairs), labels


def test_find_similar_leaves_out_the_moment_it_started_from(demo) -> None:
    lib, pairs = demo
    video = pairs[0][0]
    frame = _middle_frame(video)
    first = lib.search_image(frame, k=5)
    assert first[0].path == video  # without exclusion the picture finds its own moment first
    mine = first[0]
    similar = lib.search_image(frame, k=5, exclude=(mine.path, mine.t0, mine.t1))
    assert len(similar) == 5
    assert all(not (r.path == video and r.t0 < mine.t1 and r.t1 > mine.t0) for r in similar)


def test_judge_weighs_the_null_as_well_as_the_library() -> None:
    """A score that stands out four spreads in its library is still weak when queries about
    nothing reach it there; a score far beyond every null query is strong even when the
    library's spread is wide."""
    rng = np.random.default_rng(0)
    background = Background.of(rng.normal(0.5, 0.05, 2000))
    assert background is not None
    standout4 = background.median + 4 * background.spread
    dim = 8
    bank = np.eye(dim, dtype=np.float32)
    sample = np.tile(np.eye(dim, dtype=np.float32), (4, 1)) * 0.9  # every null reaches 0.9
    null = NullScores.of(bank, sample)
    assert null is not None
    assert label(judge(standout4, background, None)) == "strong"  # the library alone
    assert label(judge(standout4, background, null, null_on_moment=0.2)) == "weak"  # below null
    wide = Background.of(rng.normal(0.5, 0.3, 2000))
    assert wide is not None
    assert label(judge(1.0, wide, NullScores.of(bank, sample * 0.5), null_on_moment=0.4)) == (
        "strong"
    )
    assert judge(1.0, None, null) is None  # too small a library to say


def test_null_banks_are_the_models_own_and_cached(tmp_path: Path, monkeypatch) -> None:
    encoder = Encoder(DEMO_MODEL, force_cpu=True)
    sentences = null_queries.bank_vectors(encoder, "sentence", tmp_path)
    assert sentences.shape == (len(null_queries.null_sentences()), encoder.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(sentences, axis=1), 1.0, atol=1e-5)
    pictures = null_queries.bank_vectors(encoder, "picture", tmp_path)
    assert pictures.shape == (null_queries.PICTURE_COUNT, encoder.embed_dim)
    cached = list(tmp_path.glob("*.npy"))
    assert len(cached) == 2
    # the second time comes from the cache: the towers are not run again
    monkeypatch.setattr(encoder, "encode_texts", lambda *a, **k: pytest.fail("re-encoded"))
    np.testing.assert_array_equal(
        null_queries.bank_vectors(encoder, "sentence", tmp_path), sentences
    )
    # a damaged cache file is computed again, not trusted
    for path in cached:
        path.write_bytes(b"not a numpy file")
    monkeypatch.undo()
    again = null_queries.bank_vectors(Encoder(DEMO_MODEL, force_cpu=True), "picture", tmp_path)
    np.testing.assert_allclose(again, pictures, atol=1e-6)
    with pytest.raises(ValueError):
        null_queries.bank_vectors(encoder, "sound", tmp_path)


def test_null_pictures_are_fixed_and_varied() -> None:
    a, b = null_queries.null_pictures(), null_queries.null_pictures()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(x.dtype == np.uint8 and x.shape == (256, 256, 3) for x in a)
    assert len({x.tobytes() for x in a}) == len(a)


def test_a_query_that_is_a_bank_sentence_is_not_its_own_null() -> None:
    """A person may type exactly one of the bank's everyday sentences ("a dog catching a ball");
    compared with itself on its own moment, it could never stand clear of the null."""
    sentences = null_queries.null_sentences()
    assert null_queries.position(sentences[3]) == 3
    assert null_queries.position("  " + sentences[3].upper() + " ") == 3  # case and spacing aside
    assert null_queries.position("something nobody wrote in the bank") is None
    bank = np.eye(4, dtype=np.float32)
    null = NullScores.of(bank, bank)
    assert null is not None
    moment = np.array([[0.0, 0.0, 1.0, 0.0]], dtype=np.float32)
    assert null.best_on(moment)[0] == 1.0  # bank sentence 2 describes this moment exactly
    assert null.best_on(moment, leave_out=2)[0] == 0.0  # ...unless it is the query itself
