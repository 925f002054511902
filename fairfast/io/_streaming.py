"""Streamed batch scoring of Parquet and CSV files with bounded memory.

Inputs are read in record batches (one ``pyarrow.parquet.ParquetFile`` and
``iter_batches``, or pyarrow's streaming CSV reader); each batch is transformed with
``row_offset`` set to the global index of its first row, so the output does not depend
on the batch size; output goes to a temporary file in the destination directory that is
renamed over the destination only when every row has been written.
"""

import csv
import os
import sys
import time

import numpy as np

from .._base.atomic import atomic_path
from ._registry import read_model, save

__all__ = ["fit_file", "transform_file"]

DEFAULT_BATCH_SIZE = 1 << 20
_PARQUET = (".parquet", ".pq", ".parq")
_CSV = (".csv",)


def _file_type(path, what):
    name = os.fspath(path).lower()
    for kind, extensions in (("parquet", _PARQUET), ("csv", _CSV)):
        if name.endswith(extensions):
            return kind
    ext = os.path.splitext(name)[1] or "(none)"
    raise ValueError(
        f"unsupported file type {ext!r} for {what} {os.fspath(path)!r}; expected Parquet "
        f"({', '.join(_PARQUET)}) or CSV (.csv)"
    )


def _column_list(columns, name):
    if columns is None:
        raise ValueError(f"{name} is required: the name(s) of the column(s) to use")
    if isinstance(columns, str):
        columns = columns.split(",")
    columns = [c.strip() if isinstance(c, str) else c for c in columns]
    if not columns or not all(isinstance(c, str) and c for c in columns):
        raise ValueError(f"{name} must be a column name or a list of column names, got {columns!r}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"{name} names a column twice: {columns}")
    return columns


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)


def _check_present(names, wanted, path):
    missing = [c for c in wanted if c not in names]
    if missing:
        shown = ", ".join(repr(c) for c in missing)
        raise ValueError(
            f"{os.fspath(path)!r} has no column {shown}; its columns are {list(names)[:20]}"
        )


# -- reading -------------------------------------------------------------------------------


class _Reader:
    """Record batches of an input file, with its schema and (when known) row count."""

    def __init__(self, path, batch_size, columns=None, column_types=None, string_columns=False):
        import pyarrow as pa

        self.path = path
        self.kind = _file_type(path, "input")
        self.batch_size = batch_size
        if not os.path.exists(path):
            raise FileNotFoundError(f"input file {os.fspath(path)!r} does not exist")
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            try:
                # pre_buffer=False: pyarrow's pre-buffering keeps the column chunks it has
                # read cached until the file is closed, so memory grows with the file
                self._file = pq.ParquetFile(path, pre_buffer=False)
            except (pa.ArrowInvalid, OSError) as exc:
                raise ValueError(f"cannot read {os.fspath(path)!r} as Parquet: {exc}") from None
            self.names = self._file.schema_arrow.names
            self.total = self._file.metadata.num_rows
        else:
            with open(path, newline="", encoding="utf-8") as f:
                header_line = f.readline()
            header = next(csv.reader([header_line]), [])
            if not header:
                raise ValueError(f"{os.fspath(path)!r} is empty: a CSV input needs a header line")
            self.names = header
            self.total = None
            self._row_bytes = max(16, len(header_line.encode("utf-8")))
        if columns is not None:
            _check_present(self.names, columns, path)
        self.columns = columns
        self.column_types = column_types or {}
        self.string_columns = string_columns

    def schema(self):
        if self.kind == "parquet":
            import pyarrow as pa

            schema = self._file.schema_arrow
            if self.columns is not None:
                schema = pa.schema([schema.field(c) for c in self.columns], schema.metadata)
            return schema
        return None  # known from the first batch

    def batches(self):
        if self.kind == "parquet":
            yield from self._file.iter_batches(batch_size=self.batch_size, columns=self.columns)
            return
        import pyarrow as pa
        import pyarrow.csv as pacsv

        types = dict(self.column_types)
        if self.string_columns:
            for c in self.names:
                types.setdefault(c, pa.string())
        # pyarrow's CSV blocks are in bytes: aim at batch_size rows (rows about as long as
        # the header), at least 1 MiB so that long rows still fit in a block
        block = int(min(1 << 28, max(1 << 20, self.batch_size * self._row_bytes)))
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(block_size=block),
                convert_options=pacsv.ConvertOptions(column_types=types, include_columns=self.columns),
            )
        except pa.ArrowInvalid as exc:
            raise ValueError(f"cannot read {os.fspath(self.path)!r} as CSV: {exc}") from None
        self.csv_schema = reader.schema
        with reader:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as exc:
                    raise ValueError(f"cannot read {os.fspath(self.path)!r} as CSV: {exc}") from None
                for start in range(0, batch.num_rows, self.batch_size):
                    yield batch.slice(start, self.batch_size)

    def close(self):
        if self.kind == "parquet":
            self._file.close()


