"""Streaming, mergeable per-(label, group) moments of a feature matrix."""

import numpy as np
from scipy.linalg import blas as linalg_blas

__all__ = ["SubgroupMoments", "shrink_covariance"]


def _block_moments(X, codes, n_codes):
    """Counts, float64 means and scatter matrices per code, one BLAS product per block.

    Rows are sorted by code once; each block is centred (in the input precision) and
    its scatter ``Xc.T @ Xc`` is one SYRK/GEMM call.
    """
    n, d = X.shape
    counts = np.bincount(codes, minlength=n_codes)[:n_codes].astype(np.int64)
    means = np.zeros((n_codes, d))
    scatter = np.zeros((n_codes, d, d))
    if n == 0:
        return counts, means, scatter
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    for c in np.flatnonzero(counts):
        # fancy indexing copies the block, so it is centred in place (no second copy)
        xc = X[order[bounds[c] : bounds[c + 1]]] if n_codes > 1 else X.copy()
        m = xc.mean(axis=0, dtype=np.float64)
        xc -= m.astype(X.dtype)
        scatter[c] = xc.T @ xc
        # the float32 mean is rounded: correct the scatter for the residual mean shift
        # (a rank-one update in place: an outer product would be one more d x d array)
        r = xc.mean(axis=0, dtype=np.float64)
        means[c] = m + r
        if np.any(r):
            updated = linalg_blas.dger(-float(xc.shape[0]), r, r, a=scatter[c].T, overwrite_a=True)
            if not np.shares_memory(updated, scatter[c]):  # the wrapper had to copy
                scatter[c] = updated.T
    return counts, means, scatter


def _pooled_block_moments(X, codes, n_groups, n_classes):
    """Counts and float64 means per code ``group * n_classes + class``, and each group's
    pooled within-class scatter (n_groups, d, d): what ``covariance="shared"`` needs,
    with one BLAS product per group instead of one per (group, class) and half the
    d x d arrays of :func:`_block_moments` (whose per-class scatters it sums)."""
    n, d = X.shape
    n_codes = n_groups * n_classes
    counts = np.bincount(codes, minlength=n_codes)[:n_codes].astype(np.int64)
    means = np.zeros((n_codes, d))
    pooled = np.zeros((n_groups, d, d))
    if n == 0:
        return counts, means, pooled
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    for a in range(n_groups):
        lo, hi = bounds[a * n_classes], bounds[(a + 1) * n_classes]
        if hi == lo:
            continue
        xc = X[order[lo:hi]]  # a copy: centred in place, class by class
        residuals = []
        for c in range(a * n_classes, (a + 1) * n_classes):
            block = xc[bounds[c] - lo : bounds[c + 1] - lo]
            if not block.shape[0]:
                continue
            m = block.mean(axis=0, dtype=np.float64)
            block -= m.astype(X.dtype)
            r = block.mean(axis=0, dtype=np.float64)  # the float32 mean is rounded
            means[c] = m + r
            residuals.append((block.shape[0], r))
        pooled[a] = xc.T @ xc
        for count, r in residuals:
            if np.any(r):
                updated = linalg_blas.dger(-float(count), r, r, a=pooled[a].T, overwrite_a=True)
                if not np.shares_memory(updated, pooled[a]):
                    pooled[a] = updated.T
    return counts, means, pooled


def _merge(n_a, m_a, s_a, n_b, m_b, s_b):
    """Chan et al. pairwise update of (count, mean, scatter), vectorised over subgroups."""
    n = n_a + n_b
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(n > 0, n_b / np.maximum(n, 1), 0.0)
    delta = m_b - m_a
    mean = m_a + delta * f[:, None]
    coef = np.where(n > 0, n_a * f, 0.0)
    scatter = s_a + s_b + coef[:, None, None] * delta[:, :, None] * delta[:, None, :]
    return n, mean, scatter


def shrink_covariance(cov, n_samples, shrinkage):
    r"""Regularise a covariance estimate.

    ``shrinkage="oas"``: Oracle Approximating Shrinkage (Chen et al. 2010), the
    Ledoit-Wolf-type shrinkage towards :math:`\operatorname{tr}(S)/d \cdot I` derived
    for Gaussian data; it needs only the covariance (so it stays exact when moments
    are merged across chunks), unlike Ledoit-Wolf's fourth-moment term. A float
    ``r`` adds a relative ridge ``r * tr(S)/d * I``. ``None`` returns ``cov``.

    Examples
    --------
    >>> import numpy as np
    >>> shrink_covariance(np.diag([1.0, 3.0]), 10, 0.5)
    array([[2., 0.],
           [0., 4.]])
    """
    out = np.array(cov, dtype=np.float64)
    _shrink_in_place(out, n_samples, shrinkage)
    return out


