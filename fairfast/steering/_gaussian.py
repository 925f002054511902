"""Dense Gaussian linear algebra: PSD roots, Gaussian KL divergences and OT maps."""

import numpy as np
from scipy import linalg

__all__ = ["bures_map", "gaussian_kl", "sqrtm_psd"]

_CONTROLLER = None


def one_blas_thread():
    """Context manager: one BLAS thread.

    Used for Cholesky factorisations of moderate size (``d^3/3`` flops, latency-bound:
    OpenBLAS's threaded ``potrf`` collapses when the cores are shared), for loops of
    tiny products, and around the blockwise affine kernel, whose own threads call BLAS.
    """
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


# From this size on, scipy's LAPACK potrf with its threads (d = 4096: 0.47-0.54 s on two
# cores) beats numpy's cholesky (0.74-1.44 s threaded, 0.93-1.47 s on one thread);
# below, one thread: there the threads only add latency.
_LARGE_CHOLESKY_FROM = 1024


# float32 factorisations are kept when LAPACK's estimate of the reciprocal condition
# number of S is at least this: the forward error of the solves with the factor is then
# below ~1e3 float32 roundings (6e-5 relative), under the float32 output's own error.
SINGLE_RCOND = 1e-3


def cholesky(S, name="the covariance", *, single=False):
    """Lower Cholesky factor; a ValueError naming ``name`` if ``S`` is not positive definite.

    The factor is that of the symmetric matrix defined by ``S``'s lower triangle.
    ``single=True`` factors in float32 and returns the float32 factor when ``S`` is
    well conditioned (reciprocal condition estimate >= ``SINGLE_RCOND``), else the
    float64 factor: float32 halves the flops and the memory of the large-``d`` fits
    of float32 data, whose maps are applied in float32 anyway.
    """
    S = np.asarray(S)
    if single:
        L = _factor(np.asarray(S, dtype=np.float32), name)
        if L is not None and _rcond(S, L) >= SINGLE_RCOND:
            return L
    L = _factor(np.asarray(S, dtype=np.float64), name)
    if L is None:
        raise ValueError(f"{name} must be positive definite (add shrinkage or a ridge)")
    return L


def _factor(S, name):
    """Lower factor in S's dtype, or None if S is not (numerically) positive definite."""
    if S.ndim == 2 and S.shape[0] >= _LARGE_CHOLESKY_FROM:
        from scipy.linalg import lapack

        potrf = lapack.spotrf if S.dtype == np.float32 else lapack.dpotrf
        # S.T is a Fortran view of S; its upper triangle is S's lower triangle
        U, info = potrf(S.T, lower=0, clean=1, overwrite_a=0)
        if info < 0:  # pragma: no cover - argument error inside LAPACK
            raise RuntimeError(f"LAPACK potrf rejected argument {-info}")
        return None if info > 0 else U.T
    try:
        with one_blas_thread():
            return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return None


def _rcond(S, L):
    """LAPACK's estimate of the reciprocal 1-norm condition number of S from its factor L."""
    from scipy.linalg import lapack

    d = S.shape[0]
    anorm = 0.0
    for lo in range(0, d, 512):  # max column sum of |S| without a d x d temporary
        anorm = max(anorm, float(np.abs(S[:, lo : lo + 512]).sum(axis=0).max()))
    pocon = lapack.spocon if L.dtype == np.float32 else lapack.dpocon
    rcond, info = pocon(L.T, anorm, uplo="U")  # L.T: the upper factor, Fortran-ordered view
    return float(rcond) if info == 0 else 0.0


def _eigh(S):
    # numpy's LAPACK (syevd): heavy products all go through one BLAS library, so two
    # OpenBLAS thread pools (numpy's and scipy's) never spin against each other
    w, V = np.linalg.eigh(S)
    return np.clip(w, 0.0, None), V


