"""Group metrics in one compiled pass over int32 group codes.

Every built-in metric is a function of a few per-group sums (row count, weight, the
four confusion cells, the weighted score sum and, for the calibration error, three
sums per score bin). ``fairfast._core.metrics.group_sums`` computes them in one pass;
the metrics, the disparities and every bootstrap replicate are then cheap vectorised
arithmetic on those sums.

Conventions (documented once here, referred to by the public docstrings):

- Groups are the *observed* values (or, for several sensitive columns, the observed
  intersections). An intersection without rows is not a group: it does not appear in
  ``by_group`` and does not take part in any disparity. (fairlearn's ``MetricFrame``
  lists such cells with NaN and skips them in ``difference``/``ratio``, so the
  disparities agree.)
- A rate whose denominator is zero in a group (e.g. the true positive rate of a group
  without positives) takes the value ``zero_division``: 0.0 by default, which is what
  fairlearn and scikit-learn return; pass ``zero_division=np.nan`` to mark it undefined
  instead. NaN entries are skipped by the disparities (pandas' ``skipna``).
- Labels: a row is positive when its label equals ``pos_label``; every other label is
  negative.
"""

import numbers

import numpy as np

from .. import _core
from ._groups import _Groups
from .._base.scaling import SUM_BOUND, power_of_two_above
from .._base.validation import as_float_array, check_real, check_sample_weight

__all__ = ["METRICS", "group_metrics"]

_BASE = 7  # layout of the sums: see csrc/fairfast/group_metrics.hpp
#: Most calibration bins ``n_bins`` may ask for (the sums hold 3 per bin and group).
MAX_N_BINS = _core.metrics.MAX_N_BINS
_ROWS, _WEIGHT, _TN, _FP, _FN, _TP, _SCORE = range(7)

#: Built-in metrics: name -> (needs y_true, needs y_pred, needs scores).
METRICS = {
    "count": (False, False, False),
    "selection_rate": (False, True, False),
    "true_positive_rate": (True, True, False),
    "false_positive_rate": (True, True, False),
    "true_negative_rate": (True, True, False),
    "false_negative_rate": (True, True, False),
    "positive_predictive_value": (True, True, False),
    "negative_predictive_value": (True, True, False),
    "accuracy": (True, True, False),
    "balanced_accuracy": (True, True, False),
    "error_rate": (True, True, False),
    "mean_score": (False, False, True),
    "calibration_error": (True, False, True),
}

_ALIASES = {
    "tpr": "true_positive_rate",
    "fpr": "false_positive_rate",
    "tnr": "true_negative_rate",
    "fnr": "false_negative_rate",
    "ppv": "positive_predictive_value",
    "precision": "positive_predictive_value",
    "recall": "true_positive_rate",
    "npv": "negative_predictive_value",
    "accuracy_score": "accuracy",
}


# ----------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------


def _labels(y, name, n):
    """The labels as a validated 1-D numpy array (no copy when possible)."""
    if y is None:
        return None
    arr = y if isinstance(y, np.ndarray) else (y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y))
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got an array of shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} rows but y_true/y_pred have {n}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def _to_binary(arr, pos_label):
    """uint8 0/1 array: 1 where the label equals pos_label."""
    if arr is None:
        return None
    if arr.dtype == bool and pos_label in (1, True):
        return np.ascontiguousarray(arr).view(np.uint8)
    if arr.dtype == np.uint8 and pos_label == 1 and (arr.size == 0 or arr.max() <= 1):
        return np.ascontiguousarray(arr)
    return np.equal(arr, pos_label).view(np.uint8)


def _binary(y, name, n, pos_label):
    return _to_binary(_labels(y, name, n), pos_label)


def _raw_for_counting(arr, pos_label):
    """The label array as the compiled counting path takes it (uint8 or int64, compared
    with an integer pos_label), or None."""
    if arr is None or isinstance(pos_label, (bool, np.bool_)) or not isinstance(pos_label, (int, np.integer)):
        return None
    if arr.dtype == bool:
        arr = arr.view(np.uint8)
    if arr.dtype in (np.dtype(np.uint8), np.dtype(np.int64)) and arr.flags.c_contiguous:
        return arr
    return None


