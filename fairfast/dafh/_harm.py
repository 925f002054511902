"""Fairness-without-harm statistics of a decoupled classifier (spec section 5).

Private to :mod:`fairfast.dafh` until the general versions land in
:mod:`fairfast.metrics`; the semantics are those of the spec.

Conventions: ``predictions`` is an ``(n, K + 1)`` array of 0/1 predictions whose
column 0 is the pooled model ``h_0`` and column ``k`` (``1 <= k <= K``) the decoupled
model ``h_k``; ``groups`` holds the assigned group of every row as an integer in
``[0, K)``, so row ``i`` is served by column ``groups[i] + 1``.
"""

import numpy as np

__all__ = [
    "fwh_group",
    "fwh_individual",
    "fwh_pairwise",
    "group_risk_matrix",
    "mcnemar_pvalues",
    "without_harm_summary",
]


def _prepare(y, predictions, groups):
    y = np.asarray(y).astype(np.int64, copy=False).ravel()
    predictions = np.asarray(predictions)
    if predictions.ndim != 2 or predictions.shape[1] < 2:
        raise ValueError(
            f"predictions must have shape (n, K + 1) with K >= 1, got shape {predictions.shape}"
        )
    n, m = predictions.shape
    groups = np.asarray(groups).astype(np.int64, copy=False).ravel()
    if y.shape[0] != n or groups.shape[0] != n:
        raise ValueError(
            f"y has {y.shape[0]} rows and groups has {groups.shape[0]} rows but predictions has {n}"
        )
    if n and (groups.min() < 0 or groups.max() >= m - 1):
        raise ValueError(f"groups must be integers in [0, {m - 1}), got values in [{groups.min()}, {groups.max()}]")
    errors = predictions.astype(np.int64, copy=False) != y[:, None]
    return errors, groups, m - 1


def group_risk_matrix(y, predictions, groups):
    """Error rate of every model on every assigned group.

    Returns
    -------
    risk : ndarray of shape (K, K + 1)
        ``risk[k, j]`` is the 0-1 risk of model ``j`` (0 = pooled) on the rows assigned
        to group ``k``; NaN for an empty group.
    sizes : ndarray of shape (K,)
        Number of rows of every group.

    Examples
    --------
    >>> risk, sizes = group_risk_matrix([1, 0, 1, 0], [[1, 1, 0], [1, 0, 0], [1, 0, 1], [1, 0, 1]], [0, 0, 1, 1])
    >>> risk
    array([[0.5, 0. , 0.5],
           [0.5, 0.5, 0.5]])
    """
    errors, groups, K = _prepare(y, predictions, groups)
    sizes = np.bincount(groups, minlength=K)
    sums = np.zeros((K, K + 1))
    np.add.at(sums, groups, errors)
    with np.errstate(invalid="ignore", divide="ignore"):
        risk = sums / sizes[:, None]
    risk[sizes == 0] = np.nan
    return risk, sizes


def fwh_individual(y, predictions, groups):
    """Estimator (a): share of rows whose assigned model is no worse than every model.

    ``mean_i 1[l_i(h_k(i)) <= l_i(h_j) for all j in 0..K]`` with the 0-1 loss: a row
    fails only when its assigned model errs and some other model (pooled included) is
    right.

    Examples
    --------
    >>> y = [1, 0, 1, 0]
    >>> predictions = [[1, 1, 0], [1, 0, 0], [1, 0, 1], [1, 0, 1]]  # h_0, h_1, h_2
    >>> float(fwh_individual(y, predictions, [0, 0, 1, 1]))
    0.75
    """
    errors, groups, _ = _prepare(y, predictions, groups)
    if errors.shape[0] == 0:
        return float("nan")
    own = errors[np.arange(errors.shape[0]), groups + 1]
    return float(np.mean(~own | errors.all(axis=1)))


def fwh_pairwise(y, predictions, groups):
    """Estimator (b): ``1/(nK) sum_i sum_{j=1..K} 1[l_i(own) <= l_i(h_j) and l_i(own) <= l_i(h_0)]``."""
    errors, groups, K = _prepare(y, predictions, groups)
    n = errors.shape[0]
    if n == 0:
        return float("nan")
    own = errors[np.arange(n), groups + 1]
    ok = (~own[:, None] | errors[:, 1:]) & (~own | errors[:, 0])[:, None]
    return float(ok.sum() / (n * K))


