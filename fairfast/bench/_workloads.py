"""Workloads of the scale benchmarks: the data of each kernel.

Shared by ``fairfast bench`` and the pytest-benchmark suite in ``benchmarks/``.

Each *kernel* has a data builder (:func:`make_workload` for synthetic data,
:func:`workload_from_arrays` for a user's scores and groups). Its implementations are
in :mod:`fairfast.bench._implementations` (the numpy references in
:mod:`fairfast.bench._references`), and :mod:`fairfast.bench._agreement` checks that
two of them agree.

Kernels
-------
``"w1"``, ``"w2"``, ``"ks"``
    Two samples of ``n`` rows each (``N(0, 1)`` and ``N(0.5, 1.5^2)``); ``n_groups``
    is ignored. Peers: numpy, scipy (W1 and KS; SciPy has no 1-D ``W_2``), POT (W1,
    W2; ``ot.wasserstein_1d`` returns ``W_p^p``, so its W2 is square-rooted).
``"barycenter"``
    ``WassersteinBarycenter`` fit on ``n`` calibration rows and transform of ``n``
    test rows, ``n_groups`` groups of unequal sizes and different normal laws.
    Peers: numpy (the ``FitFair`` procedure of the spec: per-group sort, integer
    ceil table, queries sorted before ``np.searchsorted``) and EquiPy's
    ``FairWasserstein`` (compared with fairfast's ``interpolation="linear"``, EquiPy's
    convention; run with ``sigma=0`` so the outputs are comparable -- its per-row
    Python jitter loop runs all the same, so the timing is that of the default).
``"barycenter_transform"``
    Transform of ``n`` rows into a preallocated ``out`` with a model fitted on
    ``N_CALIB_TRANSFORM`` calibration rows. Peers: numpy, and ``np.copyto`` of the
    score array into a preallocated buffer (the memory-bandwidth floor).

Every workload records ``rows``, the input rows one call reads: ``2 n`` for the
distances (two samples) and for ``"barycenter"`` (calibration and test rows), ``n``
for ``"barycenter_transform"``. Throughputs are ``rows`` per second.

Examples
--------
>>> from fairfast.bench import _workloads as wl
>>> data = wl.make_workload("ks", 1000, seed=0)
>>> data["rows"]
2000
"""

import numpy as np

__all__ = ["KERNELS", "N_CALIB_TRANSFORM", "SIZES", "make_workload", "read_parquet_columns", "workload_from_arrays"]

KERNELS = ("w1", "w2", "ks", "barycenter", "barycenter_transform")
#: Default sizes of the pytest-benchmark suite (rows per sample, or calibration and test rows each).
SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
#: Calibration rows of the model used by the transform-only kernel.
N_CALIB_TRANSFORM = 100_000
#: Rows generated per block (bounds the temporaries of the 1e8-row workload).
_BLOCK = 1 << 22


def _check_kernel(kernel):
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(map(repr, KERNELS))}; got {kernel!r}")


# -- data -------------------------------------------------------------------------------


def _group_laws(n_groups):
    """Group frequencies (unequal, proportional to k + 1), means and standard deviations."""
    k = np.arange(n_groups, dtype=np.float64)
    p = (k + 1) / (k + 1).sum()
    return p, 0.3 * k, 1.0 + 0.1 * k


def _grouped_scores(rng, n, n_groups):
    """``n`` int32 group codes and float64 scores drawn from the groups' normal laws."""
    p, mu, sd = _group_laws(n_groups)
    cum = np.cumsum(p)
    cum[-1] = 1.0
    codes = np.empty(n, dtype=np.int32)
    z = np.empty(n, dtype=np.float64)
    for a in range(0, n, _BLOCK):
        b = min(a + _BLOCK, n)
        c = np.searchsorted(cum, rng.random(b - a), side="right").astype(np.int32)
        np.minimum(c, n_groups - 1, out=c)
        codes[a:b] = c
        z[a:b] = rng.standard_normal(b - a) * sd[c] + mu[c]
    return z, codes


def _rows(kernel, n):
    return n if kernel == "barycenter_transform" else 2 * n


