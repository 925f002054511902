"""The grouping component: sensitive features in any form, fitted once, matched by name.

Every estimator, metric, the CLI and Dask turn sensitive features into int32 group codes
through :class:`Grouping`:

- at fit it records the sensitive columns' names (when the input has names), each
  column's categories (:class:`~fairfast._base.label_encoding.ColumnCategories`) and the
  observed joint groups (intersections of several columns);
- at transform it matches columns **by name** (reordered columns work; missing, renamed
  or extra columns raise, naming them), positionally only for unnamed input (whose
  column count must match), and refuses labels or intersections never seen at fit;
- it encodes at integer-code speed: categorical and dictionary columns through their
  codes, strings by one hashing pass, several columns by mixed radix on their codes.

Groups are numbered in the order of their labels (per column: booleans, numbers,
strings, missing last; intersections lexicographically). Small groups are handled once,
here, with one message: refused below a hard floor, and below ``small_group_size``
warned about, merged into one group or refused, as the estimator's parameters say.
"""

import warnings

import numpy as np

from .label_columns import read_label_columns
from .group_index import GroupIndex, count_codes
from .grouping_state import OTHER, GroupingStateMixin
from .label_encoding import ColumnCategories, plain

__all__ = [
    "OTHER",
    "Grouping",
    "GroupIndex",
    "SensitiveFeatures",
    "SmallGroupWarning",
    "count_codes",
    "encode_groups",
    "grouping_from_state",
    "grouping_state",
]



class SmallGroupWarning(UserWarning):
    """A group has fewer rows than the estimator's ``small_group_size``."""

    __module__ = "fairfast"


class SensitiveFeatures:
    """Sensitive features with options on how to group them (a thin wrapper).

    Parameters
    ----------
    data : array-like, Series, DataFrame, dict or list of columns
        The sensitive features, in any form the estimators accept.
    missing : {"error", "group"}, default="error"
        ``"group"`` makes missing values (None, NaN, nulls) a group of their own, with
        the label ``None``; at transform they map to that group. ``"error"`` refuses
        them, naming the column and the first row.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast import SensitiveFeatures
    >>> from fairfast._base.grouping import Grouping
    >>> grouping, codes = Grouping.fit(SensitiveFeatures(["a", None, "b", "a"], missing="group"), 4)
    >>> grouping.labels, codes.tolist()
    (['a', 'b', None], [0, 2, 1, 0])
    """

    __module__ = "fairfast"
    _fairfast_sensitive = True

    def __init__(self, data, *, missing="error"):
        if missing not in ("error", "group"):
            raise ValueError(f"missing must be 'error' or 'group', got {missing!r}")
        self.data = data
        self.missing = missing


def _missing_policy(sensitive_features):
    return getattr(sensitive_features, "missing", "error") == "group" \
        if hasattr(sensitive_features, "_fairfast_sensitive") else False


def _describe(names, j, argument):
    return f"{argument} column {names[j]!r}" if names else (
        f"{argument} column {j}" if j is not None else argument)



def _label_at(column, row):
    """The label of one row of a LabelColumn (for messages)."""
    if column.kind == "codes":
        code = int(column.codes[row])
        return None if code < 0 else plain(column.categories[code])
    if column.kind == "arrow":
        return column.values[row].as_py()
    return plain(column.values[row])


def _shown(labels, limit=10):
    text = ", ".join(repr(g) for g in labels[:limit])
    return text + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


