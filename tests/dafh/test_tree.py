"""DecouplingTreeClassifier: Ustun, Liu and Parkes's recursive partitioning with preference pruning."""

import numpy as np
import pytest

from fairfast.dafh import DecouplingTreeClassifier, PooledClassifier
from fairfast.dafh._tree import _preference_score, _prunings
from fairfast.metrics import mcnemar_pvalue


def flipped(n, seed, flip_attr=0):
    # two binary attributes; the label rule is reversed where attribute `flip_attr` is 1
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, (n, 2))
    X = rng.normal(size=(n, 3))
    y = np.where(a[:, flip_attr] == 1, X[:, 0] > 0, X[:, 0] < 0).astype(int)
    return X, y, a


def test_splits_on_the_attribute_that_matters():
    X, y, a = flipped(3000, 0)
    Xt, yt, at = flipped(2000, 1)
    clf = DecouplingTreeClassifier().fit(X, y, sensitive_features=a)
    assert clf.n_groups_ >= 2 and all(0 in leaf for leaf in clf.leaves_)
    assert clf.score(Xt, yt, sensitive_features=at) > 0.95
    assert abs(PooledClassifier().fit(X, y).score(Xt, yt) - 0.5) < 0.1
    groups = clf.assign_groups(Xt, sensitive_features=at)
    for g, leaf in enumerate(clf.leaves_):  # every row lands in the leaf whose path it matches
        rows = groups == g
        for attr, value in leaf.items():
            assert np.all(at[rows, attr] == clf.attribute_labels_[attr][value])
    assert clf.group_sizes_.sum() == X.shape[0]


def _kept_partition_passes(clf, X, y, a):
    # reference: the kept partition's McNemar tests on the training rows, Bonferroni
    Z = (X - clf.mean_) / clf.scale_
    groups = clf.assign_groups(X, sensitive_features=a)
    right = ((Z @ clf.coef_.T + clf.intercept_) > 0) == y[:, None]
    pooled = ((Z @ clf.pooled_coef_ + clf.pooled_intercept_) > 0) == y
    p = []
    for g in range(clf.n_groups_):
        rows = groups == g
        p.append(mcnemar_pvalue(right[rows, g], pooled[rows]))
        p += [mcnemar_pvalue(right[rows, g], right[rows, j]) for j in range(clf.n_groups_) if j != g]
    return min(p) >= clf.alpha / len(p)


@pytest.mark.parametrize("seed", range(3))
def test_kept_partition_has_no_significant_violation(seed):
    X, y, a = flipped(1500, seed, flip_attr=seed % 2)
    clf = DecouplingTreeClassifier(alpha=0.1).fit(X, y, sensitive_features=a)
    assert clf.n_groups_ >= 2
    assert _kept_partition_passes(clf, X, y, a)


def test_no_feasible_split_leaves_the_pooled_model():
    X, y, a = flipped(400, 0)
    clf = DecouplingTreeClassifier(min_samples_class=10_000).fit(X, y, sensitive_features=a)
    assert clf.n_groups_ == 1 and clf.tree_size_ == 1 and clf.leaves_ == [{}]
    np.testing.assert_allclose(clf.coef_[0], clf.pooled_coef_)
    each = clf.predict_each(X)
    np.testing.assert_array_equal(each[:, 0], each[:, 1])


def test_prunings_enumerate_every_collapse():
    # root -> (1, 2); 2 -> (3, 4): the leaf sets are {0}, {1, 2}, {1, 3, 4}
    nodes = [{"children": {0: 1, 1: 2}}, {"children": {}}, {"children": {0: 3, 1: 4}}, {"children": {}},
             {"children": {}}]
    assert sorted(_prunings(nodes, 0)) == [(0,), (1, 2), (1, 3, 4)]
    # two internal children: 1 + 2 * 2 partitions
    nodes = [{"children": {0: 1, 1: 2}}, {"children": {0: 3, 1: 4}}, {"children": {0: 5, 1: 6}}] + \
        [{"children": {}}] * 4
    assert len(list(_prunings(nodes, 0))) == 5


def test_preference_score_matches_its_formula():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(60, 2))
    y = rng.integers(0, 2, 60)
    rows = [np.arange(60) < 25, np.arange(60) >= 25]
    models = [(rng.normal(size=2), 0.1), (rng.normal(size=2), -0.2)]
    pooled = (rng.normal(size=2), 0.0)
    err = lambda m, r: np.mean(((Z[r] @ m[0] + m[1]) > 0) != y[r])  # noqa: E731
    expected = 0.0
    for g, r in enumerate(rows):
        for other in [pooled] + [m for j, m in enumerate(models) if j != g]:
            expected += 4 * np.exp(-0.5 * r.sum() * (err(models[g], r) - err(other, r)) ** 2)
    assert _preference_score(Z, y, list(zip(rows, models)), pooled) == pytest.approx(expected, rel=1e-12)


def test_unseen_combination_goes_to_the_largest_child():
    # attribute 1 is never 1 where attribute 0 is 1, and the rule depends on both: a
    # node (a0 = 1) below which a1 = 1 was never seen
    rng = np.random.default_rng(3)
    n = 4000
    a0 = rng.integers(0, 2, n)
    a1 = np.where(a0 == 1, 0, rng.integers(0, 2, n))
    X = rng.normal(size=(n, 2))
    y = np.where((a0 + a1) % 2 == 1, X[:, 0] > 0, X[:, 0] < 0).astype(int)
    a = np.column_stack([a0, a1])
    clf = DecouplingTreeClassifier(min_samples_class=5).fit(X, y, sensitive_features=a)
    unseen = np.array([[1, 1]] * 5)
    groups = clf.assign_groups(X[:5], sensitive_features=unseen)
    node = 0
    while node not in clf._leaf_of:
        attr = clf._nodes[node]["attr"]
        node = clf._nodes[node]["children"].get(int(unseen[0, attr]), clf._nodes[node]["largest_child"])
    assert np.all(groups == clf._leaf_of[node])


def test_bad_input_is_named():
    X, y, a = flipped(300, 0)
    with pytest.raises(ValueError, match="alpha must be"):
        DecouplingTreeClassifier(alpha=2.0).fit(X, y, sensitive_features=a)
    with pytest.raises(ValueError, match="min_samples_class must be None or an integer >= 1"):
        DecouplingTreeClassifier(min_samples_class=0).fit(X, y, sensitive_features=a)
    clf = DecouplingTreeClassifier(min_samples_class=5).fit(X, y, sensitive_features=a)
    with pytest.raises(ValueError, match=r"sensitive_features has 1 column\(s\) but was fitted on 2"):
        clf.predict(X, sensitive_features=a[:, 0])
    with pytest.raises(ValueError, match="not seen at fit time"):
        clf.predict(X[:2], sensitive_features=np.array([[0, 0], [7, 0]]))
    with pytest.raises(ValueError, match="rows"):
        DecouplingTreeClassifier().fit(X, y, sensitive_features=a[:10])


def test_string_attributes_from_a_frame():
    import pandas as pd

    X, y, a = flipped(1500, 4)
    frame = pd.DataFrame({"sex": np.array(["f", "m"])[a[:, 0]], "age": np.array(["old", "young"])[a[:, 1]]})
    clf = DecouplingTreeClassifier().fit(X, y, sensitive_features=frame)
    assert clf.attribute_labels_ == [["f", "m"], ["old", "young"]]
    assert clf.score(X, y, sensitive_features=frame) > 0.95
