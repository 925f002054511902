"""Baselines in the steering API: mean matching, MiMiC mean+covariance matching, LEACE."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._base import state as st
from .._base.frames import FrameOutputMixin, check_feature_names, feature_names_from_state, feature_names_state
from .._base.routing import SensitiveFeaturesConsumer, require_sensitive_features
from .._base.serving import Output, Serving, ServingMixin
from .._base.grouping import grouping_state, pop_grouping
from ._apply import AffineMaps, cached_maps, check_X, drop_cached_maps, fit_groups, require_finite, reset_derived
from ._apply import transform_groups
from ._gaussian import bures_map
from ._moments import _block_moments, _merge, shrink_covariance

__all__ = ["LEACE", "MeanCovarianceMatching", "MeanMatching"]


class _SteeringAPI(SensitiveFeaturesConsumer, FrameOutputMixin, ServingMixin, st.ModelFileMixin, OneToOneFeatureMixin,
                  TransformerMixin, BaseEstimator):
    """The scikit-learn side shared by the baselines: routing, set_output, feature names."""

    def _fit_input(self, X, sensitive_features):
        sensitive_features = require_sensitive_features(sensitive_features, self, "fit")
        reset_derived(self)  # the packed maps of an earlier fit are stale
        check_feature_names(self, X, reset=True)
        return check_X(X, min_rows=2), sensitive_features  # two groups at least

    def _transform_input(self, X, sensitive_features=None, *, required=True, check_finite=False):
        if required:
            require_sensitive_features(sensitive_features, self, "transform")
        check_feature_names(self, X, reset=False)
        return check_X(X, n_features=self.n_features_in_, check_finite=check_finite)

    def _state_with_names(self, meta, arrays):
        return {**meta, "feature_names_in": feature_names_state(self)}, arrays

    def __getstate__(self):
        return drop_cached_maps(super().__getstate__())  # packed maps are derived: rebuilt on first use


def _group_moments(X, sensitive_features):
    n, d = X.shape
    codes, groups, grouping = fit_groups(sensitive_features, n)
    if len(groups) < 2:
        raise ValueError(f"sensitive_features must contain at least 2 groups, got {len(groups)}")
    counts, means, scatter = _block_moments(X, codes.astype(np.intp), len(groups))
    return groups, counts, means, scatter, grouping


def _reference_index(reference, groups, counts):
    if reference is None:
        return int(np.argmax(counts))
    for k, g in enumerate(groups):
        if g == reference:
            return k
    raise ValueError(f"reference must be None (largest group) or one of the groups {groups}; got {reference!r}")


class _GroupMapBase(_SteeringAPI):
    _serving = Serving(inputs="features", sensitive=True, fit_labels="none", labels="none",
                       outputs=(Output("features", True, "float", "the steered features, one column per feature"),))

    def _serve(self, X, sensitive_features, y, row_offset):
        return {"features": self.transform(X, sensitive_features=sensitive_features)}

    def transform(self, X, y=None, *, sensitive_features=None):
        """Apply the fitted map of each row's group (float32 stays float32).

        Label-free: ``y`` is accepted (for a uniform batch interface) and ignored.
        Each output row depends only on its own row and group.
        """
        check_is_fitted(self, "linear_")
        Z = self._transform_input(X, sensitive_features)  # the kernel checks finiteness
        g = transform_groups(sensitive_features, self.grouping_, Z.shape[0])
        out = self._maps().apply(Z, g)
        return self._output("transform", out, X, columns=self.get_feature_names_out())

    def _maps(self):
        """The fitted maps, packed once per dtype for the batch-invariant kernel."""
        return cached_maps(self, "maps", (self.linear_, self.offset_, self.identity_),
                           lambda: AffineMaps(self.linear_, self.offset_, self.identity_))

    def fit_transform(self, X, y=None, *, sensitive_features=None):
        return self.fit(X, y, sensitive_features=sensitive_features).transform(X, sensitive_features=sensitive_features)

    def _get_state(self):
        """The fitted model as JSON-able metadata and a dict of arrays (no pickle).

        Returns
        -------
        meta : dict
            ``params``, ``groups`` (lists for intersections, with
            ``groups_are_tuples``), ``reference_index`` and ``n_features_in``.
        arrays : dict of str to ndarray
            The fitted arrays named in the class's ``_STATE_ARRAYS``.
        """
        check_is_fitted(self, "linear_")
        meta = self._group_meta()
        meta["grouping"], grouping_arrays = grouping_state(self.grouping_)
        return self._state_with_names(meta, {**{name: getattr(self, name + "_") for name in self._STATE_ARRAYS},
                                             **grouping_arrays})

    def _group_meta(self):
        groups, multi = st.labels_to_json(self.groups_)
        return {
            "params": st.params_to_json(self),
            "groups": groups,
            "groups_are_tuples": multi,
            "reference_index": st.identity_group(self.identity_),
            "n_features_in": int(self.n_features_in_),
        }

    @classmethod
    def _read_group_meta(cls, meta):
        """(estimator with its parameters, groups, reference index, n_features) from `meta`."""
        est = st.estimator_from_params(cls, meta["params"])
        groups = st.labels_from_json(meta["groups"], meta["groups_are_tuples"], "groups", minimum=2)
        ref = st.integer(meta["reference_index"], "reference_index", 0, len(groups))
        d = st.integer(meta["n_features_in"], "n_features_in", 1, 1 << 31)
        if est.reference is not None and _reference_index(est.reference, groups, None) != ref:
            raise ValueError("model state is inconsistent: reference_index does not point at the reference "
                             "parameter's group")
        return est, groups, ref, d

    @classmethod
    @st.state_errors
    def _from_state(cls, meta, arrays):
        """Rebuild a fitted estimator (its grouping, then the maps of :meth:`_read_maps`)."""
        try:
            groups = st.labels_from_json(meta["groups"], meta["groups_are_tuples"], "groups", minimum=2)
            grouping, arrays = pop_grouping(meta, arrays, groups)
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None
        est = cls._read_maps(meta, arrays)
        est.grouping_ = grouping
        reset_derived(est)
        return feature_names_from_state(est, meta.get("feature_names_in"))


class MeanMatching(_GroupMapBase):
    r"""Shift every group onto the reference group's mean: :math:`x \mapsto x + \mu_r - \mu_a`.

    Parameters
    ----------
    reference : group label or None
        Target group; None takes the largest group.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [2.0], [10.0], [12.0]]); a = [0, 0, 1, 1]
    >>> MeanMatching(reference=0).fit_transform(X, sensitive_features=a).ravel().tolist()
    [0.0, 2.0, 0.0, 2.0]
    """

    def __init__(self, *, reference=None):
        self.reference = reference

    def fit(self, X, y=None, *, sensitive_features=None):
        X, sensitive_features = self._fit_input(X, sensitive_features)
        groups, counts, means, _, self.grouping_ = _group_moments(X, sensitive_features)
        r = _reference_index(self.reference, groups, counts)
        G, d = means.shape
        self.linear_ = np.broadcast_to(np.eye(d), (G, d, d))
        self.offset_ = means[r] - means
        self.identity_ = np.zeros(G, dtype=bool)
        self.identity_[r] = True
        self.groups_, self.reference_, self.n_features_in_ = groups, groups[r], d
        return self

    def _maps(self):
        """Translations ``x + b`` (the linear parts are identities: no product)."""
        return cached_maps(self, "maps", (self.offset_, self.identity_),
                           lambda: AffineMaps(None, self.offset_, self.identity_))

    # ------------------------------------------------------------ model files
    # offset (G, d) and identity (G,); the linear parts are identities and not stored
    _STATE_ARRAYS = ("offset", "identity")


    @classmethod
    def _read_maps(cls, meta, arrays):
        """The fitted maps from :meth:`_get_state` output; inconsistent input raises ValueError."""
        try:
            est, groups, ref, d = cls._read_group_meta(meta)
            G = len(groups)
            st.check_names(arrays, cls._STATE_ARRAYS)
            offset = st.array(arrays, "offset", (G, d))
            identity = st.array(arrays, "identity", (G,), bool)
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None
        st.check_identity(identity, ref, G)
        if offset[ref].any():
            raise ValueError("model state is inconsistent: the reference group's offset must be zero")
        est.linear_ = np.broadcast_to(np.eye(d), (G, d, d))
        est.offset_ = offset
        est.identity_ = identity
        est.groups_, est.reference_, est.n_features_in_ = groups, groups[ref], d
        return est


class MeanCovarianceMatching(_GroupMapBase):
    r"""MiMiC mean+covariance matching (Singh et al., ICML 2024).

    Each group is moved onto the reference group with the Gaussian OT map
    :math:`x \mapsto \mu_r + A_a(x - \mu_a)`,
    :math:`A_a = S_a^{-1/2}(S_a^{1/2} S_r S_a^{1/2})^{1/2} S_a^{-1/2}`: label-free, one
    map per group, so the moved group's mean and covariance equal the reference's.

    Parameters
    ----------
    reference : group label or None
        Target group; None takes the largest group.
    shrinkage : "oas", float or None
        Covariance regularisation (:func:`shrink_covariance`); the moved covariance
        equals the *regularised* reference covariance.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = np.repeat([0, 1], 500); X = rng.normal(size=(1000, 2)) * np.where(a == 1, 3.0, 1.0)[:, None]
    >>> Xs = MeanCovarianceMatching(reference=0, shrinkage=None).fit_transform(X, sensitive_features=a)
    >>> bool(np.allclose(np.cov(Xs[a == 1].T), np.cov(X[a == 0].T)))
    True
    """

    def __init__(self, *, reference=None, shrinkage="oas"):
        self.reference = reference
        self.shrinkage = shrinkage

    def fit(self, X, y=None, *, sensitive_features=None):
        X, sensitive_features = self._fit_input(X, sensitive_features)
        groups, counts, means, scatter, self.grouping_ = _group_moments(X, sensitive_features)
        if (counts < 2).any():
            raise ValueError("every group needs at least 2 rows to estimate its covariance")
        r = _reference_index(self.reference, groups, counts)
        G, d = means.shape
        covs = [shrink_covariance(scatter[a] / (counts[a] - 1), counts[a], self.shrinkage) for a in range(G)]
        self.linear_ = np.empty((G, d, d))
        self.offset_ = np.empty((G, d))
        for a in range(G):
            A = np.eye(d) if a == r else bures_map(covs[a], covs[r])
            self.linear_[a] = A
            self.offset_[a] = means[r] - A @ means[a]
        self.identity_ = np.arange(G) == r
        self.groups_, self.reference_, self.n_features_in_ = groups, groups[r], d
        self.covariances_ = np.stack(covs)
        self.means_ = means
        return self

    # ------------------------------------------------------------ model files
    # linear (G, d, d), offset (G, d), identity (G,), covariances (G, d, d), means (G, d)
    _STATE_ARRAYS = ("linear", "offset", "identity", "covariances", "means")


    @classmethod
    def _read_maps(cls, meta, arrays):
        """The fitted maps from :meth:`_get_state` output; inconsistent input raises ValueError."""
        try:
            est, groups, ref, d = cls._read_group_meta(meta)
            st.check_shrinkage(est.shrinkage)
            G = len(groups)
            st.check_names(arrays, cls._STATE_ARRAYS)
            linear = st.array(arrays, "linear", (G, d, d))
            offset = st.array(arrays, "offset", (G, d))
            identity = st.array(arrays, "identity", (G,), bool)
            covs = st.array(arrays, "covariances", (G, d, d))
            means = st.array(arrays, "means", (G, d))
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None
        st.check_identity(identity, ref, G)
        if not np.array_equal(linear[ref], np.eye(d)):
            raise ValueError("model state is inconsistent: the reference group's linear map must be the identity")
        st.check_covariances(covs, "covariances")
        st.check_offsets(offset, linear, np.broadcast_to(means[ref], (G, d)), means, "offset")
        est.linear_, est.offset_, est.identity_ = linear, offset, identity
        est.groups_, est.reference_, est.n_features_in_ = groups, groups[ref], d
        est.covariances_, est.means_ = covs, means
        return est


class LEACE(_SteeringAPI):
    r"""LEAst-squares Concept Erasure (Belrose et al., NeurIPS 2023).

    With :math:`Z` the one-hot group indicator, :math:`W = \Sigma_{XX}^{-1/2}`
    (pseudo-inverse root, eigenvalues below ``d * eps * max`` dropped) and :math:`U`
    an orthonormal basis of the column space of :math:`W\Sigma_{XZ}` (singular values
    ``<= svd_tol`` dropped),

    .. math:: r(x) = x - W^{+} U U^\top W (x - \mu_X).

    Afterwards :math:`\mathrm{Cov}(r(X), Z) = 0` -- the class-conditional means of all
    groups coincide, so no linear predictor of the group beats a constant (for convex
    losses) -- and the edit :math:`E\|W(r(X) - X)\|^2` is the smallest possible among
    such affine erasers; the map is an (oblique) projection, hence idempotent. It
    needs no group at transform time.

    Parameters
    ----------
    shrinkage : "oas", float or None
        Regularisation of :math:`\Sigma_{XX}`. Default None (plain covariance with
        Bessel's correction, as the reference implementation without shrinkage).
    svd_tol : float
        Singular values of :math:`W\Sigma_{XZ}` at or below it are discarded
        (absolute, as in the ``concept-erasure`` package).

    Attributes
    ----------
    mean_ : ndarray (d,)
    proj_left_, proj_right_ : ndarrays (d, r), (r, d)
        :math:`W^{+}U` and :math:`U^\top W`; the projection is ``I - proj_left_ @ proj_right_``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 2000); X = rng.normal(size=(2000, 3)) + a[:, None]
    >>> Xe = LEACE().fit(X, sensitive_features=a).transform(X)
    >>> bool(np.allclose(Xe[a == 0].mean(0), Xe[a == 1].mean(0)))
    True
    """

    _serving = Serving(inputs="features", sensitive=False, fit_sensitive=True, fit_labels="none", labels="none",
                       outputs=(Output("features", True, "float", "the features with the concept erased"),))

    def __init__(self, *, shrinkage=None, svd_tol=0.01):
        self.shrinkage = shrinkage
        self.svd_tol = svd_tol

    def fit(self, X, y=None, *, sensitive_features=None):
        if isinstance(self.svd_tol, bool) or not isinstance(self.svd_tol, numbers.Real) or not self.svd_tol > 0:
            raise ValueError(f"svd_tol must be a positive number; got {self.svd_tol!r}")
        X, sensitive_features = self._fit_input(X, sensitive_features)
        n, d = X.shape
        groups, counts, means, scatter, self.grouping_ = _group_moments(X, sensitive_features)
        G = len(groups)
        tn, tm, ts = counts[:1], means[:1], scatter[:1]
        for a in range(1, G):
            tn, tm, ts = _merge(tn, tm, ts, counts[a : a + 1], means[a : a + 1], scatter[a : a + 1])
        mean = tm[0]
        sxx = shrink_covariance(ts[0] / (n - 1), n, self.shrinkage)
        # Cov(X, one-hot Z): column a is n_a (mu_a - mu) / (n - 1)
        sxz = (means - mean).T * (counts / (n - 1))
        lam, V = np.linalg.eigh((sxx + sxx.T) / 2)
        keep = lam > lam[-1] * d * np.finfo(np.float64).eps
        lam = np.clip(lam, 0.0, None)
        root = np.sqrt(np.where(keep, lam, 1.0))
        W = (V * np.where(keep, 1.0 / root, 0.0)) @ V.T
        W_pinv = (V * np.where(keep, root, 0.0)) @ V.T
        u, s, _ = np.linalg.svd(W @ sxz, full_matrices=False)
        U = u[:, s > self.svd_tol]
        self.mean_ = mean
        self.proj_left_ = W_pinv @ U
        self.proj_right_ = U.T @ W
        self.groups_, self.n_features_in_ = groups, d
        return self

    def transform(self, X, y=None, *, sensitive_features=None):
        """Erase the concept (``y`` and ``sensitive_features`` are accepted and ignored)."""
        check_is_fitted(self, "proj_left_")
        X_in, X = X, self._transform_input(X, required=False)  # the kernel checks finiteness
        if self.proj_left_.shape[1] == 0:  # nothing to erase
            require_finite(X)
            out = X.copy()
        else:
            # x - L (R (x - mean)): two thin products through the batch-invariant kernel (a
            # row's result never depends on its batch, as it would through BLAS)
            right, left = cached_maps(self, "maps", (self.mean_, self.proj_left_, self.proj_right_), lambda: (
                AffineMaps([self.proj_right_], center=self.mean_[None]), AffineMaps([-self.proj_left_])))
            out = left.apply(right.apply(X), init=X)
        return self._output("transform", out, X_in, columns=self.get_feature_names_out())

    def fit_transform(self, X, y=None, *, sensitive_features=None):
        return self.fit(X, y, sensitive_features=sensitive_features).transform(X)

    def _serve(self, X, sensitive_features, y, row_offset):
        return {"features": self.transform(X)}

    # ------------------------------------------------------------ model files
    _STATE_ARRAYS = ("mean", "proj_left", "proj_right")

    def _get_state(self):
        """The fitted eraser as JSON-able metadata and a dict of arrays (no pickle).

        Returns
        -------
        meta : dict
            ``params``, ``groups`` (lists for intersections, with
            ``groups_are_tuples``), ``n_features_in`` and ``rank`` (the number of
            erased directions).
        arrays : dict of str to ndarray
            ``mean`` (d,), ``proj_left`` (d, rank) and ``proj_right`` (rank, d).
        """
        check_is_fitted(self, "proj_left_")
        groups, multi = st.labels_to_json(self.groups_)
        meta = {
            "params": st.params_to_json(self),
            "groups": groups,
            "groups_are_tuples": multi,
            "n_features_in": int(self.n_features_in_),
            "rank": int(self.proj_left_.shape[1]),
        }
        meta["grouping"], grouping_arrays = grouping_state(self.grouping_)
        return self._state_with_names(meta, {**{name: getattr(self, name + "_") for name in self._STATE_ARRAYS},
                                             **grouping_arrays})

    @classmethod
    @st.state_errors
    def _from_state(cls, meta, arrays):
        """Rebuild a fitted estimator from :meth:`_get_state` output; inconsistent input raises ValueError."""
        try:
            est = st.estimator_from_params(cls, meta["params"])
            st.check_shrinkage(est.shrinkage)
            st.real(est.svd_tol, "svd_tol")
            if not est.svd_tol > 0:
                raise ValueError(f"svd_tol must be a positive number; got {est.svd_tol!r}")
            groups = st.labels_from_json(meta["groups"], meta["groups_are_tuples"], "groups", minimum=2)
            grouping, arrays = pop_grouping(meta, arrays, groups)
            d = st.integer(meta["n_features_in"], "n_features_in", 1, 1 << 31)
            r = st.integer(meta["rank"], "rank", 0, min(d, len(groups)) + 1)
            st.check_names(arrays, cls._STATE_ARRAYS)
            mean = st.array(arrays, "mean", (d,))
            left = st.array(arrays, "proj_left", (d, r))
            right = st.array(arrays, "proj_right", (r, d))
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None
        # proj_right @ proj_left = U^T W W^+ U = I: the eraser is a projection
        if not np.allclose(right @ left, np.eye(r), rtol=0.0, atol=1e-6):
            raise ValueError("model state is inconsistent: proj_right @ proj_left must be the identity "
                             "(the eraser is a projection)")
        est.mean_, est.proj_left_, est.proj_right_ = mean, left, right
        est.groups_, est.n_features_in_, est.grouping_ = groups, d, grouping
        reset_derived(est)
        return feature_names_from_state(est, meta.get("feature_names_in"))

    @property
    def projection_(self):
        """The dense projection matrix ``I - proj_left_ @ proj_right_``."""
        check_is_fitted(self, "proj_left_")
        return np.eye(self.n_features_in_) - self.proj_left_ @ self.proj_right_
