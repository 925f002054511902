"""Warm start of DAFH from a k-means partition of the features.

k-means assigns a row to its nearest centre, ``argmin_k |x - mu_k|^2``, which is the
argmax of the linear scores ``l_k(x) = 2 mu_k . x - |mu_k|^2``. The group classifier
therefore represents the partition *exactly*: with no hidden layer its logits are
``c (l_k - l_0)``; with hidden ReLU layers, every layer carries each difference
``v_k = c (l_k - l_0)`` (``k >= 1``) through a pair of units ``relu(v_k)``,
``relu(-v_k)`` whose difference is ``v_k`` again, and the remaining units keep their
random (He-normal) input weights with zero weights into the layers above them, so that
they do not change the output but receive gradients from the first epoch on. The scale
``c`` is set so that the median row is assigned to its cluster with probability
:data:`INIT_CONFIDENCE` (a softmax that is not saturated, so that the group
classifier can still move). Each decoupled model starts as the L2 logistic regression
of its cluster's training rows -- the k-means partition baseline's model.
"""

import math

import numpy as np

from ._common import fit_logistic

__all__ = ["INIT_CONFIDENCE", "MIN_GROUP_SHARE", "check_warm_start", "embed_partition", "kmeans_partitions",
           "partition_models", "refit_models", "warm_start"]

#: assignment probability of the median row to its k-means cluster at the warm start
INIT_CONFIDENCE = 0.9
#: partitions and epochs with a group below this share of the rows are degenerate
MIN_GROUP_SHARE = 0.05


def check_warm_start(hidden_layer_sizes, hidden, n_groups, n_rows):
    """Refuse a k-means start that the group classifier cannot represent (``ValueError``)."""
    K = n_groups
    if any(h < 2 * (K - 1) for h in hidden):
        raise ValueError(f"init='kmeans' needs hidden layers of at least 2 (n_groups - 1) = {2 * (K - 1)} units, got "
                         f"hidden_layer_sizes={hidden_layer_sizes!r}; widen them or use init='random'")
    if K > n_rows:
        raise ValueError(f"init='kmeans' needs at least n_groups={K} rows, got {n_rows}")


def kmeans_partitions(Z, n_groups, restarts, seed):
    """Distinct k-means partitions of ``Z``: centres (K, d) and labels of each.

    The first is scikit-learn's ``KMeans(n_init=10, random_state=seed)`` (the lowest
    inertia of 10 initialisations, the partition of
    :class:`~fairfast.dafh.KMeansPartitionClassifier` with the same seed); the other
    ``restarts - 1`` are single k-means runs with seeds ``seed + 1, seed + 2, ...``,
    which may stop in other local optima. Partitions equal up to the order of the
    groups are kept once.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Z = np.concatenate([rng.normal(-4, 1, (50, 2)), rng.normal(4, 1, (50, 2))])
    >>> parts = kmeans_partitions(Z, 2, 3, seed=0)
    >>> len(parts), sorted(np.bincount(parts[0][1]).tolist())
    (1, [50, 50])
    """
    from sklearn.cluster import KMeans

    Z = np.asarray(Z, dtype=np.float64)
    out, seen = [], set()
    for r in range(restarts):
        km = KMeans(n_clusters=n_groups, n_init=10 if r == 0 else 1, random_state=(seed + r) % (2**32)).fit(Z)
        centres = km.cluster_centers_
        labels = linear_scores(Z, centres).argmax(axis=1)
        # canonical labels: groups numbered by their first row
        _, first = np.unique(labels, return_index=True)
        order = np.argsort(np.argsort(first))
        key = order[labels].astype(np.int8).tobytes()
        if key not in seen:
            seen.add(key)
            out.append((centres, labels))
    return out


def linear_scores(Z, centres):
    """``l_k(x) = 2 mu_k . x - |mu_k|^2``, whose argmax is the nearest centre (float64)."""
    centres = np.asarray(centres, dtype=np.float64)
    return 2.0 * (np.asarray(Z, dtype=np.float64) @ centres.T) - np.sum(centres**2, axis=1)


