"""Wasserstein-p and Kolmogorov-Smirnov distances against scipy, POT and the
exact rational references in tests/reference/transport.py."""

import warnings

import numpy as np
import ot
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import transport as ref

from fairfast.transport import ks_distance, wasserstein_distance

RTOL = 1e-12
SETTINGS = settings(max_examples=60, deadline=None)

# Values on a coarse grid (many ties, often identical samples) or arbitrary floats.
tied_values = st.integers(-4, 4).map(float)
real_values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def weighted_sample(draw, max_size=25, weighted=True):
    elements = draw(st.sampled_from([tied_values, real_values]))
    values = draw(st.lists(elements, min_size=1, max_size=max_size))
    if not weighted:
        return np.array(values), None
    kind = draw(st.sampled_from(["integer", "real"]))
    if kind == "integer":
        w = draw(st.lists(st.integers(0, 6), min_size=len(values), max_size=len(values)))
    else:
        w = draw(st.lists(st.floats(0.0, 10.0, allow_subnormal=False), min_size=len(values), max_size=len(values)))
    w = np.array(w, dtype=np.float64)
    if not w.sum() > 0:
        w[draw(st.integers(0, len(values) - 1))] = 1.0
    return np.array(values), w


def assert_close(actual, expected, scale, rtol=RTOL):
    """Relative agreement, plus an absolute slack of a few ulps of the data scale (for
    distances that are exactly zero)."""
    atol = 1e-13 * max(1.0, scale)
    assert abs(actual - expected) <= rtol * abs(expected) + atol, (actual, expected)


def _scale(*arrays):
    return max(float(np.max(np.abs(a))) for a in arrays)


