"""The barycenter transform's ways of ranking a row, side by side.

``barycenter_paths[n_calib]``: transform of 1e7 rows (K = 2, the workload of
``bench_barycenter.py``) with a model fitted on ``n_calib`` = 1e4, 1e5 or 1e6 rows,
each path forced through the compiled stage's ``path`` argument:

- ``plain``: bucket index, fixed window of values, table entry, in row order;
- ``pipelined``: the same reads, software-pipelined over successive rows;
- ``lookup``: one prefetched 64-byte line per row (``csrc/fairfast/rank_lookup.hpp``),
  what ``WassersteinBarycenter`` uses for fits of 4,097 to 2**20 rows once it has
  transformed four times its calibration rows.

Every path's output is checked equal (bit for bit) to the plain one before timing.
Run (about a minute)::

    python -m pytest benchmarks/bench_transform_paths.py --benchmark-group-by=group \\
        --benchmark-columns=min,median,rounds
"""

import numpy as np
import pytest

from fairfast.postprocessing import WassersteinBarycenter

N_ROWS = 10**7
PATHS = {"plain": 1, "pipelined": 2, "lookup": 4}


@pytest.fixture(scope="module")
def rows(workload_cache):
    data = workload_cache.get("barycenter_transform", N_ROWS, 2)
    return data["z"], data["s"]


@pytest.fixture(scope="module", params=[10**4, 10**5, 10**6], ids=["calib1e4", "calib1e5", "calib1e6"])
def fitted(request, workload_cache):
    data = workload_cache.get("barycenter", request.param, 2)
    model = WassersteinBarycenter(random_state=0).fit(data["z_calib"], sensitive_features=data["s_calib"])
    core = model.stages_[0].core
    lookup_bytes = core.build_lookups()  # whatever the calibration size, for the forced lookup path
    return request.param, core, lookup_bytes


@pytest.mark.parametrize("path", list(PATHS))
def test_rank_path(benchmark, fitted, rows, path, num_threads):
    n_calib, core, lookup_bytes = fitted
    z, s = rows
    out = np.empty_like(z)
    out.fill(0.0)

    def run(p):
        res, status, row = core.transform(z, s, 0.0, 0, out, 0, p)
        assert row < 0, status
        return res

    expected = run(PATHS["plain"]).copy()
    np.testing.assert_array_equal(run(PATHS[path]), expected)
    benchmark.group = f"barycenter_paths[calib={n_calib:.0e}]"
    benchmark.extra_info.update(n_calib=n_calib, n=N_ROWS, path=path, threads=num_threads,
                                lookup_bytes=lookup_bytes)
    benchmark.pedantic(run, args=(PATHS[path],), rounds=5, iterations=1)
