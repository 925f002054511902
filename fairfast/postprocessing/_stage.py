"""One barycenter pass over a set of groups, for every task column.

A stage is fitted on calibration scores Z of shape (n, T) and int32 group codes. Its
groups may be split into blocks (strata): the barycenter of a group is then taken over
the groups of its own block only, which is how the "conditional" strategy applies one
attribute inside each stratum of the others. Tasks share the groups and the tie keys,
so a T-column stage equals T single-column stages.

The fitted arrays live in one compiled object per stage
(``fairfast._core.barycenter.BarycenterStage64`` or ``...32``): validated once, when
fitted or loaded, it owns the derived data (per-group bucket indexes, the rank lookup
built once the stage has transformed four times its calibration rows) and a transform
call checks only its own rows, so its overhead does not grow with the calibration size.
"""

import numpy as np

from .. import _core
from .._base.grouping import count_codes
from .._base.sorting import argsort_segments, sort_segments
from .._base.validation import not_finite_message

__all__ = ["OTHER", "STAGE_ARRAYS", "BarycenterStage", "fit_stage", "stage_seed"]

MODES = {"step": 0, "linear": 1}
OTHER = "<other>"  # the label of pooled small groups
_GOLDEN = 0x9E3779B97F4A7C15

# Arrays that define a fitted stage in a model file (everything else is derived).
STAGE_ARRAYS = ("offsets", "counts", "weights", "blocks", "values", "keys", "table")

# interpolation="linear" evaluates every group's quantile function at each of the n + K
# ranks of a block of K groups: (n + K) K steps of about 1.5 ns. Beyond this many steps
# (about 10 s on one core) the fit is refused before it starts. The "step" tables of 128
# groups or more come from a sweep in O(n log n) instead (csrc/fairfast/barycenter_sweep.hpp).
LINEAR_WORK_LIMIT = 4 * 10**9

_CORE = {np.dtype(np.float64): _core.barycenter.BarycenterStage64, np.dtype(np.float32): _core.barycenter.BarycenterStage32}


def stage_seed(seed, stage):
    """Seed of stage `stage`'s tie keys (and jitter) for a model seeded with `seed`.

    Stage 0 uses the model's seed itself; later stages get their own tie keys, since a
    previous stage's outputs are full of ties.
    """
    return (int(seed) + stage * _GOLDEN) % (1 << 64)


def block_bounds(labels, n_strata_columns):
    """Group-index boundaries of runs of labels sharing their first n_strata_columns entries."""
    k = len(labels)
    if n_strata_columns == 0:
        return np.array([0, k], dtype=np.int64)
    bounds = [0]
    for g in range(1, k):
        if labels[g][:n_strata_columns] != labels[g - 1][:n_strata_columns]:
            bounds.append(g)
    bounds.append(k)
    return np.asarray(bounds, dtype=np.int64)


def _block_weights(mass, blocks, user_weights):
    p = np.asarray(mass if user_weights is None else user_weights, dtype=np.float64).copy()
    for a, b in zip(blocks[:-1], blocks[1:]):
        p[a:b] /= p[a:b].sum()
    return p


def _readonly(a):
    a.flags.writeable = False
    return a


