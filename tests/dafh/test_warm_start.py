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


def test_kept_warm_start_is_the_kmeans_partition_classifier():
    # max_epochs=0: the kept model is the warm start -- the k-means partition of the
    # baseline with the same seed, each group's model (and the pooled model) refit, once
    # selection is done, as the L2 logistic regression of all its rows (the baseline's)
    from sklearn.datasets import make_classification

    X, y = make_classification(600, 6, n_informative=4, random_state=0)
    clf = DAFHClassifier(2, max_epochs=0, random_state=3).fit(X, y)
    base = KMeansPartitionClassifier(2, random_state=3).fit(X, y)
    groups, ref = clf.assign_groups(X), base.assign_groups(X)
    swap = np.mean(groups == ref) < 0.5
    np.testing.assert_array_equal(groups, 1 - ref if swap else ref)
    assert clf.best_epoch_ == clf.n_epochs_ == 0
    np.testing.assert_array_equal(clf.group_sizes_, np.bincount(groups, minlength=2))
    order = [1, 0] if swap else [0, 1]
    np.testing.assert_allclose(clf.coef_, base.coef_[order], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(clf.intercept_, base.intercept_[order], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(clf.pooled_coef_, base.pooled_coef_, rtol=1e-6, atol=1e-8)
    assert clf.pooled_intercept_ == pytest.approx(base.pooled_intercept_, rel=1e-6)
    np.testing.assert_array_equal(clf.predict_each(X), base.predict_each(X)[:, [0, *(np.array(order) + 1)]])


def test_selection_compares_the_warm_start_with_the_best_objective_epoch(monkeypatch):
    # every validation key the fit computes, in order: the warm start's, then one per
    # epoch; the trained candidate is the epoch of the best validation objective (from
    # min_epochs on), kept only if its key beats the warm start's
    X = np.random.default_rng(0).normal(size=(900, 4))
    y = ((X[:, 0] * X[:, 1] > 0) ^ (np.random.default_rng(1).random(900) < 0.2)).astype(int)
    keys = []
    evaluate = DAFHClassifier._evaluate

    def recording(self, *args):
        out = evaluate(self, *args)
        keys.append(out[0])
        return out

    monkeypatch.setattr(DAFHClassifier, "_evaluate", recording)
    for seed in range(3):
        keys.clear()
        clf = DAFHClassifier(2, hidden_layer_sizes=(8,), max_epochs=12, min_epochs=3, n_iter_no_change=20,
                             random_state=seed).fit(X, y)
        assert len(keys) == 1 + clf.n_epochs_
        h = clf.history_
        objective = np.asarray(h["val_objective"])
        e = clf.min_epochs + int(np.argmax(objective[clf.min_epochs - 1 :]))  # first of equal maxima
        assert clf.best_epoch_ == (e if keys[e] > keys[0] else 0)
        assert all(k[0] in (True, False) and 0 <= k[1] <= 1 and 0 <= k[2] <= 1 for k in keys)
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
