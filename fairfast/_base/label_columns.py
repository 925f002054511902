"""Reading sensitive features in every form users have into named label columns.

The boundary of the grouping component: a numpy array (1-D, or 2-D with one column per
attribute), a pandas Series/DataFrame/Categorical (nullable dtypes too), a polars
Series/DataFrame, a pyarrow array/chunked array/table (dictionary arrays too), a dict of
named columns or a list of columns becomes a list of :class:`LabelColumn`, each holding
its data in the cheapest exact form:

- ``"codes"``: integer codes and their categories (pandas Categorical, Arrow
  dictionary, polars Categorical/Enum), used without touching the row labels;
- ``"arrow"``: an Arrow string column, encoded by one hashing pass in Arrow;
- ``"numpy"``: a numpy array (integers, bools, floats, fixed-width strings, objects).

DataFrame libraries are read through narwhals; nothing here makes a Python object per
row for numeric, string, categorical or dictionary columns.
"""

import numbers
from collections.abc import Mapping

import numpy as np

__all__ = ["LabelColumn", "read_label_columns"]


class LabelColumn:
    """One sensitive column: ``kind`` in {"codes", "arrow", "numpy"} and its data.

    ``codes``/``categories`` for "codes" (code -1 is missing), ``values`` otherwise;
    ``name`` is the column's name or None; ``missing`` the number of missing rows (or
    None when not yet counted, for numpy object/float columns).
    """

    __slots__ = ("name", "kind", "values", "codes", "categories", "n_rows")

    def __init__(self, name, kind, *, values=None, codes=None, categories=None):
        self.name = name
        self.kind = kind
        self.values = values
        self.codes = codes
        self.categories = categories
        self.n_rows = len(codes) if kind == "codes" else len(values)

    def describe(self, argument):
        """How messages name this column, e.g. ``sensitive_features column 'race'``."""
        return f"{argument} column {self.name!r}" if self.name is not None else argument


def _is_scalar(value):
    return isinstance(value, (str, bytes, numbers.Number, np.generic)) or value is None


def _looks_like_column(value):
    if isinstance(value, (str, bytes, Mapping)) or _is_scalar(value):
        return False
    return hasattr(value, "__len__") or hasattr(value, "__array__")


def _column_names(names, argument):
    """Names as given, or None when any is not a non-empty string (as scikit-learn
    does; polars names an unnamed series "")."""
    if names is None or not all(isinstance(c, str) and c for c in names):
        return None
    if len(set(names)) != len(names):
        raise ValueError(f"{argument} names a column twice: {list(names)}")
    return list(names)


def _from_arrow(name, array, argument):
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray) and array.num_chunks == 1:
        array = array.chunk(0)
    t = array.type
    if pa.types.is_dictionary(t):
        if isinstance(array, pa.ChunkedArray):
            array = array.unify_dictionaries()
            dictionary = array.chunk(0).dictionary if array.num_chunks else pa.array([], t.value_type)
            indices = pa.chunked_array([c.indices for c in array.chunks], type=t.index_type)
        else:
            dictionary, indices = array.dictionary, array.indices
        codes = _arrow_integers(indices, missing=-1)
        return LabelColumn(name, "codes", codes=codes, categories=dictionary.to_pylist())
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return LabelColumn(name, "arrow", values=array)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        raise TypeError(f"{_named(name, argument)} holds bytes; decode them to strings first")
    if pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_floating(t):
        if array.null_count:  # nulls: codes (-1 for missing) of the values, which keep their type
            import pyarrow.compute as pc

            return _from_arrow(name, pc.dictionary_encode(array), argument)
        return LabelColumn(name, "numpy", values=np.asarray(array.to_numpy(zero_copy_only=False)))
    if pa.types.is_null(t):
        return LabelColumn(name, "codes", codes=np.full(len(array), -1, dtype=np.int32), categories=[])
    raise TypeError(f"{_named(name, argument)} has Arrow type {t}; sensitive features must be strings, integers, "
                    "booleans, floats or categories (convert dates and other types to strings)")


def _arrow_integers(indices, missing):
    """Arrow integer indices as a numpy array, nulls replaced by `missing`."""
    import pyarrow.compute as pc

    if indices.null_count:
        indices = pc.fill_null(indices, missing)
    return np.asarray(indices.to_numpy(zero_copy_only=False))


def _named(name, argument):
    return f"{argument} column {name!r}" if name is not None else argument