def scipy_ks(x, y):
    """scipy's two-sample KS statistic (its p-value computation may warn on tiny samples)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(scipy.stats.ks_2samp(x, y, method="asymp").statistic)


def _normalised(w, n):
    return np.full(n, 1.0 / n) if w is None else w / w.sum()


# --------------------------------------------------------------------------- W_p


@SETTINGS
@given(weighted_sample(weighted=False), weighted_sample(weighted=False))
def test_w1_matches_scipy_unweighted(u, v):
    (x, _), (y, _) = u, v
    expected = scipy.stats.wasserstein_distance(x, y)
    assert_close(wasserstein_distance(x, y), expected, _scale(x, y))


@SETTINGS
@given(weighted_sample(), weighted_sample())
def test_w1_matches_scipy_weighted(u, v):
    (x, wx), (y, wy) = u, v
    expected = scipy.stats.wasserstein_distance(x, y, wx, wy)
    assert_close(wasserstein_distance(x, y, u_weights=wx, v_weights=wy), expected, _scale(x, y))


@SETTINGS
@given(weighted_sample(), weighted_sample(), st.sampled_from([1, 2, 3]), st.booleans())
def test_wp_matches_pot(u, v, p, use_weights):
    (x, wx), (y, wy) = u, v
    if not use_weights:
        wx = wy = None
    # The installed POT returns W_p**p (its docstring: "the p-Wasserstein distance raised
    # to the power p"); checked by test_pot_returns_the_p_th_power below.
    pow_p = ot.wasserstein_1d(x, y, _normalised(wx, len(x)), _normalised(wy, len(y)), p=p)
    ours = wasserstein_distance(x, y, p=p, u_weights=wx, v_weights=wy)
    assert_close(ours**p, float(pow_p), _scale(x, y) ** p)


def test_pot_returns_the_p_th_power():
    # W_2 between {0, 1} and {0, 3} is sqrt(2): POT gives 2.
    assert ot.wasserstein_1d(np.array([0.0, 1.0]), np.array([0.0, 3.0]), p=2) == pytest.approx(2.0)
    assert wasserstein_distance([0.0, 1.0], [0.0, 3.0], p=2) == pytest.approx(np.sqrt(2.0), rel=1e-15)


@SETTINGS
@given(weighted_sample(), weighted_sample(), st.sampled_from([1, 2, 3]), st.booleans())
def test_wp_matches_exact_rational_reference(u, v, p, use_weights):
    (x, wx), (y, wy) = u, v
    if not use_weights:
        wx = wy = None
    expected = ref.wasserstein_pow_exact(x, y, p, wx, wy)
    ours = wasserstein_distance(x, y, p=p, u_weights=wx, v_weights=wy)
    assert_close(ours**p, float(expected), _scale(x, y) ** p)


@SETTINGS
@given(weighted_sample(), weighted_sample(), st.floats(1.0, 6.0), st.booleans())
def test_non_integer_p_matches_reference(u, v, p, use_weights):
    (x, wx), (y, wy) = u, v
    if not use_weights:
        wx = wy = None
    expected = ref.wasserstein_float(x, y, p, wx, wy)
    ours = wasserstein_distance(x, y, p=p, u_weights=wx, v_weights=wy)
    assert_close(ours**p, expected**p, _scale(x, y) ** p, rtol=1e-11)


@SETTINGS
@given(weighted_sample(), weighted_sample(), st.sampled_from([1, 2, 3]))
def test_float32_inputs_match_reference_on_upcast_values(u, v, p):
    (x, wx), (y, wy) = u, v
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    expected = ref.wasserstein_pow_exact(x32.astype(np.float64), y32.astype(np.float64), p, wx, wy)
    ours = wasserstein_distance(x32, y32, p=p, u_weights=wx, v_weights=wy)
    assert_close(ours**p, float(expected), _scale(x, y) ** p)
    # and against scipy on the float32 values, with a float32-appropriate tolerance
    if p == 1:
        theirs = scipy.stats.wasserstein_distance(x32, y32, wx, wy)
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-6 * _scale(x, y))


def test_float32_mixed_with_float64_uses_float64():
    x = np.array([0.1, 0.2, 0.7], dtype=np.float32)
    y = np.array([0.1, 0.2, 0.7], dtype=np.float64)
    # computed on x upcast: the float32 rounding of 0.1 etc. is visible
    expected = scipy.stats.wasserstein_distance(x.astype(np.float64), y)
    assert expected > 0
    assert wasserstein_distance(x, y) == pytest.approx(expected, rel=1e-12)


def test_docstring_values_and_symmetry():
    assert wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.0
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=37), rng.normal(size=50)
    for p in (1, 2, 2.5):
        assert wasserstein_distance(x, y, p=p) == pytest.approx(wasserstein_distance(y, x, p=p), rel=1e-14)
        assert wasserstein_distance(x, x, p=p) == 0.0


def test_integer_weights_equal_repetition():
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 5, 20).astype(float), rng.normal(size=15)
    wx, wy = rng.integers(1, 4, 20), rng.integers(1, 4, 15)
    for p in (1, 2, 3):
        weighted = wasserstein_distance(x, y, p=p, u_weights=wx, v_weights=wy)
        repeated = wasserstein_distance(np.repeat(x, wx), np.repeat(y, wy), p=p)
        assert weighted == pytest.approx(repeated, rel=1e-13)


@pytest.mark.parametrize("p", [0.5, 0, -1, np.inf, np.nan, True, "2", None])
def test_bad_p_raises(p):
    with pytest.raises(ValueError, match="p must be a finite real number >= 1"):
        wasserstein_distance([0.0, 1.0], [1.0], p=p)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match=r"u_values must have at least 1 rows"):
        wasserstein_distance([], [1.0])
    with pytest.raises(ValueError, match=r"v_values must be finite; found .*nan.* at position 1"):
        wasserstein_distance([0.0], [1.0, np.nan])
    with pytest.raises(ValueError, match="u_weights has 2 rows but the data has 3"):
        wasserstein_distance([0.0, 1.0, 2.0], [1.0], u_weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="v_weights must be non-negative"):
        ks_distance([0.0], [1.0, 2.0], v_weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="v_weights must have a positive sum"):
        ks_distance([0.0], [1.0, 2.0], v_weights=[0.0, 0.0])
    with pytest.raises(TypeError, match="u_values must hold real numbers"):
        ks_distance(["a", "b"], [1.0])
    with pytest.raises(ValueError, match="u_values must be 1-dimensional"):
        ks_distance(np.zeros((2, 2)), [1.0])


# --------------------------------------------------------------------------- KS


@SETTINGS
@given(weighted_sample(weighted=False), weighted_sample(weighted=False))
def test_ks_matches_scipy(u, v):
    (x, _), (y, _) = u, v
    assert_close(ks_distance(x, y), scipy_ks(x, y), 1.0)


@SETTINGS
@given(weighted_sample(), weighted_sample())
def test_weighted_ks_matches_exact_reference(u, v):
    (x, wx), (y, wy) = u, v
    assert_close(ks_distance(x, y, u_weights=wx, v_weights=wy), ref.ks_exact(x, y, wx, wy), 1.0)


@SETTINGS
@given(weighted_sample(weighted=False), weighted_sample(weighted=False))
def test_ks_float32_matches_scipy_on_float32_values(u, v):
    (x, _), (y, _) = u, v
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    expected = scipy_ks(x32.astype(np.float64), y32.astype(np.float64))
    assert_close(ks_distance(x32, y32), expected, 1.0)


def test_ks_examples():
    assert ks_distance([1, 2, 3], [1, 2, 3]) == 0.0
    assert ks_distance([0, 1], [2, 3]) == 1.0
    # weights that make the two samples the same distribution
    assert ks_distance([0.0, 1.0], [0.0, 0.0, 1.0], u_weights=[2, 1]) == 0.0


def test_thread_count_does_not_change_distances():
    import fairfast

    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 100, 150_000).astype(float), rng.normal(50, 20, 130_000)
    wx, wy = rng.random(150_000), rng.integers(1, 3, 130_000)
    results = []
    for threads in (1, 2):
        with fairfast.thread_limit(threads):
            results.append(
                [
                    wasserstein_distance(x, y, p=p, u_weights=wx, v_weights=wy if p > 1 else None)
                    for p in (1, 2, 2.5)
                ]
                + [ks_distance(x, y), ks_distance(x, y, u_weights=wx, v_weights=wy)]
            )
    assert results[0] == results[1]