# -- progress ------------------------------------------------------------------------------


class _Progress:
    """A one-line progress display on stderr: rows done, share of the total, rows/s."""

    def __init__(self, total, enabled, label, file=None, interval=0.2):
        self.file = sys.stderr if file is None else file
        if enabled is None:
            isatty = getattr(self.file, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.total = total
        self.label = label
        self.rows = 0
        self.interval = interval
        self.start = self.last = time.perf_counter()

    def update(self, rows):
        self.rows += rows
        if self.enabled:
            now = time.perf_counter()
            if now - self.last >= self.interval:
                self.last = now
                self._draw(now, end="")

    def _draw(self, now, end):
        elapsed = max(now - self.start, 1e-9)
        rate = self.rows / elapsed
        share = f" {100.0 * self.rows / self.total:5.1f}%" if self.total else ""
        of = f"/{self.total:,}" if self.total is not None else ""
        self.file.write(
            f"\r{self.label}:{share} {self.rows:,}{of} rows, {_si(rate)} rows/s, {elapsed:.1f} s{end}"
        )
        self.file.flush()

    def close(self):
        if self.enabled:
            self._draw(time.perf_counter(), end="\n")


def _si(x):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.1f}{unit}"
    return f"{x:.0f}"


# -- column extraction ---------------------------------------------------------------------


def _numpy(column):
    return column.to_numpy(zero_copy_only=False)


def _scores_of(batch, indices):
    if len(indices) == 1:
        return _numpy(batch.column(indices[0]))
    return np.column_stack([np.asarray(_numpy(batch.column(i)), dtype=np.float64) for i in indices])


def _sensitive_of(batch, indices, names):
    if len(indices) == 1:
        return _numpy(batch.column(indices[0]))
    import pandas as pd

    return pd.DataFrame({names[j]: _numpy(batch.column(i)) for j, i in enumerate(indices)})


def _label_type(labels):
    """Arrow type matching fitted group labels (for reading CSV sensitive columns)."""
    import pyarrow as pa

    values = [v for label in labels for v in (label if isinstance(label, tuple) else (label,))]
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return pa.float64()
    if all(isinstance(v, str) for v in values):
        return pa.string()
    return None


def _label_types(labels, n_columns):
    """One Arrow type per sensitive column, from the fitted labels (None: infer)."""
    if labels and isinstance(labels[0], tuple):
        return [_label_type([label[j] for label in labels]) for j in range(n_columns)]
    return [_label_type(list(labels))] * n_columns


# -- public API ----------------------------------------------------------------------------


def _model_and_columns(model, scores, sensitive):
    info = {}
    if isinstance(model, (str, os.PathLike)):
        path = model
        try:
            model, info = read_model(path)
        except FileNotFoundError:
            raise ValueError(f"cannot read model file {os.fspath(path)!r}: no such file") from None
        except IsADirectoryError:
            raise ValueError(f"cannot read model file {os.fspath(path)!r}: it is a directory") from None
        except PermissionError:
            raise ValueError(f"cannot read model file {os.fspath(path)!r}: permission denied") from None
    columns = info.get("metadata", {}).get("columns", {}) if isinstance(info.get("metadata"), dict) else {}
    scores = scores if scores is not None else columns.get("scores")
    sensitive = sensitive if sensitive is not None else columns.get("sensitive")
    if scores is None or sensitive is None:
        raise ValueError(
            "scores and sensitive are required: the model file does not record the columns it was fit on"
        )
    return model, _column_list(scores, "scores"), _column_list(sensitive, "sensitive")


