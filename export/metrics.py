"""Retrieval metrics as CLIP4Clip reports them: R@1/5/10, median and mean rank.

``sim[i, j]`` is the similarity of text i and video j, text i describing video i. Ranks start at
1; ties count against the model (a correct video tied with another is not first), and a score
within ``TIE`` of the correct one is a tie: differences below float noise mean nothing, and
without this an order-blind head's scores for a video and its reversed twin (equal up to 1e-6)
would rank them by noise, differently in PyTorch and ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

TIE = 1e-5


def ranks(sim: npt.ArrayLike) -> npt.NDArray[np.int_]:
    """Rank of the right column for each row of a square similarity matrix."""
    sim = np.asarray(sim, dtype=np.float64)
    correct = sim[np.arange(sim.shape[0]), np.arange(sim.shape[0])][:, None]
    rank: npt.NDArray[np.int_] = (sim >= correct - TIE).sum(axis=1)
    return rank


def summarise(r: np.ndarray) -> dict[str, float]:
    r = np.asarray(r)
    return {
        "R@1": float(np.mean(r <= 1) * 100),
        "R@5": float(np.mean(r <= 5) * 100),
        "R@10": float(np.mean(r <= 10) * 100),
        "MdR": float(np.median(r)),
        "MnR": float(np.mean(r)),
        "n": len(r),
    }


def retrieval_metrics(sim: np.ndarray, kinds: Sequence[str] | None = None) -> dict[str, object]:
    """text->video and video->text metrics, plus text->video per caption kind if given."""
    out: dict[str, object] = {
        "t2v": summarise(ranks(sim)),
        "v2t": summarise(ranks(np.asarray(sim).T)),
    }
    if kinds is not None:
        t2v = ranks(sim)
        for kind in sorted(set(kinds)):
            rows = np.array([k == kind for k in kinds])
            out[f"t2v_{kind}"] = summarise(t2v[rows])
    return out
