"""GaussianSteering: moves each subgroup's features onto the KL-nearest ideal distribution."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._base.validation import check_choice
from .._base import state as st
from .._base.frames import FrameOutputMixin, check_feature_names
from .._base.routing import SensitiveFeaturesConsumer, require_sensitive_features
from .._base.serving import Output, Serving, ServingMixin
from . import _label_free, _steering_state
from ._steering_state import _group_index, _is_auto
from ._all_subgroups import solve_all_subgroups
from ._apply import AffineMaps, all_equal, cached_maps, check_X, derived, drop_cached_maps, encode_labels, fit_groups
from ._apply import require_finite, reset_derived, stack_maps, times, transform_groups
from ._closed_form import shared_affirmative, whitened_map
from ._gaussian import bures_map, cholesky
from ._moments import MAX_SHRINKAGE, SubgroupMoments, _block_moments, _pooled_block_moments, shared_covariances
from ._programs import affirmative_action, pinsker_bounds, prior_kl, small_blas

__all__ = ["GaussianSteering"]


class GaussianSteering(SensitiveFeaturesConsumer, FrameOutputMixin, ServingMixin, st.ModelFileMixin,
                       OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    r"""Optimal steering of features to the KL-nearest ideal Gaussian distribution.

    Each (label ``i``, group ``a``) subgroup is modelled as :math:`N(\mu_{ia}, S_{ia})`.
    ``fit`` solves a steering program (spec sections 3.1-3.4) for target laws
    :math:`\tilde P_{ia}` that are *ideal*: every group is the image of one group under
    a single invertible affine map shared by the classes, so the Bayes-optimal
    classifier of the steered data is exactly fair (demographic parity, equal
    opportunity, equalized odds) for every cost, once the priors are reweighted to
    :math:`q(a)q(y)` (:meth:`sample_weights`; condition G3). The label-aware map of a
    subgroup, :math:`T_{ia}(x) = \tilde\mu_{ia} + A_{ia}(x - \mu_{ia})`, is stored as
    ``(A, b)`` and applied with one matrix product per subgroup block.

    **Deployment modes.** The guarantee holds for the steered distribution, whose
    rows are moved with their labels. How a model meets it:

    (a) *preprocessing*: ``fit_transform(X_train, y_train)`` (or ``transform`` with the
        training labels) steers the labelled training rows; a downstream model is
        trained on them with :meth:`sample_weights` and applied to raw rows;
    (b) *inference-time, label-free* -- ``transform(X)`` without ``y`` and
        ``unlabeled="mixture"`` (the default): one map per group, from the group's
        mixture to the steered mixture (MiMiC-style, moment matched);
    (c) *inference-time, soft* -- ``transform(X)`` with ``unlabeled="soft"``: the
        label-aware maps weighted by the fitted Gaussian model's posterior
        :math:`p(i \mid x, a)` (:meth:`class_posterior`), or by any classifier's
        probabilities with :meth:`soft_transform`.

    Neither (b) nor (c) carries the guarantee; moving *test* rows with their true
    labels is for evaluations only (:func:`fairfast.steering.oracle_transform`).
    :func:`fairfast.steering.deployment_views` builds the inputs of every mode.

    Parameters
    ----------
    family : {"normal", "lognormal"}
        ``"lognormal"`` fits the Gaussian model to ``log X`` (``X > 0``) and maps
        :math:`x \mapsto \exp(\tilde\mu + A(\log x - \mu))`; KL and ideality are
        invariant under the common bijection ``log``.
    program : {"affirmative", "all_subgroups"}
        ``"affirmative"``: the reference group is kept and every other group is
        projected onto affine images of it (groups decouple). ``"all_subgroups"``:
        every group moves (forward direction; ``d = 1``: profile over the scales and
        golden section; ``d > 1``: L-BFGS over the maps from several starts, see
        :func:`all_subgroups_gaussian`).
    reference : "auto" or a group label
        Reference group of ``"affirmative"``. ``"auto"`` takes the group whose choice
        gives the smallest total KL (spec open point 4).
    direction : {"forward", "reverse"}
        ``"forward"`` minimises :math:`KL(\tilde D \| D)` (class weights
        :math:`\tilde q(i \mid a) = q(i)`), ``"reverse"`` :math:`KL(D \| \tilde D)`
        (weights :math:`q(i \mid a)`).
    covariance : {"full", "shared"}
        ``"full"``: one covariance per subgroup (closed form when ``d = 1``, L-BFGS
        otherwise). ``"shared"``: one pooled within-class covariance per group, which
        gives the closed form in any dimension; float32 input is then fitted with
        float32 covariances, factors and maps where the covariance is well
        conditioned (see :func:`~fairfast.steering._gaussian.cholesky`). A subgroup
        with fewer than ``pooled_below * d`` rows always uses its group's pooled
        covariance.
    shrinkage : "oas", float or None
        Covariance regularisation (see :func:`shrink_covariance`).
    pooled_below : float
        Fallback threshold, in multiples of the dimension.
    coupling : {"ot", "whitened"}
        How rows are moved onto their target law (the target laws, KL and guarantees
        are the same). ``"ot"``: the quadratic-cost OT (Bures) map, the minimal mean
        squared displacement (one or two d x d eigendecompositions per subgroup).
        ``"whitened"``: the OT map after whitening by the subgroup covariance's
        Cholesky factor; with the closed forms it is the identity plus a rank-K term
        and needs no eigendecomposition (the fast choice for large ``d``).
    unlabeled : {"mixture", "soft"}
        What :meth:`transform` does when ``y`` is not given: deployment mode (b)
        ``"mixture"`` or (c) ``"soft"`` (see above). Neither carries the guarantee.

    Attributes
    ----------
    classes_, groups_ : list
        Labels and group labels seen in fit.
    reference_ : group label or None
        Reference group used (None for ``"all_subgroups"``).
    priors_ : ndarray of shape (n_groups, n_classes)
        Empirical :math:`q_{ia}`.
    means_, covariances_ : ndarrays (n_groups, n_classes, d[, d])
        Estimated subgroup moments (of ``log X`` for ``"lognormal"``). With
        ``covariance="shared"`` the d x d arrays are read-only views repeating each
        group's matrix over the classes.
    target_means_, target_covariances_ : ndarrays
        The ideal target laws.
    linear_, offset_ : ndarrays (n_groups, n_classes, d, d) and (n_groups, n_classes, d)
        The maps ``(A, b)``: ``x -> A x + b``.
    identity_ : ndarray of bool (n_groups, n_classes)
        Maps that are the identity (the reference group's).
    kl_ : float
        KL of the steered distribution from the original, prior part included
        (direction as fitted).
    feature_kl_ : float
        The program's objective (the feature part of ``kl_``).
    subgroup_kl_ : ndarray (n_groups, n_classes)
    guarantees_ : dict
        :func:`pinsker_bounds` of ``kl_`` (spec section 5; constants [U]).
    pooled_ : ndarray of bool (n_groups, n_classes)
        Subgroups that use their group's pooled covariance.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 4000); y = rng.integers(0, 2, 4000)
    >>> X = rng.normal(size=(4000, 1)) + np.where(a == 1, 1.0 * y, 2.0 * y)[:, None]
    >>> st = GaussianSteering(reference=0).fit(X, y, sensitive_features=a)
    >>> X_train_steered = st.transform(X, y, sensitive_features=a)   # (a) preprocessing
    >>> X_deployed = st.transform(X, sensitive_features=a)          # (b) label-free
    >>> X_deployed.shape
    (4000, 1)

    The target laws are ideal: their Bayes rules have no equal-opportunity gap.

    >>> from fairfast.steering import bayes_fairness_gaps
    >>> gaps = bayes_fairness_gaps(st.target_means_, st.target_covariances_[..., 0, 0], np.full((2, 2), 0.25))
    >>> bool(gaps["eo_gap"].max() < 1e-9)
    True
    """

    _serving = Serving(
        inputs="features", sensitive=True, fit_labels="required", labels="optional",
        outputs=(Output("features", True, "float", "the steered features (label-free map of `unlabeled` without "
                        "labels; the label-aware maps with them)"),),
    )

    def __init__(
        self,
        *,
        family="normal",
        program="affirmative",
        reference="auto",
        direction="forward",
        covariance="full",
        shrinkage="oas",
        pooled_below=2.0,
        coupling="ot",
        unlabeled="mixture",
    ):
        self.family = family
        self.program = program
        self.reference = reference
        self.direction = direction
        self.covariance = covariance
        self.shrinkage = shrinkage
        self.pooled_below = pooled_below
        self.coupling = coupling
        self.unlabeled = unlabeled

    def _check_params(self):
        check_choice(self.family, "family", ("normal", "lognormal"))
        check_choice(self.program, "program", ("affirmative", "all_subgroups"))
        check_choice(self.direction, "direction", ("forward", "reverse"))
        check_choice(self.covariance, "covariance", ("full", "shared"))
        check_choice(self.coupling, "coupling", ("ot", "whitened"))
        check_choice(self.unlabeled, "unlabeled", ("mixture", "soft"))
        if not (self.shrinkage is None or self.shrinkage == "oas"
                or (isinstance(self.shrinkage, numbers.Real) and not isinstance(self.shrinkage, bool)
                    and 0 <= self.shrinkage <= MAX_SHRINKAGE)):
            raise ValueError(f"shrinkage must be None, 'oas' or a float in [0, {MAX_SHRINKAGE:g}]; got "
                             f"{self.shrinkage!r}")
        if isinstance(self.pooled_below, bool) or not isinstance(self.pooled_below, numbers.Real) \
                or not self.pooled_below >= 0:
            raise ValueError(f"pooled_below must be a non-negative number; got {self.pooled_below!r}")
        if self.program == "all_subgroups" and self.direction != "forward":
            raise ValueError("program='all_subgroups' supports direction='forward' only")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, *, sensitive_features=None):
        """Estimate subgroup moments and solve the steering program; returns self. ``y`` is
        required (maps are per (label, group); label-free: MeanCovarianceMatching, LEACE)."""
        self._check_params()
        sensitive_features = require_sensitive_features(sensitive_features, self, "fit")
        check_feature_names(self, X, reset=True)
        lognormal = self.family == "lognormal"
        X = check_X(X, positive=lognormal, min_rows=2)
        n, d = X.shape
        Z = np.log(X) if lognormal else X
        g_codes, groups, grouping = fit_groups(sensitive_features, n)
        if y is None:
            raise ValueError("y is required (per (label, group) maps): GaussianSteering requires y to be passed, "
                             "but the target y is None")
        y_codes, classes = encode_labels(y, n)
        G, K = len(groups), len(classes)
        if G < 2:
            raise ValueError(f"sensitive_features must contain at least 2 groups, got {G}")
        codes = (g_codes * K + y_codes).astype(np.intp)
        if self.covariance == "shared":  # one pooled within-class scatter per group is all it uses
            counts, means, scatter = _pooled_block_moments(Z, codes, G, K)
        else:
            counts, means, scatter = _block_moments(Z, codes, G * K)
        counts, means = counts.reshape(G, K), means.reshape(G, K, d)
        small = np.argwhere(counts < 2)
        if small.size:
            a, i = small[0]
            raise ValueError(
                f"every (label, group) subgroup needs at least 2 rows; label {classes[i]!r} in group "
                f"{groups[a]!r} has {int(counts[a, i])}"
            )
        reset_derived(self)
        with small_blas(d):
            self._solve(counts, means, scatter, n, groups, classes)
        self.grouping_ = grouping
        return self

    def _covariances(self, counts, means, scatter):
        """(covs (G, K, d, d) -- views of (G, d, d) when shared --, pooled flags, group-level covs or None)."""
        G, K, d = means.shape
        if self.covariance == "shared":
            group_covs = shared_covariances(scatter, counts, self.shrinkage)
            return np.broadcast_to(group_covs[:, None], (G, K, d, d)), np.ones((G, K), dtype=bool), group_covs
        mom = SubgroupMoments(d)
        mom.counts_, mom.means_, mom.scatter_ = counts, means, scatter.reshape(G, K, d, d)
        covs, pooled = mom.covariances(shrinkage=self.shrinkage, pooled_below=self.pooled_below)
        return covs, pooled, None

    def _solve(self, counts, mu, scatter, n, groups, classes):
        G, K, d = mu.shape
        covs, pooled, group_covs = self._covariances(counts, mu, scatter)
        del scatter  # the covariances were computed in place or copied: free what is left
        q = counts / n
        qa, qy = q.sum(axis=1), q.sum(axis=0)
        tq = qa[:, None] * qy[None, :]
        if self.program == "all_subgroups":
            ref, t_means, t_covs, sub_kl, feature_kl = None, *solve_all_subgroups(mu, covs, tq)
            lin_parts = self._subgroup_maps(covs, t_covs, None, range(G), {})
        else:
            ref, t_means, t_covs, sub_kl, feature_kl, low_rank, factors = self._affirmative(
                mu, covs, group_covs, q, groups)
            lin_parts = self._subgroup_maps(covs, t_covs, low_rank, [a for a in range(G) if a != ref], factors)
        dtype = np.float64 if group_covs is None else group_covs.dtype
        linear, identity = stack_maps(lin_parts, ref, G, K, d, dtype, shared=group_covs is not None)
        offset = np.zeros((G, K, d))
        for a in range(G):
            if a != ref:  # b = mu~ - A mu, with A as stored (its float32 rounding included)
                offset[a] = t_means[a] - times(linear[a], mu[a])
        if self.direction == "forward":
            self.kl_ = prior_kl(q) + float((tq * sub_kl).sum())
        else:
            self.kl_ = float((q * np.log(q / tq)).sum()) + float((q * sub_kl).sum())
        self.n_features_in_, self.classes_, self.groups_ = d, classes, groups
        self.reference_ = None if ref is None else groups[ref]
        self.priors_, self.means_, self.covariances_, self.pooled_ = q, mu, covs, pooled
        self.target_means_, self.target_covariances_ = t_means, t_covs
        self.linear_, self.offset_, self.identity_ = linear, offset, identity
        self.subgroup_kl_, self.feature_kl_ = sub_kl, float(feature_kl)
        self.guarantees_ = pinsker_bounds(self.kl_)

    def _affirmative(self, mu, covs, group_covs, q, groups):
        G, K, d = mu.shape
        qa, qy = q.sum(axis=1), q.sum(axis=0)
        single = group_covs is not None and group_covs.dtype == np.float32
        factors = {}

        def factor(a):  # each group's covariance is factored once, whatever the reference
            if a not in factors:
                factors[a] = cholesky(group_covs[a], f"the covariance of group {groups[a]!r}", single=single)
            return factors[a]

        shared = [all_equal(covs[a]) for a in range(G)]
        refs = range(G) if _is_auto(self.reference) else [_group_index(self.reference, groups)]
        best = None
        for r in refs:
            sols, total = {}, 0.0
            for a in range(G):
                if a == r:
                    continue
                w = qy if self.direction == "forward" else q[a] / qa[a]
                if group_covs is not None:
                    s = shared_affirmative(mu[r], factor(r), mu[a], factor(a), group_covs[a], w, self.direction,
                                           group_covs.dtype)
                    sols[a] = (s["means"], s["cov"], s["class_kl"], s["low_rank"])
                else:
                    s = affirmative_action(mu[r], covs[r, 0] if shared[r] else covs[r], mu[a],
                                           covs[a, 0] if shared[a] else covs[a], w, direction=self.direction)
                    sols[a] = (s["means"], s["covs"], s["class_kl"], s["low_rank"])
                total += qa[a] * s["kl"]
            if best is None or total < best[0]:
                best = (total, r, sols)
        feature_kl, ref, sols = best
        t_means = mu.copy()
        if group_covs is not None:  # one target covariance per group, viewed per class
            t_group = np.empty_like(group_covs)
            t_group[ref] = group_covs[ref]
            for a, s in sols.items():
                t_group[a] = s[1]
            t_covs = np.broadcast_to(t_group[:, None], covs.shape)
        else:
            t_covs = np.empty_like(covs)
            t_covs[ref] = covs[ref]
            for a, s in sols.items():
                t_covs[a] = s[1]
        sub_kl = np.zeros((G, K))
        low_rank = {}
        for a, (means, _, class_kl, lr) in sols.items():
            t_means[a], sub_kl[a], low_rank[a] = means, class_kl, lr
        return ref, t_means, t_covs, sub_kl, feature_kl, low_rank, factors

    def _subgroup_maps(self, covs, t_covs, low_rank, moving, factors):
        """The linear parts: {group: (d, d) map shared by the classes, or a list per class}."""
        G, K, d = covs.shape[:3]
        out = {}
        for a in moving:
            if all_equal(covs[a]) and all_equal(t_covs[a]):
                S, T = covs[a, 0], t_covs[a, 0]
                if self.coupling == "ot":
                    out[a] = bures_map(S, T)
                else:
                    lr = None if low_rank is None else low_rank.get(a)
                    out[a] = whitened_map(S, T, lr, L=factors.get(a))
            else:
                out[a] = [bures_map(covs[a, i], t_covs[a, i]) if self.coupling == "ot"
                          else whitened_map(covs[a, i], t_covs[a, i]) for i in range(K)]
        return out

    # ------------------------------------------------------------ transform
    def transform(self, X, y=None, *, sensitive_features=None):
        """Move rows towards the steered distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional
            Labels of *training* rows (deployment mode (a), preprocessing): each row is
            moved with its subgroup's label-aware map. Without ``y``: the label-free
            inference-time map selected by ``unlabeled`` -- mode (b) ``"mixture"``
            (default) or (c) ``"soft"``. No fairness guarantee without labels; to
            evaluate with the true labels of test rows, use :func:`oracle_transform`.
        sensitive_features : array-like
            The group of every row (required in every mode).

        Returns
        -------
        ndarray of shape (n_samples, n_features), or the ``set_output`` container
            float32 for float32 input. Each output row depends only on its own row,
            group and label (no state across calls or rows).
        """
        if y is None:
            return self._label_free(X, sensitive_features, self.unlabeled)
        Z, g, d = self._prepare(X, sensitive_features)
        G, K = self.priors_.shape
        yc, _ = encode_labels(y, Z.shape[0], self.classes_)
        return self._finish(self._label_aware_maps().apply(Z, g * K + yc), X)

    def _serve(self, X, sensitive_features, y, row_offset):
        return {"features": self.transform(X, y, sensitive_features=sensitive_features)}

    def _invalid_inputs(self, X):
        if self.family != "lognormal":
            return super()._invalid_inputs(X)
        return ~(np.asarray(X) > 0).all(axis=1)

    def _prepare(self, X, sensitive_features, check_finite=False):
        check_is_fitted(self, "linear_")
        sensitive_features = require_sensitive_features(sensitive_features, self, "transform")
        check_feature_names(self, X, reset=False)
        lognormal = self.family == "lognormal"
        X = check_X(X, n_features=self.n_features_in_, positive=lognormal, check_finite=check_finite)
        Z = np.log(X) if lognormal else X
        return Z, transform_groups(sensitive_features, self.grouping_, Z.shape[0]), X.shape[1]

    def _finish(self, out, X):
        if self.family == "lognormal":
            np.exp(out, out=out)
        return self._output("transform", out, X, columns=self.get_feature_names_out())

    def _label_free(self, X, sensitive_features, mode, proba=None):
        Z, g, d = self._prepare(X, sensitive_features, check_finite=mode != "mixture")
        if mode == "mixture":
            cache = derived(self)
            if "mixture" not in cache:
                cache["mixture"] = _label_free.mixture_maps(self)
            lin, off = cache["mixture"]
            maps = cached_maps(self, "mixture_packed", (lin, off, self.identity_),
                               lambda: AffineMaps(lin, off, self.identity_[:, 0]))
            out = maps.apply(Z, g)
        else:
            require_finite(Z)
            out = _label_free.soft_combine(self, Z, g, proba)
        return self._finish(out, X)

    def _label_aware_maps(self):
        """The (G*K) label-aware maps, code ``group * n_classes + label`` (packed once per dtype)."""
        G, K, d = self.offset_.shape

        def build():  # views of the fitted arrays: maps repeated over the classes are packed once
            return AffineMaps([self.linear_[a, i] for a in range(G) for i in range(K)],
                              self.offset_.reshape(G * K, d), self.identity_.reshape(-1))

        return cached_maps(self, "label_aware", (self.linear_, self.offset_, self.identity_), build)

    def __getstate__(self):  # of the derived data only the label-free maps (arrays) are pickled
        return drop_cached_maps(super().__getstate__(), keep=("mixture",))

    def class_posterior(self, X, *, sensitive_features):
        r"""Posterior :math:`p(i \mid x, a)` of the fitted Gaussian model (columns: ``classes_``).

        The quadratic (``covariance="full"``) or linear (``"shared"``) discriminant of
        each group with the class priors :math:`q(i \mid a)`; it drives
        ``unlabeled="soft"``.
        """
        Z, g, d = self._prepare(X, sensitive_features, check_finite=True)
        return _label_free.posterior(self, Z, g)

    def soft_transform(self, X, proba, *, sensitive_features):
        r"""Deployment mode (c) with any classifier: :math:`\sum_i p_i(x)\, T_{ia}(x)`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        proba : array-like of shape (n_samples, n_classes)
            Class probabilities :math:`p(i \mid x, a)` of each row, columns in the order
            of ``classes_`` (e.g. ``predict_proba`` of a classifier fitted on the raw
            training rows and their groups); rows must sum to 1.
        sensitive_features : array-like

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        n = np.shape(X)[0] if np.ndim(X) == 2 else None
        P = _label_free.check_proba(proba, n, len(self.classes_))
        return self._label_free(X, sensitive_features, "soft", P)

    def fit_transform(self, X, y=None, *, sensitive_features=None):
        """``fit`` then the label-aware ``transform`` of the same rows (deployment mode (a))."""
        return self.fit(X, y, sensitive_features=sensitive_features).transform(
            X, y, sensitive_features=sensitive_features
        )

    def sample_weights(self, y, *, sensitive_features):
        r"""Prior reweighting :math:`q(a)q(y)/q(y,a)` (fitted priors) for training on steered data.

        Together with the feature maps this makes the steered training distribution
        ideal (condition G3: equal base rates across groups).
        """
        check_is_fitted(self, "priors_")
        n = len(y)
        g = transform_groups(sensitive_features, self.grouping_, n)
        yc, _ = encode_labels(y, n, self.classes_)
        q = self.priors_
        target = q.sum(axis=1, keepdims=True) * q.sum(axis=0, keepdims=True)
        return (target / q)[g, yc]

    # ------------------------------------------------------------ model files
    _STATE_ARRAYS = _steering_state.STATE_ARRAYS

    def _get_state(self):
        """The fitted model as JSON-able metadata and arrays (no pickle); see ``_steering_state.get_state``."""
        return _steering_state.get_state(self)

    @classmethod
    def _from_state(cls, meta, arrays):
        """Rebuild a fitted estimator from :meth:`_get_state` output; inconsistent input raises ValueError."""
        return _steering_state.from_state(cls, meta, arrays)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
