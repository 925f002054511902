"""Metadata routing of ``sensitive_features`` through scikit-learn's tools."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairfast.dafh import DecouplingTreeClassifier, TrivialPartitionClassifier
from fairfast.datasets import load_adult
from fairfast.metrics import demographic_parity_difference, make_fairness_scorer
from fairfast.postprocessing import GroupThresholds, WassersteinBarycenter
from fairfast.steering import LEACE, GaussianSteering, MeanCovarianceMatching, MeanMatching


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


@pytest.fixture(scope="module")
def adult():
    """6,000 rows of Adult: numeric features, target, sex (a pandas Series)."""
    data = load_adult(subset="train")
    rows = slice(0, 6000)
    return data.data.select_dtypes("number").iloc[rows], data.target.iloc[rows], data.sensitive["sex"].iloc[rows]


def _split_scores(search, n_candidates, n_splits, key="score"):
    return np.array([[search.cv_results_[f"split{k}_test_{key}"][j] for k in range(n_splits)]
                     for j in range(n_candidates)])


def test_grid_search_scores_are_finite_and_match_a_manual_loop(adult, routing):
    X, y, sex = adult
    model = GroupThresholds(make_pipeline(StandardScaler(), LogisticRegression()), random_state=0)
    grid = [0.0, 0.05]
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    search = GridSearchCV(model, {"tolerance": grid}, cv=cv).fit(X, y, sensitive_features=sex)
    got = _split_scores(search, len(grid), 5)
    assert np.isfinite(got).all()
    manual = np.empty_like(got)
    for j, tol in enumerate(grid):
        for k, (train, test) in enumerate(cv.split(X, y)):
            fitted = clone(model).set_params(tolerance=tol).fit(X.iloc[train], y.iloc[train],
                                                               sensitive_features=sex.iloc[train])
            pred = fitted.predict(X.iloc[test], sensitive_features=sex.iloc[test])
            manual[j, k] = np.mean(pred == y.iloc[test].to_numpy())
    np.testing.assert_allclose(got, manual, rtol=0, atol=1e-12)
    assert search.best_estimator_.tolerance in grid


def test_pipeline_fits_predicts_and_cross_validates(adult, routing):
    X, y, sex = adult
    pipe = make_pipeline(StandardScaler(), GroupThresholds(LogisticRegression(), random_state=0))
    pipe.fit(X, y, sensitive_features=sex)
    scaler = StandardScaler().fit(X)
    direct = GroupThresholds(LogisticRegression(), random_state=0).fit(scaler.transform(X), y, sensitive_features=sex)
    np.testing.assert_array_equal(pipe.predict(X, sensitive_features=sex),
                                  direct.predict(scaler.transform(X), sensitive_features=sex))
    np.testing.assert_array_equal(pipe.predict_proba(X, sensitive_features=sex),
                                  direct.predict_proba(scaler.transform(X), sensitive_features=sex))
    cv = StratifiedKFold(3)
    scores = cross_val_score(pipe, X, y, cv=cv, params={"sensitive_features": sex})
    manual = [clone(pipe).fit(X.iloc[tr], y.iloc[tr], sensitive_features=sex.iloc[tr])
              .score(X.iloc[te], y.iloc[te], sensitive_features=sex.iloc[te]) for tr, te in cv.split(X, y)]
    np.testing.assert_allclose(scores, manual, rtol=0, atol=1e-12)


def test_cross_validate_with_a_fairness_scorer(adult, routing):
    X, y, sex = adult
    model = GroupThresholds(make_pipeline(StandardScaler(), LogisticRegression()), tolerance=0.1, random_state=0)
    scoring = {"dp": make_fairness_scorer(None, "demographic_parity_difference")}
    cv = StratifiedKFold(3)
    out = cross_validate(model, X, y, cv=cv, scoring=scoring, params={"sensitive_features": sex})
    for k, (tr, te) in enumerate(cv.split(X, y)):
        fitted = clone(model).fit(X.iloc[tr], y.iloc[tr], sensitive_features=sex.iloc[tr])
        pred = fitted.predict(X.iloc[te], sensitive_features=sex.iloc[te])
        expected = demographic_parity_difference(y.iloc[te], pred, sensitive_features=sex.iloc[te])
        assert out["test_dp"][k] == pytest.approx(-expected, abs=1e-12)


def test_barycenter_epsilon_search_with_routing(routing):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 3000)
    scores = rng.beta(2 + 2 * a, 5)
    y = (rng.uniform(size=3000) < scores).astype(int)
    scorer = make_fairness_scorer("accuracy", "demographic_parity_difference", weight=0.5, threshold=0.4)
    cv = StratifiedKFold(3)  # (a transformer: GridSearchCV's cv=3 would not stratify)
    search = GridSearchCV(WassersteinBarycenter(random_state=0), {"epsilon": [0.0, 1.0]}, scoring=scorer, cv=cv)
    search.fit(scores, y, sensitive_features=a)
    for j, eps in enumerate([0.0, 1.0]):
        for k, (tr, te) in enumerate(cv.split(scores, y)):
            fitted = WassersteinBarycenter(random_state=0, epsilon=eps).fit(scores[tr], sensitive_features=a[tr])
            decisions = (fitted.transform(scores[te], sensitive_features=a[te]) >= 0.4).astype(int)
            gap = demographic_parity_difference(y[te], decisions, sensitive_features=a[te])
            expected = np.mean(decisions == y[te]) - 0.5 * gap
            assert search.cv_results_[f"split{k}_test_score"][j] == pytest.approx(expected, abs=1e-12), (eps, k)
    assert search.best_params_["epsilon"] == 0.0  # fair scores pay less than the 0.5-weighted gap


@pytest.mark.parametrize("steering", [GaussianSteering(), MeanMatching(), MeanCovarianceMatching(), LEACE()],
                         ids=lambda e: type(e).__name__)
def test_steering_inside_a_pipeline(steering, routing):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, 600)
    y = rng.integers(0, 2, 600)
    X = rng.normal(size=(600, 3)) + np.outer(a + y, [1.0, 0.5, 0.0])
    pipe = make_pipeline(clone(steering), LogisticRegression()).fit(X, y, sensitive_features=a)
    first = clone(steering)
    steered = first.fit_transform(X, y, sensitive_features=a)
    clf = LogisticRegression().fit(steered, y)
    np.testing.assert_allclose(pipe.predict_proba(X, sensitive_features=a),
                               clf.predict_proba(first.transform(X, sensitive_features=a)), rtol=1e-12)


@pytest.mark.parametrize("cls", [TrivialPartitionClassifier, DecouplingTreeClassifier])
def test_partitions_on_sensitive_features_cross_validate(cls, routing):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2, 800)
    X = rng.normal(size=(800, 2))
    y = ((X[:, 0] * (2 * a - 1)) > 0).astype(int)
    scores = cross_val_score(cls(), X, y, cv=3, params={"sensitive_features": a})
    assert np.isfinite(scores).all() and scores.mean() > 0.9


def test_the_score_model_receives_the_metadata_it_requests(routing):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 2))
    y = (X[:, 0] + rng.normal(size=500) > 0).astype(int)
    a, w = rng.integers(0, 2, 500), rng.uniform(0.1, 3.0, 500)
    routed = GroupThresholds(LogisticRegression().set_fit_request(sample_weight=True))
    routed.fit(X, y, sensitive_features=a, sample_weight=w)
    np.testing.assert_allclose(routed.estimator_.coef_, LogisticRegression().fit(X, y, sample_weight=w).coef_)
    ignored = GroupThresholds(LogisticRegression().set_fit_request(sample_weight=False))
    ignored.fit(X, y, sensitive_features=a, sample_weight=w)
    np.testing.assert_allclose(ignored.estimator_.coef_, LogisticRegression().fit(X, y).coef_)
    with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError, match="sample_weight"):
        GroupThresholds(LogisticRegression()).fit(X, y, sensitive_features=a, sample_weight=w)


def test_without_routing_behaviour_is_unchanged():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    a, w = rng.integers(0, 2, 300), rng.uniform(0.1, 3.0, 300)
    model = GroupThresholds(LogisticRegression()).fit(X, y, sensitive_features=a, sample_weight=w)
    np.testing.assert_allclose(model.estimator_.coef_, LogisticRegression().fit(X, y).coef_)  # weights stay here
    # GridSearchCV fits with the sensitive features but cannot give them to the scorer
    with pytest.warns(UserWarning, match="enable_metadata_routing=True"):
        search = GridSearchCV(GroupThresholds(LogisticRegression()), {"tolerance": [0.0]}, cv=2)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "One or more of the test scores are non-finite")
            search.fit(X, y, sensitive_features=a)
    assert np.isnan(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("call", [
    lambda: GroupThresholds(LogisticRegression()).fit(np.zeros((4, 1)), [0, 1, 0, 1]),
    lambda: WassersteinBarycenter().fit(np.zeros(4)),
    lambda: GaussianSteering().fit(np.zeros((4, 1)), [0, 1, 0, 1]),
    lambda: MeanMatching().fit(np.zeros((4, 1))),
    lambda: TrivialPartitionClassifier().fit(np.zeros((4, 1)), [0, 1, 0, 1]),
], ids=["thresholds", "barycenter", "steering", "mean_matching", "trivial"])
def test_a_missing_sensitive_features_says_how_to_route_it(call):
    with pytest.raises(ValueError, match=r"sensitive_features is required: \w+\.fit needs the group of every row.*"
                                         r"enable_metadata_routing=True"):
        call()


def test_unrouted_inside_a_pipeline_gives_the_same_message(routing):
    X, y = np.arange(8.0).reshape(-1, 1), np.array([0, 1] * 4)
    pipe = make_pipeline(StandardScaler(), GroupThresholds(LogisticRegression()))
    with pytest.raises(ValueError, match="GroupThresholds.fit needs the group of every row"):
        pipe.fit(X, y)
    thresholds = GroupThresholds(LogisticRegression()).set_fit_request(sensitive_features=False)
    with pytest.raises(TypeError, match="not routed to any object"):  # turned down: scikit-learn refuses it
        make_pipeline(StandardScaler(), thresholds).fit(X, y, sensitive_features=np.arange(8) % 2)


@pytest.mark.parametrize("estimator, methods", [
    (WassersteinBarycenter(), ("fit", "transform")),
    (GroupThresholds(), ("fit", "predict", "predict_proba", "score")),
    (GaussianSteering(), ("fit", "transform")),
    (MeanMatching(), ("fit", "transform")),
    (LEACE(), ("fit", "transform")),
    (TrivialPartitionClassifier(), ("fit", "predict", "predict_proba", "decision_function", "score")),
], ids=lambda v: type(v).__name__ if not isinstance(v, tuple) else "")
def test_sensitive_features_is_requested_by_default_and_nothing_per_call_is_routed(estimator, methods):
    routing = estimator.get_metadata_routing()
    request = routing._self_request if hasattr(routing, "_self_request") else routing
    for method in methods:
        requests = getattr(request, method).requests
        assert requests["sensitive_features"] is True, method
        assert not {"row_offset", "out", "random_state"} & set(requests), method
