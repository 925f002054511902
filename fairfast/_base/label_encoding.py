"""Per-column label encoding: fitted categories, and codes for new rows against them.

A fitted column is a :class:`ColumnCategories`: either an integer *range* (labels
``low .. low + size - 1``; the rows' integers are used as they are, offset by ``low``)
or a sorted list of *labels* (codes ``0 .. size - 1``). Encoding returns the column as
``(values, low)`` with ``values - low`` in ``[0, size)``, or ``-1`` where a row holds a
label the column has never seen (the caller reports it). Missing values (None, NaN,
nulls) are an error naming the column and the first row, unless missing values were
declared a group of their own at fit (the label ``None``, sorted last).

Work per row: none for integer ranges, one gather for categorical and dictionary
columns (their categories are remapped once), one hashing pass for strings (Arrow's
``dictionary_encode`` / ``index_in``, or the compiled fixed-width hash for numpy string
arrays).
"""

import numpy as np

from .label_columns import LabelColumn

__all__ = ["ColumnCategories", "sort_key"]

# A column of integers keeps its own values as codes when their range is at most this
# (or the number of rows); wider ranges are factorized.
_RANGE_LIMIT = 1 << 16
_KINDS = ("range", "labels")
# With ``sampled=True``, integer columns of at least this many rows take their range from
# a sample: the first and last ``_SAMPLE_ENDS`` rows and ``_SAMPLE_RUNS`` runs of
# ``_SAMPLE_RUN`` consecutive rows spread evenly (runs touch few pages: a strided sample of
# as many rows costs ten times more on a cold column); the caller verifies the range.
_SAMPLE_FROM = 1 << 20
_SAMPLE_ENDS, _SAMPLE_RUNS, _SAMPLE_RUN = 4096, 256, 64


def sort_key(label):
    """Order of labels: booleans, numbers, strings, then None (missing); typed, so that
    1, 1.0 and True stay three labels as they are in the data."""
    if label is None:
        return (3, 0, "")
    if isinstance(label, bool):
        return (0, int(label), "")
    if isinstance(label, (int, float)):
        return (1, label, "")
    return (2, 0, str(label))


def typed(label):
    """Dictionary key of a label that keeps 1, 1.0 and True apart."""
    return (type(label).__name__, label)


