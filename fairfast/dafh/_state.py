"""Model-file state of :class:`~fairfast.dafh.DAFHClassifier` (write and validated read)."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._base.state import state_errors

__all__ = ["from_state", "get_state"]

#: constructor parameters added after the first model files were written, with the value
#: that reproduces how those models were trained
LEGACY_PARAMS = {"envy_weight": 1.0, "init": "random", "init_restarts": 1}
#: arrays added after the first model files were written (read as NaN when absent)
LEGACY_ARRAYS = ("history.val_objective",)


def get_state(est):
    """Metadata and arrays of a fitted DAFHClassifier (no pickle).

    Returns
    -------
    meta : dict
        ``params`` (constructor parameters; ``random_state`` None unless an
        integer, ``group_prior`` a list of floats), ``classes`` and
        ``classes_dtype`` (the NumPy dtype string of ``classes_``),
        ``feature_names_in`` (list or None), ``n_features_in``, ``layer_sizes``
        (the fitted group classifier's widths ``[d, h_1, ..., h_L, K]``),
        ``dtype`` (of the training kernels, ``"float32"`` or ``"float64"``),
        ``pooled_intercept``, ``best_epoch`` and ``n_epochs``. The layer widths
        and ``dtype`` are those of the fit, which prediction uses, even if
        ``set_params`` changed the parameters since.
    arrays : dict of str to ndarray
        ``mean``, ``scale``, ``pooled_coef`` (float64, (d,)); ``theta`` (the flat
        group-classifier parameters) and ``beta`` ((K, d + 1), the decoupled
        models), both of ``dtype``; ``group_sizes`` (int64, (K,)); and the
        ``history.<key>`` arrays of ``history_`` (``epoch`` int64, the others
        float64, ``group_shares`` of shape (n_epochs, K)).
    """
    from .._base import state as st

    check_is_fitted(est, "history_")
    params = st.params_to_json(est)
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None  # a generator: it only seeds fit
    if est.group_prior is not None:
        params["group_prior"] = np.asarray(est.group_prior, dtype=np.float64).ravel().tolist()
    if isinstance(est.hidden_layer_sizes, (tuple, list, np.ndarray)):
        params["hidden_layer_sizes"] = [_plain_scalar(h) for h in est.hidden_layer_sizes]
    if est.dtype in ("float32", "float64"):  # also a np.dtype
        params["dtype"] = np.dtype(est.dtype).name
    classes = [_plain_scalar(c) for c in est.classes_.tolist()]  # fit allows no bytes labels
    names = getattr(est, "feature_names_in_", None)
    K = est._beta.shape[0]
    history = est.history_
    meta = {
        "params": params,
        "classes": classes,
        "classes_dtype": est.classes_.dtype.str,
        "feature_names_in": None if names is None else [str(n) for n in names],
        "n_features_in": int(est.n_features_in_),
        "layer_sizes": [int(s) for s in est._sizes],
        "dtype": est._beta.dtype.name,
        "pooled_intercept": float(est.pooled_intercept_),
        "best_epoch": int(est.best_epoch_),
        "n_epochs": int(est.n_epochs_),
    }
    arrays = {
        "mean": est.mean_,
        "scale": est.scale_,
        "pooled_coef": est.pooled_coef_,
        "theta": est._theta,
        "beta": est._beta,
        "group_sizes": np.asarray(est.group_sizes_, dtype=np.int64),
        "history.epoch": np.asarray(history["epoch"], dtype=np.int64),
        "history.group_shares": np.asarray(history["group_shares"], dtype=np.float64).reshape(-1, K),
    }
    for key in ("objective", "val_fwh", "val_accuracy", "val_objective"):
        arrays[f"history.{key}"] = np.asarray(history[key], dtype=np.float64)
    return meta, arrays


@state_errors
def from_state(cls, meta, arrays):
    """A fitted ``cls`` from :func:`get_state` output; inconsistent input raises ValueError."""
    from .._base import state as st

    try:
        params = meta["params"]
        if isinstance(params, dict):
            # files written before a parameter existed: the value those models were trained with
            params = {**{k: v for k, v in LEGACY_PARAMS.items() if k not in params}, **params}
        est = st.estimator_from_params(cls, params)
        est._check_params()
        classes = st.labels_from_json(meta["classes"], False, "classes", minimum=2)
        classes_dtype = meta["classes_dtype"]
        d = st.integer(meta["n_features_in"], "n_features_in", 1, 1 << 31)
        names = meta["feature_names_in"]
        sizes = meta["layer_sizes"]
        if not isinstance(sizes, list) or len(sizes) < 2:
            raise ValueError(f"model state is inconsistent: layer_sizes must list at least 2 widths, got {sizes!r}")
        sizes = [st.integer(s, "layer_sizes entries", 1, 1 << 31) for s in sizes]
        dtype = meta["dtype"]
        pooled_intercept = st.real(meta["pooled_intercept"], "pooled_intercept")
        n_epochs = st.integer(meta["n_epochs"], "n_epochs", 0, 1 << 62)
        best_epoch = st.integer(meta["best_epoch"], "best_epoch", 0, n_epochs + 1)
        if sizes[0] != d:
            raise ValueError(f"model state is inconsistent: layer_sizes starts with {sizes[0]} but "
                             f"n_features_in is {d}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"model state is inconsistent: dtype must be 'float32' or 'float64', got {dtype!r}")
        K = sizes[-1]
        n_theta = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        legacy = isinstance(arrays, dict) and set(arrays) == set(cls._STATE_ARRAYS) - set(LEGACY_ARRAYS)
        st.check_names(arrays, [n for n in cls._STATE_ARRAYS if not (legacy and n in LEGACY_ARRAYS)])
        mean = st.array(arrays, "mean", (d,))
        scale = st.array(arrays, "scale", (d,))
        pooled_coef = st.array(arrays, "pooled_coef", (d,))
        theta = st.array(arrays, "theta", (n_theta,), dtype)
        beta = st.array(arrays, "beta", (K, d + 1), dtype)
        group_sizes = st.array(arrays, "group_sizes", (K,), np.int64)
        epochs = st.array(arrays, "history.epoch", (n_epochs,), np.int64)
        objective = st.array(arrays, "history.objective", (n_epochs,))
        shares = st.array(arrays, "history.group_shares", (n_epochs, K))
        validation = {key: _validation_scores(arrays, f"history.{key}", n_epochs)
                      for key in ("val_fwh", "val_accuracy")}
        val_objective = (np.full(n_epochs, np.nan) if legacy else
                         _finite_or_nan(arrays, "history.val_objective", n_epochs))
    except (KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None
    classes = _classes_array(classes, classes_dtype)
    if names is not None and not (isinstance(names, list) and len(names) == d
                                  and all(isinstance(n, str) for n in names)):
        raise ValueError(f"model state is inconsistent: feature_names_in must be None or n_features_in={d} "
                         "strings")
    if not (scale > 0).all():
        raise ValueError("model state is inconsistent: scale must be positive")
    if not (group_sizes >= 0).all():
        raise ValueError("model state is inconsistent: group_sizes must be non-negative")
    if not np.array_equal(epochs, np.arange(1, n_epochs + 1)):
        raise ValueError("model state is inconsistent: history.epoch must count 1, 2, ..., n_epochs")
    if not ((shares >= 0) & (shares <= 1)).all():
        raise ValueError("model state is inconsistent: history.group_shares must lie in [0, 1]")
    est.classes_ = classes
    est.n_features_in_ = d
    if names is not None:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    est.mean_, est.scale_ = mean, scale
    est.pooled_coef_, est.pooled_intercept_ = pooled_coef, pooled_intercept
    est._sizes = np.array(sizes, dtype=np.int64)
    est._theta, est._beta = theta, beta
    est.coef_ = beta[:, :d].astype(np.float64)
    est.intercept_ = beta[:, d].astype(np.float64)
    est.best_epoch_ = best_epoch
    est.n_epochs_ = n_epochs
    est.history_ = {
        "epoch": epochs.tolist(),
        "objective": objective.tolist(),
        "val_fwh": validation["val_fwh"].tolist(),
        "val_accuracy": validation["val_accuracy"].tolist(),
        "val_objective": val_objective.tolist(),
        "group_shares": shares.tolist(),
    }
    est.group_sizes_ = group_sizes
    return est


def _plain_scalar(value):
    return value.item() if isinstance(value, np.generic) else value


def _validation_scores(arrays, name, n_epochs):
    """A history array of validation scores: float64 of shape (n_epochs,), in [0, 1] or NaN.

    NaN marks epochs without scored validation rows (``early_stopping=False``).
    """
    from .._base import state as st

    values = arrays[name]
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        st.array({name: np.where(np.isnan(values), 0.0, values)}, name, (n_epochs,))  # NaN allowed, not inf
        if not (np.isnan(values) | ((values >= 0) & (values <= 1))).all():
            raise ValueError(f"model state is inconsistent: {name} must lie in [0, 1] or be NaN")
        return np.ascontiguousarray(values)
    return st.array(arrays, name, (n_epochs,))  # raises: not a float array


def _finite_or_nan(arrays, name, n_epochs):
    """A float64 history array of shape (n_epochs,): finite values or NaN, never inf."""
    from .._base import state as st

    values = arrays[name]
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        st.array({name: np.where(np.isnan(values), 0.0, values)}, name, (n_epochs,))
        return np.ascontiguousarray(values)
    return st.array(arrays, name, (n_epochs,))  # raises: not a float64 array


def _classes_array(labels, dtype):
    """``classes_`` with its saved dtype; the labels must be two, sorted and of that dtype's kind."""
    try:
        parsed = np.dtype(dtype) if isinstance(dtype, str) else None
    except TypeError:
        parsed = None
    if parsed is None or parsed.kind not in "biufUO":
        raise ValueError(f"model state is inconsistent: classes_dtype must name a bool, integer, float, str or "
                         f"object dtype, got {dtype!r}")
    dtype = parsed
    if len(labels) != 2:
        raise ValueError(f"model state is inconsistent: classes must hold exactly 2 labels, got {len(labels)}")
    kinds = {"b": (bool,), "i": (int,), "u": (int,), "f": (float,), "U": (str,), "O": (str, bool, int, float)}
    if not all(isinstance(c, kinds[dtype.kind]) and (dtype.kind in "bO" or not isinstance(c, bool)) for c in labels):
        raise ValueError(f"model state is inconsistent: classes {labels!r} do not fit classes_dtype {dtype.str!r}")
    try:
        classes = np.array(labels, dtype=dtype)
        same = classes.tolist() == labels
    except (OverflowError, ValueError):
        same = False
    if not same:
        raise ValueError(f"model state is inconsistent: classes {labels!r} do not fit classes_dtype {dtype.str!r}")
    try:
        ordered = bool(labels[0] < labels[1])
    except TypeError:
        ordered = False
    if not ordered:
        raise ValueError("model state is inconsistent: classes must be sorted, as fit stores them")
    return classes
