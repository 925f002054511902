"""Shared pieces of the DAFH classifier and its baselines."""

import math

import numpy as np


def check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value >= 2**31:
        raise ValueError(f"{name} must be an integer below 2**31, got {value!r}")
    return int(value)


def check_non_negative(value, name, strictly=False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > 0 if strictly else value >= 0)
    if not ok:
        bound = "> 0" if strictly else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return value


def encode_binary_target(y):
    """Classes (sorted) and the 0/1 codes of a binary target."""
    from sklearn.utils.multiclass import check_classification_targets

    check_classification_targets(y)
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    if classes.shape[0] != 2:
        raise ValueError(
            "Only binary classification is supported: y must contain exactly two classes, "
            f"got {classes.shape[0]}: {classes.tolist()[:5]}"
        )
    return classes, codes.astype(np.int64).ravel()


def standardizer(X):
    """Column means and standard deviations; 0/1 columns are left as they are.

    Leaving indicator (one-hot) columns uncentred keeps their zeros, which the
    training kernels skip.
    """
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    binary = np.all((X == 0) | (X == 1), axis=0)
    mean[binary] = 0.0
    scale[binary] = 1.0
    return mean, scale


def fit_logistic(X, y, C):
    """Weights and intercept of an L2 logistic regression; constant model for one class."""
    from sklearn.linear_model import LogisticRegression

    positives = int(y.sum())
    if positives == 0 or positives == y.shape[0]:
        w = np.zeros(X.shape[1])
        b = math.log((positives + 0.5) / (y.shape[0] - positives + 0.5))
        return w, b
    model = LogisticRegression(C=C, max_iter=2000).fit(X, y)
    return model.coef_.ravel().astype(np.float64), float(model.intercept_[0])


def objective_terms(pi, score, y, gamma, log_prior):
    """The three terms of the DAFH objective on all rows at once (float64).

    ``envy = 1/(n K^2) sum_ik L_ik`` (every model's smoothed loss on every row),
    ``assignment = -2/(n K) sum_ik pi_ik L_ik`` and ``regulariser = -KL(pibar || rho)``,
    with ``L_ik = sigmoid(-gamma (2 y_i - 1) s_ik)`` and ``pibar`` the mean of ``pi``
    over the rows; the objective is ``envy_weight * envy + assignment + lam *
    regulariser``.
    """
    pi = np.asarray(pi, dtype=np.float64)
    n, K = pi.shape
    signed = 2.0 * np.asarray(y, dtype=np.float64) - 1.0
    loss = 0.5 * (1.0 - np.tanh(0.5 * gamma * signed[:, None] * np.asarray(score, dtype=np.float64)))
    pbar = pi.mean(axis=0)
    occupied = pbar > 0
    kl = float(np.sum(pbar[occupied] * (np.log(pbar[occupied]) - np.asarray(log_prior)[occupied])))
    return float(loss.sum() / (n * K * K)), float(-2.0 * (pi * loss).sum() / (n * K)), -kl


def objective_value(pi, score, y, gamma, lam, envy_weight, log_prior):
    """The DAFH objective of :func:`objective_terms` (NaN without rows)."""
    if len(y) == 0:
        return float("nan")
    envy, assignment, regulariser = objective_terms(pi, score, y, gamma, log_prior)
    return envy_weight * envy + assignment + lam * regulariser


#: bootstrap replicates of the "bootstrap" selection estimator (per epoch, seeded)
SELECTION_REPLICATES = 200


def selection_key(y, predictions, groups, estimator="individual"):
    """(fairness without harm, accuracy) of an evaluated model, compared lexicographically.

    ``predictions`` holds the pooled model in column 0 and ``h_k`` in column ``k + 1``;
    ``estimator`` is that of :func:`fairfast.metrics.probability_without_harm` (the
    ``"bootstrap"`` one with :data:`SELECTION_REPLICATES` replicates and seed 0, so
    that every epoch is scored on the same resampling stream).
    """
    from ..metrics import probability_without_harm

    n = predictions.shape[0]
    acc = float(np.mean(predictions[np.arange(n), groups + 1] == y))
    fwh = probability_without_harm(
        y, predictions[:, 1:], groups, pooled_predictions=predictions[:, 0], estimator=estimator,
        n_replicates=SELECTION_REPLICATES, random_state=0,
    )
    return fwh, acc


def check_X(X):
    """What scikit-learn's validation lets through or names vaguely: durations and dates
    (numpy counts them as numbers) and arrays of more than 2 dimensions."""
    arr = X if isinstance(X, np.ndarray) else None
    if arr is None and not hasattr(X, "dtypes") and not hasattr(X, "tocsr"):
        arr = np.asarray(X)
    if arr is not None and arr.dtype.kind in "mM":
        raise TypeError(f"X must hold real numbers, got dtype {arr.dtype}; convert durations or dates to numbers first")
    if arr is not None and arr.ndim > 2:
        raise ValueError(f"X must be 2-dimensional (n_samples, n_features), got an array of shape {arr.shape}")
