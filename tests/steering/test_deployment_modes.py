"""Deployment modes: label-free mixture and soft maps, the posterior, the oracle helper."""

import numpy as np
import pytest
from scipy import stats

from fairfast.steering import (
    DEPLOYMENT_MODES,
    LEACE,
    GaussianSteering,
    MeanCovarianceMatching,
    MeanMatching,
    deployment_views,
    oracle_transform,
)


def _data(n=3000, d=3, G=2, K=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, G, n)
    y = rng.integers(0, K, n)
    X = rng.normal(size=(G, K, d))[a, y] * 2 + rng.uniform(0.5, 2.0, (G, K, d))[a, y] * rng.normal(size=(n, d))
    return X.astype(dtype), y, a


@pytest.mark.parametrize("covariance", ["full", "shared"])
def test_class_posterior_is_the_gaussian_discriminant(covariance):
    X, y, a = _data(seed=1)
    st = GaussianSteering(reference=0, covariance=covariance).fit(X, y, sensitive_features=a)
    p = st.class_posterior(X[:200], sensitive_features=a[:200])
    assert p.shape == (200, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    for r in range(0, 200, 17):  # reference: scipy densities times the priors q(i | a)
        g = a[r]
        dens = np.array([stats.multivariate_normal(st.means_[g, i], st.covariances_[g, i]).pdf(X[r])
                         for i in range(3)]) * st.priors_[g]
        np.testing.assert_allclose(p[r], dens / dens.sum(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("covariance", ["full", "shared"])
def test_soft_transform_with_one_hot_labels_is_the_label_aware_map(covariance):
    X, y, a = _data(seed=2)
    st = GaussianSteering(reference=1, covariance=covariance).fit(X, y, sensitive_features=a)
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(st.soft_transform(X, onehot, sensitive_features=a),
                               st.transform(X, y, sensitive_features=a), atol=1e-10)
    # the Gaussian posterior drives unlabeled="soft", and equals sum_i p_i T_i(x) row by row
    soft = GaussianSteering(reference=1, covariance=covariance, unlabeled="soft").fit(X, y, sensitive_features=a)
    p = soft.class_posterior(X, sensitive_features=a)
    out = soft.transform(X, sensitive_features=a)
    np.testing.assert_allclose(out, soft.soft_transform(X, p, sensitive_features=a), atol=1e-10)
    expected = sum(p[:, i, None] * soft.transform(X, np.full(len(y), i), sensitive_features=a) for i in range(3))
    np.testing.assert_allclose(out, expected, atol=1e-9)


def test_mixture_map_matches_the_steered_group_moments():
    X, y, a = _data(n=20000, seed=3)
    st = GaussianSteering(reference=0, shrinkage=None).fit(X, y, sensitive_features=a)
    free = st.transform(X, sensitive_features=a)
    steered = st.transform(X, y, sensitive_features=a)
    np.testing.assert_array_equal(free[a == 0], X[a == 0])
    np.testing.assert_allclose(free[a == 1].mean(0), steered[a == 1].mean(0), atol=1e-8)
    # equal up to the (n_i - 1) vs (n - 1) normalisations of the fitted class covariances
    np.testing.assert_allclose(np.cov(free[a == 1].T), np.cov(steered[a == 1].T), rtol=1e-3, atol=1e-3)


def test_deployment_views_and_the_oracle():
    X, y, a = _data(n=4000, seed=4)
    tr, te = slice(0, 2000), slice(2000, None)
    st = GaussianSteering(reference=0).fit(X[tr], y[tr], sensitive_features=a[tr])
    views = deployment_views(st, X[tr], y[tr], X[te], sensitive_train=a[tr], sensitive_test=a[te], y_test=y[te])
    assert tuple(views) == DEPLOYMENT_MODES + ("oracle",)
    steered = st.transform(X[tr], y[tr], sensitive_features=a[tr])
    weights = st.sample_weights(y[tr], sensitive_features=a[tr])
    for view in views.values():
        np.testing.assert_array_equal(view.train, steered)
        np.testing.assert_array_equal(view.sample_weight, weights)
    np.testing.assert_array_equal(views["preprocessing"].test, X[te])
    np.testing.assert_array_equal(views["label_free"].test, st.transform(X[te], sensitive_features=a[te]))
    np.testing.assert_array_equal(views["oracle"].test, oracle_transform(st, X[te], y[te], sensitive_features=a[te]))
    np.testing.assert_array_equal(views["oracle"].test, st.transform(X[te], y[te], sensitive_features=a[te]))
    soft = GaussianSteering(reference=0, unlabeled="soft").fit(X[tr], y[tr], sensitive_features=a[tr])
    np.testing.assert_array_equal(views["soft"].test, soft.transform(X[te], sensitive_features=a[te]))
    # given probabilities drive the soft view; no oracle without test labels
    proba = np.full((2000, 3), 1 / 3)
    views = deployment_views(st, X[tr], y[tr], X[te], sensitive_train=a[tr], sensitive_test=a[te], proba_test=proba)
    assert "oracle" not in views
    np.testing.assert_allclose(views["soft"].test, st.soft_transform(X[te], proba, sensitive_features=a[te]))


def test_soft_transform_input_checks_and_lognormal():
    X, y, a = _data(seed=5)
    st = GaussianSteering(reference=0).fit(X, y, sensitive_features=a)
    with pytest.raises(ValueError, match=r"proba must have shape \(n_samples, n_classes\) = \(3000, 3\)"):
        st.soft_transform(X, np.ones((3000, 2)) / 2, sensitive_features=a)
    with pytest.raises(ValueError, match="rows summing to 1"):
        st.soft_transform(X, np.ones((3000, 3)), sensitive_features=a)
    with pytest.raises(ValueError, match="proba must be finite"):
        st.soft_transform(X, np.full((3000, 3), np.nan), sensitive_features=a)
    P = np.exp(X / 3)
    ln = GaussianSteering(family="lognormal", reference=0, unlabeled="soft").fit(P, y, sensitive_features=a)
    lin = GaussianSteering(reference=0, unlabeled="soft").fit(X / 3, y, sensitive_features=a)
    np.testing.assert_allclose(np.log(ln.transform(P, sensitive_features=a)),
                               lin.transform(X / 3, sensitive_features=a), atol=1e-6)
    np.testing.assert_allclose(ln.class_posterior(P, sensitive_features=a),
                               lin.class_posterior(X / 3, sensitive_features=a), atol=1e-6)


def test_label_free_transforms_accept_and_ignore_y():
    X, y, a = _data(seed=6)
    for est in (MeanMatching(), MeanCovarianceMatching(), LEACE()):
        est.fit(X, y, sensitive_features=a)
        np.testing.assert_array_equal(est.transform(X, y, sensitive_features=a), est.transform(X, sensitive_features=a))


def test_fit_without_labels_says_what_to_use():
    X, y, a = _data(seed=7)
    with pytest.raises(ValueError, match="y is required"):
        GaussianSteering().fit(X, sensitive_features=a)
