"""Ideality conditions G1-G3 and the exact fairness gaps of Bayes rules."""

import numpy as np
from scipy import linalg, special

from ._gaussian import sqrtm_psd

__all__ = ["bayes_fairness_gaps", "check_ideal"]


def _as_model(means, covariances, priors):
    mu = np.asarray(means, dtype=np.float64)
    if mu.ndim == 2:
        mu = mu[:, :, None]
    if mu.ndim != 3:
        raise ValueError(f"means must have shape (n_groups, n_classes) or (n_groups, n_classes, d); got {mu.shape}")
    G, K, d = mu.shape
    S = np.asarray(covariances, dtype=np.float64)
    if S.shape == (G, K) and d == 1:
        S = S[:, :, None, None]
    if S.shape != (G, K, d, d):
        raise ValueError(
            f"covariances must have shape ({G}, {K}) (variances, d = 1) or ({G}, {K}, {d}, {d}); got {S.shape}"
        )
    q = np.asarray(priors, dtype=np.float64)
    if q.shape != (G, K):
        raise ValueError(f"priors must have shape ({G}, {K}) (joint masses q[a, i]); got {q.shape}")
    if not (q > 0).all():
        raise ValueError("priors must be positive")
    return mu, S, q / q.sum()


def check_ideal(means, covariances, priors, *, atol=1e-8, rtol=1e-6):
    r"""Check the sufficient Gaussian ideality conditions G1-G3 (Prop. 3.2).

    For all classes ``i, j`` and groups ``a, a'`` (symmetric PSD roots):

    - G1 :math:`S_{ia}^{-1/2}(\mu_{ia} - \mu_{ja}) = S_{ia'}^{-1/2}(\mu_{ia'} - \mu_{ja'})`
    - G2 :math:`S_{ia}^{1/2} S_{ja}^{-1} S_{ia}^{1/2} = S_{ia'}^{1/2} S_{ja'}^{-1} S_{ia'}^{1/2}`
    - G3 :math:`q_{ia}/q_{ja} = q_{ia'}/q_{ja'}`

    The conditions are sufficient, not necessary: groups related by a reflection
    (``d = 1``) or a map with a rotation part (``d > 1``) are ideal but fail G1/G2 as
    written. :func:`bayes_fairness_gaps` measures fairness directly.

    Parameters
    ----------
    means : array-like of shape (n_groups, n_classes[, d])
    covariances : array-like of shape (n_groups, n_classes) (variances) or (n_groups, n_classes, d, d)
    priors : array-like of shape (n_groups, n_classes)
        Joint masses ``q[a, i] = P(A=a, Y=i)``.
    atol, rtol : float
        Tolerances of ``numpy.allclose`` applied to each condition.

    Returns
    -------
    dict
        ``G1``, ``G2``, ``G3`` and ``ideal`` (bool) and the largest absolute deviation of
        each condition from group 0 (``G1_deviation`` ...).

    Examples
    --------
    >>> r = check_ideal([[0.0, 2.0], [1.0, 5.0]], [[1.0, 1.0], [4.0, 4.0]], [[0.25, 0.25], [0.25, 0.25]])
    >>> r["ideal"], r["G1"], r["G2"], r["G3"]
    (True, True, True, True)
    """
    mu, S, q = _as_model(means, covariances, priors)
    G, K, d = mu.shape
    g1 = np.empty((G, K, K, d))
    g2 = np.empty((G, K, K, d, d))
    for a in range(G):
        for i in range(K):
            root = sqrtm_psd(S[a, i])
            iroot = sqrtm_psd(S[a, i], inverse=True)
            for j in range(K):
                g1[a, i, j] = iroot @ (mu[a, i] - mu[a, j])
                g2[a, i, j] = root @ linalg.inv(S[a, j]) @ root
    g3 = q / q.sum(axis=1, keepdims=True)
    out = {}
    for name, arr in (("G1", g1), ("G2", g2), ("G3", g3)):
        dev = float(np.abs(arr - arr[:1]).max()) if G > 1 else 0.0
        out[name] = bool(np.allclose(arr, np.broadcast_to(arr[:1], arr.shape), atol=atol, rtol=rtol))
        out[f"{name}_deviation"] = dev
    out["ideal"] = out["G1"] and out["G2"] and out["G3"]
    return out


def _region_prob_1d(alpha, beta, gamma, mu, sd):
    """P(alpha X^2 + beta X + gamma > 0) for X ~ N(mu, sd^2); vectorised over gamma."""
    gamma = np.asarray(gamma, dtype=np.float64)
    cdf = lambda x: special.ndtr((x - mu) / sd)  # noqa: E731
    scale = abs(beta) + abs(gamma) + 1.0
    if abs(alpha) * (1.0 + abs(mu) + sd) ** 2 <= 1e-13 * np.max(scale):
        if beta == 0:
            return (gamma > 0).astype(float)
        t = -gamma / beta
        return 1.0 - cdf(t) if beta > 0 else cdf(t)
    disc = beta * beta - 4.0 * alpha * gamma
    root = np.sqrt(np.clip(disc, 0.0, None))
    r1 = (-beta - root) / (2 * alpha)
    r2 = (-beta + root) / (2 * alpha)
    lo, hi = np.minimum(r1, r2), np.maximum(r1, r2)
    if alpha > 0:  # outside the roots
        return np.where(disc > 0, cdf(lo) + 1.0 - cdf(hi), 1.0)
    return np.where(disc > 0, cdf(hi) - cdf(lo), 0.0)


