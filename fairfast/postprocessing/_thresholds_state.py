"""Model files of :class:`GroupThresholds`: the fitted rule as JSON metadata and arrays.

Two layouts are read. Layout 1 (releases before the constraint algebra, no ``layout``
key): parameters without ``mode``/``tolerance_on``/..., five operating-point columns;
its equalized-odds rules are mixtures, so they load with ``mode="mixing"``. Layout 2
adds the summary (constraint report, solver, gap, cherry-picking, held-out estimate)
and seven operating-point columns; ``classes`` (the two labels) and
``feature_names_in`` were added to it later (absent: 0/1 labels, unnamed scores). Every reader raises ``ValueError`` starting with
"model state is inconsistent" (or "incomplete or malformed").
"""

import numbers

import numpy as np

from .._base import state as st
from .._base.frames import feature_names_from_state, feature_names_state
from .._base.grouping import grouping_from_state, grouping_state
from ._thresholds_metrics import CANONICAL
from ._thresholds_sklearn import classes_from_json, classes_to_json
from ._thresholds_summary import CURVE_KEYS, POINT_KEYS

__all__ = ["get_state", "from_state", "constraint_name"]

LAYOUT = 2
_OLD_POINT_KEYS = ("selection_rate", "true_positive_rate", "false_positive_rate", "positive_predictive_value",
                   "utility")


def constraint_name(constraint):
    """``constraint_``: the canonical name of a named constraint, "custom" for a list."""
    if isinstance(constraint, str):
        return CANONICAL.get(constraint, constraint)
    return "custom"


def _json_constraint(constraint):
    if isinstance(constraint, str):
        return constraint
    if isinstance(constraint, tuple) and len(constraint) == 3 and isinstance(constraint[1], str):
        constraint = [constraint]
    return [[m, f, float(v)] for m, f, v in constraint]


def _params(est):
    params = est.get_params()
    params.pop("estimator")
    if params["cost_matrix"] is not None:
        params["cost_matrix"] = np.asarray(params["cost_matrix"], dtype=float).tolist()
    if not isinstance(params["random_state"], (numbers.Integral, type(None))):
        params["random_state"] = None  # a generator: seed holds what was drawn
    elif params["random_state"] is not None:
        params["random_state"] = int(params["random_state"])
    params["tolerance"] = float(params["tolerance"])
    params["constraint"] = _json_constraint(params["constraint"])
    return params


