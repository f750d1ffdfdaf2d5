"""The numpy reference's vectorised erf (the exact GELU's) against ``math.erf``."""

from __future__ import annotations

import math

import numpy as np

from core.model.xlmr_reference import _gelu, erf


def test_erf_matches_math_erf_on_a_dense_grid() -> None:
    grid = np.linspace(-7.0, 7.0, 1_400_001)  # every piece, both signs, and past the top
    want = np.array([math.erf(v) for v in grid])
    assert np.abs(erf(grid) - want).max() <= 1e-13


def test_erf_keeps_small_numbers_relative_accuracy() -> None:
    small = np.geomspace(1e-300, 0.25, 20_001)
    want = np.array([math.erf(v) for v in small])
    assert (np.abs(erf(small) - want) / want).max() <= 1e-13
    assert np.array_equal(erf(-small), -erf(small))


def test_erf_special_values_and_shapes() -> None:
    got = erf(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 6.0, -30.0, 1e300]))
    assert got[0] == 0.0 and got[1] == 0.0 and math.copysign(1.0, got[1]) == -1.0
    assert list(got[2:4]) == [1.0, -1.0] and math.isnan(got[4])
    assert list(got[5:]) == [1.0, -1.0, 1.0]
    assert erf(np.zeros((2, 0, 3))).shape == (2, 0, 3)
    assert erf(np.float64(0.5)).shape == ()
    x = np.random.default_rng(0).normal(0.0, 3.0, (2, 3, 7))
    assert erf(x).shape == x.shape
    assert np.abs(erf(x) - np.vectorize(math.erf)(x)).max() <= 1e-13


def test_gelu_is_x_times_phi() -> None:
    x = np.linspace(-10.0, 10.0, 20_001)
    want = np.array([0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x])
    assert np.abs(_gelu(x) - want).max() <= 1e-13
