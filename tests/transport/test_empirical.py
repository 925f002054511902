"""Empirical CDF, quantile function and randomised CDF against the references."""

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from reference import transport as ref

from fairfast.transport import EmpiricalDistribution, ecdf, quantile, randomized_cdf

SETTINGS = settings(max_examples=60, deadline=None)

tied_values = st.integers(-3, 3).map(float)
real_values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)
# The whole finite range: bucket indexes over huge spans must stay exact.
any_finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def sample_and_weights(draw, elements=None, max_size=30, weights="maybe", positive=False):
    if elements is None:
        elements = draw(st.sampled_from([tied_values, real_values, any_finite]))
    values = np.array(draw(st.lists(elements, min_size=1, max_size=max_size)))
    use = draw(st.booleans()) if weights == "maybe" else weights
    if not use:
        return values, None
    low = 1 if positive else 0
    if draw(st.booleans()):
        w = draw(st.lists(st.integers(low, 5), min_size=len(values), max_size=len(values)))
    else:
        w = draw(st.lists(st.floats(0.5 if positive else 0.0, 3.0), min_size=len(values), max_size=len(values)))
    w = np.array(w, dtype=np.float64)
    if not w.sum() > 0:
        w[0] = 1.0
    return values, w


def queries_for(x, draw):
    """The sample points, their neighbours and points outside the range."""
    extra = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=5))
    with np.errstate(over="ignore"):
        pts = np.concatenate([x, np.nextafter(x, -np.inf), np.nextafter(x, np.inf), extra])
    return pts[np.isfinite(pts)]


levels = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20).map(np.array)


# --------------------------------------------------------------------------- step


@SETTINGS
@given(sample_and_weights(), st.data())
def test_step_cdf_equals_reference_exactly(sw, data):
    x, w = sw
    t = queries_for(x, data.draw)
    np.testing.assert_array_equal(ecdf(x, t, sample_weight=w), ref.step_cdf(x, t, w))


@SETTINGS
@given(sample_and_weights(), levels)
def test_step_quantile_equals_reference_exactly(sw, q):
    x, w = sw
    q = np.concatenate([q, [0.0, 1.0]])
    np.testing.assert_array_equal(quantile(x, q, sample_weight=w), ref.step_quantile(x, q, w))


@SETTINGS
@given(sample_and_weights(positive=True))
def test_quantile_of_cdf_is_identity_on_sample_points(sw):
    x, w = sw
    d = EmpiricalDistribution(x, w)
    np.testing.assert_array_equal(d.quantile(d.cdf(x)), x)


@SETTINGS
@given(sample_and_weights(elements=tied_values, positive=True))
def test_quantile_of_cdf_identity_float32(sw):
    x, w = sw
    x32 = (x / 7).astype(np.float32)
    d = EmpiricalDistribution(x32, w)
    assert d.sorted_.dtype == np.float32
    np.testing.assert_array_equal(d.quantile(d.cdf(x32)).astype(np.float32), x32)


@SETTINGS
@given(sample_and_weights(), levels)
def test_cdf_of_quantile_is_at_least_level(sw, q):
    # Galois inequality of the generalised inverse: F(Q(q)) >= q, and F(y) < q for y < Q(q).
    x, w = sw
    d = EmpiricalDistribution(x, w)
    qq = d.quantile(q)
    assert np.all(d.cdf(qq) >= q)
    with np.errstate(over="ignore"):
        below = np.nextafter(qq, -np.inf)
    keep = np.isfinite(below)
    assert np.all((d.cdf(below[keep]) < q[keep]) | (q[keep] == 0))


def test_integer_weights_equal_repetition():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, 40).astype(float)
    w = rng.integers(1, 5, 40)
    t = np.linspace(-1, 7, 33)
    q = np.linspace(0, 1, 41)
    np.testing.assert_array_equal(ecdf(x, t, sample_weight=w), ecdf(np.repeat(x, w), t))
    np.testing.assert_array_equal(quantile(x, q, sample_weight=w), quantile(np.repeat(x, w), q))


