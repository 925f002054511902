r"""Deployment modes of a fitted :class:`GaussianSteering`, and the oracle for evaluations.

The fairness guarantee of optimal steering holds on the steered distribution, whose
rows are moved with their labels. A deployed model does not see test labels, so what
it gets depends on the mode:

``"preprocessing"`` (a)
    the downstream model is trained on the steered, reweighted training rows and
    applied to raw test rows;
``"label_free"`` (b)
    trained the same way; test rows are moved by one map per group, fitted to the
    group's mixture (``unlabeled="mixture"``);
``"soft"`` (c)
    trained the same way; test rows are moved by the label-aware maps weighted by a
    classifier's :math:`p(i \mid x, a)` (the fitted Gaussian model's, or given
    probabilities).

``"oracle"`` -- test rows moved with their *true* labels -- is the steered
distribution itself: an upper reference for evaluations, not a deployment mode.
"""

from collections import namedtuple

__all__ = ["DEPLOYMENT_MODES", "DeploymentView", "deployment_views", "oracle_transform"]

#: The deployment modes, in the order reports list them (the oracle comes last, apart).
DEPLOYMENT_MODES = ("preprocessing", "label_free", "soft")

DeploymentView = namedtuple("DeploymentView", ["train", "sample_weight", "test"])
DeploymentView.__doc__ = """Inputs of a downstream model in one deployment mode.

train : ndarray
    Training features to fit the downstream model on.
sample_weight : ndarray
    Training row weights (the prior reweighting ``q(a)q(y)/q(y,a)``).
test : ndarray
    The features the fitted model is applied to.
"""


def oracle_transform(steering, X, y_true, *, sensitive_features):
    """EVALUATION ONLY: move rows with their true labels (the steered distribution itself).

    At test time the labels are what the model predicts, so no deployed model can do
    this; scores of oracle-moved test rows are an upper reference for the guarantee,
    never a deployment result. Report them last, beside the deployment modes.

    Parameters
    ----------
    steering : fitted GaussianSteering
    X : array-like of shape (n_samples, n_features)
    y_true : array-like of shape (n_samples,)
        The true labels of the rows.
    sensitive_features : array-like

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    return steering.transform(X, y_true, sensitive_features=sensitive_features)


def deployment_views(steering, X_train, y_train, X_test, *, sensitive_train, sensitive_test, y_test=None,
                     proba_test=None):
    """Training and test inputs of a downstream model in every deployment mode.

    The training rows are moved with their labels and reweighted in every mode (the
    steered training distribution is the ideal one); the modes differ in how test
    rows are moved.

    Parameters
    ----------
    steering : fitted GaussianSteering
    X_train, y_train : training features and labels (those ``steering`` was fitted on, typically)
    X_test : test features
    sensitive_train, sensitive_test : groups of the training and test rows
    y_test : array-like, optional
        True test labels: adds the ``"oracle"`` view (evaluation only), last.
    proba_test : array-like of shape (n_test, n_classes), optional
        A classifier's class probabilities for the test rows, used by ``"soft"``
        instead of the fitted Gaussian posterior.

    Returns
    -------
    dict of str to DeploymentView
        Keys ``"preprocessing"``, ``"label_free"``, ``"soft"`` and, with ``y_test``,
        ``"oracle"``.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.steering import GaussianSteering, deployment_views
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 2000); y = rng.integers(0, 2, 2000)
    >>> X = rng.normal(size=(2000, 2)) + (1 + a)[:, None] * y[:, None]
    >>> st = GaussianSteering(reference=0).fit(X[:1000], y[:1000], sensitive_features=a[:1000])
    >>> views = deployment_views(st, X[:1000], y[:1000], X[1000:], sensitive_train=a[:1000],
    ...                          sensitive_test=a[1000:], y_test=y[1000:])
    >>> list(views)
    ['preprocessing', 'label_free', 'soft', 'oracle']
    >>> bool((views["preprocessing"].test == X[1000:]).all())
    True
    """
    train = steering.transform(X_train, y_train, sensitive_features=sensitive_train)
    weight = steering.sample_weights(y_train, sensitive_features=sensitive_train)
    from ._apply import check_X

    views = {
        "preprocessing": DeploymentView(train, weight, check_X(X_test, "X_test", steering.n_features_in_)),
        "label_free": DeploymentView(train, weight, steering._label_free(X_test, sensitive_test, "mixture")),
        "soft": DeploymentView(train, weight, steering._label_free(X_test, sensitive_test, "soft")
                               if proba_test is None else
                               steering.soft_transform(X_test, proba_test, sensitive_features=sensitive_test)),
    }
    if y_test is not None:
        views["oracle"] = DeploymentView(train, weight,
                                         oracle_transform(steering, X_test, y_test, sensitive_features=sensitive_test))
    return views
