"""Fixed-width numpy string labels encoded by one compiled hashing pass."""

import numpy as np

__all__ = ["encode_fixed_width", "fit_fixed_width"]


def _rows(values):
    """The array's bytes as a (n, width) uint8 view (a copy only if not contiguous)."""
    values = np.ascontiguousarray(values)
    width = values.dtype.itemsize
    return values.view(np.uint8).reshape(values.shape[0], width) if width else None


def fit_fixed_width(values):
    """Codes of a numpy ``U`` array in order of first appearance, and the distinct labels.

    Returns
    -------
    codes : ndarray of int32
    uniques : list of str
    """
    from .. import _core

    rows = _rows(values)
    if rows is None or values.shape[0] == 0:  # dtype '<U0': every label is ""
        return np.zeros(values.shape[0], dtype=np.int32), ([""] if values.shape[0] else [])
    codes, first = _core.grouping.discover_fixed(rows)
    return codes, [str(v) for v in values[first]]


def encode_fixed_width(values, labels):
    """Index of every row's label in `labels` (strings), or -1 when it is none of them."""
    from .. import _core

    rows = _rows(values)
    if rows is None:
        return np.full(values.shape[0], labels.index("") if "" in labels else -1, dtype=np.int32)
    # a label longer than the array's width cannot occur in it
    width_chars = values.dtype.itemsize // 4
    fits = [lab for lab in labels if len(lab) <= width_chars]
    keys = _rows(np.array(fits, dtype=values.dtype)) if fits else np.zeros((0, rows.shape[1]), dtype=np.uint8)
    codes = _core.grouping.lookup_fixed(keys, rows)
    if len(fits) != len(labels):  # renumber to positions in `labels`
        position = np.array([labels.index(lab) for lab in fits] + [-1], dtype=np.int32)
        codes = position[codes]
    return codes
