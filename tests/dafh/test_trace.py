"""trace_fit and the surrogate study script (light run; the full study is marked slow)."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from fairfast.dafh import DAFHClassifier, _kernels
from fairfast.dafh._trace import STATISTICS, epoch_statistics, trace_fit
from fairfast.metrics import without_harm_report

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _study():
    spec = importlib.util.spec_from_file_location("dafh_surrogate_study", EXAMPLES / "dafh_surrogate_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 2, n)
    X = np.column_stack([rng.normal(4.0 * c - 2.0, 1.0), rng.normal(0.0, 1.0, n)])
    y = np.where(c == 0, X[:, 1] > 0.3, X[:, 1] < -0.3).astype(int)
    return X, y


@pytest.mark.parametrize("envy", [0.0, 0.5, 1.0])
def test_epoch_statistics_against_the_kernel_and_the_report(envy):
    X, y = _data()
    clf = DAFHClassifier(hidden_layer_sizes=(4,), lam=0.7, gamma=1.5, envy_weight=envy, max_epochs=2,
                         random_state=0)
    seen = {}

    def keep(epoch, theta, beta, ctx):
        seen.update(theta=theta.copy(), beta=beta.copy(), ctx=ctx)

    clf._fit(X, y, on_epoch=keep)
    theta, beta, ctx = seen["theta"], seen["beta"], seen["ctx"]
    Z, yt = ctx["Zt"], np.asarray(ctx["yt"], dtype=np.float64)
    stats = epoch_statistics(clf, theta, beta, ctx["sizes"], ctx["log_prior"], Z, yt, n_replicates=50, seed=3)
    assert set(stats) == set(STATISTICS)
    # the full-sample objective is the kernel's objective of one batch holding every row
    F, _, _ = _kernels.batch_objective_gradient(Z, yt, theta.copy(), beta.copy(), ctx["sizes"], gamma=1.5, lam=0.7,
                                                envy=envy, log_prior=ctx["log_prior"])
    assert stats["objective"] == pytest.approx(F, rel=1e-10)
    assert stats["objective"] == pytest.approx(envy * stats["envy_term"] + stats["assignment_term"]
                                               + 0.7 * stats["regulariser"], rel=1e-12)
    assert stats["paper_objective"] - stats["objective"] == pytest.approx((1 - envy) * stats["envy_term"])
    pi, score = _kernels.forward(Z, theta, beta, ctx["sizes"])
    groups = pi.argmax(axis=1)
    preds = (score > 0).astype(int)
    pooled = (Z @ clf.pooled_coef_ + clf.pooled_intercept_ > 0).astype(int)
    report = without_harm_report(yt, preds, groups, pooled_predictions=pooled, n_replicates=50, random_state=3)
    assert stats["individual"] == report.individual and stats["bootstrap"] == report.bootstrap_probability
    assert stats["group_share"] == report.group_share and stats["accuracy"] == report.accuracy
    # rows: slow loops
    n = yt.size
    own_wrong = [preds[i, groups[i]] != yt[i] for i in range(n)]
    envy_rows = np.mean([own_wrong[i] and any(preds[i, j] == yt[i] for j in range(2) if j != groups[i])
                         for i in range(n)])
    assert stats["envy_rows"] == pytest.approx(envy_rows)
    assert stats["irrational_rows"] == pytest.approx(np.mean([own_wrong[i] and pooled[i] == yt[i] for i in range(n)]))
    R = report.risk_matrix
    assert stats["envy_margin"] == pytest.approx(min(R[0, 1] - R[0, 0], R[1, 0] - R[1, 1]))


def test_trace_fit_records_every_epoch_and_part():
    X, y = _data(seed=1)
    clf = DAFHClassifier(hidden_layer_sizes=(4,), max_epochs=4, n_iter_no_change=10, random_state=0)
    records = trace_fit(clf, X, y, n_replicates=20)
    assert [(r["epoch"], r["part"]) for r in records] == [(e, p) for e in range(5) for p in ("train", "validation")]
    assert np.isnan(records[0]["batch_objective"])
    assert [r["batch_objective"] for r in records[2::2]] == clf.history_["objective"]
    with pytest.raises(ValueError, match="early_stopping=True"):
        trace_fit(DAFHClassifier(early_stopping=False), X, y)


def test_spearman_matches_scipy():
    study = _study()
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 30).astype(float)  # ties
    b = a + rng.normal(size=30)
    assert study.spearman(a, b) == pytest.approx(spearmanr(a, b)[0], rel=1e-12)
    assert np.isnan(study.spearman(np.ones(5), np.arange(5)))


def test_study_runs_end_to_end(tmp_path):
    # light version of the study: German credit, one seed, three epochs, the defaults only
    study = _study()
    records, corr = study.run_study(["german"], 1, 3, "base", str(tmp_path), n_replicates=20, log=None)
    assert len(records) == 3 * 4 * 2  # variants x epochs 0..3 x parts
    assert set(records.variant) == {"paper", "shipped", "warm"}
    assert len(corr) == 3 * 2 and set(corr.part) == {"train", "validation"}
    saved = pd.read_csv(tmp_path / "correlations.csv")
    assert len(saved) == len(corr)
    # the correlations are those of the recorded columns
    run = records[(records.variant == "paper") & (records.epoch >= 1)]
    train, val = run[run.part == "train"], run[run.part == "validation"]
    row = corr[(corr.variant == "paper") & (corr.part == "validation")].iloc[0]
    assert row.bootstrap == pytest.approx(study.spearman(train.objective, val.bootstrap), nan_ok=True)
    text = study.tables(records, corr)
    assert "| german | paper |" in text and "| german | shipped |" in text
    study.plot(records, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    # a rerun resumes: nothing is trained again, the records are the same
    again, _ = study.run_study(["german"], 1, 3, "base", str(tmp_path), n_replicates=20, log=None)
    pd.testing.assert_frame_equal(again.reset_index(drop=True), records.reset_index(drop=True))


@pytest.mark.slow
def test_shipped_objective_moves_with_the_headline_estimator(tmp_path):
    # Acceptance (issue 19): on every data set the shipped objective's rank correlation
    # over epochs with the bootstrap probability is positive on the training rows.
    study = _study()
    _, corr = study.run_study(list(study.DATASETS), 3, 40, "base", str(tmp_path), log=None)
    shipped = corr[(corr.variant == "shipped") & (corr.part == "train")]
    means = shipped.groupby("dataset").bootstrap.mean()
    assert len(means) == 4 and (means > 0).all(), means
