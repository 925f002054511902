"""GaussianSteering: moves each subgroup's features onto the KL-nearest ideal distribution."""

import numbers

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._base.validation import check_choice
from .._base import state as st
from ._apply import apply_blocks, check_X, encode_labels, fit_groups, require_finite, transform_groups
from ._gaussian import bures_map, cholesky, sqrtm_psd
from ._moments import SubgroupMoments, _block_moments, _pooled_block_moments
from ._programs import affirmative_action, all_subgroups, pinsker_bounds, prior_kl, small_blas

__all__ = ["GaussianSteering"]


def _whitened_map(S, T, low_rank=None, L=None):
    r"""Map ``A = L (L^{-1} T L^{-T})^{1/2} L^{-1}`` (``S = L L^T``), so ``A S A^T = T``.

    When ``T = S + F Phi F^T`` (the closed forms), ``A`` is the identity plus a
    rank-``F.shape[1]`` term and no d x d eigendecomposition is needed. ``L``: the
    Cholesky factor of ``S`` if already known (the forward closed form computes it).
    """
    if L is None:
        L = cholesky(S, "the subgroup covariance")
    d = S.shape[0]
    if low_rank is not None:
        F, Phi = low_rank
        Q, R = linalg.qr(linalg.solve_triangular(L, F, lower=True, check_finite=False), mode="economic")
        inner = np.eye(R.shape[0]) + R @ Phi @ R.T
        H = sqrtm_psd((inner + inner.T) / 2) - np.eye(R.shape[0])
        right = linalg.solve_triangular(L, Q, lower=True, trans=1, check_finite=False)  # L^{-T} Q
        A = (L @ Q) @ H @ right.T
        A.flat[:: d + 1] += 1.0  # identity plus the low-rank term, without a d x d eye
        return A
    Li = np.linalg.inv(L)
    mid = Li @ T @ Li.T
    return L @ sqrtm_psd((mid + mid.T) / 2) @ Li


def _mixture(weights, means, covs):
    m = weights @ means
    dev = means - m
    cov = np.einsum("i,ijk->jk", weights, covs) + (dev.T * weights) @ dev
    return m, (cov + cov.T) / 2


