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

    Large ``d``: rows are sorted by code once and each block is one BLAS product (the
    gather/scatter is cheap next to ``d`` flops per entry). Small ``d`` (<= 256), where
    the product is memory-bound: the same is done per chunk of 16384 rows, so the
    gathered rows stay in cache and the data is read and written once. Runs of one
    code are multiplied in place without any gather. float32 input is transformed in
    float32; blocks flagged ``identity`` are copied.
    """
    if out is None:
        out = np.empty_like(X)
    n, d = X.shape
    if n == 0:
        return out
    dt = X.dtype
    lin_t = [None if identity[c] else np.ascontiguousarray(linear[c].T, dtype=dt) for c in range(n_codes)]
    off = [None if identity[c] else np.asarray(offset[c], dtype=dt) for c in range(n_codes)]

    def product(src, c, dst):
        if lin_t[c] is None:
            dst[...] = src
        else:
            np.matmul(src, lin_t[c], out=dst)
            dst += off[c]

    chunk = 16384 if d <= 256 else n
    buf_in = np.empty((min(chunk, n), d), dtype=dt)
    buf_out = np.empty_like(buf_in)
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        cc = codes[s:e]
        first = cc[0]
        if (cc == first).all():
            product(X[s:e], first, out[s:e])
            continue
        order = np.argsort(cc, kind="stable")
        counts = np.bincount(cc, minlength=n_codes)
        m = e - s
        gathered = np.take(X[s:e], order, axis=0, out=buf_in[:m])
        result = buf_out[:m]
        lo = 0
        for c in np.flatnonzero(counts):
            hi = lo + counts[c]
            product(gathered[lo:hi], c, result[lo:hi])
            lo = hi
        inverse = np.empty_like(order)
        inverse[order] = np.arange(m)
        np.take(result, inverse, axis=0, out=out[s:e])
    return out
