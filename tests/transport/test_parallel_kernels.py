"""The parallel kernels give the same bits at 1, 2, 3 and 7 threads, and agree with their
references: the radix sort (against a sort on total-order keys), the blocked merges of
W_p and KS (against exact rational references and SciPy), several blocks included."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.transport import ks_exact, wasserstein_float, wasserstein_pow_exact

import fairfast
from fairfast import _core
from fairfast._base.sorting import sort_segments, sorted_copy
from fairfast.transport import ks_distance, wasserstein_distance

THREADS = (1, 2, 3, 7)


def total_order_sorted(x):
    """Reference: NumPy's stable sort of the IEEE total-order keys (-0.0 before +0.0)."""
    bits = x.view(np.uint64 if x.dtype == np.float64 else np.uint32)
    top = bits.dtype.type(1) << bits.dtype.type(8 * x.itemsize - 1)
    keys = np.where(bits & top, ~bits, bits | top)
    return x[np.argsort(keys, kind="stable")]


def awkward(rng, n, dtype):
    """Normal values with zeros of both signs, repeats, and a narrow cluster."""
    x = rng.normal(size=n)
    if n > 20:
        x[::7] = 0.0
        x[::11] = -0.0
        x[::13] = np.round(x[::13], 1)
        x[::17] = 1.0 + x[::17] * 1e-12
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [0, 1, 2, 31, 1000, 1024, 5000, 70_000, 400_000])
def test_radix_sort_is_the_total_order_whatever_the_threads(dtype, n):
    x = awkward(np.random.default_rng(n), n, dtype)
    expected = total_order_sorted(x).tobytes()
    for threads in THREADS:
        with fairfast.thread_limit(threads):
            assert sorted_copy(x).tobytes() == expected, threads
            y = x.copy()
            _core.sort.sorted(y, out=y)  # in place
            assert y.tobytes() == expected, threads


def test_radix_sort_of_constant_and_extreme_values():
    for x in (np.full(5000, 3.5), np.full(5000, -0.0), np.array([np.inf, -np.inf, 0.0, -0.0] * 600),
              np.array([np.finfo(float).max, np.finfo(float).tiny, -np.finfo(float).max, 5e-324] * 700)):
        assert sorted_copy(x).tobytes() == total_order_sorted(x).tobytes()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, width=32), min_size=0, max_size=3000), st.integers(1, 7))
def test_radix_sort_property(values, threads):
    for dtype in (np.float32, np.float64):
        x = np.array(values, dtype=dtype)
        with fairfast.thread_limit(threads):
            assert sorted_copy(x).tobytes() == total_order_sorted(x).tobytes()


@pytest.mark.parametrize("sizes", [[3, 0, 5, 1, 0], [200_000, 1, 150_000, 33], [7] * 1000 + [300_000]])
def test_segments_are_sorted_independently(sizes):
    rng = np.random.default_rng(len(sizes))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    x = awkward(rng, int(offsets[-1]), np.float64)
    expected = np.concatenate([total_order_sorted(x[a:b]) for a, b in zip(offsets[:-1], offsets[1:])])
    for threads in THREADS:
        y = x.copy()
        with fairfast.thread_limit(threads):
            sort_segments(y, offsets)
        assert y.tobytes() == expected.tobytes(), threads


def test_sort_binding_checks_its_arguments():
    x = np.zeros(10)
    with pytest.raises(TypeError):
        _core.sort.sorted(x.astype(np.int64))
    with pytest.raises(ValueError, match="out must be one-dimensional with 10 entries"):
        _core.sort.sorted(x, out=np.empty(9))
    with pytest.raises(ValueError, match="overlap"):
        _core.sort.sorted(x[2:], out=x[:8])
    with pytest.raises(ValueError, match="offsets must be non-decreasing"):
        _core.sort.sort_segments(x, np.array([0, 6, 4, 10], dtype=np.int64))
    with pytest.raises(ValueError, match="offsets must start at 0 and end"):
        _core.sort.sort_segments(x, np.array([0, 9], dtype=np.int64))
    readonly = x.copy()
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="values must be writeable"):
        _core.sort.sort_segments(readonly, np.array([0, 10], dtype=np.int64))


# --------------------------------------------------------------------------- merges


def ks_integer(u, v):
    """max |F_u - F_v| over the merged values, in exact integers (numpy searchsorted)."""
    u, v = np.sort(u), np.sort(v)
    t = np.concatenate([u, v])
    i = np.searchsorted(u, t, side="right").astype(np.int64)
    j = np.searchsorted(v, t, side="right").astype(np.int64)
    return int(np.abs(i * v.size - j * u.size).max()) / (u.size * v.size)


def test_blocked_merges_equal_the_references_across_blocks():
    """Sizes of several 2**16-row blocks, ties across block bounds, the larger sample on
    either side: KS exactly, W_p to rounding (the exact rational reference on a
    smaller case)."""
    rng = np.random.default_rng(3)
    u = np.round(rng.normal(size=200_003), 2)  # long runs of ties cut by block bounds
    v = rng.normal(0.3, 1.2, size=70_001)
    for a, b in ((u, v), (v, u), (u, u[::-1].copy()), (u[:5], v), (u, v[:1])):
        assert ks_distance(a, b) == ks_integer(a, b)
        for p in (1, 2, 3):
            assert wasserstein_distance(a, b, p=p) == pytest.approx(wasserstein_float(a, b, p), rel=1e-12)
    small_u, small_v = u[:200], v[:120]
    assert ks_distance(small_u, small_v) == float(ks_exact(small_u, small_v))
    for p in (1, 2):
        exact = float(wasserstein_pow_exact(small_u, small_v, p)) ** (1 / p)
        assert wasserstein_distance(small_u, small_v, p=p) == pytest.approx(exact, rel=1e-13)


def test_merges_match_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(4)
    u, v = rng.normal(size=300_000), rng.standard_t(3, size=250_000)
    assert ks_distance(u, v) == scipy_stats.ks_2samp(u, v).statistic
    assert wasserstein_distance(u, v) == pytest.approx(scipy_stats.wasserstein_distance(u, v), rel=1e-12)


def test_distances_are_bit_identical_across_thread_counts():
    rng = np.random.default_rng(5)
    u = np.round(rng.normal(size=700_000), 3)
    v = rng.normal(0.2, 1.1, size=500_000).astype(np.float32)
    results = []
    for threads in THREADS:
        with fairfast.thread_limit(threads):
            results.append([wasserstein_distance(u, v, p=p) for p in (1, 2, 3.5)]
                           + [ks_distance(u, v), ks_distance(v, u), wasserstein_distance(v[:1000], u)])
    for r in results[1:]:
        assert r == results[0]


def test_non_finite_values_are_reported_after_the_sort():
    u = np.arange(100_000, dtype=float)
    u[777] = np.nan
    with pytest.raises(ValueError, match="u_values must be finite; found nan at position 777"):
        wasserstein_distance(u, [1.0, 2.0])
    v = np.ones(10)
    v[3] = -np.inf
    with pytest.raises(ValueError, match="v_values must be finite; found -inf at position 3"):
        ks_distance([1.0], v)
