"""Decoupled classifiers by recursive partitioning on group attributes (Ustun, Liu and Parkes 2019)."""

import itertools

import numpy as np

from .._base.grouping import Grouping
from .._base.routing import require_sensitive_features
from ._baselines import _PartitionClassifier, _SensitivePartition
from ._common import check_non_negative, fit_logistic

__all__ = ["DecouplingTreeClassifier"]


class DecouplingTreeClassifier(_SensitivePartition, _PartitionClassifier):
    """Decoupling tree: recursive partitioning on sensitive attributes, pruned by preference tests.

    Built from the description of Ustun, Liu and Parkes (2019), section 4:

    1. *Grow.* The root holds a pooled logistic regression ``h_0``. At every step,
       every leaf that can still split tries every group attribute not yet used on
       its path: one logistic regression per value of the attribute, on the leaf's
       rows. A split is feasible when every child has at least ``min_samples_class``
       rows of each class. Among the feasible splits of all leaves, the one whose
       partition (the split leaf's children plus the other leaves) has the smallest
       preference score is made, where the score sums, over the groups ``g`` of the
       partition and the models ``j`` compared with its own (the pooled model and
       every other leaf's), ``4 exp(-n_g (e_gg - e_gj)^2 / 2)`` -- a Hoeffding-type
       bound on the chance that the training errors ``e`` cannot tell the models
       apart. Growing stops when no leaf can split (at most one level per
       attribute).
    2. *Prune.* Every partition obtained by collapsing subtrees (at least two
       leaves) is tested on the training rows with exact one-sided McNemar tests
       (:func:`fairfast.metrics.mcnemar_pvalue`) of every group's model against the
       pooled model (rationality) and against every other group's model
       (envy-freeness), at level ``alpha`` divided by the number of tests
       (Bonferroni). Among the partitions without a significant violation, the one
       with the largest smallest gain ``min_g (e_g(h_0) - e_g(h_g))`` is kept (ties:
       the largest, then the median gain). If none passes, the pooled model serves
       everyone (one group).

    The models are fit on standardised features (0/1 columns kept), with the same
    logistic regression as the other baselines. Like
    :class:`TrivialPartitionClassifier`, it uses the sensitive attributes at fit
    *and* predict time. A row whose attribute value was not seen in its node's
    training rows goes to the node's largest child.

    Parameters
    ----------
    alpha : float, default=0.1
        Family-wise level of the pruning tests.
    C : float, default=1.0
        Inverse L2 strength of every logistic regression.
    min_samples_class : int or None, default=None
        Rows of each class every child of a split needs; None: the number of
        features (Ustun et al.'s default).

    Attributes
    ----------
    n_groups_ : int
        Leaves of the kept partition.
    leaves_ : list of dict
        Per group: its path, a dict attribute index -> value.
    tree_size_ : int
        Nodes of the grown (unpruned) tree.

    References
    ----------
    .. [1] Ustun, Liu and Parkes, "Fairness without Harm: Decoupled Classifiers with
       Preference Guarantees", ICML 2019.

    Examples
    --------
    Two attributes, labels flipped in one value of the first: every kept leaf fixes it.

    >>> import numpy as np
    >>> from fairfast.dafh import DecouplingTreeClassifier
    >>> rng = np.random.default_rng(0)
    >>> a = np.column_stack([rng.integers(0, 2, 2000), rng.integers(0, 2, 2000)])
    >>> X = rng.normal(size=(2000, 2))
    >>> y = np.where(a[:, 0] == 1, X[:, 0] > 0, X[:, 0] < 0).astype(int)
    >>> clf = DecouplingTreeClassifier().fit(X, y, sensitive_features=a)
    >>> all(0 in leaf for leaf in clf.leaves_)
    True
    >>> bool(clf.score(X, y, sensitive_features=a) > 0.95)
    True
    """

    def __init__(self, *, alpha=0.1, C=1.0, min_samples_class=None):
        self.alpha = alpha
        self.C = C
        self.min_samples_class = min_samples_class

    def fit(self, X, y, *, sensitive_features=None):
        """Grow and prune the tree, then fit one model per kept leaf. Returns self."""
        return self._fit_models(X, y, sensitive_features=require_sensitive_features(sensitive_features, self, "fit"))

    # ------------------------------------------------------------------ fit
    def _fit_partition(self, Z, y, *, sensitive_features):
        alpha = check_non_negative(self.alpha, "alpha")
        if alpha > 1:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha!r}")
        n, d = Z.shape
        minimum = d if self.min_samples_class is None else self.min_samples_class
        if isinstance(minimum, bool) or not isinstance(minimum, (int, np.integer)) or minimum < 1:
            raise ValueError(f"min_samples_class must be None or an integer >= 1, got {self.min_samples_class!r}")
        grouping, _ = Grouping.fit(sensitive_features, n, joint=False, what="X has")
        A = grouping.column_codes()
        self.grouping_ = grouping.release()
        self.attribute_labels_ = [cats.all_labels() for cats in grouping.categories]
        nodes = self._grow(Z, y, A, int(minimum))
        leaves = self._prune(Z, y, nodes, alpha)
        self._nodes = [{k: v for k, v in node.items() if k in ("attr", "children", "largest_child")}
                       for node in nodes]
        self._leaf_of = {node_id: g for g, node_id in enumerate(leaves)}
        self.tree_size_ = len(nodes)
        self.n_groups_ = len(leaves)
        self.leaves_ = [dict(nodes[i]["path"]) for i in leaves]
        return self._walk(A)

    def _grow(self, Z, y, A, minimum):
        n_attr = A.shape[1]
        model = lambda rows: fit_logistic(Z[rows], y[rows], self.C)  # noqa: E731
        nodes = [{"rows": np.ones(Z.shape[0], dtype=bool), "path": (), "attr": None, "children": {},
                  "largest_child": None, "model": model(slice(None))}]
        splits = {}  # (leaf, attribute) -> (values, row masks, models), or None when infeasible
        halted = set()
        while True:
            leaves = [i for i, node in enumerate(nodes) if not node["children"]]
            candidates = []
            for leaf in leaves:
                node = nodes[leaf]
                if leaf in halted or len(node["path"]) == n_attr:
                    continue
                used = {a for a, _ in node["path"]}
                for attr in range(n_attr):
                    if attr in used:
                        continue
                    if (leaf, attr) not in splits:
                        values = np.unique(A[node["rows"], attr])
                        parts = [node["rows"] & (A[:, attr] == v) for v in values]
                        feasible = values.size >= 2 and all(
                            min(int(y[p].sum()), int(p.sum() - y[p].sum())) >= minimum for p in parts)
                        splits[leaf, attr] = (values, parts, [model(p) for p in parts]) if feasible else None
                    if splits[leaf, attr] is not None:
                        candidates.append((leaf, attr))
                if not any(c[0] == leaf for c in candidates):
                    halted.add(leaf)
            if not candidates:
                return nodes
            scores = []
            for leaf, attr in candidates:
                _, parts, models = splits[leaf, attr]
                groups = [(nodes[i]["rows"], nodes[i]["model"]) for i in leaves if i != leaf]
                scores.append(_preference_score(Z, y, groups + list(zip(parts, models)), nodes[0]["model"]))
            leaf, attr = candidates[int(np.argmin(scores))]
            values, parts, models = splits[leaf, attr]
            node = nodes[leaf]
            node["attr"] = attr
            for v, p, m in zip(values, parts, models):
                node["children"][int(v)] = len(nodes)
                nodes.append({"rows": p, "path": (*node["path"], (attr, int(v))), "attr": None, "children": {},
                              "largest_child": None, "model": m})
            node["largest_child"] = max(node["children"].values(), key=lambda c: int(nodes[c]["rows"].sum()))

    def _prune(self, Z, y, nodes, alpha):
        from ..metrics import mcnemar_pvalue

        w0, b0 = nodes[0]["model"]
        pooled_right = ((Z @ w0 + b0) > 0) == y
        best, best_key = [0], None
        for leaves in _prunings(nodes, 0):
            if len(leaves) < 2:
                continue
            right = {i: ((Z @ nodes[i]["model"][0] + nodes[i]["model"][1]) > 0) == y for i in leaves}
            pvalues, gains = [], []
            for g in leaves:
                rows = nodes[g]["rows"]
                own = right[g][rows]
                pvalues.append(mcnemar_pvalue(own, pooled_right[rows]))
                pvalues += [mcnemar_pvalue(own, right[j][rows]) for j in leaves if j != g]
                gains.append(np.mean(own) - np.mean(pooled_right[rows]))
            if min(pvalues) < alpha / len(pvalues):
                continue
            key = (min(gains), max(gains), float(np.median(gains)))
            if best_key is None or key > best_key:
                best, best_key = list(leaves), key
        return best

    # ------------------------------------------------------------------ predict
    def _walk(self, A):
        out = np.empty(A.shape[0], dtype=np.int64)
        for r in range(A.shape[0]):
            i = 0
            while i not in self._leaf_of:
                node = self._nodes[i]
                children = node["children"]
                i = children.get(int(A[r, node["attr"]]), node["largest_child"])
            out[r] = self._leaf_of[i]
        return out

    def _partition(self, Z, *, sensitive_features):
        return self._walk(self.grouping_.column_codes(sensitive_features, Z.shape[0], what="X has"))


def _preference_score(Z, y, groups, pooled):
    """Ustun et al.'s split score: sum of 4 exp(-n_g gap^2 / 2) over rationality and envy comparisons."""
    models = [pooled] + [m for _, m in groups]
    score = 0.0
    for g, (rows, _) in enumerate(groups):
        errors = [np.mean(((Z[rows] @ w + b) > 0) != y[rows]) for w, b in models]
        own = errors[g + 1]
        score += sum(4.0 * np.exp(-0.5 * rows.sum() * (own - e) ** 2) for j, e in enumerate(errors) if j != g + 1)
    return score


def _prunings(nodes, i):
    """Every leaf set of the subtree at node ``i`` obtained by collapsing internal nodes."""
    children = nodes[i]["children"]
    yield (i,)
    if children:
        for combo in itertools.product(*(list(_prunings(nodes, c)) for c in children.values())):
            yield tuple(itertools.chain.from_iterable(combo))
