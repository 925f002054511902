"""Serving a fitted model on Dask collections, identically to in memory.

Every partition (or block) is served with ``row_offset`` equal to the global index of
its first row, so the result is identical to one in-memory call on the concatenated
data, whatever the partitioning. Partition lengths are computed first (dataframes) or
read from the chunks (arrays). Any model kind is served through its serving contract
(``model.serving_spec()``, ``model.serve``), as by ``fairfast transform``.
"""

import numpy as np

from ..io._columns import check_output_names, served_columns

__all__ = ["transform"]


def _dask():
    try:
        import dask
        import dask.array  # noqa: F401
        import dask.dataframe  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError('fairfast.dask needs Dask: pip install "dask[dataframe]" distributed') from None
    return dask


def is_dataframe(obj):
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, dd.DataFrame)


def is_array(obj):
    try:
        import dask.array as da
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, da.Array)


def _check_model(model):
    if not callable(getattr(model, "serving_spec", None)):
        from ..io import registered_estimators

        raise TypeError(f"model must be a fitted fairfast estimator that batch jobs serve ({registered_estimators()}),"
                        f" got {type(model).__name__}")
    return model.serving_spec()


def _serve_frame(frame, model, columns, offsets, partition_info=None):
    if partition_info is None:
        if len(frame) and len(offsets) > 1:  # never guess a row offset
            raise RuntimeError("dask did not pass partition_info: the partition's row offset is unknown")
        offset = 0
    else:
        offset = int(offsets[partition_info["number"]])
    X = frame[columns.inputs].to_numpy(dtype=np.float64) if len(columns.inputs) > 1 or \
        frame[columns.inputs[0]].dtype != np.float32 else frame[columns.inputs].to_numpy()
    sensitive = frame[columns.sensitive] if columns.sensitive else None
    y = frame[columns.label].to_numpy() if columns.label else None
    served = model.serve(X, sensitive_features=sensitive, y=y, row_offset=offset)
    new = {}
    for name, j, col in columns.outputs:
        values = served[name]
        new[col] = values[:, j] if j is not None else values
    return frame.assign(**new)


def _serve_block(model, X, sensitive, y, offset, output):
    X = np.asarray(X)
    served = model.serve(X.reshape(X.shape[0], -1), sensitive_features=sensitive, y=y, row_offset=int(offset))
    values = served[output]
    return values[:, 0] if X.ndim == 1 and values.ndim == 2 else values


def transform(model, collection, *, scores=None, features=None, sensitive_features=None, labels=None,
              outputs=None, suffix="_fair", prefix="", in_place=False):
    """Serve a fitted model on a Dask collection, identically to in memory.

    Parameters
    ----------
    model : fitted estimator
        Any fairfast model kind batch jobs serve (``fairfast.io.registered_estimators()``),
        fitted in memory or loaded with :func:`fairfast.io.load`. It is shipped to the
        workers once.
    collection : dask.dataframe.DataFrame or dask.array.Array
        A dataframe holding the input, sensitive (and label) columns; or an array of
        the inputs, shape ``(n,)`` or ``(n, n_inputs)``.
    scores, features : str or list of str
        Dataframe only: the input columns (score columns for the post-processors,
        feature columns for the steering estimators and DAFH); default: the names the
        model was fitted with.
    sensitive_features : str, list of str, or array-like
        Dataframe: sensitive column name(s), matched by name to the fitted ones
        (default: the fitted names). Array: the sensitive features, a dask or numpy
        array of shape ``(n,)`` or ``(n, n_attributes)`` (rechunked to the rows'
        chunks; matched by position).
    labels : str or array-like, optional
        The label column (dataframe) or array, for models that use labels when served.
    outputs : str or list of str, optional
        Dataframe: which outputs to add (default all). Array: the one output to return
        (default the model's first, e.g. the fair scores or the decision).
    suffix, prefix, in_place
        Dataframe only, as in :func:`fairfast.io.transform_file`: per-input outputs are
        added as ``<column><suffix>`` (or replace the inputs), others as ``<prefix><name>``.

    Returns
    -------
    dask.dataframe.DataFrame or dask.array.Array
        Lazy result. Partition ``i`` is served with ``row_offset`` equal to the number
        of rows of the partitions before it, so ``result.compute()`` equals the
        in-memory result exactly.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from fairfast.postprocessing import WassersteinBarycenter
    >>> import fairfast.dask
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 1000)
    >>> z = rng.normal(size=1000) + s
    >>> model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s)
    >>> out = fairfast.dask.transform(model, da.from_array(z, chunks=300), sensitive_features=s)
    >>> bool(np.array_equal(out.compute(scheduler="sync"), model.transform(z, sensitive_features=s)))
    True
    """
    dask = _dask()
    spec = _check_model(model)
    if is_dataframe(collection):
        columns = served_columns(spec, {}, scores=scores, features=features, sensitive_features=sensitive_features,
                                 labels=labels, outputs=outputs, suffix=suffix, prefix=prefix, in_place=in_place)
        missing = [c for c in columns.read if c not in collection.columns]
        if missing:
            raise ValueError(f"the dataframe has no column {', '.join(map(repr, missing))}; it has "
                             f"{list(collection.columns)}")
        check_output_names(columns, list(collection.columns), in_place, "the dataframe",
                           lambda a: a)
        lengths = collection.map_partitions(len).compute()
        offsets = np.concatenate([[0], np.cumsum(np.asarray(lengths, dtype=np.int64))[:-1]])
        meta = _serve_frame(collection._meta, model, columns, np.zeros(1, dtype=np.int64))
        return collection.map_partitions(_serve_frame, dask.delayed(model), columns, offsets, meta=meta)
    if is_array(collection):
        return _transform_array(dask, model, spec, collection, scores, features, sensitive_features, labels, outputs)
    raise TypeError(
        f"collection must be a dask.dataframe.DataFrame or a dask.array.Array, got {type(collection).__name__}"
    )