def bayes_fairness_gaps(means, covariances, priors, costs=None, *, method="auto", n_samples=200_000,
                        random_state=None):
    r"""Fairness gaps of the group-aware Bayes rules :math:`h_c = 1\{P(Y=1 \mid x, a) > c\}`.

    Binary labels. For each cost ``c`` the rule of group ``a`` uses its own Gaussian
    posterior; the gaps are ``max - min`` over groups of the positive rate (DP), the
    true positive rate (EO) and ``max(TPR gap, FPR gap)`` (equalized odds).
    ``method="exact"`` (``d = 1``): the decision region is an interval or the
    complement of one (the log-likelihood ratio is quadratic), integrated with the
    normal CDF. ``method="monte_carlo"``: ``n_samples`` draws per subgroup.

    Parameters
    ----------
    means, covariances, priors
        As in :func:`check_ideal` with ``n_classes = 2``.
    costs : array-like of floats in (0, 1), optional
        Default ``numpy.linspace(0.05, 0.95, 19)``.
    method : {"auto", "exact", "monte_carlo"}
    n_samples : int
    random_state : None, int or numpy Generator

    Returns
    -------
    dict
        ``costs``; ``dp_gap``, ``eo_gap``, ``eodds_gap``, ``error`` (Bayes 0-1 error of
        the population) of shape (n_costs,); ``positive_rate``, ``tpr``, ``fpr`` of
        shape (n_groups, n_costs).

    Examples
    --------
    Test case T2 of the spec (group ``a`` before steering, and the reference):

    >>> r = bayes_fairness_gaps([[0.0, 1.0], [0.0, 2.0]], [[1.0, 1.0], [1.0, 1.0]],
    ...                         [[0.25, 0.25], [0.25, 0.25]], costs=[0.2, 0.5, 0.8])
    >>> np.round(r["tpr"], 4)
    array([[0.9704, 0.6915, 0.1877],
           [0.9548, 0.8413, 0.6205]])
    """
    from .._base.validation import check_choice

    check_choice(method, "method", ("auto", "exact", "monte_carlo"))
    mu, S, q = _as_model(means, covariances, priors)
    G, K, d = mu.shape
    if K != 2:
        raise ValueError(f"bayes_fairness_gaps needs binary labels (n_classes = 2), got {K}")
    c = np.linspace(0.05, 0.95, 19) if costs is None else np.atleast_1d(np.asarray(costs, dtype=np.float64))
    if not ((c > 0) & (c < 1)).all():
        raise ValueError("costs must lie strictly between 0 and 1")
    if method == "auto":
        method = "exact" if d == 1 else "monte_carlo"
    if method == "exact" and d != 1:
        raise ValueError(f"method='exact' needs d = 1, got d = {d}")
    rates = np.empty((G, 2, c.size))  # P(h = 1 | Y = i, A = a)
    thresh = np.log(c / (1 - c))
    rng = np.random.default_rng(random_state)
    for a in range(G):
        prior_lr = np.log(q[a, 1] / q[a, 0])
        if method == "exact":
            m0, m1 = mu[a, 0, 0], mu[a, 1, 0]
            v0, v1 = S[a, 0, 0, 0], S[a, 1, 0, 0]
            alpha = 1 / (2 * v0) - 1 / (2 * v1)
            beta = m1 / v1 - m0 / v0
            gamma = m0**2 / (2 * v0) - m1**2 / (2 * v1) + 0.5 * np.log(v0 / v1) + prior_lr - thresh
            for i in range(2):
                rates[a, i] = _region_prob_1d(alpha, beta, gamma, mu[a, i, 0], np.sqrt(S[a, i, 0, 0]))
        else:
            Ls = [linalg.cholesky(S[a, i], lower=True) for i in range(2)]
            logdets = [2 * np.log(np.diag(L)).sum() for L in Ls]
            for i in range(2):
                x = mu[a, i] + rng.standard_normal((n_samples, d)) @ Ls[i].T
                ll = []
                for j in range(2):
                    z = linalg.solve_triangular(Ls[j], (x - mu[a, j]).T, lower=True)
                    ll.append(-0.5 * (z * z).sum(axis=0) - 0.5 * logdets[j])
                llr = np.sort(ll[1] - ll[0] + prior_lr)
                rates[a, i] = 1.0 - np.searchsorted(llr, thresh, side="right") / n_samples
    qa = q.sum(axis=1)
    cond = q / qa[:, None]
    tpr, fpr = rates[:, 1], rates[:, 0]
    pos = cond[:, 1, None] * tpr + cond[:, 0, None] * fpr
    err = (q[:, 1, None] * (1 - tpr) + q[:, 0, None] * fpr).sum(axis=0)
    span = lambda v: v.max(axis=0) - v.min(axis=0)  # noqa: E731
    return dict(
        costs=c, dp_gap=span(pos), eo_gap=span(tpr), eodds_gap=np.maximum(span(tpr), span(fpr)),
        error=err, positive_rate=pos, tpr=tpr, fpr=fpr,
    )