def transform_file(
    model,
    input,
    output,
    *,
    scores=None,
    sensitive=None,
    batch_size=DEFAULT_BATCH_SIZE,
    suffix="_fair",
    in_place=False,
    progress=None,
):
    """Transform the scores of a Parquet or CSV file in batches, writing a new file.

    Every batch is transformed with ``row_offset`` equal to the global index of its
    first row, so the output equals one in-memory ``model.transform`` of the whole
    columns whatever `batch_size`. All other columns are copied through unchanged.
    Memory is bounded by the batch size (and by the input's Parquet row-group size, as
    Parquet decodes a column chunk at a time), not by the file size.

    Parameters
    ----------
    model : fitted estimator, str or os.PathLike
        An estimator, or the path of a model file (see :func:`fairfast.io.save`).
    input, output : str or os.PathLike
        ``.parquet`` / ``.pq`` or ``.csv`` files (the formats may differ). The output is
        written to a temporary file in its directory and renamed over `output` only when
        complete; on any error (or interruption) no output is left behind.
    scores, sensitive : str or list of str, optional
        Score column(s) and sensitive column(s). Default: the columns recorded in the
        model file by :func:`fit_file`. Several score columns are passed to the model
        as one ``(n, T)`` array (multi-task models); several sensitive columns define
        intersectional groups.
    batch_size : int, default=1048576
        Rows per batch.
    suffix : str, default="_fair"
        Transformed scores are added as ``<column><suffix>``.
    in_place : bool, default=False
        Replace the score columns instead of adding columns.
    progress : bool or None, default=None
        Show a progress line (rows, rows/s) on stderr; None shows it only when stderr
        is a terminal.

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    ValueError
        Missing columns (named), unsupported file types, unreadable model files, or
        data the model rejects (with the rows of the offending batch).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, pyarrow as pa, pyarrow.parquet as pq
    >>> from fairfast.io import transform_file
    >>> from fairfast.postprocessing import WassersteinBarycenter
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 1000).astype(np.int32)
    >>> z = rng.normal(size=1000) + s
    >>> model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     pq.write_table(pa.table({"id": np.arange(1000), "score": z, "group": s}), f"{d}/in.parquet")
    ...     n = transform_file(model, f"{d}/in.parquet", f"{d}/out.parquet",
    ...                        scores="score", sensitive="group", batch_size=300)
    ...     out = pq.read_table(f"{d}/out.parquet")
    >>> n, out.column_names
    (1000, ['id', 'score', 'group', 'score_fair'])
    >>> bool(np.array_equal(out["score_fair"].to_numpy(), model.transform(z, sensitive_features=s)))
    True
    """
    import pyarrow as pa

    batch_size = _check_batch_size(batch_size)
    model, score_cols, sens_cols = _model_and_columns(model, scores, sensitive)
    if not in_place and (not isinstance(suffix, str) or not suffix):
        raise ValueError(f"suffix must be a non-empty string (or use in_place=True), got {suffix!r}")
    out_kind = _file_type(output, "output")
    column_types = {}
    string_columns = False
    if _file_type(input, "input") == "csv":
        for c in score_cols:
            column_types[c] = pa.float64()
        for c, t in zip(sens_cols, _label_types(list(getattr(model, "groups_", [])), len(sens_cols))):
            if t is not None:
                column_types[c] = t
        string_columns = True  # pass-through columns are copied as text, never re-inferred
    reader = _Reader(input, batch_size, column_types=column_types, string_columns=string_columns)
    try:
        _check_present(reader.names, score_cols + sens_cols, input)
        out_names = list(reader.names) if in_place else list(reader.names) + [c + suffix for c in score_cols]
        if not in_place:
            clash = [c + suffix for c in score_cols if c + suffix in reader.names]
            if clash:
                raise ValueError(
                    f"{os.fspath(input)!r} already has column(s) {clash}; choose another suffix or use in_place"
                )
        written = score_cols if in_place else [c + suffix for c in score_cols]
        score_idx = [reader.names.index(c) for c in score_cols]
        sens_idx = [reader.names.index(c) for c in sens_cols]
        bar = _Progress(reader.total, progress, "fairfast transform")
        row = 0
        writer = None
        with atomic_path(output) as tmp:
            try:
                for batch in reader.batches():
                    n = batch.num_rows
                    z = _scores_of(batch, score_idx)
                    sf = _sensitive_of(batch, sens_idx, sens_cols)
                    try:
                        fair = model.transform(z, sensitive_features=sf, row_offset=row)
                    except ValueError as exc:
                        raise ValueError(
                            f"{os.fspath(input)!r}, rows {row} to {row + n - 1}: {exc}"
                        ) from None
                    fair = np.asarray(fair).reshape(n, len(score_cols))
                    arrays = list(batch.columns)
                    new = [pa.array(fair[:, j]) for j in range(len(score_cols))]
                    if in_place:
                        for j, i in enumerate(score_idx):
                            arrays[i] = new[j]
                    else:
                        arrays.extend(new)
                    if writer is None:
                        schema = _output_schema(batch.schema, arrays, out_names)
                        writer = _open_writer(out_kind, tmp, schema, written=written)
                    writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=writer.schema))
                    row += n
                    bar.update(n)
                if writer is None:  # no rows: still write a valid, empty file
                    writer = _open_writer(
                        out_kind, tmp, _empty_schema(reader, score_cols, out_names, in_place), written=written
                    )
            finally:
                if writer is not None:
                    writer.close()
        bar.close()
    finally:
        reader.close()
    return row


