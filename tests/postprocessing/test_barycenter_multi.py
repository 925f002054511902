"""Multi-task scores and several sensitive attributes (strategies)."""

import pickle
import warnings

import numpy as np
import pytest

from fairfast.metrics import unfairness
from fairfast.postprocessing import WassersteinBarycenter
from fairfast.postprocessing._barycenter import SmallGroupWarning
from fairfast.transport import wasserstein_distance


def _two_attributes(n=60_000, seed=0, correlated=False):
    """The spec's section-7 counterexample: two binary attributes with an interaction."""
    rng = np.random.default_rng(seed)
    s1 = rng.integers(0, 2, n)
    s2 = (rng.random(n) < np.where(s1 == 1, 0.7, 0.3)).astype(int) if correlated else rng.integers(0, 2, n)
    z = rng.normal(s1 + s2 + 2 * s1 * s2, 1.0)
    return z, np.column_stack([s1, s2])


def test_b9_multi_task_equals_single_task_fits():
    rng = np.random.default_rng(1)
    n = 5000
    s = rng.choice(np.array(["a", "b", "c"]), n)
    Z = np.column_stack([rng.normal(size=n) + (s == "a"), rng.random(n) ** (1 + (s == "b")), rng.integers(0, 5, n)])
    multi = WassersteinBarycenter(random_state=3).fit(Z, sensitive_features=s)
    out = multi.transform(Z, sensitive_features=s)
    assert out.shape == Z.shape
    for t in range(Z.shape[1]):
        single = WassersteinBarycenter(random_state=3).fit(Z[:, t], sensitive_features=s)
        np.testing.assert_array_equal(out[:, t], single.transform(Z[:, t], sensitive_features=s))


def test_per_task_epsilon_is_the_geodesic_of_each_task():
    rng = np.random.default_rng(2)
    n = 4000
    s = np.repeat([0, 1], n // 2)
    Z = np.column_stack([rng.normal(s, 1.0), rng.normal(-2 * s, 2.0)])
    eps = np.array([0.25, 0.6])
    out = WassersteinBarycenter(epsilon=eps, random_state=0).fit_transform(Z, sensitive_features=s)
    for t in range(2):
        ratio = wasserstein_distance(out[s == 0, t], out[s == 1, t], p=2) / wasserstein_distance(
            Z[s == 0, t], Z[s == 1, t], p=2
        )
        assert ratio == pytest.approx(eps[t], abs=1e-9)


def test_epsilon_shape_errors():
    z, S = _two_attributes(2000)
    with pytest.raises(ValueError, match="epsilon has 3 entries but the scores have 1 task"):
        WassersteinBarycenter(epsilon=[0.1, 0.2, 0.3]).fit(z, sensitive_features=S)
    with pytest.raises(ValueError, match="does not fit 1 stage"):
        WassersteinBarycenter(epsilon=[[0.1], [0.2]]).fit(z, sensitive_features=S)
    WassersteinBarycenter(epsilon=[[0.1], [0.2]], strategy="sequential").fit(z, sensitive_features=S)
    with pytest.raises(ValueError, match=r"epsilon must lie in \[0, 1\]"):
        WassersteinBarycenter(epsilon=[1.5]).fit(z, sensitive_features=S)


@pytest.mark.parametrize("correlated", [False, True])
def test_section7_counterexample(correlated):
    z, S = _two_attributes(correlated=correlated)
    floor = 3 / np.sqrt(len(z) / 4)  # generous sampling allowance for the fit-data KS
    results = {}
    for strategy in ("intersectional", "sequential", "conditional"):
        out = WassersteinBarycenter(strategy=strategy, random_state=0).fit_transform(z, sensitive_features=S)
        results[strategy] = (
            unfairness(out, sensitive_features=S[:, 0]),
            unfairness(out, sensitive_features=S[:, 1]),
            unfairness(out, sensitive_features=S),
        )
    # marginal sequential leaves residual unfairness w.r.t. the first attribute
    assert results["sequential"][0] > 0.05
    for strategy in ("intersectional", "conditional"):
        assert max(results[strategy]) < floor, (strategy, results[strategy])


def test_sequential_depends_on_the_order_of_attributes():
    z, S = _two_attributes(20_000, seed=4)
    a = WassersteinBarycenter(strategy="sequential", random_state=0).fit_transform(z, sensitive_features=S)
    b = WassersteinBarycenter(strategy="sequential", random_state=0).fit_transform(z, sensitive_features=S[:, ::-1])
    assert not np.allclose(a, b)


def test_conditional_matches_equipy_multiwasserstein():
    """Same estimator as EquiPy's MultiWasserstein (linear quantiles, tiny jitter).

    Row by row the two can differ: the first pass maps scores onto a finite table, so
    the second pass sees many exact ties, which each implementation breaks with its own
    random order. The outputs' distributions must agree, and most rows closely.
    """
    fairness = pytest.importorskip("equipy.fairness")
    import pandas as pd

    from fairfast.transport import ks_distance

    rng = np.random.default_rng(5)
    n = 3000
    S = pd.DataFrame({"a": rng.choice(["x", "y"], n), "b": rng.choice(["u", "v", "w"], n)})
    z = rng.normal(size=n) * 2 + (S["a"] == "x").to_numpy() * 1.5 - (S["b"] == "w").to_numpy()  # beyond [0, 1]
    theirs_model = fairness.MultiWasserstein(sigma=1e-12)
    theirs_model.fit(z.copy(), S)
    theirs = theirs_model.transform(z.copy(), S, epsilon=[0.0, 0.0])
    ours = WassersteinBarycenter(strategy="conditional", interpolation="linear", random_state=0).fit(
        z, sensitive_features=S
    )
    got = ours.transform(z, sensitive_features=S)
    assert ks_distance(got, theirs) < 0.01
    assert np.median(np.abs(got - theirs)) < 0.02
    for col in ("a", "b"):
        assert unfairness(got, sensitive_features=S[col]) == pytest.approx(
            unfairness(theirs, sensitive_features=S[col]), abs=0.03
        )


def test_small_joint_groups_warn_and_merge():
    rng = np.random.default_rng(6)
    n = 3000
    S = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 2, n)])
    S[:10] = [2, 2]  # a tiny joint group (and new labels)
    z = rng.normal(size=n)
    with pytest.warns(SmallGroupWarning, match="fewer than small_group_size=30"):
        WassersteinBarycenter(random_state=0).fit(z, sensitive_features=S)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        merged = WassersteinBarycenter(merge_small_groups=True, small_group_size=30, min_group_size=5, random_state=0)
        merged.fit(z, sensitive_features=S)
    assert merged.merged_groups_ == [(2, 2)]
    assert merged.groups_[-1] == "<other>"
    out = merged.transform(z[:20], sensitive_features=S[:20])
    assert np.isfinite(out).all()
    with pytest.raises(ValueError, match="merge_small_groups applies to strategy='intersectional' only"):
        WassersteinBarycenter(merge_small_groups=True, strategy="sequential").fit(z, sensitive_features=S)


