"""Many groups (issue: 1e5 groups of 2-20 rows): the barycenter's step tables come from one
sweep over every group's breakpoints (O(n log n)) with an exactly rounded running sum,
checked against a slow exact reference; linear tables refuse the O(n K) work beyond a
documented limit; the estimator and group_metrics handle 1e4 groups here (1e5 in the
slow variant and in benchmarks/bench_many_groups.py)."""

import numpy as np
import pytest
from reference.transport import fit_fair, step_tables_exact_sum

import fairfast
from fairfast import _core
from fairfast.metrics import group_metrics
from fairfast.postprocessing import WassersteinBarycenter
from fairfast.postprocessing._stage import LINEAR_WORK_LIMIT

# tiny groups on purpose: the kernels are under test here, not the small-group advice
pytestmark = pytest.mark.filterwarnings("ignore::fairfast.SmallGroupWarning")


def _groups(rng, k, low=1, high=8, dtype=np.float64, ties=False):
    sizes = rng.integers(low, high, k)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    values = rng.normal(rng.normal(size=k).repeat(sizes), 1.0)
    if ties:
        values = np.round(values, 1)
    for a, b in zip(offsets[:-1], offsets[1:]):
        values[a:b].sort()
    return values.astype(dtype), offsets


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ties", [False, True])
def test_sweep_tables_are_the_correctly_rounded_sum(dtype, ties):
    rng = np.random.default_rng(1 + ties)
    values, offsets = _groups(rng, 150, dtype=dtype, ties=ties)
    p = rng.random(150)
    p[[3, 77]] = 0.0  # groups without weight: levels, no breakpoints, out of the clamp
    p /= p.sum()
    table = _core.barycenter.tables(values, None, offsets, p, 0)
    np.testing.assert_array_equal(table, step_tables_exact_sum(values, offsets, p))


def test_weighted_sweep_tables_are_the_correctly_rounded_sum():
    rng = np.random.default_rng(3)
    values, offsets = _groups(rng, 130, ties=True)
    w = rng.integers(1, 4, values.size).astype(float)
    cumw = np.concatenate([np.cumsum(w[a:b]) for a, b in zip(offsets[:-1], offsets[1:])])
    p = rng.random(130)
    p /= p.sum()
    table = _core.barycenter.tables(values, cumw, offsets, p, 0)
    np.testing.assert_array_equal(table, step_tables_exact_sum(values, offsets, p, cumw))


def test_sweep_and_the_left_to_right_reference_agree_to_rounding():
    rng = np.random.default_rng(4)
    k = 200
    codes = np.repeat(np.arange(k), rng.integers(2, 6, k)).astype(np.int32)
    z = rng.normal(codes % 7, 1.0)
    model = WassersteinBarycenter(random_state=5).fit(z, sensitive_features=codes)
    _, tables = fit_fair(z, codes, k, model.seed_)
    expected = np.concatenate([np.array(t) for t in tables])
    np.testing.assert_allclose(model.barycenter_table_, expected, rtol=1e-13, atol=1e-15)


def test_sweep_tables_keep_the_exactness_guarantees():
    rng = np.random.default_rng(6)
    k, size = 300, 4
    z = rng.normal(size=k * size)
    codes = np.repeat(np.arange(k), size)
    model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=codes)
    table, off = model.barycenter_table_, model.group_offsets_
    for g in range(k):  # non-decreasing within each group, inside the calibration range
        t = table[off[g] + g : off[g + 1] + g + 1]
        assert (np.diff(t) >= 0).all() and z.min() <= t.min() and t.max() <= z.max()
    # equal group sizes: every group gets the same table, hence identical output multisets
    firsts = table.reshape(k, size + 1)
    assert (firsts == firsts[0]).all()
    out = model.transform(z, sensitive_features=codes)
    per_group = np.sort(out.reshape(k, size), axis=1)
    assert (per_group == per_group[0]).all()
    # identical groups map every calibration score to itself
    same = np.tile(np.sort(rng.normal(size=3)), 200)
    ident = WassersteinBarycenter(random_state=0).fit(same, sensitive_features=np.repeat(np.arange(200), 3))
    np.testing.assert_array_equal(ident.transform(same, sensitive_features=np.repeat(np.arange(200), 3)), same)


def test_linear_tables_beyond_the_work_limit_are_refused_up_front(monkeypatch):
    import fairfast.postprocessing._stage as stage

    rng = np.random.default_rng(7)
    codes = np.repeat(np.arange(400), 3)
    z = rng.normal(size=codes.size)
    WassersteinBarycenter(interpolation="linear").fit(z, sensitive_features=codes)  # 6e5 steps: fine
    monkeypatch.setattr(stage, "LINEAR_WORK_LIMIT", 10**5)
    with pytest.raises(ValueError, match=r"interpolation='linear' with 400 groups .* over the limit of 1e\+05 .*"
                                         r"interpolation='step'"):
        WassersteinBarycenter(interpolation="linear").fit(z, sensitive_features=codes)
    assert LINEAR_WORK_LIMIT == 4 * 10**9


def _many(n_groups, seed=0):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 21, n_groups)
    codes = rng.permutation(np.repeat(np.arange(n_groups), sizes))
    z = rng.normal(codes % 13, 1.0)
    y = (rng.random(codes.size) < 0.4).astype(np.int64)
    p = (rng.random(codes.size) < 0.5).astype(np.int64)
    return z, codes, y, p


def _check_many(n_groups):
    z, codes, y, p = _many(n_groups)
    model = WassersteinBarycenter(random_state=0)
    out = model.fit_transform(z, sensitive_features=codes)
    assert model.group_counts_.size == n_groups and np.isfinite(out).all()
    counts = np.bincount(codes)
    for g in np.flatnonzero(counts == counts.max())[:3]:  # groups of equal size: equal multisets
        h = np.flatnonzero(counts == counts.max())[0]
        np.testing.assert_array_equal(np.sort(out[codes == g]), np.sort(out[codes == h]))
    df = group_metrics(y, p, sensitive_features=codes, metrics=["count", "selection_rate", "accuracy"])
    assert len(df) == n_groups
    np.testing.assert_array_equal(df["count"].to_numpy(), counts)
    np.testing.assert_allclose(df["selection_rate"].to_numpy(), np.bincount(codes, weights=p) / counts)
    np.testing.assert_allclose(df["accuracy"].to_numpy(), np.bincount(codes, weights=(y == p)) / counts)


def test_ten_thousand_groups_of_2_to_20_rows():
    _check_many(10_000)


@pytest.mark.slow
def test_hundred_thousand_groups_of_2_to_20_rows():
    _check_many(100_000)


def test_many_groups_are_thread_invariant():
    z, codes, _, _ = _many(3000, seed=1)
    outs = []
    for threads in (1, 2, 3, 7):
        with fairfast.thread_limit(threads):
            model = WassersteinBarycenter(random_state=2).fit(z, sensitive_features=codes)
            outs.append((model.barycenter_table_.tobytes(), model.transform(z, sensitive_features=codes).tobytes()))
    assert all(o == outs[0] for o in outs)