def test_docstring_examples_and_shapes():
    d = EmpiricalDistribution([3.0, 1.0, 2.0, 2.0])
    np.testing.assert_array_equal(d.cdf([0.5, 2.0, 3.0]), [0.0, 0.75, 1.0])
    np.testing.assert_array_equal(d.quantile([0.0, 0.5, 0.75, 1.0]), [1.0, 2.0, 2.0, 3.0])
    assert d.n_samples == 4 and d.cumulative_weight_ is None
    np.testing.assert_array_equal(d.sorted_, [1.0, 2.0, 2.0, 3.0])
    grid = np.array([[0.0, 2.0], [3.0, 9.0]])
    assert d.cdf(grid).shape == (2, 2)
    assert d.quantile(np.array([[0.1], [0.9]])).shape == (2, 1)
    w = EmpiricalDistribution([2.0, 1.0], sample_weight=[1.0, 3.0])
    np.testing.assert_array_equal(w.cumulative_weight_, [3.0, 4.0])


def test_scalar_queries_give_scalars():
    d = EmpiricalDistribution([3.0, 1.0, 2.0, 2.0])
    assert np.ndim(d.cdf(2.0)) == 0 and d.cdf(2.0) == 0.75
    assert np.ndim(d.quantile(0.5)) == 0 and d.quantile(0.5) == 2.0
    assert 0.25 <= d.randomized_cdf(2.0, random_state=0) <= 0.75
    assert quantile([1.0, 2.0], 0.5) == 1.0


def test_float32_queries_are_rounded_to_the_sample_dtype():
    x = np.array([0.1, 0.2, 0.3], dtype=np.float32)
    # float64 0.1 is below float32 0.1, but queries are cast to float32 first.
    assert np.float64(0.1) < np.float64(np.float32(0.1))
    assert ecdf(x, [0.1])[0] == pytest.approx(1 / 3)
    assert ecdf(x.astype(np.float64), [0.1])[0] == 0.0


# --------------------------------------------------------------------------- linear


@SETTINGS
@given(st.lists(real_values, min_size=1, max_size=40).map(np.array), levels)
def test_linear_quantile_matches_numpy(x, q):
    expected = np.quantile(x, q, method="linear")
    ours = quantile(x, q, interpolation="linear")
    scale = max(1.0, float(np.max(np.abs(x))))
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12 * scale)


@SETTINGS
@given(sample_and_weights(elements=real_values, positive=True), st.data())
def test_linear_cdf_equals_reference(sw, data):
    x, w = sw
    t = queries_for(x, data.draw)
    np.testing.assert_allclose(ecdf(x, t, sample_weight=w, interpolation="linear"), ref.linear_cdf(x, t, w),
                               rtol=1e-14, atol=1e-15)


@SETTINGS
@given(sample_and_weights(elements=real_values, weights=True, positive=True), levels)
def test_weighted_linear_quantile_interpolates_the_positions(sw, q):
    x, w = sw
    xs, pos = ref.linear_positions(x, w)
    ours = quantile(x, q, sample_weight=w, interpolation="linear")
    if len(np.unique(xs)) == len(xs) and len(xs) > 1:
        expected = np.interp(q, pos, xs)
        scale = max(1.0, float(np.max(np.abs(x))))
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12 * scale)
    assert np.all(np.diff(ours[np.argsort(q)]) >= 0)
    assert np.all((ours >= xs[0]) & (ours <= xs[-1]))


