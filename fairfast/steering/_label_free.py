r"""Inference-time maps of :class:`GaussianSteering` for rows without labels.

The label-aware maps :math:`T_{ia}` need the label ``i`` of each row, which a deployed
model does not have. Two label-free substitutes (spec open point 3), neither of which
carries the fairness guarantee:

* **mixture** (deployment mode (b), MiMiC-style): one map per group, the Gaussian
  transport map between the group's fitted mixture :math:`\sum_i q(i \mid a)
  N(\mu_{ia}, S_{ia})` and the steered mixture :math:`\sum_i q(i \mid a) N(\tilde\mu_{ia},
  \tilde S_{ia})`, both moment matched;
* **soft** (deployment mode (c)): :math:`x \mapsto \sum_i p(i \mid x, a) T_{ia}(x)`, the
  label-aware maps weighted by a classifier's posterior -- the fitted Gaussian model's
  (:meth:`GaussianSteering.class_posterior`) or any classifier's probabilities
  (:meth:`GaussianSteering.soft_transform`).
"""

import numpy as np
from scipy import linalg

from ._closed_form import whitened_map
from ._gaussian import bures_map
from ._programs import small_blas

__all__ = ["check_proba", "mixture_maps", "posterior", "soft_combine"]


def _mixture(weights, means, covs):
    m = weights @ means
    dev = means - m
    cov = np.einsum("i,ijk->jk", weights, covs) + (dev.T * weights) @ dev
    return m, (cov + cov.T) / 2


def mixture_maps(est):
    """Per-group ``(A, b)`` from the group mixture to the steered mixture: arrays (G, d, d), (G, d)."""
    q = est.priors_
    G, K, d = est.means_.shape
    cond = q / q.sum(axis=1, keepdims=True)
    lin = np.zeros((G, d, d))
    off = np.zeros((G, d))
    with small_blas(d):
        for a in range(G):
            if est.identity_[a, 0]:
                lin[a] = np.eye(d)
                continue
            # contiguous float64 copies: the same sums whether the fitted arrays are
            # views repeating one matrix (shared covariances) or loaded from a file
            covs = np.ascontiguousarray(est.covariances_[a], dtype=np.float64)
            t_covs = np.ascontiguousarray(est.target_covariances_[a], dtype=np.float64)
            m_s, S_s = _mixture(cond[a], est.means_[a], covs)
            m_t, S_t = _mixture(cond[a], est.target_means_[a], t_covs)
            A = bures_map(S_s, S_t) if est.coupling == "ot" else whitened_map(S_s, S_t)
            lin[a] = A
            off[a] = m_t - A @ m_s
    return lin, off


def check_proba(proba, n, n_classes):
    """Class probabilities of shape (n, n_classes), non-negative, rows summing to 1."""
    from .._base.validation import as_float_array

    P = as_float_array(proba, "proba", dtype=np.float64, ndim=2)
    if P.shape != (n, n_classes):
        raise ValueError(f"proba must have shape (n_samples, n_classes) = ({n}, {n_classes}), "
                         f"columns in the order of classes_; got {P.shape}")
    if (P < 0).any() or not np.allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-6):
        raise ValueError("proba must be non-negative with rows summing to 1 (class probabilities)")
    return P


def _factors(est, a):
    """Cholesky factors of group ``a``'s class covariances (one when they are shared)."""
    covs = est.covariances_[a]
    if est.covariance == "shared":
        L = linalg.cholesky(np.asarray(covs[0], dtype=np.float64), lower=True)
        return [L] * covs.shape[0]
    return [linalg.cholesky(covs[i], lower=True) for i in range(covs.shape[0])]


def posterior(est, Z, a, rows):
    """:math:`p(i \\mid x, a)` of the fitted Gaussian model for the rows ``rows`` of group ``a``."""
    cache = est._derived().setdefault("posterior_factors", {})
    if a not in cache:
        cache[a] = _factors(est, a)
    Ls = cache[a]
    K = len(Ls)
    cond = est.priors_[a] / est.priors_[a].sum()
    Za = Z[rows]
    logp = np.empty((rows.size, K))
    for i in range(K):
        L = Ls[i]
        r = linalg.solve_triangular(L, (Za - est.means_[a, i]).T.astype(np.float64), lower=True)
        logp[:, i] = np.log(cond[i]) - 0.5 * (r * r).sum(axis=0) - np.log(np.diag(L)).sum()
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    p /= p.sum(axis=1, keepdims=True)
    return p


def soft_combine(est, Z, g, proba=None):
    """:math:`\\sum_i p(i \\mid x, a) T_{ia}(x)`; ``proba`` (n, K) or None (the Gaussian posterior)."""
    G, K = est.priors_.shape
    out = np.empty_like(Z)
    shared_maps = est.covariance == "shared" and est.program == "affirmative"
    for a in range(G):
        rows = np.flatnonzero(g == a)
        if rows.size == 0:
            continue
        Za = Z[rows]
        if est.identity_[a, 0]:
            out[rows] = Za
            continue
        p = posterior(est, Z, a, rows) if proba is None else proba[rows]
        if shared_maps:  # one linear part per group: A x + sum_i p_i b_i
            lin = np.asarray(est.linear_[a, 0], dtype=Z.dtype)
            out[rows] = Za @ lin.T + (p @ est.offset_[a]).astype(Z.dtype)
            continue
        acc = np.zeros(Za.shape)
        for i in range(K):
            acc += p[:, i, None] * (Za @ est.linear_[a, i].T.astype(Z.dtype) + est.offset_[a, i])
        out[rows] = acc
    return out
