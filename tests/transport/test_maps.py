"""Monotone transport maps and barycenter quantile functions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import transport as ref

from fairfast.transport import barycenter_quantiles, monotone_map, wasserstein_distance

SETTINGS = settings(max_examples=50, deadline=None)
values = st.one_of(st.integers(-3, 3).map(float), st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False))


@SETTINGS
@given(st.lists(values, min_size=1, max_size=30), st.lists(values, min_size=1, max_size=30))
def test_monotone_map_equals_reference_and_is_monotone(src, tgt):
    src, tgt = np.array(src), np.array(tgt)
    out = monotone_map(src, tgt)
    expected = ref.step_quantile(tgt, ref.step_cdf(src, src))
    np.testing.assert_array_equal(out, expected)
    order = np.argsort(src, kind="stable")
    assert np.all(np.diff(out[order]) >= 0)
    assert set(out) <= set(tgt)


@SETTINGS
@given(st.lists(values, min_size=1, max_size=30, unique=True), st.data())
def test_equal_sizes_send_kth_smallest_to_kth_smallest(src, data):
    src = np.array(src)
    tgt = np.array(data.draw(st.lists(values, min_size=len(src), max_size=len(src))))
    out = monotone_map(src, tgt)
    np.testing.assert_array_equal(out[np.argsort(src)], np.sort(tgt))


def test_monotone_map_at_new_points_and_weights():
    np.testing.assert_array_equal(monotone_map([3.0, 1.0, 2.0], [10.0, 30.0, 20.0]), [30.0, 10.0, 20.0])
    out = monotone_map([1.0, 2.0, 3.0], [10.0, 20.0, 30.0], x=[0.0, 1.5, 9.0])
    np.testing.assert_array_equal(out, [10.0, 10.0, 30.0])
    w = monotone_map([1.0, 2.0], [10.0, 20.0, 30.0], source_weights=[2, 1])
    np.testing.assert_array_equal(w, [20.0, 30.0])


@SETTINGS
@given(
    st.lists(st.lists(values, min_size=1, max_size=20), min_size=1, max_size=4),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=10),
)
def test_barycenter_quantiles_is_weighted_sum_of_quantiles(samples, q):
    samples = [np.array(s) for s in samples]
    q = np.array(q)
    sizes = np.array([len(s) for s in samples], dtype=float)
    lam = sizes / sizes.sum()
    expected = sum(lam[k] * ref.step_quantile(s, q) for k, s in enumerate(samples))
    np.testing.assert_allclose(barycenter_quantiles(samples, q), expected, rtol=1e-14, atol=1e-12)
    w = np.arange(1, len(samples) + 1, dtype=float)
    lam = w / w.sum()
    expected = sum(lam[k] * ref.step_quantile(s, q) for k, s in enumerate(samples))
    np.testing.assert_allclose(barycenter_quantiles(samples, q, weights=w), expected, rtol=1e-14, atol=1e-12)


def test_two_gaussians_barycenter_is_gaussian():
    # B1: p = (.3, .7), N(0, 1) and N(2, 2^2) -> N(1.4, 1.7^2) (quantiles exactly, up to sampling)
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 200_000), rng.normal(2, 2, 200_000)
    q = np.linspace(0.05, 0.95, 19)
    bary = barycenter_quantiles([a, b], q, weights=[0.3, 0.7])
    from scipy.stats import norm

    np.testing.assert_allclose(bary, norm.ppf(q, loc=1.4, scale=1.7), atol=0.03)
    # W2 from each group to the barycenter: |m - 1.4|^2 + |sd - 1.7|^2
    grid = (np.arange(20_000) + 0.5) / 20_000
    bsample = barycenter_quantiles([a, b], grid, weights=[0.3, 0.7])
    assert wasserstein_distance(a, bsample, p=2) ** 2 == pytest.approx(1.4**2 + 0.7**2, rel=0.02)
    assert wasserstein_distance(b, bsample, p=2) ** 2 == pytest.approx(0.6**2 + 0.3**2, rel=0.03)


def test_barycenter_quantiles_errors():
    with pytest.raises(ValueError, match="samples must hold at least one sample"):
        barycenter_quantiles([], [0.5])
    with pytest.raises(ValueError, match="weights has 1 entries but samples has 2"):
        barycenter_quantiles([[0.0], [1.0]], [0.5], weights=[1.0])
    with pytest.raises(ValueError, match="sample_weights has 1 entries but samples has 2"):
        barycenter_quantiles([[0.0], [1.0]], [0.5], sample_weights=[None])
    with pytest.raises(ValueError, match="weights must be non-negative"):
        barycenter_quantiles([[0.0], [1.0]], [0.5], weights=[1.0, -1.0])
