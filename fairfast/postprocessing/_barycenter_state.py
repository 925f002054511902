"""Model-file state of :class:`~fairfast.postprocessing.WassersteinBarycenter`.

What a model file holds (``_get_state``) and how it is read back and checked
(``_from_state``): the metadata must match the strategy's plan of stages and the
labels, each stage's arrays are validated by its compiled object
(:class:`~fairfast.postprocessing._stage.BarycenterStage`), and the grouping (the
sensitive columns' names and categories, and each stage's group index) must describe
the stages' groups. Files written before groupings were saved (no ``grouping`` entry)
load with unnamed sensitive columns, matched by position as they were then.
"""

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._base.frames import feature_names_from_state, feature_names_state
from .._base.group_index import GroupIndex
from .._base.grouping import Grouping
from .._base.state import ModelFileMixin, integer, labels_from_json, state_errors
from ._stage import OTHER, STAGE_ARRAYS, BarycenterStage, stage_seed

__all__ = ["BarycenterStateMixin", "merged_labels"]


def merged_labels(grouping, index):
    """Labels of the groups pooled into the "<other>" group of `index` (empty if none)."""
    if index.other is None:
        return []
    split = GroupIndex._split(index.keys, index.sizes)
    return [grouping._label_of(index.columns, codes) for codes, g in zip(split, index.assign.tolist())
            if g == index.other]


