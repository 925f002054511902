"""The barycenter transform visits rows in one of three orders (plain, pipelined, sliced),
chosen by the size of the tables; the output must not depend on the order."""

import numpy as np
import pytest

from fairfast import _core
from fairfast.postprocessing import WassersteinBarycenter

PATHS = {"plain": 1, "pipelined": 2, "sliced": 3}


def raw_transform(model, z, codes, path, *, epsilon=0.0, jitter=0.0, row_offset=0):
    state = model.stages_[0]["state"]
    start, lo, scale = state["index"][0]
    return _core.barycenter.transform(
        state["values"][0], state["keys"][0], state["offsets"], start, lo, scale, state["table"][0],
        z, codes, epsilon, jitter, model.seed_, row_offset, None, path)


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
        raw_transform(model, z, s, 4)
