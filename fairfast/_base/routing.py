"""Metadata routing: every estimator that takes ``sensitive_features`` requests it.

With ``sklearn.set_config(enable_metadata_routing=True)``, ``Pipeline``,
``GridSearchCV``, ``cross_validate``, ``cross_val_score`` and the scorers of
:mod:`fairfast.metrics` pass ``sensitive_features`` (split with the rows) to every
method of a fairfast estimator that takes it, without any ``set_*_request`` call:
:class:`SensitiveFeaturesConsumer` sets the request's default to True through
scikit-learn's ``__metadata_request__<method>`` class attributes (the documented way
for a consumer to change a default request value; ``set_fit_request(
sensitive_features=False)`` etc. still override it per instance). Arguments that must
never be routed (``row_offset``, ``out``, ``random_state`` of a single call) are
removed from the requests with :func:`not_routed`.

scikit-learn has no notion of *required* metadata: when nothing routes
``sensitive_features`` the method is called without it. The estimators then raise
:func:`missing_sensitive_features`'s message, which says how to route it.
"""

__all__ = ["SensitiveFeaturesConsumer", "missing_sensitive_features", "not_routed", "require_sensitive_features"]

_REQUESTED = {"sensitive_features": True}


class SensitiveFeaturesConsumer:
    """Requests ``sensitive_features`` by default in every routed method the class has.

    (scikit-learn reads these attributes only for methods the class defines; each of
    them must take ``sensitive_features``.)
    """

    __metadata_request__fit = _REQUESTED
    __metadata_request__transform = _REQUESTED
    __metadata_request__predict = _REQUESTED
    __metadata_request__predict_proba = _REQUESTED
    __metadata_request__decision_function = _REQUESTED
    __metadata_request__score = _REQUESTED


def not_routed(*names):
    """A ``__metadata_request__<method>`` value removing `names` from the routed metadata."""
    from sklearn.utils.metadata_routing import UNUSED

    return {name: UNUSED for name in names}


def missing_sensitive_features(owner, method):
    """The message of a call of `owner` (an estimator or a name) without sensitive features."""
    owner = owner if isinstance(owner, str) else type(owner).__name__
    return (f"sensitive_features is required: {owner}.{method} needs the group of every row. Inside a "
            "Pipeline, GridSearchCV, cross_validate or a fairfast scorer, enable metadata routing with "
            "sklearn.set_config(enable_metadata_routing=True) and pass sensitive_features to the outer call "
            "(fit(..., sensitive_features=A), or params={'sensitive_features': A}): fairfast estimators "
            "request it by default")


def require_sensitive_features(sensitive_features, estimator, method):
    """`sensitive_features`, or a ValueError saying how to pass or route it."""
    if sensitive_features is None:
        raise ValueError(missing_sensitive_features(estimator, method))
    return sensitive_features