class BarycenterStage:
    """One fitted pass: which sensitive columns define its groups, and its compiled tables.

    Attributes
    ----------
    columns : list of int
        Sensitive columns used (strata first).
    n_strata_columns : int
        Leading columns of ``columns`` that only split the groups into blocks.
    groups : list
        Group labels (tuples for several columns), in code order.
    merged : list
        Labels pooled into ``"<other>"``.
    counts : ndarray of int64, shape (n_groups,)
        Calibration rows per group (read-only).
    weights : ndarray of float64, shape (n_groups,)
        Barycentric weights, normalised within each block (read-only).
    blocks : ndarray of int64
        Group-index boundaries of the blocks (read-only).
    core : fairfast._core.barycenter.BarycenterStage64 or BarycenterStage32
        The validated arrays (``values``, ``keys``, ``table``: one row per task;
        ``offsets``), bucket indexes and lookups.
    """

    def __init__(self, *, columns, n_strata_columns, groups, merged, counts, weights, blocks, core):
        self.columns = list(columns)
        self.n_strata_columns = int(n_strata_columns)
        self.groups = list(groups)
        self.merged = list(merged)
        self.counts = _readonly(counts)
        self.weights = _readonly(weights)
        self.blocks = _readonly(blocks)
        self.core = core

    def __repr__(self):
        return (f"BarycenterStage(columns={self.columns}, n_groups={len(self.groups)}, "
                f"n_rows={self.core.n_rows}, n_tasks={self.core.n_tasks}, dtype={self.core.dtype})")

    @property
    def dtype(self):
        return self.core.dtype

    def arrays(self):
        """The stage's arrays by name (:data:`STAGE_ARRAYS`), as model files store them."""
        core = self.core
        return {"offsets": core.offsets, "counts": self.counts, "weights": self.weights, "blocks": self.blocks,
                "values": core.values, "keys": core.keys, "table": core.table}

    @classmethod
    def from_arrays(cls, arrays, *, columns, n_strata_columns, groups, merged, n_tasks, seed, jitter):
        """A stage from a model file's arrays; anything inconsistent raises ValueError.

        The compiled object checks the offsets, the sorted and finite values, the tie
        keys' order within runs of equal values and the monotone tables in one pass;
        here the small arrays are checked against them and the labels.
        """
        k = len(groups)
        offsets = np.ascontiguousarray(arrays["offsets"])
        values = np.ascontiguousarray(arrays["values"])
        checks = {
            "offsets": (np.int64, (k + 1,)),
            "counts": (np.int64, (k,)),
            "weights": (np.float64, (k,)),
            "keys": (np.uint64, (n_tasks, values.shape[-1])),
            "table": (np.float64, (n_tasks, values.shape[-1] + k)),
        }
        for name, (dtype, shape) in checks.items():
            a = arrays[name]
            if a.dtype != dtype or a.shape != shape:
                raise ValueError(f"model state is inconsistent: {name} should be {np.dtype(dtype)} of shape {shape}, "
                                 f"got {a.dtype} of shape {a.shape}")
        if values.dtype not in _CORE or values.shape != (n_tasks, values.shape[-1]):
            raise ValueError(f"model state is inconsistent: values should be float32 or float64 of shape "
                             f"({n_tasks}, n), got {values.dtype} of shape {values.shape}")
        try:
            core = _CORE[values.dtype](values, np.ascontiguousarray(arrays["keys"]), offsets,
                                       np.ascontiguousarray(arrays["table"]), seed, float(jitter))
        except ValueError as exc:
            raise ValueError(f"model state is inconsistent: {exc}") from None
        counts = np.ascontiguousarray(arrays["counts"])
        if not np.array_equal(np.diff(core.offsets), counts):
            raise ValueError("model state is inconsistent: counts do not match offsets")
        blocks = np.ascontiguousarray(arrays["blocks"])
        if blocks.dtype != np.int64 or not np.array_equal(blocks, block_bounds(groups, n_strata_columns)):
            raise ValueError("model state is inconsistent: blocks do not match the groups' strata")
        weights = np.ascontiguousarray(arrays["weights"])
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError("model state is inconsistent: weights must be finite and non-negative")
        for a, b in zip(blocks[:-1], blocks[1:]):
            if not abs(weights[a:b].sum() - 1.0) <= 1e-9:
                raise ValueError("model state is inconsistent: weights do not sum to 1 within each block")
        return cls(columns=columns, n_strata_columns=n_strata_columns, groups=groups, merged=merged,
                   counts=counts.copy(), weights=weights.copy(), blocks=blocks.copy(), core=core)

    def transform(self, Z, codes, epsilon, *, row_offset, out):
        """Write the stage's output for Z (n, T) into out (n, T); epsilon has one entry per task."""
        n_tasks = Z.shape[1]
        for t in range(n_tasks):
            if n_tasks == 1:  # write straight into out
                z, target = Z.reshape(-1), out.reshape(-1)
            else:
                z, target = np.ascontiguousarray(Z[:, t]), None
            res, status, row = self.core.transform(z, codes, float(epsilon[t]), row_offset, target, t)
            if row >= 0:
                _raise_row(status, row, z, codes, len(self.groups))
            if n_tasks > 1:
                out[:, t] = res


def _raise_row(status, row, z, codes, n_groups):
    """The error of the first invalid row the kernel reported (position within this call)."""
    if status == _core.Status.bad_value:
        raise ValueError(not_finite_message("scores", z[row].item(), row))
    raise ValueError(f"sensitive_features maps row {row} to group code {int(codes[row])}, "
                     f"outside the model's {n_groups} groups")


def _check_linear_work(counts, blocks, n_tasks):
    csum = np.concatenate([[0], np.cumsum(counts)])
    kb = np.diff(blocks).astype(np.float64)
    nb = (csum[blocks[1:]] - csum[blocks[:-1]]).astype(np.float64)
    work = float(((nb + kb) * kb).sum()) * n_tasks
    if work > LINEAR_WORK_LIMIT:
        largest = int(kb.max())
        raise ValueError(
            f"interpolation='linear' with {largest} groups in a pass evaluates every group's quantile function "
            f"at every calibration rank: about {work:.2g} steps, over the limit of {LINEAR_WORK_LIMIT:.0e} "
            f"(about 10 s). Use interpolation='step' (tables by one sweep in O(n log n) for many groups), "
            f"or fewer groups (merge_small_groups=True pools the small ones)."
        )


def fit_stage(Z, codes, labels, *, columns, n_strata_columns, merged, sample_weight, seed, jitter, interpolation,
              group_weights=None, counts=None):
    """Fit one stage (a :class:`BarycenterStage`).

    Z : (n, T) float32/float64; codes : (n,) int32 with every group present; counts :
    the rows per group if already known.
    """
    n, n_tasks = Z.shape
    k = len(labels)
    counts = count_codes(codes, k) if counts is None else counts
    counts = np.asarray(counts, dtype=np.int64)
    blocks = block_bounds(labels, n_strata_columns)
    if interpolation == "linear":
        _check_linear_work(counts, blocks, n_tasks)
    w = sample_weight
    mass = counts.astype(np.float64) if w is None else np.bincount(codes, weights=w, minlength=k)
    weights = _block_weights(mass, blocks, group_weights)
    values = np.empty((n_tasks, n), dtype=Z.dtype)
    columns_z, rows_t = [], []
    offsets = None
    for t in range(n_tasks):
        z = np.ascontiguousarray(Z[:, t])
        _, rows, offsets = _core.barycenter.partition(z, codes, k, seed, 0, float(jitter), w is not None,
                                                      out=values[t])
        if w is None:
            sort_segments(values[t], offsets)
        else:
            order = argsort_segments(values[t], offsets)
            values[t] = values[t][order]
            rows_t.append(np.ascontiguousarray(rows[order]))
        columns_z.append(z)
    core = _CORE[values.dtype].fit(values, offsets, columns_z, codes, rows_t if w is not None else None,
                                   None if w is None else np.ascontiguousarray(w, dtype=np.float64), weights, blocks,
                                   MODES[interpolation], seed, float(jitter))
    return BarycenterStage(columns=columns, n_strata_columns=n_strata_columns, groups=labels, merged=merged,
                           counts=counts, weights=weights, blocks=blocks, core=core)
