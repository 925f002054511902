"""Benchmark of ``fairfast.dask.transform`` against the in-memory transform.

Group ``dask-transform``: a ``WassersteinBarycenter`` fitted on 1e5 calibration rows
(two groups) transforms n rows (float64 scores, int32 groups)

- ``in-memory``: ``model.transform`` on numpy arrays (fairfast's default threads);
- ``dask-array``: ``fairfast.dask.transform`` of a persisted ``dask.array`` in blocks of
  1e6 rows, computed on a ``distributed.LocalCluster`` (2 workers x 1 thread,
  ``processes=False``; fairfast kernels at 1 thread per worker);
- ``dask-dataframe``: the same on a persisted ``dask.dataframe`` with 10 partitions
  (including the pass that counts the partitions' rows for the row offsets, and
  gathering the resulting frame).

Every result is compared with the in-memory transform (bit for bit). ``extra_info``
records the overhead ratio (Dask time / in-memory time of the same run).

Usage (from the repository root; n = 1e6 and 1e7, about a minute)::

    python -m pytest benchmarks/bench_dask.py -o python_files='bench_*.py' --benchmark-only
"""

import os
import time
import warnings

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

_TIMES = {}


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def model():
    from fairfast.postprocessing import WassersteinBarycenter

    rng = np.random.default_rng(1)
    g = (rng.random(10**5) < 0.3).astype(np.int32)
    return WassersteinBarycenter(random_state=0).fit(rng.normal(size=10**5) + 0.5 * g, sensitive_features=g)


_DATA = {}


def _data(n):
    if n not in _DATA:
        _DATA.clear()
        rng = np.random.default_rng(0)
        g = (rng.random(n) < 0.3).astype(np.int32)
        _DATA[n] = (rng.normal(size=n) + 0.5 * g, g)
    return _DATA[n]


@pytest.mark.parametrize("n", [10**6, 10**7], ids=["1e6", "1e7"])
@pytest.mark.parametrize("impl", ["in-memory", "dask-array", "dask-dataframe"])
def test_dask_transform(benchmark, client, model, impl, n):
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd

    import fairfast
    import fairfast.dask as ffd

    z, g = _data(n)
    expected_key = ("expected", n)
    if expected_key not in _TIMES:
        _TIMES[expected_key] = model.transform(z, sensitive_features=g)
    expected = _TIMES[expected_key]
    benchmark.group = "dask-transform"
    if impl == "in-memory":
        def run():
            return model.transform(z, sensitive_features=g)
        threads = fairfast.get_num_threads()
        partitions = 1
    elif impl == "dask-array":
        with warnings.catch_warnings():  # setup only: the numpy data goes into the graph once
            warnings.simplefilter("ignore", UserWarning)
            zs = client.persist(da.from_array(z, chunks=10**6))
            gs = client.persist(da.from_array(g, chunks=10**6))
            distributed.wait([zs, gs])

        def run():
            return ffd.transform(model, zs, sensitive=gs).compute()
        threads = 1
        partitions = zs.numblocks[0]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ddf = client.persist(dd.from_pandas(pd.DataFrame({"score": z, "group": g}), npartitions=10, sort=False))
            distributed.wait(ddf)

        def run():
            return ffd.transform(model, ddf, scores="score", sensitive="group")["score_fair"].compute().to_numpy()
        threads = 1
        partitions = ddf.npartitions
    with fairfast.thread_limit(threads):
        t0 = time.perf_counter()
        result = run()
        probe = time.perf_counter() - t0
        assert np.array_equal(result, expected), f"{impl} differs from the in-memory transform"
        del result
        rounds = max(1, min(10, int(4.0 / max(probe, 1e-3))))
        benchmark.pedantic(run, rounds=rounds, iterations=1)
    median = benchmark.stats.stats.median
    _TIMES[(impl, n)] = median
    info = {"impl": impl, "n": n, "partitions": partitions, "threads_per_task": threads, "rounds": rounds,
            "workers": 2 if impl != "in-memory" else 0, "cpu_count": os.cpu_count(), "check": "bit-identical"}
    if impl != "in-memory" and ("in-memory", n) in _TIMES:
        info["overhead_ratio"] = median / _TIMES[("in-memory", n)]
    benchmark.extra_info.update(info)
    print(f"\n{impl} n={n:.0e}: median {median * 1e3:.1f} ms"
          + (f", {info['overhead_ratio']:.2f}x in-memory" if "overhead_ratio" in info else ""))
