"""The model-selection recipes of docs/model_selection.md on a slice of Adult, small grids.

(docs/model_selection.md runs them in full, its outputs checked by tests/test_readme.py.)
"""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairfast.datasets import load_adult
from fairfast.metrics import demographic_parity_difference, make_fairness_scorer, select_within_bound
from fairfast.postprocessing import GroupThresholds, WassersteinBarycenter


@pytest.fixture(scope="module")
def adult():
    train, test = load_adult(subset="train"), load_adult(subset="test")
    rows = slice(0, 8000)
    part = (train.data.select_dtypes("number").iloc[rows], train.target.iloc[rows], train.sensitive["sex"].iloc[rows])
    held_out = (test.data.select_dtypes("number"), test.target, test.sensitive["sex"])
    return part, held_out


def test_tolerance_recipe(adult):
    (X, y, sex), (X_test, y_test, sex_test) = adult
    model = GroupThresholds(make_pipeline(StandardScaler(), LogisticRegression()), random_state=0)
    scoring = {"accuracy": make_fairness_scorer("accuracy", None),
               "dp": make_fairness_scorer(None, "demographic_parity_difference")}
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(model, {"tolerance": [0.0, 0.2]}, scoring=scoring,
                              refit=select_within_bound(0.05, utility="accuracy", unfairness="dp"),
                              cv=StratifiedKFold(3, shuffle=True, random_state=0))
        search.fit(X, y, sensitive_features=sex)
    accuracy, gap = search.cv_results_["mean_test_accuracy"], -search.cv_results_["mean_test_dp"]
    assert np.isfinite(accuracy).all() and np.isfinite(gap).all()
    # a looser tolerance buys accuracy with a larger held-out gap; the bound keeps the tight one
    assert accuracy[1] > accuracy[0] and gap[1] > 0.05 >= gap[0]
    assert search.best_params_ == {"tolerance": 0.0}
    pred = search.best_estimator_.predict(X_test, sensitive_features=sex_test)
    assert demographic_parity_difference(y_test, pred, sensitive_features=sex_test) < 0.05


def test_epsilon_recipe(adult):
    (X, y, sex), (X_test, _, sex_test) = adult
    half = len(X) // 2
    clf = make_pipeline(StandardScaler(), LogisticRegression()).fit(X.iloc[:half], y.iloc[:half])
    scores, y_cal, sex_cal = clf.predict_proba(X.iloc[half:])[:, 1], y.iloc[half:], sex.iloc[half:]
    scorer = make_fairness_scorer("accuracy", "demographic_parity_difference", bound=0.05, weight=10.0)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(WassersteinBarycenter(random_state=0), {"epsilon": [0.0, 1.0]}, scoring=scorer,
                              cv=StratifiedKFold(3, shuffle=True, random_state=0))
        search.fit(scores, y_cal, sensitive_features=sex_cal)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # epsilon=1 is the unchanged classifier, whose gap at 0.5 is far above the bound
    assert search.best_params_ == {"epsilon": 0.0}
    fair = search.best_estimator_.transform(clf.predict_proba(X_test)[:, 1], sensitive_features=sex_test)
    rates = [np.mean(fair[(sex_test == s).to_numpy()] >= 0.5) for s in ("Female", "Male")]
    assert abs(rates[0] - rates[1]) < 0.03
