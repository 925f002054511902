"""The fairness scorers of fairfast.metrics and select_within_bound."""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate

from fairfast.metrics import (
    DISPARITIES,
    FairnessScorer,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    make_fairness_scorer,
    select_within_bound,
    unfairness,
)
from fairfast.postprocessing import GroupThresholds, WassersteinBarycenter


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 3000)
    p = np.where(a == 0, rng.uniform(0, 1, 3000), rng.uniform(0, 0.6, 3000))
    y = (rng.uniform(size=3000) < p).astype(int)
    return p, y, a


@pytest.fixture(scope="module")
def rule(data):
    p, y, a = data
    return GroupThresholds(tolerance=0.1, random_state=0).fit(p, y, sensitive_features=a)


@pytest.mark.parametrize("bound, weight", [(0.0, 1.0), (0.0, 0.0), (0.05, 10.0), (0.5, 3.0)])
def test_value_is_utility_minus_weighted_excess(data, rule, bound, weight):
    p, y, a = data
    pred = rule.predict(p, sensitive_features=a)
    gap = demographic_parity_difference(y, pred, sensitive_features=a)
    expected = accuracy_score(y, pred) - weight * max(0.0, gap - bound)
    scorer = make_fairness_scorer("accuracy", "demographic_parity_difference", bound=bound, weight=weight)
    assert scorer(rule, p, y, sensitive_features=a) == pytest.approx(expected, abs=1e-12)


def test_each_part_alone_and_ratios(data, rule):
    p, y, a = data
    pred = rule.predict(p, sensitive_features=a)
    assert make_fairness_scorer("accuracy", None)(rule, p, y, sensitive_features=a) == accuracy_score(y, pred)
    minus_gap = make_fairness_scorer(None, "equalized_odds_difference")(rule, p, y, sensitive_features=a)
    assert minus_gap == pytest.approx(-equalized_odds_difference(y, pred, sensitive_features=a), abs=1e-12)
    ratio = make_fairness_scorer(None, "demographic_parity_ratio")(rule, p, y, sensitive_features=a)
    assert ratio == pytest.approx(-(1 - demographic_parity_ratio(y, pred, sensitive_features=a)), abs=1e-12)


def test_score_utilities_and_distances_use_scores(data, rule):
    p, y, a = data
    proba = rule.predict_proba(p, sensitive_features=a)[:, 1]
    auc = make_fairness_scorer("roc_auc", "ks")(rule, p, y, sensitive_features=a)
    assert auc == pytest.approx(roc_auc_score(y, proba) - unfairness(proba, sensitive_features=a), abs=1e-12)


def test_every_named_disparity_is_accepted(data, rule):
    p, y, a = data
    for name in DISPARITIES:
        value = make_fairness_scorer(None, name)(rule, p, y, sensitive_features=a)
        assert np.isfinite(value) and value <= 0, name


def test_transformers_are_scored_on_thresholded_outputs(data):
    p, y, a = data
    fair = WassersteinBarycenter(random_state=0).fit(p, sensitive_features=a)
    decisions = (fair.transform(p, sensitive_features=a) >= 0.3).astype(int)
    scorer = make_fairness_scorer("balanced_accuracy", "demographic_parity_difference", threshold=0.3)
    from sklearn.metrics import balanced_accuracy_score

    expected = balanced_accuracy_score(y, decisions) - demographic_parity_difference(y, decisions,
                                                                                     sensitive_features=a)
    assert scorer(fair, p, y, sensitive_features=a) == pytest.approx(expected, abs=1e-12)


def test_plain_models_are_called_without_the_sensitive_features(data):
    p, y, a = data
    X = np.column_stack([p, a])  # a model that sees the group as a feature, to be audited
    clf = LogisticRegression().fit(X, y)
    pred = clf.predict(X)
    scorer = make_fairness_scorer("accuracy", "demographic_parity_difference")
    expected = accuracy_score(y, pred) - demographic_parity_difference(y, pred, sensitive_features=a)
    assert scorer(clf, X, y, sensitive_features=a) == pytest.approx(expected, abs=1e-12)


class _TakesGroups:
    """A classifier outside scikit-learn's routing whose predict takes sensitive_features."""

    classes_ = np.array([0, 1])

    def predict(self, X, *, sensitive_features):
        return (np.asarray(X) > np.where(np.asarray(sensitive_features) == 0, 0.5, 0.3)).astype(int)


