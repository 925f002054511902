"""Disparities between groups, with fairlearn's names and semantics.

``method="between_groups"``: the difference is ``max_g m_g - min_g m_g`` and the ratio
``min_g m_g / max_g m_g``. ``method="to_overall"``: the difference is
``max_g |m_g - m|`` and the ratio ``min_g min(m_g / m, m / m_g)``, with ``m`` the metric
on all rows. Groups whose metric is NaN are skipped; ``0 / 0`` is NaN and ``x / 0`` with
``x > 0`` gives a ratio of 0, exactly as ``fairlearn.metrics.MetricFrame``.
"""

import numpy as np

from .._base.validation import check_choice
from ._group_metrics import _Inputs, metrics_from_sums

__all__ = [
    "DISPARITIES",
    "accuracy_parity_difference",
    "accuracy_parity_ratio",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "predictive_parity_difference",
    "predictive_parity_ratio",
]

_METHODS = ("between_groups", "to_overall")
_AGGS = ("worst_case", "mean")

#: Named disparities: name -> (metrics it compares, "difference" or "ratio").
DISPARITIES = {
    "demographic_parity_difference": (("selection_rate",), "difference"),
    "demographic_parity_ratio": (("selection_rate",), "ratio"),
    "equalized_odds_difference": (("true_positive_rate", "false_positive_rate"), "difference"),
    "equalized_odds_ratio": (("true_positive_rate", "false_positive_rate"), "ratio"),
    "equal_opportunity_difference": (("true_positive_rate",), "difference"),
    "equal_opportunity_ratio": (("true_positive_rate",), "ratio"),
    "predictive_parity_difference": (("positive_predictive_value",), "difference"),
    "predictive_parity_ratio": (("positive_predictive_value",), "ratio"),
    "accuracy_parity_difference": (("accuracy",), "difference"),
    "accuracy_parity_ratio": (("accuracy",), "ratio"),
}


def _nanmax(a):
    a = np.asarray(a, dtype=np.float64)
    allnan = np.isnan(a).all(axis=-1)
    out = np.max(np.where(np.isnan(a), -np.inf, a), axis=-1)
    return np.where(allnan, np.nan, out)


def _nanmin(a):
    return -_nanmax(-np.asarray(a, dtype=np.float64))


def difference_of(values, overall, method):
    """Vectorised difference over the last axis (groups) of ``values``."""
    values = np.asarray(values, dtype=np.float64)
    if method == "between_groups":
        return _nanmax(values) - _nanmin(values)
    return _nanmax(np.abs(values - np.asarray(overall, dtype=np.float64)[..., None]))


def ratio_of(values, overall, method):
    """Vectorised ratio (always <= 1) over the last axis (groups) of ``values``."""
    values = np.asarray(values, dtype=np.float64)
    # over: 1 / r of a subnormal r overflows, but only r > 1 takes 1 / r
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "between_groups":
            return _nanmin(values) / _nanmax(values)
        r = values / np.asarray(overall, dtype=np.float64)[..., None]
        r = np.where(r > 1, 1.0 / r, r)
    return _nanmin(r)


def disparity_from_metrics(name, by_group, overall, method="between_groups", agg="worst_case"):
    """A named disparity from ``{metric: (..., n_groups)}`` and ``{metric: (...)}``."""
    metrics, kind = DISPARITIES[name]
    f = difference_of if kind == "difference" else ratio_of
    parts = [f(by_group[m], overall[m], method) for m in metrics]
    if len(parts) == 1:
        return parts[0]
    stacked = np.stack(parts)
    if agg == "mean":
        return stacked.mean(axis=0)
    return _nanmax(np.moveaxis(stacked, 0, -1)) if kind == "difference" else _nanmin(np.moveaxis(stacked, 0, -1))


def _disparity(name, y_true, y_pred, sensitive_features, method, sample_weight, agg="worst_case", pos_label=1):
    check_choice(method, "method", _METHODS)
    check_choice(agg, "agg", _AGGS)
    metrics = DISPARITIES[name][0]
    if y_pred is None:
        raise ValueError("y_pred is required")
    needs_y = any(m != "selection_rate" for m in metrics)
    if needs_y and y_true is None:
        raise ValueError(f"{name} needs y_true")
    inputs = _Inputs(y_true if needs_y else None, y_pred, sensitive_features=sensitive_features,
                     sample_weight=sample_weight, pos_label=pos_label)
    sums = inputs.sums()
    by_group = metrics_from_sums(sums, metrics, 0)
    overall = metrics_from_sums(sums.sum(axis=0), metrics, 0)
    return float(disparity_from_metrics(name, by_group, overall, method, agg))


_COMMON = """
    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (a row is positive when its label equals ``pos_label``).{y_true_note}
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    sensitive_features : array-like, Series, DataFrame or dict of columns
        Group labels; several columns define intersectional groups (observed
        intersections only).
    method : {{"between_groups", "to_overall"}}, default="between_groups"
        Compare the groups with each other, or each group with all rows (see
        :mod:`fairfast.metrics` and fairlearn's ``MetricFrame.{kind}``).
    sample_weight : array-like of shape (n_samples,), optional{agg}
    pos_label : scalar, default=1

    Returns
    -------
    float
"""

_AGG_DOC = """
    agg : {{"worst_case", "mean"}}, default="worst_case"
        Combine the true and false positive rate {kind}s by their {worst} or their mean."""


