"""Hypothesis fuzzing of the compiled bindings' argument checks (sort, transport,
metrics): wrong dtypes, strided views, 2-D arrays, wrong lengths, unsorted samples,
broken running weights, negative and huge sizes. Every call either returns or raises
TypeError/ValueError/IndexError; none crashes or hangs (tools/sanitize.sh runs this
module under AddressSanitizer and UndefinedBehaviorSanitizer)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fairfast import _core

SETTINGS = settings(max_examples=150, deadline=None)
# MemoryError: a valid but huge output (2**40 replicates) that numpy cannot allocate;
# the public API bounds such sizes before calling the core.
ALLOWED = (TypeError, ValueError, IndexError, MemoryError)
DTYPES = [np.float64, np.float32, np.int32, np.int64, np.uint8, np.float16, np.bool_]
SIZES = st.one_of(st.integers(-5, 40), st.sampled_from([-(2**63), -1, 2**31, 2**32, 2**62, 2**63 - 1, 2**64]))


@st.composite
def arrays(draw, max_len=12):
    """Mostly plausible arrays, often subtly wrong: dtype, layout, shape, values."""
    n = draw(st.integers(0, max_len))
    dtype = draw(st.sampled_from(DTYPES))
    kind = draw(st.sampled_from(["sorted", "random", "nan", "huge", "codes"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "codes":
        x = rng.integers(-2, 4, n).astype(np.float64)
    else:
        x = rng.normal(size=n) * (1e300 if kind == "huge" else 1.0)
        if kind == "nan" and n:
            x[rng.integers(0, n)] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        if kind == "sorted":
            x = np.sort(x)
    with np.errstate(all="ignore"):
        a = x.astype(dtype)
    layout = draw(st.sampled_from(["c", "c", "c", "strided", "2d", "readonly", "list"]))
    if layout == "strided":
        a = np.repeat(a, 2)[::2]
    elif layout == "2d":
        a = a.reshape(1, -1)
    elif layout == "readonly":
        a.setflags(write=False)
    elif layout == "list":
        return a.tolist()
    return a


maybe_arrays = st.one_of(st.none(), arrays())
ints = st.one_of(st.integers(-3, 5), st.sampled_from([2**31, -(2**31) - 1, 2**63, -(2**63), 2**64]))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3))


def _call(f, *args, **kwargs):
    try:
        out = f(*args, **kwargs)
    except ALLOWED:
        return None
    return out


@SETTINGS
@given(arrays(), maybe_arrays, arrays(), ints)
def test_cdf_and_quantile_bindings(sorted_, cumw, queries, mode):
    for f in (_core.transport.ecdf, _core.transport.quantile):
        _call(f, sorted_, cumw, queries, mode)
    _call(_core.transport.randomized_cdf, sorted_, cumw, queries, abs(mode), abs(mode))


@SETTINGS
@given(arrays(), maybe_arrays, arrays(), maybe_arrays, floats)
def test_distance_bindings(u, ucumw, v, vcumw, p):
    # NaN running weights once made the weighted merge loop forever: now refused.
    _call(_core.transport.wasserstein_pow, u, ucumw, v, vcumw, p)
    _call(_core.transport.ks, u, ucumw, v, vcumw)


@SETTINGS
@given(SIZES, ints, ints, ints)
def test_counter_bindings_with_any_size(n, seed, stream, offset):
    if isinstance(n, int) and 0 <= n <= 64:  # huge valid sizes would allocate for real
        for f in (_core.transport.counter_uniform, _core.transport.counter_bits):
            _call(f, n, abs(seed), abs(stream), abs(offset))
    elif n < 0 or n >= 2**63:
        for f in (_core.transport.counter_uniform, _core.transport.counter_bits):
            _call(f, n, 0, 0, 0)


@SETTINGS
@given(arrays(), maybe_arrays, maybe_arrays, maybe_arrays, maybe_arrays, ints,
       st.one_of(st.integers(-3, 30), st.sampled_from([10_001, 1431655765, 2**31, 2**40, -(2**40)])))
def test_group_sums_binding(codes, y_true, y_pred, scores, weights, n_groups, n_bins):
    # codes arrive as anything: int32 ones only are accepted (noconvert)
    if isinstance(codes, np.ndarray) and codes.dtype == np.int64:
        codes = codes.astype(np.int32)
    _call(_core.metrics.group_sums, codes, n_groups, y_true, y_pred, scores, weights, n_bins)


@SETTINGS
@given(arrays(), maybe_arrays, maybe_arrays, ints, st.integers(-2, 12),
       st.one_of(st.integers(-2, 4), st.sampled_from([2**40, 2**62, 2**63 - 1])), ints)
def test_bootstrap_bindings(codes, y, weights, n_groups, n_bins, n_replicates, first):
    if isinstance(codes, np.ndarray) and codes.dtype == np.int64:
        codes = codes.astype(np.int32)
    if isinstance(n_replicates, int) and 1 <= n_replicates <= 4 or n_replicates >= 2**40:
        _call(_core.metrics.index_bootstrap, codes, n_groups, y, y, None, weights, n_bins, n_replicates, 0,
              first_replicate=abs(first) if isinstance(first, int) and first < 2**63 else first)
    counts = np.abs(np.asarray(codes if isinstance(codes, np.ndarray) else [], dtype=np.float64))
    with np.errstate(invalid="ignore"):
        counts = np.nan_to_num(counts, posinf=0).astype(np.int64).reshape(1, -1)
    if n_replicates <= 4 or n_replicates >= 2**40:
        _call(_core.metrics.multinomial_bootstrap, counts, n_replicates, 0)


@SETTINGS
@given(arrays(max_len=40), arrays(max_len=6), st.sampled_from([np.float64, np.float32]))
def test_sort_bindings(values, offsets, dtype):
    _call(_core.sort.sorted, values)
    if isinstance(values, np.ndarray) and values.dtype == dtype and values.flags.c_contiguous:
        values = values.copy()  # sort_segments sorts in place
    if isinstance(offsets, np.ndarray):
        with np.errstate(invalid="ignore"):
            offsets = np.nan_to_num(offsets.astype(np.float64), nan=0, posinf=0, neginf=0).astype(np.int64)
    _call(_core.sort.sort_segments, values, offsets)