def _plain(v):
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def get_state(est):
    """``(meta, arrays)`` of a fitted :class:`GroupThresholds` (layout 2)."""
    if est.estimator is not None:
        raise ValueError("only a GroupThresholds fitted on scores (estimator=None) can be written to a model "
                         "file: model files never hold a scikit-learn estimator; fit it on the estimator's "
                         "scores instead")
    multi = bool(est.groups_) and isinstance(est.groups_[0], tuple)
    meta = {
        "layout": LAYOUT,
        "params": _params(est),
        "seed": int(est.seed_),
        "groups": [list(g) if isinstance(g, tuple) else g for g in est.groups_],
        "groups_are_tuples": multi,
        "constraint": est.constraint_,
        "tolerance": float(est.tolerance_),
        "utility": _plain(float(est.utility_)),
        "violation": _plain(float(est.violation_)),
        "solver": est.solver_,
        "optimality_gap": _plain(float(est.optimality_gap_)),
        "constraints": [{k: _plain(v) for k, v in row.items()} for row in est.constraints_.to_dict("records")],
        "cherry_picking": {k: _plain(v) for k, v in est.cherry_picking_.items()},
        "holdout": None if est.holdout_ is None else {k: _plain(v) for k, v in est.holdout_.items()},
        "classes": classes_to_json(est.classes_),
        "feature_names_in": feature_names_state(est),
    }
    op = est.operating_points_
    arrays = {
        "thresholds": est.thresholds_,
        "tie_fractions": est.tie_fractions_,
        "mixture_weights": est.mixture_weights_,
        "n_components": est.n_components_,
        "operating_points": np.ascontiguousarray(op[list(POINT_KEYS)].to_numpy(dtype=np.float64)),
    }
    sizes = [est.curves_[g]["selection_rate"].size for g in est.groups_]
    arrays["curve_offsets"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    for key in CURVE_KEYS:
        arrays[f"curve.{key}"] = np.concatenate([est.curves_[g][key] for g in est.groups_])
    meta["grouping"], grouping_arrays = grouping_state(est.grouping_)
    arrays.update(grouping_arrays)
    return meta, arrays


def _read_params(meta, layout):
    params = dict(meta["params"])
    if not isinstance(params.get("constraint"), str) and params.get("constraint") is not None:
        params["constraint"] = [tuple(c) for c in params["constraint"]]
    if layout == 1 and meta["constraint"] == "equalized_odds":
        params["mode"] = "mixing"  # the rules layout 1 stored for equalized odds are mixtures
    return params


def _check_arrays(G, t, q, w, ncomp, points, offsets, curves, n_points):
    if G < 1 or t.ndim != 2 or t.shape[0] != G or t.shape[1] < 1 or q.shape != t.shape or w.shape != t.shape:
        raise ValueError("model state is inconsistent: thresholds, tie_fractions and mixture_weights must have "
                         "shape (n_groups, n_mix)")
    if np.isnan(t).any() or not ((q >= 0) & (q <= 1)).all() or not (w >= 0).all() or \
            not (np.abs(w.sum(axis=1) - 1) <= 1e-9).all():
        raise ValueError("model state is inconsistent: thresholds must not be NaN, tie fractions must lie in "
                         "[0, 1] and each group's mixture weights must be >= 0 and sum to 1")
    if ncomp.shape != (G,) or points.shape != (G, n_points):
        raise ValueError("model state is inconsistent: n_components or operating_points has the wrong shape")
    if not ((ncomp >= 1) & (ncomp <= t.shape[1])).all():
        raise ValueError("model state is inconsistent: n_components must lie in [1, n_mix]")
    if offsets.shape != (G + 1,) or offsets[0] != 0 or (np.diff(offsets) < 0).any() or \
            any(c.shape != (int(offsets[-1]),) for c in curves):
        raise ValueError("model state is inconsistent: curve arrays do not match curve_offsets")


def _check_report(meta):
    """The fit's report entries of layout 2 have the types that fit writes."""
    if not isinstance(meta["solver"], str) or not (meta["optimality_gap"] is None
                                                    or isinstance(meta["optimality_gap"], numbers.Real)):
        raise ValueError("model state is inconsistent: solver must be a string and optimality_gap a number")
    if not (isinstance(meta["constraints"], list) and all(isinstance(row, dict) for row in meta["constraints"])):
        raise ValueError("model state is inconsistent: constraints must be a list of objects")
    for key in ("cherry_picking", "holdout"):
        if not (isinstance(meta[key], dict) or (key == "holdout" and meta[key] is None)):
            raise ValueError(f"model state is inconsistent: {key} must be an object")


@st.state_errors
def from_state(cls, meta, arrays):
    """Rebuild a fitted estimator from either layout; inconsistent input raises ValueError."""
    import pandas as pd

    try:
        layout = meta.get("layout", 1)
        if isinstance(layout, bool) or layout not in (1, LAYOUT):
            raise ValueError(f"model state is inconsistent: unknown GroupThresholds layout {layout}")
        est = cls(**_read_params(meta, layout))
        specs = est._check_params()
        tuples = bool(meta["groups_are_tuples"])
        groups = [tuple(g) if tuples else g for g in meta["groups"]]
        grouping = grouping_from_state(meta, arrays, groups)
        t = np.asarray(arrays["thresholds"], dtype=np.float64)
        q = np.asarray(arrays["tie_fractions"], dtype=np.float64)
        w = np.asarray(arrays["mixture_weights"], dtype=np.float64)
        ncomp = np.asarray(arrays["n_components"])
        points = np.asarray(arrays["operating_points"], dtype=np.float64)
        offsets = np.asarray(arrays["curve_offsets"])
        curves = [np.asarray(arrays[f"curve.{k}"], dtype=np.float64) for k in CURVE_KEYS]
        seed = st.integer(meta["seed"], "seed", 0, 2**64)
        constraint = meta["constraint"]
        tolerance = st.real(meta["tolerance"], "tolerance", nonnegative=True)
        utility = np.nan if meta["utility"] is None else st.real(meta["utility"], "utility")
        violation = np.nan if meta["violation"] is None else st.real(meta["violation"], "violation")
        extra = {}
        if layout == LAYOUT:
            gap = meta["optimality_gap"]
            _check_report(meta)
            extra = {"solver_": str(meta["solver"]), "optimality_gap_": np.nan if gap is None else float(gap),
                     "constraints_": pd.DataFrame(list(meta["constraints"]),
                                                  columns=["metric", "form", "value", "achieved", "met"]),
                     "cherry_picking_": dict(meta["cherry_picking"]),
                     "holdout_": None if meta["holdout"] is None else dict(meta["holdout"])}
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None
    G = len(groups)
    keys = POINT_KEYS if layout == LAYOUT else _OLD_POINT_KEYS
    _check_arrays(G, t, q, w, ncomp, points, offsets, curves, len(keys))
    if constraint != constraint_name(est.constraint) or not 0 <= seed < 2**64:
        raise ValueError("model state is inconsistent: constraint or seed does not match the parameters")
    if layout == LAYOUT and len(extra["constraints_"]) != len(specs):
        raise ValueError("model state is inconsistent: the constraint report does not match the constraints")
    est.estimator_ = None
    est.grouping_ = grouping
    est.n_features_in_ = 1
    est.groups_ = groups
    est.seed_ = seed
    est.classes_ = classes_from_json(meta)
    est.thresholds_ = np.ascontiguousarray(t)
    est.tie_fractions_ = np.ascontiguousarray(q)
    est.mixture_weights_ = np.ascontiguousarray(w)
    est.n_components_ = ncomp.astype(np.int64)
    est.constraint_ = constraint
    est.tolerance_ = tolerance
    est.utility_ = utility
    est.violation_ = violation
    est._specs = specs
    defaults = {"solver_": None, "optimality_gap_": np.nan, "constraints_": None, "cherry_picking_": None,
                "holdout_": None}
    for name, value in {**defaults, **extra}.items():
        setattr(est, name, value)
    index = pd.Index(list(groups), name="group", tupleize_cols=False)
    est.operating_points_ = pd.DataFrame(points, index=index, columns=list(keys))
    est.curves_ = {
        g: {k: c[offsets[i]:offsets[i + 1]].copy() for k, c in zip(CURVE_KEYS, curves)}
        for i, g in enumerate(groups)
    }
    return feature_names_from_state(est, meta.get("feature_names_in"))