def _from_pandas(name, series, argument):
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return LabelColumn(name, "codes", codes=np.asarray(series.cat.codes.to_numpy()),
                           categories=list(series.cat.categories))
    if isinstance(dtype, np.dtype):
        return _from_numpy(name, series.to_numpy(), argument)
    import pyarrow as pa

    try:  # string, nullable integer/boolean/float and ArrowDtype columns
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise TypeError(f"{_named(name, argument)} has dtype {dtype} that cannot be read ({exc})") from None
    return _from_arrow(name, array, argument)


def _from_numpy(name, array, argument):
    array = np.asarray(array)
    if array.ndim != 1:
        raise ValueError(f"{_named(name, argument)} must hold one label per row, got shape {array.shape}")
    kind = array.dtype.kind
    if kind in "mM":
        raise TypeError(f"{_named(name, argument)} has dtype {array.dtype}; convert dates and durations to "
                        "strings or integers to use them as groups")
    if kind == "c":
        raise TypeError(f"{_named(name, argument)} has complex dtype {array.dtype}; groups need real labels")
    if kind == "V":
        raise TypeError(f"{_named(name, argument)} has structured dtype {array.dtype}; pass one column per field")
    if kind == "S":
        array = np.char.decode(array, "ascii", errors="strict") if array.size else array.astype("U1")
    return LabelColumn(name, "numpy", values=array)


def _from_polars(name, series, pl, argument):
    """polars Enum and Categorical columns through their physical codes (no strings
    touched per row); other dtypes through Arrow."""
    dtype = series.dtype
    nulls = series.null_count()
    if isinstance(dtype, pl.Enum):
        codes = series.to_physical().fill_null(0).to_numpy()
        if nulls:
            codes = np.where(series.is_null().to_numpy(), -1, codes.astype(np.int64))
        return LabelColumn(name, "codes", codes=codes, categories=list(dtype.categories.to_list()))
    if isinstance(dtype, pl.Categorical):
        present = series.drop_nulls().unique()
        keys = present.to_physical().to_numpy().astype(np.int64)
        if keys.size == 0 or keys.max() < (1 << 24):
            table = np.full((int(keys.max()) + 1 if keys.size else 0) + 1, -1, dtype=np.int32)
            table[keys] = np.arange(keys.size, dtype=np.int32)
            physical = series.to_physical().fill_null(0).to_numpy()
            codes = table[np.where(series.is_null().to_numpy(), -1, physical.astype(np.int64))] \
                if nulls else table[physical]
            return LabelColumn(name, "codes", codes=codes, categories=present.cast(pl.String).to_list())
    return _from_arrow(name, series.to_arrow(), argument)


def _one_column(name, values, argument):
    """A LabelColumn from any 1-D container."""
    import sys

    if isinstance(values, np.ndarray):
        return _from_numpy(name, values, argument)
    pd = sys.modules.get("pandas")
    if pd is not None:
        if isinstance(values, pd.Series):
            return _from_pandas(name, values, argument)
        if isinstance(values, pd.Categorical):
            return LabelColumn(name, "codes", codes=np.asarray(values.codes), categories=list(values.categories))
        if isinstance(values, pd.Index):
            return _from_pandas(name, values.to_series(index=None), argument)
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(values, (pa.Array, pa.ChunkedArray)):
        return _from_arrow(name, values, argument)
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(values, pl.Series):
        return _from_polars(name, values, pl, argument)
    import narwhals.stable.v2 as nw

    obj = nw.from_native(values, pass_through=True, allow_series=True, eager_only=True)
    if isinstance(obj, nw.Series):  # another DataFrame library's series
        return _from_arrow(name, obj.to_arrow(), argument)
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{_named(name, argument)} must be array-like with one label per row ({exc})") from None
    if array.dtype == object and array.ndim == 1:
        return LabelColumn(name, "numpy", values=array)
    return _from_numpy(name, array, argument)


