"""DAFHClassifier and the baselines: the synthetic task (case 7) and the estimator API."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from fairfast.dafh import DAFHClassifier, KMeansPartitionClassifier, PooledClassifier, TrivialPartitionClassifier
from fairfast.dafh._common import selection_key


def two_clusters(n, seed):
    # Spec case 7: cluster c, x1 ~ N(-+3, 1), x2 ~ N(0, 1), opposite labelling rules.
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 2, n)
    X = np.column_stack([rng.normal(6.0 * c - 3.0, 1.0), rng.normal(0.0, 1.0, n)])
    y = np.where(c == 0, X[:, 1] > 0, X[:, 1] < 0).astype(int)
    return X, y, c


@pytest.fixture(scope="module")
def synthetic():
    X, y, c = two_clusters(4000, 0)
    Xt, yt, ct = two_clusters(2000, 1)
    return X, y, Xt, yt, ct


@pytest.fixture(scope="module")
def fitted(synthetic):
    X, y, *_ = synthetic
    return DAFHClassifier(2, max_epochs=60, random_state=0).fit(X, y)


def test_two_cluster_task(synthetic, fitted):
    # Case 7: pooled ~ 50%, DAFH (K = 2, default MLP) >= 95%, balanced groups, (a) >= 0.95.
    X, y, Xt, yt, ct = synthetic
    pooled = PooledClassifier().fit(X, y)
    assert abs(pooled.score(Xt, yt) - 0.5) < 0.1
    assert fitted.score(Xt, yt) >= 0.95
    groups = fitted.assign_groups(Xt)
    shares = np.bincount(groups, minlength=2) / groups.size
    assert shares.min() > 0.4
    assert selection_key(yt, fitted.predict_each(Xt), groups)[0] >= 0.95
    assert fitted.group_sizes_.sum() == X.shape[0]
    assert fitted.group_sizes_.min() > 0.4 * X.shape[0]


def test_linear_group_classifier_float32(synthetic):
    X, y, Xt, yt, ct = synthetic
    clf = DAFHClassifier(
        2, hidden_layer_sizes=(), learning_rate_group=1e-2, max_epochs=40, dtype="float32", random_state=1
    ).fit(X, y)
    assert clf.coef_.shape == (2, 2)
    assert clf.score(Xt, yt) >= 0.95
    # a linear group classifier cannot carve out the label regions (an XOR): the two
    # linear partitions that make both groups linearly separable are the clusters and
    # the sign of x2, up to relabelling
    groups = clf.assign_groups(Xt)
    agreement = [np.mean(groups == ct), np.mean(groups == (Xt[:, 1] > 0))]
    assert max(max(a, 1 - a) for a in agreement) > 0.95


def test_prediction_api(synthetic, fitted):
    X, y, Xt, yt, _ = synthetic
    proba = fitted.predict_proba(Xt)
    assert proba.shape == (Xt.shape[0], 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.predict(Xt), (proba[:, 1] > 0.5).astype(int))
    pi = fitted.group_probabilities(Xt)
    np.testing.assert_allclose(pi.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.assign_groups(Xt), pi.argmax(axis=1))
    each = fitted.predict_each(Xt)
    assert each.shape == (Xt.shape[0], 3)
    k = fitted.assign_groups(Xt)
    np.testing.assert_array_equal(each[np.arange(k.size), k + 1], fitted.predict(Xt))
    h = fitted.history_
    assert len(h["objective"]) == fitted.n_epochs_ == len(h["val_fwh"]) == len(h["group_shares"])
    assert fitted.best_epoch_ == 0 or fitted.min_epochs <= fitted.best_epoch_ <= fitted.n_epochs_  # 0: the warm start


def test_labels_are_kept(synthetic):
    X, y, Xt, yt, _ = synthetic
    labels = np.array(["no", "yes"])[y]
    clf = DAFHClassifier(2, max_epochs=6, random_state=0).fit(X[:600], labels[:600])
    assert set(clf.predict(Xt)) <= {"no", "yes"}
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])


def test_reproducible_and_picklable(synthetic):
    X, y, Xt, *_ = synthetic
    a = DAFHClassifier(3, max_epochs=6, random_state=5).fit(X[:800], y[:800])
    b = clone(a).fit(X[:800], y[:800])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(Xt), a.predict_proba(Xt))


@pytest.mark.parametrize("selection", ["pairwise", "group", "individual"])
def test_other_selection_estimators(synthetic, selection):
    X, y, Xt, yt, _ = synthetic
    # a random start: the k-means warm start is tested in test_warm_start.py
    clf = DAFHClassifier(2, max_epochs=8, min_epochs=2, selection=selection, init="random",
                         random_state=0).fit(X[:1500], y[:1500])
    h = clf.history_
    # the kept epoch is the best candidate by (estimator on the validation rows, accuracy)
    assert clf.best_epoch_ >= 2
    assert h["val_accuracy"][clf.best_epoch_ - 1] == pytest.approx(
        max(a for f, a in zip(h["val_fwh"][1:], h["val_accuracy"][1:]) if f == max(h["val_fwh"][1:]))
    )


def test_default_selection_and_stopping_rule(synthetic):
    # selection: best (bootstrap probability, accuracy) on the validation rows from
    # min_epochs on; stop once the validation objective has not improved for
    # n_iter_no_change epochs
    X, y, *_ = synthetic
    clf = DAFHClassifier(2, max_epochs=40, min_epochs=3, n_iter_no_change=3, init="random",
                         random_state=2).fit(X[:1500], y[:1500])
    assert clf.selection == "bootstrap" and clf.envy_weight == 0.0 and clf.gamma == 4.0
    h = clf.history_
    keys = [(f, a) for f, a in zip(h["val_fwh"], h["val_accuracy"])]
    candidates = keys[clf.min_epochs - 1 :]
    assert clf.best_epoch_ == clf.min_epochs + candidates.index(max(candidates))
    objective = np.asarray(h["val_objective"])
    assert np.isfinite(objective).all()
    best_before = objective[clf.min_epochs - 1 : clf.n_epochs_ - 3].max()
    if clf.n_epochs_ < clf.max_epochs:
        assert objective[-3:].max() <= best_before
    for e in range(clf.min_epochs + 3, clf.n_epochs_):  # it did not stop earlier
        assert objective[e - 3 : e].max() > objective[clf.min_epochs - 1 : e - 3].max()


def test_without_early_stopping_keeps_the_last_epoch(synthetic):
    X, y, *_ = synthetic
    clf = DAFHClassifier(2, max_epochs=4, early_stopping=False, random_state=0).fit(X[:500], y[:500])
    assert clf.n_epochs_ == clf.best_epoch_ == 4
    assert np.isnan(clf.history_["val_fwh"]).all()


def test_fit_takes_no_sensitive_features(synthetic):
    X, y, *_ = synthetic
    with pytest.raises(TypeError):
        DAFHClassifier(2).fit(X, y, sensitive_features=y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_groups": 0}, "n_groups must be an integer >= 1"),
        ({"lam": -1.0}, "lam must be a finite number >= 0"),
        ({"gamma": 0.0}, "gamma must be a finite number > 0"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes entries must be an integer >= 1"),
        ({"learning_rate_group": float("nan")}, "learning_rate_group must be a finite number > 0"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"validation_fraction": 1.0}, r"validation_fraction must be a number in \(0, 1\)"),
        ({"dtype": "float16"}, "dtype must be 'float32' or 'float64'"),
        ({"envy_weight": -0.5}, "envy_weight must be a finite number >= 0"),
        ({"selection": "accuracy"}, "selection must be one of 'individual', 'pairwise', 'group', 'bootstrap'"),
        ({"group_prior": [1.0, 0.0]}, "group_prior must hold n_groups=2 positive finite shares"),
    ],
)
def test_bad_parameters_are_named(params, message):
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match=message):
        DAFHClassifier(**params).fit(X, y)


def test_bad_data_is_rejected():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        DAFHClassifier().fit(X, np.arange(20) % 3)
    clf = DAFHClassifier(max_epochs=1, random_state=0).fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :1])
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DAFHClassifier().fit(X, np.arange(20) % 2)


def test_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DAFHClassifier().predict(np.zeros((2, 2)))


# ---------------------------------------------------------------- baselines


def test_pooled_is_logistic_regression(synthetic):
    X, y, Xt, *_ = synthetic
    clf = PooledClassifier().fit(X, y)
    ref = LogisticRegression(max_iter=2000).fit((X - clf.mean_) / clf.scale_, y)
    expected = ref.decision_function((Xt - clf.mean_) / clf.scale_)
    np.testing.assert_allclose(clf.decision_function(Xt), expected, rtol=1e-6)
    assert np.all(clf.assign_groups(Xt) == 0)
    each = clf.predict_each(Xt)
    np.testing.assert_array_equal(each[:, 0], each[:, 1])


def test_trivial_partition_fits_one_model_per_group(synthetic):
    X, y, Xt, yt, ct = synthetic
    _, _, c = two_clusters(4000, 0)
    labels = np.array(["left", "right"])[c]
    clf = TrivialPartitionClassifier().fit(X, y, sensitive_features=labels)
    assert clf.groups_ == ["left", "right"]
    np.testing.assert_array_equal(clf.group_sizes_, np.bincount(c))
    test_labels = np.array(["left", "right"])[ct]
    assert clf.score(Xt, yt, sensitive_features=test_labels) > 0.95
    np.testing.assert_array_equal(clf.assign_groups(Xt, sensitive_features=test_labels), ct)
    with pytest.raises(ValueError):
        clf.predict(Xt[:2], sensitive_features=["left", "middle"])


def test_kmeans_partition(synthetic):
    X, y, Xt, yt, ct = synthetic
    clf = KMeansPartitionClassifier(2, random_state=0).fit(X, y)
    groups = clf.assign_groups(Xt)
    agreement = np.mean(groups == ct)
    assert max(agreement, 1 - agreement) > 0.95
    assert clf.score(Xt, yt) > 0.95
    with pytest.raises(ValueError, match="n_groups must be an integer >= 1"):
        KMeansPartitionClassifier(0).fit(X, y)


def test_import_does_not_load_numba(tmp_path):
    code = (
        "import sys, fairfast.dafh, numpy as np\n"
        "assert 'numba' not in sys.modules, 'numba imported by fairfast.dafh'\n"
        "fairfast.dafh.PooledClassifier().fit(np.arange(8.0)[:, None], np.arange(8) % 2)\n"
        "assert 'numba' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert out.stdout.strip() == "ok"


# ---------------------------------------------------------------- real data (slow)


def _one_hot(bunch):
    import pandas as pd

    X = pd.get_dummies(bunch.data, dtype=float).to_numpy(dtype=np.float64)
    return X, np.asarray(bunch.target)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("loader", "kwargs"),
    [("load_adult", {}), ("load_compas", {"label": "arrest"}), ("load_compas", {"label": "violent"}),
     ("load_german", {})],
    ids=["adult", "compas_arrest", "compas_violent", "german"],
)
def test_no_group_collapse_with_defaults(loader, kwargs):
    # Acceptance: with default settings no group holds more than 90% of the rows.
    from fairfast import datasets

    X, y = _one_hot(getattr(datasets, loader)(drop_sensitive=True, **kwargs))
    for K in (2, 3):
        clf = DAFHClassifier(K, random_state=0).fit(X, y)
        shares = clf.group_sizes_ / clf.group_sizes_.sum()
        assert shares.max() < 0.9, (K, shares)


# The baselines share the same validation and prediction code (checked by hand above);
# running every scikit-learn check on them too would double this module's run time.
@parametrize_with_checks([DAFHClassifier(max_epochs=3, hidden_layer_sizes=(4,), random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