def embed_partition(theta, sizes, Z, centres):
    """Group-classifier parameters whose argmax is the nearest of ``centres``.

    ``theta`` (a random initialisation, see :func:`~fairfast.dafh._setup.initial_parameters`)
    is changed in place and returned. Every hidden layer needs at least
    ``2 (K - 1)`` units.
    """
    sizes = [int(s) for s in sizes]
    d, K = sizes[0], sizes[-1]
    centres = np.asarray(centres, dtype=np.float64)
    # differences of the linear scores to group 0, scaled so that the median margin
    # between the best and the second group gives probability INIT_CONFIDENCE
    A = 2.0 * (centres[1:] - centres[0])  # (K - 1, d)
    c = -(np.sum(centres[1:] ** 2, axis=1) - np.sum(centres[0] ** 2))
    if K > 1:
        scores = linear_scores(Z, centres)
        top2 = np.sort(scores, axis=1)[:, -2:]
        margin = float(np.median(top2[:, 1] - top2[:, 0]))
        scale = math.log(INIT_CONFIDENCE * (K - 1) / (1.0 - INIT_CONFIDENCE)) / max(margin, 1e-12)
        A, c = A * scale, c * scale
    off = 0
    n_layers = len(sizes) - 1
    pairs = 2 * (K - 1)
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        W = theta[off : off + n_in * n_out].reshape(n_in, n_out)
        b = theta[off + n_in * n_out : off + n_in * n_out + n_out]
        off += n_in * n_out + n_out
        if layer == n_layers - 1:  # the logits: group 0's is 0, group k's is v_k
            W[:] = 0.0
            b[:] = 0.0
            if layer == 0:
                W[:, 1:], b[1:] = A.T, c
            else:
                for k in range(K - 1):
                    W[2 * k, k + 1], W[2 * k + 1, k + 1] = 1.0, -1.0
            continue
        if n_out < pairs:
            raise ValueError(f"a k-means start needs hidden layers of at least 2 (n_groups - 1) = {pairs} units, "
                             f"got {n_out}; widen hidden_layer_sizes or use init='random'")
        b[:pairs] = 0.0
        if layer == 0:  # units 2k, 2k + 1: relu(v_k), relu(-v_k)
            W[:, 0:pairs:2], W[:, 1:pairs:2] = A.T, -A.T
            b[0:pairs:2], b[1:pairs:2] = c, -c
        else:  # the same from the pair below: relu(u+ - u-), relu(u- - u+)
            W[:, :pairs] = 0.0
            for k in range(K - 1):
                W[2 * k, 2 * k], W[2 * k + 1, 2 * k] = 1.0, -1.0
                W[2 * k, 2 * k + 1], W[2 * k + 1, 2 * k + 1] = -1.0, 1.0
    return theta


def partition_models(Z, y01, labels, K, C, fallback, dtype):
    """Decoupled models (K, d + 1): the L2 logistic regression of every group's rows.

    A group without rows gets ``fallback`` (the pooled model's weights and intercept).
    """
    d = Z.shape[1]
    beta = np.empty((K, d + 1), dtype=dtype)
    for k in range(K):
        rows = labels == k
        w, b = fit_logistic(Z[rows], y01[rows], C) if rows.any() else fallback
        beta[k, :d], beta[k, d] = w, b
    return beta


def warm_start(theta, sizes, Z, Zt, y01, train_idx, pooled, C, restarts, seed, evaluate=None):
    """Parameters of DAFH's warm start from the best of ``restarts`` k-means partitions.

    ``Z`` (float64) holds every row given to ``fit`` (k-means sees no labels),
    ``Zt`` the training rows (``Z[train_idx]`` in the training dtype) on which the
    decoupled models are fit, ``y01`` the 0/1 labels of every row. Each distinct
    partition of :func:`kmeans_partitions` is embedded in a copy of ``theta``
    (:func:`embed_partition`) with the models of :func:`partition_models`;
    ``evaluate(theta, beta)`` (the validation key of ``DAFHClassifier``, whose first
    entry says that no group is below :data:`MIN_GROUP_SHARE`) picks the best, ties
    to the earlier (the lowest-inertia partition first). Without ``evaluate`` the
    first partition is kept.

    Returns
    -------
    theta, beta, key
        The chosen parameters and their key (None without ``evaluate``).
    """
    K = int(sizes[-1])
    best = None
    candidates = kmeans_partitions(Z, K, restarts if evaluate is not None else 1, seed)
    for centres, labels in candidates:
        th = embed_partition(theta.copy(), sizes, Z, centres)
        be = partition_models(Zt, y01[train_idx], labels[train_idx], K, C, pooled, Zt.dtype)
        key = evaluate(th, be) if evaluate is not None else None
        if best is None or key > best[2]:
            best = (th, be, key)
    return best


def refit_models(theta, sizes, Z, y01, C, fallback, dtype):
    """Decoupled models of the partition ``theta`` assigns, each fit on all its rows of ``Z``.

    Used when model selection keeps the warm start: selection is done, so the
    validation rows join the training rows and the kept model is the k-means partition
    baseline's.
    """
    from . import _kernels

    pi, _ = _kernels.forward(np.ascontiguousarray(Z, dtype=np.float64), np.asarray(theta, dtype=np.float64),
                             np.zeros((int(sizes[-1]), Z.shape[1] + 1)), sizes)
    return partition_models(Z, y01, pi.argmax(axis=1), int(sizes[-1]), C, fallback, dtype)