def _output_schema(input_schema, arrays, names):
    import pyarrow as pa

    fields = []
    for name, array in zip(names, arrays):
        i = input_schema.get_field_index(name)
        if i >= 0 and input_schema.field(i).type == array.type:
            fields.append(input_schema.field(i))
        else:
            fields.append(pa.field(name, array.type))
    return pa.schema(fields, input_schema.metadata)


def _empty_schema(reader, score_cols, out_names, in_place):
    import pyarrow as pa

    schema = reader.schema() or getattr(reader, "csv_schema", None)
    if schema is None:
        schema = pa.schema([pa.field(c, pa.string()) for c in reader.names])
    fields = [schema.field(c) for c in schema.names]
    if in_place:
        fields = [pa.field(f.name, pa.float64()) if f.name in score_cols else f for f in fields]
    else:
        fields += [pa.field(name, pa.float64()) for name in out_names[len(fields):]]
    return pa.schema(fields, schema.metadata)


class _CSVOut:
    def __init__(self, path, schema):
        import pyarrow.csv as pacsv

        self.schema = schema
        self._writer = pacsv.CSVWriter(path, schema, write_options=pacsv.WriteOptions(quoting_style="needed"))

    def write_batch(self, batch):
        self._writer.write_batch(batch)

    def close(self):
        self._writer.close()


def parquet_writer(path, schema, written=()):
    """A ``ParquetWriter`` with pyarrow's defaults, except no dictionary encoding for the
    `written` (transformed score) columns: continuous scores rarely repeat, and trying a
    dictionary first costs more than the transform itself."""
    import pyarrow.parquet as pq

    dictionary = [name for name in schema.names if name not in set(written)]
    return pq.ParquetWriter(path, schema, use_dictionary=dictionary)


def _open_writer(kind, path, schema, written=()):
    if kind == "parquet":
        return parquet_writer(path, schema, written)
    return _CSVOut(path, schema)


