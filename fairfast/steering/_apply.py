"""Shared plumbing of the steering estimators: inputs, codes and blockwise affine maps."""

import numpy as np

from .._groups import encode_groups, map_groups
from .._validation import as_float_array


def check_X(X, name="X", n_features=None, positive=False):
    X = as_float_array(X, name, ndim=2, min_rows=0)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features but the estimator was fitted with {n_features}")
    if positive and X.size and not (X > 0).all():
        raise ValueError(f"{name} must be strictly positive for family='lognormal'")
    return X


def fit_groups(sensitive_features, n):
    return encode_groups(sensitive_features, n)


def transform_groups(sensitive_features, labels, n):
    if sensitive_features is None:
        raise ValueError("sensitive_features is required")
    return np.asarray(map_groups(sensitive_features, labels, n), dtype=np.intp)


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


def apply_blocks(X, codes, n_codes, linear, offset, identity, out=None):
    """``out[r] = linear[c] @ X[r] + offset[c]`` for ``c = codes[r]``; one matmul per block.

    Rows are sorted by code once (one gather), each block is one BLAS product written
    into a contiguous slice, and the result is scattered back once. When all rows
    share a code the product is done in place, without the gather. float32 input is
    transformed in float32; blocks flagged ``identity`` are copied.
    """
    if out is None:
        out = np.empty_like(X)
    n, d = X.shape
    if n == 0:
        return out
    dt = X.dtype

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