class Grouping(GroupingStateMixin):
    """Fitted encoding of sensitive features (see the module docstring).

    Attributes
    ----------
    names : list of str or None
        Column names seen at fit (None: unnamed input, matched by position).
    categories : list of ColumnCategories
        Per column, its fitted categories.
    index : GroupIndex
        The joint groups over all columns.
    labels : list
        Group labels: scalars for one column, tuples for several, ``"<other>"`` for
        pooled small groups.
    counts : ndarray of int64
        Rows per group at fit.
    """

    def __init__(self, names, categories, index=None, counts=None, argument="sensitive_features"):
        self.names = None if names is None else list(names)
        self.categories = list(categories)
        self.index = index
        self.counts = counts
        self.argument = argument

    @property
    def labels(self):
        return self.index.labels

    @property
    def n_groups(self):
        return self.index.n_groups

    @property
    def n_columns(self):
        return len(self.categories)

    # -- fit ----------------------------------------------------------------------------

    @classmethod
    def fit(cls, sensitive_features, n_rows=None, *, argument="sensitive_features", what="the data have",
            min_group_size=1, small_group_size=None, small_groups="warn", other_label=OTHER, joint=True,
            sampled_ranges=False):
        """Fit on `sensitive_features` (`n_rows` rows, if known): ``(grouping, codes)``.

        `joint=False` fits the columns only (no joint groups; codes is None): the
        estimator then indexes subsets of columns itself with :meth:`fit_index`.
        `sampled_ranges` (with `joint=False` only) lets long integer columns take their
        range from a sample, unverified (see :meth:`ColumnCategories.fit`).
        """
        if sampled_ranges and joint:
            raise ValueError("sampled_ranges needs joint=False: joint groups need verified ranges")
        names, columns = read_label_columns(sensitive_features, argument)
        n = columns[0].n_rows
        if n_rows is not None and n != n_rows:
            raise ValueError(f"{argument} has {n} rows but {what} {n_rows}")
        missing = _missing_policy(sensitive_features)
        categories, encoded, lows = [], [], []
        for column in columns:
            cats, (values, low) = ColumnCategories.fit(column, argument, missing, sampled_ranges)
            categories.append(cats)
            encoded.append(values)
            lows.append(low)
        grouping = cls(names, categories, argument=argument)
        grouping._fit_columns = (encoded, lows, columns)
        if not joint:
            return grouping, None
        index, codes, counts = grouping.fit_index(
            list(range(len(columns))), n, min_group_size=min_group_size, small_group_size=small_group_size,
            small_groups=small_groups, other_label=other_label)
        grouping.index, grouping.counts = index, counts
        return grouping, codes

    def fit_index(self, columns, n, *, min_group_size=1, small_group_size=None, small_groups="warn",
                  other_label=OTHER, stacklevel=4, merge_hint="small_groups='merge'"):
        """Joint groups of `columns` on the fit data: ``(index, codes, counts)``, with the
        small-group policy applied (see the module docstring)."""
        encoded, lows, _ = self._fit_columns
        sizes = [c.size for c in self.categories]
        index, codes, counts = GroupIndex.fit(encoded, lows, sizes, columns, self._labels_of, n)
        if small_group_size is not None and small_groups == "merge":
            small = np.flatnonzero(counts < small_group_size)
            if small.size and small.size < index.n_groups:
                index, remap = index.merge(small, other_label)
                codes = remap[codes]
                counts = np.bincount(remap, weights=counts, minlength=index.n_groups).astype(np.int64)
        self._check_sizes(index.labels, counts, min_group_size, "min_group_size", "raise", merge_hint)
        if small_group_size is not None and small_groups != "merge":
            self._check_sizes(index.labels, counts, small_group_size, "small_group_size", small_groups,
                              merge_hint, stacklevel=stacklevel)
        return index, codes, counts

    def _check_sizes(self, labels, counts, size, parameter, action, merge_hint, stacklevel=5):
        small = np.flatnonzero(counts < size)
        if not small.size:
            return
        shown = ", ".join(f"{labels[g]!r} ({counts[g]} rows)" for g in small[:3])
        more = f" and {small.size - 3} more" if small.size > 3 else ""
        text = (f"{self.argument} has {small.size} group(s) with fewer than {parameter}={size} rows: "
                f"{shown}{more}")
        if action == "raise":
            raise ValueError(f"{text}; their statistics are unreliable. Pool them into one group "
                             f"({merge_hint}) or lower {parameter}")
        if action == "warn":
            warnings.warn(f"{text}; their statistics are noisy. Pool them into one group ({merge_hint}) "
                          f"or lower {parameter}", SmallGroupWarning, stacklevel=stacklevel)

    def _label_of(self, columns, codes):
        parts = tuple(self.categories[c].label(k) for c, k in zip(columns, codes))
        return parts[0] if len(parts) == 1 else parts

    def _labels_of(self, columns, keys, sizes):
        """Labels of the joint `keys` (mixed radix over `columns`), column by column."""
        rest = np.asarray(keys, dtype=np.int64)
        per_column = []
        for c, size in zip(columns[::-1], sizes[::-1]):
            rest, codes = np.divmod(rest, size)
            cats = self.categories[c]
            if cats.kind == "range":
                per_column.append((codes + cats.low).tolist())
            else:
                labels = cats.labels
                per_column.append([labels[k] for k in codes.tolist()])
        per_column.reverse()
        return per_column[0] if len(per_column) == 1 else list(zip(*per_column))

    def release(self):
        """Drop the fit-time column data (kept only for fit_index)."""
        self.__dict__.pop("_fit_columns", None)
        return self

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_fit_columns", None)
        return state

    # -- transform ----------------------------------------------------------------------

    def read(self, sensitive_features, n_rows=None, *, what="the data have", mask=False):
        """Columns of new data matched to the fitted ones and encoded (:class:`ReadColumns`).

        With `mask`, rows holding labels unseen at fit or missing values (when no
        missing group was fitted) are not refused: ``invalid_rows()`` marks them.
        Data already read by this grouping is returned as it is.
        """
        if isinstance(sensitive_features, ReadColumns):
            if sensitive_features.grouping is not self:
                raise ValueError(f"{self.argument} was read by another model's grouping")
            if n_rows is not None and sensitive_features.n_rows != n_rows:
                raise ValueError(f"{self.argument} has {sensitive_features.n_rows} rows but {what} {n_rows}")
            return sensitive_features
        argument = self.argument
        names, columns = read_label_columns(sensitive_features, argument)
        n = columns[0].n_rows
        if n_rows is not None and n != n_rows:
            raise ValueError(f"{argument} has {n} rows but {what} {n_rows}")
        k = self.n_columns
        if self.names is not None and names is not None:
            missing = [c for c in self.names if c not in names]
            extra = [c for c in names if c not in self.names]
            if missing or extra:
                parts = []
                if missing:
                    parts.append(f"missing column(s) {missing}")
                if extra:
                    parts.append(f"unexpected column(s) {extra}")
                raise ValueError(f"{argument} does not have the columns seen at fit: {' and '.join(parts)}; "
                                 f"fitted on {self.names} (columns are matched by name)")
            columns = [columns[names.index(c)] for c in self.names]
        elif len(columns) != k:
            fitted = f" {self.names}" if self.names else ""
            raise ValueError(f"{argument} has {len(columns)} column(s) but was fitted on {k}{fitted}")
        encoded, lows = [], []
        for j, (cats, column) in enumerate(zip(self.categories, columns)):
            if self.names is not None and column.name is None:
                column.name = self.names[j]
            values, low = cats.encode(column, argument, mask=mask)
            encoded.append(values)
            lows.append(low)
        return ReadColumns(self, encoded, lows, columns)

    def apply_index(self, index, read, *, mask=False):
        """Codes of `index`'s groups for columns read by :meth:`read`: unseen labels or
        intersections raise, or (with `mask`) get code -1."""
        n = read.n_rows
        try:
            codes = index.apply(read.encoded, read.lows, n)
        except IndexError:
            if not mask:
                self._raise_unseen(index, read.encoded, read.lows, read.columns, None)
            outside = read.invalid_rows(index.columns)
            codes = index.apply(read.patched(outside, None).encoded, read.lows, n)
            codes[outside] = -1
        if not mask and n and codes.min() < 0:
            self._raise_unseen(index, read.encoded, read.lows, read.columns, codes)
        return codes

    def encode(self, sensitive_features, n_rows=None, *, what="the data have"):
        """Group codes (int32) of new rows; unseen labels or intersections raise."""
        return self.apply_index(self.index, self.read(sensitive_features, n_rows, what=what))

    def column_codes(self, sensitive_features=None, n_rows=None, *, what="the data have"):
        """Per-column codes, an int64 array (n_rows, n_columns), of new rows (or, without
        `sensitive_features`, of the fit data); labels unseen at fit raise."""
        if sensitive_features is None:
            encoded, lows, _ = self._fit_columns
        else:
            read = self.read(sensitive_features, n_rows, what=what)
            self._raise_unseen_labels(range(self.n_columns), read.encoded, read.lows, read.columns)
            encoded, lows = read.encoded, read.lows
        return np.column_stack([np.asarray(v, dtype=np.int64) - lo for v, lo in zip(encoded, lows)])

    def _raise_unseen(self, index, encoded, lows, columns, codes):
        self._raise_unseen_labels(index.columns, encoded, lows, columns)
        argument = self.argument
        row = int(np.flatnonzero(codes < 0)[0])
        combo = tuple(_label_at(columns[c], row) for c in index.columns)
        combo = combo[0] if len(combo) == 1 else combo
        raise ValueError(f"{argument} has a group not seen at fit time: {combo!r} (first at row {row}); "
                         f"fitted groups are {_shown(index.labels)}")

    def _raise_unseen_labels(self, which, encoded, lows, columns):
        argument = self.argument
        for c in which:
            v = np.asarray(encoded[c], dtype=np.int64) - lows[c]
            bad = np.flatnonzero((v < 0) | (v >= self.categories[c].size))
            if bad.size:
                seen = []
                for row in bad[:1000]:
                    label = _label_at(columns[c], int(row))
                    if label not in seen:
                        seen.append(label)
                where = f"{argument} column {self.names[c]!r}" if self.names else \
                    (f"{argument} column {c}" if self.n_columns > 1 else argument)
                raise ValueError(f"{where} has labels not seen at fit time: {_shown(seen, 5)} (first at row "
                                 f"{int(bad[0])}); fitted labels are {_shown(self.categories[c].all_labels())}")


