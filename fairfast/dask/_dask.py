r"""Fitted fairfast models on Dask collections, and fits from partitioned data.

Transform
---------
Every partition (or block) is transformed with ``row_offset`` equal to the global index
of its first row, so the result is identical to one in-memory ``model.transform`` of the
concatenated data, whatever the partitioning. Partition lengths are computed first
(dataframes) or read from the chunks (arrays).

Fit
---
``method="exact"`` collects the score and sensitive columns to the client and fits in
memory (identical to an in-memory fit on the concatenated data). ``method="sketch"``
never collects the rows: each partition sends, for every group :math:`g` present in
it with :math:`n` rows, the sorted scores cut into :math:`M` blocks of consecutive ranks
(block :math:`j` holds ranks :math:`(\lceil (j-1)n/M \rceil, \lceil jn/M \rceil]`, so
:math:`b_j \le \lceil n/M \rceil` rows) summarised by one atom, the block's median (the
row of rank :math:`\lceil b_j/2 \rceil` in the block), weighted by the block's row count.
A partition sends at most :math:`M` atoms per group (all rows, with weight 1, if
:math:`n \le M`). The client concatenates the atoms of all partitions (merging adds no
error) and fits the estimator on them with the counts as ``sample_weight``.

**Error bound.** For a partition and group, the rows :math:`\le x` form a prefix of the
sorted scores. Blocks wholly inside the prefix are counted by the atoms, blocks wholly
outside are not, and at most one block straddles :math:`x`. If its atom is
:math:`\le x`, at least :math:`\lceil b/2 \rceil` of its :math:`b` rows are :math:`\le x`
and all :math:`b` are counted: an overcount of at most :math:`\lfloor b/2 \rfloor`; if its
atom is :math:`> x`, at most :math:`\lceil b/2 \rceil - 1 \le \lfloor b/2 \rfloor` rows are
:math:`\le x` and none is counted. So the count error is at most
:math:`\lfloor \lceil n/M \rceil / 2 \rfloor \le n/(2M) + 1/2`, which is also
:math:`< n/M` since blocks are only formed when :math:`n > M`. Summing over the
partitions, the merged weighted CDF :math:`\tilde F_g` of the atoms and the true CDF
:math:`F_g` of the :math:`N_g` rows of group :math:`g` satisfy

.. math::

    \sup_x \big| F_g(x) - \tilde F_g(x) \big|
    \le \frac{1}{2M} + \frac{P_g}{2 N_g} \quad\text{and}\quad < \frac{1}{M},

where :math:`P_g` is the number of partitions holding more than :math:`M` rows of the
group: a Kolmogorov-Smirnov (rank) error of about :math:`1/(2M)`, and below :math:`1/M`
for any number of partitions and any partitioning. The group frequencies (and hence the barycentric weights) are
exact. Since the barycenter map composes a group's CDF with the groups' quantile
functions, a sketched model maps each score to the exact model's output at a rank
moved by less than :math:`1/M` in the source group's CDF and in each quantile function,
and the transformed groups' distributions stay within :math:`2/M + 2/\min_g N_g` (KS) of
each other on the calibration data (the exact model: :math:`1/\min_g N_g`). The bound is
on ranks, not values: where a group's scores are sparse (the tails), a sketched output
can differ from the exact one by the gap between neighbouring quantiles. Several
sensitive columns are summarised per intersection, which keeps the bound for every
stage of a multi-attribute model.
Memory on the client: at most :math:`M` atoms per group and partition.
"""

import numbers

import numpy as np

__all__ = ["fit", "summarize_partition", "transform"]


def _dask():
    try:
        import dask
        import dask.array  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            'fairfast.dask needs Dask: pip install "dask[dataframe]" distributed'
        ) from None
    return dask


def _is_dataframe(obj):
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, dd.DataFrame)


def _is_array(obj):
    import dask.array as da

    return isinstance(obj, da.Array)


