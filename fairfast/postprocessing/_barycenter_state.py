"""Model-file state of :class:`WassersteinBarycenter`: write, read and check it fully.

``meta`` holds the constructor parameters, the seed, task and attribute counts, the
grouping (sensitive column names and categories) and per stage its columns, group index
and labels; ``arrays`` the fitted arrays of every stage (``stage{s}.<name>``) and its
group keys. Files written before groupings were saved (no ``grouping`` entry) load with
unnamed columns, matched by position as they were then.
"""

import numbers

import numpy as np

from .._base.grouping import OTHER, Grouping
from .._base.state import labels_to_json
from ._stage import STAGE_ARRAYS, rebuild_index

__all__ = ["from_state", "get_state", "merged_labels"]


def merged_labels(grouping, index):
    """Labels of the groups pooled into the "<other>" group of `index` (empty if none)."""
    from .._base.group_index import GroupIndex

    if index.other is None:
        return []
    other = index.other
    split = GroupIndex._split(index.keys, index.sizes)
    return [grouping._label_of(index.columns, codes) for codes, g in zip(split, index.assign.tolist()) if g == other]


def get_state(est):
    """``(meta, arrays)`` of a fitted estimator (see the module docstring)."""
    params = est.get_params()
    if params["group_weights"] is not None:
        params["group_weights"] = None  # resolved into the stage weights
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None  # a generator; seed holds what was drawn
    if not isinstance(params["epsilon"], numbers.Real):
        params["epsilon"] = np.asarray(params["epsilon"], dtype=float).tolist()
    grouping_meta, _ = _grouping_meta(est.grouping_)
    stages, arrays = [], {}
    for s, stage in enumerate(est.stages_):
        groups, multi = labels_to_json(stage["groups"])
        merged, _ = labels_to_json(stage["merged"])
        stages.append({
            "columns": list(stage["columns"]),
            "n_strata_columns": int(stage["n_strata_columns"]),
            "groups": groups,
            "groups_are_tuples": multi and not (len(groups) == 1 and groups[0] == OTHER),
            "merged": merged,
            "index": stage["index"].to_json(),
        })
        for name in STAGE_ARRAYS:
            arrays[f"stage{s}.{name}"] = stage["state"][name]
        arrays.update(stage["index"].arrays(f"stage{s}.group_"))
    meta = {
        "params": params,
        "seed": int(est.seed_),
        "n_tasks": int(est.n_tasks_),
        "scores_ndim": int(est._scores_ndim),
        "n_attributes": int(est.n_attributes_),
        "grouping": grouping_meta,
        "stages": stages,
    }
    return meta, arrays


def _grouping_meta(grouping):
    return {"names": grouping.names, "columns": [c.to_json() for c in grouping.categories]}, {}


def _stage_groups(sm, s):
    tuples = sm["groups_are_tuples"]
    if not isinstance(tuples, bool) or not isinstance(sm["groups"], list) or not isinstance(sm["merged"], list):
        raise ValueError(f"model state is inconsistent: stage {s} groups must be lists with a boolean tuple flag")
    groups = [tuple(g) if tuples and g != OTHER else g for g in sm["groups"]]
    merged = [tuple(g) if isinstance(g, list) else g for g in sm["merged"]]
    return groups, merged