class ReadColumns:
    """Sensitive columns of new rows, matched to a grouping and encoded: per column the
    values (``values - low`` in ``[0, size)`` for seen labels) and the source column."""

    __slots__ = ("grouping", "encoded", "lows", "columns", "n_rows")

    def __init__(self, grouping, encoded, lows, columns):
        self.grouping = grouping
        self.encoded = encoded
        self.lows = lows
        self.columns = columns
        self.n_rows = columns[0].n_rows if columns else len(encoded[0])

    def invalid_rows(self, which=None):
        """Rows whose label in one of the columns `which` (default all) is unseen or missing."""
        bad = np.zeros(self.n_rows, dtype=bool)
        for c in range(len(self.encoded)) if which is None else which:
            v = np.asarray(self.encoded[c])
            size = self.grouping.categories[c].size
            low = self.lows[c]
            bad |= (v < low) | (v >= low + size) if v.dtype.kind != "u" else (v >= low + size)
        return bad

    def patched(self, rows, donor):
        """A copy whose `rows` take the encoded labels of row `donor` (None: the first
        label of each column), so that they can be computed and then discarded."""
        encoded = []
        for c, values in enumerate(self.encoded):
            values = np.array(values, copy=True)
            values[rows] = values[donor] if donor is not None else self.lows[c]
            encoded.append(values)
        return ReadColumns(self.grouping, encoded, self.lows, self.columns)