def test_single_attribute_small_groups_warn_like_joint_ones():
    with pytest.warns(SmallGroupWarning, match=r"2 group\(s\) with fewer than small_group_size=30 rows: 0 \(2 rows\)"):
        WassersteinBarycenter().fit([0.0, 1.0, 2.0, 3.0], sensitive_features=[0, 0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        WassersteinBarycenter(small_group_size=2).fit([0.0, 1.0, 2.0, 3.0], sensitive_features=[0, 0, 1, 1])


@pytest.mark.parametrize("strategy", ["intersectional", "sequential", "conditional"])
def test_strategies_are_chunk_invariant_and_round_trip(strategy):
    z, S = _two_attributes(6000, seed=7)
    Z = np.column_stack([z, -z])
    model = WassersteinBarycenter(strategy=strategy, epsilon=0.1, random_state=9).fit(Z, sensitive_features=S)
    full = model.transform(Z, sensitive_features=S)
    parts = [model.transform(Z[a : a + 777], sensitive_features=S[a : a + 777], row_offset=a) for a in range(0, 6000, 777)]
    np.testing.assert_array_equal(np.concatenate(parts), full)
    meta, arrays = model._get_state()
    again = WassersteinBarycenter._from_state(meta, arrays)
    np.testing.assert_array_equal(again.transform(Z, sensitive_features=S), full)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).transform(Z, sensitive_features=S), full)


def test_from_state_rejects_inconsistent_arrays():
    z, S = _two_attributes(2000, seed=8)
    meta, arrays = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=S)._get_state()
    bad = dict(arrays)
    bad["stage0.table"] = bad["stage0.table"][:, :-1]
    with pytest.raises(ValueError, match="model state is inconsistent: table"):
        WassersteinBarycenter._from_state(meta, bad)
    bad = dict(arrays)
    values = bad["stage0.values"].copy()
    values[0, :2] = values[0, 1::-1] if values[0, 0] != values[0, 1] else values[0, :2]
    values[0, 0] = values[0, 5] + 1.0
    bad["stage0.values"] = values
    with pytest.raises(ValueError, match="model state is inconsistent: values are not sorted within their group"):
        WassersteinBarycenter._from_state(meta, bad)
    with pytest.raises(ValueError, match="incomplete or malformed"):
        WassersteinBarycenter._from_state({**meta, "stages": [{}]}, arrays)


def test_sliced_transform_equals_row_order_transform():
    """Tables beyond ~100 MB switch the transform to value-range slices: same bits.

    Not marked slow (about 6 s): it is the only test that reaches the sliced path."""
    rng = np.random.default_rng(0)
    n = 6 * 10**6
    s = rng.integers(0, 3, n)
    z = np.round(rng.normal(s, 1.0), 3)  # ties too
    model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s)
    q = rng.integers(0, n, 3 * 10**6)
    full = model.transform(z[q], sensitive_features=s[q])  # large batch: sliced
    step = 500_000  # below a quarter of the calibration size: row order
    parts = [model.transform(z[q][a : a + step], sensitive_features=s[q][a : a + step], row_offset=a)
             for a in range(0, q.size, step)]
    np.testing.assert_array_equal(np.concatenate(parts), full)
