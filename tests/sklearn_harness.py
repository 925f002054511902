"""scikit-learn's estimator checks for estimators that need ``sensitive_features``.

The checks call ``fit(X, y)``, ``transform(X)``, ``predict(X)``, ... with nothing else,
and fairfast refuses to guess groups. :func:`with_groups` gives each such estimator a
test subclass whose methods supply ``sensitive_features`` when the caller does not:

- at fit, the distinct rows of ``X`` (of positive ``sample_weight``, if given) are put
  in groups 0 and 1 alternately within each label of ``y``, in the order of a hash of
  their values, so both groups hold about half of every label whatever the (often
  tiny) data of a check;
- later, a row seen at fit keeps its group and a new row gets the hash's top bit.

A row's group therefore depends on that row alone (subsets, reorderings and repeated
calls of the checks see the same groups), and refitting on the same rows gives the
same groups. Everything else -- parameters, validation, fitted state, outputs -- is
the estimator's own; the subclass keeps the class's name, so the checks' messages name
the real estimator, and it pickles (it lives in this module).
"""

import functools
import inspect
import sys

import numpy as np

_FITTING = ("fit", "fit_transform")
_METHODS = _FITTING + ("transform", "predict", "predict_proba", "decision_function", "score")


def row_hashes(X):
    """A 64-bit hash of every row's values (None for input the estimators refuse: sparse,
    objects, strings, complex)."""
    if hasattr(X, "tocsr"):
        return None
    values = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X)
    if values.dtype.kind not in "biuf" or values.ndim not in (1, 2):
        return None
    n = values.shape[0]
    columns = np.ascontiguousarray(values.astype(np.float64).reshape(n, -1)).view(np.uint64).reshape(n, -1)
    z = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):  # splitmix64's finaliser, column after column
        for c in columns.T:
            z = (z ^ c) * np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z ^= z >> np.uint64(31)
    return z


def fit_groups(X, y, sample_weight=None):
    """``(groups, table)``: the fit rows' groups and the row hash -> group table."""
    hashes = row_hashes(X)
    if hashes is None:  # the estimator refuses X before it reads the groups
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        return np.arange(n) % 2, {}
    labels = np.asarray(y) if y is not None else None
    if labels is not None and labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels is None or labels.ndim != 1 or labels.shape[0] != hashes.shape[0]:
        labels = np.zeros(hashes.shape[0])
    counted = np.ones(hashes.shape[0], dtype=bool)
    weights = None if sample_weight is None else np.asarray(sample_weight)
    if weights is not None and weights.shape == hashes.shape:
        counted = weights.astype(np.float64) > 0
    labels = labels.astype(str)
    table = {}
    for label in np.unique(labels[counted]):
        for k, h in enumerate(np.unique(hashes[counted & (labels == label)])):
            table.setdefault(int(h), k % 2)
    return known_groups(X, table), table


def known_groups(X, table):
    """Groups of rows at a later call: the fit group of a row seen at fit, else the hash's top bit."""
    hashes = row_hashes(X)
    if hashes is None:
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        return np.arange(n) % 2
    return np.array([table.get(int(h), int(h >> np.uint64(63))) for h in hashes], dtype=np.int64)


def _takes_groups(cls, name):
    """`cls.name` takes ``sensitive_features`` (by name, or in its ``**kwargs``)."""
    if not hasattr(cls, name):
        return False
    params = inspect.signature(getattr(cls, name)).parameters.values()
    return any(p.name == "sensitive_features" or p.kind is p.VAR_KEYWORD for p in params)


def _supplying(cls, name):
    method = getattr(cls, name)

    @functools.wraps(method)
    def call(self, X, *args, **kwargs):
        if kwargs.get("sensitive_features") is None:
            if name in _FITTING:
                y = args[0] if args else kwargs.get("y")
                kwargs["sensitive_features"], self._harness_group_table = fit_groups(X, y, kwargs.get("sample_weight"))
            else:
                kwargs["sensitive_features"] = known_groups(X, getattr(self, "_harness_group_table", {}))
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
    if "sensitive_features" not in inspect.signature(type(estimator).fit).parameters:
        return estimator
    return with_groups(type(estimator))(**estimator.get_params(deep=False))
