"""Per-epoch record of a DAFH fit: the objective's terms next to every fairness-without-harm estimator.

:func:`trace_fit` fits a :class:`~fairfast.dafh.DAFHClassifier` and, after every epoch
(and at the initialisation, epoch 0), evaluates on the training rows and on the
validation rows the estimator holds out:

- the objective and its three terms (spec section 2, full-sample means, ``pibar``
  over all rows): ``envy_term = 1/(n K^2) sum_ik L_ik`` (the losses of every model
  on every row; no gradient with respect to the group classifier),
  ``assignment_term = -2/(n K) sum_ik pi_ik L_ik`` and ``regulariser = -KL(pibar ||
  rho)``; ``objective = envy_weight * envy_term + assignment_term + lam *
  regulariser`` (the objective the estimator maximises) and ``paper_objective``
  (the same with ``envy_weight = 1``);
- fairness without harm of the hard assignment by the four estimators of
  :func:`fairfast.metrics.without_harm_report` -- (a) ``individual``, (b)
  ``pairwise``, (c) ``group_share`` and ``bootstrap`` -- and the accuracy;
- which rows and which constraints fail: ``envy_rows`` (share of rows whose
  assigned model errs while another group's model is right -- the rows that cost
  estimator (a) without a pooled-model win), ``irrational_rows`` (assigned model
  errs, pooled model right), ``agreement`` (mean over ordered pairs ``k != j`` of
  the share of group ``k``'s rows on which ``h_j`` predicts what ``h_k`` predicts),
  ``rationality_margin`` (``min_k R_k(h_0) - R_k(h_k)``) and ``envy_margin``
  (``min_k min_{j != k} R_k(h_j) - R_k(h_k)``), the smallest group share and the
  share of positive predictions.
"""

import numpy as np

__all__ = ["trace_fit"]

STATISTICS = (
    "objective", "paper_objective", "envy_term", "assignment_term", "regulariser",
    "individual", "pairwise", "group_share", "bootstrap", "accuracy",
    "envy_rows", "irrational_rows", "agreement", "rationality_margin", "envy_margin",
    "min_group_share", "positive_rate",
)


def epoch_statistics(estimator, theta, beta, sizes, log_prior, Z, y, *, n_replicates=200, seed=0):
    """The statistics of :data:`STATISTICS` for parameters ``theta``, ``beta`` on rows ``(Z, y)``."""
    from ..metrics import without_harm_report
    from . import _kernels
    from ._common import objective_terms

    pi, score = _kernels.forward(Z, theta, beta, sizes)
    envy, assignment, regulariser = objective_terms(pi, score, y, estimator.gamma, log_prior)
    out = {"envy_term": envy, "assignment_term": assignment, "regulariser": regulariser}
    base = assignment + estimator.lam * regulariser
    out["objective"] = estimator.envy_weight * envy + base
    out["paper_objective"] = envy + base

    n, K = pi.shape
    each, groups = estimator._predictions(Z, pi, score)
    pooled, preds = each[:, 0], each[:, 1:]
    report = without_harm_report(y, preds, groups, pooled_predictions=pooled, n_replicates=n_replicates,
                                 random_state=seed)
    out.update(individual=report.individual, pairwise=report.pairwise, group_share=report.group_share,
               bootstrap=report.bootstrap_probability, accuracy=report.accuracy)

    right = preds == y[:, None]
    own = right[np.arange(n), groups]
    others = right.copy()
    others[np.arange(n), groups] = False
    out["envy_rows"] = float(np.mean(~own & others.any(axis=1)))
    out["irrational_rows"] = float(np.mean(~own & (pooled == y)))
    agree = [np.mean(preds[groups == k, j] == preds[groups == k, k])
             for k in range(K) for j in range(K) if j != k and np.any(groups == k)]
    out["agreement"] = float(np.mean(agree)) if agree else 1.0
    risk, pooled_risk = report.risk_matrix, report.pooled_risk
    occupied = report.group_sizes > 0
    own_risk = np.diagonal(risk)
    out["rationality_margin"] = float(np.min((pooled_risk - own_risk)[occupied]))
    gaps = risk - own_risk[:, None]
    np.fill_diagonal(gaps, np.inf)
    out["envy_margin"] = float(np.min(gaps[occupied])) if K > 1 else 0.0
    out["min_group_share"] = float(report.group_sizes.min() / n)
    out["positive_rate"] = float(np.mean(preds[np.arange(n), groups]))
    return out


def trace_fit(estimator, X, y, *, n_replicates=200, random_state=0):
    """Fit a DAFH classifier and record the objective and every estimator after every epoch.

    Parameters
    ----------
    estimator : DAFHClassifier
        Fit in place (with its own parameters; ``early_stopping`` must be True so
        that validation rows exist; set ``n_iter_no_change >= max_epochs`` to trace
        every epoch).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    n_replicates : int, default=200
        Bootstrap replicates of the probability that every group is fair without
        harm, per epoch and part.
    random_state : int, default=0
        Seeds the bootstrap.

    Returns
    -------
    records : list of dict
        One dict per epoch (0 = the initialisation) and part (``"train"`` or
        ``"validation"``): ``epoch``, ``part``, ``batch_objective`` (the mean
        mini-batch objective of the epoch as trained; NaN at epoch 0) and the
        statistics described in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.dafh import DAFHClassifier
    >>> from fairfast.dafh._trace import trace_fit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> y = (X[:, 0] * X[:, 1] > 0).astype(int)
    >>> clf = DAFHClassifier(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
    >>> records = trace_fit(clf, X, y, n_replicates=20)
    >>> [(r["epoch"], r["part"]) for r in records][:3]
    [(0, 'train'), (0, 'validation'), (1, 'train')]
    >>> r = records[-1]  # envy_weight=0: the objective has no envy term
    >>> bool(abs(r["paper_objective"] - r["objective"] - r["envy_term"]) < 1e-12)
    True
    """
    if not estimator.early_stopping:
        raise ValueError("trace_fit needs early_stopping=True: the validation rows are part of the record")
    records = []

    def on_epoch(epoch, theta, beta, ctx):
        for part, Z, codes in (("train", ctx["Zt"], ctx["yt"]), ("validation", ctx["Zv"], ctx["yv"])):
            stats = epoch_statistics(estimator, theta, beta, ctx["sizes"], ctx["log_prior"], Z,
                                     np.asarray(codes, dtype=np.float64), n_replicates=n_replicates,
                                     seed=random_state + epoch)
            records.append({"epoch": epoch, "part": part, "batch_objective": ctx["objective"], **stats})

    estimator._fit(X, y, on_epoch=on_epoch)
    return records
