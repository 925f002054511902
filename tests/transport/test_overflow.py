"""Huge finite inputs (issue: hardening, items 4 and 5): weights whose sum overflows
and values whose differences or powers overflow give the correct finite answer."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference import transport as ref

from fairfast.transport import EmpiricalDistribution, ecdf, ks_distance, quantile, wasserstein_distance

SETTINGS = settings(max_examples=40, deadline=None)
HUGE = 2.0**1021  # 5 * HUGE is finite, the sum of two such weights is not

values = st.lists(st.integers(-6, 6).map(float), min_size=1, max_size=12)


@st.composite
def weighted(draw):
    x = draw(values)
    w = draw(st.lists(st.integers(1, 5).map(float), min_size=len(x), max_size=len(x)))
    return np.array(x), np.array(w)


def test_issue_examples_of_overflowing_weights():
    big = [1e308] * 3
    np.testing.assert_array_equal(ecdf([1, 2, 3], [1.5, 2.5], sample_weight=big), [1 / 3, 2 / 3])
    assert quantile([1, 2, 3], [0.5], sample_weight=big)[0] == 2.0
    assert wasserstein_distance([0, 1], [2, 3], u_weights=[1e308] * 2) == 2.0
    assert ks_distance([0, 1], [2, 3], u_weights=[1e308] * 2) == 1.0


@SETTINGS
@given(weighted(), st.sampled_from(["step", "linear"]))
def test_huge_weights_give_the_bits_of_the_small_ones(sample, interpolation):
    # A power-of-two factor changes no mantissa: the CDF and quantiles of w * 2**1021
    # are those of w, which the references compute in plain float arithmetic.
    x, w = sample
    t = np.arange(-7.0, 7.5, 0.5)
    q = np.linspace(0.0, 1.0, 11)
    got_cdf = ecdf(x, t, sample_weight=w * HUGE, interpolation=interpolation)
    got_q = quantile(x, q, sample_weight=w * HUGE, interpolation=interpolation)
    assert np.isfinite(got_cdf).all() and np.isfinite(got_q).all()
    np.testing.assert_array_equal(got_cdf, ecdf(x, t, sample_weight=w, interpolation=interpolation))
    np.testing.assert_array_equal(got_q, quantile(x, q, sample_weight=w, interpolation=interpolation))
    if interpolation == "step":
        np.testing.assert_array_equal(got_cdf, ref.step_cdf(x, t, w))
        np.testing.assert_array_equal(got_q, ref.step_quantile(x, q, w))
    else:
        np.testing.assert_allclose(got_cdf, ref.linear_cdf(x, t, w), rtol=1e-12, atol=1e-15)


@SETTINGS
@given(weighted(), weighted(), st.sampled_from([1, 2, 3]))
def test_distances_with_huge_weights_match_the_exact_reference(u, v, p):
    (ux, uw), (vx, vw) = u, v
    got_w = wasserstein_distance(ux, vx, p=p, u_weights=uw * HUGE, v_weights=vw * 2.0**1000)
    got_ks = ks_distance(ux, vx, u_weights=uw * HUGE, v_weights=vw)
    assert got_w == pytest.approx(ref.wasserstein_exact(ux, vx, p, uw, vw), rel=1e-12, abs=1e-300)
    assert got_ks == pytest.approx(float(ref.ks_exact(ux, vx, uw, vw)), rel=1e-12, abs=1e-15)
    assert got_w == wasserstein_distance(ux, vx, p=p, u_weights=uw, v_weights=vw)


def test_cumulative_weights_stay_finite_and_keep_ratios():
    d = EmpiricalDistribution([3.0, 1.0, 2.0], sample_weight=[1e308, 1e308, 5e307])
    assert np.isfinite(d.cumulative_weight_).all()
    np.testing.assert_array_equal(d.cdf([1.0, 2.0, 3.0]), [0.4, 0.6, 1.0])


def test_linear_quantile_and_cdf_across_the_whole_range():
    x = [-1.7e308, 1.7e308]
    assert quantile(x, [0.5], interpolation="linear")[0] == 0.0
    np.testing.assert_allclose(quantile(x, [0.25, 0.75], interpolation="linear"), [-0.85e308, 0.85e308], rtol=1e-15)
    np.testing.assert_allclose(ecdf(x, [0.0, 0.85e308], interpolation="linear"), [0.5, 0.75], rtol=1e-15)
    # weighted linear convention too
    assert quantile(x, [0.5], sample_weight=[1.0, 3.0], interpolation="linear")[0] == 0.0


@SETTINGS
@example([-7, 7], 0.5)
@example([-7, -3, 6], 0.7)
@given(st.lists(st.integers(-7, 7), min_size=2, max_size=8), st.floats(0.0, 1.0))
def test_linear_quantile_of_scaled_sample_is_the_scaled_quantile(ints, level):
    # 2**1021 * x stays finite for |x| <= 7 (below 2**1024); gaps of 8 or more do not.
    x = np.array(ints, dtype=np.float64)
    scale = 2.0**1021
    got = quantile(x * scale, [level], interpolation="linear")[0]
    want = quantile(x, [level], interpolation="linear")[0] * scale
    assert math.isfinite(got)
    assert got == pytest.approx(want, rel=1e-14, abs=scale * 1e-14)


def test_w2_of_far_apart_points_is_finite():
    assert wasserstein_distance([0.0], [1e200], p=2) == 1e200
    assert wasserstein_distance([0.0], [1e-200], p=2) == 1e-200
    assert wasserstein_distance([-1e308], [1e307], p=3) == pytest.approx(1.1e308, rel=1e-15)
    # beyond the largest double the distance is inf, not an error
    assert wasserstein_distance([-1.7e308], [1.7e308], p=2) == math.inf


@SETTINGS
@given(weighted(), weighted(), st.sampled_from([1, 2, 3, 4.5]), st.sampled_from([200, 1000, -1000]))
def test_wasserstein_is_homogeneous_across_the_range(u, v, p, k):
    # W_p(2**k u, 2**k v) = 2**k W_p(u, v): no overflow of |u - v|**p, no underflow.
    (ux, uw), (vx, vw) = u, v
    want = ref.wasserstein_float(ux, vx, p, uw, vw)
    got = wasserstein_distance(np.ldexp(ux, k), np.ldexp(vx, k), p=p, u_weights=uw, v_weights=vw)
    assert math.isfinite(got)
    assert got == pytest.approx(math.ldexp(want, k), rel=1e-12, abs=math.ldexp(1e-12, k))


def test_float32_samples_are_rescaled_in_float32():
    u = np.array([0.0, 1e38], dtype=np.float32)
    v = np.array([1e38, 3e38], dtype=np.float32)
    got = wasserstein_distance(u, v, p=9)  # (1e38)**9 overflows a double
    want = ref.wasserstein_float(u.astype(np.float64) / 1e38, v.astype(np.float64) / 1e38, 9) * 1e38
    assert got == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("weights", [None, [1.0, 3.0]])
def test_huge_orders_tend_to_the_largest_gap(weights):
    """W_p of [0, 1] and [2, 3] is 2 for every p; every gap's p-th power over- or
    underflows for p = 1e308 even after rescaling by the range (0.5**1e308 == 0)."""
    for p in (1e3, 1e6, 1e308):
        # with weights [1, 3] a quarter of the mass has gap 1: W_p = 2 (3/4 + 2**-p / 4)**(1/p)
        expected = 2.0 if weights is None else 2.0 * 0.75 ** (1.0 / p)
        assert wasserstein_distance([0, 1], [2, 3], p=p, u_weights=weights) == pytest.approx(expected, rel=1e-12)
    assert wasserstein_distance([0, 1], [0.5, 1.5], p=1e308) == pytest.approx(0.5, rel=1e-12)
    assert wasserstein_distance([0, 1], [0, 1], p=1e308) == 0.0
    # a gap on a small share of the mass: W_p -> the gap as p grows, from below
    u, v = np.arange(100.0), np.r_[np.arange(99.0), 109.0]
    got = [wasserstein_distance(u, v, p=p) for p in (10.0, 1e3, 1e308)]
    assert got[0] < got[1] < got[2] == pytest.approx(10.0, rel=1e-12)
