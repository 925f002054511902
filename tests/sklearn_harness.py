"""scikit-learn's estimator checks for estimators that need ``sensitive_features``.

The checks call ``fit(X, y)``, ``transform(X)``, ``predict(X)``, ... with nothing else,
and fairfast refuses to guess groups. :func:`with_groups` gives each such estimator a
test subclass whose methods supply ``sensitive_features`` when the caller does not:
the group of a row is a hash of its first feature, so it depends on that row alone
(subsets, reorderings and repeated calls of the checks see the same groups) and the
two groups are about equally large whatever the data. Everything else -- parameters,
validation, fitted state, outputs -- is the estimator's own; the subclass keeps the
class's name, so the checks' messages name the real estimator, and it pickles (it lives
in this module).
"""

import functools
import sys

import numpy as np

_METHODS = ("fit", "fit_transform", "transform", "predict", "predict_proba", "decision_function", "score")


def derived_groups(X):
    """Group 0/1 of every row of `X`, from its first feature (see the module docstring)."""
    n = X.shape[0] if hasattr(X, "shape") and len(X.shape) else len(np.asarray(X))
    if hasattr(X, "tocsr") or n == 0:  # sparse or empty: the estimator refuses X first
        return np.arange(n) % 2
    values = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X)
    if values.dtype.kind not in "biuf":  # objects, strings, complex: the estimator refuses X first
        return np.arange(n) % 2
    values = values.astype(np.float64)
    first = values.reshape(n, -1)[:, 0] if values.size else np.zeros(n)
    z = np.ascontiguousarray(first).view(np.uint64)
    with np.errstate(over="ignore"):  # splitmix64's finaliser; the top bit is the group
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(63)).astype(np.int64)


def _takes_groups(cls, name):
    import inspect

    return hasattr(cls, name) and "sensitive_features" in inspect.signature(getattr(cls, name)).parameters


def _supplying(cls, name):
    method = getattr(cls, name)

    @functools.wraps(method)
    def call(self, X, *args, **kwargs):
        if kwargs.get("sensitive_features") is None:
            kwargs["sensitive_features"] = derived_groups(X)
        return method(self, X, *args, **kwargs)

    return call


def with_groups(cls):
    """The test subclass of `cls` that supplies ``sensitive_features`` (module docstring)."""
    qualname = f"WithGroups_{cls.__name__}"
    module = sys.modules[__name__]
    if not hasattr(module, qualname):
        methods = {name: _supplying(cls, name) for name in _METHODS if _takes_groups(cls, name)}
        sub = type(cls.__name__, (cls,), {**methods, "__module__": __name__, "__qualname__": qualname,
                                          "__doc__": cls.__doc__})
        setattr(module, qualname, sub)
    return getattr(module, qualname)


def checked_instance(estimator):
    """`estimator` itself, or its :func:`with_groups` twin when it takes sensitive features."""
    if not _takes_groups(type(estimator), "fit"):
        return estimator
    return with_groups(type(estimator))(**estimator.get_params(deep=False))