@SETTINGS
@given(st.lists(real_values, min_size=2, max_size=40, unique=True).map(np.array), st.data())
def test_linear_cdf_and_quantile_are_inverse(x, data):
    scale = max(1.0, float(np.max(np.abs(x))))
    # between two values a few ulps apart the linear maps cannot be inverted to 1e-9 of
    # the scale (hypothesis found 1e6 and its neighbour): keep the values apart
    assume(np.min(np.diff(np.sort(x))) > 1e-6 * scale)
    d = EmpiricalDistribution(x)
    t = data.draw(st.lists(st.floats(float(x.min()), float(x.max())), min_size=1, max_size=10).map(np.array))
    np.testing.assert_allclose(d.quantile(d.cdf(t, interpolation="linear"), interpolation="linear"), t,
                               rtol=1e-9, atol=1e-9 * scale)
    q = data.draw(levels)
    np.testing.assert_allclose(d.cdf(d.quantile(q, interpolation="linear"), interpolation="linear"), q,
                               rtol=1e-9, atol=1e-9)
    # and the sample points sit at i / (n - 1)
    np.testing.assert_allclose(d.cdf(np.sort(x), interpolation="linear"), np.linspace(0, 1, len(x)), atol=1e-15)


def test_linear_examples():
    assert ecdf([1, 2, 3], [1.5], interpolation="linear")[0] == 0.25
    assert quantile([1, 2, 3, 4], [0.5], interpolation="linear")[0] == 2.5
    assert quantile([5.0], [0.3], interpolation="linear")[0] == 5.0
    np.testing.assert_array_equal(ecdf([5.0], [4.0, 5.0, 6.0], interpolation="linear"), [0.0, 1.0, 1.0])


# --------------------------------------------------------------------------- randomised CDF


@SETTINGS
@given(sample_and_weights(), st.integers(0, 2**64 - 1), st.integers(0, 2**40), st.data())
def test_randomized_cdf_equals_reference_and_bounds(sw, seed, offset, data):
    x, w = sw
    t = queries_for(x, data.draw)
    u = randomized_cdf(x, t, sample_weight=w, random_state=seed, row_offset=offset)
    lo, hi = ref.step_cdf_left(x, t, w), ref.step_cdf(x, t, w)
    assert np.all((lo <= u) & (u <= hi))
    v = ref.counter_uniform(len(t), seed, ref.STREAM_RANDOMIZED_CDF, offset)
    total = len(x) if w is None else float(np.cumsum(w[np.argsort(x, kind="stable")])[-1])
    expected = (lo * total + v * (hi * total - lo * total)) / total
    np.testing.assert_allclose(u, expected, rtol=1e-14, atol=1e-15)


def test_counter_generator_matches_reference():
    from fairfast import _core

    for seed in (0, 1, 12345, 2**63 - 1, 2**64 - 1):
        for stream in (0, 1, 2, 5):
            for offset in (0, 7, 2**40):
                bits = _core.transport.counter_bits(16, seed, stream, offset)
                np.testing.assert_array_equal(bits, ref.counter_bits(16, seed, stream, offset))
                u = _core.transport.counter_uniform(16, seed, stream, offset)
                np.testing.assert_array_equal(u, ref.counter_uniform(16, seed, stream, offset))
    # draws depend on (seed, stream) and are not trivially related
    a = _core.transport.counter_bits(1000, 1, 0, 0)
    assert len(np.unique(a)) == 1000
    assert not np.array_equal(a, _core.transport.counter_bits(1000, 2, 0, 0))
    assert not np.array_equal(a, _core.transport.counter_bits(1000, 1, 1, 0))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 2000), min_size=1, max_size=6), st.integers(0, 2**32))
def test_randomized_cdf_chunk_invariance(cuts, seed):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, 300).astype(float)
    t = rng.integers(-1, 11, 2000).astype(float)
    d = EmpiricalDistribution(x)
    whole = d.randomized_cdf(t, random_state=seed)
    bounds = [0, *sorted(cuts), len(t)]
    parts = [d.randomized_cdf(t[a:b], random_state=seed, row_offset=a) for a, b in zip(bounds[:-1], bounds[1:])]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("weighted", [False, True])
