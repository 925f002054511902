"""Shared plumbing of the steering estimators: inputs, codes and blockwise affine maps."""

import numpy as np

from .._base.grouping import Grouping
from .._base.validation import as_float_array, not_finite_message
from ._gaussian import one_blas_thread

# Up to this width the compiled kernel maps rows chunk by chunk in cache; wider maps
# (d x d above 4 MiB in float32) go to one BLAS product per block, where the product
# dwarfs the gather and scatter around it.
KERNEL_MAX_FEATURES = 1024


def check_X(X, name="X", n_features=None, positive=False, check_finite=True, min_rows=0):
    """`X` as a C-contiguous 2-D float array; ``check_finite=False`` leaves the finiteness
    check to a later pass (``apply_blocks`` does it on the fly)."""
    X = as_float_array(X, name, ndim=2, min_rows=min_rows, check_finite=check_finite)
    if X.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features but the estimator was fitted with {n_features}")
    if positive and X.size and not (X > 0).all():
        raise ValueError(f"{name} must be strictly positive for family='lognormal'")
    return X


def fit_groups(sensitive_features, n):
    """Group codes, labels and the fitted grouping component (see fairfast._base.grouping)."""
    grouping, codes = Grouping.fit(sensitive_features, n, what="X has")
    return codes, grouping.labels, grouping


def transform_groups(sensitive_features, grouping, n):
    """Group codes of new rows, their columns matched by name to the fitted ones."""
    if sensitive_features is None:
        raise ValueError("sensitive_features is required: the group of every row")
    return np.asarray(grouping.encode(sensitive_features, n, what="X has"), dtype=np.intp)


def encode_labels(y, n, classes=None):
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y must be 1-dimensional with {n} rows (one per row of X); got shape {y.shape}")
    if classes is None:
        labels, codes = np.unique(y, return_inverse=True)
        return codes.astype(np.intp), [v.item() if isinstance(v, np.generic) else v for v in labels]
    known = np.asarray(classes)
    try:
        codes = np.searchsorted(known, y)  # classes are sorted (np.unique in fit)
        ok = codes < len(known)
        ok[ok] = known[codes[ok]] == y[ok]
    except TypeError:  # labels that do not compare with the fitted ones
        ok = np.zeros(n, dtype=bool)
    if not ok.all():
        bad = y[np.flatnonzero(~ok)[0]]
        raise ValueError(f"y contains the label {bad!r}, unseen in fit (known: {list(classes)})")
    return codes.astype(np.intp), list(classes)


def require_finite(X, name="X"):
    if X.size and not np.isfinite(X).all():
        bad = int(np.flatnonzero(~np.isfinite(X.ravel()))[0])
        raise ValueError(not_finite_message(name, X.ravel()[bad].item(), bad))


_BLAS = {}


def _blas_context():
    """The cython_blas gemm capsules, looked up once per process."""
    if not _BLAS:
        from scipy.linalg import cython_blas

        _BLAS["gemm"] = {np.dtype(np.float32): cython_blas.__pyx_capi__["sgemm"],
                         np.dtype(np.float64): cython_blas.__pyx_capi__["dgemm"]}
    return _BLAS


def apply_blocks(X, codes, n_codes, linear, offset, identity, out=None, name="X"):
    """``out[r] = linear[c] @ X[r] + offset[c]`` for ``c = codes[r]``; rows whose block is
    flagged ``identity`` are copied. float32 input is transformed in float32.

    Checks that ``X`` is finite (raising ``ValueError`` naming ``name``), so callers
    validate ``X`` with ``check_finite=False`` and the data is read once.

    Up to ``KERNEL_MAX_FEATURES`` columns the compiled kernel does the work: per chunk
    of rows that fits in cache, a counting sort by block, one BLAS gemm per block and an
    in-order write with the offset, so memory sees what a bare ``X @ A.T + b`` sees.
    Its gemm is scipy's (``scipy.linalg.cython_blas``), run single-threaded inside the
    kernel's own threads. Wider inputs are sorted by block once, multiplied block by
    block with threaded BLAS, and scattered back.
    """
    if out is None:
        out = np.empty_like(X)
    n, d = X.shape
    if n == 0:
        return out
    dt = X.dtype
    if d <= KERNEL_MAX_FEATURES and _BLAS.get("usable", True):
        from .._core import steering as _kernels

        blas = _blas_context()
        lin = np.ascontiguousarray(linear, dtype=dt).reshape(n_codes, d, d)
        off = np.ascontiguousarray(offset, dtype=dt).reshape(n_codes, d)
        ident = np.ascontiguousarray(identity, dtype=np.uint8).reshape(n_codes)
        codes = np.ascontiguousarray(codes, dtype=np.int64)
        try:
            with one_blas_thread():
                _kernels.apply_affine_blocks(X, codes, lin, off, ident, out, blas["gemm"][dt])
        except ValueError:
            require_finite(X, name)  # the kernel's message has no position; this one does
            raise
        except TypeError:
            # scipy's gemm capsule not recognised (another scipy build): use the
            # BLAS-per-block path from now on
            _BLAS["usable"] = False
        else:
            return out
    require_finite(X, name)

    def product(src, c, dst):
        if identity[c]:
            dst[...] = src
        else:
            np.matmul(src, np.asarray(linear[c], dtype=dt).T, out=dst)
            dst += np.asarray(offset[c], dtype=dt)

    first = codes[0]
    if (codes == first).all():
        product(X, first, out)
        return out
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_codes)
    gathered = X[order]
    result = np.empty_like(gathered)
    lo = 0
    for c in np.flatnonzero(counts):
        hi = lo + counts[c]
        product(gathered[lo:hi], c, result[lo:hi])
        lo = hi
    out[order] = result
    return out


def stack_maps(parts, ref, G, K, d, dtype, shared):
    """(linear (G, K, d, d), identity (G, K)) from per-group maps; views of (G, d, d) if all are shared."""
    identity = np.zeros((G, K), dtype=bool)
    if ref is not None:
        identity[ref] = True
    if shared and all(not isinstance(p, list) for p in parts.values()):
        group = np.empty((G, d, d), dtype=dtype)
        for a in range(G):
            if a == ref:
                group[a] = 0.0
                group[a].flat[:: d + 1] = 1.0
            else:
                group[a] = parts[a]
        return np.broadcast_to(group[:, None], (G, K, d, d)), identity
    linear = np.empty((G, K, d, d), dtype=dtype)
    for a in range(G):
        if a == ref:
            linear[a] = 0.0
            for i in range(K):
                linear[a, i].flat[:: d + 1] = 1.0
        else:
            linear[a] = parts[a] if not isinstance(parts[a], list) else np.stack(parts[a])
    return linear, identity


def all_equal(S):
    """The (K, d, d) stack repeats one matrix (a broadcast view does by construction)."""
    return S.strides[0] == 0 or bool(np.all(S == S[:1]))


def times(A, M):
    """``M[i] @ A[i].T`` in float64 for a (K, d, d) stack of maps (possibly float32, possibly
    one broadcast matrix) and means (K, d), converting A in row blocks (no d x d copy)."""
    K, d = M.shape
    out = np.empty((K, d))
    same = A.strides[0] == 0
    for i in range(1 if same else K):
        rows = M if same else M[i : i + 1]
        res = out if same else out[i : i + 1]
        for lo in range(0, d, 512):
            res[:, lo : lo + 512] = rows @ np.asarray(A[i, lo : lo + 512], dtype=np.float64).T
    return out
