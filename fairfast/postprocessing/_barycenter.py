"""Wasserstein-barycenter post-processing for strong demographic parity."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .. import _core
from .._groups import encode_groups, map_groups
from .._sorting import argsort_segments, sort_segments
from .._validation import (
    as_float_array,
    check_choice,
    check_fraction,
    check_row_offset,
    check_sample_weight,
    check_seed,
)

__all__ = ["WassersteinBarycenter"]

_MODES = {"step": 0, "linear": 1}


class WassersteinBarycenter(TransformerMixin, BaseEstimator):
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

    Parameters
    ----------
    epsilon : float in [0, 1], default=0.0
        Share of the original score kept: 0 is fully fair, 1 the identity.
    interpolation : {"step", "linear"}, default="step"
        ``"step"``: right-continuous ECDF and generalised-inverse quantiles (exact on
        calibration points). ``"linear"``: step ECDF and linearly interpolated
        quantiles on ``linspace(0, 1, n_k)``, as EquiPy's ``FairWasserstein``.
    jitter : float >= 0, default=0.0
        Width ``sigma`` of an additive ``U[-sigma, sigma]`` noise on every score (fit
        and transform), as in the paper's code; 0 breaks ties only (see above).
    group_weights : dict or array-like of shape (n_groups,), optional
        Barycentric weights :math:`p_k` (normalised); a dict maps group labels to
        weights. Defaults to the (weighted) calibration frequencies.
    min_group_size : int, default=2
        Groups with fewer calibration rows raise at fit.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the tie keys (and jitter). None draws a seed once at fit, stored in
        ``seed_``, so later transforms stay consistent with the fit.

    Attributes
    ----------
    groups_ : list
        Group labels (tuples when several sensitive columns define intersections).
    group_counts_ : ndarray of int64
        Calibration rows per group.
    group_weights_ : ndarray of float64
        The normalised :math:`p_k`.
    seed_ : int
        Seed actually used.
    sorted_scores_ : ndarray
        Calibration scores sorted within each group (concatenated by group).
    group_offsets_ : ndarray of int64, shape (n_groups + 1,)
        Group ``k`` occupies ``sorted_scores_[group_offsets_[k]:group_offsets_[k+1]]``.
    tie_keys_ : ndarray of uint64
        Tie keys in the same order.
    barycenter_table_ : ndarray of float64
        For group ``k``, the ``n_k + 1`` fair values indexed by a score's rank
        ``j = 0..n_k`` in the group (stored at ``group_offsets_[k] + k + j``).
    n_features_in_ : int
        Always 1.

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

    def __init__(
        self,
        *,
        epsilon=0.0,
        interpolation="step",
        jitter=0.0,
        group_weights=None,
        min_group_size=2,
        random_state=None,
    ):
        self.epsilon = epsilon
        self.interpolation = interpolation
        self.jitter = jitter
        self.group_weights = group_weights
        self.min_group_size = min_group_size
        self.random_state = random_state

    # -- parameters -----------------------------------------------------------------

    def _check_params(self):
        check_fraction(self.epsilon, "epsilon")
        check_choice(self.interpolation, "interpolation", tuple(_MODES))
        if isinstance(self.jitter, bool) or not isinstance(self.jitter, numbers.Real):
            raise TypeError(f"jitter must be a non-negative real number, got {type(self.jitter).__name__}")
        if not (np.isfinite(self.jitter) and self.jitter >= 0):
            raise ValueError(f"jitter must be finite and >= 0, got {self.jitter}")
        m = self.min_group_size
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
            raise ValueError(f"min_group_size must be an int >= 1, got {m!r}")

    def _resolve_group_weights(self, labels, mass):
        if self.group_weights is None:
            p = mass
        elif isinstance(self.group_weights, dict):
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
        return np.ascontiguousarray(p / p.sum(), dtype=np.float64)

    # -- fit / transform ---------------------------------------------------------------

    def fit(self, scores, y=None, *, sensitive_features, sample_weight=None):
        """Learn the groups' score distributions and the barycenter tables.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, 1)
            Calibration scores or regression outputs (finite). Labels are not needed.
        y : None
            Ignored; present for scikit-learn pipeline compatibility.
        sensitive_features : array-like, Series or DataFrame
            Group labels (any hashable values), or several columns whose combinations
            define the groups.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the calibration rows (weighted CDFs and group frequencies).

        Returns
        -------
        self
        """
        self._check_params()
        z = as_float_array(scores, "scores", allow_2d_column=True, min_rows=1)
        n = z.shape[0]
        codes, labels = encode_groups(sensitive_features, n)
        w = check_sample_weight(sample_weight, n)
        counts = np.bincount(codes, minlength=len(labels)).astype(np.int64)
        small = [labels[k] for k in np.flatnonzero(counts < self.min_group_size)]
        if small:
            raise ValueError(
                f"sensitive_features has groups with fewer than min_group_size={self.min_group_size} "
                f"calibration rows: {small[:5]}; merge them or lower min_group_size"
            )
        mass = counts.astype(np.float64) if w is None else np.bincount(codes, weights=w, minlength=len(labels))
        if (mass <= 0).any():
            zero = [labels[k] for k in np.flatnonzero(mass <= 0)]
            raise ValueError(f"sample_weight gives zero total weight to groups {zero[:5]}")
        self.seed_ = check_seed(self.random_state)
        values, rows, offsets = _core.barycenter.partition(
            z, codes, len(labels), self.seed_, 0, float(self.jitter), w is not None
        )
        cumw = None
        if w is None:
            sort_segments(values, offsets)
        else:
            order = argsort_segments(values, offsets)
            values, rows = values[order], rows[order]
        index = _core.barycenter.index(values, offsets)
        keys = np.zeros(n, dtype=np.uint64)
        _core.barycenter.tie_keys(values, offsets, *index, z, codes, self.seed_, 0, float(self.jitter), rows, keys)
        if w is not None:  # rows were reordered inside runs of ties, by tie key
            cumw = np.empty(n, dtype=np.float64)
            sorted_w = w[rows]
            for k in range(len(labels)):
                a, b = offsets[k], offsets[k + 1]
                np.cumsum(sorted_w[a:b], out=cumw[a:b])
        self.groups_ = labels
        self.group_counts_ = counts
        self.group_weights_ = self._resolve_group_weights(labels, mass)
        self.sorted_scores_ = values
        self.tie_keys_ = keys
        self.group_offsets_ = offsets
        self.barycenter_table_ = _core.barycenter.tables(
            values, cumw, offsets, self.group_weights_, _MODES[self.interpolation]
        )
        self._index = index
        self.n_features_in_ = 1
        return self

    def transform(self, scores, *, sensitive_features, row_offset=0, out=None):
        """Map scores to their fair values.

        Parameters
        ----------
        scores : array-like of shape (n_samples,) or (n_samples, 1)
            Finite scores; float32 stays float32. The output has the input's shape.
        sensitive_features : array-like, Series or DataFrame
            Group labels as at fit time; unseen groups raise.
        row_offset : int, default=0
            Global index of the first row, for chunked processing: transforming rows
            ``a:b`` with ``row_offset=a`` gives exactly the rows ``a:b`` of one call.
        out : ndarray, optional
            C-contiguous array of the scores' dtype and length to write into.

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "barycenter_table_")
        self._check_params()
        offset = check_row_offset(row_offset)
        shape = np.shape(scores)
        z = as_float_array(scores, "scores", allow_2d_column=True, check_finite=False)
        z = z.astype(self.sorted_scores_.dtype, copy=False)
        n = z.shape[0]
        codes = map_groups(sensitive_features, self.groups_, n)
        if not hasattr(self, "_index"):
            self._index = _core.barycenter.index(self.sorted_scores_, self.group_offsets_)
        start, lo, scale = self._index
        if out is not None:
            if not isinstance(out, np.ndarray) or out.dtype != z.dtype or out.size != n:
                raise ValueError(f"out must be a {z.dtype} ndarray with {n} elements")
            out = out.reshape(-1)
        try:
            result = _core.barycenter.transform(
                self.sorted_scores_, self.tie_keys_, self.group_offsets_, start, lo, scale,
                self.barycenter_table_, z, codes, float(self.epsilon), float(self.jitter),
                self.seed_, offset, out,
            )
        except ValueError as exc:
            if "finite" not in str(exc):
                raise
            bad = int(np.flatnonzero(~np.isfinite(z))[0])
            raise ValueError(f"scores must be finite; found {z[bad]!r} at position {bad}") from None
        return result.reshape(shape) if len(shape) == 2 else result

    def fit_transform(self, scores, y=None, *, sensitive_features, sample_weight=None):
        """Fit on `scores` and transform them, reusing the fit's tie keys (row offset 0)."""
        return self.fit(scores, sensitive_features=sensitive_features, sample_weight=sample_weight).transform(
            scores, sensitive_features=sensitive_features
        )

    # -- model-file state (see fairfast.io) ------------------------------------------

    _STATE_ARRAYS = (
        "group_counts_",
        "group_weights_",
        "sorted_scores_",
        "tie_keys_",
        "group_offsets_",
        "barycenter_table_",
    )

    def _get_state(self):
        """The fitted model as JSON-able metadata and a dict of arrays (no pickle).

        Returns
        -------
        meta : dict
            ``params`` (constructor parameters), ``groups`` (labels; lists for
            intersections, with ``groups_are_tuples``), ``seed``, ``n_features_in``.
        arrays : dict of str to ndarray
        """
        check_is_fitted(self, "barycenter_table_")
        multi = bool(self.groups_) and isinstance(self.groups_[0], tuple)
        params = self.get_params()
        if isinstance(params["group_weights"], dict):
            params["group_weights"] = None  # resolved into group_weights_
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None  # a generator; seed_ holds what was drawn
        meta = {
            "params": params,
            "groups": [list(g) for g in self.groups_] if multi else list(self.groups_),
            "groups_are_tuples": multi,
            "seed": int(self.seed_),
            "n_features_in": int(self.n_features_in_),
        }
        return meta, {name: getattr(self, name) for name in self._STATE_ARRAYS}

    @classmethod
    def _from_state(cls, meta, arrays):
        """Rebuild a fitted estimator from :meth:`_get_state` output (validated)."""
        est = cls(**meta["params"])
        est._check_params()
        groups = meta["groups"]
        est.groups_ = [tuple(g) for g in groups] if meta["groups_are_tuples"] else list(groups)
        est.seed_ = int(meta["seed"])
        est.n_features_in_ = int(meta["n_features_in"])
        for name in cls._STATE_ARRAYS:
            setattr(est, name, np.ascontiguousarray(arrays[name]))
        k = len(est.groups_)
        off = est.group_offsets_
        if off.dtype != np.int64 or off.shape != (k + 1,) or off[0] != 0 or (np.diff(off) <= 0).any():
            raise ValueError("model file is inconsistent: group_offsets_ does not describe the groups")
        n = int(off[-1])
        if est.sorted_scores_.dtype not in (np.float32, np.float64) or est.sorted_scores_.shape != (n,):
            raise ValueError("model file is inconsistent: sorted_scores_")
        if est.tie_keys_.dtype != np.uint64 or est.tie_keys_.shape != (n,):
            raise ValueError("model file is inconsistent: tie_keys_")
        if est.barycenter_table_.dtype != np.float64 or est.barycenter_table_.shape != (n + k,):
            raise ValueError("model file is inconsistent: barycenter_table_")
        if not np.isfinite(est.sorted_scores_).all() or not np.isfinite(est.barycenter_table_).all():
            raise ValueError("model file is inconsistent: non-finite values")
        est._index = _core.barycenter.index(est.sorted_scores_, off)
        return est

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_index", None)  # cheap to rebuild, and not part of the model
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        return tags
