"""Batch jobs over Parquet and CSV files: serve any fitted model, fit any model kind.

:func:`transform_file` serves a model through its serving contract
(:mod:`fairfast._base.serving`): each batch is served with ``row_offset`` set to the
global index of its first row, so the output does not depend on the batch size; output
goes to a temporary file beside the destination, renamed over it only when every row has
been written. :func:`fit_file` reads the columns a model kind is fitted on and fits it.
"""

import os
from typing import NamedTuple

import numpy as np

from .._base.atomic import atomic_path
from .._base.validation import check_choice
from ._columns import PYTHON_NAMES, check_output_names, fit_columns, served_columns
from ._files import DEFAULT_BATCH_SIZE, Reader, check_batch_size, check_present, file_type, open_writer, output_schema
from ._progress import progress_bar, step
from ._registry import read_model, registered_estimators, save

__all__ = ["TransformSummary", "fit_file", "transform_file"]

ON_INVALID = ("error", "passthrough", "quarantine")


class TransformSummary(NamedTuple):
    """What :func:`transform_file` did: rows read, rows written to the output, and rows
    with an invalid input (non-finite input, unseen or missing group) -- written with
    empty outputs (``"passthrough"``), to the quarantine file (``"quarantine"``)."""

    rows: int
    written: int
    invalid: int


def _load(model):
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
    if not callable(getattr(model, "serving_spec", None)):
        raise TypeError(f"model must be a fitted fairfast estimator that batch jobs can serve (one of "
                        f"{registered_estimators()}) or the path of its model file, got {type(model).__name__}")
    return model, info.get("metadata", {})


def _same_file(a, b):
    a, b = os.fspath(a), os.fspath(b)
    if os.path.abspath(a) == os.path.abspath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _csv_types(model, columns):
    """Arrow types for reading a CSV's columns: inputs as float64, sensitive columns as
    their fitted labels' type (so "1" is read as the label 1 if the labels were ints)."""
    import pyarrow as pa

    types = {c: pa.float64() for c in columns.inputs}
    grouping = getattr(model, "grouping_", None)
    if grouping is not None and columns.sensitive:
        by_kind = {"int": pa.int64(), "bool": pa.bool_(), "float": pa.float64(), "str": pa.string()}
        names = grouping.names or columns.sensitive
        for name, cats in zip(names, grouping.categories):
            if name in columns.sensitive and cats.label_kind() in by_kind:
                types[name] = by_kind[cats.label_kind()]
    return types


def _batch_inputs(batch, reader, columns):
    """The batch's inputs: X (n, d), sensitive features (by name), labels."""
    n = batch.num_rows
    X = np.empty((n, len(columns.inputs)), dtype=np.float64)
    floats = []
    for j, c in enumerate(columns.inputs):
        col = batch.column(reader.index(c))
        values = np.asarray(col.to_numpy(zero_copy_only=False))
        if values.dtype.kind not in "fiub":
            raise ValueError(f"column {c!r} must be numeric, got {col.type}")
        floats.append(values)
        X[:, j] = values
    if floats and all(v.dtype == np.float32 for v in floats):
        X = X.astype(np.float32)
    sensitive = {c: batch.column(reader.index(c)) for c in columns.sensitive} or None
    y = None
    if columns.label:
        y = np.asarray(batch.column(reader.index(columns.label)).to_numpy(zero_copy_only=False))
    return X, sensitive, y


