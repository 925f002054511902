"""Implementations of the benchmarked kernels: fairfast, the numpy references and the peers.

The registry (:func:`implementations`) holds ``"fairfast"``, the vectorised numpy
reference ``"numpy"`` (:mod:`fairfast.bench._references`), the peers ``"scipy"``,
``"pot"`` and ``"equipy"`` where they compute the same thing, and the ``"copyto"``
memory-bandwidth baseline of the transform-only kernel. Peers are optional: an
implementation whose package is not installed reports ``available() == False``.

An implementation's ``prepare(data)`` does the untimed set-up (fitting for the
transform-only kernel, allocating and touching output buffers) and returns the
zero-argument callable that is timed.

Examples
--------
>>> from fairfast.bench._implementations import implementations
>>> from fairfast.bench._workloads import make_workload
>>> sorted(implementations("ks"))
['fairfast', 'numpy', 'scipy']
>>> fn = implementations("ks")["fairfast"].prepare(make_workload("ks", 1000, seed=0))
>>> 0 <= fn() <= 1
True
"""

import importlib.util
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ._references import numpy_barycenter_fit, numpy_barycenter_transform, numpy_ks, numpy_wasserstein
from ._workloads import KERNELS, _check_kernel

__all__ = ["Implementation", "implementations"]

#: Distribution names of the modules the implementations import, where they differ.
_DISTRIBUTIONS = {"ot": "POT"}


