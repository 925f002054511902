"""The groups of the metrics: codes over the sensitive features' dense label space.

Read and encoded by the grouping component (one set of forms and messages); integer
labels keep their range as dense codes, so the compiled pass can count straight from
integer label columns without materialising codes.
"""

import numpy as np

from .. import _core
from .._base.grouping import Grouping
from .._base.label_encoding import ColumnCategories

class _LabelList:
    """The labels of one column's codes, without listing an integer range."""

    def __init__(self, categories):
        self._categories = categories

    def __len__(self):
        return self._categories.size

    def __getitem__(self, code):
        return self._categories.label(code)

    def __iter__(self):
        return (self._categories.label(c) for c in range(self._categories.size))


class _Groups:
    """Encoded groups: ``codes`` in [0, n_codes); ``present`` are the codes with rows.

    With `sampled_ranges`, long integer columns take their range from a sample: the
    groups are then *provisional* until the compiled counting pass, which checks every
    row against the ranges (an out-of-range row raises IndexError), has counted them
    (:meth:`set_counts`); :meth:`make_exact` finds the sampled columns' true ranges, and
    every other use of the codes does so first. This saves one pass over the columns.
    """

    def __init__(self, sensitive_features, n, name="sensitive_features", sampled_ranges=False):
        # the estimators' grouping component reads and encodes the columns (one set of
        # forms and messages); groups here keep integer labels' ranges as dense codes
        grouping, _ = Grouping.fit(sensitive_features, n, argument=name, what="the labels have", joint=False,
                                   sampled_ranges=sampled_ranges)
        values, lows, _ = grouping._fit_columns
        grouping.release()
        self.names = grouping.names or (["sensitive_feature_0"] if grouping.n_columns == 1 else
                                        [f"sensitive_feature_{j}" for j in range(grouping.n_columns)])
        self._n = n
        self._columns = [(np.ascontiguousarray(v), lo, cats) for v, lo, cats in zip(values, lows, grouping.categories)]
        self.present = None  # set by set_counts
        self._layout()

    @property
    def provisional(self):
        """Whether a column's range comes from a sample that no pass has verified yet."""
        return any(cats.sampled for _, _, cats in self._columns)

    def _layout(self):
        """Codes over the columns' label spaces (dense, or the observed intersections)."""
        self._column_labels = [_LabelList(cats) for _, _, cats in self._columns]
        self._sizes = sizes = [len(lab) for lab in self._column_labels]
        self._encoded = [(arr, lo) for arr, lo, _ in self._columns]
        self._keys = self._codes = None
        total = int(np.prod(sizes, dtype=np.float64))
        if len(sizes) == 1 or (total < 2**31 and total <= max(1 << 22, 4 * self._n)):
            self.n_codes = total  # dense mixed-radix codes, built on demand
            if self.provisional and self.raw_columns() is None:
                self.make_exact()  # only the counting pass checks sampled ranges
        elif self.provisional:
            self.make_exact()
        else:  # huge label product: compact the observed intersections
            combined = np.zeros(self._n, dtype=np.int64)
            for (c, lo), k in zip(self._encoded, sizes):
                combined = combined * k + (c.astype(np.int64) - lo)
            keys, inverse = np.unique(combined, return_inverse=True)
            self._codes = inverse.astype(np.int32).reshape(-1)
            self.n_codes = len(keys)
            self._keys = keys

    def make_exact(self):
        """Refit the sampled columns on their true ranges (after a row fell outside one);
        the other columns keep their encoding."""
        if not self.provisional:
            return
        columns = []
        for arr, lo, cats in self._columns:
            if cats.sampled:  # a sampled column is a range column: its values are the integers as given
                cats, (arr, lo) = ColumnCategories.fit_integers(arr)
                arr = np.ascontiguousarray(arr)
            columns.append((arr, lo, cats))
        self._columns = columns
        self._layout()

    @property
    def codes(self):
        """int32 codes in [0, n_codes) (mixed radix over the columns)."""
        self.make_exact()
        if self._codes is None:
            first, lo = self._encoded[0]
            if len(self._encoded) == 1 and first.dtype == np.int32 and lo == 0:
                self._codes = first
            else:
                self._codes = np.empty(self._n, dtype=np.int32)
                _core.metrics.combine_codes([a for a, _ in self._encoded],
                                            np.array([lo for _, lo in self._encoded], dtype=np.int64),
                                            np.array(self._sizes, dtype=np.int32), self._codes)
        return self._codes

    def raw_columns(self):
        """(columns, lows, sizes) for the compiled counting path when every label column
        is an int64 (or every one an int32) array and codes are dense; else None."""
        if self._keys is not None or self._codes is not None:
            return None
        dtypes = {a.dtype for a, _ in self._encoded}
        if len(dtypes) != 1 or dtypes.pop() not in (np.dtype(np.int64), np.dtype(np.int32)):
            return None
        return ([a for a, _ in self._encoded], np.array([lo for _, lo in self._encoded], dtype=np.int64),
                np.array(self._sizes, dtype=np.int32))

    def set_counts(self, rows):
        """Record the row count of every code, counted by the pass that checked every row
        against the ranges; groups are the codes with rows."""
        for _, _, cats in self._columns:
            cats.sampled = False  # verified: no row lay outside the ranges
        self.present = np.flatnonzero(np.asarray(rows) > 0)
        if self.present.size == 0:
            raise ValueError("sensitive_features defines no group with rows")

    def label_of(self, code):
        key = int(code) if self._keys is None else int(self._keys[code])
        if len(self._sizes) == 1:
            return _scalar(self._column_labels[0][key])
        parts = []
        for labels, size in zip(reversed(self._column_labels), reversed(self._sizes)):
            key, r = divmod(key, size)
            parts.append(_scalar(labels[r]))
        return tuple(reversed(parts))

    @property
    def labels(self):
        return [self.label_of(c) for c in self.present]

    def index(self):
        import pandas as pd

        if len(self.names) == 1:
            return pd.Index(self.labels, name=self.names[0])
        if self._keys is not None:
            return pd.MultiIndex.from_tuples(self.labels, names=self.names)
        # dense mixed-radix codes: split them per column and build the index from codes
        codes, key = [], self.present.astype(np.int64)
        for size in reversed(self._sizes):
            key, r = np.divmod(key, size)
            codes.append(r)
        levels = [[_scalar(v) for v in labels] for labels in self._column_labels]
        index = pd.MultiIndex(levels=levels, codes=codes[::-1], names=self.names, verify_integrity=False)
        return index.remove_unused_levels()

    def compact_codes(self):
        """Codes renumbered 0..n_groups-1 in the order of ``present``."""
        if self.present.size == self.n_codes:
            return self.codes
        lookup = np.full(self.n_codes, -1, dtype=np.int32)
        lookup[self.present] = np.arange(self.present.size, dtype=np.int32)
        return lookup[self.codes]


def _scalar(v):
    return v.item() if isinstance(v, np.generic) else v