def _aligned(values, rows, name):
    import dask.array as da

    arr = values if isinstance(values, da.Array) else da.from_array(np.asarray(values), chunks=-1)
    n = int(sum(rows))
    if arr.ndim not in (1, 2) or (not np.isnan(arr.shape[0]) and arr.shape[0] != n):
        raise ValueError(f"{name} must have shape ({n},) or ({n}, k), got {arr.shape}")
    return arr.rechunk((rows,) + ((-1,) if arr.ndim == 2 else ()))


def _transform_array(dask, model, spec, collection, scores, features, sensitive_features, labels, outputs):
    import dask.array as da

    if scores is not None or features is not None:
        raise ValueError("scores and features name dataframe columns; with a dask array, pass the inputs as the "
                         "collection")
    if spec.sensitive and sensitive_features is None:
        raise ValueError(f"sensitive_features is required: {spec.estimator} needs an array of group labels aligned "
                         "with the rows")
    output = spec.outputs[0].name if outputs is None else outputs
    if not isinstance(output, str):
        raise ValueError(f"outputs must name one output with a dask array, got {output!r}")
    out_spec = spec.output(output)
    X = collection
    if X.ndim not in (1, 2):
        raise ValueError(f"the input array must be 1-D or 2-D, got shape {X.shape}")
    if X.ndim == 2:
        X = X.rechunk({1: -1})
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    rows = X.chunks[0]
    starts = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64)
    sens = _aligned(sensitive_features, rows, "sensitive_features") if spec.sensitive else None
    ys = _aligned(labels, rows, "labels") if labels is not None else None
    probe = model.serve(np.zeros((0, spec.n_inputs), dtype=X.dtype), invalid="mask",
                        sensitive_features=None if sens is None else np.zeros((0,) + sens.shape[1:], dtype=sens.dtype))
    dtype = probe[output].dtype
    model_d = dask.delayed(model)
    x_blocks = X.to_delayed().reshape(-1)
    s_blocks = sens.to_delayed().reshape(-1) if sens is not None else [None] * len(rows)
    y_blocks = ys.to_delayed().reshape(-1) if ys is not None else [None] * len(rows)
    tail = X.shape[1:] if out_spec.per_input else ()
    parts = [
        da.from_delayed(dask.delayed(_serve_block)(model_d, xb, sb, yb, start, output), shape=(r,) + tail, dtype=dtype)
        for xb, sb, yb, start, r in zip(x_blocks, s_blocks, y_blocks, starts, rows)
    ]
    return da.concatenate(parts, axis=0) if parts else da.empty((0,) + tail, dtype=dtype)