def fit_file(
    data,
    *,
    scores,
    sensitive,
    estimator=None,
    out=None,
    sample_weight=None,
    batch_size=DEFAULT_BATCH_SIZE,
    progress=None,
):
    """Fit an estimator on the columns of a Parquet or CSV calibration file.

    Only the needed columns are read, in batches; the fit itself needs the calibration
    columns in memory (use :func:`fairfast.dask.fit` for data that does not fit).

    Parameters
    ----------
    data : str or os.PathLike
        ``.parquet`` / ``.pq`` or ``.csv`` calibration file.
    scores, sensitive : str or list of str
        Score column(s) (several: a multi-task ``(n, T)`` array) and sensitive
        column(s) (several: intersectional groups).
    estimator : unfitted estimator, optional
        Default: ``WassersteinBarycenter()``. It is fitted in place and returned.
    out : str or os.PathLike, optional
        If given, the fitted model is saved there (atomically) together with the
        column names, so ``transform_file(out, ...)`` needs no column arguments.
    sample_weight : str, optional
        Column of calibration weights.
    batch_size : int, default=1048576
        Rows per read batch.
    progress : bool or None, default=None
        Progress line on stderr (None: only when stderr is a terminal).

    Returns
    -------
    estimator
        The fitted estimator.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, pyarrow as pa, pyarrow.parquet as pq
    >>> from fairfast.io import fit_file, load
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 1000)
    >>> z = rng.normal(size=1000) + s
    >>> with tempfile.TemporaryDirectory() as d:
    ...     pq.write_table(pa.table({"score": z, "group": s}), f"{d}/calib.parquet")
    ...     model = fit_file(f"{d}/calib.parquet", scores="score", sensitive="group",
    ...                      out=f"{d}/model.ffm")
    ...     loaded = load(f"{d}/model.ffm")
    >>> loaded.groups_
    [0, 1]
    """
    batch_size = _check_batch_size(batch_size)
    score_cols = _column_list(scores, "scores")
    sens_cols = _column_list(sensitive, "sensitive")
    weight_cols = [] if sample_weight is None else _column_list(sample_weight, "sample_weight")
    if len(weight_cols) > 1:
        raise ValueError(f"sample_weight must name one column, got {weight_cols}")
    if estimator is None:
        from ..postprocessing import WassersteinBarycenter

        estimator = WassersteinBarycenter()
    import pyarrow as pa

    wanted = score_cols + sens_cols + weight_cols
    types = {c: pa.float64() for c in score_cols + weight_cols}
    reader = _Reader(data, batch_size, columns=wanted, column_types=types)
    bar = _Progress(reader.total, progress, "fairfast fit")
    z_parts, s_parts, w_parts = [], [[] for _ in sens_cols], []
    try:
        for batch in reader.batches():
            z_parts.append(np.array(_scores_of(batch, list(range(len(score_cols)))), dtype=np.float64))
            for j in range(len(sens_cols)):
                s_parts[j].append(batch.column(len(score_cols) + j))
            if weight_cols:
                w_parts.append(np.array(_numpy(batch.column(len(wanted) - 1)), dtype=np.float64))
            bar.update(batch.num_rows)
    finally:
        reader.close()
    bar.close()
    shape = (0, len(score_cols)) if len(score_cols) > 1 else (0,)
    z = np.concatenate(z_parts) if z_parts else np.empty(shape)
    sens = [_numpy(pa.chunked_array(parts, type=parts[0].type)) if parts else np.empty(0) for parts in s_parts]
    if len(sens) == 1:
        sf = sens[0]
    else:
        import pandas as pd

        sf = pd.DataFrame(dict(zip(sens_cols, sens)))
    w = np.concatenate(w_parts) if weight_cols and w_parts else None
    estimator.fit(z, sensitive_features=sf, sample_weight=w)
    if out is not None:
        metadata = {
            "columns": {"scores": score_cols, "sensitive": sens_cols},
            "fit_rows": int(z.shape[0]),
        }
        save(estimator, out, metadata=metadata)
    return estimator
