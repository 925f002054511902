r"""Closed form of the affirmative program when each group has one covariance (any ``d``).

Forward problem, source group ``s`` (classes :math:`N(\mu_{is}, S_s)`) mapped onto the
target group ``t`` (:math:`N(\mu_{it}, S_t)`):
:math:`\min_{M, b} \sum_i w_i KL(N(M\mu_{is}+b, M S_s M^\top) \| N(\mu_{it}, S_t))`.
With :math:`C = W S_s + \sum_i w_i d_{is} d_{is}^\top` (centred class means, ``W`` the
weight sum), any square-root factors :math:`S_t = L_t L_t^\top`, :math:`C = R R^\top`
and :math:`E = L_t^{-1} (\sum_i w_i d_{it} d_{is}^\top) R^{-\top} = U \operatorname{diag}(e)
V^\top`, the minimiser is :math:`M^* = L_t U \operatorname{diag}(k) V^\top R^{-1}`,
:math:`k_j = (e_j + \sqrt{e_j^2 + 4W})/2` (von Neumann's trace inequality); ``E`` has rank
at most ``K``, so everything is ``d x K`` algebra around two Cholesky factors.

The factor of ``C`` is built from the source group's own Cholesky factor ``L_s``:
:math:`C = W L_s (I + B B^\top) L_s^\top` with :math:`B = L_s^{-1} D_s^\top
\operatorname{diag}(\sqrt{w/W})`, so :math:`R = \sqrt W L_s (I + BB^\top)^{1/2}` and
:math:`(I + BB^\top)^{\pm 1/2}` is the identity plus a rank-``K`` term. Each group is
therefore factored once, whichever group is the reference (``reference="auto"`` tries
them all), and the factors may be float32 (:func:`cholesky` with ``single=True``).
"""

import numpy as np
from scipy import linalg

from ._gaussian import cholesky, sqrtm_psd

__all__ = ["shared_affirmative", "shared_dense_map", "symmetric_low_rank_sum", "whitened_map"]


def _tri(L, B, trans=0):
    """``L^{-1} B`` (``L^{-T} B`` with trans=1) in L's precision, returned in float64."""
    out = linalg.solve_triangular(L, np.asarray(B, dtype=L.dtype), lower=True, trans=trans, check_finite=False)
    return out.astype(np.float64, copy=False)


def _mul(L, B):
    """``L @ B`` for a (possibly float32) d x d factor and a thin float64 ``B``, in float64."""
    return (L @ np.asarray(B, dtype=L.dtype)).astype(np.float64, copy=False)


class _RootFactor:
    r"""The square-root factor :math:`R = \sqrt W L_s (I + BB^\top)^{1/2}` of ``C``."""

    def __init__(self, L_s, D_s, w):
        self.L, self.W = L_s, float(w.sum())
        self.P = _tri(L_s, D_s.T)  # L_s^{-1} d_is, (d, K)
        self.Q, R = linalg.qr(self.P * np.sqrt(w / self.W), mode="economic", check_finite=False)
        inner = np.eye(R.shape[0]) + R @ R.T
        self.root = sqrtm_psd(inner) - np.eye(R.shape[0])
        self.inv_root = sqrtm_psd(inner, inverse=True) - np.eye(R.shape[0])

    def solve(self, P):
        """``R^{-1} L_s P`` for a thin ``P`` (so ``P = L_s^{-1} X`` gives ``R^{-1} X``)."""
        return (P + self.Q @ (self.inv_root @ (self.Q.T @ P))) / np.sqrt(self.W)

    def times(self, X):
        """``R X`` for a thin X."""
        return np.sqrt(self.W) * _mul(self.L, X + self.Q @ (self.root @ (self.Q.T @ X)))


def _forward(mu_s, L_s, mu_t, L_t, w):
    """The forward closed form from the two groups' Cholesky factors (see the module)."""
    W = w.sum()
    mbar_s, mbar_t = w @ mu_s / W, w @ mu_t / W
    D_s, D_t = mu_s - mbar_s, mu_t - mbar_t
    root = _RootFactor(L_s, D_s, w)
    sw = np.sqrt(w)
    Y = _tri(L_t, D_t.T)  # L_t^{-1} d_it, (d, K)
    Z = root.solve(root.P)  # R^{-1} d_is, (d, K)
    Q1, R1 = linalg.qr(Y * sw, mode="economic", check_finite=False)
    Q2, R2 = linalg.qr(Z * sw, mode="economic", check_finite=False)
    u, e, vt = linalg.svd(R1 @ R2.T, check_finite=False)
    U, V = Q1 @ u, Q2 @ vt.T
    k = (e + np.sqrt(e * e + 4.0 * W)) / 2.0
    T = U @ (k[:, None] * (V.T @ Z))  # K R^{-1} d_is in the L_t frame
    means = mbar_t + _mul(L_t, T).T
    VP = vt @ R2  # V^T (Z sqrt(w))
    G = (np.diag(k * k) - W * np.eye(k.size) - (k[:, None] * (VP @ VP.T)) * k[None, :]) / W
    G = (G + G.T) / 2
    sign, logdet = np.linalg.slogdet(np.eye(k.size) + G)
    if sign <= 0:
        raise ValueError("the closed-form target covariance is not positive definite")
    per_class = 0.5 * (np.trace(G) - logdet + ((T - Y) ** 2).sum(axis=0))
    return dict(means=means, F=_mul(L_t, U), Phi=G, value=float(w @ per_class), per_class=per_class,
                U=U, k=k, V=V, root=root)


