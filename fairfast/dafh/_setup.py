"""Parameter checks, initial parameters and the validation split of DAFHClassifier."""

import math

import numpy as np

from ._common import check_non_negative, check_positive_int

__all__ = ["check_params", "initial_parameters", "stratified_split"]


def check_params(est):
    """(K, hidden layer widths, normalised prior) of a DAFHClassifier; bad values raise ValueError."""
    K = check_positive_int(est.n_groups, "n_groups")
    check_non_negative(est.lam, "lam")
    check_non_negative(est.gamma, "gamma", strictly=True)
    hidden = est.hidden_layer_sizes
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        hidden = tuple(check_positive_int(h, "hidden_layer_sizes entries") for h in hidden)
    except TypeError:
        raise ValueError(
            f"hidden_layer_sizes must be a tuple of positive integers, got {est.hidden_layer_sizes!r}"
        ) from None
    check_non_negative(est.learning_rate_group, "learning_rate_group", strictly=True)
    check_non_negative(est.learning_rate_model, "learning_rate_model", strictly=True)
    check_positive_int(est.max_epochs, "max_epochs", minimum=0)
    check_positive_int(est.batch_size, "batch_size")
    check_non_negative(est.alpha, "alpha")
    check_non_negative(est.init_scale, "init_scale")
    check_non_negative(est.envy_weight, "envy_weight")
    check_non_negative(est.pooled_C, "pooled_C", strictly=True)
    check_positive_int(est.n_iter_no_change, "n_iter_no_change")
    check_positive_int(est.min_epochs, "min_epochs", minimum=0)
    if est.selection not in ("individual", "pairwise", "group", "bootstrap"):
        raise ValueError(
            f"selection must be one of 'individual', 'pairwise', 'group', 'bootstrap', got {est.selection!r}"
        )
    if est.init not in ("kmeans", "random"):
        raise ValueError(f"init must be 'kmeans' or 'random', got {est.init!r}")
    check_positive_int(est.init_restarts, "init_restarts")
    if est.dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {est.dtype!r}")
    if not isinstance(est.early_stopping, (bool, np.bool_)):
        raise ValueError(f"early_stopping must be True or False, got {est.early_stopping!r}")
    if est.early_stopping:
        v = est.validation_fraction
        if not isinstance(v, (float, int)) or isinstance(v, bool) or not 0.0 < v < 1.0:
            raise ValueError(f"validation_fraction must be a number in (0, 1), got {v!r}")
    if est.group_prior is None:
        prior = np.full(K, 1.0 / K)
    else:
        prior = np.asarray(est.group_prior, dtype=np.float64).ravel()
        if prior.shape[0] != K or not np.all(np.isfinite(prior)) or np.any(prior <= 0):
            raise ValueError(
                f"group_prior must hold n_groups={K} positive finite shares, got {est.group_prior!r}"
            )
        prior = prior / prior.sum()
    return K, hidden, prior


def initial_parameters(sizes, w0, b0, init_scale, rng, dtype):
    """Group-classifier parameters (He-normal hidden layers, N(0, 1/fan_in) head, zero
    biases) and decoupled models ``h_0 + N(0, init_scale^2)``."""
    from . import _kernels

    theta = np.empty(_kernels.theta_size(sizes), dtype=dtype)
    off = 0
    for layer in range(len(sizes) - 1):
        n_in, n_out = int(sizes[layer]), int(sizes[layer + 1])
        gain = math.sqrt(2.0 / n_in) if layer < len(sizes) - 2 else math.sqrt(1.0 / n_in)
        theta[off : off + n_in * n_out] = rng.normal(0.0, gain, n_in * n_out)
        off += n_in * n_out
        theta[off : off + n_out] = 0.0
        off += n_out
    d, K = int(sizes[0]), int(sizes[-1])
    beta = np.empty((K, d + 1), dtype=dtype)
    beta[:, :d] = w0
    beta[:, d] = b0
    beta += rng.normal(0.0, init_scale, beta.shape)
    return theta, beta


def stratified_split(y01, fraction, rng):
    val = []
    for c in (0, 1):
        idx = np.flatnonzero(y01 == c)
        rng.shuffle(idx)
        n_val = int(round(fraction * idx.shape[0]))
        if idx.shape[0] >= 2:
            n_val = min(max(n_val, 1), idx.shape[0] - 1)
        else:
            n_val = 0
        val.append(idx[:n_val])
    val = np.sort(np.concatenate(val))
    mask = np.ones(y01.shape[0], dtype=bool)
    mask[val] = False
    return np.flatnonzero(mask), val
