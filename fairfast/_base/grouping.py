"""Turning sensitive features (any labels, one or several columns) into int32 codes."""

import numpy as np

__all__ = ["count_codes", "encode_columns", "encode_groups", "map_columns", "map_groups", "n_rows_of", "sensitive_columns"]


def _to_numpy(values):
    if isinstance(values, np.ndarray):
        return values
    if hasattr(values, "to_numpy"):  # pandas, polars, pyarrow
        try:
            return values.to_numpy()
        except TypeError:  # pyarrow arrays want zero_copy_only=False
            return values.to_numpy(zero_copy_only=False)
    return np.asarray(values)


def _columns(sensitive_features, name):
    """The sensitive features as a list of 1-D label arrays (one per attribute)."""
    sf = sensitive_features
    if sf is None:
        raise ValueError(f"{name} is required")
    if hasattr(sf, "columns") and hasattr(sf, "__getitem__") and not isinstance(sf, np.ndarray):
        cols = [_to_numpy(sf[c]) for c in list(sf.columns)]  # pandas / polars DataFrame
    else:
        arr = _to_numpy(sf)
        if arr.ndim == 0:
            raise ValueError(f"{name} must be array-like with one label per row, got a scalar")
        if arr.ndim == 1:
            cols = [arr]
        elif arr.ndim == 2:
            cols = [arr[:, j] for j in range(arr.shape[1])]
        else:
            raise ValueError(f"{name} must be 1- or 2-dimensional, got shape {arr.shape}")
    if not cols:
        raise ValueError(f"{name} has no columns")
    return cols


def n_rows_of(sensitive_features, name="sensitive_features"):
    return len(_columns(sensitive_features, name)[0])


def count_codes(codes, n_groups):
    """Rows per group of integer `codes` in [0, n_groups), as int64.

    C-contiguous int32/int64 codes are counted by one compiled pass (``np.bincount``
    first casts to intp, writing and faulting in 8 bytes per row); other integer
    dtypes, and more than 2**30 groups, by ``np.bincount``.
    """
    codes = np.asarray(codes)
    if (codes.dtype in (np.int32, np.int64) and codes.ndim == 1 and codes.flags.c_contiguous and codes.size
            and n_groups < (1 << 30)):
        from .._core import metrics as _kernels

        counts = _kernels.group_counts_columns([codes], np.zeros(1, dtype=np.int64),
                                               np.array([n_groups], dtype=np.int32), None, None, 1)[:, 0]
        return counts.astype(np.int64)
    return np.bincount(codes, minlength=n_groups).astype(np.int64)


def _factorize(col, name):
    if isinstance(col, np.ndarray) and (np.issubdtype(col.dtype, np.integer) or col.dtype == bool) and col.size:
        # Counting path for integer labels with a modest range: O(n), no hashing.
        dtype = col.dtype
        if dtype in (np.int32, np.int64) and col.flags.c_contiguous:  # one compiled pass for both
            from .._core import metrics as _kernels

            lo, hi = (int(v) for v in _kernels.integer_range(col))
        else:
            lo, hi = int(col.min()), int(col.max())
        if hi - lo < max(1 << 16, col.size):
            if col.dtype == bool:
                col = col.view(np.uint8)
            shifted = col.astype(np.int64, copy=False) - lo if lo else col
            present = np.flatnonzero(count_codes(shifted, hi - lo + 1))
            if lo == 0 and present.size == hi + 1 and col.dtype != np.uint8:
                # already dense codes 0..K-1: no lookup pass needed
                return np.ascontiguousarray(col, dtype=np.int32), present.astype(dtype)
            lookup = np.full(hi - lo + 1, -1, dtype=np.int32)
            lookup[present] = np.arange(present.size, dtype=np.int32)
            uniques = present + lo
            return lookup[shifted], (uniques.astype(bool) if dtype == bool else uniques.astype(dtype))
    import pandas as pd

    codes, uniques = pd.factorize(col, use_na_sentinel=True, sort=True)
    if (codes < 0).any():
        raise ValueError(f"{name} contains missing values (None/NaN); encode them as an explicit group")
    uniques = np.asarray(uniques)
    return codes.astype(np.int32, copy=False), uniques