def test_a_method_taking_sensitive_features_gets_them(data):
    p, y, a = data
    pred = _TakesGroups().predict(p, sensitive_features=a)
    assert make_fairness_scorer("accuracy", None)(_TakesGroups(), p, y, sensitive_features=a) == accuracy_score(y, pred)


def test_sample_weight_is_routed_on_request(data, rule):
    p, y, a = data
    w = np.linspace(0.1, 2.0, p.size)
    pred = rule.predict(p, sensitive_features=a)
    scorer = make_fairness_scorer("accuracy", "demographic_parity_difference").set_score_request(sample_weight=True)
    gap = demographic_parity_difference(y, pred, sensitive_features=a, sample_weight=w)
    expected = accuracy_score(y, pred, sample_weight=w) - gap
    assert scorer(rule, p, y, sensitive_features=a, sample_weight=w) == pytest.approx(expected, abs=1e-12)
    with sklearn.config_context(enable_metadata_routing=True):
        weighted = GroupThresholds(random_state=0).set_fit_request(sample_weight=True)
        out = cross_validate(weighted, p, y, cv=StratifiedKFold(2), scoring=scorer,
                             params={"sensitive_features": a, "sample_weight": w})
        assert np.isfinite(out["test_score"]).all()
        unrequested = make_fairness_scorer("accuracy", None)
        with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError, match="sample_weight"):
            cross_validate(weighted, p, y, cv=StratifiedKFold(2), scoring=unrequested,
                           params={"sensitive_features": a, "sample_weight": w})


def test_routing_request_and_pickle():
    scorer = make_fairness_scorer("accuracy", "ks", bound=0.1, weight=2.0)
    request = scorer.get_metadata_routing()
    assert request.score.requests == {"sensitive_features": True, "sample_weight": None}
    back = pickle.loads(pickle.dumps(scorer))
    assert repr(back) == repr(scorer) == ("make_fairness_scorer(utility='accuracy', unfairness='ks', bound=0.1, "
                                          "weight=2.0)")
    assert isinstance(back, FairnessScorer)


def test_bad_arguments_and_missing_sensitive_features(data, rule):
    p, y, a = data
    with pytest.raises(ValueError, match="give a utility, an unfairness measure or both"):
        make_fairness_scorer(None, None)
    with pytest.raises(ValueError, match="utility must be None, a callable"):
        make_fairness_scorer("accurcy")
    with pytest.raises(ValueError, match="unfairness must be None, one of fairfast.metrics.DISPARITIES"):
        make_fairness_scorer("accuracy", "parity")
    with pytest.raises(ValueError, match="bound and weight must be >= 0"):
        make_fairness_scorer(weight=-1.0)
    with pytest.raises(ValueError, match="threshold must be a finite real number"):
        make_fairness_scorer(threshold=np.nan)
    with pytest.raises(ValueError, match="sensitive_features is required: FairnessScorer"):
        make_fairness_scorer()(rule, p, y)


def test_select_within_bound():
    results = {"mean_test_utility": np.array([0.80, 0.82, 0.85, 0.90]),
               "mean_test_unfairness": -np.array([0.01, 0.04, 0.05, 0.20])}
    assert select_within_bound(0.05)(results) == 2
    assert select_within_bound(0.02)(results) == 0
    assert select_within_bound(0.001)(results) == 0  # none keeps it: the least unfair
    with pytest.raises(ValueError, match="needs the scorers 'acc' and 'unfairness'"):
        select_within_bound(0.05, utility="acc")(results)
    with pytest.raises(ValueError, match="bound must be a real number >= 0"):
        select_within_bound(-0.1)


def test_select_within_bound_in_a_search(data):
    p, y, a = data
    scoring = {"utility": make_fairness_scorer("accuracy", None),
               "unfairness": make_fairness_scorer(None, "demographic_parity_difference")}
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(GroupThresholds(random_state=0), {"tolerance": [0.0, 0.1, 0.3]}, scoring=scoring,
                              refit=select_within_bound(0.12), cv=StratifiedKFold(3)).fit(p, y, sensitive_features=a)
    gaps = -search.cv_results_["mean_test_unfairness"]
    keep = np.flatnonzero(gaps <= 0.12)
    assert search.best_index_ == keep[np.argmax(search.cv_results_["mean_test_utility"][keep])]
    assert hasattr(search, "best_estimator_")
