"""Scale benchmarks of fairfast's kernels, as a library and as ``fairfast bench``.

The workloads (synthetic data builders, the implementations of each kernel -- fairfast,
the numpy reference and the optional peers SciPy, POT and EquiPy -- and the agreement
checks) are shared with the pytest-benchmark suite in the repository's
``benchmarks/`` directory. :func:`run_benchmarks` measures each implementation's
median time, throughput and peak memory (RSS growth during a call, in a fresh process
per measurement); :func:`format_table`, :func:`write_json` and :func:`plot` report a
run. See ``docs/bench.md`` for what is measured and how.

Examples
--------
>>> from fairfast.bench import make_workload, implementations, check_agreement
>>> data = make_workload("w2", 1000, seed=1)
>>> fn = implementations("w2")["fairfast"].prepare(data)
>>> check_agreement("w2", "fairfast", data, fn())["reference"]
'numpy'
"""

from ._agreement import DisagreementError, check_agreement
from ._implementations import Implementation, implementations
from ._references import numpy_barycenter_fit, numpy_barycenter_transform, numpy_ks, numpy_wasserstein
from ._report import format_table, machine_info, plot, write_json
from ._memory import MemoryProbe
from ._runner import choose_rounds, measure, run, run_benchmarks
from ._scaling import run_thread_scaling
from ._workloads import KERNELS, N_CALIB_TRANSFORM, SIZES, make_workload, read_parquet_columns, workload_from_arrays

__all__ = [
    "KERNELS",
    "N_CALIB_TRANSFORM",
    "SIZES",
    "DisagreementError",
    "Implementation",
    "MemoryProbe",
    "check_agreement",
    "choose_rounds",
    "format_table",
    "implementations",
    "machine_info",
    "make_workload",
    "measure",
    "numpy_barycenter_fit",
    "numpy_barycenter_transform",
    "numpy_ks",
    "numpy_wasserstein",
    "plot",
    "read_parquet_columns",
    "run",
    "run_benchmarks",
    "run_thread_scaling",
    "workload_from_arrays",
    "write_json",
]
