r"""Fitting fairfast models from Dask collections, exactly or from quantile summaries.

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
Memory on the client: at most :math:`M` atoms per group and partition."""

import numbers

import numpy as np

from ..io._columns import fit_columns
from ._transform import _aligned, _dask, is_array, is_dataframe

__all__ = ["fit", "summarize_partition"]


def _key(label):
    return label if isinstance(label, tuple) else (label,)


def summarize_partition(scores, sensitive_features, n_quantiles):
    """Per-group quantile summary of one partition (see the module docstring).

    Parameters
    ----------
    scores : array-like of shape (n,)
    sensitive_features : array-like of shape (n,) or (n, n_attributes), or DataFrame
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
    codes, labels = encode_groups(sensitive_features, z.shape[0], what="the scores have")
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


def _frame_parts(frame, inputs, sensitive, label, weight):
    X = frame[inputs].to_numpy(dtype=np.float64)
    return (X, frame[sensitive] if sensitive else None, frame[label].to_numpy() if label else None,
            frame[weight].to_numpy(dtype=np.float64) if weight else None)


def _parts(collection, decl, kind, scores, features, sensitive_features, labels, sample_weight):
    """Delayed ``(X, sensitive, y, weight)`` tuples, one per partition or block."""
    dask = _dask()
    if is_dataframe(collection):
        inputs, sensitive, label, weight = fit_columns(decl, kind, scores=scores, features=features,
                                                       sensitive_features=sensitive_features, labels=labels,
                                                       sample_weight=sample_weight)
        wanted = inputs + sensitive + ([label] if label else []) + ([weight] if weight else [])
        missing = [c for c in wanted if c not in collection.columns]
        if missing:
            raise ValueError(f"the dataframe has no column {', '.join(map(repr, missing))}; it has "
                             f"{list(collection.columns)}")
        frames = collection[wanted].to_delayed()
        return [dask.delayed(_frame_parts)(f, inputs, sensitive, label, weight) for f in frames], inputs, sensitive
    if is_array(collection):
        if scores is not None or features is not None:
            raise ValueError("scores and features name dataframe columns; with a dask array, pass the inputs as "
                             "the collection")
        if decl.sensitive_at_fit and sensitive_features is None:
            raise ValueError(f"sensitive_features is required: {kind} is fitted on group labels aligned with the "
                             "rows")
        if decl.fit_labels == "required" and labels is None:
            raise ValueError(f"labels is required: {kind} is fitted on labels aligned with the rows")
        X = collection.rechunk({1: -1}) if collection.ndim == 2 else collection
        if any(np.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()
        rows = X.chunks[0]

        def aligned(values, name):
            return [None] * len(rows) if values is None else _aligned(values, rows, name).to_delayed().reshape(-1)

        blocks = zip(X.to_delayed().reshape(-1), aligned(sensitive_features if decl.sensitive_at_fit else None,
                                                         "sensitive_features"),
                     aligned(labels, "labels"), aligned(sample_weight, "sample_weight"))
        n_inputs = X.shape[1] if X.ndim == 2 else 1
        return [dask.delayed(tuple)(list(b)) for b in blocks], [f"x{j}" for j in range(n_inputs)], None
    raise TypeError(
        f"collection must be a dask.dataframe.DataFrame or a dask.array.Array, got {type(collection).__name__}"
    )


def _concat(pieces):
    pieces = [p for p in pieces]
    if pieces[0] is None:
        return None
    if hasattr(pieces[0], "columns"):  # pandas DataFrames of sensitive columns
        import pandas as pd

        return pd.concat(pieces, ignore_index=True)
    return np.concatenate([np.asarray(p) for p in pieces])


def fit(collection, *, estimator=None, scores=None, features=None, sensitive_features=None, labels=None,
        sample_weight=None, method="auto", n_quantiles=1024, max_exact_rows=20_000_000):
    """Fit an estimator on a Dask collection, exactly or from per-partition summaries.

    Parameters
    ----------
    collection : dask.dataframe.DataFrame or dask.array.Array
        The data: a dataframe with the named columns, or an array of the inputs
        (with `sensitive_features`, `labels` and `sample_weight` aligned arrays).
    estimator : unfitted estimator, optional
        Any model kind of ``fairfast.io.registered_estimators()``; default
        ``WassersteinBarycenter()``. Fitted and returned.
    scores, features : str or list of str
        Dataframe: the input columns, as the estimator reads (score or feature columns).
    sensitive_features : str, list of str, or array-like
        Dataframe: sensitive column name(s) (kept, so the model matches them by name);
        array: the sensitive features.
    labels, sample_weight : str or array-like, optional
        Label and row-weight column (dataframe) or arrays, for estimators that take them.
    method : {"auto", "exact", "sketch"}, default="auto"
        ``"exact"`` collects the columns and fits in memory (bit-identical to an
        in-memory fit); ``"sketch"`` (``WassersteinBarycenter`` with one score column)
        fits on merged per-partition quantile summaries (per-group CDF error below
        ``1 / n_quantiles``, see the module docstring); ``"auto"`` is exact up to
        `max_exact_rows` rows, and always for the other model kinds.
    n_quantiles : int, default=1024
        ``M``, atoms per group and partition for ``"sketch"``. The estimator sees at
        least ``min(N_g, M)`` atoms for a group of ``N_g`` rows, so keep ``M`` above
        its ``min_group_size`` and ``small_group_size`` to avoid spurious small-group
        errors or warnings.
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
    ...     model = fairfast.dask.fit(da.from_array(z, chunks=5000), sensitive_features=s,
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
    decl = getattr(type(estimator), "_serving", None)
    kind = type(estimator).__name__
    if decl is None:
        from ..io import registered_estimators

        raise TypeError(f"estimator must be a fairfast model kind ({registered_estimators()}), got {kind}")
    parts, inputs, sens_names = _parts(collection, decl, kind, scores, features, sensitive_features, labels,
                                       sample_weight)
    sketchable = kind == "WassersteinBarycenter" and len(inputs) == 1 and labels is None
    if method == "auto":
        n_rows = len(collection) if is_dataframe(collection) else collection.shape[0]
        method = "sketch" if sketchable and n_rows > max_exact_rows else "exact"
    if method == "sketch" and not sketchable:
        raise ValueError(f"method='sketch' summarises one score column of a WassersteinBarycenter; got {kind} with "
                         f"{len(inputs)} input column(s): use method='exact'")
    if method == "exact":
        computed = dask.compute(*parts)
        if not computed:
            raise ValueError("the collection has no rows to fit on")
        X = np.concatenate([np.asarray(p[0]).reshape(len(p[0]), -1) for p in computed])
        if decl.inputs == "scores" and X.shape[1] == 1 and (is_dataframe(collection) or collection.ndim == 1):
            X = X[:, 0]
        kwargs = {}
        if decl.sensitive_at_fit:
            kwargs["sensitive_features"] = _concat([p[1] for p in computed])
        weights = _concat([p[3] for p in computed])
        if weights is not None:
            kwargs["sample_weight"] = weights
        estimator.fit(X, _concat([p[2] for p in computed]), **kwargs)
    else:
        if sample_weight is not None:
            raise ValueError("method='sketch' does not take sample_weight; use method='exact'")
        summaries = dask.compute(*[dask.delayed(summarize_partition)(p[0][:, 0] if is_dataframe(collection)
                                                                     else p[0], p[1], n_quantiles) for p in parts])
        merged = _merge(summaries)
        if not merged:
            raise ValueError("the collection has no rows to fit on")
        from .._base.label_encoding import sort_key

        keys = sorted(merged, key=lambda k: tuple(sort_key(v) for v in k))
        values = np.concatenate([merged[k][0] for k in keys])
        counts = np.concatenate([merged[k][1] for k in keys]).astype(np.float64)
        width = len(keys[0])
        cols = [_column([k[j] for k in keys for _ in range(merged[k][0].shape[0])]) for j in range(width)]
        names = sens_names or [f"x{j}" for j in range(width)]
        sens = dict(zip(names, cols)) if sens_names else (cols[0] if width == 1 else np.column_stack(cols))
        estimator.fit(values, sensitive_features=sens, sample_weight=counts)
    estimator.fit_method_ = method
    return estimator
