"""Vectorised numpy references of the benchmarked kernels (the ``"numpy"`` implementation).

Examples
--------
>>> from fairfast.bench._references import numpy_ks
>>> import numpy as np
>>> float(numpy_ks(np.array([0.0, 1.0]), np.array([0.5, 2.0])))
0.5
"""

import numpy as np

__all__ = ["numpy_barycenter_fit", "numpy_barycenter_transform", "numpy_ks", "numpy_wasserstein"]


def numpy_wasserstein(u, v, p=1):
    r"""``W_p`` between two unweighted samples by merging their step quantile functions.

    The quantile functions are constant on the intervals between consecutive levels of
    :math:`\{i/n\} \cup \{j/m\}`; on each one the cost is :math:`|Q_u - Q_v|^p` times
    the interval's length.

    Examples
    --------
    >>> from fairfast.bench import numpy_wasserstein
    >>> numpy_wasserstein([0.0, 1.0], [0.5, 1.5])
    0.5
    """
    us, vs = np.sort(u), np.sort(v)
    n, m = us.shape[0], vs.shape[0]
    lu = np.arange(1, n + 1) / n
    lv = np.arange(1, m + 1) / m
    levels = np.union1d(lu, lv)  # equal fractions round to the same float
    widths = np.diff(levels, prepend=0.0)
    iu = np.minimum(np.searchsorted(lu, levels, side="left"), n - 1)
    iv = np.minimum(np.searchsorted(lv, levels, side="left"), m - 1)
    diff = np.abs(us[iu] - vs[iv])
    if p == 1:
        return float(np.dot(diff, widths))
    return float(np.dot(diff**p, widths) ** (1.0 / p))


def numpy_ks(u, v):
    """Two-sample Kolmogorov-Smirnov statistic, evaluated at every sample point.

    Examples
    --------
    >>> from fairfast.bench import numpy_ks
    >>> numpy_ks([0.0, 1.0], [0.5, 1.5])
    0.5
    """
    us, vs = np.sort(u), np.sort(v)
    both = np.concatenate([us, vs])
    fu = np.searchsorted(us, both, side="right") / us.shape[0]
    fv = np.searchsorted(vs, both, side="right") / vs.shape[0]
    return float(np.max(np.abs(fu - fv)))


def numpy_barycenter_fit(z, codes, n_groups):
    """Per-group sorted calibration scores and barycenter tables (the spec's FitFair).

    ``table[k][j] = sum_k' p_k' * zs_k'[clip(ceil(j * n_k' / n_k), 1, n_k') - 1]`` for
    ``j = 0..n_k``, the ceiling computed in integers; ``p_k = n_k / n``.

    Returns
    -------
    sorted_scores : list of K ndarrays
    tables : list of K ndarrays of shape (n_k + 1,)
    """
    counts = np.bincount(codes, minlength=n_groups).astype(np.int64)
    if (counts == 0).any():
        raise ValueError("every group needs at least one calibration row")
    p = counts / counts.sum()
    sorted_scores = [np.sort(z[codes == k]) for k in range(n_groups)]
    tables = []
    for k in range(n_groups):
        nk = counts[k]
        j = np.arange(nk + 1, dtype=np.int64)
        table = np.zeros(nk + 1, dtype=np.float64)
        for k2 in range(n_groups):
            n2 = counts[k2]
            idx = np.clip((j * n2 + nk - 1) // nk, 1, n2) - 1
            table += p[k2] * sorted_scores[k2][idx]
        tables.append(table)
    return sorted_scores, tables


def numpy_barycenter_transform(model, z, codes, out=None):
    """Fair values ``table[s][#{calibration scores of s <= z}]`` of every row.

    The queries of each group are sorted before ``np.searchsorted`` (much faster than
    searching in input order) and the results are put back in input order.
    """
    sorted_scores, tables = model
    if out is None:
        out = np.empty_like(z, dtype=np.float64)
    for k, (zs, table) in enumerate(zip(sorted_scores, tables)):
        rows = np.flatnonzero(codes == k)
        t = z[rows]
        order = np.argsort(t)
        out[rows[order]] = table[np.searchsorted(zs, t[order], side="right")]
    return out