def _names(columns, name):
    if columns is None:
        raise ValueError(f"{name} is required with a dask DataFrame: the column name(s) to use")
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    if not columns or not all(isinstance(c, str) for c in columns):
        raise ValueError(f"{name} must be a column name or a list of column names, got {columns!r}")
    return columns


def _check_columns(frame, columns):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the dataframe has no column {', '.join(map(repr, missing))}; it has {list(frame.columns)}")


def _frame_parts(frame, score_cols, sens_cols):
    z = frame[score_cols[0]].to_numpy() if len(score_cols) == 1 else frame[score_cols].to_numpy(dtype=np.float64)
    sens = frame[sens_cols[0]].to_numpy() if len(sens_cols) == 1 else frame[sens_cols]
    return z, sens


# -- transform ---------------------------------------------------------------------------------


def _transform_partition(frame, model, score_cols, sens_cols, out_cols, offsets, partition_info=None):
    if partition_info is None:
        if len(frame) and len(offsets) > 1:  # never guess a row offset
            raise RuntimeError("dask did not pass partition_info: the partition's row offset is unknown")
        offset = 0
    else:
        offset = int(offsets[partition_info["number"]])
    z, sens = _frame_parts(frame, score_cols, sens_cols)
    fair = np.asarray(model.transform(z, sensitive_features=sens, row_offset=offset)).reshape(len(frame), -1)
    return frame.assign(**{c: fair[:, j] for j, c in enumerate(out_cols)})


def _transform_block(model, z, sens, offset):
    return model.transform(z, sensitive_features=sens, row_offset=int(offset))


def _output_dtype(model, z_dtype, sens_example):
    try:
        return model.transform(np.empty((0,), dtype=z_dtype), sensitive_features=sens_example).dtype
    except (ValueError, TypeError):
        return np.dtype(np.float64)