def read_label_columns(sensitive_features, argument="sensitive_features"):
    """The sensitive features as ``(names, columns)``: names is a list of strings or None
    (unnamed input), columns a list of :class:`LabelColumn` of equal length.

    Raises
    ------
    ValueError, TypeError
        Missing argument, a scalar, more than two dimensions, columns of different
        lengths, unsupported dtypes. Messages name `argument` (and the column).
    """
    sf = sensitive_features
    if isinstance(sf, np.ndarray) and sf.ndim == 1:  # the common case, without any sniffing
        return _checked(None, [_from_numpy(None, sf, argument)], argument)
    if sf is None:
        raise ValueError(f"{argument} is required: the group label(s) of every row")
    if _is_scalar(sf):
        raise ValueError(f"{argument} must be array-like with one label per row, got a scalar {sf!r}")
    if hasattr(sf, "_fairfast_sensitive"):  # SensitiveFeatures wrapper
        sf = sf.data
    names, raw = None, None
    if isinstance(sf, Mapping):
        names, raw = list(sf.keys()), list(sf.values())
        if not raw:
            raise ValueError(f"{argument} is an empty dict; give one column per sensitive attribute")
        if not all(isinstance(k, str) for k in names):
            raise TypeError(f"{argument} dict keys must be column names (strings), got {names[:5]}")
    elif isinstance(sf, (list, tuple)) and sf and all(_looks_like_column(v) for v in sf) and \
            any(not isinstance(v, (list, tuple)) for v in sf):
        raw = list(sf)  # a list of column arrays
    if raw is not None:
        columns = [_one_column(names[j] if names else None, v, argument) for j, v in enumerate(raw)]
        return _checked(names, columns, argument)
    import sys

    import narwhals.stable.v2 as nw

    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(sf, (pa.Table, pa.RecordBatch)):
        names = list(sf.schema.names)
        columns = [_from_arrow(c, sf.column(i), argument) for i, c in enumerate(names)]
        return _checked(_column_names(names, argument), columns, argument)
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(sf, pd.DataFrame):  # the libraries' own accessors first
        names = _column_names(list(sf.columns), argument)
        return _checked(names, [_from_pandas(names[j] if names else None, sf.iloc[:, j], argument)
                                for j in range(sf.shape[1])], argument)
    if pd is not None and isinstance(sf, pd.Series):
        name = sf.name if isinstance(sf.name, str) and sf.name else None
        return _checked(None if name is None else [name], [_from_pandas(name, sf, argument)], argument)
    obj = nw.from_native(sf, pass_through=True, allow_series=True, eager_only=True)
    if isinstance(obj, nw.DataFrame):
        native = obj.to_native()
        given = list(obj.columns)
        names = _column_names(given, argument)
        pd = sys.modules.get("pandas")
        if pd is not None and isinstance(native, pd.DataFrame):
            columns = [_from_pandas(names[j] if names else None, native.iloc[:, j], argument)
                       for j in range(len(given))]
        else:
            columns = [_one_column(names[j] if names else None, obj[c].to_native(), argument)
                       for j, c in enumerate(given)]
        return _checked(names, columns, argument)
    if isinstance(obj, nw.Series):
        name = obj.name if isinstance(obj.name, str) and obj.name else None
        column = _one_column(name, obj.to_native(), argument)
        return _checked(None if name is None else [name], [column], argument)
    if isinstance(sf, np.ndarray) or not hasattr(sf, "__len__"):
        arr = np.asarray(sf)
    elif pa is not None and isinstance(sf, pa.Array):
        return _checked(None, [_from_arrow(None, sf, argument)], argument)
    else:
        pd = sys.modules.get("pandas")
        if pd is not None and isinstance(sf, (pd.Categorical, pd.Index)):
            return _checked(None, [_one_column(None, sf, argument)], argument)
        try:
            arr = np.asarray(sf)
        except ValueError:  # ragged nested lists
            raise ValueError(f"{argument} must be rectangular: one label per row, or one column per "
                             "attribute of equal length") from None
    if arr.ndim == 0:
        raise ValueError(f"{argument} must be array-like with one label per row, got a scalar")
    if arr.ndim == 1:
        return _checked(None, [_from_numpy(None, arr, argument)], argument)
    if arr.ndim == 2:
        if arr.shape[1] == 0:
            raise ValueError(f"{argument} has no columns")
        return _checked(None, [_from_numpy(None, np.ascontiguousarray(arr[:, j]), argument)
                               for j in range(arr.shape[1])], argument)
    raise ValueError(f"{argument} must be 1-D (one attribute) or 2-D (rows x attributes), got shape {arr.shape}")


def _checked(names, columns, argument):
    if not columns:
        raise ValueError(f"{argument} has no columns")
    lengths = {c.n_rows for c in columns}
    if len(lengths) > 1:
        shown = ", ".join(f"{c.name or j}: {c.n_rows}" for j, c in enumerate(columns))
        raise ValueError(f"{argument} columns have different lengths ({shown})")
    return names, columns