def test_randomized_cdf_is_uniform_on_discrete_data(weighted):
    rng = np.random.default_rng(2024)
    x = rng.integers(0, 4, 500).astype(float)  # 4 atoms: the plain ECDF is far from uniform
    w = rng.integers(1, 4, 500).astype(float) if weighted else None
    p = None if w is None else w / w.sum()
    t = rng.choice(x, size=20000, p=p)  # draws from the (weighted) empirical law
    u = randomized_cdf(x, t, sample_weight=w, random_state=7)
    assert scipy.stats.kstest(u, "uniform").pvalue > 1e-3
    # the plain ECDF of the same draws is grossly non-uniform: the test has teeth
    assert scipy.stats.kstest(ecdf(x, t, sample_weight=w), "uniform").pvalue < 1e-6


def test_randomized_cdf_seed_behaviour():
    x, t = [0.0, 0.0, 1.0, 1.0], np.zeros(50)
    a = randomized_cdf(x, t, random_state=1)
    np.testing.assert_array_equal(a, randomized_cdf(x, t, random_state=1))
    assert not np.array_equal(a, randomized_cdf(x, t, random_state=2))
    np.testing.assert_array_equal(
        randomized_cdf(x, t, random_state=np.random.default_rng(5)),
        randomized_cdf(x, t, random_state=np.random.default_rng(5)),
    )
    u = randomized_cdf(x, [0.0, 1.0, 2.0, -1.0], random_state=0)
    assert 0 <= u[0] <= 0.5 and 0.5 <= u[1] <= 1 and u[2] == 1 and u[3] == 0


# --------------------------------------------------------------------------- errors


def test_errors():
    with pytest.raises(ValueError, match="sample must have at least 1 rows"):
        EmpiricalDistribution([])
    with pytest.raises(ValueError, match=r"sample must be finite; found .*inf.* at position 2"):
        EmpiricalDistribution([0.0, 1.0, np.inf])
    with pytest.raises(TypeError, match="sample must hold real numbers"):
        EmpiricalDistribution(["a", "b"])
    with pytest.raises(ValueError, match="sample_weight has 1 rows but the data has 2"):
        EmpiricalDistribution([0.0, 1.0], sample_weight=[1.0])
    d = EmpiricalDistribution([0.0, 1.0])
    with pytest.raises(ValueError, match=r"q must lie in \[0, 1\]"):
        d.quantile([0.5, 1.5])
    with pytest.raises(ValueError, match=r"q must lie in \[0, 1\]"):
        d.quantile([-0.1])
    with pytest.raises(ValueError, match=r"q must be finite"):
        d.quantile([np.nan])
    with pytest.raises(ValueError, match=r"x must be finite"):
        d.cdf([np.nan])
    with pytest.raises(ValueError, match="interpolation must be one of 'step', 'linear'; got 'cubic'"):
        d.cdf([0.5], interpolation="cubic")
    with pytest.raises(ValueError, match="interpolation must be one of"):
        quantile([0.0], [0.5], interpolation=None)
    with pytest.raises(ValueError, match="row_offset must be a non-negative int below 2\\*\\*63, got -1"):
        d.randomized_cdf([0.5], random_state=0, row_offset=-1)
    with pytest.raises(TypeError, match="row_offset must be a non-negative int, got float"):
        d.randomized_cdf([0.5], random_state=0, row_offset=1.0)
    with pytest.raises(ValueError, match="random_state must be non-negative"):
        d.randomized_cdf([0.5], random_state=-3)
    with pytest.raises(TypeError, match="random_state must be None, an int or a numpy random generator"):
        d.randomized_cdf([0.5], random_state="seed")


def test_weighted_linear_with_mass_only_on_the_largest_value_is_finite():
    with np.errstate(invalid="ignore", divide="ignore"):
        q = quantile([0.0, 1.0], [0.0, 0.5, 1.0], sample_weight=[0.0, 1.0], interpolation="linear")
        f = ecdf([0.0, 1.0], [0.0, 0.5, 1.0], sample_weight=[0.0, 1.0], interpolation="linear")
    assert np.all(np.isfinite(q)) and np.all((q >= 0.0) & (q <= 1.0))
    assert np.all(np.isfinite(f)) and np.all((f >= 0.0) & (f <= 1.0))
