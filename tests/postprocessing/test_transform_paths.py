"""The barycenter transform visits rows in one of four ways (plain, pipelined, sliced,
and one-line lookups), chosen by the size of the tables; the output must not depend on it."""

import numpy as np
import pytest

from fairfast import _core
from fairfast.postprocessing import WassersteinBarycenter

PATHS = {"plain": 1, "pipelined": 2, "sliced": 3, "lookup": 4}


def lookup_of(model):
    state = model.stages_[0]["state"]
    return _core.barycenter.lookup(state["values"][0], state["offsets"], state["table"][0])


def raw_transform(model, z, codes, path, *, epsilon=0.0, jitter=0.0, row_offset=0, out=None, lookup=None):
    state = model.stages_[0]["state"]
    start, lo, scale = state["index"][0]
    if path == PATHS["lookup"] and lookup is None:
        lookup = lookup_of(model)  # built whatever the calibration size
    return _core.barycenter.transform(
        state["values"][0], state["keys"][0], state["offsets"], start, lo, scale, state["table"][0],
        z, codes, epsilon, jitter, model.seed_, row_offset, out, path, lookup=lookup)


def problem(seed, n_fit, n, k, dtype, ties):
    rng = np.random.default_rng(seed)
    zc = rng.normal(size=n_fit) ** 3  # uneven density: crowded and empty buckets
    z = np.concatenate([rng.normal(size=n - 8) ** 3, [-1e6, 1e6, 0.0, -0.0, zc[0], zc[1], zc[-1], zc[3]]])
    if ties:
        zc, z = np.round(zc, 1), np.round(z, 1)
    sc = rng.integers(0, k, n_fit)
    sc[:k] = np.arange(k)
    s = rng.integers(0, k, n).astype(np.int32)
    return zc.astype(dtype), sc, z.astype(dtype), s


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [1, 3, 11])
def test_every_path_gives_the_same_bits(dtype, ties, k):
    zc, sc, z, s = problem(k, 5_000, 60_000, k, dtype, ties)
    model = WassersteinBarycenter(random_state=7).fit(zc, sensitive_features=sc)
    for kwargs in ({}, {"epsilon": 0.3}, {"jitter": 0.05, "row_offset": 12345}):
        outs = {name: raw_transform(model, z, s, p, **kwargs) for name, p in PATHS.items()}
        for name, out in outs.items():
            np.testing.assert_array_equal(out, outs["plain"], err_msg=f"{name} {kwargs}")
        automatic = raw_transform(model, z, s, 0, **kwargs)
        np.testing.assert_array_equal(automatic, outs["plain"])


@pytest.mark.parametrize("path", list(PATHS.values()))
def test_every_path_reports_bad_rows(path):
    zc, sc, z, s = problem(0, 2_000, 60_000, 2, np.float64, False)
    model = WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
    bad = z.copy()
    bad[50_001] = np.nan
    with pytest.raises(ValueError, match="finite"):
        raw_transform(model, bad, s, path)
    codes = s.copy()
    codes[77] = 2
    with pytest.raises(IndexError, match="codes"):
        raw_transform(model, z, codes, path)


def test_unknown_path_is_refused():
    zc, sc, z, s = problem(0, 100, 100, 2, np.float64, False)
    model = WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
    with pytest.raises(ValueError, match="path"):
        raw_transform(model, z, s, 5)


