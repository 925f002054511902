"""Streaming, mergeable per-(label, group) moments of a feature matrix."""

import numpy as np
from scipy.linalg import blas as linalg_blas

__all__ = ["SubgroupMoments", "shrink_covariance"]


#: Largest numeric ``shrinkage``: beyond 1/eps the sample covariance is rounded away.
MAX_SHRINKAGE = 1e16

def _rank_one_downdate(S, count, r):
    """``S -= count * r r^T`` in place (BLAS ger on S's transposed view, no d x d temporary)."""
    if not np.any(r):
        return
    ger = linalg_blas.sger if S.dtype == np.float32 else linalg_blas.dger
    updated = ger(-float(count), r.astype(S.dtype), r.astype(S.dtype), a=S.T, overwrite_a=True)
    if not np.shares_memory(updated, S):  # the wrapper had to copy
        S[...] = updated.T


def _centre(block):
    """Centre ``block`` in place on its float64 mean (rounded to the block's dtype).

    Returns the exact float64 mean and the residual ``mean - rounded mean``: the scatter of
    the centred block exceeds the scatter about the mean by ``n r r^T`` (the rounding of
    each centred value is unbiased noise, far below float32 accumulation errors).
    """
    m = block.mean(axis=0, dtype=np.float64)
    rounded = m.astype(block.dtype)
    block -= rounded
    return m, m - rounded.astype(np.float64)


def _block_moments(X, codes, n_codes):
    """Counts, float64 means and float64 scatter matrices per code, one BLAS product per block.

    Rows are sorted by code once; each block is centred (in the input precision) and
    its scatter ``Xc.T @ Xc`` is one SYRK call.
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
        means[c], r = _centre(xc)
        scatter[c] = xc.T @ xc
        _rank_one_downdate(scatter[c], xc.shape[0], r)
    return counts, means, scatter


def _pooled_block_moments(X, codes, n_groups, n_classes):
    """Counts and float64 means per code ``group * n_classes + class``, and each group's
    pooled within-class scatter (n_groups, d, d) in X's dtype: what ``covariance="shared"``
    needs, with one SYRK per group instead of one per (group, class) and no d x d
    float64 copy of a float32 product (whose accumulation error, about
    ``sqrt(n) * 6e-8`` relative, is far below the sampling error of the estimate)."""
    n, d = X.shape
    n_codes = n_groups * n_classes
    counts = np.bincount(codes, minlength=n_codes)[:n_codes].astype(np.int64)
    means = np.zeros((n_codes, d))
    pooled = np.zeros((n_groups, d, d), dtype=X.dtype)
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
            if block.shape[0]:
                means[c], r = _centre(block)
                residuals.append((block.shape[0], r))
        np.matmul(xc.T, xc, out=pooled[a])
        for count, r in residuals:
            _rank_one_downdate(pooled[a], count, r)
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


def _mean_square(cov):
    """Mean of ``cov**2`` accumulated in float64, without a d x d temporary."""
    if cov.dtype == np.float64:
        return float(np.vdot(cov, cov)) / cov.size
    total = 0.0
    for lo in range(0, cov.shape[0], 256):
        block = cov[lo : lo + 256].astype(np.float64)
        total += float(np.vdot(block, block))
    return total / cov.size


def _shrink_in_place(cov, n_samples, shrinkage):
    """:func:`shrink_covariance` overwriting ``cov`` (C-contiguous float32 or float64)."""
    if shrinkage is None:
        return
    d = cov.shape[0]
    mu = float(np.trace(cov, dtype=np.float64)) / d
    if isinstance(shrinkage, str):
        if shrinkage != "oas":
            raise ValueError(f"shrinkage must be None, 'oas' or a non-negative float; got {shrinkage!r}")
        # scikit-learn's OAS formula on the (biased) empirical covariance
        alpha = _mean_square(cov)
        num = alpha + mu**2
        den = (n_samples + 1.0) * (alpha - mu**2 / d)
        rho = 1.0 if den == 0 else min(num / den, 1.0)
        cov *= 1.0 - rho
        cov.flat[:: d + 1] += rho * mu
        return
    r = float(shrinkage)
    if not 0 <= r < np.inf:
        raise ValueError(f"shrinkage must be None, 'oas' or a non-negative float; got {shrinkage!r}")
    if r > MAX_SHRINKAGE:
        raise ValueError(f"shrinkage must be at most {MAX_SHRINKAGE:g}, got {shrinkage!r}: beyond 1/eps the data's "
                         f"covariance no longer changes the result (it is rounded away), and larger values overflow")
    cov.flat[:: d + 1] += r * mu


def shared_covariances(pooled_scatter, counts, shrinkage):
    """Each group's pooled within-class covariance, shrunk, computed in place in
    ``pooled_scatter`` (G, d, d) (``counts`` (G, K)); returns that array."""
    for a in range(pooled_scatter.shape[0]):
        dof = max(int(counts[a].sum()) - int((counts[a] > 0).sum()), 1)
        pooled_scatter[a] /= dof
        _shrink_in_place(pooled_scatter[a], dof, shrinkage)
    return pooled_scatter


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