def plain(value):
    """A numpy scalar as the Python scalar it holds; NaN as None (missing)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _sample_range(values):
    """(min, max) of a sample of a long integer column (see ``_SAMPLE_FROM``)."""
    starts = np.linspace(_SAMPLE_ENDS, values.size - _SAMPLE_ENDS - _SAMPLE_RUN, _SAMPLE_RUNS).astype(np.int64)
    rows = (starts[:, None] + np.arange(_SAMPLE_RUN)).reshape(-1)
    sample = np.concatenate([values[:_SAMPLE_ENDS], values[-_SAMPLE_ENDS:], values[rows]])
    return int(sample.min()), int(sample.max())


def _missing_error(column, argument, row):
    where = column.describe(argument)
    return ValueError(
        f"{where} has a missing value (None/NaN/null) at row {row}; fill it, or declare missing "
        f"values a group of their own at fit with fairfast.SensitiveFeatures(..., missing='group')"
    )


class ColumnCategories:
    """The fitted categories of one sensitive column."""

    __slots__ = ("kind", "low", "size", "labels", "_lookup", "sampled")

    def __init__(self, kind, *, low=0, size=0, labels=None, sampled=False):
        self.kind = kind
        self.low = int(low)
        self.size = int(size)
        self.labels = labels
        self._lookup = None
        self.sampled = sampled  # a range read from a sample: unverified (never persisted)

    # -- labels ---------------------------------------------------------------------

    def label(self, code):
        """The label of code `code` (0-based)."""
        if self.kind == "range":
            return self.low + int(code)
        return self.labels[int(code)]

    def all_labels(self):
        return list(range(self.low, self.low + self.size)) if self.kind == "range" else list(self.labels)

    @property
    def has_missing(self):
        return self.kind == "labels" and bool(self.labels) and self.labels[-1] is None

    def label_kind(self):
        """"int", "bool", "float", "str" or "mixed": what the column's labels are."""
        if self.kind == "range":
            return "int"
        kinds = {type(v).__name__ for v in self.labels if v is not None}
        return kinds.pop() if len(kinds) == 1 else ("int" if not kinds else "mixed")

    def code_of(self):
        """dict typed label -> code (built once)."""
        if self._lookup is None:
            self._lookup = {typed(v): i for i, v in enumerate(self.all_labels())}
        return self._lookup

    # -- model files ----------------------------------------------------------------

    def to_json(self):
        if self.kind == "range":
            return {"kind": "range", "low": self.low, "size": self.size}
        return {"kind": "labels", "labels": list(self.labels)}

    @classmethod
    def from_json(cls, data, where):
        from .state import integer, labels_from_json

        if not isinstance(data, dict) or data.get("kind") not in _KINDS:
            raise ValueError(f"model state is inconsistent: {where} must be an object with kind 'range' or 'labels'")
        if data["kind"] == "range":
            low = integer(data.get("low"), f"{where}.low", -(2**63), 2**63)
            size = integer(data.get("size"), f"{where}.size", 1, 2**31)
            return cls("range", low=low, size=size)
        values = data.get("labels")
        labels = labels_from_json([v for v in values if v is not None] if isinstance(values, list) else values,
                                  False, f"{where}.labels")
        if isinstance(values, list) and None in values:
            if values.index(None) != len(values) - 1 or values.count(None) != 1:
                raise ValueError(f"model state is inconsistent: {where}.labels may hold null once, last")
            labels.append(None)
        if [sort_key(v) for v in labels] != sorted(sort_key(v) for v in labels):
            raise ValueError(f"model state is inconsistent: {where}.labels are not sorted")
        return cls("labels", size=len(labels), labels=labels)

    # -- fit ------------------------------------------------------------------------

    @classmethod
    def fit(cls, column, argument, missing, sampled=False):
        """Fitted categories and the column as ``(values, low)`` (see module docstring).

        With `sampled`, a long contiguous int32/int64 column takes its range from a
        sample of rows (``sampled`` is then set on the result): the range of the sample
        is the column's range exactly when every row lies inside it, which the caller
        must check in a pass of its own (the compiled counting pass does) and refit
        without `sampled` if not. This saves the pass that finds the range.
        """
        if column.kind == "codes":
            return cls._fit_codes(column.codes, list(column.categories), column, argument, missing)
        if column.kind == "arrow":
            return cls._fit_arrow(column, argument, missing)
        values = column.values
        kind = values.dtype.kind
        if kind == "b":
            return cls("labels", size=2, labels=[False, True]), (values.view(np.uint8), 0)
        if kind in "iu":
            return cls.fit_integers(values, sampled)
        if kind == "f":
            return cls._fit_floats(values, column, argument, missing)
        if kind == "U":
            from .string_hash import fit_fixed_width

            codes, uniques = fit_fixed_width(values)
            return cls._fit_codes(codes, uniques, column, argument, missing)
        return cls._fit_objects(values, column, argument, missing)

    @classmethod
    def fit_integers(cls, values, sampled=False):
        """Categories of an integer array and the array as ``(values, low)``; `sampled`
        as in :meth:`fit` (refitting a sampled column: the same call without it)."""
        from .. import _core

        if values.size == 0:
            return cls("labels", size=0, labels=[]), (values.astype(np.int32), 0)
        if values.dtype == np.uint64:  # the compiled passes take signed 64-bit labels
            if int(values.max()) >= 2**63:
                uniques, codes = np.unique(values, return_inverse=True)
                return cls("labels", size=uniques.size, labels=[int(v) for v in uniques]), \
                    (codes.astype(np.int32).reshape(-1), 0)
            values = values.astype(np.int64)
        sampled = (sampled and values.size >= _SAMPLE_FROM and values.dtype in (np.int32, np.int64)
                   and values.flags.c_contiguous)
        if sampled:
            lo, hi = _sample_range(values)
        elif values.dtype in (np.int32, np.int64) and values.flags.c_contiguous:
            lo, hi = (int(v) for v in _core.metrics.integer_range(values))
        else:
            lo, hi = int(values.min()), int(values.max())
        if hi - lo < max(_RANGE_LIMIT, values.size):
            return cls("range", low=lo, size=hi - lo + 1, sampled=sampled), (values, lo)
        uniques, codes = np.unique(values, return_inverse=True)
        return cls("labels", size=uniques.size, labels=[int(v) for v in uniques]), (codes.astype(np.int32), 0)

    @classmethod
    def _fit_floats(cls, values, column, argument, missing):
        nan = np.isnan(values)
        if nan.any() and not missing:
            raise _missing_error(column, argument, int(np.flatnonzero(nan)[0]))
        if np.isinf(values).any():
            raise ValueError(f"{column.describe(argument)} holds infinite labels; use finite values")
        uniques, codes = np.unique(np.where(nan, 0.0, values), return_inverse=True)
        labels = [float(v) for v in uniques]
        codes = codes.astype(np.int32).reshape(-1)
        if nan.any():
            used = np.unique(codes[~nan]) if (~nan).any() else np.zeros(0, dtype=np.int64)
            remap = np.full(len(labels), -1, dtype=np.int32)
            remap[used] = np.arange(used.size, dtype=np.int32)
            labels = [labels[i] for i in used] + [None]
            codes = np.where(nan, len(labels) - 1, remap[codes]).astype(np.int32)
        return cls("labels", size=len(labels), labels=labels), (codes, 0)

    @classmethod
    def _fit_arrow(cls, column, argument, missing):
        import pyarrow as pa
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(column.values)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.unify_dictionaries()
            dictionary = encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([], pa.string())
            indices = pa.chunked_array([c.indices for c in encoded.chunks], type=pa.int32())
        else:
            dictionary, indices = encoded.dictionary, encoded.indices
        from .label_columns import _arrow_integers

        codes = _arrow_integers(indices, missing=-1)
        return cls._fit_codes(codes, dictionary.to_pylist(), column, argument, missing)

    @classmethod
    def _fit_objects(cls, values, column, argument, missing):
        import pyarrow as pa

        try:
            array = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            array = None
        if array is not None and not pa.types.is_null(array.type):
            from .label_columns import _from_arrow

            return cls.fit(_from_arrow(column.name, array, argument), argument, missing)
        import pandas as pd

        try:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        except TypeError as exc:
            raise TypeError(f"{column.describe(argument)} holds labels that cannot be grouped ({exc})") from None
        labels = [plain(v) for v in uniques]
        bad = [v for v in labels if not isinstance(v, (str, bool, int, float)) or v is None]
        if bad:
            raise TypeError(f"{column.describe(argument)} holds labels of type {type(bad[0]).__name__}; "
                            "labels must be strings, integers, booleans or floats")
        return cls._fit_codes(codes, labels, column, argument, missing)

    @classmethod
    def _fit_codes(cls, codes, categories, column, argument, missing):
        """Categories sorted (present or not), codes remapped by one gather."""
        categories = [plain(v) for v in categories]
        bad = [v for v in categories if v is not None and not isinstance(v, (str, bool, int, float))]
        if bad:
            raise TypeError(f"{column.describe(argument)} holds labels of type {type(bad[0]).__name__}; "
                            "labels must be strings, integers, booleans or floats")
        order = _order(categories)
        labels = [categories[i] for i in order]
        if any(v is None for v in labels):  # a category that is itself missing (e.g. NaN)
            labels = [v for v in labels if v is not None]
        remap = np.full(len(categories) + 1, -1, dtype=np.int32)  # slot -1: missing stays -1
        lookup = {typed(v): i for i, v in enumerate(labels)}
        for i, v in enumerate(categories):
            remap[i] = lookup.get(typed(v), -1)
        identity = remap[:-1].tolist() == list(range(len(categories))) and codes.dtype == np.int32
        out = codes if identity else remap[codes]
        if codes.size and (out.min() if out.size else 0) < 0:
            if not missing:
                raise _missing_error(column, argument, int(np.flatnonzero(out < 0)[0]))
            labels = labels + [None]
            out = np.where(out < 0, len(labels) - 1, out).astype(np.int32)
        return cls("labels", size=len(labels), labels=labels), (np.ascontiguousarray(out, dtype=np.int32), 0)

    # -- encode ---------------------------------------------------------------------

    def encode(self, column, argument, mask=False):
        """The column as ``(values, low)`` against these categories; -1 marks unseen labels
        (and missing values, with `mask`; else they raise unless a missing group was fitted)."""
        if column.kind == "codes":
            return self._encode_codes(column.codes, column.categories, column, argument, mask), 0
        if column.kind == "arrow":
            return self._encode_arrow(column, argument, mask), 0
        values = column.values
        kind = values.dtype.kind
        fitted = self.label_kind()
        if kind in "iu" and self.kind == "range":
            if values.dtype == np.uint64:
                values = values.astype(np.int64) if not values.size or int(values.max()) < 2**63 else \
                    np.where(values >= 2**63, -1, values).astype(np.int64)
            return values, self.low
        if kind == "b" and fitted == "bool" and self.labels[:2] == [False, True]:
            return values.view(np.uint8), 0
        if kind == "U" and fitted == "str":
            from .string_hash import encode_fixed_width

            return encode_fixed_width(values, self._string_labels()), 0
        if kind == "O" and fitted == "str":
            import pyarrow as pa

            try:
                array = pa.array(values, type=pa.string(), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
                array = None
            if array is not None:
                return self._encode_arrow(LabelColumn(column.name, "arrow", values=array), argument, mask), 0
        if kind in "iufb":
            if fitted not in ("int", "float", "bool", "mixed") or (kind == "b") != (fitted == "bool") \
                    or (kind == "f" and self.kind == "range"):
                self._type_mismatch(values.dtype, column, argument)
            if self.kind == "labels":
                return self._encode_sorted_numbers(values, column, argument, mask), 0
        if kind == "U":
            self._type_mismatch(values.dtype, column, argument)
        return self._encode_codes(*self._factorize(values, column, argument), column, argument, mask), 0

    def _string_labels(self):
        return [v for v in self.labels if isinstance(v, str)]

    def _encode_sorted_numbers(self, values, column, argument, mask):
        """Numeric or boolean rows against sorted numeric labels (exact matches only)."""
        kinds = {type(v) for v in self.labels if v is not None}
        want_bool = kinds == {bool}
        if values.dtype.kind == "f":
            nan = np.isnan(values)
        else:
            nan = None
        numbers = [v for v in self.labels if v is not None]
        table = np.asarray(numbers, dtype=np.float64 if values.dtype.kind == "f" or float in kinds else
                           (np.int64 if not want_bool else np.bool_))
        pos = np.searchsorted(table, values)
        pos = np.minimum(pos, max(len(numbers) - 1, 0))
        hit = table[pos] == values if len(numbers) else np.zeros(values.shape, dtype=bool)
        codes = np.where(hit, pos, -1).astype(np.int32)
        if nan is not None and nan.any():
            if self.has_missing:
                codes[nan] = self.size - 1
            elif not mask:
                raise _missing_error(column, argument, int(np.flatnonzero(nan)[0]))
        return codes

    def _type_mismatch(self, dtype, column, argument):
        raise TypeError(f"{column.describe(argument)} holds {dtype} values but was fitted on {self.label_kind()} "
                        f"labels (e.g. {self.all_labels()[:3]}); pass the labels as at fit")

    def _factorize(self, values, column, argument):
        import pandas as pd

        try:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        except TypeError as exc:
            raise TypeError(f"{column.describe(argument)} holds labels that cannot be grouped ({exc})") from None
        return codes, list(uniques)

    def _encode_codes(self, codes, categories, column, argument, mask):
        lookup = self.code_of()
        remap = np.full(len(categories) + 1, -1, dtype=np.int32)
        for i, v in enumerate(categories):
            remap[i] = lookup.get(typed(plain(v)), -2)  # -2: a category this column never saw
        out = remap[codes]
        if self.has_missing:
            out = np.where(codes < 0, self.size - 1, out).astype(np.int32)
        elif not mask and codes.size and (codes < 0).any():
            raise _missing_error(column, argument, int(np.flatnonzero(codes < 0)[0]))
        return np.where(out < 0, -1, out).astype(np.int32, copy=False)

    def _encode_arrow(self, column, argument, mask):
        import pyarrow as pa
        import pyarrow.compute as pc

        labels = self._string_labels()
        if len(labels) != len([v for v in self.labels if v is not None]):
            return self._type_mismatch(column.values.type, column, argument)
        value_set = pa.array(labels, type=pa.string())
        values = column.values
        if not pa.types.is_string(values.type):
            values = values.cast(pa.string()) if not pa.types.is_large_string(values.type) else values
            value_set = value_set.cast(values.type)
        found = pc.index_in(values, value_set=value_set)
        codes = _arrow_codes(found)
        if values.null_count:
            nulls = np.asarray(values.is_null().to_numpy(zero_copy_only=False))
            if self.has_missing:
                codes[nulls] = self.size - 1
            elif not mask:
                raise _missing_error(column, argument, int(np.flatnonzero(nulls)[0]))
        return codes


def _order(labels):
    """Positions that sort `labels` by :func:`sort_key` (numpy's sort for one type)."""
    kinds = {type(v) for v in labels}
    if len(labels) > 64 and (kinds == {str} or kinds <= {int} or kinds <= {float}):
        try:
            return np.argsort(np.array(labels), kind="stable").tolist()
        except (OverflowError, ValueError):  # integers beyond 64 bits
            pass
    return sorted(range(len(labels)), key=lambda i: sort_key(labels[i]))


def _arrow_codes(found):
    """index_in output (int32 with nulls for no match) as numpy int32 with -1."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks() if found.num_chunks != 1 else found.chunk(0)
    if found.null_count:
        found = pc.fill_null(found, -1)
    return np.array(found.to_numpy(zero_copy_only=False), dtype=np.int32)
