"""Wasserstein-barycenter post-processing for strong demographic parity."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._base.frames import FrameOutputMixin, check_feature_names, n_features_error
from .._base.grouping import OTHER, Grouping, SmallGroupWarning
from .._base.routing import SensitiveFeaturesConsumer, not_routed, require_sensitive_features
from .._base.validation import (
    as_float_array,
    check_choice,
    check_fraction,
    check_row_offset,
    check_sample_weight,
    check_seed,
)
from .._base.serving import Output, Serving, ServingMixin
from ._barycenter_state import BarycenterStateMixin, merged_labels
from ._stage import MODES, fit_stage, stage_seed

__all__ = ["SmallGroupWarning", "WassersteinBarycenter"]

_STRATEGIES = ("intersectional", "sequential", "conditional")
_OTHER = OTHER


def _float32_scores(Z):
    """float64 scores for a model fitted on float32 ones, rounded to float32; a finite
    score that float32 cannot hold raises instead of silently becoming inf."""
    with np.errstate(over="ignore"):
        rounded = Z.astype(np.float32)
    overflow = np.isinf(rounded) & np.isfinite(Z)
    if overflow.any():
        i = int(np.flatnonzero(overflow.ravel())[0])
        raise ValueError(f"scores has {Z.ravel()[i]!r} at position {i}, beyond the range of float32 "
                         f"(±{float(np.finfo(np.float32).max):.4g}): this model was fitted on float32 scores and "
                         f"computes in float32; refit it on float64 scores, or clip the scores")
    return rounded

class WassersteinBarycenter(SensitiveFeaturesConsumer, FrameOutputMixin, ServingMixin, BarycenterStateMixin,
                            OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    r"""Demographic-parity post-processing by the Wasserstein barycenter.

    Fitted on calibration scores :math:`z` with group labels :math:`s`, it maps a
    score of group :math:`s` to

    .. math::

        g(z, s) = (1-\varepsilon) \sum_{k} p_k\, \hat Q_k\big(\hat F_s(z)\big)
                  + \varepsilon\, z,

    the plug-in estimator of Chzhen et al. (2020): :math:`\hat F_s` is group
    :math:`s`'s empirical CDF, :math:`\hat Q_k` group :math:`k`'s empirical quantile
    function and :math:`p_k` the group frequencies. With :math:`\varepsilon = 0` the
    output distribution is the same in every group (the :math:`W_2` barycenter), so any
    threshold on it is demographic-parity fair; :math:`\varepsilon` moves along the
    :math:`W_2` geodesic back to the input (between-group :math:`W_2` distances scale
    exactly by :math:`\varepsilon`). Within each group the map is non-decreasing, so
    within-group rankings (and within-group AUC) are kept.

    **Ties.** Each row carries a random 64-bit tie key from a counter-based generator
    keyed by ``(random_state, row index)``; calibration points are ordered by
    (score, key) and a query's rank is counted in that lexicographic order. This is the
    limit of the usual uniform jitter as its width goes to zero: it breaks ties exactly
    (discrete scores become exactly fair on calibration data) without ever reordering
    distinct scores, so the map stays monotone. (A query exactly equal to a calibration
    score that occurs only once in its group is counted after it, which keeps that
    calibration row's own rank.) The spec's additive jitter (width
    ``jitter``) is available for parity with EquiPy and the paper's code. Because draws
    depend only on the row index, transforming in chunks with ``row_offset`` (or with
    any number of threads) gives bit-identical output to one call, and
    ``fit_transform`` reproduces the fit-time order exactly: on the calibration data
    itself, groups of equal size get identical multisets of outputs.

    **Several tasks.** ``scores`` of shape (n, T) get one barycenter per column (tasks
    share the groups and the tie keys, so a T-column model equals T one-column models
    exactly); regression and classification columns can be mixed.

    **Several sensitive attributes** (``sensitive_features`` with r columns):

    - ``"intersectional"`` (default): one barycenter over the joint groups (all
      observed combinations). Fair for every attribute and every intersection.
    - ``"sequential"``: one pass per attribute, in column order, each over that
      attribute's marginal groups and fitted on the previous pass's (fully fair)
      calibration output -- the mechanism of Hu, Ratz and Charpentier (AAAI 2024) as in
      their public code. It can leave residual unfairness for earlier attributes when
      the attributes interact (the spec's section-7 counterexample), and depends on the
      order.
    - ``"conditional"``: as EquiPy's ``MultiWasserstein`` since late 2024 -- attribute
      i is made fair inside each stratum of the attributes after it, the last one
      globally. Each pass is one barycenter table per stratum.

    Joint groups (of several attributes) smaller than ``small_group_size`` calibration
    rows trigger a :class:`SmallGroupWarning`; ``merge_small_groups=True`` pools them
    into one group labelled ``"<other>"`` (intersectional strategy).

    Parameters
    ----------
    epsilon : float or array-like, default=0.0
        Share of the original score kept: 0 is fully fair, 1 the identity. A 1-D array
        gives one value per task; a 2-D array of shape (n_stages, n_tasks) or
        (n_stages, 1) one per attribute pass (sequential/conditional strategies have one
        pass per attribute) and task.
    interpolation : {"step", "linear"}, default="step"
        ``"step"``: right-continuous ECDF and generalised-inverse quantiles (exact on
        calibration points). ``"linear"``: step ECDF and linearly interpolated
        quantiles on ``linspace(0, 1, n_k)``, as EquiPy's ``FairWasserstein``.
    jitter : float >= 0, default=0.0
        Width ``sigma`` of an additive ``U[-sigma, sigma]`` noise on every score (fit
        and transform), as in the paper's code; 0 breaks ties only (see above).
    strategy : {"intersectional", "sequential", "conditional"}, default="intersectional"
        How several sensitive columns are combined (see above).
    group_weights : dict or array-like of shape (n_groups,), optional
        Barycentric weights :math:`p_k` (normalised); a dict maps group labels to
        weights. Defaults to the (weighted) calibration frequencies. Intersectional
        strategy only.
    min_group_size : int, default=2
        Groups with fewer calibration rows raise at fit.
    small_group_size : int, default=30
        Joint groups with fewer calibration rows warn (or are merged, below).
    merge_small_groups : bool, default=False
        Pool the joint groups smaller than ``small_group_size`` into one group.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the tie keys (and jitter). None draws a seed once at fit, stored in
        ``seed_``, so later transforms stay consistent with the fit.

    Attributes
    ----------
    stages_ : list of BarycenterStage
        One per pass: its ``columns`` (sensitive columns used, strata first),
        ``n_strata_columns``, ``groups`` (labels), ``merged`` (pooled labels),
        ``index`` (the group index of the grouping component), ``counts``,
        ``weights``, ``blocks``, and ``core``, the compiled stage that holds the fitted
        arrays (validated once, when fitted or loaded; read-only) with their derived
        bucket indexes and lookup, so that a transform call costs the same whatever the
        calibration size.
    grouping_ : Grouping
        The sensitive columns seen at fit (names, categories), matched by name at
        transform.
    groups_ : list
        Group labels (tuples when several sensitive columns define intersections).
    n_tasks_ : int
        Number of task columns.
    seed_ : int
        Seed actually used.

    With a single pass (one attribute, or the intersectional strategy) these describe
    it directly (1-D for 1-D scores, with a leading task axis for 2-D scores):

    group_counts_ : ndarray of int64
        Calibration rows per group.
    group_weights_ : ndarray of float64
        The normalised :math:`p_k`.
    merged_groups_ : list
        Labels pooled into ``"<other>"``.
    sorted_scores_ : ndarray
        Calibration scores sorted within each group (concatenated by group).
    group_offsets_ : ndarray of int64, shape (n_groups + 1,)
        Group ``k`` occupies ``sorted_scores_[group_offsets_[k]:group_offsets_[k+1]]``.
    tie_keys_ : ndarray of uint64
        Tie keys of runs of equal scores, in the same order (0 elsewhere).
    barycenter_table_ : ndarray of float64
        For group ``k``, the ``n_k + 1`` fair values indexed by a score's rank
        ``j = 0..n_k`` in the group (stored at ``group_offsets_[k] + k + j``).

    Notes
    -----
    Metadata routing requests ``sensitive_features`` by default; ``set_output`` keeps
    the input's index and column names (docs/model_selection.md).

    Memory: a model fitted on 4,097 to 2**20 calibration rows builds, once it has
    transformed four times as many rows (over any number of calls), a lookup of about
    64 bytes per calibration row and task that makes large transforms faster (up to
    64 MB per task). It is derived data: not saved in model files nor pickled.

    References
    ----------
    E. Chzhen, C. Denis, M. Hebiri, L. Oneto, M. Pontil. "Fair regression with
    Wasserstein barycenters". NeurIPS 2020.

    F. Hu, P. Ratz, A. Charpentier. "Fairness in multi-task learning via Wasserstein
    barycenters". ECML PKDD 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.postprocessing import WassersteinBarycenter
    >>> from fairfast.transport import ks_distance
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 2000)
    >>> z = rng.normal(loc=s, scale=1.0)
    >>> fair = WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s)
    >>> out = fair.transform(z, sensitive_features=s)
    >>> round(ks_distance(z[s == 0], z[s == 1]), 2) > 0.3
    True
    >>> bool(ks_distance(out[s == 0], out[s == 1]) <= 1 / min(np.bincount(s)))
    True
    """

    __metadata_request__transform = not_routed("row_offset", "out")

    _serving = Serving(
        inputs="scores", sensitive=True, fit_labels="none", labels="none", sample_weight=True,
        outputs=(Output("scores", True, "float", "the fair scores, one column per score column"),),
    )

    def __init__(
        self,
        *,
        epsilon=0.0,
        interpolation="step",
        jitter=0.0,
        strategy="intersectional",
        group_weights=None,
        min_group_size=2,
        small_group_size=30,
        merge_small_groups=False,
        random_state=None,
    ):
        self.epsilon = epsilon
        self.interpolation = interpolation
        self.jitter = jitter
        self.strategy = strategy
        self.group_weights = group_weights
        self.min_group_size = min_group_size
        self.small_group_size = small_group_size
        self.merge_small_groups = merge_small_groups
        self.random_state = random_state

    # -- parameters -----------------------------------------------------------------

    def _check_params(self):
        check_choice(self.interpolation, "interpolation", tuple(MODES))
        check_choice(self.strategy, "strategy", _STRATEGIES)
        if isinstance(self.jitter, bool) or not isinstance(self.jitter, numbers.Real):
            raise TypeError(f"jitter must be a non-negative real number, got {type(self.jitter).__name__}")
        if not (np.isfinite(float(self.jitter)) and self.jitter >= 0):
            raise ValueError(f"jitter must be finite and >= 0, got {self.jitter}")
        for name in ("min_group_size", "small_group_size"):
            m = getattr(self, name)
            if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
                raise ValueError(f"{name} must be an int >= 1, got {m!r}")
        if not isinstance(self.merge_small_groups, (bool, np.bool_)):
            raise TypeError("merge_small_groups must be True or False")
        if self.merge_small_groups and self.strategy != "intersectional":
            raise ValueError("merge_small_groups applies to strategy='intersectional' only")
        if self.group_weights is not None and self.strategy != "intersectional":
            raise ValueError("group_weights applies to strategy='intersectional' only")

    def _epsilon_matrix(self, n_stages, n_tasks):
        """epsilon broadcast to (n_stages, n_tasks), validated."""
        eps = self.epsilon
        if isinstance(eps, (float, int)) and not isinstance(eps, bool) and 0.0 <= eps <= 1.0:
            return np.full((n_stages, n_tasks), float(eps))  # the common case, cheaply
        if np.ndim(eps) == 0:
            check_fraction(eps, "epsilon")  # names the type or the value
        try:
            e = np.asarray(eps, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError("epsilon must be a real number or an array of them in [0, 1]") from None
        if e.ndim == 1:
            if e.shape[0] != n_tasks:
                raise ValueError(f"epsilon has {e.shape[0]} entries but the scores have {n_tasks} task column(s)")
            e = np.broadcast_to(e, (n_stages, n_tasks))
        elif e.ndim == 2:
            if e.shape[0] != n_stages or e.shape[1] not in (1, n_tasks):
                raise ValueError(
                    f"epsilon of shape {e.shape} does not fit {n_stages} stage(s) of strategy "
                    f"{self.strategy!r} and {n_tasks} task(s): use (n_stages, n_tasks) or (n_stages, 1)"
                )
            e = np.broadcast_to(e, (n_stages, n_tasks))
        elif e.ndim != 0:
            raise ValueError(f"epsilon must be a scalar, 1-D (per task) or 2-D (per stage and task), got {e.shape}")
        e = np.broadcast_to(e, (n_stages, n_tasks))
        if not np.isfinite(e).all() or (e < 0).any() or (e > 1).any():
            raise ValueError("epsilon must lie in [0, 1]")
        return np.ascontiguousarray(e)

    @staticmethod
    def _plan(n_attributes, strategy):
        """(columns, n_strata_columns) of every stage."""
        r = n_attributes
        if r == 1 or strategy == "intersectional":
            return [(list(range(r)), 0)]
        if strategy == "sequential":
            return [([i], 0) for i in range(r)]
        # conditional: attribute i inside each stratum of the attributes after it, the last globally
        return [(list(range(i + 1, r)) + [i], r - 1 - i) for i in range(r - 1)] + [([r - 1], 0)]

    def _resolve_group_weights(self, labels):
        if self.group_weights is None:
            return None
        if isinstance(self.group_weights, dict):
            missing = [g for g in labels if g not in self.group_weights]
            if missing:
                raise ValueError(f"group_weights has no weight for groups {missing[:5]}")
            extra = [g for g in self.group_weights if g not in labels]
            if extra:
                raise ValueError(f"group_weights names groups absent from the calibration data: {extra[:5]}")
            p = np.array([self.group_weights[g] for g in labels], dtype=np.float64)
        else:
            p = np.asarray(self.group_weights, dtype=np.float64).reshape(-1)
            if p.shape[0] != len(labels):
                raise ValueError(
                    f"group_weights has {p.shape[0]} entries but the calibration data has {len(labels)} groups"
                )
        if not np.isfinite(p).all() or (p < 0).any() or not p.sum() > 0:
            raise ValueError("group_weights must be finite, non-negative and not all zero")
        return p

    def _encode_stage(self, columns, n):
        """Group index, codes and counts of a stage's groups at fit time (small groups
        warned about, or merged if asked; below min_group_size refused)."""
        return self.grouping_.fit_index(
            columns, n, min_group_size=self.min_group_size, small_group_size=self.small_group_size,
            small_groups="merge" if self.merge_small_groups else "warn", stacklevel=5,
            merge_hint="merge_small_groups=True")

    # -- fit / transform ---------------------------------------------------------------

    def _scores(self, scores, *, fitting):
        ndim = len(scores.shape) if hasattr(scores, "shape") else np.asarray(scores).ndim
        if ndim not in (1, 2):
            raise ValueError(f"scores must be 1-D (one task) or 2-D (n_samples, n_tasks), got shape {np.shape(scores)}")
        z = as_float_array(scores, "scores", ndim=ndim, min_rows=1 if fitting else 0, check_finite=fitting)
        if ndim == 1:
            z = z.reshape(-1, 1)
        if z.shape[1] < 1:
            raise ValueError(f"scores has 0 feature(s) (shape={z.shape}) while a minimum of 1 is required.")
        return z, ndim

    def fit(self, scores, y=None, *, sensitive_features=None, sample_weight=None):
        """Learn the groups' score distributions and the barycenter tables.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Calibration scores or regression outputs (finite); one barycenter per task
            column. Labels are not needed.
        y : None
            Ignored; present for scikit-learn pipeline compatibility.
        sensitive_features : array-like, Series or DataFrame
            Group labels (any hashable values), or several columns (attributes),
            combined according to ``strategy``.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the calibration rows (weighted CDFs and group frequencies).

        Returns
        -------
        self
        """
        self._check_params()
        sensitive_features = require_sensitive_features(sensitive_features, self, "fit")
        check_feature_names(self, scores, reset=True, count=False)
        Z, ndim = self._scores(scores, fitting=True)
        n, n_tasks = Z.shape
        self.grouping_, _ = Grouping.fit(sensitive_features, n, joint=False, what="the scores have")
        n_attributes = self.grouping_.n_columns
        w = check_sample_weight(sample_weight, n)
        plan = self._plan(n_attributes, self.strategy)
        self._epsilon_matrix(len(plan), n_tasks)  # validate early
        self.seed_ = check_seed(self.random_state)
        stages = []
        current = Z
        for s, (columns, n_strata) in enumerate(plan):
            index, codes, counts = self._encode_stage(columns, n)
            labels = index.labels
            if w is not None:
                mass = np.bincount(codes, weights=w, minlength=len(labels))
                zero = [labels[g] for g in np.flatnonzero(mass <= 0)]
                if zero:
                    raise ValueError(f"sample_weight gives zero total weight to groups {zero[:5]}")
            stage = fit_stage(
                current, codes, labels, columns=columns, n_strata_columns=n_strata,
                merged=merged_labels(self.grouping_, index), sample_weight=w, seed=stage_seed(self.seed_, s),
                jitter=self.jitter, interpolation=self.interpolation,
                group_weights=self._resolve_group_weights(labels), counts=counts,
            )
            stage.index = index
            stages.append(stage)
            if s + 1 < len(plan):  # the next attribute is fitted on this stage's (fully fair) output
                nxt = np.empty_like(current)
                stage.transform(current, codes, np.zeros(n_tasks), row_offset=0, out=nxt)
                current = nxt
        self.grouping_.release()
        self.stages_ = stages
        self.n_tasks_ = n_tasks
        self._scores_ndim = ndim
        self.n_features_in_ = n_tasks
        self.n_attributes_ = n_attributes
        self._expose(stages[0] if len(stages) == 1 else None)
        return self

    def _expose(self, stage):
        """Public attributes of a single-stage model (1-D arrays for 1-D scores)."""
        if stage is None:
            self.groups_ = sorted({g for st in self.stages_ for g in st.groups}, key=repr)
            return
        squeeze = self._scores_ndim == 1
        core = stage.core
        self.groups_ = stage.groups
        self.merged_groups_ = stage.merged
        self.group_counts_ = stage.counts
        self.group_weights_ = stage.weights
        self.group_offsets_ = core.offsets
        self.sorted_scores_ = core.values[0] if squeeze else core.values
        self.tie_keys_ = core.keys[0] if squeeze else core.keys
        self.barycenter_table_ = core.table[0] if squeeze else core.table

    def transform(self, scores, *, sensitive_features=None, row_offset=0, out=None):
        """Map scores to their fair values.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Finite scores with the task columns seen at fit; float32 stays float32.
            The output has the input's shape and the fitted model's dtype: a model
            fitted on float32 scores computes in float32, so float64 scores are
            rounded to float32, and a score beyond float32's range raises (rather
            than becoming inf).
        sensitive_features : array-like, Series or DataFrame
            Group labels as at fit time; unseen groups raise.
        row_offset : int, default=0
            Global index of the first row, for chunked processing: transforming rows
            ``a:b`` with ``row_offset=a`` gives exactly the rows ``a:b`` of one call.
        out : ndarray, optional
            C-contiguous array of the output's dtype and shape to write into.

        Returns
        -------
        ndarray, or the ``set_output`` container (a Series for 1-D scores)
        """
        check_is_fitted(self, "stages_")
        self._check_params()
        sensitive_features = require_sensitive_features(sensitive_features, self, "transform")
        check_feature_names(self, scores, reset=False, count=False)
        offset = check_row_offset(row_offset)
        Z, ndim = self._scores(scores, fitting=False)
        dtype = self.stages_[0].dtype
        Z = _float32_scores(Z) if dtype == np.float32 and Z.dtype == np.float64 else np.ascontiguousarray(Z, dtype)
        n, n_tasks = Z.shape
        if n_tasks != self.n_tasks_:
            raise n_features_error(self, n_tasks, name="scores", unit="task column(s)", one_d=ndim == 1)
        groups = self.grouping_.read(sensitive_features, n, what="the scores have")
        eps = self._epsilon_matrix(len(self.stages_), n_tasks)
        if out is not None:
            if (not isinstance(out, np.ndarray) or out.dtype != dtype or out.size != Z.size
                    or not out.flags.c_contiguous or not out.flags.writeable):
                raise ValueError(f"out must be a writeable C-contiguous {dtype} ndarray with {Z.size} elements")
            final = out.reshape(n, n_tasks)
        else:
            final = np.empty((n, n_tasks), dtype=dtype)
        current = Z
        for s, stage in enumerate(self.stages_):
            codes = self.grouping_.apply_index(stage.index, groups)
            target = final if s + 1 == len(self.stages_) else np.empty_like(Z)
            stage.transform(current, codes, eps[s], row_offset=offset, out=target)
            current = target
        if out is not None:
            return out
        result = final.reshape(-1) if ndim == 1 and n_tasks == 1 else final
        return self._output("transform", result, scores, columns=self.get_feature_names_out())

    def fit_transform(self, scores, y=None, *, sensitive_features=None, sample_weight=None):
        """Fit on `scores` and transform them, reusing the fit's tie keys (row offset 0)."""
        return self.fit(scores, sensitive_features=sensitive_features, sample_weight=sample_weight).transform(
            scores, sensitive_features=sensitive_features
        )

    # -- serving (fairfast._base.serving) ----------------------------------------------

    def _serve(self, X, sensitive_features, y, row_offset):
        return {"scores": self.transform(X, sensitive_features=sensitive_features, row_offset=row_offset)}

    def _group_indexes(self):
        return [stage.index for stage in self.stages_]

    def _placeholder(self, output, X):
        return np.full(X.shape, np.nan, dtype=self.stages_[0].dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.one_d_array = False  # 1-D scores work (one task); the tag would make checks pass only 1-D X
        return tags
