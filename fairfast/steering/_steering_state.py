"""Model-file state of :class:`GaussianSteering`: what is written, and the checks on reading.

Two layouts are read: float64 d x d arrays (every release), and float32 ``covariances``,
``target_covariances`` and ``linear`` (fits of float32 data with ``covariance="shared"``,
whose linear algebra is float32). Vectors, priors and KLs are float64 in both.
"""

import numpy as np

from .._base import state as st
from .._base.frames import feature_names_from_state, feature_names_state
from .._base.grouping import grouping_state, pop_grouping
from ._programs import pinsker_bounds, prior_kl

STATE_ARRAYS = ("priors", "means", "covariances", "pooled", "target_means", "target_covariances",
                "linear", "offset", "identity", "subgroup_kl")
_DENSE = ("covariances", "target_covariances", "linear")


def get_state(est):
    """The fitted model as JSON-able metadata and a dict of arrays (no pickle).

    The label-free maps of ``unlabeled="mixture"`` are a cache, recomputed on first
    use after loading.

    Returns
    -------
    meta : dict
        ``params`` (constructor parameters), ``groups`` (lists for intersections,
        with ``groups_are_tuples``), ``classes``, ``reference_index`` (position of
        ``reference_`` in ``groups``, or None), ``n_features_in``, ``kl``,
        ``feature_kl`` and ``feature_names_in`` (None for unnamed input).
    arrays : dict of str to ndarray
        The fitted arrays without their trailing underscore: ``priors`` (G, K),
        ``means``, ``target_means``, ``offset`` (G, K, d), ``covariances``,
        ``target_covariances``, ``linear`` (G, K, d, d; float32 or float64),
        ``subgroup_kl`` (G, K) and the boolean ``pooled`` and ``identity`` (G, K).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "linear_")
    groups, multi = st.labels_to_json(est.groups_)
    meta = {
        "params": st.params_to_json(est),
        "groups": groups,
        "groups_are_tuples": multi,
        "classes": list(est.classes_),
        "reference_index": st.identity_group(est.identity_[:, 0]),
        "n_features_in": int(est.n_features_in_),
        "kl": float(est.kl_),
        "feature_kl": float(est.feature_kl_),
        "feature_names_in": feature_names_state(est),
    }
    arrays = {name: np.ascontiguousarray(getattr(est, name + "_")) for name in STATE_ARRAYS}
    meta["grouping"], grouping_arrays = grouping_state(est.grouping_)
    arrays.update(grouping_arrays)
    return meta, arrays


def _dense_dtype(arrays):
    dtypes = {getattr(arrays.get(name), "dtype", None) for name in _DENSE}
    if len(dtypes) == 1 and dtypes <= {np.dtype(np.float32), np.dtype(np.float64)}:
        return dtypes.pop()
    raise ValueError("model state is inconsistent: covariances, target_covariances and linear must all be "
                     f"float64 or all float32, got {sorted(str(d) for d in dtypes)}")


@st.state_errors
def from_state(cls, meta, arrays):
    """Rebuild a fitted estimator from :func:`get_state` output; inconsistent input raises ValueError."""
    try:
        est = st.estimator_from_params(cls, meta["params"])
        est._check_params()
        groups = st.labels_from_json(meta["groups"], meta["groups_are_tuples"], "groups", minimum=2)
        grouping, arrays = pop_grouping(meta, arrays, groups)
        classes = st.labels_from_json(meta["classes"], False, "classes")
        G, K = len(groups), len(classes)
        d = st.integer(meta["n_features_in"], "n_features_in", 1, 1 << 31)
        ref = meta["reference_index"]
        ref = None if ref is None else st.integer(ref, "reference_index", 0, G)
        kl = st.real(meta["kl"], "kl", nonnegative=True)
        feature_kl = st.real(meta["feature_kl"], "feature_kl")
        st.check_names(arrays, STATE_ARRAYS)
        dense = _dense_dtype(arrays)
        priors = st.array(arrays, "priors", (G, K))
        means = st.array(arrays, "means", (G, K, d))
        covs = st.array(arrays, "covariances", (G, K, d, d), dense)
        pooled = st.array(arrays, "pooled", (G, K), bool)
        t_means = st.array(arrays, "target_means", (G, K, d))
        t_covs = st.array(arrays, "target_covariances", (G, K, d, d), dense)
        linear = st.array(arrays, "linear", (G, K, d, d), dense)
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
        if ref is not None:
            raise ValueError("model state is inconsistent: program='all_subgroups' has no reference group")
    elif ref is None:
        raise ValueError("model state is inconsistent: program='affirmative' needs a reference_index")
    elif not _is_auto(est.reference) and _group_index(est.reference, groups) != ref:
        raise ValueError("model state is inconsistent: reference_index does not point at the reference "
                         "parameter's group")
    if est.covariance == "shared" and not pooled.all():
        raise ValueError("model state is inconsistent: covariance='shared' pools every subgroup")
    if dense == np.float32 and est.covariance != "shared":
        raise ValueError("model state is inconsistent: float32 maps come only from covariance='shared'")
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
    est.kl_, est.n_features_in_, est.classes_, est.groups_ = kl, d, classes, groups
    est.grouping_ = grouping
    est.reference_ = None if ref is None else groups[ref]
    est.priors_, est.means_, est.covariances_, est.pooled_ = priors, means, covs, pooled
    est.target_means_, est.target_covariances_ = t_means, t_covs
    est.linear_, est.offset_, est.identity_ = linear, offset, identity
    est._derived_maps = {}
    est.subgroup_kl_, est.feature_kl_ = sub_kl, feature_kl
    est.guarantees_ = pinsker_bounds(kl)
    return feature_names_from_state(est, meta.get("feature_names_in"))


def _is_auto(reference):
    return isinstance(reference, str) and reference == "auto"


def _group_index(reference, groups):
    for k, g in enumerate(groups):
        if g == reference:
            return k
    raise ValueError(f"reference must be 'auto' or one of the groups {groups}; got {reference!r}")