def symmetric_low_rank_sum(S, F, Phi, dtype=np.float64):
    """``S + F Phi F^T`` (``Phi`` symmetric) as one exactly symmetric d x d array of `dtype`.

    Row blocks of the upper triangle are computed and mirrored: half the flops of the
    full product and no d x d temporary.
    """
    d = S.shape[0]
    T = np.empty((d, d), dtype=dtype)
    FPhi = F @ Phi
    step = 256
    for i in range(0, d, step):
        j = min(d, i + step)
        block = S[i:j, i:] + FPhi[i:j] @ F[i:].T
        T[i:j, i:] = block
        T[i:, i:j] = block.T
    return T


def shared_affirmative(mu_r, L_r, mu_a, L_a, S_a, w, direction="forward", dtype=np.float64):
    """Target laws of group ``a`` (one covariance ``S_a = L_a L_a^T``) against the reference.

    Returns a dict with ``means`` (K, d), ``cov`` (d, d) of `dtype` (shared by the
    classes), ``kl`` (the weighted objective), ``class_kl`` (K,) and ``low_rank``
    ``(F, Phi)`` with ``cov = S_a + F Phi F^T`` (which the whitened coupling uses).
    """
    if direction == "forward":
        sol = _forward(mu_r, L_r, mu_a, L_a, w)
        F, Phi, means = sol["F"], sol["Phi"], sol["means"]
    else:
        # the forward problem of group a onto the reference, inverted: the target of
        # group a is N^{-1}(reference) with N = L_r K R_a^{-1}
        sol = _forward(mu_a, L_a, mu_r, L_r, w)
        W = w.sum()
        U, V, k, root = sol["U"], sol["V"], sol["k"], sol["root"]
        mbar_a, mbar_r = w @ mu_a / W, w @ mu_r / W
        Yr = _tri(L_r, (mu_r - mbar_r).T)
        RV = root.times(V)
        means = mbar_a + (RV @ ((U.T @ Yr) / k[:, None])).T
        F = np.hstack([(mu_a - mbar_a).T, RV])
        Phi = linalg.block_diag(np.diag(w) / W, np.diag(1.0 / k**2) - np.eye(k.size) / W)
    cov = symmetric_low_rank_sum(S_a, F, Phi, dtype)
    return dict(means=means, cov=cov, kl=sol["value"], class_kl=sol["per_class"], low_rank=(F, Phi))


def shared_dense_map(mu_s, S_s, mu_t, S_t, w):
    """Explicit ``(M, b)`` of the forward closed form (a dense d x d SVD; starts the numeric solver)."""
    W = w.sum()
    mbar_s, mbar_t = w @ mu_s / W, w @ mu_t / W
    D_s, D_t = mu_s - mbar_s, mu_t - mbar_t
    C = W * S_s + (D_s.T * w) @ D_s
    L_t, L_c = cholesky(S_t, "S_t"), cholesky(C, "C")
    Dm_T = (D_t.T * w) @ D_s  # sum_i w_i d_t_i d_s_i^T
    E = _tri(L_c, _tri(L_t, Dm_T).T).T
    U, e, Vt = linalg.svd(E, check_finite=False)
    k = (e + np.sqrt(e * e + 4.0 * W)) / 2.0
    M = L_t @ _tri(L_c, ((U * k) @ Vt).T).T  # L_t K L_c^{-1}
    return M, mbar_t - M @ mbar_s


def whitened_map(S, T, low_rank=None, L=None):
    r"""Map ``A = L (L^{-1} T L^{-T})^{1/2} L^{-1}`` (``S = L L^T``), so ``A S A^T = T``.

    The OT map after whitening by ``S``'s Cholesky factor. When ``T = S + F Phi F^T``
    (``low_rank=(F, Phi)``, the closed forms), ``A`` is the identity plus a
    rank-``F.shape[1]`` term and no d x d eigendecomposition is needed; it is then
    computed in the precision of ``L`` (the factor of ``S`` if already known, float32
    for the float32 fits). Otherwise dense, in float64.
    """
    if L is None:
        L = cholesky(S, "the subgroup covariance")
    d = S.shape[0]
    if low_rank is not None:
        F, Phi = low_rank
        Q, R = linalg.qr(_tri(L, F), mode="economic")
        inner = np.eye(R.shape[0]) + R @ Phi @ R.T
        H = sqrtm_psd((inner + inner.T) / 2) - np.eye(R.shape[0])
        right = _tri(L, Q, trans=1)  # L^{-T} Q
        left = _mul(L, Q) @ H
        A = left.astype(L.dtype) @ right.T.astype(L.dtype)
        A.flat[:: d + 1] += 1.0  # identity plus the low-rank term, without a d x d eye
        return A
    L = np.asarray(L, dtype=np.float64)
    Li = np.linalg.inv(L)
    mid = Li @ T @ Li.T
    return L @ sqrtm_psd((mid + mid.T) / 2) @ Li