class BarycenterStateMixin(ModelFileMixin):
    """``_get_state``/``_from_state`` (and ``save``) of the barycenter estimator."""

    def _get_state(self):
        """The fitted model as JSON-able metadata and a dict of arrays (no pickle).

        Returns
        -------
        meta : dict
            ``params`` (constructor parameters), ``seed``, ``n_tasks``,
            ``scores_ndim``, ``n_attributes`` and per stage its ``columns``,
            ``n_strata_columns``, ``groups`` (labels; lists for intersections, with
            ``groups_are_tuples``), ``merged`` groups and group ``index``; the
            ``grouping`` (sensitive column names and categories); ``feature_names_in``
            (score column names, or None).
        arrays : dict of str to ndarray
            ``stage{s}.{name}`` for every name in the stage's fitted arrays, and
            ``stage{s}.group_keys`` / ``stage{s}.group_assign`` of its group index.
        """
        check_is_fitted(self, "stages_")
        params = self.get_params()
        if isinstance(params["group_weights"], dict) or params["group_weights"] is not None:
            params["group_weights"] = None  # resolved into the stage weights
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None  # a generator; seed holds what was drawn
        if not isinstance(params["epsilon"], numbers.Real):
            params["epsilon"] = np.asarray(params["epsilon"], dtype=float).tolist()
        stages, arrays = [], {}
        for s, stage in enumerate(self.stages_):
            multi = bool(stage.groups) and isinstance(stage.groups[0], tuple)
            stages.append({
                "columns": list(stage.columns),
                "n_strata_columns": int(stage.n_strata_columns),
                "groups": [list(g) if isinstance(g, tuple) else g for g in stage.groups],
                "groups_are_tuples": multi,
                "merged": [list(g) if isinstance(g, tuple) else g for g in stage.merged],
                "index": stage.index.to_json(),
            })
            for name, array in stage.arrays().items():
                arrays[f"stage{s}.{name}"] = array
            arrays.update(stage.index.arrays(f"stage{s}.group_"))
        meta = {
            "params": params,
            "seed": int(self.seed_),
            "n_tasks": int(self.n_tasks_),
            "scores_ndim": int(self._scores_ndim),
            "n_attributes": int(self.n_attributes_),
            "grouping": {"names": self.grouping_.names, "columns": [c.to_json() for c in self.grouping_.categories]},
            "stages": stages,
            "feature_names_in": feature_names_state(self),
        }
        return meta, arrays

    @classmethod
    @state_errors
    def _from_state(cls, meta, arrays):
        """Rebuild a fitted estimator from :meth:`_get_state` output; inconsistent input raises ValueError."""
        try:
            from .._base.state import estimator_from_params

            est = estimator_from_params(cls, meta["params"], tuples=False)
            est._check_params()
            est.seed_ = integer(meta["seed"], "seed", 0, 1 << 64)
            est.n_tasks_ = integer(meta["n_tasks"], "n_tasks", 1, 1 << 31)
            est._scores_ndim = integer(meta["scores_ndim"], "scores_ndim", 1, 3)
            est.n_attributes_ = integer(meta["n_attributes"], "n_attributes", 1, 1 << 16)
            est.n_features_in_ = est.n_tasks_
            if est._scores_ndim == 1 and est.n_tasks_ != 1:
                raise ValueError("model state is inconsistent: 1-D scores with several tasks")
            plan = cls._plan(est.n_attributes_, est.strategy)
            if not isinstance(meta["stages"], list) or len(meta["stages"]) != len(plan):
                raise ValueError("model state is inconsistent: wrong number of stages for its strategy")
            est._epsilon_matrix(len(plan), est.n_tasks_)
            stages = [est._stage_from_state(s, sm, arrays, *plan[s]) for s, sm in enumerate(meta["stages"])]
            est.grouping_ = est._grouping_from_state(meta, arrays, stages)
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None
        est.stages_ = stages
        est._expose(stages[0] if len(stages) == 1 else None)
        return feature_names_from_state(est, meta.get("feature_names_in"))

    def _stage_from_state(self, s, sm, arrays, columns, n_strata):
        """Stage `s` of a model file, checked against the strategy's plan and its arrays."""
        if sm["columns"] != columns or sm["n_strata_columns"] != n_strata:
            raise ValueError(f"model state is inconsistent: stage {s} must use sensitive columns {columns} "
                             f"({n_strata} as strata) for strategy {self.strategy!r} and {self.n_attributes_} "
                             f"attribute(s); got {sm['columns']!r} ({sm['n_strata_columns']!r})")
        tuples = sm["groups_are_tuples"]
        if tuples is not (len(columns) > 1):
            raise ValueError(f"model state is inconsistent: stage {s} groups_are_tuples must be {len(columns) > 1}")
        raw, merged_raw = sm["groups"], sm["merged"]
        if not isinstance(raw, list) or not isinstance(merged_raw, list):
            raise ValueError(f"model state is malformed: stage {s} groups and merged must be lists")
        other = bool(merged_raw)  # pooled groups are the last group, "<other>"
        if other and (not raw or raw[-1] != OTHER):
            raise ValueError(f"model state is inconsistent: stage {s} merged groups but no {OTHER!r} group last")
        groups = labels_from_json(raw[:-1] if other else raw, tuples, f"stage {s} groups", minimum=0 if other else 1)
        merged = labels_from_json(merged_raw, tuples, f"stage {s} merged", minimum=0)
        if tuples and any(len(g) != len(columns) for g in groups + merged):
            raise ValueError(f"model state is inconsistent: stage {s} labels must have {len(columns)} entries")
        if set(merged) & set(groups) or OTHER in groups:
            raise ValueError(f"model state is inconsistent: stage {s} merged groups are also groups")
        if other:
            groups.append(OTHER)
        stage_arrays = {name: arrays[f"stage{s}.{name}"] for name in STAGE_ARRAYS}
        return BarycenterStage.from_arrays(
            stage_arrays, columns=columns, n_strata_columns=n_strata, groups=groups, merged=merged,
            n_tasks=self.n_tasks_, seed=stage_seed(self.seed_, s), jitter=self.jitter)

    def _grouping_from_state(self, meta, arrays, stages):
        """The grouping saved with the model, checked against the stages' groups (each
        stage gets its group index); for older files, one rebuilt from the labels."""
        if "grouping" not in meta:
            grouping, indexes = Grouping.from_labels(
                self.n_attributes_, [(stage.columns, stage.groups, stage.merged) for stage in stages])
        else:
            grouping = Grouping.from_state(meta["grouping"], arrays)
            if grouping.n_columns != self.n_attributes_:
                raise ValueError("model state is inconsistent: the grouping's columns are not the attributes")
            indexes = []
            for s, (sm, stage) in enumerate(zip(meta["stages"], stages)):
                index = grouping.index_from_state(sm["index"], arrays, f"stage{s}.group_",
                                                  OTHER if stage.merged else None)
                if index.columns != stage.columns or index.labels != stage.groups \
                        or merged_labels(grouping, index) != stage.merged:
                    raise ValueError(f"model state is inconsistent: stage {s} groups do not match its group index")
                indexes.append(index)
        for stage, index in zip(stages, indexes):
            stage.index = index
        return grouping