class GaussianSteering(st.ModelFileMixin, TransformerMixin, BaseEstimator):
    r"""Optimal steering of features to the KL-nearest ideal Gaussian distribution.

    Each (label ``i``, group ``a``) subgroup is modelled as :math:`N(\mu_{ia}, S_{ia})`.
    ``fit`` solves a steering program (spec sections 3.1-3.4) for target laws
    :math:`\tilde P_{ia}` that are *ideal*: every group is the image of one group under
    a single invertible affine map shared by the classes, so the Bayes-optimal
    classifier of the steered data is exactly fair (demographic parity, equal
    opportunity, equalized odds) for every cost, once the priors are reweighted to
    :math:`q(a)q(y)` (:meth:`sample_weights`; condition G3). ``transform`` moves each
    row with the Gaussian transport map of its subgroup,
    :math:`x \mapsto \tilde\mu_{ia} + A_{ia}(x - \mu_{ia})`, stored as ``(A, b)`` and
    applied with one matrix product per subgroup block.

    Parameters
    ----------
    family : {"normal", "lognormal"}
        ``"lognormal"`` fits the Gaussian model to ``log X`` (``X > 0``) and maps
        :math:`x \mapsto \exp(\tilde\mu + A(\log x - \mu))`; KL and ideality are
        invariant under the common bijection ``log``.
    program : {"affirmative", "all_subgroups"}
        ``"affirmative"``: the reference group is kept and every other group is
        projected onto affine images of it (groups decouple). ``"all_subgroups"``:
        every group moves (``d = 1`` only; profile over the scales + golden section,
        coordinate descent for more than two groups; forward direction).
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
        gives the closed form in any dimension. A subgroup with fewer than
        ``pooled_below * d`` rows always uses its group's pooled covariance.
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
        Map used by :meth:`transform` when ``y`` is not given (spec open point 3):
        ``"mixture"`` -- one map per group between the group's mixture and the
        steered mixture (moment matched, MiMiC-style); ``"soft"`` -- the subgroup maps
        averaged with the Gaussian posterior :math:`p(i \mid x, a)`. **Neither carries
        the fairness guarantee**, which needs the true labels.

    Attributes
    ----------
    classes_, groups_ : list
        Labels and group labels seen in fit.
    reference_ : group label or None
        Reference group used (None for ``"all_subgroups"``).
    priors_ : ndarray of shape (n_groups, n_classes)
        Empirical :math:`q_{ia}`.
    means_, covariances_ : ndarrays (n_groups, n_classes, d[, d])
        Estimated subgroup moments (of ``log X`` for ``"lognormal"``).
    target_means_, target_covariances_ : ndarrays
        The ideal target laws.
    linear_, offset_ : ndarrays (n_groups, n_classes, d, d) and (n_groups, n_classes, d)
        The maps ``(A, b)``: ``x -> A x + b``.
    kl_ : float
        KL of the steered distribution from the original, prior part included
        (direction as fitted).
    subgroup_kl_ : ndarray (n_groups, n_classes)
    guarantees_ : dict
        :func:`pinsker_bounds` of ``kl_`` (spec section 5; constants [U]).
    pooled_ : ndarray of bool (n_groups, n_classes)
        Subgroups that fell back to the pooled covariance.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 4000); y = rng.integers(0, 2, 4000)
    >>> X = rng.normal(size=(4000, 1)) + np.where(a == 1, 1.0 * y, 2.0 * y)[:, None]
    >>> st = GaussianSteering(reference=0).fit(X, y, sensitive_features=a)
    >>> Xs = st.transform(X, y, sensitive_features=a)
    >>> Xs.shape
    (4000, 1)

    The target laws are ideal: their Bayes rules have no equal-opportunity gap.

    >>> from fairfast.steering import bayes_fairness_gaps
    >>> gaps = bayes_fairness_gaps(st.target_means_, st.target_covariances_[..., 0, 0], np.full((2, 2), 0.25))
    >>> bool(gaps["eo_gap"].max() < 1e-9)
    True
    """

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
                    and self.shrinkage >= 0)):
            raise ValueError(f"shrinkage must be None, 'oas' or a non-negative float; got {self.shrinkage!r}")
        if isinstance(self.pooled_below, bool) or not isinstance(self.pooled_below, numbers.Real) \
                or not self.pooled_below >= 0:
            raise ValueError(f"pooled_below must be a non-negative number; got {self.pooled_below!r}")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, *, sensitive_features):
        """Estimate subgroup moments and solve the steering program. Returns self."""
        self._check_params()
        lognormal = self.family == "lognormal"
        X = check_X(X, positive=lognormal)
        n, d = X.shape
        Z = np.log(X) if lognormal else X
        g_codes, groups = fit_groups(sensitive_features, n)
        if y is None:
            raise ValueError("y is required: the steering maps are fitted per (label, group)")
        y_codes, classes = encode_labels(y, n)
        G, K = len(groups), len(classes)
        if G < 2:
            raise ValueError(f"sensitive_features must contain at least 2 groups, got {G}")
        mom = SubgroupMoments(d)
        mom.classes_, mom.groups_ = classes, groups
        codes = (g_codes * K + y_codes).astype(np.intp)
        if self.covariance == "shared":  # one pooled within-class scatter per group is all it uses
            counts, means, mom.pooled_scatter_ = _pooled_block_moments(Z, codes, G, K)
        else:
            counts, means, scatter = _block_moments(Z, codes, G * K)
            mom.scatter_ = scatter.reshape(G, K, d, d)
        mom.counts_ = counts.reshape(G, K)
        mom.means_ = means.reshape(G, K, d)
        small = np.argwhere(mom.counts_ < 2)
        if small.size:
            a, i = small[0]
            raise ValueError(
                f"every (label, group) subgroup needs at least 2 rows; label {classes[i]!r} in group "
                f"{groups[a]!r} has {int(mom.counts_[a, i])}"
            )
        with small_blas(d):
            return self._solve(mom, n, d, groups, classes)

    def _solve(self, mom, n, d, groups, classes):
        G, K = len(groups), len(classes)
        threshold = np.inf if self.covariance == "shared" else self.pooled_below
        covs, pooled = mom.covariances(shrinkage=self.shrinkage, pooled_below=threshold)
        mom.scatter_ = mom.pooled_scatter_ = None  # free the d x d scatters before the next arrays
        shared = pooled.all(axis=1)  # group uses one covariance for all classes
        q = mom.counts_ / n
        qa, qy = q.sum(axis=1), q.sum(axis=0)
        mu = mom.means_
        if self.program == "all_subgroups":
            if d != 1:
                raise ValueError(f"program='all_subgroups' is implemented for d = 1 (spec Prop. 4.3); X has {d} features")
            if self.direction != "forward":
                raise ValueError("program='all_subgroups' supports direction='forward' only")
            res = all_subgroups(mu[:, :, 0], np.sqrt(covs[:, :, 0, 0]), qa[:, None] * qy[None, :])
            t_means = res["means"][:, :, None]
            t_covs = (res["sds"] ** 2)[:, :, None, None]
            sub_kl = None
            feature_kl = res["kl"]
            ref = None
            lowrank = [None] * G
        else:
            refs = range(G) if _is_auto(self.reference) else [_group_index(self.reference, groups)]
            best = None
            for r in refs:
                sols = {}
                total = 0.0
                for a in range(G):
                    if a == r:
                        continue
                    w = qy if self.direction == "forward" else q[a] / qa[a]
                    sols[a] = affirmative_action(
                        mu[r], covs[r, 0] if shared[r] else covs[r], mu[a], covs[a, 0] if shared[a] else covs[a],
                        w, direction=self.direction,
                    )
                    total += qa[a] * sols[a]["kl"]
                if best is None or total < best[0]:
                    best = (total, r, sols)
            feature_kl, ref, sols = best
            t_means = mu.copy()
            t_covs = np.empty_like(covs)  # every group's entry is written below
            t_covs[ref] = covs[ref]
            lowrank = [None] * G
            class_kl = np.zeros((G, K))
            for a, s in sols.items():
                t_means[a] = s["means"]
                t_covs[a] = s["covs"]
                lowrank[a] = s["low_rank"]
                class_kl[a] = s["class_kl"]
        # subgroup KLs and maps
        from ._gaussian import gaussian_kl

        linear = np.empty((G, K, d, d))  # every (group, class) map is written below
        offset = np.zeros((G, K, d))
        identity = np.zeros((G, K), dtype=bool)
        sub_kl = np.zeros((G, K))
        for a in range(G):
            if a == ref:
                identity[a] = True
                linear[a] = 0.0
                for i in range(K):
                    linear[a, i].flat[:: d + 1] = 1.0
                continue
            cache = None
            for i in range(K):
                S, T = covs[a, i], t_covs[a, i]
                if cache is not None and shared[a] and np.array_equal(T, t_covs[a, 0]):
                    A = cache
                elif self.coupling == "ot":
                    A = bures_map(S, T)
                else:
                    # the forward closed form factored group a's (shared) covariance already
                    known = sols[a].get("cholesky") if shared[a] and ref is not None and a in sols else None
                    A = _whitened_map(S, T, lowrank[a] if shared[a] else None, L=known)
                cache = A
                linear[a, i] = A
                offset[a, i] = t_means[a, i] - A @ mu[a, i]
                if ref is not None:
                    sub_kl[a, i] = class_kl[a, i]
                elif self.direction == "forward":
                    sub_kl[a, i] = gaussian_kl(t_means[a, i], T, mu[a, i], S)
                else:
                    sub_kl[a, i] = gaussian_kl(mu[a, i], S, t_means[a, i], T)
        if self.direction == "forward":
            prior_part = prior_kl(q)
            tq = qa[:, None] * qy[None, :]
        else:
            tq = qa[:, None] * qy[None, :]
            prior_part = float((q * np.log(q / tq)).sum())
            tq = q
        self.kl_ = prior_part + float((tq * sub_kl).sum())
        self.n_features_in_ = d
        self.classes_ = classes
        self.groups_ = groups
        self.reference_ = None if ref is None else groups[ref]
        self.priors_ = q
        self.means_ = mu
        self.covariances_ = covs
        self.pooled_ = pooled
        self.target_means_ = t_means
        self.target_covariances_ = t_covs
        self.linear_ = linear
        self.offset_ = offset
        self.identity_ = identity
        self._mixture = None
        self.subgroup_kl_ = sub_kl
        self.feature_kl_ = float(feature_kl)
        self.guarantees_ = pinsker_bounds(self.kl_)
        return self

    # ------------------------------------------------------------ transform
    def transform(self, X, y=None, *, sensitive_features):
        """Move each row onto its subgroup's target law.

        With ``y``, the label-aware maps (the steering of the spec). Without ``y``,
        the label-free map chosen by ``unlabeled`` (no fairness guarantee).
        float32 input gives float32 output.
        """
        check_is_fitted(self, "linear_")
        lognormal = self.family == "lognormal"
        X = check_X(X, n_features=self.n_features_in_, positive=lognormal, check_finite=False)
        n, d = X.shape
        Z = np.log(X) if lognormal else X
        g = transform_groups(sensitive_features, self.groups_, n)
        G, K = self.priors_.shape
        if y is not None:
            yc, _ = encode_labels(y, n, self.classes_)
            out = apply_blocks(Z, g * K + yc, G * K, self.linear_.reshape(G * K, d, d),
                               self.offset_.reshape(G * K, d), self.identity_.reshape(-1))
        elif self.unlabeled == "mixture":
            lin, off = self._mixture_maps()
            out = apply_blocks(Z, g, G, lin, off, self.identity_[:, 0])
        else:
            require_finite(Z)
            out = self._soft(Z, g)
        if lognormal:
            np.exp(out, out=out)
        return out

    def _mixture_maps(self):
        """Label-free maps (computed on first use): group mixture -> steered mixture."""
        if getattr(self, "_mixture", None) is not None:
            return self._mixture
        q = self.priors_
        G, K, d = self.means_.shape
        cond = q / q.sum(axis=1, keepdims=True)
        lin = np.zeros((G, d, d))
        off = np.zeros((G, d))
        with small_blas(d):
            for a in range(G):
                if self.identity_[a, 0]:
                    lin[a] = np.eye(d)
                    continue
                m_s, S_s = _mixture(cond[a], self.means_[a], self.covariances_[a])
                m_t, S_t = _mixture(cond[a], self.target_means_[a], self.target_covariances_[a])
                A = bures_map(S_s, S_t) if self.coupling == "ot" else _whitened_map(S_s, S_t)
                lin[a] = A
                off[a] = m_t - A @ m_s
        self._mixture = (lin, off)
        return self._mixture

    def _soft(self, Z, g):
        G, K = self.priors_.shape
        out = np.empty_like(Z)
        cond = self.priors_ / self.priors_.sum(axis=1, keepdims=True)
        for a in range(G):
            rows = np.flatnonzero(g == a)
            if rows.size == 0:
                continue
            Za = Z[rows]
            if self.identity_[a, 0]:
                out[rows] = Za
                continue
            logp = np.empty((rows.size, K))
            for i in range(K):
                L = linalg.cholesky(self.covariances_[a, i], lower=True)
                r = linalg.solve_triangular(L, (Za - self.means_[a, i]).T.astype(np.float64), lower=True)
                logp[:, i] = np.log(cond[a, i]) - 0.5 * (r * r).sum(axis=0) - np.log(np.diag(L)).sum()
            logp -= logp.max(axis=1, keepdims=True)
            p = np.exp(logp)
            p /= p.sum(axis=1, keepdims=True)
            acc = np.zeros(Za.shape)
            for i in range(K):
                acc += p[:, i, None] * (Za @ self.linear_[a, i].T.astype(Z.dtype) + self.offset_[a, i])
            out[rows] = acc
        return out

    def fit_transform(self, X, y=None, *, sensitive_features):
        """``fit`` then the label-aware ``transform`` of the same rows."""
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
        g = transform_groups(sensitive_features, self.groups_, n)
        yc, _ = encode_labels(y, n, self.classes_)
        q = self.priors_
        target = q.sum(axis=1, keepdims=True) * q.sum(axis=0, keepdims=True)
        return (target / q)[g, yc]

    # ------------------------------------------------------------ model files
    _STATE_ARRAYS = ("priors", "means", "covariances", "pooled", "target_means", "target_covariances",
                     "linear", "offset", "identity", "subgroup_kl")

    def _get_state(self):
        """The fitted model as JSON-able metadata and a dict of arrays (no pickle).

        The label-free maps of ``unlabeled="mixture"`` are a cache, recomputed on first
        use after loading.

        Returns
        -------
        meta : dict
            ``params`` (constructor parameters), ``groups`` (lists for intersections,
            with ``groups_are_tuples``), ``classes``, ``reference_index`` (position of
            ``reference_`` in ``groups``, or None), ``n_features_in``, ``kl`` and
            ``feature_kl``.
        arrays : dict of str to ndarray
            The fitted arrays without their trailing underscore: ``priors`` (G, K),
            ``means``, ``target_means``, ``offset`` (G, K, d), ``covariances``,
            ``target_covariances``, ``linear`` (G, K, d, d), ``subgroup_kl`` (G, K) and
            the boolean ``pooled`` and ``identity`` (G, K).
        """
        check_is_fitted(self, "linear_")
        groups, multi = st.labels_to_json(self.groups_)
        meta = {
            "params": st.params_to_json(self),
            "groups": groups,
            "groups_are_tuples": multi,
            "classes": list(self.classes_),
            "reference_index": st.identity_group(self.identity_[:, 0]),
            "n_features_in": int(self.n_features_in_),
            "kl": float(self.kl_),
            "feature_kl": float(self.feature_kl_),
        }
        arrays = {name: getattr(self, name + "_") for name in self._STATE_ARRAYS}
        return meta, arrays

    @classmethod
    def _from_state(cls, meta, arrays):
        """Rebuild a fitted estimator from :meth:`_get_state` output; inconsistent input raises ValueError."""
        try:
            est = st.estimator_from_params(cls, meta["params"])
            est._check_params()
            groups = st.labels_from_json(meta["groups"], meta["groups_are_tuples"], "groups", minimum=2)
            classes = st.labels_from_json(meta["classes"], False, "classes")
            G, K = len(groups), len(classes)
            d = st.integer(meta["n_features_in"], "n_features_in", 1, 1 << 31)
            ref = meta["reference_index"]
            ref = None if ref is None else st.integer(ref, "reference_index", 0, G)
            kl = st.real(meta["kl"], "kl", nonnegative=True)
            feature_kl = st.real(meta["feature_kl"], "feature_kl")
            st.check_names(arrays, cls._STATE_ARRAYS)
            priors = st.array(arrays, "priors", (G, K))
            means = st.array(arrays, "means", (G, K, d))
            covs = st.array(arrays, "covariances", (G, K, d, d))
            pooled = st.array(arrays, "pooled", (G, K), bool)
            t_means = st.array(arrays, "target_means", (G, K, d))
            t_covs = st.array(arrays, "target_covariances", (G, K, d, d))
            linear = st.array(arrays, "linear", (G, K, d, d))
            offset = st.array(arrays, "offset", (G, K, d))
            identity = st.array(arrays, "identity", (G, K), bool)
            sub_kl = st.array(arrays, "subgroup_kl", (G, K))
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"model state is incomplete or malformed: {exc!r}") from None
        try:
            ordered = np.asarray(classes)
            if K > 1 and not (ordered[1:] > ordered[:-1]).all():
                raise TypeError
        except TypeError:
            raise ValueError("model state is inconsistent: classes must be sorted, as fit stores them") from None
        if not ((priors > 0).all() and abs(priors.sum() - 1.0) <= 1e-9):
            raise ValueError("model state is inconsistent: priors must be positive and sum to 1")
        if est.program == "all_subgroups":
            if ref is not None or d != 1:
                raise ValueError("model state is inconsistent: program='all_subgroups' has one feature and no "
                                 "reference group")
        elif ref is None:
            raise ValueError("model state is inconsistent: program='affirmative' needs a reference_index")
        elif not _is_auto(est.reference) and _group_index(est.reference, groups) != ref:
            raise ValueError("model state is inconsistent: reference_index does not point at the reference "
                             "parameter's group")
        if est.covariance == "shared" and not pooled.all():
            raise ValueError("model state is inconsistent: covariance='shared' pools every subgroup")
        st.check_identity(identity, ref, G)
        if ref is not None and not (np.array_equal(linear[ref], np.broadcast_to(np.eye(d), (K, d, d)))
                                    and not offset[ref].any()):
            raise ValueError("model state is inconsistent: the reference group's maps must be the identity")
        st.check_covariances(covs, "covariances")
        st.check_covariances(t_covs, "target_covariances")
        st.check_offsets(offset, linear, t_means, means, "offset")
        qa, qy = priors.sum(axis=1), priors.sum(axis=0)
        tq = qa[:, None] * qy[None, :]
        if est.direction == "forward":
            expected = prior_kl(priors) + float((tq * sub_kl).sum())
        else:
            expected = float((priors * np.log(priors / tq)).sum()) + float((priors * sub_kl).sum())
        if not abs(kl - expected) <= 1e-9 * (1.0 + abs(expected)):
            raise ValueError(f"model state is inconsistent: kl is {kl!r} but the priors and subgroup_kl give "
                             f"{expected!r}")
        est.kl_ = kl
        est.n_features_in_ = d
        est.classes_ = classes
        est.groups_ = groups
        est.reference_ = None if ref is None else groups[ref]
        est.priors_ = priors
        est.means_ = means
        est.covariances_ = covs
        est.pooled_ = pooled
        est.target_means_ = t_means
        est.target_covariances_ = t_covs
        est.linear_ = linear
        est.offset_ = offset
        est.identity_ = identity
        est._mixture = None
        est.subgroup_kl_ = sub_kl
        est.feature_kl_ = feature_kl
        est.guarantees_ = pinsker_bounds(kl)
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _is_auto(reference):
    return isinstance(reference, str) and reference == "auto"


def _group_index(reference, groups):
    for k, g in enumerate(groups):
        if g == reference:
            return k
    raise ValueError(f"reference must be 'auto' or one of the groups {groups}; got {reference!r}")