def _check_pos_label(arr, name, pos_label):
    """Labels and pos_label of comparable kinds (string labels with a numeric pos_label
    would otherwise fail inside numpy, or never match)."""
    if arr is None or arr.size == 0 or arr.dtype.kind not in "OUSbiuf":
        return
    example = arr[0].item() if isinstance(arr[0], np.generic) else arr[0]
    text = isinstance(example, (str, bytes))
    label_is_text = isinstance(pos_label, (str, bytes))
    if arr.dtype.kind == "O" and not (text or isinstance(example, numbers.Number)):
        return
    if text != label_is_text:
        raise ValueError(f"{name} holds {'strings' if text else 'numbers'} (e.g. {example!r}) but "
                         f"pos_label={pos_label!r} is {'a string' if label_is_text else 'not a string'}: pass "
                         f"pos_label= the positive label as it appears in {name}, e.g. pos_label={example!r}")


def _length(*arrays):
    for a in arrays:
        if a is not None:
            return len(a) if not hasattr(a, "shape") else a.shape[0]
    return None


class _Inputs:
    """Validated inputs of the group metrics (one object shared by the report, the
    disparities and the bootstrap)."""

    def __init__(self, y_true=None, y_pred=None, *, sensitive_features, scores=None, sample_weight=None,
                 pos_label=1, threshold=None, n_bins=10):
        n = _length(y_true, y_pred, scores)
        if n is None:
            from .._base.grouping import n_rows_of

            n = n_rows_of(sensitive_features)
        if n == 0:
            raise ValueError("y_true/y_pred must hold at least one row")
        self.n = n
        self.pos_label = pos_label
        self._y_labels = _labels(y_true, "y_true", n)
        _check_pos_label(self._y_labels, "y_true", pos_label)
        self._y_bin = self._p_bin = None
        self.raw_y_true, self.raw_y_pred = y_true, y_pred
        self.scores = None
        if scores is not None:
            s = as_float_array(scores, "scores", allow_2d_column=True)
            if s.shape[0] != n:
                raise ValueError(f"scores has {s.shape[0]} rows but y_true/y_pred have {n}")
            self.scores = np.ascontiguousarray(s)
        if y_pred is None and threshold is not None:
            if self.scores is None:
                raise ValueError("threshold needs scores: y_pred is then scores >= threshold")
            threshold = check_real(threshold, "threshold", hint=" (y_pred is then scores >= threshold), e.g. 0.5")
            self._p_labels = None
            self._p_bin = (self.scores >= threshold).view(np.uint8)
            self.raw_y_pred = self._p_bin
        else:
            self._p_labels = _labels(y_pred, "y_pred", n)
            _check_pos_label(self._p_labels, "y_pred", pos_label)
        self.sample_weight = check_sample_weight(sample_weight, n)
        if self.sample_weight is not None:
            self.sample_weight = np.ascontiguousarray(self.sample_weight, dtype=np.float64)
        if not isinstance(n_bins, numbers.Integral) or isinstance(n_bins, bool):
            raise TypeError(f"n_bins must be an int in [1, {MAX_N_BINS}], got {type(n_bins).__name__}")
        if not 1 <= n_bins <= MAX_N_BINS:
            raise ValueError(f"n_bins must lie in [1, {MAX_N_BINS}], got {n_bins!r}")
        self.n_bins = int(n_bins) if (self.scores is not None and self._y_labels is not None) else 0
        if self.n_bins and (self.scores.min() < 0 or self.scores.max() > 1):
            self.n_bins = 0  # calibration needs probabilities; see available()
            self._calibration_note = "scores outside [0, 1]"
        else:
            self._calibration_note = None
        # integer ranges from a sample: the counting pass in sums() checks every row
        self.groups = _Groups(sensitive_features, n, sampled_ranges=True)
        # What the kernels sum: the weights and scores, or (after an overflow) both
        # divided by powers of two; mean scores are then scaled back by 2**score_scale.
        self.kernel_weight, self.kernel_scores, self.score_scale = self.sample_weight, self.scores, 0

    @property
    def y_true(self):
        """uint8 0/1 true labels (or None), computed on first use."""
        if self._y_bin is None and self._y_labels is not None:
            self._y_bin = _to_binary(self._y_labels, self.pos_label)
        return self._y_bin

    @property
    def y_pred(self):
        """uint8 0/1 predicted labels (or None), computed on first use."""
        if self._p_bin is None and self._p_labels is not None:
            self._p_bin = _to_binary(self._p_labels, self.pos_label)
        return self._p_bin

    def _has(self, which):
        if which == "y":
            return self._y_labels is not None
        return self._p_bin is not None or self._p_labels is not None

    def available(self):
        out = []
        for name, (need_y, need_p, need_s) in METRICS.items():
            if need_y and not self._has("y") or need_p and not self._has("p") or need_s and self.scores is None:
                continue
            if name == "calibration_error" and not self.n_bins:
                continue
            out.append(name)
        return out

    def sums(self):
        """(n_groups, n_stats) sums over the observed groups (computes ``present``)."""
        full = None
        if self.sample_weight is None and self.scores is None:
            try:
                full = self._counts()
            except IndexError:  # a row outside a sampled range: count again on the true ranges
                if not self.groups.provisional:
                    raise
                self.groups.make_exact()
                full = self._counts()
        if full is None:  # the weighted pass reads codes, which refits sampled ranges first
            full = self._group_sums()
            if not (np.isfinite(full).all() and np.abs(full).max(initial=0.0) <= SUM_BOUND):
                self._rescale()
                full = self._group_sums()
        self.groups.set_counts(full[:, _ROWS])
        return full[self.groups.present]

    def _counts(self):
        """Counts straight from the raw columns in one compiled pass (no codes array, no
        0/1 copies), or None when the inputs do not allow it."""
        cols = self.groups.raw_columns()
        y = _raw_for_counting(self._y_labels, self.pos_label)
        p = None if self._p_bin is not None else _raw_for_counting(self._p_labels, self.pos_label)
        y_ok = (y is not None) or self._y_labels is None
        p_ok = (p is not None) or (self._p_labels is None and self._p_bin is None)
        if cols is not None and y_ok and p_ok and (y is None or p is None or y.dtype == p.dtype):
            return _core.metrics.group_counts_columns(cols[0], cols[1], cols[2], y, p, int(self.pos_label))
        return None

    def _group_sums(self):
        return _core.metrics.group_sums(self.groups.codes, self.groups.n_codes, self.y_true, self.y_pred,
                                        self.kernel_scores, self.kernel_weight, self.n_bins)

    def _rescale(self):
        """Divide the weights (to a maximum in [0.5, 1)) and scores beyond 1 (to below 1)
        by powers of two: every sum is then at most the row count. Exact, so the rates
        keep their bits; only the mean score needs scaling back."""
        w = self.sample_weight
        if w is not None:
            self.kernel_weight = np.ldexp(w, -power_of_two_above(float(w.max())))
        s = self.scores
        if s is not None and not self.n_bins:  # with bins, scores lie in [0, 1]
            top = max(-float(s.min()), float(s.max()))
            if top > 1:
                self.score_scale = power_of_two_above(top)
                self.kernel_scores = np.ldexp(s, -self.score_scale).astype(s.dtype, copy=False)


