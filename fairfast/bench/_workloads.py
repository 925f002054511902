"""Workloads of the scale benchmarks: data builders, implementations, agreement checks.

Shared by ``fairfast bench`` and the pytest-benchmark suite in ``benchmarks/``.

Each *kernel* has a data builder (:func:`make_workload` for synthetic data,
:func:`workload_from_arrays` for a user's scores and groups) and a registry of
implementations (:func:`implementations`): ``"fairfast"``, the vectorised numpy
reference ``"numpy"`` written here, the peers ``"scipy"``, ``"pot"`` and ``"equipy"``
where they compute the same thing, and the ``"copyto"`` memory-bandwidth baseline of
the transform-only kernel. Peers are optional: an implementation whose package is not
installed reports ``available() == False``.

An implementation's ``prepare(data)`` does the untimed set-up (fitting for the
transform-only kernel, allocating and touching output buffers) and returns the
zero-argument callable that is timed. :func:`check_agreement` compares a result with a
second implementation (fairfast's result against the numpy reference, every other
result against fairfast's) and raises :class:`DisagreementError` when they differ.

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
>>> sorted(wl.implementations("ks"))
['fairfast', 'numpy', 'scipy']
>>> impl = wl.implementations("ks")["fairfast"]
>>> fn = impl.prepare(data)
>>> info = wl.check_agreement("ks", "fairfast", data, fn())
>>> info["reference"]
'numpy'
"""

import importlib.util
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = [
    "DisagreementError",
    "Implementation",
    "KERNELS",
    "N_CALIB_TRANSFORM",
    "SIZES",
    "check_agreement",
    "implementations",
    "make_workload",
    "numpy_barycenter_fit",
    "numpy_barycenter_transform",
    "numpy_ks",
    "numpy_wasserstein",
    "read_parquet_columns",
    "workload_from_arrays",
]

KERNELS = ("w1", "w2", "ks", "barycenter", "barycenter_transform")
#: Default sizes of the pytest-benchmark suite (rows per sample, or calibration and test rows each).
SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
#: Calibration rows of the model used by the transform-only kernel.
N_CALIB_TRANSFORM = 100_000
#: Rows generated per block (bounds the temporaries of the 1e8-row workload).
_BLOCK = 1 << 22


class DisagreementError(AssertionError):
    """Two implementations of a kernel returned different results."""


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


# -- numpy references -------------------------------------------------------------------


def numpy_wasserstein(u, v, p=1):
    r"""``W_p`` between two unweighted samples by merging their step quantile functions.

    The quantile functions are constant on the intervals between consecutive levels of
    :math:`\{i/n\} \cup \{j/m\}`; on each one the cost is :math:`|Q_u - Q_v|^p` times
    the interval's length.

    Examples
    --------
    >>> from fairfast.bench import numpy_wasserstein
    >>> numpy_wasserstein([0.0, 1.0], [0.5, 1.5])
    0.5
    """
    us, vs = np.sort(u), np.sort(v)
    n, m = us.shape[0], vs.shape[0]
    lu = np.arange(1, n + 1) / n
    lv = np.arange(1, m + 1) / m
    levels = np.union1d(lu, lv)  # equal fractions round to the same float
    widths = np.diff(levels, prepend=0.0)
    iu = np.minimum(np.searchsorted(lu, levels, side="left"), n - 1)
    iv = np.minimum(np.searchsorted(lv, levels, side="left"), m - 1)
    diff = np.abs(us[iu] - vs[iv])
    if p == 1:
        return float(np.dot(diff, widths))
    return float(np.dot(diff**p, widths) ** (1.0 / p))


def numpy_ks(u, v):
    """Two-sample Kolmogorov-Smirnov statistic, evaluated at every sample point.

    Examples
    --------
    >>> from fairfast.bench import numpy_ks
    >>> numpy_ks([0.0, 1.0], [0.5, 1.5])
    0.5
    """
    us, vs = np.sort(u), np.sort(v)
    both = np.concatenate([us, vs])
    fu = np.searchsorted(us, both, side="right") / us.shape[0]
    fv = np.searchsorted(vs, both, side="right") / vs.shape[0]
    return float(np.max(np.abs(fu - fv)))


