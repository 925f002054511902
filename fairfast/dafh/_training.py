"""The epochs of a DAFH fit: Adam ascent, validation scores, model selection and stopping."""

import numpy as np

from ._common import objective_value

__all__ = ["HISTORY", "train"]

#: per-epoch entries of ``DAFHClassifier.history_``
HISTORY = ("epoch", "objective", "val_fwh", "val_accuracy", "val_objective", "group_shares")


def train(est, data, theta, beta, rng, best_key=None, on_epoch=None):
    """Train ``theta`` and ``beta`` in place from their current values; keep the best epoch.

    Parameters
    ----------
    est : DAFHClassifier
        Supplies the hyperparameters and ``_evaluate`` (the validation key).
    data : dict
        ``Zt``, ``yt`` (training rows and 0/1 labels in the training dtype), ``Zv``,
        ``yv`` (validation rows, 0/1 labels), ``sizes``, ``log_prior``.
    theta, beta : ndarray
        The starting parameters (changed in place).
    rng : numpy Generator
        Shuffles the rows of every epoch.
    best_key : tuple or None
        The validation key of the starting parameters when they are the incumbent
        (the warm start, epoch 0): then the only other candidate is the epoch with the
        best validation objective (from ``min_epochs`` on), kept only if its key is
        higher -- one comparison, so that the noise of the key over many epochs does
        not pick a trained model that is better on the validation rows by chance.
        None: a random start (whose models are all the pooled model up to noise);
        every epoch from ``min_epochs`` on is a candidate and the best key is kept.
    on_epoch : callable or None
        ``on_epoch(epoch, theta, beta, context)`` after every epoch and at epoch 0.

    Returns
    -------
    best_key, (theta, beta, epoch), history, n_epochs
        The selection key of the kept parameters (None without candidates), the kept
        parameters and their epoch, the per-epoch history and the number of epochs run.
        Without early stopping the last epoch is kept.
    """
    from . import _kernels

    Zt, yt, Zv, yv, sizes, log_prior = (data[k] for k in ("Zt", "yt", "Zv", "yv", "sizes", "log_prior"))
    K = int(sizes[-1])
    state = {"m_theta": np.zeros_like(theta), "v_theta": np.zeros_like(theta), "m_beta": np.zeros_like(beta),
             "v_beta": np.zeros_like(beta), "step": 0}
    history = {key: [] for key in HISTORY}
    best = (theta.copy(), beta.copy(), 0)
    if on_epoch is not None:
        on_epoch(0, theta, beta, {**data, "objective": float("nan")})
    best_objective, since_best = -np.inf, 0
    warm, trained = best_key is not None, None
    epoch = 0
    for epoch in range(1, est.max_epochs + 1):
        perm = rng.permutation(Zt.shape[0]).astype(np.int64)
        value = _kernels.train_epoch(
            Zt, yt, perm, est.batch_size, theta, beta, sizes, est.gamma, est.lam, est.envy_weight, log_prior,
            est.alpha, est.learning_rate_group, est.learning_rate_model, state,
        )
        if not np.isfinite(value):
            raise FloatingPointError(
                f"the objective became {value} at epoch {epoch}; lower learning_rate_group / "
                "learning_rate_model or use dtype='float64'"
            )
        history["epoch"].append(epoch)
        history["objective"].append(float(value))
        if on_epoch is not None:
            on_epoch(epoch, theta, beta, {**data, "objective": float(value)})
        if not est.early_stopping:
            for key in ("val_fwh", "val_accuracy", "val_objective"):
                history[key].append(float("nan"))
            pi, _ = _kernels.forward(Zt, theta, beta, sizes)
            history["group_shares"].append((np.bincount(pi.argmax(axis=1), minlength=K) / Zt.shape[0]).tolist())
            continue
        key, shares, pi, score = est._evaluate(Zv, yv, theta, beta)
        val_objective = objective_value(pi, score, yv, est.gamma, est.lam, est.envy_weight, log_prior)
        history["val_fwh"].append(key[1])
        history["val_accuracy"].append(key[2])
        history["val_objective"].append(val_objective)
        history["group_shares"].append(shares.tolist())
        if epoch < est.min_epochs:
            continue
        if not warm and (best_key is None or key > best_key):  # ties keep the earlier epoch
            best_key, best = key, (theta.copy(), beta.copy(), epoch)
        # stop once the objective has stopped improving on the validation rows
        if val_objective > best_objective:
            best_objective, since_best = val_objective, 0
            if warm:
                trained = (key, (theta.copy(), beta.copy(), epoch))
        else:
            since_best += 1
            if since_best >= est.n_iter_no_change:
                break
    if warm and trained is not None and trained[0] > best_key:
        best_key, best = trained
    if not est.early_stopping or best_key is None:
        best = (theta, beta, epoch)
    return best_key, best, history, epoch
