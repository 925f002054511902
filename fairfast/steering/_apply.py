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
    lookup = {c: k for k, c in enumerate(classes)}
    try:
        codes = np.fromiter((lookup[v.item() if isinstance(v, np.generic) else v] for v in y), dtype=np.intp, count=n)
    except KeyError as exc:
        raise ValueError(f"y contains the label {exc.args[0]!r}, unseen in fit (known: {list(classes)})") from None
    return codes, list(classes)


def apply_blocks(X, codes, n_codes, linear, offset, identity, out=None):
    """``out[r] = linear[c] @ X[r] + offset[c]`` for ``c = codes[r]``; one matmul per block.

    Rows are gathered by code once; blocks flagged ``identity`` are copied. float32
    input is transformed in float32.
    """
    if out is None:
        out = np.empty_like(X)
    n = X.shape[0]
    if n == 0:
        return out
    counts = np.bincount(codes, minlength=n_codes)
    present = np.flatnonzero(counts)
    if present.size == 1:  # one block: no gather/scatter
        c = present[0]
        if identity[c]:
            out[...] = X
        else:
            np.matmul(X, linear[c].T.astype(X.dtype, copy=False), out=out)
            out += offset[c].astype(X.dtype, copy=False)
        return out
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    for c in present:
        idx = order[bounds[c] : bounds[c + 1]]
        block = X[idx]
        if not identity[c]:
            block = block @ linear[c].T.astype(X.dtype, copy=False)
            block += offset[c].astype(X.dtype, copy=False)
        out[idx] = block
    return out