def numpy_barycenter_fit(z, codes, n_groups):
    """Per-group sorted calibration scores and barycenter tables (the spec's FitFair).

    ``table[k][j] = sum_k' p_k' * zs_k'[clip(ceil(j * n_k' / n_k), 1, n_k') - 1]`` for
    ``j = 0..n_k``, the ceiling computed in integers; ``p_k = n_k / n``.

    Returns
    -------
    sorted_scores : list of K ndarrays
    tables : list of K ndarrays of shape (n_k + 1,)
    """
    counts = np.bincount(codes, minlength=n_groups).astype(np.int64)
    if (counts == 0).any():
        raise ValueError("every group needs at least one calibration row")
    p = counts / counts.sum()
    sorted_scores = [np.sort(z[codes == k]) for k in range(n_groups)]
    tables = []
    for k in range(n_groups):
        nk = counts[k]
        j = np.arange(nk + 1, dtype=np.int64)
        table = np.zeros(nk + 1, dtype=np.float64)
        for k2 in range(n_groups):
            n2 = counts[k2]
            idx = np.clip((j * n2 + nk - 1) // nk, 1, n2) - 1
            table += p[k2] * sorted_scores[k2][idx]
        tables.append(table)
    return sorted_scores, tables


def numpy_barycenter_transform(model, z, codes, out=None):
    """Fair values ``table[s][#{calibration scores of s <= z}]`` of every row.

    The queries of each group are sorted before ``np.searchsorted`` (much faster than
    searching in input order) and the results are put back in input order.
    """
    sorted_scores, tables = model
    if out is None:
        out = np.empty_like(z, dtype=np.float64)
    for k, (zs, table) in enumerate(zip(sorted_scores, tables)):
        rows = np.flatnonzero(codes == k)
        t = z[rows]
        order = np.argsort(t)
        out[rows[order]] = table[np.searchsorted(zs, t[order], side="right")]
    return out


# -- implementations --------------------------------------------------------------------

#: Distribution names of the modules the implementations import, where they differ.
_DISTRIBUTIONS = {"ot": "POT"}


@dataclass(frozen=True)
class Implementation:
    """One implementation of a kernel.

    ``prepare(data)`` performs the untimed set-up and returns the zero-argument callable
    to time; ``requires`` names the modules it imports; ``slow_above`` is the size above
    which a run costs minutes (callers may skip it or time a single round); ``kind`` is
    ``"fairfast"``, ``"reference"`` (the numpy reference), ``"peer"`` (another library)
    or ``"baseline"`` (a lower bound such as a memory copy).
    """

    kernel: str
    name: str
    prepare: Callable[[dict], Callable[[], object]]
    requires: tuple = ()
    slow_above: float = float("inf")
    note: str = field(default="", compare=False)
    kind: str = "peer"

    def available(self):
        """True when every module in ``requires`` can be imported."""
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def versions(self):
        """``{distribution: version}`` of the installed packages in ``requires``."""
        from importlib import metadata

        out = {}
        for module in self.requires:
            dist = _DISTRIBUTIONS.get(module, module)
            try:
                out[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return out


def _ff_distance(kernel):
    def prepare(data):
        from fairfast.transport import ks_distance, wasserstein_distance

        u, v = data["u"], data["v"]
        if kernel == "ks":
            return lambda: ks_distance(u, v)
        p = 1 if kernel == "w1" else 2
        return lambda: wasserstein_distance(u, v, p=p)

    return prepare


def _np_distance(kernel):
    def prepare(data):
        u, v = data["u"], data["v"]
        if kernel == "ks":
            return lambda: numpy_ks(u, v)
        p = 1 if kernel == "w1" else 2
        return lambda: numpy_wasserstein(u, v, p=p)

    return prepare


def _scipy_w1(data):
    from scipy.stats import wasserstein_distance

    u, v = data["u"], data["v"]
    return lambda: float(wasserstein_distance(u, v))


def _scipy_ks(data):
    from scipy.stats import ks_2samp

    u, v = data["u"], data["v"]
    # method="asymp": the cheapest p-value; "auto" would run the exact one below 10^4.
    return lambda: float(ks_2samp(u, v, method="asymp").statistic)


def _pot_distance(p):
    def prepare(data):
        import ot

        u, v = data["u"], data["v"]
        if p == 1:
            return lambda: float(ot.wasserstein_1d(u, v, p=1))
        return lambda: float(ot.wasserstein_1d(u, v, p=p)) ** (1.0 / p)

    return prepare


def _ff_fit_transform(interpolation="step"):
    def prepare(data):
        from fairfast.postprocessing import WassersteinBarycenter

        zc, sc, z, s = data["z_calib"], data["s_calib"], data["z"], data["s"]

        def fit_transform():
            model = WassersteinBarycenter(interpolation=interpolation, random_state=0)
            return model.fit(zc, sensitive_features=sc).transform(z, sensitive_features=s)

        return fit_transform

    return prepare


def _np_fit_transform(data):
    zc, sc, z, s, k = data["z_calib"], data["s_calib"], data["z"], data["s"], data["n_groups"]
    return lambda: numpy_barycenter_transform(numpy_barycenter_fit(zc, sc, k), z, s)


def _equipy_fit_transform(data):
    from equipy.fairness import FairWasserstein

    zc, sc, z, s = data["z_calib"], data["s_calib"], data["z"], data["s"]

    def fit_transform():
        model = FairWasserstein(sigma=0.0, seed=0)
        model.fit(zc, sc)
        return model.transform(z, s)

    return fit_transform


def _touched_like(z):
    out = np.empty_like(z)
    out.fill(0.0)  # fault the pages in now, not inside the timed call
    return out


def _ff_transform(data):
    from fairfast.postprocessing import WassersteinBarycenter

    model = WassersteinBarycenter(random_state=0).fit(data["z_calib"], sensitive_features=data["s_calib"])
    z, s, out = data["z"], data["s"], _touched_like(data["z"])
    return lambda: model.transform(z, sensitive_features=s, out=out)


def _np_transform(data):
    model = numpy_barycenter_fit(data["z_calib"], data["s_calib"], data["n_groups"])
    z, s, out = data["z"], data["s"], _touched_like(data["z"])
    return lambda: numpy_barycenter_transform(model, z, s, out=out)


def _copyto(data):
    z, out = data["z"], _touched_like(data["z"])

    def copy():
        np.copyto(out, z)
        return out

    return copy


def _registry():
    reg = {k: {} for k in KERNELS}

    def add(kernel, name, prepare, requires=(), slow_above=float("inf"), note="", kind="peer"):
        reg[kernel][name] = Implementation(kernel, name, prepare, tuple(requires), slow_above, note, kind)

    for kernel in ("w1", "w2", "ks"):
        add(kernel, "fairfast", _ff_distance(kernel), ["fairfast"], kind="fairfast")
        add(kernel, "numpy", _np_distance(kernel), kind="reference", note="sort + np.searchsorted reference")
    add("w1", "scipy", _scipy_w1, ["scipy"], note="scipy.stats.wasserstein_distance")
    add("ks", "scipy", _scipy_ks, ["scipy"], note="scipy.stats.ks_2samp(method='asymp')")
    add("w1", "pot", _pot_distance(1), ["ot"], note="ot.wasserstein_1d(p=1)")
    add("w2", "pot", _pot_distance(2), ["ot"], note="ot.wasserstein_1d(p=2) ** 0.5")
    add("barycenter", "fairfast", _ff_fit_transform(), ["fairfast"], kind="fairfast")
    add("barycenter", "numpy", _np_fit_transform, kind="reference", note="sorted queries + np.searchsorted")
    add(
        "barycenter", "equipy", _equipy_fit_transform, ["equipy"], slow_above=1e6,
        note="equipy.fairness.FairWasserstein(sigma=0)",
    )
    add("barycenter_transform", "fairfast", _ff_transform, ["fairfast"], kind="fairfast")
    add("barycenter_transform", "numpy", _np_transform, slow_above=1e7, kind="reference",
        note="sorted queries + np.searchsorted")
    add("barycenter_transform", "copyto", _copyto, kind="baseline", note="np.copyto into a preallocated array")
    return reg


_REGISTRY = _registry()


def implementations(kernel):
    """``{name: Implementation}`` of `kernel`, installed or not (see ``available()``).

    Examples
    --------
    >>> from fairfast.bench import implementations
    >>> list(implementations("barycenter_transform"))
    ['fairfast', 'numpy', 'copyto']
    """
    _check_kernel(kernel)
    return dict(_REGISTRY[kernel])


# -- agreement --------------------------------------------------------------------------

_RTOL, _ATOL = 1e-9, 1e-12


def _sample_rows(n, size, seed=12345):
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _untied(data, rows):
    """Which of `rows` have a score that occurs at most once among its group's calibration scores.

    fairfast breaks ties between equal calibration scores with random keys (see
    ``WassersteinBarycenter``); references without those keys agree with it on the
    other rows only.
    """
    zc, sc, z, s = data["z_calib"], data["s_calib"], data["z"][rows], data["s"][rows]
    keep = np.ones(rows.shape[0], dtype=bool)
    for k in range(data["n_groups"]):
        zs = np.sort(zc[sc == k])
        if zs.shape[0] < 2 or not (zs[1:] == zs[:-1]).any():
            continue
        mine = np.flatnonzero(s == k)
        t = z[mine]
        mult = np.searchsorted(zs, t, side="right") - np.searchsorted(zs, t, side="left")
        keep[mine[mult >= 2]] = False
    return keep


def _compare_scalar(kernel, impl, ref_name, got, expected):
    if not np.isclose(got, expected, rtol=_RTOL, atol=_ATOL):
        raise DisagreementError(f"{kernel}: {impl} gives {got!r} but {ref_name} gives {expected!r}")
    return {"reference": ref_name, "abs_diff": float(abs(got - expected))}


def _compare_rows(kernel, impl, ref_name, got, expected, rows, skipped=0):
    got = np.asarray(got)[rows]
    info = {"reference": ref_name, "rows_checked": int(rows.size)}
    if skipped:
        info["tied_rows_skipped"] = int(skipped)
    if rows.size == 0:
        info["max_abs_diff"] = None
        return info
    diff = np.abs(got - expected)
    bad = ~np.isclose(got, expected, rtol=_RTOL, atol=_ATOL)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DisagreementError(
            f"{kernel}: {impl} and {ref_name} differ on {int(bad.sum())} of {rows.size} checked rows; "
            f"first at row {int(rows[i])}: {got[i]!r} vs {expected[i]!r}"
        )
    info["max_abs_diff"] = float(diff.max())
    return info


def check_agreement(kernel, impl, data, result, *, sample_rows=100_000):
    """Check `result` of implementation `impl` against a second implementation.

    fairfast is checked against the numpy reference, every other implementation against
    fairfast (EquiPy against ``interpolation="linear"``). Array outputs are compared on
    `sample_rows` randomly chosen rows (all rows when there are fewer); the reference
    computes only those rows where it can. Rows whose score is tied with another
    calibration score of its group are left out (fairfast breaks such ties with random
    keys, the references do not); synthetic data has no ties.

    Returns
    -------
    dict
        ``reference`` and the largest absolute difference seen (``rows_checked`` and
        ``tied_rows_skipped`` for array outputs).

    Raises
    ------
    DisagreementError
    """
    _check_kernel(kernel)
    if kernel in ("w1", "w2", "ks"):
        u, v = data["u"], data["v"]
        if impl == "fairfast":
            expected = numpy_ks(u, v) if kernel == "ks" else numpy_wasserstein(u, v, 1 if kernel == "w1" else 2)
            return _compare_scalar(kernel, impl, "numpy", result, expected)
        expected = _ff_distance(kernel)(data)()
        return _compare_scalar(kernel, impl, "fairfast", result, expected)
    z, s = data["z"], data["s"]
    rows = _sample_rows(z.shape[0], sample_rows)
    if impl == "copyto":
        return _compare_rows(kernel, impl, "input", result, z[rows], rows)
    keep = _untied(data, rows)
    skipped = int((~keep).sum())
    rows = rows[keep]
    if impl == "fairfast":
        model = numpy_barycenter_fit(data["z_calib"], data["s_calib"], data["n_groups"])
        expected = numpy_barycenter_transform(model, z[rows], s[rows])
        return _compare_rows(kernel, impl, "numpy", result, expected, rows, skipped)
    from fairfast.postprocessing import WassersteinBarycenter

    interpolation = "linear" if impl == "equipy" else "step"
    model = WassersteinBarycenter(interpolation=interpolation, random_state=0)
    model.fit(data["z_calib"], sensitive_features=data["s_calib"])
    expected = model.transform(z[rows], sensitive_features=s[rows], row_offset=0) if rows.size else z[:0]
    name = "fairfast" if interpolation == "step" else "fairfast(interpolation='linear')"
    return _compare_rows(kernel, impl, name, result, expected, rows, skipped)
