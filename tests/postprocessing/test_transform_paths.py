"""The barycenter transform visits rows in one of four ways (plain, pipelined, sliced,
and one-line lookups), chosen by the size of the tables; the output must not depend on it."""

import numpy as np
import pytest

from fairfast import _core
from fairfast.postprocessing import WassersteinBarycenter

PATHS = {"plain": 1, "pipelined": 2, "sliced": 3, "lookup": 4}


def raw_transform(model, z, codes, path, *, epsilon=0.0, row_offset=0, out=None):
    """The compiled stage's transform through one forced path (the lookup built first)."""
    core = model.stages_[0].core
    if path == PATHS["lookup"]:
        core.build_lookups()  # whatever the calibration size
    res, status, row = core.transform(z, codes, epsilon, row_offset, out, 0, path)
    if row >= 0:
        raise ValueError(f"{status} at row {row}")
    return res


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
    plain = WassersteinBarycenter(random_state=7).fit(zc, sensitive_features=sc)
    jittered = WassersteinBarycenter(random_state=7, jitter=0.05).fit(zc, sensitive_features=sc)
    for model, kwargs in ((plain, {}), (plain, {"epsilon": 0.3}), (jittered, {"row_offset": 12345})):
        outs = {name: raw_transform(model, z, s, p, **kwargs) for name, p in PATHS.items()}
        for name, out in outs.items():
            np.testing.assert_array_equal(out, outs["plain"], err_msg=f"{name} {kwargs}")
        automatic = raw_transform(model, z, s, 0, **kwargs)
        np.testing.assert_array_equal(automatic, outs["plain"])


@pytest.mark.parametrize("path", list(PATHS.values()))
def test_every_path_reports_the_first_bad_row(path):
    zc, sc, z, s = problem(0, 2_000, 60_000, 2, np.float64, False)
    model = WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
    core = model.stages_[0].core
    if path == PATHS["lookup"]:
        core.build_lookups()
    bad = z.copy()
    bad[[50_001, 59_000]] = np.nan
    _, status, row = core.transform(bad, s, 0.0, 0, None, 0, path)
    assert (status, row) == (_core.Status.bad_value, 50_001)
    codes = s.copy()
    codes[[77, 40_000]] = 2
    codes[30_000] = -1
    bad[60] = np.inf  # the first bad row wins, whatever its problem and the thread that met it
    _, status, row = core.transform(bad, codes, 0.0, 0, None, 0, path)
    assert (status, row) == (_core.Status.bad_value, 60)
    _, status, row = core.transform(z, codes, 0.0, 0, None, 0, path)
    assert (status, row) == (_core.Status.group_out_of_range, 77)
    _, status, row = core.transform(z, s, 0.0, 0, None, 0, path)
    assert (status, row) == (_core.Status.ok, -1)


def test_unknown_path_is_refused():
    zc, sc, z, s = problem(0, 100, 100, 2, np.float64, False)
    model = WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
    with pytest.raises(ValueError, match="path"):
        raw_transform(model, z, s, 5)


def test_lookup_path_without_a_lookup_falls_back():
    zc, sc, z, s = problem(0, 1_000, 5_000, 2, np.float64, False)
    model = WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
    core = model.stages_[0].core
    out, _, _ = core.transform(z, s, 0.0, 0, None, 0, 4)
    assert not core.lookups_ready
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
    big = np.finfo(dtype).max
    z = np.concatenate([rng.permutation(zc), rng.normal(size=20_000) * 1e-9, [0.25, -0.0, 0.0, big, -big, 1e-300]])
    z = z.astype(dtype)
    s = rng.integers(0, 3, z.size).astype(np.int32)
    for jitter, kwargs in ((0.0, {}), (0.0, {"epsilon": 0.6}), (1e-10, {"row_offset": 99})):
        model = WassersteinBarycenter(random_state=3, jitter=jitter).fit(zc, sensitive_features=sc)
        expected = raw_transform(model, z, s, 1, **kwargs)
        np.testing.assert_array_equal(raw_transform(model, z, s, 4, **kwargs), expected)
        assert model.stages_[0].core.lookup_bytes >= 64 * zc.size


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

    lookup_min, _ = _core.barycenter.LOOKUP_ROWS
    after = _core.barycenter.LOOKUP_AFTER
    zc, sc, z, s = problem(3, 20_000, 50_000, 2, np.float64, False)
    small = WassersteinBarycenter(random_state=0).fit(zc[:lookup_min], sensitive_features=sc[:lookup_min])
    for _ in range(2 * after):
        small.transform(z[:lookup_min], sensitive_features=s[:lookup_min])
    assert not small.stages_[0].core.lookups_ready  # too small to need one

    model = WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
    expected = raw_transform(model, z, s, 1)
    fitted = model.fit_transform(zc, sensitive_features=sc)  # refits: same model
    core = model.stages_[0].core
    assert not core.lookups_ready and core.rows_seen == zc.size  # a one-off fit_transform does not pay for it
    np.testing.assert_array_equal(fitted, raw_transform(model, zc, sc.astype(np.int32), 1))
    rows = 2 * zc.size  # raw_transform counted too
    while rows < after * zc.size:  # chunks count towards the threshold
        assert not core.lookups_ready
        np.testing.assert_array_equal(model.transform(z, sensitive_features=s), expected)
        rows += z.size
    assert core.lookups_ready and core.lookup_bytes >= 64 * zc.size
    np.testing.assert_array_equal(model.transform(z, sensitive_features=s), expected)
    restored = pickle.loads(pickle.dumps(model))  # derived data: dropped, rebuilt when needed
    assert not restored.stages_[0].core.lookups_ready and restored.stages_[0].core.rows_seen == 0
    np.testing.assert_array_equal(restored.transform(z, sensitive_features=s), expected)
