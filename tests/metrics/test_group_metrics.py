"""Group metrics and disparities against scikit-learn, fairlearn and brute force."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import fairfast
from fairfast import metrics as fm
from fairfast.metrics._group_metrics import METRICS

fl = pytest.importorskip("fairlearn.metrics")

RATE_FUNCS = {
    "selection_rate": lambda yt, yp, w: fl.selection_rate(yt, yp, sample_weight=w),
    "true_positive_rate": lambda yt, yp, w: fl.true_positive_rate(yt, yp, sample_weight=w, pos_label=1),
    "false_positive_rate": lambda yt, yp, w: fl.false_positive_rate(yt, yp, sample_weight=w, pos_label=1),
    "true_negative_rate": lambda yt, yp, w: fl.true_negative_rate(yt, yp, sample_weight=w, pos_label=1),
    "false_negative_rate": lambda yt, yp, w: fl.false_negative_rate(yt, yp, sample_weight=w, pos_label=1),
    "positive_predictive_value": lambda yt, yp, w: skm.precision_score(yt, yp, sample_weight=w, zero_division=0.0),
    "negative_predictive_value": lambda yt, yp, w: skm.precision_score(
        1 - yt, 1 - yp, sample_weight=w, zero_division=0.0),
    "accuracy": lambda yt, yp, w: skm.accuracy_score(yt, yp, sample_weight=w),
    "balanced_accuracy": lambda yt, yp, w: skm.balanced_accuracy_score(yt, yp, sample_weight=w),
    "error_rate": lambda yt, yp, w: 1.0 - skm.accuracy_score(yt, yp, sample_weight=w),
}


def _data(rng, n, n_a=3, n_b=2, weighted=False):
    y = rng.integers(0, 2, n)
    p = rng.integers(0, 2, n)
    a = rng.choice(np.array(["x", "y", "z"])[:n_a], n)
    b = rng.integers(0, n_b, n)
    w = rng.random(n) * 2 if weighted else None
    s = rng.random(n)
    return y, p, a, b, w, s


def _brute(yt, yp, w, s, codes_rows, name, n_bins=10):
    if name in RATE_FUNCS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn warns on one-class groups
            return RATE_FUNCS[name](yt[codes_rows], yp[codes_rows], None if w is None else w[codes_rows])
    ww = np.ones(len(codes_rows)) if w is None else w[codes_rows]
    if name == "count":
        return len(codes_rows)
    if name == "mean_score":
        return np.average(s[codes_rows], weights=ww)
    if name == "calibration_error":
        ss, yy = s[codes_rows], yt[codes_rows]
        bins = np.minimum((ss * n_bins).astype(int), n_bins - 1)
        total = 0.0
        for b in range(n_bins):
            m = bins == b
            if ww[m].sum() > 0:
                total += ww[m].sum() * abs(np.average(yy[m], weights=ww[m]) - np.average(ss[m], weights=ww[m]))
        return total / ww.sum()
    raise AssertionError(name)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_every_metric_matches_reference(seed, weighted):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    y, p, a, b, w, s = _data(rng, n, weighted=weighted)
    if seed == 0:
        y[a == "x"] = 1  # a group without negatives
    df = fm.group_metrics(y, p, sensitive_features={"a": a, "b": b}, scores=s, sample_weight=w)
    assert list(df.columns) == list(METRICS)
    for (ga, gb), row in df.iterrows():
        rows = np.flatnonzero((a == ga) & (b == gb))
        assert rows.size > 0
        for name in METRICS:
            assert row[name] == pytest.approx(_brute(y, p, w, s, rows, name), abs=1e-12), name


def test_matches_fairlearn_metricframe_and_empty_intersections():
    rng = np.random.default_rng(3)
    n = 400
    y, p, a, b, w, _ = _data(rng, n, n_b=3, weighted=True)
    b[(a == "x") & (b == 2)] = 1  # the intersection (x, 2) is empty
    funcs = {k: RATE_FUNCS[k] for k in ("selection_rate", "true_positive_rate", "false_positive_rate")}
    mf = fl.MetricFrame(
        metrics={"selection_rate": fl.selection_rate, "true_positive_rate": fl.true_positive_rate,
                 "false_positive_rate": fl.false_positive_rate, "accuracy": skm.accuracy_score},
        y_true=y, y_pred=p, sensitive_features=pd.DataFrame({"a": a, "b": b}),
        sample_params={k: {"sample_weight": w} for k in list(funcs) + ["accuracy"]})
    ours = fm.group_metrics(y, p, sensitive_features=pd.DataFrame({"a": a, "b": b}), sample_weight=w,
                            metrics=list(mf.by_group.columns))
    expected = mf.by_group.dropna()  # fairlearn lists the empty cell with NaN
    assert ("x", 2) not in ours.index and len(ours) == len(expected) == 8
    pd.testing.assert_frame_equal(ours, expected.astype(float), check_dtype=False, check_names=True, atol=1e-12)


def test_one_row_groups_and_zero_division():
    y = np.array([1, 0, 1, 0])
    p = np.array([1, 1, 0, 0])
    g = np.array([0, 1, 2, 2])
    df = fm.group_metrics(y, p, sensitive_features=g, metrics=["tpr", "fpr", "ppv", "count"])
    assert df.loc[0, "true_positive_rate"] == 1.0 and df.loc[0, "false_positive_rate"] == 0.0  # no negatives
    assert df.loc[1, "true_positive_rate"] == 0.0  # no positives: zero_division
    nan = fm.group_metrics(y, p, sensitive_features=g, metrics=["tpr"], zero_division=np.nan)
    assert np.isnan(nan.loc[1, "true_positive_rate"]) and nan.loc[0, "true_positive_rate"] == 1.0
    assert df["count"].tolist() == [1, 1, 2]


def test_input_kinds_agree():
    rng = np.random.default_rng(1)
    y, p, a, b, w, s = _data(rng, 300)
    ref = fm.group_metrics(y, p, sensitive_features={"a": a, "b": b}, metrics=["accuracy"])
    for sf in (pd.DataFrame({"a": a, "b": b}), pd.DataFrame({"a": pd.Categorical(a), "b": b.astype(np.int8)}),
               {"a": list(a), "b": b + 10}):
        got = fm.group_metrics(list(y), pd.Series(p), sensitive_features=sf, metrics=["accuracy"])
        np.testing.assert_allclose(got["accuracy"].to_numpy(), ref["accuracy"].to_numpy())
    pl = pytest.importorskip("polars")
    got = fm.group_metrics(y, p, sensitive_features=pl.DataFrame({"a": a, "b": b}), metrics=["accuracy"])
    np.testing.assert_allclose(got["accuracy"].to_numpy(), ref["accuracy"].to_numpy())
    # labels other than 0/1 with pos_label
    got = fm.group_metrics(np.where(y == 1, "yes", "no"), np.where(p == 1, "yes", "no"), pos_label="yes",
                           sensitive_features={"a": a, "b": b}, metrics=["accuracy"])
    np.testing.assert_allclose(got["accuracy"].to_numpy(), ref["accuracy"].to_numpy())


def test_threshold_and_custom_callables():
    rng = np.random.default_rng(2)
    y, _, a, _, _, s = _data(rng, 200)
    df = fm.group_metrics(y, scores=s, threshold=0.5, sensitive_features=a,
                          metrics={"sel": "selection_rate", "f1": skm.f1_score})
    for g in df.index:
        m = a == g
        assert df.loc[g, "sel"] == pytest.approx(np.mean(s[m] >= 0.5))
        assert df.loc[g, "f1"] == pytest.approx(skm.f1_score(y[m], (s[m] >= 0.5).astype(int)))


def test_thread_count_does_not_change_results():
    # above 2**21 rows per thread the one-pass kernels use a second thread
    rng = np.random.default_rng(5)
    n = 4_500_000
    y = rng.integers(0, 2, n, dtype=np.uint8)
    p = rng.integers(0, 2, n, dtype=np.uint8)
    b = rng.integers(0, 7, n).astype(np.int32)
    w = rng.random(n)
    s = rng.random(n, dtype=np.float32)
    sex = rng.integers(0, 2, n)
    for kw in ({"scores": s, "sample_weight": w}, {}):  # generic kernel, raw-column kernel
        for sf in (b, {"b": b.astype(np.int64), "sex": sex}):  # one column, two (encoded in parallel)
            with fairfast.thread_limit(1):
                one = fm.group_metrics(y, p, sensitive_features=sf, **kw)
            for threads in (2, 3, 7):
                with fairfast.thread_limit(threads):
                    other = fm.group_metrics(y, p, sensitive_features=sf, **kw)
                pd.testing.assert_frame_equal(one, other, check_exact=True)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="sensitive_features has 2 rows"):
        fm.group_metrics([1, 0, 1], [1, 0, 1], sensitive_features=[0, 1])
    with pytest.raises(ValueError, match="y_pred has 2 rows"):
        fm.group_metrics([1, 0, 1], [1, 0], sensitive_features=[0, 1, 1])
    with pytest.raises(ValueError, match="unknown metric 'foo'"):
        fm.group_metrics([1, 0], [1, 0], sensitive_features=[0, 1], metrics=["foo"])
    with pytest.raises(ValueError, match="'mean_score' needs scores"):
        fm.group_metrics([1, 0], [1, 0], sensitive_features=[0, 1], metrics=["mean_score"])
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        fm.group_metrics([1, 0], [1, 0], sensitive_features=[0, 1], sample_weight=[1, -1])
    with pytest.raises(ValueError, match="missing values"):
        fm.group_metrics([1, 0], [1, 0], sensitive_features=["a", None])
    with pytest.raises(ValueError, match="method must be one of"):
        fm.demographic_parity_difference([1, 0], [1, 0], sensitive_features=[0, 1], method="pairwise")


def test_kernel_rejects_bad_direct_calls():
    from fairfast import _core

    codes = np.array([0, 1, 2], dtype=np.int32)
    y = np.array([0, 1, 1], dtype=np.uint8)
    with pytest.raises(IndexError, match="codes"):
        _core.metrics.group_sums(codes, 2, y, y, None, None, 0)
    with pytest.raises(TypeError):
        _core.metrics.group_sums(codes.astype(np.int64), 3, y, y, None, None, 0)
    with pytest.raises(ValueError, match="only 0 and 1"):
        _core.metrics.group_sums(codes, 3, y + 1, y, None, None, 0)
    with pytest.raises(ValueError, match="y_pred must be one-dimensional with 3"):
        _core.metrics.group_sums(codes, 3, y, y[:2], None, None, 0)
    col = np.array([0, 1, 5], dtype=np.int64)
    lows, sizes = np.array([0]), np.array([3], dtype=np.int32)
    with pytest.raises(IndexError, match="outside"):
        _core.metrics.group_counts_columns([col], lows, sizes, y, y, 1)
    with pytest.raises(TypeError, match="same dtype"):
        _core.metrics.group_counts_columns([col], lows, np.array([6], dtype=np.int32), y, col, 1)
    with pytest.raises(TypeError, match="all be C-contiguous int64"):
        _core.metrics.group_counts_columns([col, codes], np.array([0, 0]), np.array([6, 3], dtype=np.int32),
                                           y, y, 1)


DISPARITY_PAIRS = [
    ("demographic_parity_difference", {}),
    ("demographic_parity_ratio", {}),
    ("equalized_odds_difference", {}),
    ("equalized_odds_difference", {"agg": "mean"}),
    ("equalized_odds_ratio", {}),
    ("equalized_odds_ratio", {"agg": "mean"}),
    ("equal_opportunity_difference", {}),
    ("equal_opportunity_ratio", {}),
]


@pytest.mark.parametrize("name,kw", DISPARITY_PAIRS)
@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
@pytest.mark.parametrize("seed", range(3))
def test_disparities_match_fairlearn(name, kw, method, seed):
    rng = np.random.default_rng(seed)
    n = 200
    y, p, a, b, w, _ = _data(rng, n, weighted=seed == 1)
    if seed == 2:
        p[a == "x"] = 0  # a group that selects nobody: ratios hit 0
    sf = pd.DataFrame({"a": a, "b": b}) if seed != 0 else a
    ours = getattr(fm, name)(y, p, sensitive_features=sf, method=method, sample_weight=w, **kw)
    theirs = getattr(fl, name)(y, p, sensitive_features=sf, method=method, sample_weight=w, **kw)
    assert ours == pytest.approx(theirs, abs=1e-12)


@pytest.mark.parametrize("metric,name", [("positive_predictive_value", "predictive_parity"),
                                         ("accuracy", "accuracy_parity")])
@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
def test_predictive_and_accuracy_parity_match_metricframe(metric, name, method):
    rng = np.random.default_rng(7)
    y, p, a, b, w, _ = _data(rng, 300, weighted=True)
    func = {"positive_predictive_value": skm.precision_score, "accuracy": skm.accuracy_score}[metric]
    mf = fl.MetricFrame(metrics=func, y_true=y, y_pred=p, sensitive_features=a,
                        sample_params={"sample_weight": w})
    assert getattr(fm, f"{name}_difference")(y, p, sensitive_features=a, sample_weight=w, method=method) == \
        pytest.approx(mf.difference(method=method), abs=1e-12)
    assert getattr(fm, f"{name}_ratio")(y, p, sensitive_features=a, sample_weight=w, method=method) == \
        pytest.approx(mf.ratio(method=method), abs=1e-12)


@pytest.mark.parametrize("label_dtype", [np.int64, np.uint8, bool])
@pytest.mark.parametrize("group_dtype", [np.int64, np.int32, np.int16])
def test_raw_column_counting_path_equals_generic_path(label_dtype, group_dtype):
    rng = np.random.default_rng(11)
    n = 5000
    y = rng.integers(0, 2, n).astype(label_dtype)
    p = rng.integers(0, 2, n).astype(label_dtype)
    a = (rng.integers(-3, 2, n)).astype(group_dtype)  # negative labels: offset codes
    b = rng.integers(5, 8, n).astype(group_dtype)
    b[a == -3] = 5  # empty intersections
    fast = fm.group_metrics(y, p, sensitive_features={"a": a, "b": b})
    generic = fm.group_metrics(y, p, sensitive_features={"a": a, "b": b}, sample_weight=np.ones(n))
    pd.testing.assert_frame_equal(fast, generic, check_exact=True)
    assert len(fast) == 13
    from fairfast.metrics._group_metrics import _Inputs

    assert _Inputs(y, p, sensitive_features={"a": a, "b": b}).groups.raw_columns() is not None or \
        group_dtype == np.int16
    # labels other than 0/1 through the raw path
    y3 = np.where(y.astype(bool), 2, 7).astype(np.int64)
    p3 = np.where(p.astype(bool), 2, 7).astype(np.int64)
    pd.testing.assert_frame_equal(fm.group_metrics(y3, p3, pos_label=2, sensitive_features={"a": a, "b": b}),
                                  fast, check_exact=True)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 3), st.floats(0.1, 3.0)),
                min_size=1, max_size=50), st.randoms(use_true_random=False))
def test_permutation_and_split_invariance_hypothesis(rows, rnd):
    y, p, g, w = (np.array(c) for c in zip(*rows))
    df = fm.group_metrics(y, p, sensitive_features=g, sample_weight=w, metrics=["count", "accuracy", "tpr"])
    perm = np.array(rnd.sample(range(len(y)), len(y)))
    again = fm.group_metrics(y[perm], p[perm], sensitive_features=g[perm], sample_weight=w[perm],
                             metrics=["count", "accuracy", "tpr"])
    pd.testing.assert_frame_equal(df, again, atol=1e-12)
    for label in df.index:  # one call over all groups equals one call per group
        m = g == label
        alone = fm.group_metrics(y[m], p[m], sensitive_features=g[m], sample_weight=w[m],
                                 metrics=["count", "accuracy", "tpr"])
        pd.testing.assert_series_equal(df.loc[label], alone.iloc[0], atol=1e-12, check_names=False)