def _doc(summary, kind, example, y_true_note="", agg=False):
    agg_doc = _AGG_DOC.format(kind=kind, worst="maximum" if kind == "difference" else "minimum") if agg else ""
    return summary + _COMMON.format(y_true_note=y_true_note, kind=kind, agg=agg_doc) + example


def demographic_parity_difference(y_true, y_pred, *, sensitive_features, method="between_groups",
                                  sample_weight=None, pos_label=1):
    return _disparity("demographic_parity_difference", y_true, y_pred, sensitive_features, method, sample_weight,
                      pos_label=pos_label)


def demographic_parity_ratio(y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None,
                             pos_label=1):
    return _disparity("demographic_parity_ratio", y_true, y_pred, sensitive_features, method, sample_weight,
                      pos_label=pos_label)


def equalized_odds_difference(y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None,
                              agg="worst_case", pos_label=1):
    return _disparity("equalized_odds_difference", y_true, y_pred, sensitive_features, method, sample_weight, agg,
                      pos_label=pos_label)


def equalized_odds_ratio(y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None,
                         agg="worst_case", pos_label=1):
    return _disparity("equalized_odds_ratio", y_true, y_pred, sensitive_features, method, sample_weight, agg,
                      pos_label=pos_label)


def equal_opportunity_difference(y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None,
                                 pos_label=1):
    return _disparity("equal_opportunity_difference", y_true, y_pred, sensitive_features, method, sample_weight,
                      pos_label=pos_label)


def equal_opportunity_ratio(y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None,
                            pos_label=1):
    return _disparity("equal_opportunity_ratio", y_true, y_pred, sensitive_features, method, sample_weight,
                      pos_label=pos_label)


def predictive_parity_difference(y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None,
                                 pos_label=1):
    return _disparity("predictive_parity_difference", y_true, y_pred, sensitive_features, method, sample_weight,
                      pos_label=pos_label)


def predictive_parity_ratio(y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None,
                            pos_label=1):
    return _disparity("predictive_parity_ratio", y_true, y_pred, sensitive_features, method, sample_weight,
                      pos_label=pos_label)


def accuracy_parity_difference(y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None,
                               pos_label=1):
    return _disparity("accuracy_parity_difference", y_true, y_pred, sensitive_features, method, sample_weight,
                      pos_label=pos_label)


def accuracy_parity_ratio(y_true, y_pred, *, sensitive_features, method="between_groups", sample_weight=None,
                          pos_label=1):
    return _disparity("accuracy_parity_ratio", y_true, y_pred, sensitive_features, method, sample_weight,
                      pos_label=pos_label)


_EX = """
    Examples
    --------
    >>> from fairfast.metrics import {name}
    >>> y_true = [1, 0, 1, 0, 1, 1, 0, 0]
    >>> y_pred = [1, 0, 1, 1, 0, 1, 0, 0]
    >>> group = ["a", "a", "a", "a", "b", "b", "b", "b"]
    >>> round({name}(y_true, y_pred, sensitive_features=group), 4)
    {value}
"""

_IGNORED = " Not used by this measure (accepted for a uniform signature)."

demographic_parity_difference.__doc__ = _doc(
    "Largest minus smallest group selection rate ``P(h = 1 | A = a)`` (fairlearn's name).\n",
    "difference", _EX.format(name="demographic_parity_difference", value="0.5"), _IGNORED)
demographic_parity_ratio.__doc__ = _doc(
    "Smallest over largest group selection rate (fairlearn's name).\n",
    "ratio", _EX.format(name="demographic_parity_ratio", value="0.3333"), _IGNORED)
equalized_odds_difference.__doc__ = _doc(
    "The larger (``agg='worst_case'``) or the mean of the true positive rate difference and the\n"
    "    false positive rate difference (fairlearn's name).\n",
    "difference", _EX.format(name="equalized_odds_difference", value="0.5"), agg=True)
equalized_odds_ratio.__doc__ = _doc(
    "The smaller (``agg='worst_case'``) or the mean of the true and false positive rate ratios\n"
    "    (fairlearn's name).\n",
    "ratio", _EX.format(name="equalized_odds_ratio", value="0.0"), agg=True)
equal_opportunity_difference.__doc__ = _doc(
    "Largest minus smallest group true positive rate ``P(h = 1 | A = a, Y = 1)`` (fairlearn's name).\n",
    "difference", _EX.format(name="equal_opportunity_difference", value="0.5"))
equal_opportunity_ratio.__doc__ = _doc(
    "Smallest over largest group true positive rate (fairlearn's name).\n",
    "ratio", _EX.format(name="equal_opportunity_ratio", value="0.5"))
predictive_parity_difference.__doc__ = _doc(
    "Largest minus smallest group positive predictive value ``P(Y = 1 | h = 1, A = a)``.\n\n"
    "    Not in fairlearn; same conventions. A group without predicted positives has PPV 0\n"
    "    (scikit-learn's ``precision_score`` convention).\n",
    "difference", _EX.format(name="predictive_parity_difference", value="0.3333"))
predictive_parity_ratio.__doc__ = _doc(
    "Smallest over largest group positive predictive value (not in fairlearn; same conventions).\n",
    "ratio", _EX.format(name="predictive_parity_ratio", value="0.6667"))
accuracy_parity_difference.__doc__ = _doc(
    "Largest minus smallest group accuracy (not in fairlearn; same conventions).\n",
    "difference", _EX.format(name="accuracy_parity_difference", value="0.0"))
accuracy_parity_ratio.__doc__ = _doc(
    "Smallest over largest group accuracy (not in fairlearn; same conventions).\n",
    "ratio", _EX.format(name="accuracy_parity_ratio", value="1.0"))
