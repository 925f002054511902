"""unfairness / pairwise_group_distances against brute-force pairwise scipy distances."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import transport as ref

from fairfast.metrics import pairwise_group_distances, unfairness

SETTINGS = settings(max_examples=50, deadline=None)
values = st.one_of(st.integers(-3, 3).map(float), st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False))


def scipy_ks(x, y):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(scipy.stats.ks_2samp(x, y, method="asymp").statistic)


def brute_force(z, s, metric, w=None):
    labels = sorted(set(s.tolist()))
    best = 0.0
    for a, b in itertools.combinations(labels, 2):
        xa, xb = z[s == a], z[s == b]
        wa, wb = (None, None) if w is None else (w[s == a], w[s == b])
        if metric == "ks":
            d = scipy_ks(xa, xb) if w is None else ref.ks_exact(xa, xb, wa, wb)
        elif metric == "w1":
            d = scipy.stats.wasserstein_distance(xa, xb, wa, wb)
        else:
            d = ref.wasserstein_exact(xa, xb, 2, wa, wb)
        best = max(best, d)
    return best


@st.composite
def grouped_scores(draw, weighted=False):
    n = draw(st.integers(1, 40))
    z = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    s = np.array(draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n)))
    if not weighted:
        return z, s, None
    w = np.array(draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), dtype=float)
    return z, s, w


@SETTINGS
@given(grouped_scores(), st.sampled_from(["ks", "w1", "w2"]))
def test_unfairness_is_the_largest_pairwise_distance(data, metric):
    z, s, _ = data
    expected = brute_force(z, s, metric)
    scale = max(1.0, float(np.abs(z).max()))
    assert unfairness(z, sensitive_features=s, metric=metric) == pytest.approx(expected, rel=1e-12, abs=1e-13 * scale)


@SETTINGS
@given(grouped_scores(weighted=True), st.sampled_from(["ks", "w1", "w2"]))
def test_weighted_unfairness_is_the_largest_weighted_distance(data, metric):
    z, s, w = data
    expected = brute_force(z, s, metric, w)
    scale = max(1.0, float(np.abs(z).max()))
    ours = unfairness(z, sensitive_features=s, metric=metric, sample_weight=w)
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-13 * scale)
    # integer weights are row repetitions
    rep = unfairness(np.repeat(z, w.astype(int)), sensitive_features=np.repeat(s, w.astype(int)), metric=metric)
    assert ours == pytest.approx(rep, rel=1e-12, abs=1e-13 * scale)


def test_pairwise_matrix_and_labels():
    rng = np.random.default_rng(0)
    s = rng.choice(["x", "y", "z"], 300)
    z = rng.normal(size=300) + (s == "y")
    for metric in ("ks", "w1", "w2"):
        d, groups = pairwise_group_distances(z, sensitive_features=s, metric=metric)
        assert groups == ["x", "y", "z"]
        assert d.shape == (3, 3)
        np.testing.assert_array_equal(d, d.T)
        np.testing.assert_array_equal(np.diag(d), 0.0)
        assert unfairness(z, sensitive_features=s, metric=metric) == d.max()
    d, _ = pairwise_group_distances(z, sensitive_features=s)
    assert d[0, 1] == pytest.approx(scipy_ks(z[s == "x"], z[s == "y"]), rel=1e-12)


def test_single_group_and_docstring_examples():
    assert unfairness([0.3, 0.1, 0.2], sensitive_features=["a", "a", "a"]) == 0.0
    assert unfairness([0.1, 0.2, 0.8, 0.9], sensitive_features=[0, 0, 1, 1]) == 1.0
    assert unfairness([0.1, 0.8, 0.2, 0.9], sensitive_features=[0, 0, 1, 1], metric="w1") == pytest.approx(0.1)


def test_several_sensitive_columns_define_intersections():
    rng = np.random.default_rng(1)
    sf = pd.DataFrame({"sex": rng.choice(["f", "m"], 400), "race": rng.choice(["p", "q"], 400)})
    z = rng.normal(size=400) + (sf["sex"] == "m") * (sf["race"] == "q")
    d, groups = pairwise_group_distances(z, sensitive_features=sf, metric="w1")
    assert groups == [("f", "p"), ("f", "q"), ("m", "p"), ("m", "q")]
    joint = (sf["sex"] + sf["race"]).to_numpy()
    assert unfairness(z, sensitive_features=sf, metric="w1") == pytest.approx(brute_force(z, joint, "w1"), rel=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="metric must be one of 'ks', 'w1', 'w2'; got 'w3'"):
        unfairness([0.0, 1.0], sensitive_features=[0, 1], metric="w3")
    with pytest.raises(ValueError, match=r"scores must be finite; found .*nan.* at position 1"):
        unfairness([0.0, np.nan], sensitive_features=[0, 1])
    with pytest.raises(ValueError, match="sensitive_features has 3 rows but the scores have 2"):
        unfairness([0.0, 1.0], sensitive_features=[0, 1, 1])
    with pytest.raises(ValueError, match="sample_weight has 1 rows but the data has 2"):
        unfairness([0.0, 1.0], sensitive_features=[0, 1], sample_weight=[1.0])
    with pytest.raises(ValueError, match="scores must have at least 1 rows"):
        unfairness([], sensitive_features=[])
