"""Score audits by group: AUC with DeLong intervals, and score-distribution disparities.

AUC. For the positives ``i`` and negatives ``j`` of a group (weights ``w``),
``AUC = sum_ij w_i w_j ([s_i > s_j] + [s_i = s_j] / 2) / (W+ W-)``, the probability that
a random positive outscores a random negative (ties count one half). It is computed
from one sort: ``V10_i`` (the share of negative weight below positive ``i``, ties one
half) and ``V01_j`` (the share of positive weight above negative ``j``) are DeLong's
structural components, ``AUC`` is the weighted mean of either. Without weights the
interval is DeLong's: ``var = var(V10) / m + var(V01) / n`` (DeLong, DeLong and
Clarke-Pearson 1988; the midrank form of Sun and Xu 2014), and ``AUC +- z sqrt(var)``
clipped to [0, 1]. With weights no interval is given (NaN): DeLong's variance has no
standard weighted form.

Score-distribution disparities are :func:`fairfast.metrics.unfairness` (the largest
pairwise KS or Wasserstein-1 distance between the groups' score distributions) with the
pair of groups that attains it.
"""

import numpy as np

__all__ = ["auc_by_group", "delong_auc", "largest_pair", "report_auc", "report_distances",
           "report_score_disparities"]



def same_value(a, b):
    """Elementwise: equal up to float noise, or both NaN."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.isclose(a, b, rtol=0, atol=1e-12) | (np.isnan(a) & np.isnan(b))

def delong_auc(y, scores, sample_weight=None, confidence_level=0.95):
    """AUC of ``scores`` for binary ``y`` (0/1) and its DeLong interval.

    Parameters
    ----------
    y : array-like of 0/1, shape (n,)
    scores : array-like of shape (n,)
    sample_weight : array-like of shape (n,), optional
        Weighted AUC; the interval is then NaN.
    confidence_level : float, default=0.95

    Returns
    -------
    auc, low, high : float
        NaN when ``y`` has no positive or no negative (with positive weight).

    Examples
    --------
    >>> from fairfast.metrics._score_audit import delong_auc
    >>> auc, low, high = delong_auc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(auc, 4), round(low, 3), round(high, 3)
    (0.8889, 0.581, 1.0)
    """
    from scipy.stats import norm

    y = np.asarray(y).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    w = np.ones(s.size) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    pos_w, neg_w = float(w[y].sum()), float(w[~y].sum())
    if pos_w <= 0 or neg_w <= 0:
        return np.nan, np.nan, np.nan
    order = np.argsort(s, kind="stable")
    s, y, w = s[order], y[order], w[order]
    # weight of positives / negatives strictly below and tied with each row's score
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    block = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, s.size]))
    pos_in = np.bincount(block, weights=np.where(y, w, 0.0))
    neg_in = np.bincount(block, weights=np.where(y, 0.0, w))
    pos_below = np.r_[0.0, np.cumsum(pos_in)[:-1]]
    neg_below = np.r_[0.0, np.cumsum(neg_in)[:-1]]
    v10 = (neg_below[block] + 0.5 * neg_in[block])[y] / neg_w  # per positive
    v01 = (pos_w - pos_below[block] - 0.5 * pos_in[block])[~y] / pos_w  # per negative
    auc = float(np.dot(w[y], v10) / pos_w)
    if sample_weight is not None:
        return auc, np.nan, np.nan
    m, n = v10.size, v01.size
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    half = float(norm.ppf(0.5 + confidence_level / 2.0)) * np.sqrt(var)
    return auc, float(max(0.0, auc - half)), float(min(1.0, auc + half))


def auc_by_group(y, scores, codes, n_groups, sample_weight=None, confidence_level=0.95):
    """(n_groups + 1, 3) array: AUC, low, high of every group, then of all rows."""
    out = np.full((n_groups + 1, 3), np.nan)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_groups + 1))
    for g in range(n_groups):
        rows = order[bounds[g] : bounds[g + 1]]
        out[g] = delong_auc(y[rows], scores[rows], None if sample_weight is None else sample_weight[rows],
                            confidence_level)
    out[n_groups] = delong_auc(y, scores, sample_weight, confidence_level)
    return out


def largest_pair(distances, keep=None):
    """(value, a, b) of the largest entry of a symmetric distance matrix, restricted to
    the groups where ``keep`` is True; (0.0, a, a) for one group, NaN for none."""
    d = np.asarray(distances, dtype=np.float64)
    idx = np.arange(d.shape[0]) if keep is None else np.flatnonzero(keep)
    if idx.size == 0:
        return np.nan, None, None
    sub = d[np.ix_(idx, idx)]
    a, b = np.unravel_index(int(np.argmax(sub)), sub.shape)
    a, b = sorted((int(idx[a]), int(idx[b])))
    return float(sub.max()), a, b


def _cached(report, key, compute):
    """``compute()``, once per report and key (the score audits sort the scores); a copy."""
    cache = report.__dict__.setdefault("_score_cache", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key].copy()


def report_auc(report, confidence_level):
    """:meth:`GroupReport.auc_by_group`."""
    return _cached(report, ("auc", confidence_level), lambda: _report_auc(report, confidence_level))


def _report_auc(report, confidence_level):
    import pandas as pd

    inputs = report._inputs
    if inputs.scores is None or inputs.y_true is None:
        raise ValueError("auc_by_group needs y_true and scores")
    k = len(report.by_group)
    table = auc_by_group(inputs.y_true, inputs.scores, inputs.groups.compact_codes(), k, inputs.sample_weight,
                         confidence_level)
    index = [report.display_name(g) for g in report.by_group.index] + ["(overall)"]
    return pd.DataFrame(table, index=pd.Index(index, name="group"), columns=["auc", "low", "high"])


def report_distances(report, metric):
    """:meth:`GroupReport.score_distances`."""
    return _cached(report, ("distances", metric), lambda: _report_distances(report, metric))


def _report_distances(report, metric):
    import pandas as pd

    from ._distributional import pairwise_group_distances

    inputs = report._inputs
    if inputs.scores is None:
        raise ValueError("score_distances needs scores")
    d, _ = pairwise_group_distances(inputs.scores, sensitive_features=inputs.groups.compact_codes(), metric=metric,
                                    sample_weight=inputs.sample_weight)
    names = [report.display_name(g) for g in report.by_group.index]
    return pd.DataFrame(d, index=names, columns=names)


def report_score_disparities(report):
    """:meth:`GroupReport.score_disparities`."""
    import pandas as pd


    small = report._small
    rows = {}
    for metric in ("ks", "w1"):
        d = report_distances(report, metric)
        value, a, b = largest_pair(d.to_numpy())
        without = largest_pair(d.to_numpy(), ~small)[0] if small.any() else value
        rows[f"{metric}_unfairness"] = {
            "value": value, "group_a": d.index[a], "group_b": d.index[b],
            "set_by_small_group": bool(small.any() and not same_value(value, without)),
            "without_small_groups": without}
    return pd.DataFrame.from_dict(rows, orient="index")