def encode_groups(sensitive_features, n_rows=None, argument="sensitive_features", what="the data have"):
    """One-off encoding (metrics, reports): ``(codes, labels)``."""
    grouping, codes = Grouping.fit(sensitive_features, n_rows, argument=argument, what=what)
    return codes, grouping.labels


def grouping_state(grouping, prefix="grouping."):
    """An estimator's grouping as model-file ``(meta, arrays)`` (see :meth:`Grouping.to_state`)."""
    return grouping.to_state(prefix)


def pop_grouping(meta, arrays, labels, prefix="grouping."):
    """``(grouping, arrays)``: the estimator's grouping read back (see
    :func:`grouping_from_state`) and its other arrays."""
    rest = {k: v for k, v in arrays.items() if not k.startswith(prefix)}
    return grouping_from_state(meta, arrays, labels, prefix), rest


def grouping_from_state(meta, arrays, labels, prefix="grouping.", argument="sensitive_features"):
    """An estimator's grouping read back from its model-file ``meta``: the saved one
    (checked against the estimator's group `labels`), or, for files written before
    groupings were saved, one rebuilt from the labels (unnamed columns, by position)."""
    if "grouping" not in meta:
        width = len(labels[0]) if labels and isinstance(labels[0], tuple) else 1
        grouping, _ = Grouping.from_labels(width, [(list(range(width)), list(labels), [])], argument=argument)
        return grouping
    grouping = Grouping.from_state(meta["grouping"], arrays, prefix, argument=argument)
    if grouping.index is None or grouping.labels != list(labels):
        raise ValueError("model state is inconsistent: the grouping's groups are not the estimator's groups")
    if grouping.index.columns != list(range(grouping.n_columns)):
        # fit groups by every sensitive column (Grouping.fit with joint=True)
        raise ValueError(f"model state is inconsistent: the groups must be those of all {grouping.n_columns} "
                         f"sensitive column(s), the file's are of columns {grouping.index.columns}")
    return grouping
