r"""Multi-class fairness: per-class true-positive-rate gaps between groups.

For a multi-class prediction (e.g. an occupation from a representation, the Bios
setting of De-Arteaga et al. 2019), the true positive rate of class ``j`` in group
``a`` is :math:`TPR_j(a) = P(\hat Y = j \mid Y = j, A = a)` (the recall of class ``j``
inside the group). The *TPR gap* of class ``j`` is the largest minus the smallest
:math:`TPR_j(a)` over the groups (for two groups, :math:`|TPR_j(a_1) - TPR_j(a_0)|`),
and its summaries over the classes are the root mean square (the measure of the
MiMiC and Bios papers) and the maximum. A class that some group has no rows of has
no gap; it is left out of the summaries and listed in ``undefined_classes``.
"""

import numbers

import numpy as np

from .._base.grouping import encode_groups
from .._base.validation import check_sample_weight

__all__ = ["MulticlassReport", "tpr_gap_max", "tpr_gap_rms"]


def _labels_array(values, name, n=None):
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional (one label per row), got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} rows but y_true has {n}")
    return arr


def _encode(y_true, y_pred, labels):
    """Class codes of ``y_true`` in ``[0, K)`` and of ``y_pred`` in ``[0, K]`` (``K``: a label outside)."""
    if labels is None:
        try:
            classes = np.unique(np.concatenate([y_true, y_pred]))
        except TypeError:
            raise TypeError("y_true and y_pred must hold labels of one comparable type (e.g. all str or all int)") \
                from None
    else:
        classes = np.asarray(labels)
        if classes.ndim != 1 or classes.size == 0:
            raise ValueError("labels must be a non-empty 1-dimensional list of class labels")
        if np.unique(classes).size != classes.size:
            raise ValueError("labels must not repeat a class")
    order = np.argsort(classes, kind="stable")
    ordered = classes[order]

    def codes_of(values, name, strict):
        try:
            pos = np.searchsorted(ordered, values)
        except TypeError:
            raise TypeError(f"{name} holds labels that do not compare with the classes {list(classes)}") from None
        pos = np.minimum(pos, ordered.size - 1)
        found = ordered[pos] == values
        codes = np.where(found, order[pos], classes.size)
        if strict and not found.all():
            bad = values[np.flatnonzero(~found)[0]]
            raise ValueError(f"y_true contains the label {bad!r}, which is not in labels {list(classes)}")
        return codes.astype(np.intp)

    return codes_of(y_true, "y_true", True), codes_of(y_pred, "y_pred", False), list(classes)


def _item(v):
    return v.item() if isinstance(v, np.generic) else v


def class_group_sums(y_codes, p_codes, g_codes, n_classes, n_groups, weight=None):
    """Weighted rows of each true class per group and those predicted correctly: two (G, K) arrays."""
    key = g_codes.astype(np.intp) * n_classes + y_codes
    size = n_groups * n_classes
    support = np.bincount(key, weights=weight, minlength=size)[:size].reshape(n_groups, n_classes)
    hit = p_codes == y_codes
    w = hit.astype(np.float64) if weight is None else np.where(hit, weight, 0.0)
    hits = np.bincount(key, weights=w, minlength=size)[:size].reshape(n_groups, n_classes)
    return support, hits


def gap_summaries(support, hits):
    """Per-class TPRs (G, K), gaps (K,) (NaN where a group has no rows of the class), RMS and max."""
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.where(support > 0, hits / np.where(support > 0, support, 1.0), np.nan)
    defined = (support > 0).all(axis=0)
    gaps = np.full(tpr.shape[1], np.nan)
    gaps[defined] = tpr[:, defined].max(axis=0) - tpr[:, defined].min(axis=0)
    if defined.any():
        g = gaps[defined]
        return tpr, gaps, float(np.sqrt(np.mean(g * g))), float(g.max())
    return tpr, gaps, float("nan"), float("nan")