def _label(values):
    return values.item() if isinstance(values, np.generic) else values


def sensitive_columns(sensitive_features, n_rows, name="sensitive_features"):
    """The sensitive features as a list of 1-D label arrays, checked against `n_rows`."""
    cols = _columns(sensitive_features, name)
    for c in cols:
        if len(c) != n_rows:
            raise ValueError(f"{name} has {len(c)} rows but the scores have {n_rows}")
    return cols


def encode_groups(sensitive_features, n_rows, name="sensitive_features"):
    """Codes in [0, n_groups) and the sorted group labels.

    Several columns are combined into their intersections (groups are the observed
    combinations, labelled by tuples).

    Returns
    -------
    codes : ndarray of int32, shape (n_rows,)
    labels : list
        One label per group: a scalar for one column, a tuple for several.
    """
    return encode_columns(sensitive_columns(sensitive_features, n_rows, name), n_rows, name)


def encode_columns(cols, n_rows, name="sensitive_features"):
    """:func:`encode_groups` for a list of 1-D label arrays."""
    factorized = [_factorize(c, name) for c in cols]
    if len(factorized) == 1:
        codes, uniques = factorized[0]
        return codes, [_label(u) for u in uniques]
    combined = np.zeros(n_rows, dtype=np.int64)
    for codes, uniques in factorized:
        combined = combined * len(uniques) + codes
    joint, first = np.unique(combined, return_inverse=True)
    labels = []
    for key in joint:
        parts = []
        for codes, uniques in reversed(factorized):
            key, r = divmod(int(key), len(uniques))
            parts.append(_label(uniques[r]))
        labels.append(tuple(reversed(parts)))
    return first.astype(np.int32).reshape(-1), labels


def map_groups(sensitive_features, labels, n_rows, name="sensitive_features"):
    """Codes of `sensitive_features` against fitted `labels`; unseen labels raise.

    Integer labels 0..K-1 given as an integer array take a zero-copy fast path.
    """
    return map_columns(sensitive_columns(sensitive_features, n_rows, name), labels, n_rows, name)


def map_columns(cols, labels, n_rows, name="sensitive_features"):
    """:func:`map_groups` for a list of 1-D label arrays."""
    multi = isinstance(labels[0], tuple)
    if multi != (len(cols) > 1) or (multi and len(labels[0]) != len(cols)):
        expected = len(labels[0]) if multi else 1
        raise ValueError(f"{name} must have {expected} column(s), as at fit time; got {len(cols)}")
    if not multi:
        col = cols[0]
        if (
            isinstance(col, np.ndarray)
            and np.issubdtype(col.dtype, np.integer)
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels)
            and list(labels) == list(range(len(labels)))
        ):
            if col.size and (col.min() < 0 or col.max() >= len(labels)):
                _raise_unseen(np.unique(col[(col < 0) | (col >= len(labels))]), labels, name)
            return np.ascontiguousarray(col, dtype=np.int32)
        keys = col
    else:
        keys = list(zip(*cols))
    import pandas as pd

    index = pd.Index(labels, tupleize_cols=False) if multi else pd.Index(labels)
    codes = index.get_indexer(keys if not multi else pd.Index(keys, tupleize_cols=False))
    if (codes < 0).any():
        unseen = pd.unique(np.asarray(keys, dtype=object)[codes < 0] if not multi else
                           pd.Index(keys, tupleize_cols=False)[codes < 0])
        _raise_unseen(unseen, labels, name)
    return codes.astype(np.int32, copy=False)


def _raise_unseen(unseen, labels, name):
    shown = ", ".join(repr(_label(u)) for u in list(unseen)[:5])
    known = ", ".join(repr(v) for v in labels[:10])
    raise ValueError(f"{name} has groups not seen at fit time: {shown}; fitted groups are {known}")
