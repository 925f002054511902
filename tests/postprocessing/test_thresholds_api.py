"""GroupThresholds API: estimator modes, sklearn conventions, pickling, chunk and thread
invariance of predict, weights, input containers, errors, plots, kernel re-checks."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

import fairfast
from fairfast._core import thresholds as kern
from fairfast.postprocessing import GroupThresholds
from fairfast.postprocessing._thresholds import RANDOM_STREAM, InfeasibleConstraintError


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    p = np.where(a == 0, rng.uniform(0, 1, n), rng.uniform(0, 0.6, n))
    y = (rng.uniform(size=n) < p).astype(np.int64)
    return p, y, a


def _features(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 3)) + a[:, None] * 0.5
    logit = X @ np.array([1.0, -0.5, 0.3]) - 0.2
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y, a


def test_estimator_prefit_and_clone_into_estimator_():
    X, y, a = _features()
    lr = LogisticRegression().fit(X, y)
    pre = GroupThresholds(lr, prefit=True, random_state=0).fit(X, y, sensitive_features=a)
    assert pre.estimator_ is lr
    fresh = GroupThresholds(LogisticRegression()).fit(X, y, sensitive_features=a)
    assert fresh.estimator_ is not fresh.estimator
    np.testing.assert_allclose(fresh.thresholds_, pre.thresholds_)
    # the boundary member of one group is randomised (exact rates): same seed, same draws
    raw = GroupThresholds(random_state=0).fit(lr.predict_proba(X)[:, 1], y, sensitive_features=a)
    np.testing.assert_allclose(raw.thresholds_, pre.thresholds_)
    np.testing.assert_array_equal(pre.predict(X, sensitive_features=a), raw.predict(lr.predict_proba(X)[:, 1],
                                                                                    sensitive_features=a))


def test_decision_function_scores():
    X, y, a = _features()
    lr = LogisticRegression().fit(X, y)
    gt = GroupThresholds(lr, prefit=True, predict_method="decision_function").fit(X, y, sensitive_features=a)
    ref = GroupThresholds().fit(lr.decision_function(X), y, sensitive_features=a)
    np.testing.assert_allclose(gt.thresholds_, ref.thresholds_)


def test_prefit_requires_fitted_estimator():
    X, y, a = _features(200)
    with pytest.raises(ValueError, match="prefit=True but estimator is not fitted"):
        GroupThresholds(LogisticRegression(), prefit=True).fit(X, y, sensitive_features=a)


def test_clone_get_set_params():
    gt = GroupThresholds(constraint="equalized_odds", tolerance=0.01)
    c = clone(gt)
    assert c.get_params() == gt.get_params()
    c.set_params(constraint="predictive_parity")
    assert c.constraint == "predictive_parity" and gt.constraint == "equalized_odds"


@pytest.mark.parametrize("constraint", ["demographic_parity", "equalized_odds"])
def test_pickle_copy_roundtrip(constraint):
    s, y, a = _data()
    gt = GroupThresholds(constraint=constraint, random_state=3).fit(s, y, sensitive_features=a)
    for other in (pickle.loads(pickle.dumps(gt)), copy.deepcopy(gt), copy.copy(gt)):
        np.testing.assert_array_equal(other.predict(s, sensitive_features=a), gt.predict(s, sensitive_features=a))
        np.testing.assert_array_equal(other.predict_proba(s, sensitive_features=a),
                                      gt.predict_proba(s, sensitive_features=a))
        assert other.utility_ == gt.utility_


def test_predict_chunk_and_thread_invariant():
    s, y, a = _data(5000)
    gt = GroupThresholds(constraint="equalized_odds", mode="mixing", random_state=11).fit(s, y, sensitive_features=a)
    assert gt.n_components_.max() > 1  # randomised band: the counter-based draws matter
    full = gt.predict(s, sensitive_features=a)
    parts = [gt.predict(s[i:i + 777], sensitive_features=a[i:i + 777], row_offset=i) for i in range(0, s.size, 777)]
    np.testing.assert_array_equal(np.concatenate(parts), full)
    with fairfast.thread_limit(1):
        np.testing.assert_array_equal(gt.predict(s, sensitive_features=a), full)
    again = gt.predict(s, sensitive_features=a)
    np.testing.assert_array_equal(again, full)  # None -> seed_ fixed at fit
    other = gt.predict(s, sensitive_features=a, random_state=12)
    assert (other != full).any()


def test_predict_uses_documented_stream():
    s, y, a = _data(2000)
    gt = GroupThresholds(constraint="equalized_odds", random_state=5).fit(s, y, sensitive_features=a)
    from fairfast._core import transport

    u = transport.counter_uniform(s.size, gt.seed_, RANDOM_STREAM, 10)
    p = gt.predict_proba(s, sensitive_features=a)[:, 1]
    np.testing.assert_array_equal(gt.predict(s, sensitive_features=a, row_offset=10), (u < p).astype(np.int64))


def test_randomised_predictions_match_expectation():
    s, y, a = _data(200_000, seed=4)
    gt = GroupThresholds(constraint="equalized_odds", random_state=0).fit(s, y, sensitive_features=a)
    d = gt.predict(s, sensitive_features=a)
    p = gt.predict_proba(s, sensitive_features=a)[:, 1]
    for g in (0, 1):
        m = a == g
        assert abs(d[m].mean() - p[m].mean()) < 4 * np.sqrt(0.25 / m.sum())


def test_sample_weight_equals_repetition():
    s, y, a = _data(800, seed=2)
    w = np.random.default_rng(2).integers(0, 4, s.size)
    rep = np.repeat(np.arange(s.size), w)
    for constraint in ("demographic_parity", "equal_opportunity", "equalized_odds"):
        gw = GroupThresholds(constraint=constraint).fit(s, y, sensitive_features=a, sample_weight=w)
        gr = GroupThresholds(constraint=constraint).fit(s[rep], y[rep], sensitive_features=a[rep])
        assert gw.utility_ == pytest.approx(gr.utility_, abs=1e-12)
        np.testing.assert_allclose(gw.operating_points_.to_numpy(), gr.operating_points_.to_numpy(), atol=1e-12)


def test_containers_and_intersections():
    s, y, a = _data(4000)
    b = np.random.default_rng(1).integers(0, 2, s.size)
    df = pd.DataFrame({"a": np.where(a == 1, "x", "y"), "b": b})
    gt = GroupThresholds().fit(pd.Series(s), pd.Series(y), sensitive_features=df)
    assert len(gt.groups_) == 4 and isinstance(gt.groups_[0], tuple)
    assert gt.violation_ < 1e-12
    out = gt.predict_proba(s, sensitive_features=df)
    assert out.shape == (s.size, 2)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_cost_matrix_objective_shifts_threshold():
    s, y, a = _data(4000)
    cheap_fn = GroupThresholds(objective="cost", cost_matrix=[[0, 1], [1, 0]]).fit(s, y, sensitive_features=a)
    costly_fn = GroupThresholds(objective="cost", cost_matrix=[[0, 1], [5, 0]]).fit(s, y, sensitive_features=a)
    acc = GroupThresholds().fit(s, y, sensitive_features=a)
    assert cheap_fn.utility_ == pytest.approx(acc.utility_ - 1.0, abs=1e-12)  # -error rate = accuracy - 1
    assert (costly_fn.operating_points_["selection_rate"] > acc.operating_points_["selection_rate"]).all()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"constraint": "parity"}, "constraint must be one of"),
        ({"objective": "f2"}, "objective must be 'accuracy'"),
        ({"mode": "hardt"}, "mode must be one of"),
        ({"tolerance_on": "test"}, "tolerance_on must be one of"),
        ({"n_bootstrap": -1}, "n_bootstrap must be None or an integer"),
        ({"constraint": [("recall", "minimum", 0.5)], "tolerance": 0.1}, "tolerance applies to named"),
        ({"constraint": [("recall", "at_least", 0.5)]}, "constraint form must be one of"),
        ({"constraint": [("recal", "minimum", 0.5)]}, "unknown metric 'recal'"),
        ({"constraint": [("selection_rate", "ratio", 1.5)]}, "needs a value in"),
        ({"constraint": [("selection_rate", "difference", -1)]}, "needs a value >= 0"),
        ({"constraint": [("tpr", "difference", 0), ("fpr", "difference", 0), ("ppv", "difference", 0)]},
         "at most two metrics"),
        ({"constraint": "demographic_parity", "mode": "mixing"}, "for equalized odds only"),
        ({"constraint": [("ppv", "difference", 0.1), ("tpr", "difference", 0.1)]}, "two coupled metrics"),
        ({"objective": {"tp": 1, "xx": 2}}, "objective must be a dict"),
        ({"constraint": [("selection_rate", "difference", 0.1)], "tolerance_on": "holdout", "n_bootstrap": 1},
         "n_bootstrap >= 2"),
        ({"constraint": [("recall", "minimum", 0.5)], "tolerance_on": "holdout"}, "needs a difference constraint"),
        ({"tolerance": -0.1}, "tolerance must be a finite real number >= 0"),
        ({"tolerance": True}, "tolerance must be a finite real number >= 0"),
        ({"infeasible": "ignore"}, "infeasible must be one of"),
        ({"objective": "cost"}, "needs cost_matrix"),
        ({"objective": "cost", "cost_matrix": [1, 2]}, "cost_matrix must be a finite 2x2"),
        ({"cost_matrix": [[0, 1], [1, 0]]}, "cost_matrix is only used with objective='cost'"),
    ],
)
def test_parameter_errors(params, match):
    s, y, a = _data(100)
    with pytest.raises(ValueError, match=match):
        GroupThresholds(**params).fit(s, y, sensitive_features=a)


def test_input_errors():
    s, y, a = _data(100)
    gt = GroupThresholds()
    with pytest.raises(ValueError, match="y has 99 rows but X has 100"):
        gt.fit(s, y[:-1], sensitive_features=a)
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        gt.fit(s, y + 2 * (np.arange(100) % 2), sensitive_features=a)
    with pytest.raises(ValueError, match="y is continuous"):
        gt.fit(s, y + np.linspace(0, 3, 100), sensitive_features=a)
    bad = s.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        gt.fit(bad, y, sensitive_features=a)
    with pytest.raises(ValueError, match="sensitive_features has 99 rows"):
        gt.fit(s, y, sensitive_features=a[:-1])
    only_neg = np.where(a == 1, 0, y)
    with pytest.raises(ValueError, match="group 1 has no positive labels"):
        GroupThresholds(constraint="equal_opportunity").fit(s, only_neg, sensitive_features=a)
    gt.fit(s, y, sensitive_features=a)
    with pytest.raises(ValueError, match="unseen|not seen"):
        gt.predict(s, sensitive_features=np.full(s.size, 7))
    with pytest.raises(ValueError, match="row_offset"):
        gt.predict(s, sensitive_features=a, row_offset=-1)


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GroupThresholds().predict(np.zeros(3), sensitive_features=np.zeros(3))


def test_infeasible_error_is_value_error():
    assert issubclass(InfeasibleConstraintError, ValueError)


def test_plot_both_curves():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, y, a = _data(2000)
    gt = GroupThresholds(constraint="equalized_odds", mode="mixing").fit(s, y, sensitive_features=a)
    ax = gt.plot()
    assert ax.get_xlabel() == "false positive rate" and len(ax.lines) == 4
    ax2 = gt.plot(curve="selection")
    assert ax2.get_ylabel() == "positive predictive value"
    with pytest.raises(ValueError, match="curve must be one of"):
        gt.plot(curve="pr")
    plt.close("all")


def test_kernel_rechecks():
    f = np.zeros(3)
    off = np.array([0, 3], dtype=np.int64)
    fl = np.array([3, 3, 1], np.uint8)
    one = np.ones(1, np.uint8)
    with pytest.raises(TypeError):
        kern.search_windows(f.astype(np.float32), f, f, fl, off, np.array([0.0]), one, 0.0, np.inf)
    with pytest.raises(ValueError, match="grid must be strictly increasing"):
        kern.search_windows(f, f + 1, f, fl, off, np.array([0.0, 0.0]), np.ones(2, np.uint8), 0.0, np.inf)
    with pytest.raises(ValueError, match="offsets must start at 0"):
        kern.search_windows(f, f + 1, f, fl, np.array([0, 2], dtype=np.int64), np.array([0.0]), one, 0.0, np.inf)
    with pytest.raises(ValueError, match="tol must be >= 0"):
        kern.search_windows(f, f + 1, f, fl, off, np.array([0.0]), one, -1.0, np.inf)
    with pytest.raises(ValueError, match="inv_ratio must be >= 1"):
        kern.search_windows(f, f + 1, f, fl, off, np.array([0.0]), one, 0.0, 0.5)
    with pytest.raises(ValueError, match="flags must hold values 0..3"):
        kern.search_windows(f, f + 1, f, np.array([3, 3, 9], np.uint8), off, np.array([0.0]), one, 0.0, np.inf)
    with pytest.raises(ValueError, match="is_start must be one-dimensional"):
        kern.search_windows(f, f + 1, f, fl, off, np.array([0.0]), np.ones(2, np.uint8), 0.0, np.inf)
    with pytest.raises(ValueError, match="non-decreasing within each group"):
        kern.evaluate_boxes(np.array([0.0, 1.0, 0.5]), f, f, fl, off, f, f, 0.1, 0.1)
    with pytest.raises(ValueError, match="w1 and w2 must be finite"):
        kern.evaluate_boxes(f, f, f, fl, off, f, f, -0.1, 0.1)
    with pytest.raises(ValueError, match="must be finite; found NaN"):
        kern.box_choices(np.array([0.0, np.nan, 1.0]), f, f, fl, off, 0.0, 0.0, 0.1, 0.1)
    with pytest.raises(IndexError, match="codes"):
        kern.group_curves(f, np.zeros(3, np.uint8), np.array([0, 1, 2], np.int32), 2)
    with pytest.raises(ValueError, match="sorted ascending"):
        kern.merge_counts(np.array([2.0, 1.0]), np.array([0, 2, 2], dtype=np.int64))
    t = np.zeros((2, 1))
    with pytest.raises(IndexError, match="codes"):
        kern.apply_rules(f, np.array([0, 5, 0], np.int32), t, t, t, False, 0, 7, 0)


# ------------------------------------------------------------------ model files
@pytest.mark.parametrize("constraint", ["demographic_parity", "equalized_odds", "predictive_parity"])
def test_model_file_roundtrip(tmp_path, constraint):
    from fairfast import io

    s, y, a = _data(3000, seed=1)
    b = np.random.default_rng(3).integers(0, 2, s.size)
    sf = pd.DataFrame({"a": np.where(a == 1, "x", "y"), "b": b})
    gt = GroupThresholds(constraint=constraint, tolerance=0.02, random_state=4).fit(s, y, sensitive_features=sf)
    assert "GroupThresholds" in io.registered_estimators()
    io.save(gt, tmp_path / "m.ffm")
    back = io.load(tmp_path / "m.ffm")
    gt.save(tmp_path / "method.ffm")  # the method writes the same file
    assert (tmp_path / "method.ffm").read_bytes() == (tmp_path / "m.ffm").read_bytes()
    assert back.groups_ == gt.groups_ and back.get_params() == gt.get_params()
    for name in ("thresholds_", "tie_fractions_", "mixture_weights_", "n_components_"):
        np.testing.assert_array_equal(getattr(back, name), getattr(gt, name))
    pd.testing.assert_frame_equal(back.operating_points_, gt.operating_points_)
    np.testing.assert_array_equal(back.predict(s, sensitive_features=sf), gt.predict(s, sensitive_features=sf))
    assert back.utility_ == gt.utility_ and back.violation_ == gt.violation_
    np.testing.assert_array_equal(back.curves_[gt.groups_[0]]["true_positive_rate"],
                                  gt.curves_[gt.groups_[0]]["true_positive_rate"])


def test_model_file_refuses_estimator_and_bad_state():
    X, y, a = _features(500)
    gt = GroupThresholds(LogisticRegression()).fit(X, y, sensitive_features=a)
    with pytest.raises(ValueError, match="estimator=None"):
        gt._get_state()
    s, y, a = _data(500)
    meta, arrays = GroupThresholds().fit(s, y, sensitive_features=a)._get_state()
    bad = dict(arrays, mixture_weights=arrays["mixture_weights"] * 0.5)
    with pytest.raises(ValueError, match="mixture weights"):
        GroupThresholds._from_state(meta, bad)
    bad = dict(arrays, thresholds=arrays["thresholds"][:1])
    with pytest.raises(ValueError, match="shape"):
        GroupThresholds._from_state(meta, bad)
    with pytest.raises(ValueError, match="incomplete or malformed"):
        GroupThresholds._from_state({k: v for k, v in meta.items() if k != "seed"}, arrays)
    with pytest.raises(ValueError, match="constraint"):
        GroupThresholds._from_state(dict(meta, constraint="equalized_odds"), arrays)