def make_workload(kernel, n, n_groups=2, seed=0):
    """Synthetic, continuous (tie-free with probability ~1) data for one kernel.

    Parameters
    ----------
    kernel : str
        One of :data:`KERNELS`.
    n : int
        Rows per sample (``"w1"``, ``"w2"``, ``"ks"``); calibration rows and test rows
        each (``"barycenter"``); rows transformed (``"barycenter_transform"``).
    n_groups : int, default=2
        Number of groups (barycenter kernels only).
    seed : int, default=0

    Returns
    -------
    dict
        ``u``, ``v`` for the distances; ``z_calib``, ``s_calib``, ``z``, ``s`` (float64
        scores, int32 codes) for the barycenter kernels; always ``kernel``, ``n``,
        ``n_groups``, ``rows`` (input rows per call), ``seed`` and ``source``
        (``"synthetic"``).

    Examples
    --------
    >>> from fairfast.bench import make_workload
    >>> data = make_workload("barycenter", 100, n_groups=3)
    >>> data["z_calib"].shape, data["s"].dtype.name, data["rows"]
    ((100,), 'int32', 200)
    """
    _check_kernel(kernel)
    n = int(n)
    if n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n}")
    if int(n_groups) < 1:
        raise ValueError(f"n_groups must be an integer >= 1, got {n_groups}")
    n_groups = int(n_groups)
    meta = {"kernel": kernel, "n": n, "n_groups": n_groups, "rows": _rows(kernel, n), "seed": seed,
            "source": "synthetic"}
    calib_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    if kernel in ("w1", "w2", "ks"):
        u = calib_rng.standard_normal(n)
        v = test_rng.standard_normal(n)
        v *= 1.5
        v += 0.5
        return {**meta, "u": u, "v": v}
    n_calib = n if kernel == "barycenter" else N_CALIB_TRANSFORM
    z_calib, s_calib = _grouped_scores(calib_rng, n_calib, n_groups)
    z, s = _grouped_scores(test_rng, n, n_groups)
    return {**meta, "z_calib": z_calib, "s_calib": s_calib, "z": z, "s": s}


def _compact_codes(codes):
    """Codes renumbered 0..K'-1 over the groups present (int32), and K'."""
    present, inverse = np.unique(codes, return_inverse=True)
    return inverse.astype(np.int32).reshape(-1), int(present.size)


def workload_from_arrays(kernel, scores, codes, n, *, n_calib=N_CALIB_TRANSFORM, source="arrays"):
    """A workload made of the first `n` rows of a user's scores and group codes.

    Parameters
    ----------
    kernel : str
        One of :data:`KERNELS`.
    scores : ndarray of float64, shape (N,)
        Finite scores.
    codes : ndarray of int, shape (N,)
        Group codes (any non-negative integers; renumbered over the groups present).
    n : int
        Prefix length, ``2 <= n <= N``.
    n_calib : int, default=N_CALIB_TRANSFORM
        Calibration rows (a prefix too, capped by ``N``) of the model of the
        transform-only kernel.
    source : str, default="arrays"
        Recorded as the workload's ``source``.

    Returns
    -------
    dict
        As :func:`make_workload`, with ``rows = n`` for every kernel:

        - distances: ``u`` holds the scores of the prefix's most frequent group,
          ``v`` those of every other group (the two samples whose distance
          :func:`fairfast.metrics.unfairness` would look at for two groups);
        - ``"barycenter"``: fit on the prefix, then transform of the same rows (the
          usual ``fit_transform`` of a calibration set);
        - ``"barycenter_transform"``: model fitted on the first ``min(n_calib, N)``
          rows, transform of the prefix.

    Raises
    ------
    ValueError
        When the prefix has a single group (the distances need two samples).

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.bench import workload_from_arrays
    >>> z = np.array([0.1, 0.5, 0.3, 0.9, 0.7, 0.2])
    >>> g = np.array([4, 4, 7, 4, 7, 7])
    >>> data = workload_from_arrays("w1", z, g, 5)
    >>> data["u"], data["v"], data["rows"]
    (array([0.1, 0.5, 0.9]), array([0.3, 0.7]), 5)
    """
    _check_kernel(kernel)
    scores = np.asarray(scores, dtype=np.float64)
    codes = np.asarray(codes)
    total = scores.shape[0]
    n = int(n)
    if not 2 <= n <= total:
        raise ValueError(f"n must be between 2 and the number of rows ({total}), got {n}")
    z = np.ascontiguousarray(scores[:n])
    s, n_groups = _compact_codes(codes[:n])
    meta = {"kernel": kernel, "n": n, "n_groups": n_groups, "rows": n, "seed": None, "source": source}
    if kernel in ("w1", "w2", "ks"):
        if n_groups < 2:
            raise ValueError(f"the first {n} rows hold a single group; the distances need two")
        largest = int(np.argmax(np.bincount(s)))
        mask = s == largest
        return {**meta, "u": z[mask], "v": z[~mask]}
    if kernel == "barycenter":
        return {**meta, "z_calib": z, "s_calib": s, "z": z, "s": s}
    m = min(int(n_calib), total)
    zc = np.ascontiguousarray(scores[:m])
    present, sc = np.unique(codes[:m], return_inverse=True)
    sc = sc.astype(np.int32).reshape(-1)
    # test rows use the calibration prefix's numbering; groups unseen there cannot be transformed
    pos = np.searchsorted(present, codes[:n])
    pos = np.minimum(pos, present.size - 1)
    if (present[pos] != codes[:n]).any():
        raise ValueError(
            f"the first {n} rows hold a group absent from the first {m} (calibration) rows; "
            "the transform kernel cannot map it"
        )
    return {**meta, "n_groups": int(present.size), "n_calib": m, "z_calib": zc, "s_calib": sc,
            "z": z, "s": pos.astype(np.int32)}


