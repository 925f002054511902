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


def cholesky(S, name="the covariance"):
    """Lower Cholesky factor; a ValueError naming ``name`` if ``S`` is not positive definite.

    The factor is that of the symmetric matrix defined by ``S``'s lower triangle.
    """
    S = np.asarray(S, dtype=np.float64)
    if S.ndim == 2 and S.shape[0] >= _LARGE_CHOLESKY_FROM:
        from scipy.linalg import lapack

        # S.T is a Fortran view of S; its upper triangle is S's lower triangle
        U, info = lapack.dpotrf(S.T, lower=0, clean=1, overwrite_a=0)
        if info > 0:
            raise ValueError(f"{name} must be positive definite (add shrinkage or a ridge)")
        if info < 0:  # pragma: no cover - argument error inside LAPACK
            raise RuntimeError(f"LAPACK dpotrf rejected argument {-info}")
        return U.T
    try:
        with one_blas_thread():
            return np.linalg.cholesky(S)
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"{name} must be positive definite (add shrinkage or a ridge)") from exc


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
