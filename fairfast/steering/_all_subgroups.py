r"""The all-subgroups steering program (spec section 3.2): every group moves.

Targets: free reference laws :math:`N(m_i, \Sigma_i)` and, per other group ``a``, one
invertible affine map :math:`x \mapsto M_a x + b_a`, so that group ``a``'s targets are
:math:`N(M_a m_i + b_a, M_a \Sigma_i M_a^\top)`; the objective is
:math:`\sum_{i,a} w_{ia} KL(\tilde P_{ia} \| P_{ia})` (forward direction).

For fixed maps the rest is closed form, in any dimension and with class-dependent
covariances: :math:`\Sigma_i = W_i (\sum_a w_{ia} M_a^\top S_{ia}^{-1} M_a)^{-1}`
(:math:`W_i = \sum_a w_{ia}`), and the means and shifts solve a weighted
least-squares problem. What remains is a profile over the maps, which is not
convex (in ``d = 1`` it has separate basins for each sign of the scale; in ``d > 1``
the maps form two components, ``det M > 0`` and ``det M < 0``, with local minima inside
each), so no exact global method is known to us:

* ``d = 1`` (:func:`all_subgroups`): an 801-point log grid of each scale, both
  signs, then golden-section refinement; coordinate descent over groups when
  there are more than two. Global up to the grid's resolution per coordinate.
* ``d >= 1`` (:func:`all_subgroups_gaussian`): L-BFGS on the maps (the gradient of the
  profile is the partial gradient at the inner optimum) in coordinates whitened per
  group, from several starts -- the identity, the affirmative solutions with the
  reference as target, and their reflections -- keeping the best. A local method:
  the result is bracketed by ``0 <= KL`` and the affirmative programs' KL, each a
  feasible point, which it never exceeds.
"""

import numpy as np
from scipy import linalg, optimize

from ._closed_form import shared_dense_map
from ._gaussian import cholesky, gaussian_kl
from ._programs import small_blas

__all__ = ["all_subgroups", "all_subgroups_gaussian", "solve_all_subgroups"]

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def _kl_1d(m1, s1, m2, s2):
    return np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2.0 * s2**2) - 0.5


# ---------------------------------------------------------------------------- d = 1
def _profile(g, mu, sd, w, ref):
    """Optimal (m, s, b) and the objective for fixed group scales.

    ``g`` has shape (n_groups,) or (n_batch, n_groups) with ``g[..., ref] = 1``; the
    least-squares problem in (m_0..m_{K-1}, b_a for a != ref) is solved through its
    normal equations for the whole batch at once.
    """
    G, K = mu.shape
    g = np.asarray(g, dtype=np.float64)
    single = g.ndim == 1
    g = np.atleast_2d(g)
    nb = g.shape[0]
    var = sd**2
    s2 = w.sum(axis=0) / np.einsum("ak,nak->nk", w / var, g[:, :, None] ** 2 * np.ones((1, 1, K)))
    others = [a for a in range(G) if a != ref]
    p = K + len(others)
    c = np.sqrt(w) / sd  # (G, K)
    X = np.zeros((nb, G, K, p))
    for i in range(K):
        X[:, :, i, i] = c[None, :, i] * g
    for j, a in enumerate(others):
        X[:, a, :, K + j] = c[a]
    X = X.reshape(nb, G * K, p)
    rhs = (c * mu).reshape(-1)
    XtX = np.einsum("nrp,nrq->npq", X, X)
    Xty = np.einsum("nrp,r->np", X, rhs)
    sol = np.linalg.solve(XtX + 1e-300 * np.eye(p), Xty[..., None])[..., 0]
    m = sol[:, :K]
    b = np.zeros((nb, G))
    b[:, others] = sol[:, K:]
    tm = g[:, :, None] * m[:, None, :] + b[:, :, None]
    ts = np.abs(g)[:, :, None] * np.sqrt(s2)[:, None, :]
    val = (w * _kl_1d(tm, ts, mu, sd)).sum(axis=(1, 2))
    if single:
        return float(val[0]), tm[0], ts[0], b[0]
    return val, tm, ts, b


