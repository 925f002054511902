"""Model-file state of the grouping component: save it, read it back fully checked, and
rebuild it for files written before groupings were saved (labels only)."""

import numpy as np

from .group_index import GroupIndex
from .label_encoding import ColumnCategories, sort_key

__all__ = ["GroupingStateMixin", "OTHER"]

OTHER = "<other>"


class GroupingStateMixin:
    """``to_state`` / ``from_state`` / ``from_labels`` of :class:`~fairfast._base.grouping.Grouping`."""

    def to_state(self, prefix="grouping."):
        """JSON metadata and arrays (``<prefix>keys``, ``<prefix>assign``) of the fit."""
        meta = {
            "names": self.names,
            "columns": [c.to_json() for c in self.categories],
            "index": self.index.to_json(),
            "other": None if self.index.other is None else self.index.labels[self.index.other],
        }
        return meta, self.index.arrays(prefix)

    @classmethod
    def from_state(cls, meta, arrays, prefix="grouping.", argument="sensitive_features"):
        """Rebuild a fitted grouping; everything is checked (ValueError "model state is
        inconsistent: ...")."""
        if not isinstance(meta, dict):
            raise ValueError("model state is inconsistent: grouping must be an object")
        names = meta.get("names")
        raw = meta.get("columns")
        if not isinstance(raw, list) or not raw:
            raise ValueError("model state is inconsistent: grouping.columns must be a non-empty list")
        if names is not None and (not isinstance(names, list) or len(names) != len(raw)
                                  or not all(isinstance(c, str) for c in names) or len(set(names)) != len(names)):
            raise ValueError("model state is inconsistent: grouping.names must be null or distinct strings, one "
                             "per column")
        categories = [ColumnCategories.from_json(c, f"grouping.columns[{j}]") for j, c in enumerate(raw)]
        grouping = cls(names, categories, argument=argument)
        if "index" in meta:
            grouping.index = grouping.index_from_state(meta["index"], arrays, prefix, meta.get("other"))
        return grouping

    def index_from_state(self, meta, arrays, prefix, other=None):
        """A GroupIndex saved by :meth:`GroupIndex.to_json` and ``arrays``, checked."""
        from .state import integer, labels_from_json

        if not isinstance(meta, dict) or not isinstance(meta.get("columns"), list):
            raise ValueError("model state is inconsistent: a group index needs its columns")
        columns = [integer(c, "group index column", 0, self.n_columns) for c in meta["columns"]]
        if not columns or len(set(columns)) != len(columns):
            raise ValueError("model state is inconsistent: a group index names distinct columns")
        sizes = [self.categories[c].size for c in columns]
        if meta.get("sizes") != sizes:
            raise ValueError("model state is inconsistent: group index sizes do not match the columns")
        for name in ("keys", "assign"):
            if f"{prefix}{name}" not in arrays:
                raise ValueError(f"model state is inconsistent: array {prefix}{name} is missing")
        keys, assign = arrays[f"{prefix}keys"], arrays[f"{prefix}assign"]
        total = float(np.prod(np.asarray(sizes, dtype=np.float64)))
        if keys.dtype != np.int64 or keys.ndim != 1 or assign.dtype != np.int32 or assign.shape != keys.shape \
                or keys.size == 0:
            raise ValueError("model state is inconsistent: group keys must be int64 and assign int32, equal "
                             "non-empty 1-D arrays")
        if keys[0] < 0 or keys[-1] >= total or (np.diff(keys) <= 0).any():
            raise ValueError("model state is inconsistent: group keys must increase strictly within the label "
                             "combinations")
        n_groups = int(assign.max()) + 1
        if assign.min() < 0 or np.bincount(assign, minlength=n_groups).min() < 1:
            raise ValueError("model state is inconsistent: every group needs at least one key")
        pooled = meta.get("other")
        if pooled is not None:
            pooled = integer(pooled, "group index other", 0, n_groups)
            if other is None:
                raise ValueError("model state is inconsistent: a pooled group needs its label")
            labels_from_json([other], False, "the pooled group's label")
        if (np.bincount(assign, minlength=n_groups) > 1).sum() > (pooled is not None):
            raise ValueError("model state is inconsistent: only the pooled group may hold several keys")
        first = np.full(n_groups, -1, dtype=np.int64)
        first[assign[::-1]] = np.arange(keys.size - 1, -1, -1)
        split = GroupIndex._split(keys[first], np.asarray(sizes))
        labels = [other if g == pooled else self._label_of(columns, split[g]) for g in range(n_groups)]
        return GroupIndex(columns, sizes, keys, assign, labels, other=pooled)

    @classmethod
    def from_labels(cls, n_columns, stages, *, other_label=OTHER, argument="sensitive_features"):
        """The grouping of a model file written before groupings were saved.

        `stages` lists ``(columns, labels, merged)``: the columns a set of groups is
        over, the group labels in their stored order, and the labels pooled into
        `other_label`. Columns are unnamed (matched by position) and their categories
        are the labels seen. Returns ``(grouping, indexes)``, one index per stage.
        """
        from .label_encoding import typed

        seen = [{} for _ in range(n_columns)]
        for columns, labels, merged in stages:
            for label in list(labels) + list(merged):
                if merged and label == other_label:
                    continue
                parts = label if len(columns) > 1 else (label,)
                if not isinstance(parts, tuple) or len(parts) != len(columns):
                    raise ValueError(f"model state is inconsistent: label {label!r} does not fit columns {columns}")
                for c, v in zip(columns, parts):
                    seen[c][typed(v)] = v
        categories = [ColumnCategories("labels", size=len(v), labels=sorted(v.values(), key=sort_key))
                      for v in seen]
        if any(c.size == 0 for c in categories):
            raise ValueError("model state is inconsistent: a sensitive column has no labels")
        grouping = cls(None, categories, argument=argument)
        indexes = [grouping._index_from_labels(list(columns), list(labels), list(merged), other_label)
                   for columns, labels, merged in stages]
        if len(stages) == 1:
            grouping.index = indexes[0]
        return grouping, indexes

    def _index_from_labels(self, columns, labels, merged, other_label):
        from .label_encoding import typed

        sizes = [self.categories[c].size for c in columns]
        lookups = [self.categories[c].code_of() for c in columns]

        def key(label):
            k = 0
            for lookup, size, v in zip(lookups, sizes, label if len(columns) > 1 else (label,)):
                k = k * size + lookup[typed(v)]
            return k

        group_of = {}
        for g, label in enumerate(labels):
            if not (merged and label == other_label):
                group_of[key(label)] = g
        if merged:
            for label in merged:
                group_of[key(label)] = labels.index(other_label)
        if len(group_of) != len(labels) - (1 if merged else 0) + len(merged):
            raise ValueError("model state is inconsistent: repeated group labels")
        keys = np.array(sorted(group_of), dtype=np.int64)
        assign = np.array([group_of[k] for k in keys.tolist()], dtype=np.int32)
        return GroupIndex(columns, sizes, keys, assign, list(labels),
                          other=labels.index(other_label) if merged else None)
