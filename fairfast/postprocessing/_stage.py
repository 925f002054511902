"""One barycenter pass over a set of groups, for every task column.

A stage is fitted on calibration scores Z of shape (n, T) and int32 group codes. Its
groups may be split into blocks (strata): the barycenter of a group is then taken over
the groups of its own block only, which is how the "conditional" strategy applies one
attribute inside each stratum of the others. Tasks share the groups and the tie keys,
so a T-column stage equals T single-column stages.
"""

import numpy as np

from .. import _core
from .._base.grouping import count_codes
from .._base.sorting import argsort_segments, sort_segments
from .._base.validation import not_finite_message

__all__ = ["DERIVED_KEYS", "STAGE_ARRAYS", "fit_stage", "rebuild_index", "stage_lookups", "transform_stage"]

MODES = {"step": 0, "linear": 1}

# Arrays that define a fitted stage (everything else is derived from them).
STAGE_ARRAYS = ("offsets", "counts", "weights", "blocks", "values", "keys", "table")
# Derived entries of a stage's state, rebuilt when needed (never saved or pickled): the
# bucket index (rebuild_index) and the lookup lines (stage_lookups).
DERIVED_KEYS = ("index", "lookup")

# Calibration sizes for which the transform gets one-cache-line lookups (about 64 bytes
# per calibration row, see csrc/fairfast/rank_lookup.hpp). They replace a row's three
# dependent table reads by one: measured 0.6-0.8x the time of the pipelined path from
# 1e4 to 1e6 calibration rows. Below the smallest the tables sit in L1/L2 anyway; above
# the largest the lookup would cost several times the model's own memory.
LOOKUP_ROWS = (4096, 1 << 20)
# Building a lookup costs about as much as transforming 3-7 rows per calibration row
# saves, so it is built once the stage has transformed this many rows per calibration
# row (counting every call): a one-off fit_transform never pays for it.
LOOKUP_AFTER = 4


def _block_bounds(labels, n_strata_columns):
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


def fit_stage(Z, codes, labels, *, n_strata_columns, sample_weight, seed, jitter, interpolation, group_weights=None,
              counts=None):
    """Fit one stage; returns its arrays (see STAGE_ARRAYS) plus the derived index.

    Z : (n, T) float32/float64; codes : (n,) int32 with every group present; counts :
    the rows per group if already known.
    """
    n, n_tasks = Z.shape
    k = len(labels)
    counts = count_codes(codes, k) if counts is None else counts
    counts = np.asarray(counts, dtype=np.int64)
    w = sample_weight
    mass = counts.astype(np.float64) if w is None else np.bincount(codes, weights=w, minlength=k)
    blocks = _block_bounds(labels, n_strata_columns)
    weights = _block_weights(mass, blocks, group_weights)
    values, keys, tables, index = [], [], [], []
    offsets = None
    for t in range(n_tasks):
        z = np.ascontiguousarray(Z[:, t])
        v, rows, offsets = _core.barycenter.partition(z, codes, k, seed, 0, float(jitter), w is not None)
        cumw = None
        if w is None:
            sort_segments(v, offsets)
        else:
            order = argsort_segments(v, offsets)
            v, rows = v[order], rows[order]
        start, lo, scale = _core.barycenter.index(v, offsets)
        kt = np.zeros(n, dtype=np.uint64)  # calloc'd: only tied positions get written
        _core.barycenter.tie_keys(v, offsets, start, lo, scale, z, codes, seed, 0, float(jitter), rows, kt)
        if w is not None:  # rows were reordered inside runs of ties, by tie key
            cumw = np.empty(n, dtype=np.float64)
            sorted_w = w[rows]
            for g in range(k):
                np.cumsum(sorted_w[offsets[g] : offsets[g + 1]], out=cumw[offsets[g] : offsets[g + 1]])

        def block_table(a, b):
            lo_row, hi_row = offsets[a], offsets[b]
            return _core.barycenter.tables(
                np.ascontiguousarray(v[lo_row:hi_row]),
                None if cumw is None else np.ascontiguousarray(cumw[lo_row:hi_row]),
                np.ascontiguousarray(offsets[a : b + 1] - lo_row),
                np.ascontiguousarray(weights[a:b]),
                MODES[interpolation],
            )

        if blocks.size == 2:
            tab = block_table(0, k)
        else:
            tab = np.empty(n + k, dtype=np.float64)
            for a, b in zip(blocks[:-1], blocks[1:]):
                tab[offsets[a] + a : offsets[b] + b] = block_table(a, b)
        values.append(v)
        keys.append(kt)
        tables.append(tab)
        index.append((start, lo, scale))

    def stacked(arrays):  # one task: a view, no copy
        return arrays[0][None, :] if len(arrays) == 1 else np.stack(arrays)

    return {
        "offsets": offsets,
        "counts": counts,
        "weights": weights,
        "blocks": blocks,
        "values": stacked(values),
        "keys": stacked(keys),
        "table": stacked(tables),
        "index": index,
    }


def rebuild_index(state):
    """The bucket index of every task (derived data, rebuilt after loading)."""
    return [_core.barycenter.index(state["values"][t], state["offsets"]) for t in range(state["values"].shape[0])]


def stage_lookups(state, n_rows):
    """Per task, the transform's lookup lines or None; counts `n_rows` towards building them.

    Derived data kept under ``state["lookup"]`` (not saved or pickled). Concurrent
    callers may both build it; either result is complete and equal.
    """
    n_tasks, n_fit = state["values"].shape
    lazy = state.get("lookup")
    if lazy is None:
        lazy = state["lookup"] = {"rows": 0, "tables": None}
    if lazy["tables"] is None and LOOKUP_ROWS[0] < n_fit <= LOOKUP_ROWS[1]:
        lazy["rows"] += int(n_rows)
        if lazy["rows"] >= LOOKUP_AFTER * n_fit:
            lazy["tables"] = [
                _core.barycenter.lookup(state["values"][t], state["offsets"], state["table"][t]) for t in range(n_tasks)
            ]
    return lazy["tables"] or [None] * n_tasks


def transform_stage(state, Z, codes, epsilon, *, jitter, seed, row_offset, out):
    """Write the stage's output for Z (n, T) into out (n, T); epsilon has one entry per task."""
    n_tasks = Z.shape[1]
    lookups = stage_lookups(state, Z.shape[0])
    for t in range(n_tasks):
        start, lo, scale = state["index"][t]
        if n_tasks == 1:  # write straight into out
            z, target = Z.reshape(-1), out.reshape(-1)
        else:
            z, target = np.ascontiguousarray(Z[:, t]), None
        try:
            res = _core.barycenter.transform(
                state["values"][t], state["keys"][t], state["offsets"], start, lo, scale, state["table"][t],
                z, codes, float(epsilon[t]), float(jitter), seed, row_offset, target, lookup=lookups[t],
            )
        except ValueError as exc:
            if "finite" not in str(exc):
                raise
            bad = int(np.flatnonzero(~np.isfinite(z))[0])
            raise ValueError(not_finite_message("scores", z[bad].item(), bad)) from None
        if n_tasks > 1:
            out[:, t] = res
