"""The scikit-learn side of :class:`GroupThresholds`: labels, score, routing, outputs.

- Labels: ``y`` of 0/1 or probabilities in [0, 1] is used as it is (``classes_`` is
  ``[0, 1]``); any other two labels are encoded, the larger (in sorted order) being the
  positive class, as scikit-learn's binary classifiers do. Predictions are the labels.
- ``score(X, y, *, sensitive_features)``: accuracy of :meth:`predict`.
- Metadata routing: ``sensitive_features`` is requested by default in ``fit``,
  ``predict``, ``predict_proba`` and ``score``; a score model fitted here receives the
  fit metadata it requests (``estimator.set_fit_request(sample_weight=True)``), as in
  scikit-learn's meta-estimators.
- ``set_output(predict="pandas" | "polars")``: predictions keep the input's index.
"""

import numpy as np

from .._base.frames import PredictionOutputMixin, check_feature_names
from .._base.routing import SensitiveFeaturesConsumer, not_routed, require_sensitive_features

__all__ = ["ThresholdsSklearnMixin", "binary_target", "classes_from_json", "classes_to_json"]


def binary_target(y):
    """``(y01, classes)``: the target as floats in [0, 1] and the labels it stands for."""
    from sklearn.utils.multiclass import type_of_target

    from .._base.validation import as_float_array

    if y is None:
        raise ValueError("GroupThresholds requires y to be passed, but the target y is None")
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"y must be 1-dimensional (one label per row), got shape {labels.shape}")
    numeric = labels.dtype.kind in "biuf"
    if numeric and labels.size and np.isfinite(labels).all() and labels.min() >= 0 and labels.max() <= 1:
        return as_float_array(labels, "y", dtype=np.float64), np.array([0, 1])
    if numeric and not np.isfinite(labels).all():
        raise ValueError("y must be finite (no NaN or inf)")
    if numeric and type_of_target(labels) == "continuous":
        raise ValueError("y is continuous: GroupThresholds needs two labels, or probabilities in [0, 1]")
    try:
        classes = np.unique(labels)
    except TypeError:  # labels that do not sort together
        raise ValueError("y must hold two labels that compare with each other, or probabilities in [0, 1]") from None
    if classes.size != 2:
        shown = ", ".join(repr(c) for c in classes[:5].tolist())
        raise ValueError(f"Only binary classification is supported. y has {classes.size} distinct label(s) "
                         f"({shown}); GroupThresholds needs two labels, or probabilities in [0, 1]")
    return (labels == classes[1]).astype(np.float64), classes


def classes_to_json(classes):
    """``classes_`` as JSON scalars for a model file."""
    return [c.item() if isinstance(c, np.generic) else c for c in classes]


def classes_from_json(meta):
    """``classes_`` from a model file's meta (files without the entry held 0/1 labels)."""
    from .._base.state import labels_from_json

    if "classes" not in meta:
        return np.array([0, 1])
    classes = labels_from_json(meta["classes"], False, "classes", minimum=2)
    try:
        ordered = len(classes) == 2 and classes[0] < classes[1]
    except TypeError:
        ordered = False
    if not ordered:
        raise ValueError(f"model state is inconsistent: classes must be two sorted labels, got {classes!r}")
    return np.array(classes)


class ThresholdsSklearnMixin(SensitiveFeaturesConsumer, PredictionOutputMixin):
    """Mixed into :class:`GroupThresholds` (see the module docstring)."""

    __metadata_request__predict = not_routed("random_state", "row_offset")

    def score(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Accuracy of :meth:`predict` on ``(X, y)`` (``sensitive_features`` as in predict).

        Parameters
        ----------
        X : array-like
        y : array-like of shape (n,)
            True labels (values of ``classes_``).
        sensitive_features : array-like, Series, DataFrame or dict of columns
        sample_weight : array-like of shape (n,), optional

        Returns
        -------
        float
        """
        from sklearn.metrics import accuracy_score

        sensitive_features = require_sensitive_features(sensitive_features, self, "score")
        pred = np.asarray(self.predict(X, sensitive_features=sensitive_features))
        return float(accuracy_score(np.asarray(y), pred, sample_weight=sample_weight))

    def get_metadata_routing(self):
        """Routing: this estimator's own requests, and ``fit`` to ``estimator.fit`` when the
        score model is fitted here."""
        from sklearn.utils.metadata_routing import MethodMapping, MetadataRouter

        router = MetadataRouter(owner=self).add_self_request(self)
        if self.estimator is not None and not self.prefit:
            router.add(estimator=self.estimator, method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        return router

    def _estimator_fit_params(self, sample_weight, fit_params):
        """What ``estimator.fit`` receives: under routing, the metadata it requests; without,
        ``**fit_params`` (``sample_weight`` stays with the thresholds, as before)."""
        from sklearn.utils.metadata_routing import _routing_enabled, process_routing

        if not _routing_enabled():
            return fit_params
        return process_routing(self, "fit", sample_weight=sample_weight, **fit_params)["estimator"]["fit"]

    def _record_feature_names(self, X):
        """``feature_names_in_``: of the scores (no score model), or the score model's."""
        if self.estimator is None:
            check_feature_names(self, X, reset=True, count=False)
            return
        names = getattr(self.estimator_, "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        else:
            self.__dict__.pop("feature_names_in_", None)

    def _labels(self, decisions):
        """0/1 decisions as labels of ``classes_``."""
        classes = self.classes_
        if classes.dtype.kind in "iu" and classes[0] == 0 and classes[1] == 1:
            return decisions
        return classes[np.asarray(decisions, dtype=np.intp)]