class MulticlassReport:
    r"""Per-class true-positive rates by group, their gaps, RMS and maximum.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted class labels (any comparable labels).
    sensitive_features : array-like, Series, DataFrame
        One label per row, or several columns (groups are their intersections).
    labels : array-like, optional
        The classes, in the order of the output. Default: every label of ``y_true``
        and ``y_pred``, sorted. ``y_true`` must lie in it; a prediction outside it
        counts as a miss.
    sample_weight : array-like of shape (n_samples,), optional

    Attributes
    ----------
    classes : list
    groups : list
        Group labels (tuples for intersections), sorted.
    tpr : pandas.DataFrame
        Index the classes, one column per group: :math:`TPR_j(a)`; NaN where the group
        has no rows of the class.
    support : pandas.DataFrame
        Rows (weights) of each true class per group, shaped like ``tpr``.
    tpr_gap : pandas.Series
        Largest minus smallest TPR over the groups, per class (NaN when undefined).
    tpr_gap_rms, tpr_gap_max : float
        Root mean square and maximum of the defined gaps (NaN if none is defined).
    undefined_classes : list
        Classes left out of the summaries because some group has no rows of them.
    accuracy : float
    by_group : pandas.DataFrame
        ``count`` (rows), ``accuracy`` and ``tpr_mean`` (mean TPR over the classes the
        group has rows of, i.e. balanced accuracy) per group.

    Examples
    --------
    >>> from fairfast.metrics import MulticlassReport
    >>> r = MulticlassReport(["a", "a", "b", "b", "c", "c", "a", "b"],
    ...                      ["a", "b", "b", "b", "c", "a", "a", "a"],
    ...                      sensitive_features=["f", "f", "f", "f", "m", "m", "m", "m"])
    >>> r.tpr
         f    m
    a  0.5  1.0
    b  1.0  0.0
    c  NaN  0.5
    >>> r.tpr_gap.tolist()
    [0.5, 1.0, nan]
    >>> round(r.tpr_gap_rms, 4), r.tpr_gap_max, r.undefined_classes
    (0.7906, 1.0, ['c'])
    """

    def __init__(self, y_true, y_pred, *, sensitive_features, labels=None, sample_weight=None):
        import pandas as pd

        y_true = _labels_array(y_true, "y_true")
        n = y_true.shape[0]
        if n == 0:
            raise ValueError("y_true must hold at least one row")
        y_pred = _labels_array(y_pred, "y_pred", n)
        self._y, self._p, classes = _encode(y_true, y_pred, labels)
        g_codes, groups = encode_groups(sensitive_features, n)
        self._g = np.asarray(g_codes, dtype=np.intp)
        self._w = check_sample_weight(sample_weight, n)
        self.classes = [_item(c) for c in classes]
        self.groups = groups
        K, G = len(self.classes), len(groups)
        support, hits = class_group_sums(self._y, self._p, self._g, K, G, self._w)
        tpr, gaps, self.tpr_gap_rms, self.tpr_gap_max = gap_summaries(support, hits)
        columns = pd.Index(groups) if not isinstance(groups[0], tuple) else pd.MultiIndex.from_tuples(groups)
        index = pd.Index(self.classes)
        self.tpr = pd.DataFrame(tpr.T, index=index, columns=columns)
        self.support = pd.DataFrame(support.T, index=index, columns=columns)
        self.tpr_gap = pd.Series(gaps, index=index, name="tpr_gap")
        self.undefined_classes = [c for c, ok in zip(self.classes, (support > 0).all(axis=0)) if not ok]
        rows = np.bincount(self._g, minlength=G)
        total = support.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = hits.sum(axis=1) / total
        self.accuracy = float(hits.sum() / support.sum())
        self.by_group = pd.DataFrame(
            {"count": rows.astype(np.int64), "accuracy": accuracy, "tpr_mean": np.nanmean(tpr, axis=1)},
            index=columns,
        )

    def bootstrap(self, n_replicates=1000, *, confidence_level=0.95, random_state=None):
        """Percentile intervals of ``accuracy``, ``tpr_gap_rms`` and ``tpr_gap_max``.

        Rows are resampled with replacement within each group (group sizes fixed).

        Returns
        -------
        dict of str to dict
            For each statistic: ``estimate``, ``low``, ``high``.
        """
        if isinstance(n_replicates, bool) or not isinstance(n_replicates, numbers.Integral) or n_replicates < 2:
            raise ValueError(f"n_replicates must be an integer >= 2, got {n_replicates!r}")
        if isinstance(confidence_level, bool) or not isinstance(confidence_level, numbers.Real) \
                or not 0 < confidence_level < 1:
            raise ValueError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level!r}")
        rng = np.random.default_rng(random_state)
        K, G = len(self.classes), len(self.groups)
        members = [np.flatnonzero(self._g == a) for a in range(G)]
        stats = np.empty((n_replicates, 3))
        for r in range(n_replicates):
            rows = np.concatenate([m[rng.integers(0, m.size, m.size)] for m in members])
            w = None if self._w is None else self._w[rows]
            support, hits = class_group_sums(self._y[rows], self._p[rows], self._g[rows], K, G, w)
            _, _, rms, mx = gap_summaries(support, hits)
            stats[r] = hits.sum() / support.sum(), rms, mx
        tail = (1 - confidence_level) / 2 * 100
        out = {}
        for k, name in enumerate(("accuracy", "tpr_gap_rms", "tpr_gap_max")):
            low, high = np.nanpercentile(stats[:, k], [tail, 100 - tail]) if np.isfinite(stats[:, k]).any() \
                else (np.nan, np.nan)
            out[name] = {"estimate": getattr(self, name), "low": float(low), "high": float(high)}
        return out

    def to_dict(self):
        """JSON-able summary: classes, groups, per-class TPRs and gaps, the summaries."""

        def num(v):
            v = float(v)
            return None if np.isnan(v) else v

        return {
            "classes": self.classes,
            "groups": [list(g) if isinstance(g, tuple) else g for g in self.groups],
            "tpr": [[num(v) for v in row] for row in self.tpr.to_numpy()],
            "support": [[num(v) for v in row] for row in self.support.to_numpy()],
            "tpr_gap": [num(v) for v in self.tpr_gap],
            "tpr_gap_rms": num(self.tpr_gap_rms),
            "tpr_gap_max": num(self.tpr_gap_max),
            "undefined_classes": self.undefined_classes,
            "accuracy": self.accuracy,
        }


def tpr_gap_rms(y_true, y_pred, *, sensitive_features, labels=None, sample_weight=None):
    """Root mean square over the classes of the per-class TPR gap between groups.

    See :class:`MulticlassReport` (classes some group has no rows of are left out).

    Examples
    --------
    >>> from fairfast.metrics import tpr_gap_rms
    >>> round(tpr_gap_rms([0, 1, 0, 1], [0, 1, 1, 1], sensitive_features=["f", "f", "m", "m"]), 4)
    0.7071
    """
    return MulticlassReport(y_true, y_pred, sensitive_features=sensitive_features, labels=labels,
                            sample_weight=sample_weight).tpr_gap_rms


def tpr_gap_max(y_true, y_pred, *, sensitive_features, labels=None, sample_weight=None):
    """Largest per-class TPR gap between groups (see :class:`MulticlassReport`).

    Examples
    --------
    >>> from fairfast.metrics import tpr_gap_max
    >>> tpr_gap_max([0, 1, 0, 1], [0, 1, 1, 1], sensitive_features=["f", "f", "m", "m"])
    1.0
    """
    return MulticlassReport(y_true, y_pred, sensitive_features=sensitive_features, labels=labels,
                            sample_weight=sample_weight).tpr_gap_max
