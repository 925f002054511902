"""The core's parallel radix sort against ``np.sort``, which it replaces in the fit and the
distances.

Group ``sort[dtype]``: a sorted copy of n normal values (1e5, 1e6, 1e7), ``impl`` in
``fairfast`` (``fairfast._core.sort.sorted``, at ``--bench-threads`` threads) and
``numpy`` (``np.sort``, one thread). Both results are checked equal (as numbers; the
core also orders -0.0 before +0.0) before timing. Run the suite twice, with
``--bench-threads=1`` and ``--bench-threads=2``, to see the radix sort's own scaling::

    python -m pytest benchmarks/bench_sort.py --bench-threads=1 --benchmark-group-by=group,param:n \\
        --benchmark-columns=min,median,rounds
"""

import numpy as np
import pytest

from fairfast import _core


@pytest.mark.bench_sizes(10**5, 10**6, 10**7)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("impl", ["fairfast", "numpy"])
def test_sort(benchmark, impl, dtype, n, num_threads):
    x = np.random.default_rng(0).standard_normal(n).astype(dtype)
    fn = (lambda: _core.sort.sorted(x)) if impl == "fairfast" else (lambda: np.sort(x))
    np.testing.assert_array_equal(fn(), np.sort(x))
    benchmark.group = f"sort[{dtype}]"
    benchmark.extra_info.update(kernel="sort", impl=impl, n=n, dtype=dtype, threads=num_threads if impl == "fairfast" else 1)
    benchmark.pedantic(fn, rounds=5 if n >= 10**7 else 20, iterations=1, warmup_rounds=1)