def transform(model, collection, *, sensitive=None, scores=None, suffix="_fair", in_place=False):
    """Transform a Dask collection with a fitted model, identically to in memory.

    Parameters
    ----------
    model : fitted estimator
        For example a fitted :class:`~fairfast.postprocessing.WassersteinBarycenter`
        (or one loaded with :func:`fairfast.io.load`). It is shipped to the workers once.
    collection : dask.dataframe.DataFrame or dask.array.Array
        A dataframe holding the score and sensitive columns, or an array of scores of
        shape ``(n,)`` or ``(n, n_tasks)``.
    sensitive : str, list of str, or array-like
        Dataframe: sensitive column name(s). Array: the sensitive features, a dask or
        numpy array of shape ``(n,)`` or ``(n, n_attributes)`` (rechunked to the
        scores' row chunks).
    scores : str or list of str
        Dataframe only: the score column(s); several give an ``(n, n_tasks)`` input.
    suffix : str, default="_fair"
        Dataframe only: the fair scores are added as ``<column><suffix>``.
    in_place : bool, default=False
        Dataframe only: replace the score columns instead.

    Returns
    -------
    dask.dataframe.DataFrame or dask.array.Array
        Lazy result. For a dataframe, the partition lengths are computed right away
        (one pass over the collection: persist it first if it is expensive to compute);
        array chunk sizes are read from the array (computed when unknown). Partition ``i`` is transformed with ``row_offset`` equal to the
        number of rows of the partitions before it, so ``result.compute()`` equals
        ``model.transform`` of the computed inputs exactly.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from fairfast.postprocessing import WassersteinBarycenter
    >>> import fairfast.dask
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 1000)
    >>> z = rng.normal(size=1000) + s
    >>> model = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s)
    >>> out = fairfast.dask.transform(model, da.from_array(z, chunks=300), sensitive=s)
    >>> bool(np.array_equal(out.compute(scheduler="sync"), model.transform(z, sensitive_features=s)))
    True
    """
    dask = _dask()
    if _is_dataframe(collection):
        score_cols = _names(scores, "scores")
        sens_cols = _names(sensitive, "sensitive")
        _check_columns(collection, score_cols + sens_cols)
        if in_place:
            out_cols = score_cols
        else:
            if not isinstance(suffix, str) or not suffix:
                raise ValueError(f"suffix must be a non-empty string (or use in_place=True), got {suffix!r}")
            out_cols = [c + suffix for c in score_cols]
            clash = [c for c in out_cols if c in collection.columns]
            if clash:
                raise ValueError(f"the dataframe already has column(s) {clash}; choose another suffix")
        lengths = collection.map_partitions(len).compute()
        offsets = np.concatenate([[0], np.cumsum(np.asarray(lengths, dtype=np.int64))[:-1]])
        meta_z, meta_s = _frame_parts(collection._meta, score_cols, sens_cols)
        dtype = _output_dtype(model, meta_z.dtype if meta_z.ndim == 1 else np.float64, meta_s)
        meta = collection._meta.assign(**{c: np.empty(0, dtype=dtype) for c in out_cols})
        return collection.map_partitions(
            _transform_partition, dask.delayed(model), score_cols, sens_cols, out_cols, offsets, meta=meta,
        )
    if _is_array(collection):
        import dask.array as da

        if scores is not None:
            raise ValueError("scores names dataframe columns; with a dask array, pass the scores as the collection")
        if sensitive is None:
            raise ValueError("sensitive is required: an array of group labels aligned with the scores")
        z = collection
        if z.ndim not in (1, 2):
            raise ValueError(f"the scores array must be 1-D or 2-D, got shape {z.shape}")
        if z.ndim == 2:
            z = z.rechunk({1: -1})
        if any(np.isnan(c) for c in z.chunks[0]):
            z = z.compute_chunk_sizes()
        rows = z.chunks[0]
        n = int(sum(rows))
        sens = sensitive if isinstance(sensitive, da.Array) else da.from_array(np.asarray(sensitive), chunks=-1)
        if sens.ndim not in (1, 2) or (not np.isnan(sens.shape[0]) and sens.shape[0] != n):
            raise ValueError(f"sensitive must have shape ({n},) or ({n}, n_attributes), got {sens.shape}")
        sens = sens.rechunk((rows,) + ((-1,) if sens.ndim == 2 else ()))
        starts = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64)
        dtype = _output_dtype(model, z.dtype, np.empty((0,) + sens.shape[1:], dtype=sens.dtype))
        model_d = dask.delayed(model)
        z_blocks = z.to_delayed().reshape(-1)
        s_blocks = sens.to_delayed().reshape(-1)
        parts = [
            da.from_delayed(
                dask.delayed(_transform_block)(model_d, zb, sb, start), shape=(r,) + z.shape[1:], dtype=dtype
            )
            for zb, sb, start, r in zip(z_blocks, s_blocks, starts, rows)
        ]
        return da.concatenate(parts, axis=0) if parts else da.empty((0,) + z.shape[1:], dtype=dtype)
    raise TypeError(
        f"collection must be a dask.dataframe.DataFrame or a dask.array.Array, got {type(collection).__name__}"
    )


# -- fit ----------------------------------------------------------------------------------------


def _key(label):
    return label if isinstance(label, tuple) else (label,)


