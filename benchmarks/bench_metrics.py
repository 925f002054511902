"""Benchmarks of fairfast.metrics against fairlearn's MetricFrame and a numpy reference.

Run from the repository root::

    python -m pytest benchmarks/bench_metrics.py -o python_files='bench_*.py' --benchmark-only \
        --benchmark-group-by=group --benchmark-columns=min,median,rounds

Workload: n rows of 0/1 labels and predictions (int64) and two integer sensitive columns
(5 and 2 values, e.g. race and sex). Each implementation computes selection rate,
accuracy, true and false positive rates by one column and by the two columns'
intersections, from the same raw arrays:

- ``fairfast``: :func:`fairfast.metrics.group_metrics` (encoding, one compiled pass,
  DataFrame result);
- ``numpy``: mixed-radix codes and four ``np.bincount`` calls (no labels, no DataFrame);
- ``fairlearn``: ``MetricFrame`` with fairlearn's and scikit-learn's metric functions.
  Above 1e6 rows it is timed only with ``--bench-slow-peers`` (a minute or more per
  call), in a single round.

Every result is checked against fairfast's before timing. ``bootstrap`` times a
1000-replicate stratified bootstrap interval of the demographic parity difference and of
the equalized odds difference (multinomial scheme), and a 100-replicate row-level
(index scheme) bootstrap of the weighted report for reference.

Sizes: 1e6 and 1e7 (``SIZES``), always both in one run. The ``n_rows`` parameter is
deliberately not called ``n``, which ``benchmarks/conftest.py`` parametrizes for the other
kernels.
"""

import os
import time

import numpy as np
import pytest

SIZES = (10**6, 10**7)
METRICS = ["selection_rate", "accuracy", "true_positive_rate", "false_positive_rate"]
_DATA = {}


def _ids(values):
    return [f"{v:.0e}".replace("+0", "") for v in values]


def _workload(n_rows):
    if n_rows not in _DATA:
        _DATA.clear()  # keep one size in memory
        rng = np.random.default_rng(0)
        race = rng.choice(5, n_rows, p=[0.4, 0.3, 0.15, 0.1, 0.05]).astype(np.int64)
        sex = rng.integers(0, 2, n_rows).astype(np.int64)
        y = (rng.random(n_rows) < 0.3 + 0.05 * race).astype(np.int64)
        p = (rng.random(n_rows) < np.where(y == 1, 0.7, 0.2)).astype(np.int64)
        _DATA[n_rows] = {"y": y, "p": p, "race": race, "sex": sex, "w": rng.random(n_rows) + 0.5}
    return _DATA[n_rows]


def _threads():
    import fairfast

    return fairfast.get_num_threads()


# ----------------------------------------------------------------------------------
# implementations: each returns an (n_groups, 4) array in METRICS order
# ----------------------------------------------------------------------------------


def _fairfast(y, p, cols):
    from fairfast.metrics import group_metrics

    sf = {f"c{j}": c for j, c in enumerate(cols)}
    return group_metrics(y, p, sensitive_features=sf, metrics=METRICS)


def _numpy(y, p, cols):
    codes = cols[0]
    for c in cols[1:]:
        codes = codes * (int(c.max()) + 1) + c
    k = int(codes.max()) + 1
    n_g = np.bincount(codes, minlength=k)
    pos = np.bincount(codes, weights=p, minlength=k)
    y1 = np.bincount(codes, weights=y, minlength=k)
    tp = np.bincount(codes, weights=y & p, minlength=k)
    keep = n_g > 0
    n_g, pos, y1, tp = n_g[keep], pos[keep], y1[keep], tp[keep]
    return np.column_stack([pos / n_g, (n_g - y1 - pos + 2 * tp) / n_g, tp / y1, (pos - tp) / (n_g - y1)])


def _fairlearn(y, p, cols):
    import pandas as pd
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score

    mf = MetricFrame(metrics={"selection_rate": selection_rate, "accuracy": accuracy_score,
                              "true_positive_rate": true_positive_rate,
                              "false_positive_rate": false_positive_rate},
                     y_true=y, y_pred=p, sensitive_features=pd.DataFrame({f"c{j}": c for j, c in enumerate(cols)}))
    return mf.by_group