def from_state(cls, meta, arrays):
    """Rebuild and check a fitted estimator (ValueError "model state is ...")."""
    from .._base.state import estimator_from_params, integer

    try:
        est = estimator_from_params(cls, meta["params"], tuples=False)
        est._check_params()
        est.seed_ = integer(meta["seed"], "seed", 0, 2**64)
        est.n_tasks_ = integer(meta["n_tasks"], "n_tasks", 1, 2**31)
        est._scores_ndim = integer(meta["scores_ndim"], "scores_ndim", 1, 3)
        est.n_attributes_ = integer(meta["n_attributes"], "n_attributes", 1, 1025)
        est.n_features_in_ = est.n_tasks_
        plan = cls._plan(est.n_attributes_, est.strategy)
        raw = meta["stages"]
        if not isinstance(raw, list) or len(raw) != len(plan):
            raise ValueError("model state is inconsistent: wrong number of stages for its strategy")
        for sm, (columns, n_strata) in zip(raw, plan):
            if sm["columns"] != columns or sm["n_strata_columns"] != n_strata:
                raise ValueError(f"model state is inconsistent: stage columns {sm['columns']!r} do not follow the "
                                 f"{est.strategy!r} strategy over {est.n_attributes_} attribute(s)")
        labelled = [(sm["columns"],) + _stage_groups(sm, s) for s, sm in enumerate(raw)]
        if "grouping" in meta:
            grouping = Grouping.from_state(meta["grouping"], arrays, argument="sensitive_features")
            if grouping.n_columns != est.n_attributes_:
                raise ValueError("model state is inconsistent: the grouping's columns are not the attributes")
            indexes = []
            for s, (sm, (columns, groups, merged)) in enumerate(zip(raw, labelled)):
                other = OTHER if merged else None
                index = grouping.index_from_state(sm["index"], arrays, f"stage{s}.group_", other)
                if index.columns != columns or index.labels != groups or merged_labels(grouping, index) != merged:
                    raise ValueError(f"model state is inconsistent: stage {s} groups do not match its group index")
                indexes.append(index)
        else:  # written before the grouping was saved
            grouping, indexes = Grouping.from_labels(est.n_attributes_, labelled)
        stages = []
        for s, (sm, index, (columns, groups, merged)) in enumerate(zip(raw, indexes, labelled)):
            state = {}
            for name in STAGE_ARRAYS:
                if f"stage{s}.{name}" not in arrays:
                    raise ValueError(f"model state is inconsistent: array stage{s}.{name} is missing")
                state[name] = np.ascontiguousarray(arrays[f"stage{s}.{name}"])
            _check_stage(state, index.n_groups, est.n_tasks_)
            state["index"] = rebuild_index(state)
            stages.append({"columns": columns, "n_strata_columns": sm["n_strata_columns"], "groups": groups,
                           "index": index, "merged": merged, "state": state})
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None
    est.grouping_ = grouping
    est.stages_ = stages
    est._expose(stages[0] if len(stages) == 1 else None)
    return est


def _check_stage(state, k, n_tasks):
    off = state["offsets"]
    if off.dtype != np.int64 or off.shape != (k + 1,) or off[0] != 0 or (np.diff(off) <= 0).any():
        raise ValueError("model state is inconsistent: offsets do not describe the groups")
    n = int(off[-1])
    checks = {
        "counts": (np.int64, (k,)),
        "weights": (np.float64, (k,)),
        "keys": (np.uint64, (n_tasks, n)),
        "table": (np.float64, (n_tasks, n + k)),
    }
    for name, (dtype, shape) in checks.items():
        if state[name].dtype != dtype or state[name].shape != shape:
            raise ValueError(f"model state is inconsistent: {name} should be {np.dtype(dtype)} of shape {shape}")
    values = state["values"]
    if values.dtype not in (np.float32, np.float64) or values.shape != (n_tasks, n):
        raise ValueError("model state is inconsistent: values")
    blocks = state["blocks"]
    if blocks.dtype != np.int64 or blocks.ndim != 1 or blocks[0] != 0 or blocks[-1] != k or (np.diff(blocks) <= 0).any():
        raise ValueError("model state is inconsistent: blocks")
    if not np.isfinite(values).all() or not np.isfinite(state["table"]).all():
        raise ValueError("model state is inconsistent: non-finite values")
    if not np.array_equal(np.diff(off), state["counts"]):
        raise ValueError("model state is inconsistent: counts do not match offsets")
    for t in range(n_tasks):  # each group's values must be sorted for the searches
        v = values[t]
        d = np.diff(v)
        inside = np.ones(n - 1, dtype=bool) if n > 1 else np.zeros(0, dtype=bool)
        inside[off[1:-1] - 1] = False
        if (d[inside] < 0).any():
            raise ValueError("model state is inconsistent: values are not sorted within groups")