def summarize_partition(scores, sensitive, n_quantiles):
    """Per-group quantile summary of one partition (see the module docstring).

    Parameters
    ----------
    scores : array-like of shape (n,)
    sensitive : array-like of shape (n,) or (n, n_attributes), or DataFrame
    n_quantiles : int
        ``M``: at most ``M`` atoms per group.

    Returns
    -------
    dict
        Group key (a tuple of labels, one per sensitive column) to
        ``(values, counts)``: the atoms (float64, sorted) and their row counts (int64).
        The counts sum to the group's rows, and the atoms' weighted CDF is within
        ``1/M`` of the group's empirical CDF.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.dask import summarize_partition
    >>> summary = summarize_partition(np.arange(10.0), np.zeros(10, dtype=int), 4)
    >>> values, counts = summary[(0,)]
    >>> values.tolist(), counts.tolist()
    ([1.0, 3.0, 6.0, 8.0], [3, 2, 3, 2])
    """
    from .._base.grouping import encode_groups
    from .._base.validation import as_float_array

    z = as_float_array(scores, "scores", dtype=np.float64)
    codes, labels = encode_groups(sensitive, z.shape[0], argument="sensitive")
    order = np.lexsort((z, codes))
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    summary = {}
    m = int(n_quantiles)
    for k, label in enumerate(labels):
        values = z[order[bounds[k]:bounds[k + 1]]]
        n = values.shape[0]
        if n <= m:
            atoms, counts = values.copy(), np.ones(n, dtype=np.int64)
        else:
            j = np.arange(1, m + 1, dtype=np.int64)
            ends = -((-j * n) // m)  # ceil(j n / M), exact in integers
            starts = np.concatenate([[0], ends[:-1]])
            counts = ends - starts
            atoms = values[starts + (counts - 1) // 2]  # each block's (lower) median
        summary[_key(label)] = (atoms, counts.astype(np.int64))
    return summary


def _merge(summaries):
    merged = {}
    for summary in summaries:
        for key, (values, counts) in summary.items():
            merged.setdefault(key, ([], []))
            merged[key][0].append(values)
            merged[key][1].append(counts)
    return {k: (np.concatenate(v), np.concatenate(c)) for k, (v, c) in merged.items()}


def _column(values):
    arr = np.asarray(values)
    return arr.astype(object) if arr.dtype.kind in "US" else arr


def _parts(collection, scores, sensitive):
    """Delayed ``(z, sensitive)`` pairs, one per partition or block, and the row count."""
    dask = _dask()
    if _is_dataframe(collection):
        score_cols = _names(scores, "scores")
        sens_cols = _names(sensitive, "sensitive")
        _check_columns(collection, score_cols + sens_cols)
        frames = collection[score_cols + sens_cols].to_delayed()
        parts = [dask.delayed(_frame_parts)(f, score_cols, sens_cols) for f in frames]
        return parts, len(score_cols), sens_cols
    if _is_array(collection):
        import dask.array as da

        if sensitive is None:
            raise ValueError("sensitive is required: an array of group labels aligned with the scores")
        z = collection.rechunk({1: -1}) if collection.ndim == 2 else collection
        if any(np.isnan(c) for c in z.chunks[0]):
            z = z.compute_chunk_sizes()
        rows = z.chunks[0]
        sens = sensitive if isinstance(sensitive, da.Array) else da.from_array(np.asarray(sensitive), chunks=-1)
        if sens.shape[0] != sum(rows):
            raise ValueError(f"sensitive has {sens.shape[0]} rows but the scores have {sum(rows)}")
        sens = sens.rechunk((rows,) + ((-1,) if sens.ndim == 2 else ()))
        parts = [dask.delayed(tuple)([a, b]) for a, b in zip(z.to_delayed().reshape(-1), sens.to_delayed().reshape(-1))]
        n_cols = sens.shape[1] if sens.ndim == 2 else 1
        return parts, (z.shape[1] if z.ndim == 2 else 1), [f"x{j}" for j in range(n_cols)]
    raise TypeError(
        f"collection must be a dask.dataframe.DataFrame or a dask.array.Array, got {type(collection).__name__}"
    )


def _concat_sensitive(pieces, names):
    if not pieces:
        return np.empty(0)
    if hasattr(pieces[0], "columns"):  # pandas DataFrames
        import pandas as pd

        return pd.concat(pieces, ignore_index=True)
    return np.concatenate([np.asarray(p) for p in pieces])


def fit(collection, *, scores=None, sensitive=None, estimator=None, method="auto", n_quantiles=1024,
        max_exact_rows=20_000_000):
    """Fit an estimator on a Dask collection, exactly or from per-partition summaries.

    Parameters
    ----------
    collection : dask.dataframe.DataFrame or dask.array.Array
        Calibration data: a dataframe with the `scores` and `sensitive` columns, or an
        array of scores (with `sensitive` an aligned array).
    scores : str or list of str, optional
        Dataframe: score column(s).
    sensitive : str, list of str, or array-like
        Dataframe: sensitive column name(s); array: the sensitive features.
    estimator : unfitted estimator, optional
        Default ``WassersteinBarycenter()``; fitted and returned.
    method : {"auto", "exact", "sketch"}, default="auto"
        ``"exact"`` collects the columns and fits in memory (bit-identical to an
        in-memory fit); ``"sketch"`` fits on merged per-partition quantile summaries
        (per-group CDF error below ``1 / n_quantiles``, see the module docstring);
        ``"auto"`` is exact up to `max_exact_rows` rows.
    n_quantiles : int, default=1024
        ``M``, atoms per group and partition for ``"sketch"``. The estimator sees at
        least ``min(N_g, M)`` atoms for a group of ``N_g`` rows, so keep ``M`` above
        its ``min_group_size`` (and ``small_group_size``, if any) to avoid spurious
        small-group errors or warnings.
    max_exact_rows : int, default=20_000_000
        Row count above which ``"auto"`` sketches.

    Returns
    -------
    estimator
        The fitted estimator, with ``fit_method_`` set to ``"exact"`` or ``"sketch"``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import fairfast.dask
    >>> from fairfast.transport import ks_distance
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 20000)
    >>> z = rng.normal(size=20000) + s
    >>> import dask
    >>> with dask.config.set(scheduler="sync"):
    ...     model = fairfast.dask.fit(da.from_array(z, chunks=5000), sensitive=s,
    ...                               method="sketch", n_quantiles=100)
    >>> model.fit_method_
    'sketch'
    >>> out = model.transform(z, sensitive_features=s)
    >>> bool(ks_distance(out[s == 0], out[s == 1]) < 2 / 100)
    True
    """
    dask = _dask()
    if method not in ("auto", "exact", "sketch"):
        raise ValueError(f"method must be one of 'auto', 'exact', 'sketch', got {method!r}")
    if isinstance(n_quantiles, bool) or not isinstance(n_quantiles, numbers.Integral) or n_quantiles < 1:
        raise ValueError(f"n_quantiles must be a positive int, got {n_quantiles!r}")
    if estimator is None:
        from ..postprocessing import WassersteinBarycenter

        estimator = WassersteinBarycenter()
    parts, n_tasks, sens_names = _parts(collection, scores, sensitive)
    if method == "auto":
        n_rows = len(collection) if _is_dataframe(collection) else collection.shape[0]
        method = "exact" if n_rows <= max_exact_rows else "sketch"
    if method == "exact":
        computed = dask.compute(*parts)
        z = np.concatenate([np.asarray(p[0]) for p in computed]) if computed else np.empty(0)
        sens = _concat_sensitive([p[1] for p in computed], sens_names)
        estimator.fit(z, sensitive_features=sens)
    else:
        if n_tasks != 1:
            raise ValueError(
                f"method='sketch' summarises one score column, got {n_tasks}; use method='exact' "
                "(or one model per task)"
            )
        summaries = dask.compute(*[dask.delayed(summarize_partition)(p[0], p[1], n_quantiles) for p in parts])
        merged = _merge(summaries)
        if not merged:
            raise ValueError("the collection has no rows to fit on")
        keys = sorted(merged, key=repr)
        values = np.concatenate([merged[k][0] for k in keys])
        counts = np.concatenate([merged[k][1] for k in keys]).astype(np.float64)
        width = len(keys[0])
        cols = [_column([k[j] for k in keys for _ in range(merged[k][0].shape[0])]) for j in range(width)]
        if width == 1:
            sens = cols[0]
        else:
            import pandas as pd

            sens = pd.DataFrame(dict(zip(sens_names, cols)))
        estimator.fit(values, sensitive_features=sens, sample_weight=counts)
    estimator.fit_method_ = method
    return estimator