def resolve_metrics(metrics, inputs):
    """Split ``metrics`` into built-in names, {name: callable} and {built-in name: column
    name} (dict keys rename built-in metrics)."""
    available = inputs.available()
    if metrics is None:
        return available, {}, {m: m for m in available}
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    if not isinstance(metrics, (dict, list, tuple)):
        raise TypeError(f"metrics must be a metric name, a callable, or a list or dict of them (e.g. "
                        f"metrics=['selection_rate', 'tpr']), got {type(metrics).__name__} {metrics!r}")
    builtin, custom, display = [], {}, {}
    items = metrics.items() if isinstance(metrics, dict) else [(None, m) for m in metrics]
    for key, m in items:
        if callable(m):
            custom[key if key is not None else getattr(m, "__name__", f"metric_{len(custom)}")] = m
            continue
        if not isinstance(m, str):
            raise TypeError(f"metrics must hold metric names or callables, got {type(m).__name__}")
        name = _ALIASES.get(m, m)
        if name not in METRICS:
            raise ValueError(f"unknown metric {m!r}; built-in metrics are {', '.join(METRICS)}")
        if name not in available:
            need_y, need_p, need_s = METRICS[name]
            needs = [a for a, f in (("y_true", need_y), ("y_pred", need_p), ("scores", need_s)) if f]
            extra = " in [0, 1]" if name == "calibration_error" else ""
            raise ValueError(f"metric {name!r} needs {' and '.join(needs)}{extra}")
        if name not in builtin:
            builtin.append(name)
            display[name] = key if key is not None else name
    return builtin, custom, display


