"""Joint groups over several sensitive columns: mixed-radix keys of the column codes."""

import numpy as np

__all__ = ["GroupIndex", "count_codes"]

# Joint groups use a dense table over the product of the columns' category counts up to
# this size (16 MB of int32); above it, sorted int64 keys and a binary search.
_DENSE_LIMIT = 1 << 22


def count_codes(codes, n_groups):
    """Rows per group of integer `codes` in [0, n_groups), as int64 (one compiled pass
    for C-contiguous int32/int64 codes)."""
    codes = np.asarray(codes)
    if (codes.dtype in (np.int32, np.int64) and codes.ndim == 1 and codes.flags.c_contiguous and codes.size
            and n_groups < (1 << 30)):
        from .. import _core

        counts = _core.metrics.group_counts_columns([codes], np.zeros(1, dtype=np.int64),
                                                    np.array([n_groups], dtype=np.int32), None, None, 1)[:, 0]
        return counts.astype(np.int64)
    return np.bincount(codes, minlength=n_groups).astype(np.int64)


class GroupIndex:
    """Joint groups over some of a grouping's columns.

    A row's key is the mixed-radix number of its column codes (the first column most
    significant); ``keys`` are the keys seen at fit, sorted, and ``assign`` the group of
    each. ``other`` is the group that pools the small groups merged at fit (several keys
    share it), or None.
    """

    def __init__(self, columns, sizes, keys, assign, labels, other=None):
        self.columns = list(columns)
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.keys = np.asarray(keys, dtype=np.int64)
        self.assign = np.asarray(assign, dtype=np.int32)
        self.labels = list(labels)
        self.other = other
        self.total = int(np.prod(self.sizes.astype(np.float64)))
        self._table = None

    @property
    def n_groups(self):
        return len(self.labels)

    def _dense(self):
        return self.total <= _DENSE_LIMIT

    def table(self):
        """key -> group (-1: unseen), for dense key spaces (built once, not saved)."""
        if self._table is None:
            t = np.full(self.total, -1, dtype=np.int32)
            t[self.keys] = self.assign
            self._table = t
        return self._table

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_table"] = None
        return state

    # -- keys ---------------------------------------------------------------------------

    def _combine(self, encoded, lows, n):
        """Dense int32 keys through the compiled mixed radix (raises IndexError if a
        value is outside its column's range)."""
        from .. import _core

        cols = [encoded[c] for c in self.columns]
        if len(cols) == 1 and cols[0].dtype == np.int32 and lows[0] == 0 and cols[0].flags.c_contiguous:
            lo, hi = (_core.metrics.integer_range(cols[0]) if n else (0, 0))
            if n and (lo < 0 or hi >= self.sizes[0]):
                raise IndexError("outside")
            return cols[0]
        out = np.empty(n, dtype=np.int32)
        if n:
            _core.metrics.combine_codes([np.ascontiguousarray(c) for c in cols], np.asarray(lows, dtype=np.int64),
                                        self.sizes.astype(np.int32), out)
        return out

    def _wide_keys(self, encoded, lows, n):
        key = np.zeros(n, dtype=np.int64)
        for c, lo, size in zip(self.columns, lows, self.sizes):
            v = encoded[c].astype(np.int64, copy=False) - lo
            if ((v < 0) | (v >= size)).any():
                raise IndexError("outside")
            key = key * int(size) + v
        return key

    # -- fit / apply --------------------------------------------------------------------

    @classmethod
    def fit(cls, encoded, lows, sizes, columns, label_of, n):
        """Observed joint groups of `columns`: (index, codes, counts)."""
        sizes = np.asarray([sizes[c] for c in columns], dtype=np.int64)
        lows = [lows[c] for c in columns]
        probe = cls(columns, sizes, np.zeros(0), np.zeros(0), [])
        if float(np.prod(sizes.astype(np.float64))) >= 2.0**62:
            raise ValueError("the sensitive columns have too many label combinations to index (2**62 or more)")
        if probe._dense():
            dense = probe._combine(encoded, lows, n)
            counts = count_codes(dense, probe.total)
            keys = np.flatnonzero(counts)
            counts = counts[keys]
            if keys.size == probe.total and dense.dtype == np.int32:
                codes = dense
            else:
                table = np.full(probe.total, -1, dtype=np.int32)
                table[keys] = np.arange(keys.size, dtype=np.int32)
                codes = table[dense]
        else:
            wide = probe._wide_keys(encoded, lows, n)
            keys, codes, counts = np.unique(wide, return_inverse=True, return_counts=True)
            codes = codes.astype(np.int32).reshape(-1)
        labels = label_of(columns, keys, sizes)
        index = cls(columns, sizes, keys, np.arange(keys.size, dtype=np.int32), labels)
        return index, np.ascontiguousarray(codes, dtype=np.int32), counts.astype(np.int64)

    @staticmethod
    def _split(keys, sizes):
        """Per key, the tuple of column codes."""
        parts = []
        rest = np.asarray(keys, dtype=np.int64)
        for size in sizes[::-1]:
            rest, r = np.divmod(rest, size)
            parts.append(r)
        return list(zip(*[p.tolist() for p in parts[::-1]])) if len(keys) else []

    def merge(self, small, other_label):
        """A copy whose groups `small` (indices) are pooled into one group `other_label`."""
        keep = np.setdiff1d(np.arange(self.n_groups), small)
        remap = np.empty(self.n_groups, dtype=np.int32)
        remap[keep] = np.arange(keep.size, dtype=np.int32)
        remap[small] = keep.size
        labels = [self.labels[g] for g in keep] + [other_label]
        return GroupIndex(self.columns, self.sizes, self.keys, remap[self.assign], labels, other=keep.size), remap

    def apply(self, encoded, lows, n):
        """Group codes of new rows; raises IndexError (value outside a column's range)
        or returns codes with -1 for intersections unseen at fit."""
        lows = [lows[c] for c in self.columns]
        if self._dense():
            dense = self._combine(encoded, lows, n)
            if self.keys.size == self.total and dense.dtype == np.int32 and \
                    np.array_equal(self.assign, np.arange(self.total)):
                return dense
            return self.table()[dense]
        wide = self._wide_keys(encoded, lows, n)
        pos = np.minimum(np.searchsorted(self.keys, wide), self.keys.size - 1)
        return np.where(self.keys[pos] == wide, self.assign[pos], -1).astype(np.int32)

    # -- model files --------------------------------------------------------------------

    def to_json(self):
        return {"columns": self.columns, "sizes": self.sizes.tolist(), "other": self.other}

    def arrays(self, prefix):
        return {f"{prefix}keys": self.keys, f"{prefix}assign": self.assign}