def _satisfied(risk):
    # Def. 1 for every group: own risk <= the risk of every model (pooled included).
    K = risk.shape[0]
    own = risk[np.arange(K), np.arange(K) + 1]
    ok = own[:, None] <= risk + 1e-12
    return ok.all(axis=1) | np.isnan(own)


def fwh_group(y, predictions, groups, *, n_bootstrap=1000, random_state=None):
    """Estimator (c): group-level fairness without harm (Def. 1) and its bootstrap probability.

    Returns
    -------
    share : float
        Share of the rows that lie in groups whose empirical risks satisfy rationality
        and envy-freeness.
    probability : float
        Share of ``n_bootstrap`` row resamples in which every non-empty group satisfies
        Def. 1 (NaN when ``n_bootstrap == 0``).
    """
    errors, groups, K = _prepare(y, predictions, groups)
    n = errors.shape[0]
    if n == 0:
        return float("nan"), float("nan")
    risk, sizes = group_risk_matrix(y, predictions, groups)
    sat = _satisfied(risk)
    share = float(sizes[sat].sum() / n)
    if n_bootstrap == 0:
        return share, float("nan")
    # Resample the counts of (group, error pattern) cells: a multinomial over at most
    # K * 2^(K+1) cells is equivalent to resampling rows.
    weights = 1 << np.arange(K + 1)
    pattern = errors.astype(np.int64) @ weights
    n_patterns = 1 << (K + 1)
    cell = groups * n_patterns + pattern
    counts = np.bincount(cell, minlength=K * n_patterns)
    rng = np.random.default_rng(random_state)
    draws = rng.multinomial(n, counts / n, size=n_bootstrap).reshape(n_bootstrap, K, n_patterns)
    bits = ((np.arange(n_patterns)[:, None] >> np.arange(K + 1)) & 1).astype(float)
    err_sums = draws @ bits  # (B, K, K + 1)
    group_n = draws.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        risk_b = err_sums / group_n[:, :, None]
    own = risk_b[:, np.arange(K), np.arange(K) + 1]
    ok = (own[:, :, None] <= risk_b + 1e-12).all(axis=2) | (group_n == 0)
    return share, float(ok.all(axis=1).mean())


def mcnemar_pvalues(y, predictions, groups):
    """One-sided exact McNemar p-values of every group's own model against every model.

    For group ``k`` and model ``j``, with ``c`` the rows of the group where the own model
    is right and ``h_j`` wrong and ``b`` those where the own model is wrong and ``h_j``
    right, the p-value is ``P(Binomial(b + c, 1/2) <= c)``: small values are evidence
    that the own model is worse (envy for ``j >= 1``, irrationality for ``j = 0``).

    Returns
    -------
    ndarray of shape (K, K + 1)
        NaN on the own-model entries.
    """
    from scipy.stats import binom

    errors, groups, K = _prepare(y, predictions, groups)
    p = np.full((K, K + 1), np.nan)
    for k in range(K):
        e = errors[groups == k]
        own = e[:, k + 1]
        for j in range(K + 1):
            if j == k + 1:
                continue
            b = int(np.sum(own & ~e[:, j]))
            c = int(np.sum(~own & e[:, j]))
            p[k, j] = float(binom.cdf(c, b + c, 0.5))
    return p


def without_harm_summary(y, predictions, groups, *, n_bootstrap=1000, random_state=None):
    """All fairness-without-harm statistics in one dict (accuracy included)."""
    errors, g, K = _prepare(y, predictions, groups)
    own = errors[np.arange(errors.shape[0]), g + 1]
    share, prob = fwh_group(y, predictions, groups, n_bootstrap=n_bootstrap, random_state=random_state)
    risk, sizes = group_risk_matrix(y, predictions, groups)
    return {
        "accuracy": float(1.0 - own.mean()) if own.size else float("nan"),
        "fwh_individual": fwh_individual(y, predictions, groups),
        "fwh_pairwise": fwh_pairwise(y, predictions, groups),
        "fwh_group_share": share,
        "fwh_group_bootstrap": prob,
        "risk": risk,
        "group_sizes": sizes,
        "mcnemar": mcnemar_pvalues(y, predictions, groups),
    }