def test_lookup_path_without_a_lookup_falls_back():
    zc, sc, z, s = problem(0, 1_000, 5_000, 2, np.float64, False)
    model = WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
    state = model.stages_[0]["state"]
    start, lo, scale = state["index"][0]
    out = _core.barycenter.transform(
        state["values"][0], state["keys"][0], state["offsets"], start, lo, scale, state["table"][0],
        z, s, 0.0, 0.0, model.seed_, 0, None, 4, lookup=None)
    np.testing.assert_array_equal(out, raw_transform(model, z, s, 1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lookup_on_hard_calibration_data(dtype):
    """Buckets that overflow a line, a group of equal values, ties, extreme queries."""
    rng = np.random.default_rng(5)
    crowded = np.concatenate([rng.normal(size=3_000) * 1e-9, rng.normal(size=300) * 1e3])  # one dense spike
    constant = np.full(2_000, 0.25)
    discrete = rng.integers(0, 5, 4_000) / 4.0  # five values, thousands of ties each
    zc = np.concatenate([crowded, constant, discrete]).astype(dtype)
    sc = np.repeat([0, 1, 2], [crowded.size, constant.size, discrete.size])
    model = WassersteinBarycenter(random_state=3).fit(zc, sensitive_features=sc)
    big = np.finfo(dtype).max
    z = np.concatenate([rng.permutation(zc), rng.normal(size=20_000) * 1e-9, [0.25, -0.0, 0.0, big, -big, 1e-300]])
    z = z.astype(dtype)
    s = rng.integers(0, 3, z.size).astype(np.int32)
    lookup = lookup_of(model)
    assert lookup.n_groups == 3 and lookup.nbytes >= 64 * lookup.n_lines > 0
    for kwargs in ({}, {"epsilon": 0.6}, {"jitter": 1e-10, "row_offset": 99}):
        expected = raw_transform(model, z, s, 1, **kwargs)
        np.testing.assert_array_equal(raw_transform(model, z, s, 4, lookup=lookup, **kwargs), expected)


def test_lookup_must_match_the_model():
    zc, sc, z, s = problem(1, 2_000, 1_000, 2, np.float64, False)
    model = WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
    other = WassersteinBarycenter(random_state=0).fit(zc[:-1], sensitive_features=sc[:-1])
    with pytest.raises(ValueError, match="lookup was built for other offsets"):
        raw_transform(model, z, s, 4, lookup=lookup_of(other))
    model32 = WassersteinBarycenter(random_state=0).fit(zc.astype(np.float32), sensitive_features=sc)
    with pytest.raises(TypeError, match="lookup must be"):
        raw_transform(model, z, s, 4, lookup=lookup_of(model32))
    with pytest.raises(TypeError, match="lookup must be"):
        raw_transform(model, z, s, 4, lookup=np.zeros(3))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_large_outputs_streamed_past_the_caches_are_exact(dtype):
    """Above 32 MB of output, whole cache lines are written with non-temporal stores;
    an output that does not start on a line (or a 16-byte) boundary, thread counts and
    chunk boundaries inside a line must not change a bit."""
    from fairfast import thread_limit

    n = (32 << 20) // np.dtype(dtype).itemsize + 1001
    zc, sc, z, s = problem(2, 20_000, n, 3, dtype, False)
    model = WassersteinBarycenter(random_state=4).fit(zc, sensitive_features=sc)
    with thread_limit(1):
        expected = raw_transform(model, z, s, 1, epsilon=0.25)  # one thread, plain stores up to here
    buf = np.empty(n + 1, dtype=dtype)
    shifted = buf[1:]  # one element past the allocation's (16-byte) alignment
    for path in (1, 2, 4):  # the paths that write rows in order
        for threads in (1, 2):
            buf.fill(np.nan)
            with thread_limit(threads):
                raw_transform(model, z, s, path, epsilon=0.25, out=shifted)
            np.testing.assert_array_equal(shifted, expected, err_msg=f"path {path}, {threads} thread(s)")
            assert np.isnan(buf[0])
    cut = n // 2 + 3
    head = raw_transform(model, z[:cut], s[:cut], 4, epsilon=0.25)
    tail = raw_transform(model, z[cut:], s[cut:], 4, epsilon=0.25, row_offset=cut)
    np.testing.assert_array_equal(np.concatenate([head, tail]), expected)


def test_estimator_builds_its_lookup_once_transforms_would_pay_for_it():
    import pickle

    from fairfast.postprocessing._stage import LOOKUP_AFTER, LOOKUP_ROWS

    zc, sc, z, s = problem(3, 20_000, 50_000, 2, np.float64, False)
    small = WassersteinBarycenter(random_state=0).fit(zc[: LOOKUP_ROWS[0]], sensitive_features=sc[: LOOKUP_ROWS[0]])
    for _ in range(2 * LOOKUP_AFTER):
        small.transform(z[: LOOKUP_ROWS[0]], sensitive_features=s[: LOOKUP_ROWS[0]])
    assert small.stages_[0]["state"]["lookup"]["tables"] is None  # too small to need one

    model = WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
    expected = raw_transform(model, z, s, 1)
    fitted = model.fit_transform(zc, sensitive_features=sc)  # refits: same model
    np.testing.assert_array_equal(fitted, raw_transform(model, zc, sc.astype(np.int32), 1))
    assert model.stages_[0]["state"]["lookup"]["tables"] is None  # a one-off fit_transform does not pay for it
    rows = zc.size
    while rows < LOOKUP_AFTER * zc.size:  # chunks count towards the threshold
        np.testing.assert_array_equal(model.transform(z, sensitive_features=s), expected)
        rows += z.size
    state = model.stages_[0]["state"]
    assert state["lookup"]["tables"][0].n_groups == 2
    np.testing.assert_array_equal(model.transform(z, sensitive_features=s), expected)
    restored = pickle.loads(pickle.dumps(model))  # derived data: dropped, rebuilt when needed
    assert "lookup" not in restored.stages_[0]["state"]
    np.testing.assert_array_equal(restored.transform(z, sensitive_features=s), expected)


def test_lookup_binding_checks_its_inputs():
    values = np.sort(np.random.default_rng(0).normal(size=10))
    offsets = np.array([0, 4, 10], dtype=np.int64)
    table = np.zeros(12)
    assert _core.barycenter.lookup(values, offsets, table).n_groups == 2
    with pytest.raises(ValueError, match="table"):
        _core.barycenter.lookup(values, offsets, table[:-1])
    with pytest.raises(ValueError, match="offsets"):
        _core.barycenter.lookup(values, np.array([0, 11, 10], dtype=np.int64), table)
    with pytest.raises(TypeError):
        _core.barycenter.lookup(values.astype(np.float32), offsets, table.astype(np.float32))
