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

from ._apply import AffineMaps, cached_maps
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


def _inverse_factors(est):
    """Per (group, class) code: the inverse Cholesky factor of the class covariance (one
    array per group when the covariances are shared) and the log of its determinant."""
    G, K, d = est.means_.shape
    inverses, log_det = [], np.empty((G, K))
    for a in range(G):
        for i in range(K):
            if est.covariance == "shared" and i > 0:
                inverses.append(inverses[-1])
                log_det[a, i] = log_det[a, 0]
                continue
            L = linalg.cholesky(np.asarray(est.covariances_[a, i], dtype=np.float64), lower=True)
            inverses.append(linalg.solve_triangular(L, np.eye(d), lower=True))
            log_det[a, i] = np.log(np.diag(L)).sum()
    return AffineMaps(inverses, center=est.means_.reshape(G * K, d)), log_det


# Rows per block of the soft mode's temporaries (a few arrays of block x d float64).
_BLOCK_VALUES = 1 << 21


def _blocks(n, d):
    step = max(1, _BLOCK_VALUES // max(d, 1))
    return [slice(lo, min(n, lo + step)) for lo in range(0, n, step)]


def _row_sum(p):
    """Sum over the columns, in column order (a row's value never depends on the other rows)."""
    total = p[:, 0].copy()
    for i in range(1, p.shape[1]):
        total += p[:, i]
    return total


def posterior(est, Z, g):
    """:math:`p(i \\mid x, a)` of the fitted Gaussian model for the rows of ``Z`` in groups ``g``.

    The Mahalanobis distance of each class is :math:`\\|L^{-1}(x - \\mu)\\|^2` with the
    precomputed inverse factor, through the batch-invariant kernel, so a row's posterior
    never depends on the other rows.
    """
    from .._core.steering import sum_squares_by_row

    G, K, d = est.means_.shape
    maps, log_det = cached_maps(est, "posterior", (est.covariances_, est.means_), lambda: _inverse_factors(est))
    log_cond = np.log(est.priors_ / est.priors_.sum(axis=1, keepdims=True))
    n = Z.shape[0]
    p = np.empty((n, K))
    for rows in _blocks(n, d):
        Zb, gb = np.ascontiguousarray(Z[rows], dtype=np.float64), g[rows]
        r = np.empty_like(Zb)
        dist = np.empty(Zb.shape[0])
        logp = p[rows]
        for i in range(K):
            maps.apply(Zb, gb * K + i, out=r)
            sum_squares_by_row(r, dist)
            logp[:, i] = log_cond[gb, i] - 0.5 * dist - log_det[gb, i]
        logp -= logp.max(axis=1, keepdims=True)
        np.exp(logp, out=logp)
        logp /= _row_sum(logp)[:, None]
    return p


def soft_combine(est, Z, g, proba=None):
    """:math:`\\sum_i p(i \\mid x, a) T_{ia}(x)`; ``proba`` (n, K) or None (the Gaussian posterior).

    The maps' products go through the batch-invariant kernel and the weighted sum is
    taken class by class, elementwise, so a row's result never depends on the other rows.
    """
    G, K = est.priors_.shape
    n, d = Z.shape
    p = posterior(est, Z, g) if proba is None else proba
    out = np.empty_like(Z)
    if est.covariance == "shared" and est.program == "affirmative":  # one linear part per group
        linear = cached_maps(est, "soft_linear", (est.linear_, est.identity_),
                             lambda: AffineMaps([est.linear_[a, 0] for a in range(G)], None, est.identity_[:, 0]))
        for rows in _blocks(n, d):
            gb, pb = g[rows], p[rows]
            shift = pb[:, 0, None] * est.offset_[gb, 0]  # A x + sum_i p_i b_i
            for i in range(1, K):
                shift += pb[:, i, None] * est.offset_[gb, i]
            linear.apply(Z[rows], gb, out=out[rows])
            out[rows] += shift.astype(Z.dtype)
    else:
        maps = est._label_aware_maps()
        for rows in _blocks(n, d):
            gb, pb = g[rows], p[rows]
            Zb = Z[rows]
            acc = np.zeros(Zb.shape)
            for i in range(K):
                acc += pb[:, i, None] * maps.apply(Zb, gb * K + i)
            out[rows] = acc
    still = est.identity_[g, 0]
    out[still] = Z[still]
    return out
