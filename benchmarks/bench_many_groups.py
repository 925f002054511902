"""Many small groups: 1e5 groups of 2 to 20 rows (about 1.1e6 rows).

- ``many_groups[barycenter]``: ``WassersteinBarycenter.fit_transform`` on the rows (the
  step tables come from one sweep over every group's breakpoints, see
  ``csrc/fairfast/barycenter_sweep.hpp``);
- ``many_groups[group_metrics]``: :func:`fairfast.metrics.group_metrics` (count,
  selection rate, accuracy, true and false positive rates) by the 1e5 groups.

Integer group codes (encoding labels is the grouping component's part). The outputs
are checked (group counts, a fairness property) before timing. The target of the
many-groups issue is under 10 s each on 2 cores; times are reported, never asserted::

    python -m pytest benchmarks/bench_many_groups.py --benchmark-group-by=group \\
        --benchmark-columns=min,median,rounds
"""

import numpy as np
import pytest

from fairfast.metrics import group_metrics
from fairfast.postprocessing import WassersteinBarycenter

N_GROUPS = 100_000


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    sizes = rng.integers(2, 21, N_GROUPS)
    codes = rng.permutation(np.repeat(np.arange(N_GROUPS), sizes))
    z = rng.normal(codes % 13, 1.0)
    y = (rng.random(codes.size) < 0.4).astype(np.int64)
    p = (rng.random(codes.size) < 0.5).astype(np.int64)
    return z, codes, y, p


def test_barycenter_fit_transform(benchmark, rows, num_threads):
    z, codes, _, _ = rows

    def run():
        return WassersteinBarycenter(random_state=0).fit_transform(z, sensitive_features=codes)

    out = run()
    counts = np.bincount(codes)
    a, b = np.flatnonzero(counts == counts.max())[:2]
    np.testing.assert_array_equal(np.sort(out[codes == a]), np.sort(out[codes == b]))  # equal sizes: equal outputs
    benchmark.group = "many_groups[barycenter]"
    benchmark.extra_info.update(kernel="many_groups", impl="fairfast", n=z.size, n_groups=N_GROUPS, threads=num_threads)
    benchmark.pedantic(run, rounds=3, iterations=1)


def test_group_metrics(benchmark, rows, num_threads):
    _, codes, y, p = rows
    metrics = ["count", "selection_rate", "accuracy", "true_positive_rate", "false_positive_rate"]

    def run():
        return group_metrics(y, p, sensitive_features=codes, metrics=metrics)

    df = run()
    np.testing.assert_array_equal(df["count"].to_numpy(), np.bincount(codes))
    benchmark.group = "many_groups[group_metrics]"
    benchmark.extra_info.update(kernel="many_groups", impl="fairfast", n=codes.size, n_groups=N_GROUPS,
                                threads=num_threads)
    benchmark.pedantic(run, rounds=3, iterations=1)