def _shrink_in_place(cov, n_samples, shrinkage):
    """:func:`shrink_covariance` overwriting ``cov`` (C-contiguous float64)."""
    if shrinkage is None:
        return
    d = cov.shape[0]
    mu = np.trace(cov) / d
    if isinstance(shrinkage, str):
        if shrinkage != "oas":
            raise ValueError(f"shrinkage must be None, 'oas' or a non-negative float; got {shrinkage!r}")
        # scikit-learn's OAS formula on the (biased) empirical covariance
        alpha = float(np.vdot(cov, cov)) / cov.size  # mean of cov**2, without a d x d temporary
        num = alpha + mu**2
        den = (n_samples + 1.0) * (alpha - mu**2 / d)
        rho = 1.0 if den == 0 else min(num / den, 1.0)
        cov *= 1.0 - rho
        cov.flat[:: d + 1] += rho * mu
        return
    r = float(shrinkage)
    if not r >= 0:
        raise ValueError(f"shrinkage must be None, 'oas' or a non-negative float; got {shrinkage!r}")
    cov.flat[:: d + 1] += r * mu


class SubgroupMoments:
    r"""Per-(label, group) counts, means and scatter matrices, fed in chunks.

    Each call to :meth:`update` sorts the chunk's rows by subgroup once and computes
    one centred BLAS product ``Xc.T @ Xc`` per subgroup block; chunks (and objects,
    via :meth:`merge`) are combined with the pairwise update of Chan, Golub and
    LeVeque, so the result does not depend on how the data were split (up to
    rounding). Statistics are accumulated in float64 whatever the input dtype.

    Parameters
    ----------
    n_features : int, optional
        Checked against every chunk; inferred from the first one when None.

    Attributes
    ----------
    classes_ : list
        Labels seen so far, sorted.
    groups_ : list
        Group labels seen so far (a tuple per row for several sensitive columns), sorted.
    counts_ : ndarray of shape (n_groups, n_classes)
    means_ : ndarray of shape (n_groups, n_classes, n_features)
    scatter_ : ndarray of shape (n_groups, n_classes, n_features, n_features)
        Sums of centred outer products (``M2``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); y = rng.integers(0, 2, 100); a = rng.integers(0, 2, 100)
    >>> full = SubgroupMoments().update(X, y, sensitive_features=a)
    >>> parts = SubgroupMoments().update(X[:30], y[:30], sensitive_features=a[:30])
    >>> parts = parts.update(X[30:], y[30:], sensitive_features=a[30:])
    >>> bool(np.allclose(full.scatter_, parts.scatter_) and np.allclose(full.means_, parts.means_))
    True
    """

    def __init__(self, n_features=None):
        self.n_features = n_features
        self.classes_ = []
        self.groups_ = []
        self.counts_ = None
        self.means_ = None
        self.scatter_ = None
        self.pooled_scatter_ = None  # set instead of scatter_ by GaussianSteering(covariance="shared")

    def _grow(self, classes, groups, d):
        new_c = sorted(set(self.classes_) | set(classes), key=_sort_key)
        new_g = sorted(set(self.groups_) | set(groups), key=_sort_key)
        counts = np.zeros((len(new_g), len(new_c)), dtype=np.int64)
        means = np.zeros((len(new_g), len(new_c), d))
        scatter = np.zeros((len(new_g), len(new_c), d, d))
        if self.counts_ is not None:
            gi = [new_g.index(g) for g in self.groups_]
            ci = [new_c.index(c) for c in self.classes_]
            ix = np.ix_(gi, ci)
            counts[ix], means[ix], scatter[ix] = self.counts_, self.means_, self.scatter_
        self.classes_, self.groups_ = new_c, new_g
        self.counts_, self.means_, self.scatter_ = counts, means, scatter

    def update(self, X, y=None, *, sensitive_features):
        """Add a chunk of rows; ``y=None`` puts every row in one class ``0``. Returns self."""
        from .._base.grouping import encode_groups
        from .._base.validation import as_float_array

        X = as_float_array(X, "X", ndim=2)
        n, d = X.shape
        if self.n_features is None:
            self.n_features = d
        elif d != self.n_features:
            raise ValueError(f"X has {d} features but the moments were started with {self.n_features}")
        g_codes, g_labels = encode_groups(sensitive_features, n)
        if y is None:
            y_codes, y_labels = np.zeros(n, dtype=np.int64), [0]
        else:
            y = np.asarray(y)
            if y.ndim != 1 or y.shape[0] != n:
                raise ValueError(f"y must be 1-dimensional with {n} rows (one per row of X); got shape {y.shape}")
            y_labels, y_codes = np.unique(y, return_inverse=True)
            y_labels = [v.item() if isinstance(v, np.generic) else v for v in y_labels]
        self._grow(y_labels, g_labels, d)
        gmap = np.array([self.groups_.index(g) for g in g_labels])
        cmap = np.array([self.classes_.index(c) for c in y_labels])
        G, K = len(self.groups_), len(self.classes_)
        codes = (gmap[g_codes] * K + cmap[y_codes]).astype(np.intp)
        cnt, mean, scat = _block_moments(X, codes, G * K)
        n_, m_, s_ = _merge(
            self.counts_.reshape(-1), self.means_.reshape(G * K, d), self.scatter_.reshape(G * K, d, d),
            cnt, mean, scat,
        )
        self.counts_ = n_.reshape(G, K)
        self.means_ = m_.reshape(G, K, d)
        self.scatter_ = s_.reshape(G, K, d, d)
        return self

    def merge(self, other):
        """Combine with moments of other rows (e.g. another partition). Returns self."""
        if other.counts_ is None:
            return self
        d = other.means_.shape[-1]
        if self.n_features not in (None, d):
            raise ValueError(f"other has {d} features but these moments have {self.n_features}")
        self.n_features = d
        self._grow(other.classes_, other.groups_, d)
        G, K = len(self.groups_), len(self.classes_)
        gi = [self.groups_.index(g) for g in other.groups_]
        ci = [self.classes_.index(c) for c in other.classes_]
        cnt = np.zeros((G, K), dtype=np.int64)
        mean = np.zeros((G, K, d))
        scat = np.zeros((G, K, d, d))
        ix = np.ix_(gi, ci)
        cnt[ix], mean[ix], scat[ix] = other.counts_, other.means_, other.scatter_
        n_, m_, s_ = _merge(
            self.counts_.reshape(-1), self.means_.reshape(-1, d), self.scatter_.reshape(-1, d, d),
            cnt.reshape(-1), mean.reshape(-1, d), scat.reshape(-1, d, d),
        )
        self.counts_, self.means_, self.scatter_ = n_.reshape(G, K), m_.reshape(G, K, d), s_.reshape(G, K, d, d)
        return self

    def pooled(self):
        """Per-group (count, mean, scatter) of all classes together: arrays (n_groups, ...)."""
        if self.counts_ is None:
            raise ValueError("no data: call update() first")
        G, K, d = self.means_.shape
        n, m, s = self.counts_[:, 0].copy(), self.means_[:, 0].copy(), self.scatter_[:, 0].copy()
        for i in range(1, K):
            n, m, s = _merge(n, m, s, self.counts_[:, i], self.means_[:, i], self.scatter_[:, i])
        return n, m, s

    def covariances(self, *, shrinkage="oas", pooled_below=2.0):
        r"""Class covariances per (group, class), regularised.

        A subgroup with fewer than ``pooled_below * n_features`` rows uses its group's
        pooled within-class covariance :math:`\sum_i M2_{ia} / (n_a - K_a)` instead
        (then shrinkage is applied with the pooled count).

        Returns
        -------
        covs : ndarray of shape (n_groups, n_classes, d, d)
        pooled : ndarray of bool, shape (n_groups, n_classes)
            Which subgroups fell back to the pooled covariance.
        """
        if self.counts_ is None:
            raise ValueError("no data: call update() first")
        G, K, d = self.means_.shape
        covs = np.empty((G, K, d, d))
        fallback = self.counts_ < pooled_below * d
        for a in range(G):
            present = self.counts_[a] > 0
            n_a = int(self.counts_[a].sum())
            dof = max(n_a - int(present.sum()), 1)
            within = None  # the class whose slot holds the pooled covariance
            for i in range(K):
                # computed in place in covs (d x d arrays are large: no temporaries)
                if fallback[a, i]:
                    if within is None:
                        if self.scatter_ is None:  # only the pooled scatter was computed
                            covs[a, i] = self.pooled_scatter_[a]
                        else:
                            np.sum(self.scatter_[a], axis=0, out=covs[a, i])
                        covs[a, i] /= dof
                        _shrink_in_place(covs[a, i], dof, shrinkage)
                        within = i
                    else:
                        covs[a, i] = covs[a, within]
                else:
                    n = int(self.counts_[a, i])
                    np.divide(self.scatter_[a, i], max(n - 1, 1), out=covs[a, i])
                    _shrink_in_place(covs[a, i], n, shrinkage)
        return covs, fallback


def _sort_key(v):
    return (str(type(v)), v) if not isinstance(v, tuple) else (str(type(v)), tuple(map(str, v)))
