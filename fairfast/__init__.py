"""fairfast: fast, exact group fairness for model outputs and representations.

Sub-packages are imported on first use, so ``import fairfast`` stays cheap:

- :mod:`fairfast.transport` -- 1-D optimal transport (CDFs, quantiles, distances).
- :mod:`fairfast.postprocessing` -- Wasserstein-barycenter post-processing and group
  thresholds that never cherry-pick.
- :mod:`fairfast.metrics` -- group metrics, disparities, audits, bootstrap intervals.
- :mod:`fairfast.steering` -- optimal steering of representations to ideal distributions.
- :mod:`fairfast.dafh` -- demographic-agnostic fairness without harm.
- :mod:`fairfast.performative` -- performative policy learning with ex-post fairness.
- :mod:`fairfast.datasets` -- Adult, COMPAS and German credit, shipped with the package.
- :mod:`fairfast.io`, :mod:`fairfast.dask`, :mod:`fairfast.bench` -- model files and
  streamed scoring, Dask, the scale benchmarks.
"""

import importlib as _importlib

from ._base.config import get_num_threads, set_num_threads, show_config, thread_limit

from ._base.version import __version__

_SUBMODULES = {
    "bench",
    "cli",
    "dafh",
    "dask",
    "datasets",
    "io",
    "metrics",
    "performative",
    "postprocessing",
    "steering",
    "transport",
}

__all__ = [
    "__version__",
    "load",
    "SensitiveFeatures",
    "SmallGroupWarning",
    "get_num_threads",
    "set_num_threads",
    "show_config",
    "thread_limit",
    *sorted(_SUBMODULES),
]


def load(path):
    """Load a fitted fairfast model from a model file (see :func:`fairfast.io.load`).

    Loading never executes code from the file; a damaged, tampered or newer-format
    file raises ``ValueError``.
    """
    # through importlib: the root package is a facade over every layer, not one of them
    return _importlib.import_module(f"{__name__}.io").load(path)


def __getattr__(name):
    if name in ("SensitiveFeatures", "SmallGroupWarning"):
        from ._base import grouping

        return getattr(grouping, name)
    if name in _SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fairfast' has no attribute {name!r}")


def __dir__():
    return __all__