def sqrtm_psd(S, *, inverse=False, rcond=None):
    """Symmetric square root (or pseudo-inverse square root) of a PSD matrix.

    Eigenvalues below ``rcond * max_eigenvalue`` are treated as zero (their inverse
    root is set to zero), as ``numpy.linalg.pinv`` does.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[4.0, 0.0], [0.0, 9.0]])
    >>> sqrtm_psd(S)
    array([[2., 0.],
           [0., 3.]])
    """
    S = np.asarray(S, dtype=np.float64)
    w, V = _eigh((S + S.T) / 2)
    if rcond is None:
        rcond = S.shape[0] * np.finfo(np.float64).eps
    keep = w > rcond * (w[-1] if w.size else 0.0)
    with np.errstate(divide="ignore"):
        root = np.where(keep, 1.0 / np.sqrt(np.where(keep, w, 1.0)), 0.0) if inverse else np.sqrt(w)
    return (V * root) @ V.T


def bures_map(source_cov, target_cov):
    r"""Linear part of the Gaussian optimal transport (Monge) map.

    For :math:`N(\mu, \Sigma) \to N(\tilde\mu, \tilde\Sigma)` the quadratic-cost OT map
    is :math:`T(x) = \tilde\mu + A (x - \mu)` with

    .. math:: A = \Sigma^{-1/2} (\Sigma^{1/2} \tilde\Sigma \Sigma^{1/2})^{1/2} \Sigma^{-1/2},

    the unique symmetric positive definite matrix with :math:`A \Sigma A = \tilde\Sigma`.

    Examples
    --------
    >>> import numpy as np
    >>> A = bures_map(np.eye(2), np.diag([4.0, 1.0]))
    >>> np.round(A, 12)
    array([[2., 0.],
           [0., 1.]])
    """
    S = np.atleast_2d(np.asarray(source_cov, dtype=np.float64))
    T = np.atleast_2d(np.asarray(target_cov, dtype=np.float64))
    w, V = _eigh((S + S.T) / 2)
    if not w[0] > 0:
        raise ValueError("source_cov must be positive definite (add shrinkage or a ridge)")
    r = np.sqrt(w)
    s_half = (V * r) @ V.T
    s_ihalf = (V / r) @ V.T
    mid = s_half @ T @ s_half
    mid_root = sqrtm_psd((mid + mid.T) / 2)
    A = s_ihalf @ mid_root @ s_ihalf
    return (A + A.T) / 2


def _logdet_pd(S, name):
    if not np.all(np.isfinite(S)):
        raise ValueError(f"{name} must be finite")
    L = cholesky(S, name)
    return L, 2.0 * np.log(np.diag(L)).sum()


def gaussian_kl(mean1, cov1, mean2, cov2):
    r"""Kullback-Leibler divergence :math:`KL(N(m_1, S_1) \,\|\, N(m_2, S_2))`.

    .. math:: \tfrac12\left[\operatorname{tr}(S_2^{-1}S_1) + (m_2-m_1)^\top S_2^{-1}(m_2-m_1)
              - d + \log\det S_2 - \log\det S_1\right]

    Scalars (``d = 1``, covariances given as variances) and vectors/matrices are accepted.

    Examples
    --------
    >>> round(gaussian_kl(0.0, 1.0, 1.0, 1.0), 6)
    0.5
    >>> round(gaussian_kl([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], [1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]), 6)
    0.5
    """
    m1 = np.atleast_1d(np.asarray(mean1, dtype=np.float64))
    m2 = np.atleast_1d(np.asarray(mean2, dtype=np.float64))
    S1 = np.atleast_2d(np.asarray(cov1, dtype=np.float64))
    S2 = np.atleast_2d(np.asarray(cov2, dtype=np.float64))
    d = m1.shape[0]
    if m2.shape != (d,) or S1.shape != (d, d) or S2.shape != (d, d):
        raise ValueError(f"shapes do not match: means {m1.shape}, {m2.shape}; covariances {S1.shape}, {S2.shape}")
    if not (np.all(np.isfinite(m1)) and np.all(np.isfinite(m2))):
        raise ValueError("the means must be finite")
    L2, ld2 = _logdet_pd(S2, "cov2")
    _, ld1 = _logdet_pd(S1, "cov1")
    Y = linalg.solve_triangular(L2, S1, lower=True, check_finite=False)
    tr = np.trace(linalg.solve_triangular(L2, Y.T, lower=True, check_finite=False))
    z = linalg.solve_triangular(L2, m2 - m1, lower=True, check_finite=False)
    return float(0.5 * (tr + z @ z - d + ld2 - ld1))
