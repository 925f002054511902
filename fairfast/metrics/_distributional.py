"""Distributional unfairness: distances between the groups' score distributions."""

import numpy as np

from .. import _core
from .._base.grouping import encode_groups
from .._base.sorting import sorted_with_weights
from .._base.validation import as_float_array, check_choice, check_sample_weight
from ..transport._distances import wasserstein_from_sorted

__all__ = ["pairwise_group_distances", "unfairness"]

_METRICS = ("ks", "w1", "w2")


def pairwise_group_distances(scores, *, sensitive_features, metric="ks", sample_weight=None):
    """Distance between every pair of groups' score distributions.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
    sensitive_features : array-like, Series or DataFrame
        Group labels; several columns define intersectional groups.
    metric : {"ks", "w1", "w2"}, default="ks"
        Two-sample Kolmogorov-Smirnov statistic, or Wasserstein-1 / -2 distance.
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    distances : ndarray of shape (n_groups, n_groups)
        Symmetric, zero diagonal.
    groups : list
        The group labels, in the matrix's order.

    Examples
    --------
    >>> from fairfast.metrics import pairwise_group_distances
    >>> d, groups = pairwise_group_distances([0, 1, 2, 3], sensitive_features=["a", "a", "b", "b"])
    >>> groups, float(d[0, 1])
    (['a', 'b'], 1.0)
    """
    check_choice(metric, "metric", _METRICS)
    z = as_float_array(scores, "scores", allow_2d_column=True, min_rows=1)
    codes, labels = encode_groups(sensitive_features, z.shape[0], what="the scores have")
    w = check_sample_weight(sample_weight, z.shape[0])
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    prepared = []
    for k in range(len(labels)):
        rows = order[bounds[k] : bounds[k + 1]]
        prepared.append(sorted_with_weights(np.ascontiguousarray(z[rows]), None if w is None else w[rows]))
    k = len(labels)
    out = np.zeros((k, k))
    for a in range(k):
        for b in range(a + 1, k):
            (ua, ca), (ub, cb) = prepared[a], prepared[b]
            if metric == "ks":
                d = _core.transport.ks(ua, ca, ub, cb)
            else:
                p = 1.0 if metric == "w1" else 2.0
                d = wasserstein_from_sorted(ua, ca, ub, cb, p)
            out[a, b] = out[b, a] = d
    return out, labels


def unfairness(scores, *, sensitive_features, metric="ks", sample_weight=None):
    """Largest pairwise distance between the groups' score distributions.

    ``metric="ks"`` is the unfairness measure of Hu, Ratz and Charpentier (2023): 0
    means strong demographic parity (every threshold gives equal positive rates),
    and it bounds the gap in positive rates at any threshold.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
    sensitive_features : array-like, Series or DataFrame
    metric : {"ks", "w1", "w2"}, default="ks"
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    float
        0.0 when there is a single group.

    Examples
    --------
    >>> from fairfast.metrics import unfairness
    >>> unfairness([0.1, 0.2, 0.8, 0.9], sensitive_features=[0, 0, 1, 1])
    1.0
    >>> unfairness([0.1, 0.8, 0.2, 0.9], sensitive_features=[0, 0, 1, 1], metric="w1")
    0.1
    """
    d, _ = pairwise_group_distances(scores, sensitive_features=sensitive_features, metric=metric,
                                    sample_weight=sample_weight)
    return float(d.max())
