"""fairfast: fast, exact group fairness for model outputs and representations.

Sub-packages are imported on first use, so ``import fairfast`` stays cheap:

- :mod:`fairfast.transport` -- 1-D optimal transport (CDFs, quantiles, distances).
- :mod:`fairfast.postprocessing` -- Wasserstein-barycenter post-processing.
- :mod:`fairfast.metrics` -- fairness measures.
- :mod:`fairfast.datasets` -- Adult, COMPAS and German credit, shipped with the package.
"""

import importlib as _importlib

from ._config import get_num_threads, set_num_threads, show_config, thread_limit

__version__ = "0.1.0"

_SUBMODULES = {
    "cli",
    "dafh",
    "datasets",
    "metrics",
    "performative",
    "postprocessing",
    "steering",
    "transport",
}

__all__ = [
    "__version__",
    "get_num_threads",
    "set_num_threads",
    "show_config",
    "thread_limit",
    *sorted(_SUBMODULES),
]


def __getattr__(name):
    if name in _SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fairfast' has no attribute {name!r}")


def __dir__():
    return __all__