def read_parquet_columns(path, scores, sensitive, max_rows=None):
    """Scores (float64) and group codes of the first `max_rows` rows of a Parquet file.

    Only the named columns are read, batch by batch, stopping after `max_rows` rows.

    Parameters
    ----------
    path : str or path-like
    scores : str
        Name of the numeric score column.
    sensitive : str or list of str
        Sensitive column name(s); several columns give intersectional groups.
    max_rows : int, optional
        Rows to read (all when None).

    Returns
    -------
    scores : ndarray of float64
    codes : ndarray of int32
    labels : list
        Group labels (tuples for several sensitive columns).
    total_rows : int
        Rows in the file.

    Raises
    ------
    ValueError
        Missing file or column, non-numeric or non-finite scores, missing group labels,
        or pyarrow not installed.
    """
    import os

    from .._base.grouping import encode_groups

    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError("--data needs pyarrow to read Parquet files (pip install pyarrow)") from None
    if isinstance(sensitive, str):
        sensitive = [sensitive]
    sensitive = list(sensitive)
    if not os.path.isfile(path):
        raise ValueError(f"--data file {os.fspath(path)!r} does not exist")
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own error types for non-Parquet files
        raise ValueError(f"--data file {os.fspath(path)!r} is not a readable Parquet file: {exc}") from exc
    names = pf.schema_arrow.names
    for option, cols in (("--scores", [scores]), ("--sensitive", sensitive)):
        missing = [c for c in cols if c not in names]
        if missing:
            raise ValueError(
                f"{option} names column(s) {missing} not in {os.fspath(path)!r}; columns: {names}"
            )
    if scores in sensitive:
        raise ValueError(f"--scores column {scores!r} is also a --sensitive column")
    total = pf.metadata.num_rows
    want = total if max_rows is None else min(int(max_rows), total)
    batches, got = [], 0
    if want > 0:
        for batch in pf.iter_batches(batch_size=min(1 << 20, want), columns=[scores, *sensitive]):
            batches.append(batch.slice(0, want - got))
            got += batches[-1].num_rows
            if got >= want:
                break
    import pyarrow as pa

    table = pa.Table.from_batches(batches, schema=batches[0].schema) if batches else None
    if table is None or table.num_rows < 2:
        raise ValueError(f"--data file {os.fspath(path)!r} has {total} rows; the benchmark needs at least 2")
    col = table.column(scores)
    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type) or pa.types.is_decimal(col.type)):
        raise ValueError(f"--scores column {scores!r} must be numeric, got type {col.type}")
    z = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    bad = ~np.isfinite(z)
    if bad.any():
        raise ValueError(
            f"--scores column {scores!r} has {int(bad.sum())} missing or non-finite values in its first "
            f"{z.shape[0]} rows (first at row {int(np.flatnonzero(bad)[0])}); the benchmark needs finite scores"
        )
    codes, labels = encode_groups(table.select(sensitive), z.shape[0], argument="--sensitive")
    return z, codes, labels, total