# ----------------------------------------------------------------------------------
# Metrics from sums (vectorised over any leading axes: replicates, groups)
# ----------------------------------------------------------------------------------


def _ratio(num, den, zero_division):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


def check_zero_division(zero_division):
    """``zero_division`` as a float: a real number or NaN."""
    return check_real(zero_division, "zero_division", allow_nan=True,
                      hint=" (the value of a rate whose denominator is 0: e.g. 0.0, 1.0 or np.nan)")


def metrics_from_sums(sums, names, n_bins, zero_division=0.0, score_scale=0):
    """{name: array of sums.shape[:-1]} for the built-in ``names`` (the score sums are
    those of the scores divided by ``2**score_scale``)."""
    s = np.asarray(sums, dtype=np.float64)
    w, tn, fp, fn, tp = (s[..., j] for j in (_WEIGHT, _TN, _FP, _FN, _TP))
    out = {}
    for name in names:
        if name == "count":
            v = s[..., _ROWS]
        elif name == "selection_rate":
            v = _ratio(fp + tp, w, zero_division)
        elif name == "true_positive_rate":
            v = _ratio(tp, tp + fn, zero_division)
        elif name == "false_positive_rate":
            v = _ratio(fp, fp + tn, zero_division)
        elif name == "true_negative_rate":
            v = _ratio(tn, tn + fp, zero_division)
        elif name == "false_negative_rate":
            v = _ratio(fn, fn + tp, zero_division)
        elif name == "positive_predictive_value":
            v = _ratio(tp, tp + fp, zero_division)
        elif name == "negative_predictive_value":
            v = _ratio(tn, tn + fn, zero_division)
        elif name == "accuracy":
            v = _ratio(tp + tn, w, zero_division)
        elif name == "error_rate":
            v = _ratio(fp + fn, w, zero_division)
        elif name == "balanced_accuracy":
            # scikit-learn: the mean recall over the classes present in y_true.
            rp = _ratio(tp, tp + fn, np.nan)
            rn = _ratio(tn, tn + fp, np.nan)
            both = np.stack([rp, rn])
            present = ~np.isnan(both)
            cnt = present.sum(axis=0)
            v = _ratio(np.where(present, both, 0.0).sum(axis=0), cnt, zero_division)
        elif name == "mean_score":
            v = _ratio(s[..., _SCORE], w, zero_division)
            if score_scale:
                v = np.where(w > 0, np.ldexp(v, score_scale), v)
        elif name == "calibration_error":
            bins = s[..., _BASE : _BASE + 3 * n_bins].reshape(s.shape[:-1] + (n_bins, 3))
            v = _ratio(np.abs(bins[..., 1] - bins[..., 2]).sum(axis=-1), w, zero_division)
        else:  # pragma: no cover - names are resolved before
            raise ValueError(name)
        out[name] = v
    return out


def custom_by_group(custom, inputs, codes, n_groups):
    """Evaluate user callables per group (slow path): {name: (values per group, overall)}."""
    if not custom:
        return {}
    yt = _raw(inputs.raw_y_true, inputs.n)
    yp = _raw(inputs.raw_y_pred, inputs.n)
    w = inputs.sample_weight
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_groups + 1))
    out = {}
    for name, fn in custom.items():
        def call(rows):
            kwargs = {} if w is None else {"sample_weight": w if rows is None else w[rows]}
            a = yt if rows is None or yt is None else yt[rows]
            b = yp if rows is None or yp is None else yp[rows]
            return fn(a, b, **kwargs)

        values = [call(order[bounds[g] : bounds[g + 1]]) for g in range(n_groups)]
        out[name] = (values, call(None))
    return out