def transform_file(model, input, output, *, scores=None, features=None, sensitive_features=None, labels=None,
                   outputs=None, batch_size=DEFAULT_BATCH_SIZE, suffix="_fair", prefix="", in_place=False,
                   on_invalid="error", quarantine=None, progress=None, _names=PYTHON_NAMES):
    """Serve a fitted model over a Parquet or CSV file in batches, writing a new file.

    Every batch is served (:meth:`~fairfast._base.serving.ServingMixin.serve`) with
    ``row_offset`` equal to the global index of its first row, so the output equals one
    in-memory call on the whole columns whatever `batch_size`. Other columns are copied
    through. Memory is bounded by the batch size (and by the input's Parquet row-group
    size), not by the file size.

    Parameters
    ----------
    model : fitted estimator, str or os.PathLike
        Any fairfast model that batch jobs serve (``fairfast.io.registered_estimators()``),
        or the path of its model file.
    input, output : str or os.PathLike
        ``.parquet`` / ``.pq`` or ``.csv`` files (the formats may differ); `output` must
        not be `input`. The output is written to a temporary file in its directory and
        renamed over `output` only when complete; on any error, interruption or
        ``SIGTERM`` no output is left behind.
    scores, features : str or list of str, optional
        The input columns: score columns for the post-processors, feature columns for
        the steering estimators and DAFH (the model's serving contract says which).
        Default: the columns recorded in the model file by :func:`fit_file`, else the
        column names the model was fitted with.
    sensitive_features : str or list of str, optional
        Sensitive column(s), matched to the fitted ones by name. Default as above.
    labels : str, optional
        Label column, for models that use labels when served (label-aware steering).
    outputs : str or list of str, optional
        Which outputs to write (default all; see ``model.serving_spec().outputs``).
    batch_size : int, default=1048576
        Rows per batch.
    suffix : str, default="_fair"
        Outputs with one column per input column are written as ``<column><suffix>``.
    prefix : str, default=""
        Other outputs (decision, probability, group) are written as ``<prefix><name>``.
    in_place : bool, default=False
        Replace the input columns instead of adding columns.
    on_invalid : {"error", "passthrough", "quarantine"}, default="error"
        Rows with a non-finite input or an unseen or missing group: ``"error"`` stops
        (naming the rows); ``"passthrough"`` writes them with empty (null) outputs;
        ``"quarantine"`` writes them, as read, to the file `quarantine` instead.
    quarantine : str or os.PathLike, optional
        Where invalid rows go with ``on_invalid="quarantine"`` (written atomically).
    progress : bool or None, default=None
        Progress bar on stderr; None shows it only when stderr is a terminal.

    Returns
    -------
    TransformSummary
        ``rows`` read, ``written`` to the output, ``invalid``.

    Raises
    ------
    ValueError
        Missing columns, an argument the model cannot serve, unsupported file types,
        unreadable model files, or (``on_invalid="error"``) data the model rejects,
        with the rows of the offending batch -- before any output exists, except the
        last.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, pyarrow as pa, pyarrow.parquet as pq
    >>> from fairfast.io import transform_file
    >>> from fairfast.postprocessing import WassersteinBarycenter
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 1000).astype(np.int32)
    >>> z = rng.normal(size=1000) + s
    >>> model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features={"group": s})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     pq.write_table(pa.table({"id": np.arange(1000), "score": z, "group": s}), f"{d}/in.parquet")
    ...     summary = transform_file(model, f"{d}/in.parquet", f"{d}/out.parquet", scores="score",
    ...                              batch_size=300)
    ...     out = pq.read_table(f"{d}/out.parquet")
    >>> summary, out.column_names
    (TransformSummary(rows=1000, written=1000, invalid=0), ['id', 'score', 'group', 'score_fair'])
    >>> bool(np.array_equal(out["score_fair"].to_numpy(), model.transform(z, sensitive_features={"group": s})))
    True
    """
    import pyarrow as pa

    names = _names
    batch_size = check_batch_size(batch_size)
    check_choice(on_invalid, names("on_invalid"), ON_INVALID)
    if (on_invalid == "quarantine") != (quarantine is not None):
        raise ValueError(f"{names('quarantine')} is the file for invalid rows with {names('on_invalid')} "
                         "quarantine, and only then")
    out_kind = file_type(output, "output")
    for other, what in ((input, names("input")), (quarantine, names("quarantine"))):
        if other is not None and _same_file(output, other):
            raise ValueError(f"{names('output')} {os.fspath(output)!r} is the {what} file; write to another path")
    if quarantine is not None:
        file_type(quarantine, "quarantine file")
        if _same_file(quarantine, input):
            raise ValueError(f"{names('quarantine')} {os.fspath(quarantine)!r} is the input file")
    model, metadata = _load(model)
    spec = model.serving_spec()
    columns = served_columns(spec, metadata, scores=scores, features=features, sensitive_features=sensitive_features,
                             labels=labels, outputs=outputs, suffix=suffix, prefix=prefix, in_place=in_place,
                             names=names)
    csv_input = file_type(input, "input") == "csv"
    reader = Reader(input, batch_size, column_types=_csv_types(model, columns) if csv_input else None,
                    string_columns=csv_input)
    try:
        for option, wanted in ((spec.inputs, columns.inputs), ("sensitive_features", columns.sensitive),
                               ("labels", [columns.label] if columns.label else [])):
            check_present(reader.names, wanted, input, names(option))
        check_output_names(columns, reader.names, in_place, repr(os.fspath(input)), names)
        mask = "mask" if on_invalid != "error" else "raise"
        out_names = list(reader.names) if in_place else list(reader.names) + columns.written
        rows = written = invalid = 0
        with progress_bar(reader.total, progress, f"fairfast transform ({spec.estimator})") as bar, \
                atomic_path(output) as tmp, _maybe_atomic(quarantine) as qtmp:
            writer = qwriter = None
            try:
                for batch in reader.batches():
                    n = batch.num_rows
                    X, sensitive, y = _batch_inputs(batch, reader, columns)
                    try:
                        served = model.serve(X, sensitive_features=sensitive, y=y, row_offset=rows, invalid=mask)
                    except ValueError as exc:
                        raise ValueError(f"{os.fspath(input)!r}, rows {rows} to {rows + n - 1}: {exc}") from None
                    bad = served.pop("invalid", None)
                    arrays = _output_arrays(batch, served, columns, in_place, reader, bad if mask == "mask" else None)
                    keep = None
                    if bad is not None and bad.any():
                        invalid += int(bad.sum())
                        if on_invalid == "quarantine":
                            if qwriter is None:
                                qwriter = open_writer(file_type(quarantine, "quarantine file"), qtmp, batch.schema)
                            qwriter.write_batch(batch.filter(pa.array(bad)))
                            keep = pa.array(~bad)
                    record = pa.RecordBatch.from_arrays(arrays, names=out_names)
                    if keep is not None:
                        record = record.filter(keep)
                    if writer is None:
                        schema = output_schema(batch.schema, record.columns, out_names)
                        writer = open_writer(out_kind, tmp, schema, written=columns.written)
                    writer.write_batch(pa.RecordBatch.from_arrays(record.columns, schema=writer.schema))
                    rows += n
                    written += record.num_rows
                    bar.update(n)
                if writer is None:  # no rows: still a valid, empty file
                    writer = open_writer(out_kind, tmp, _empty_schema(reader, model, spec, columns, in_place),
                                         written=columns.written)
                if quarantine is not None and qwriter is None:
                    qwriter = open_writer(file_type(quarantine, "quarantine file"), qtmp, _input_schema(reader))
            finally:
                for w in (writer, qwriter):
                    if w is not None:
                        w.close()
    finally:
        reader.close()
    return TransformSummary(rows, written, invalid)


