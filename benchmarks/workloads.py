"""Benchmark workloads for the fairfast kernels (re-exported from ``fairfast.bench``).

The data builders, the implementation registry (fairfast, the numpy reference and the
optional peers SciPy, POT and EquiPy) and the agreement checks live in
``fairfast/bench/_workloads.py``, so that this pytest-benchmark suite and the
``fairfast bench`` command measure the very same workloads. This module keeps the
names the suite (and scripts importing ``workloads``) use; it works without pytest.

Examples
--------
>>> import workloads as wl
>>> data = wl.make_workload("ks", 1000, seed=0)
>>> sorted(wl.implementations("ks"))
['fairfast', 'numpy', 'scipy']
>>> impl = wl.implementations("ks")["fairfast"]
>>> info = wl.check_agreement("ks", "fairfast", data, impl.prepare(data)())
>>> info["reference"]
'numpy'
>>> result = wl.run("w1", "fairfast", 1000, repeat=3)
>>> result["rounds"], result["check"]["reference"]
(3, 'numpy')
"""

from fairfast.bench._runner import choose_rounds, run
from fairfast.bench._agreement import DisagreementError, check_agreement
from fairfast.bench._implementations import Implementation, implementations
from fairfast.bench._references import numpy_barycenter_fit, numpy_barycenter_transform, numpy_ks, numpy_wasserstein
from fairfast.bench._workloads import KERNELS, N_CALIB_TRANSFORM, SIZES, make_workload

__all__ = [
    "DisagreementError",
    "Implementation",
    "KERNELS",
    "N_CALIB_TRANSFORM",
    "SIZES",
    "check_agreement",
    "choose_rounds",
    "implementations",
    "make_workload",
    "numpy_barycenter_fit",
    "numpy_barycenter_transform",
    "numpy_ks",
    "numpy_wasserstein",
    "run",
]