def _golden(f, lo, hi, tol=1e-10, maxiter=200):
    x1 = hi - _GOLDEN * (hi - lo)
    x2 = lo + _GOLDEN * (hi - lo)
    f1, f2 = f(x1), f(x2)
    for _ in range(maxiter):
        if hi - lo < tol * (1.0 + abs(lo) + abs(hi)):
            break
        if f1 < f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - _GOLDEN * (hi - lo)
            f1 = f(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + _GOLDEN * (hi - lo)
            f2 = f(x2)
    return (x1, f1) if f1 < f2 else (x2, f2)


def all_subgroups(means, sds, weights, *, reference=0, n_grid=801, max_sweeps=50, tol=1e-12):
    r"""KL projection where every group moves (spec section 3.2, ``d = 1``).

    Minimises :math:`\sum_{i,a} w_{ia} KL(\tilde P_{ia} \| P_{ia})` over ideal
    targets: free reference laws :math:`N(m_i, s_i^2)` and, per other group, one map
    :math:`x \mapsto g_a x + b_a`. For fixed scales :math:`g` the rest is closed form
    (:math:`s_i^2 = \sum_a w_{ia} / \sum_a w_{ia} g_a^2/\sigma_{ia}^2`; the means and
    shifts solve a weighted least-squares problem). The profile is minimised over each
    :math:`\log|g_a|` by a grid on :math:`[-4, 4]` (``n_grid`` points, both signs)
    followed by golden-section refinement; with more than two groups the scales are
    updated by coordinate descent in a common frame (the reference group's). The
    profile is not convex in ``g``: the result is the best grid basin, with no global
    certificate.

    Parameters
    ----------
    means, sds : array-like of shape (n_groups, n_classes)
        Class-conditional means and standard deviations per group.
    weights : array-like of shape (n_groups, n_classes)
        Target subgroup masses :math:`\tilde q_{ia}` (e.g. ``q(a) q(i)``).
    reference : int
        Row whose frame is fixed (``g = 1``, ``b = 0``); the optimum does not depend on it.

    Returns
    -------
    dict with ``means``, ``sds`` (n_groups, n_classes) of the targets, ``scales`` and
    ``shifts`` (n_groups,) of the maps from the reference targets, and ``kl``.

    Examples
    --------
    >>> from fairfast.steering import affirmative_action
    >>> res = all_subgroups([[0.0, 2.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]], [[0.25, 0.25], [0.25, 0.25]])
    >>> bool(res["kl"] < affirmative_action([0.0, 2.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5])["kl"] / 2)
    True
    """
    mu = np.asarray(means, dtype=np.float64)
    sd = np.asarray(sds, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if mu.ndim != 2 or sd.shape != mu.shape or w.shape != mu.shape:
        raise ValueError(
            f"means, sds and weights must share a shape (n_groups, n_classes); got {mu.shape}, {sd.shape}, {w.shape}"
        )
    G, K = mu.shape
    if G < 2:
        raise ValueError(f"all_subgroups needs at least 2 groups, got {G}")
    if not (sd > 0).all() or (w < 0).any() or not (w.sum(axis=1) > 0).all():
        raise ValueError("sds must be positive and weights non-negative with a positive sum per group")
    if not 0 <= reference < G:
        raise ValueError(f"reference must be a row index in [0, {G}), got {reference}")
    with small_blas(0):
        return _all_subgroups(mu, sd, w, reference, n_grid, max_sweeps, tol)


def _all_subgroups(mu, sd, w, reference, n_grid, max_sweeps, tol):
    G = mu.shape[0]
    g = np.ones(G)
    others = [a for a in range(G) if a != reference]
    grid = np.linspace(-4.0, 4.0, n_grid)
    step = grid[1] - grid[0]
    best = _profile(g, mu, sd, w, reference)[0]
    for _sweep in range(max_sweeps):
        prev = best
        for a in others:
            def f_of(sign, t, a=a):
                gg = np.repeat(g[None, :], np.size(t), axis=0)
                gg[:, a] = sign * np.exp(t)
                v = _profile(gg, mu, sd, w, reference)[0]
                return v if np.ndim(t) else float(v[0])

            cand = []
            for sign in (1.0, -1.0):
                vals = f_of(sign, grid)
                j = int(np.argmin(vals))
                t, v = _golden(lambda t, s=sign: f_of(s, t), grid[max(j - 1, 0)] - (j == 0) * step,
                               grid[min(j + 1, n_grid - 1)] + (j == n_grid - 1) * step)
                cand.append((v, sign * np.exp(t)))
            v, ga = min(cand)
            if v < best:
                g[a], best = ga, v
        if prev - best <= tol * (1.0 + abs(best)):
            break
    val, tm, ts, b = _profile(g, mu, sd, w, reference)
    return dict(means=tm, sds=ts, scales=g, shifts=b, kl=val)


# ---------------------------------------------------------------------------- d >= 1
class _Whitened:
    """The problem in coordinates whitened per group (KL and ideality are invariant
    under one affine bijection per group): pooled covariance -> I, pooled mean -> 0."""

    def __init__(self, mu, S, w):
        G, K, d = mu.shape
        self.G, self.K, self.d, self.w = G, K, d, w
        Wa = w.sum(axis=1)
        self.center = np.einsum("ak,akd->ad", w, mu) / Wa[:, None]
        self.L = np.stack([cholesky(np.einsum("k,kij->ij", w[a] / Wa[a], S[a]), "a pooled covariance")
                           for a in range(G)])
        self.mu = np.stack([linalg.solve_triangular(self.L[a], (mu[a] - self.center[a]).T, lower=True).T
                            for a in range(G)])
        self.S = np.empty_like(S)
        self.P = np.empty_like(S)
        self.logdet = np.empty((G, K))
        for a in range(G):
            for i in range(K):
                half = linalg.solve_triangular(self.L[a], S[a, i], lower=True)
                Sw = linalg.solve_triangular(self.L[a], half.T, lower=True)
                Sw = (Sw + Sw.T) / 2
                Lw = cholesky(Sw, "a subgroup covariance")
                self.S[a, i] = Sw
                self.P[a, i] = linalg.cho_solve((Lw, True), np.eye(d))
                self.logdet[a, i] = 2 * np.log(np.diag(Lw)).sum()

    def inner(self, M):
        """Closed-form reference covariances, means and shifts for the maps ``M`` (G, d, d)."""
        G, d, w, P = self.G, self.d, self.w, self.P
        MPM = np.einsum("aji,akjl,alm->akim", M, P, M)  # M_a^T P_ia M_a, (G, K, d, d)
        H_mm = np.einsum("ak,akij->kij", w, MPM)  # (K, d, d)
        Sigma = w.sum(axis=0)[:, None, None] * np.linalg.inv(H_mm)
        Sigma = (Sigma + np.swapaxes(Sigma, 1, 2)) / 2
        # normal equations of sum w_ia |M_a m_i + b_a - mu_ia|^2_{P_ia} in (m, b), b_0 = 0;
        # the m blocks are eliminated (Schur complement on the shifts)
        PM = np.einsum("akij,ajl->akil", P, M)  # P_ia M_a
        g_m = np.einsum("ak,akji,akj->ki", w, PM, self.mu)  # sum_a w M^T P mu
        g_b = np.einsum("ak,akij,akj->ai", w, P, self.mu)
        H_bb = np.einsum("ak,akij->aij", w, P)
        H_bm = w[:, :, None, None] * PM  # (G, K, d, d): block (b_a, m_i)
        Hinv = Sigma / w.sum(axis=0)[:, None, None]  # H_mm^{-1}
        free = np.arange(1, G)
        n = free.size * d
        A = np.zeros((n, n))
        rhs = np.zeros(n)
        for x, a in enumerate(free):
            rhs[x * d:(x + 1) * d] = g_b[a] - np.einsum("kij,kjl,kl->i", H_bm[a], Hinv, g_m)
            for y, c in enumerate(free):
                block = -np.einsum("kij,kjl,kml->im", H_bm[a], Hinv, H_bm[c])
                if a == c:
                    block += H_bb[a]
                A[x * d:(x + 1) * d, y * d:(y + 1) * d] = block
        b = np.zeros((G, d))
        if n:
            b[free] = np.linalg.solve(A, rhs).reshape(free.size, d)
        m = np.einsum("kij,kj->ki", Hinv, g_m - np.einsum("akji,aj->ki", H_bm, b))
        return Sigma, m, b

    def value_and_grad(self, M):
        Sigma, m, b = self.inner(M)
        d, w = self.d, self.w
        sign, logdet_M = np.linalg.slogdet(M)
        if (sign == 0).any() or not np.isfinite(logdet_M).all():
            return np.inf, np.zeros_like(M), None
        tm = np.einsum("aij,kj->aki", M, m) + b[:, None, :]
        tS = np.einsum("aij,kjl,aml->akim", M, Sigma, M)
        r = tm - self.mu
        Pr = np.einsum("akij,akj->aki", self.P, r)
        _, logdet_S = np.linalg.slogdet(Sigma)
        kl = 0.5 * (np.einsum("akij,akji->ak", self.P, tS) + np.einsum("aki,aki->ak", r, Pr) - d
                    + self.logdet - 2 * logdet_M[:, None] - logdet_S[None, :])
        grad = (np.einsum("ak,akij,ajl,klm->aim", w, self.P, M, Sigma) + np.einsum("ak,aki,kj->aij", w, Pr, m)
                - w.sum(axis=1)[:, None, None] * np.linalg.inv(M).transpose(0, 2, 1))
        return float((w * kl).sum()), grad, (tm, tS, kl, b)


def all_subgroups_gaussian(means, covariances, weights, *, reference=0, maxiter=3000):
    r"""KL projection where every group moves, any dimension (module docstring).

    Parameters
    ----------
    means : array-like of shape (n_groups, n_classes, d)
    covariances : array-like of shape (n_groups, n_classes, d, d)
    weights : array-like of shape (n_groups, n_classes)
        Target subgroup masses :math:`\tilde q_{ia}` (e.g. ``q(a) q(i)``).
    reference : int
        Group whose frame is fixed (its map is the identity); the optimum does not
        depend on it.
    maxiter : int
        L-BFGS iterations per start.

    Returns
    -------
    dict
        ``means`` (G, K, d) and ``covs`` (G, K, d, d) of the targets, ``scales``
        (G, d, d) and ``shifts`` (G, d): each group's targets are the reference
        group's under ``x -> scales[a] x + shifts[a]``; ``kl`` (the objective) and
        ``subgroup_kl`` (G, K); ``converged`` (the best start's L-BFGS status).

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([[[0.0, 0.0], [2.0, 1.0]], [[0.5, 0.0], [1.0, 2.0]]])
    >>> S = np.broadcast_to(np.eye(2), (2, 2, 2, 2))
    >>> res = all_subgroups_gaussian(mu, S, np.full((2, 2), 0.25))
    >>> from fairfast.steering import affirmative_action
    >>> bool(res["kl"] <= affirmative_action(mu[0], S[0], mu[1], S[1], [0.5, 0.5])["kl"] / 2)
    True
    """
    mu = np.asarray(means, dtype=np.float64)
    S = np.asarray(covariances, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if mu.ndim != 3 or S.shape != mu.shape + mu.shape[-1:] or w.shape != mu.shape[:2]:
        raise ValueError("means, covariances and weights must have shapes (n_groups, n_classes, d), "
                         f"(n_groups, n_classes, d, d), (n_groups, n_classes); got {mu.shape}, {S.shape}, {w.shape}")
    G, K, d = mu.shape
    if G < 2:
        raise ValueError(f"all_subgroups_gaussian needs at least 2 groups, got {G}")
    if (w < 0).any() or not (w.sum(axis=1) > 0).all() or not (w.sum(axis=0) > 0).all():
        raise ValueError("weights must be non-negative with a positive sum per group and per class")
    if not 0 <= reference < G:
        raise ValueError(f"reference must be a group index in [0, {G}), got {reference}")
    order = [reference] + [a for a in range(G) if a != reference]  # the reference first
    with small_blas(d):
        best = _solve_whitened(_Whitened(mu[order], S[order], w[order]), maxiter)
    prob, M, (tm, tS, kl, b) = best["problem"], best["M"], best["extra"]
    out_m, out_S = np.empty_like(mu), np.empty_like(S)
    scales, shifts = np.empty((G, d, d)), np.empty((G, d))
    Lr, cr = prob.L[0], prob.center[0]
    for x, a in enumerate(order):
        L, c = prob.L[x], prob.center[x]
        out_m[a] = tm[x] @ L.T + c
        out_S[a] = L @ tS[x] @ L.T
        out_S[a] = (out_S[a] + np.swapaxes(out_S[a], 1, 2)) / 2
        scales[a] = L @ linalg.solve_triangular(Lr, M[x].T, lower=True, trans=1).T  # L M Lr^{-1}
        shifts[a] = L @ b[x] + c - scales[a] @ cr
    sub_kl = np.empty((G, K))
    sub_kl[order] = kl
    return dict(means=out_m, covs=out_S, scales=scales, shifts=shifts, kl=best["value"], subgroup_kl=sub_kl,
                converged=best["converged"])


def _solve_whitened(prob, maxiter):
    G, d = prob.G, prob.d
    flip = np.eye(d)
    flip[-1, -1] = -1.0
    eye = np.broadcast_to(np.eye(d), (G, d, d)).copy()
    # affirmative starts: each group's pooled closed form onto the reference, in these coordinates
    aff = eye.copy()
    for a in range(1, G):
        aff[a] = shared_dense_map(prob.mu[0], np.eye(d), prob.mu[a], np.eye(d), prob.w[a])[0]
    starts = [eye, aff, aff @ flip, eye @ flip]
    for s in starts:
        s[0] = np.eye(d)  # the reference frame stays fixed

    def fun(theta):
        M = np.concatenate([np.eye(d)[None], theta.reshape(G - 1, d, d)])
        val, grad, _ = prob.value_and_grad(M)
        return val, grad[1:].ravel()

    best = None
    for M0 in starts:
        res = optimize.minimize(fun, M0[1:].ravel(), jac=True, method="L-BFGS-B",
                                options=dict(maxiter=maxiter, gtol=1e-10, ftol=1e-15))
        if np.isfinite(res.fun) and (best is None or res.fun < best["value"]):
            M = np.concatenate([np.eye(d)[None], res.x.reshape(G - 1, d, d)])
            val, _, extra = prob.value_and_grad(M)
            best = dict(value=val, M=M, extra=extra, converged=bool(res.success), problem=prob)
    return best


def solve_all_subgroups(mu, covs, tq):
    """The estimator's all-subgroups fit: (target means, target covariances, subgroup KLs, KL)."""
    G, K, d = mu.shape
    if d == 1:
        res = all_subgroups(mu[:, :, 0], np.sqrt(covs[:, :, 0, 0]), tq)
        t_means, t_covs = res["means"][:, :, None], (res["sds"] ** 2)[:, :, None, None]
        sub_kl = np.array([[gaussian_kl(t_means[a, i], t_covs[a, i], mu[a, i], covs[a, i]) for i in range(K)]
                           for a in range(G)])
        return t_means, t_covs, sub_kl, res["kl"]
    res = all_subgroups_gaussian(mu, covs, tq)
    return res["means"], res["covs"], res["subgroup_kl"], res["kl"]