@dataclass(frozen=True)
class Implementation:
    """One implementation of a kernel.

    ``prepare(data)`` performs the untimed set-up and returns the zero-argument callable
    to time; ``requires`` names the modules it imports; ``slow_above`` is the size above
    which a run costs minutes (callers may skip it or time a single round); ``kind`` is
    ``"fairfast"``, ``"reference"`` (the numpy reference), ``"peer"`` (another library)
    or ``"baseline"`` (a lower bound such as a memory copy).
    """

    kernel: str
    name: str
    prepare: Callable[[dict], Callable[[], object]]
    requires: tuple = ()
    slow_above: float = float("inf")
    note: str = field(default="", compare=False)
    kind: str = "peer"

    def available(self):
        """True when every module in ``requires`` can be imported."""
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def versions(self):
        """``{distribution: version}`` of the installed packages in ``requires``."""
        from importlib import metadata

        out = {}
        for module in self.requires:
            dist = _DISTRIBUTIONS.get(module, module)
            try:
                out[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return out


def _distance(kernel, functions):
    """``prepare`` of a distance kernel; ``functions()`` gives ``(ks, wasserstein)``, called
    at preparation so that imports stay out of the registry and the timed calls."""
    def prepare(data):
        ks, wasserstein = functions()
        u, v = data["u"], data["v"]
        if kernel == "ks":
            return lambda: ks(u, v)
        p = 1 if kernel == "w1" else 2
        return lambda: wasserstein(u, v, p=p)

    return prepare


def _fairfast_distances():
    from fairfast.transport import ks_distance, wasserstein_distance

    return ks_distance, wasserstein_distance


def _ff_distance(kernel):
    return _distance(kernel, _fairfast_distances)


def _np_distance(kernel):
    return _distance(kernel, lambda: (numpy_ks, numpy_wasserstein))


def _scipy_w1(data):
    from scipy.stats import wasserstein_distance

    u, v = data["u"], data["v"]
    return lambda: float(wasserstein_distance(u, v))


def _scipy_ks(data):
    from scipy.stats import ks_2samp

    u, v = data["u"], data["v"]
    # method="asymp": the cheapest p-value; "auto" would run the exact one below 10^4.
    return lambda: float(ks_2samp(u, v, method="asymp").statistic)


def _pot_distance(p):
    def prepare(data):
        import ot

        u, v = data["u"], data["v"]
        if p == 1:
            return lambda: float(ot.wasserstein_1d(u, v, p=1))
        return lambda: float(ot.wasserstein_1d(u, v, p=p)) ** (1.0 / p)

    return prepare


def _ff_fit_transform(interpolation="step"):
    def prepare(data):
        from fairfast.postprocessing import WassersteinBarycenter

        zc, sc, z, s = data["z_calib"], data["s_calib"], data["z"], data["s"]

        def fit_transform():
            model = WassersteinBarycenter(interpolation=interpolation, random_state=0)
            return model.fit(zc, sensitive_features=sc).transform(z, sensitive_features=s)

        return fit_transform

    return prepare


def _np_fit_transform(data):
    zc, sc, z, s, k = data["z_calib"], data["s_calib"], data["z"], data["s"], data["n_groups"]
    return lambda: numpy_barycenter_transform(numpy_barycenter_fit(zc, sc, k), z, s)


def _equipy_fit_transform(data):
    from equipy.fairness import FairWasserstein

    zc, sc, z, s = data["z_calib"], data["s_calib"], data["z"], data["s"]

    def fit_transform():
        model = FairWasserstein(sigma=0.0, seed=0)
        model.fit(zc, sc)
        return model.transform(z, s)

    return fit_transform


def _touched_like(z):
    out = np.empty_like(z)
    out.fill(0.0)  # fault the pages in now, not inside the timed call
    return out


def _ff_transform(data):
    from fairfast.postprocessing import WassersteinBarycenter

    model = WassersteinBarycenter(random_state=0).fit(data["z_calib"], sensitive_features=data["s_calib"])
    z, s, out = data["z"], data["s"], _touched_like(data["z"])
    return lambda: model.transform(z, sensitive_features=s, out=out)


def _np_transform(data):
    model = numpy_barycenter_fit(data["z_calib"], data["s_calib"], data["n_groups"])
    z, s, out = data["z"], data["s"], _touched_like(data["z"])
    return lambda: numpy_barycenter_transform(model, z, s, out=out)


def _copyto(data):
    z, out = data["z"], _touched_like(data["z"])

    def copy():
        np.copyto(out, z)
        return out

    return copy


def _registry():
    reg = {k: {} for k in KERNELS}

    def add(kernel, name, prepare, requires=(), slow_above=float("inf"), note="", kind="peer"):
        reg[kernel][name] = Implementation(kernel, name, prepare, tuple(requires), slow_above, note, kind)

    for kernel in ("w1", "w2", "ks"):
        add(kernel, "fairfast", _ff_distance(kernel), ["fairfast"], kind="fairfast")
        add(kernel, "numpy", _np_distance(kernel), kind="reference", note="sort + np.searchsorted reference")
    add("w1", "scipy", _scipy_w1, ["scipy"], note="scipy.stats.wasserstein_distance")
    add("ks", "scipy", _scipy_ks, ["scipy"], note="scipy.stats.ks_2samp(method='asymp')")
    add("w1", "pot", _pot_distance(1), ["ot"], note="ot.wasserstein_1d(p=1)")
    add("w2", "pot", _pot_distance(2), ["ot"], note="ot.wasserstein_1d(p=2) ** 0.5")
    add("barycenter", "fairfast", _ff_fit_transform(), ["fairfast"], kind="fairfast")
    add("barycenter", "numpy", _np_fit_transform, kind="reference", note="sorted queries + np.searchsorted")
    add(
        "barycenter", "equipy", _equipy_fit_transform, ["equipy"], slow_above=1e6,
        note="equipy.fairness.FairWasserstein(sigma=0)",
    )
    add("barycenter_transform", "fairfast", _ff_transform, ["fairfast"], kind="fairfast")
    add("barycenter_transform", "numpy", _np_transform, slow_above=1e7, kind="reference",
        note="sorted queries + np.searchsorted")
    add("barycenter_transform", "copyto", _copyto, kind="baseline", note="np.copyto into a preallocated array")
    return reg


_REGISTRY = _registry()


def implementations(kernel):
    """``{name: Implementation}`` of `kernel`, installed or not (see ``available()``).

    Examples
    --------
    >>> from fairfast.bench import implementations
    >>> list(implementations("barycenter_transform"))
    ['fairfast', 'numpy', 'copyto']
    """
    _check_kernel(kernel)
    return dict(_REGISTRY[kernel])