class _NoFile:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _maybe_atomic(path):
    return atomic_path(path) if path is not None else _NoFile()


def _output_arrays(batch, served, columns, in_place, reader, bad):
    """The batch's columns with the outputs added (or in place of the inputs)."""
    import pyarrow as pa

    arrays = list(batch.columns)
    new = []
    for name, j, _ in columns.outputs:
        values = served[name]
        values = values[:, j] if j is not None else values
        new.append(pa.array(np.ascontiguousarray(values), mask=bad) if bad is not None and bad.any() else
                   pa.array(np.ascontiguousarray(values)))
    if in_place:
        for (name, j, col), array in zip(columns.outputs, new):
            if col in reader.names:
                arrays[reader.index(col)] = array
            else:
                arrays.append(array)
        return arrays
    return arrays + new


def _input_schema(reader):
    import pyarrow as pa

    schema = reader.schema() or getattr(reader, "csv_schema", None)
    return schema if schema is not None else pa.schema([pa.field(c, pa.string()) for c in reader.names])


def _empty_schema(reader, model, spec, columns, in_place):
    import pyarrow as pa

    schema = _input_schema(reader)
    probe = model.serve(np.zeros((0, spec.n_inputs)), sensitive_features=None if not spec.sensitive else
                        {c: pa.array([], schema.field(c).type) for c in columns.sensitive}, invalid="mask")
    fields = list(schema)
    for name, j, col in columns.outputs:
        values = probe[name]
        field = pa.field(col, pa.from_numpy_dtype(values.dtype))
        if in_place and col in schema.names:
            fields[schema.get_field_index(col)] = field
        else:
            fields.append(field)
    return pa.schema(fields, schema.metadata)


