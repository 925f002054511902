"""DAFH's warm start from a k-means partition and the selection rule that keeps it as a candidate."""

import numpy as np
import pytest

from fairfast.dafh import DAFHClassifier, KMeansPartitionClassifier, _kernels
from fairfast.dafh._common import standardizer
from fairfast.dafh._setup import initial_parameters
from fairfast.dafh._warm_start import INIT_CONFIDENCE, embed_partition, kmeans_partitions


def _nearest(Z, centres):
    # the slow, obvious reference: the index of the nearest centre of every row
    return np.array([int(np.argmin([np.sum((z - c) ** 2) for c in centres])) for z in Z])


@pytest.mark.parametrize("hidden", [(), (6,), (9, 7)])
@pytest.mark.parametrize("K", [1, 2, 3, 4])
def test_embedded_partition_is_the_nearest_centre(hidden, K):
    rng = np.random.default_rng(K + len(hidden))
    d = 5
    Z = rng.normal(size=(401, d))  # odd: the median is one row's
    centres = rng.normal(size=(K, d))
    sizes = np.array([d, *hidden, K], dtype=np.int64)
    theta, beta = initial_parameters(sizes, np.zeros(d), 0.0, 0.01, rng, np.float64)
    embed_partition(theta, sizes, Z, centres)
    fresh = 3 * rng.normal(size=(300, d))  # rows the scale was not set on, farther out
    for rows in (Z, fresh):
        pi, _ = _kernels.forward(rows, theta, beta, sizes)
        np.testing.assert_array_equal(pi.argmax(axis=1), _nearest(rows, centres))
    if K == 2:  # the median row's probability of its cluster
        pi, _ = _kernels.forward(Z, theta, beta, sizes)
        assert np.median(pi.max(axis=1)) == pytest.approx(INIT_CONFIDENCE, abs=1e-6)


def test_too_narrow_hidden_layers_are_refused():
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match=r"init='kmeans' needs hidden layers of at least 2 \(n_groups - 1\) = 4"):
        DAFHClassifier(3, hidden_layer_sizes=(3,)).fit(X, np.arange(50) % 2)
    DAFHClassifier(3, hidden_layer_sizes=(3,), init="random", max_epochs=1).fit(X, np.arange(50) % 2)


def test_kmeans_partitions_are_distinct_and_start_with_the_baselines():
    rng = np.random.default_rng(1)
    Z = np.concatenate([rng.normal(0, 1, (60, 2)), rng.normal((6, 0), 1, (60, 2)), rng.normal((3, 5), 1, (60, 2))])
    parts = kmeans_partitions(Z, 2, 8, seed=4)
    assert len(parts) >= 1
    for i, (_, a) in enumerate(parts):  # distinct up to the order of the groups
        for _, b in parts[:i]:
            assert not np.array_equal(a, b) and not np.array_equal(a, 1 - b)
    baseline = KMeansPartitionClassifier(2, random_state=4).fit(Z, np.arange(180) % 2)
    same = np.mean(parts[0][1] == baseline.assign_groups(Z))
    assert max(same, 1 - same) == 1.0


def test_warm_start_is_the_kmeans_partition_classifier():
    # max_epochs=0: the kept model is the warm start -- the k-means partition of the
    # baseline with the same seed, each group's model the L2 logistic regression of
    # its training rows
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from fairfast.dafh._setup import stratified_split

    X, y = make_classification(600, 6, n_informative=4, random_state=0)
    clf = DAFHClassifier(2, max_epochs=0, random_state=3).fit(X, y)
    base = KMeansPartitionClassifier(2, random_state=3).fit(X, y)
    groups = clf.assign_groups(X)
    same = np.mean(groups == base.assign_groups(X))
    assert max(same, 1 - same) == 1.0
    assert clf.best_epoch_ == clf.n_epochs_ == 0
    np.testing.assert_array_equal(clf.group_sizes_, np.bincount(groups, minlength=2))
    train, _ = stratified_split(y, clf.validation_fraction, np.random.default_rng(3))
    mean, scale = standardizer(X)
    Z = (X - mean) / scale
    for k in range(2):
        rows = train[groups[train] == k]
        ref = LogisticRegression(max_iter=2000).fit(Z[rows], y[rows])
        np.testing.assert_allclose(clf.coef_[k], ref.coef_[0], rtol=1e-6, atol=1e-8)
        assert clf.intercept_[k] == pytest.approx(ref.intercept_[0], rel=1e-6)


def test_selection_keeps_the_best_candidate_including_the_warm_start(monkeypatch):
    # every validation key the fit computes, in order: the warm start's, then one per epoch
    X = np.random.default_rng(0).normal(size=(900, 4))
    y = ((X[:, 0] * X[:, 1] > 0) ^ (np.random.default_rng(1).random(900) < 0.2)).astype(int)
    keys = []
    evaluate = DAFHClassifier._evaluate

    def recording(self, *args):
        out = evaluate(self, *args)
        keys.append(out[0])
        return out

    monkeypatch.setattr(DAFHClassifier, "_evaluate", recording)
    clf = DAFHClassifier(2, hidden_layer_sizes=(8,), max_epochs=12, min_epochs=3, n_iter_no_change=20,
                         random_state=0).fit(X, y)
    assert len(keys) == 1 + clf.n_epochs_
    candidates = [(keys[0], 0)] + [(k, e) for e, k in enumerate(keys[1:], start=1) if e >= clf.min_epochs]
    best = max(candidates, key=lambda c: (c[0], -c[1]))  # ties go to the earlier epoch
    assert clf.best_epoch_ == best[1]
    assert all(k[0] in (True, False) and 0 <= k[1] <= 1 and 0 <= k[2] <= 1 for k in keys)
    h = clf.history_
    assert [(f, a) for f, a in zip(h["val_fwh"], h["val_accuracy"])] == [k[1:] for k in keys[1:]]


def test_degenerate_epochs_are_not_preferred():
    # the first entry of the selection key: no group below 5% of the validation rows
    X = np.random.default_rng(0).normal(size=(400, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = DAFHClassifier(2, hidden_layer_sizes=(4,), max_epochs=3, random_state=0).fit(X, y)
    Z = clf._transform(X)
    theta = clf._theta.copy()
    theta[-2:] = (50.0, -50.0)  # head biases: every row in group 0
    key, shares, *_ = clf._evaluate(Z, y, theta, clf._beta)
    assert key[0] is False and shares.tolist() == [1.0, 0.0]
    key, *_ = clf._evaluate(Z, y, clf._theta, clf._beta)
    assert key[0] == (clf.group_sizes_.min() / clf.group_sizes_.sum() >= 0.05)


@pytest.mark.parametrize(("params", "message"), [
    ({"init": "pooled"}, "init must be 'kmeans' or 'random'"),
    ({"init_restarts": 0}, "init_restarts must be an integer >= 1"),
])
def test_bad_init_parameters_are_named(params, message):
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match=message):
        DAFHClassifier(**params).fit(X, np.arange(20) % 2)