def _raw(y, n):
    if y is None:
        return None
    arr = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    return arr.reshape(n) if arr.ndim == 2 else arr


# ----------------------------------------------------------------------------------
# Public function
# ----------------------------------------------------------------------------------


def group_metrics(y_true=None, y_pred=None, *, sensitive_features, scores=None, sample_weight=None, metrics=None,
                  pos_label=1, threshold=None, n_bins=10, zero_division=0.0):
    """Group metrics of a classifier in one pass over the data.

    Computes, per group (or intersection of several sensitive features), counts,
    selection rate, confusion rates, predictive values, accuracy, balanced accuracy,
    error rate, mean score and binned calibration error. All built-in metrics come from
    one compiled pass over int32 group codes (weighted if ``sample_weight`` is given).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,), optional
        True labels; a row is positive when its label equals ``pos_label``.
    y_pred : array-like of shape (n_samples,), optional
        Predicted labels (same convention). May be omitted when ``scores`` and
        ``threshold`` are given (then ``y_pred = scores >= threshold``).
    sensitive_features : array-like, Series, DataFrame or dict of columns
        Group labels; several columns define intersectional groups (only the observed
        intersections are groups).
    scores : array-like of shape (n_samples,), optional
        Real-valued scores, for ``mean_score`` and (probabilities in [0, 1]) the
        calibration error.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights.
    metrics : str, callable, list or dict, optional
        Metric names (see :data:`METRICS`; aliases ``tpr``, ``fpr``, ``tnr``, ``fnr``,
        ``ppv``, ``npv``), or callables ``f(y_true, y_pred[, sample_weight=...])``
        evaluated on each group's rows (slow path). Default: every built-in metric the
        inputs allow.
    pos_label : scalar, default=1
    threshold : float, optional
        Decision threshold applied to ``scores`` when ``y_pred`` is not given.
    n_bins : int, default=10
        Equal-width bins on [0, 1] for the calibration error
        ``sum_b W_b |mean(y)_b - mean(score)_b| / W`` (the expected calibration error);
        at most ``MAX_N_BINS`` (10,000).
    zero_division : float, default=0.0
        Value of a rate whose denominator is zero in a group (scikit-learn and
        fairlearn use 0); ``np.nan`` marks it undefined.

    Returns
    -------
    pandas.DataFrame
        One row per observed group (a MultiIndex for several sensitive columns), one
        column per metric.

    Examples
    --------
    >>> from fairfast.metrics import group_metrics
    >>> group_metrics([1, 0, 1, 1], [1, 0, 0, 1], sensitive_features=["a", "a", "b", "b"],
    ...               metrics=["selection_rate", "tpr", "accuracy"])
                        selection_rate  true_positive_rate  accuracy
    sensitive_feature_0
    a                              0.5                 1.0       1.0
    b                              0.5                 0.5       0.5
    """
    import pandas as pd

    zero_division = check_zero_division(zero_division)
    inputs = _Inputs(y_true, y_pred, sensitive_features=sensitive_features, scores=scores,
                     sample_weight=sample_weight, pos_label=pos_label, threshold=threshold, n_bins=n_bins)
    builtin, custom, display = resolve_metrics(metrics, inputs)
    sums = inputs.sums()
    values = metrics_from_sums(sums, builtin, inputs.n_bins, zero_division, inputs.score_scale)
    data = {display[name]: (values[name].astype(np.int64) if name == "count" else values[name]) for name in builtin}
    if custom:
        codes = inputs.groups.compact_codes()
        for name, (vals, _) in custom_by_group(custom, inputs, codes, len(inputs.groups.present)).items():
            data[name] = vals
    return pd.DataFrame(data, index=inputs.groups.index(), columns=list(data))