def fit_file(data, *, estimator=None, scores=None, features=None, sensitive_features=None, labels=None,
             sample_weight=None, out=None, batch_size=DEFAULT_BATCH_SIZE, progress=None, _names=PYTHON_NAMES):
    """Fit a model on the columns of a Parquet or CSV file.

    Only the needed columns are read, in batches; the fit itself needs them in memory
    (:func:`fairfast.dask.fit` fits from data that does not fit).

    Parameters
    ----------
    data : str or os.PathLike
        ``.parquet`` / ``.pq`` or ``.csv`` file.
    estimator : unfitted estimator, optional
        Any model kind of ``fairfast.io.registered_estimators()``. Default:
        ``WassersteinBarycenter()``. It is fitted in place and returned.
    scores, features : str or list of str
        Input columns: score columns (post-processors; several for a multi-task
        barycenter) or feature columns (steering, DAFH), as the estimator reads.
    sensitive_features : str or list of str
        Sensitive column(s), for the estimators that use them; their names are kept,
        so the model matches them by name when served.
    labels : str, optional
        Label column, for the estimators fitted on labels.
    sample_weight : str, optional
        Column of row weights, for the estimators that take them.
    out : str or os.PathLike, optional
        If given, the fitted model is saved there (atomically) with the columns it
        reads, so :func:`transform_file` needs no column arguments.
    batch_size : int, default=1048576
        Rows per read batch.
    progress : bool or None, default=None
        Progress on stderr (None: only when stderr is a terminal).

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
    ...     model = fit_file(f"{d}/calib.parquet", scores="score", sensitive_features="group",
    ...                      out=f"{d}/model.ffm")
    ...     loaded = load(f"{d}/model.ffm")
    >>> loaded.groups_, loaded.serving_spec().sensitive_names
    ([0, 1], ('group',))
    """
    import pyarrow as pa

    names = _names
    batch_size = check_batch_size(batch_size)
    if estimator is None:
        from ..postprocessing import WassersteinBarycenter

        estimator = WassersteinBarycenter()
    decl = getattr(type(estimator), "_serving", None)
    if decl is None:
        raise TypeError(f"{names('estimator')} must be a fairfast model kind that batch jobs fit "
                        f"({registered_estimators()}), got {type(estimator).__name__}")
    kind = type(estimator).__name__
    inputs, sensitive, label, weight = fit_columns(decl, kind, scores=scores, features=features,
                                                   sensitive_features=sensitive_features, labels=labels,
                                                   sample_weight=sample_weight, names=names)
    wanted = inputs + sensitive + ([label] if label else []) + ([weight] if weight else [])
    types = {c: pa.float64() for c in inputs + ([weight] if weight else [])}
    reader = Reader(data, batch_size, columns=wanted, column_types=types)
    parts = []
    try:
        with progress_bar(reader.total, progress, f"fairfast fit: reading {os.path.basename(os.fspath(data))}") as bar:
            for batch in reader.batches():
                parts.append(batch)
                bar.update(batch.num_rows)
    finally:
        reader.close()
    table = pa.Table.from_batches(parts, schema=parts[0].schema) if parts else None
    if table is None or table.num_rows == 0:
        raise ValueError(f"{os.fspath(data)!r} has no rows to fit on")
    X = np.column_stack([np.asarray(table.column(c).to_numpy(), dtype=np.float64) for c in inputs])
    if decl.inputs == "scores" and len(inputs) == 1:
        X = X[:, 0]
    kwargs = {}
    if decl.sensitive_at_fit:
        kwargs["sensitive_features"] = table.select(sensitive)
    if weight:
        kwargs["sample_weight"] = np.asarray(table.column(weight).to_numpy(), dtype=np.float64)
    y = np.asarray(table.column(label).to_numpy(zero_copy_only=False)) if label else None
    with step(progress, f"fairfast fit: fitting {kind} on {table.num_rows:,} rows"):
        estimator.fit(X, y, **kwargs)
    if out is not None:
        metadata = {
            "columns": {"inputs": inputs, "input_kind": decl.inputs, "sensitive": sensitive, "labels": label,
                        **({"scores": inputs} if decl.inputs == "scores" else {})},
            "fit_rows": int(table.num_rows),
        }
        with step(progress, f"fairfast fit: writing {os.fspath(out)}"):
            save(estimator, out, metadata=metadata)
    return estimator