IMPLS = {"fairfast": _fairfast, "numpy": _numpy, "fairlearn": _fairlearn}


def _as_array(result):
    return np.asarray(result.to_numpy() if hasattr(result, "to_numpy") else result, dtype=np.float64)


@pytest.mark.parametrize("n_rows", SIZES, ids=_ids(SIZES))
@pytest.mark.parametrize("columns", [1, 2], ids=["1col", "2col"])
@pytest.mark.parametrize("impl", list(IMPLS))
def test_group_metrics(benchmark, request, impl, columns, n_rows):
    if impl == "fairlearn":
        pytest.importorskip("fairlearn")
    slow = impl == "fairlearn" and n_rows > 10**6
    if slow and not request.config.getoption("--bench-slow-peers", default=False):
        pytest.skip("MetricFrame above 1e6 rows needs --bench-slow-peers (a minute or more per call)")
    d = _workload(n_rows)
    cols = [d["race"], d["sex"]][:columns]
    fn = IMPLS[impl]
    benchmark.group = f"group_metrics-{columns}col"
    if impl == "fairlearn":
        t0 = time.perf_counter()
        result = benchmark.pedantic(fn, args=(d["y"], d["p"], cols), rounds=1, iterations=1)
        probe = time.perf_counter() - t0
    else:
        fn(d["y"], d["p"], cols)  # warm-up
        t0 = time.perf_counter()
        result = fn(d["y"], d["p"], cols)
        probe = time.perf_counter() - t0
        rounds = int(min(50, max(5, 2.0 / max(probe, 1e-4))))
        benchmark.pedantic(fn, args=(d["y"], d["p"], cols), rounds=rounds, iterations=1)
    reference = _as_array(_fairfast(d["y"], d["p"], cols))
    np.testing.assert_allclose(_as_array(result), reference, rtol=1e-10, atol=1e-12)
    benchmark.extra_info.update(kernel="group_metrics", impl=impl, n=n_rows, columns=columns,
                                threads=_threads(), cpu_count=os.cpu_count(), check="agrees with fairfast",
                                probe_seconds=probe)


@pytest.mark.parametrize("n_rows", SIZES, ids=_ids(SIZES))
@pytest.mark.parametrize("disparity", ["demographic_parity_difference", "equalized_odds_difference"])
def test_bootstrap_disparity(benchmark, disparity, n_rows):
    from fairfast.metrics import bootstrap_disparity

    d = _workload(n_rows)
    sf = {"race": d["race"], "sex": d["sex"]}

    def run():
        return bootstrap_disparity(disparity, d["y"], d["p"], sensitive_features=sf, n_replicates=1000,
                                   random_state=0)

    benchmark.group = "bootstrap-1000"
    est, low, high, reps = run()
    assert low <= est <= high and reps.shape == (1000,)
    benchmark.pedantic(run, rounds=5, iterations=1)
    benchmark.extra_info.update(kernel="bootstrap", impl="fairfast", n=n_rows, disparity=disparity,
                                replicates=1000, threads=_threads(), interval=[low, high])


@pytest.mark.parametrize("n_rows", SIZES[:1], ids=_ids(SIZES[:1]))
def test_bootstrap_weighted_report(benchmark, n_rows):
    from fairfast.metrics import GroupReport

    d = _workload(n_rows)
    report = GroupReport(d["y"], d["p"], sensitive_features=d["race"], sample_weight=d["w"], metrics=METRICS)
    benchmark.group = "bootstrap-index-100"
    res = benchmark.pedantic(report.bootstrap, kwargs={"n_replicates": 100, "random_state": 0}, rounds=1,
                             iterations=1)
    assert res.scheme == "index"
    benchmark.extra_info.update(kernel="bootstrap-index", impl="fairfast", n=n_rows, replicates=100,
                                threads=_threads())
