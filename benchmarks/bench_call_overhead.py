"""Per-call cost of ``WassersteinBarycenter.transform`` as the calibration set grows.

A scoring service, a CLI batch or a small Dask partition calls ``transform`` on few
rows with one fitted model, again and again: a call's overhead must not grow with the
calibration size. Groups:

- ``barycenter_call[rows=1]``: one row per call, with models fitted on ``n_calib`` =
  1e4, 1e6 and 1e7 rows (K = 2 groups of 1/3 and 2/3, the synthetic workload of
  ``bench_barycenter.py``);
- ``barycenter_call[rows=1000]``: 1,000 rows per call, models fitted on 1e4 and 1e6
  rows.

Each benchmark transforms the same rows with the public estimator API (through
``sensitive_features`` integer codes, into a preallocated ``out``), many rounds, so
that the minimum and median are the steady-state cost of a call. The output is
checked against one large call before timing. ``report()`` below prints the ratios of
the acceptance points (largest / smallest calibration size): a 1-row call at 1e7 at
most 1.5x the one at 1e4, a 1,000-row call at 1e6 within 2x of the one at 1e4.

Usage (from the repository root; the 1e7-row fit takes a few seconds)::

    python -m pytest benchmarks/bench_call_overhead.py --benchmark-group-by=group \\
        --benchmark-columns=min,median,rounds --benchmark-json=calls.json
    python benchmarks/bench_call_overhead.py calls.json     # the acceptance ratios

The same file runs against any fairfast version (only the public API is used), so a
before/after comparison is two runs of it.
"""

import json
import sys

import numpy as np
import pytest

import workloads as wl
from fairfast.postprocessing import WassersteinBarycenter

CASES = [(1, 10**4), (1, 10**6), (1, 10**7), (1000, 10**4), (1000, 10**6)]


@pytest.fixture(scope="module")
def models():
    cache = {}

    def get(n_calib):
        if n_calib not in cache:
            data = wl.make_workload("barycenter", n_calib, 2, seed=0)
            cache[n_calib] = WassersteinBarycenter(random_state=0).fit(data["z_calib"],
                                                                        sensitive_features=data["s_calib"])
        return cache[n_calib]

    return get


@pytest.mark.parametrize("rows, n_calib", CASES, ids=[f"rows{r}-calib{c:.0e}".replace("+0", "") for r, c in CASES])
def test_transform_call(benchmark, models, rows, n_calib, num_threads):
    model = models(n_calib)
    data = wl.make_workload("barycenter", max(rows, 2), 2, seed=1)
    z, s = data["z"][:rows].copy(), data["s"][:rows].copy()
    out = np.empty_like(z)
    expected = model.transform(z, sensitive_features=s)
    model.transform(z, sensitive_features=s, out=out)
    np.testing.assert_array_equal(out, expected)
    benchmark.group = f"barycenter_call[rows={rows}]"
    benchmark.extra_info.update(kernel="barycenter_call", impl="fairfast", n=n_calib, rows=rows, n_calib=n_calib,
                                threads=num_threads)
    benchmark.pedantic(model.transform, args=(z,), kwargs={"sensitive_features": s, "out": out},
                       rounds=2000 if rows == 1 else 1000, warmup_rounds=50, iterations=1)


def report(path):
    """The acceptance ratios of a run's JSON (min and median), as text."""
    with open(path) as f:
        doc = json.load(f)
    times = {}
    for b in doc["benchmarks"]:
        e = b["extra_info"]
        if e.get("kernel") == "barycenter_call":
            times[(e["rows"], e["n_calib"])] = (b["stats"]["min"], b["stats"]["median"])
    lines = []
    for rows, small, large, target in ((1, 10**4, 10**7, 1.5), (1, 10**4, 10**6, 1.5), (1000, 10**4, 10**6, 2.0)):
        if (rows, small) in times and (rows, large) in times:
            (a_min, a_med), (b_min, b_med) = times[(rows, small)], times[(rows, large)]
            lines.append(f"{rows:>5} row(s): calib {large:.0e} / {small:.0e} = {b_min / a_min:.2f}x (min), "
                         f"{b_med / a_med:.2f}x (median); {a_med * 1e6:.1f} vs {b_med * 1e6:.1f} us median; "
                         f"target <= {target}x")
    return "\n".join(lines)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(p)
        print(report(p))
