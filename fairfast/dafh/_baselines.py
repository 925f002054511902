"""Baselines of DAFH with the same interface: pooled, trivial and k-means partitions."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base.frames import PredictionOutputMixin
from .._base.grouping import Grouping
from .._base.routing import SensitiveFeaturesConsumer, require_sensitive_features
from .._base.validation import check_seed
from ._common import check_non_negative, check_positive_int, encode_binary_target, fit_logistic, standardizer

__all__ = ["KMeansPartitionClassifier", "PooledClassifier", "TrivialPartitionClassifier"]


class _PartitionClassifier(PredictionOutputMixin, ClassifierMixin, BaseEstimator):
    # A pooled logistic model h_0 plus one logistic model per group of a partition.
    # Subclasses implement _fit_partition(Z, y01, **kw) -> codes and _partition(Z, **kw).

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _fit_models(self, X, y, **kw):
        check_non_negative(self.C, "C", strictly=True)
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        self.classes_, y01 = encode_binary_target(y)
        self.mean_, self.scale_ = standardizer(X)
        Z = (X - self.mean_) / self.scale_
        self.pooled_coef_, self.pooled_intercept_ = fit_logistic(Z, y01, self.C)
        codes = self._fit_partition(Z, y01, **kw)
        K = self.n_groups_
        self.coef_ = np.zeros((K, Z.shape[1]))
        self.intercept_ = np.zeros(K)
        for k in range(K):
            rows = codes == k
            if rows.any():
                self.coef_[k], self.intercept_[k] = fit_logistic(Z[rows], y01[rows], self.C)
            else:
                self.coef_[k], self.intercept_[k] = self.pooled_coef_, self.pooled_intercept_
        self.group_sizes_ = np.bincount(codes, minlength=K)
        return self

    def _transform(self, X):
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (X - self.mean_) / self.scale_

    def _scores(self, Z):
        return Z @ self.coef_.T + self.intercept_

    def _decision(self, X, **kw):
        Z = self._transform(X)
        k = self._partition(Z, **kw)
        s = np.einsum("ij,ij->i", Z, self.coef_[k]) + self.intercept_[k]
        return s, k, Z

    def assign_groups(self, X, **kw):
        """Group of every row, integers in ``[0, n_groups_)``."""
        return self._partition(self._transform(X), **kw)

    def decision_function(self, X, **kw):
        """Score of the row's group model (positive -> ``classes_[1]``)."""
        return self._predicted(self._decision(X, **kw)[0], X, "decision")

    def predict_proba(self, X, **kw):
        """Class probabilities of the row's group model."""
        p = 0.5 * (1.0 + np.tanh(0.5 * self._decision(X, **kw)[0]))
        return self._predicted(np.column_stack([1.0 - p, p]), X)

    def predict(self, X, **kw):
        """Labels of the row's group model."""
        positive = self._decision(X, **kw)[0] > 0
        return self._predicted(self.classes_[positive.astype(np.int64)], X)

    def predict_each(self, X):
        """0/1 predictions of every model: column 0 is the pooled model, column ``k`` group ``k - 1``'s."""
        Z = self._transform(X)
        s0 = Z @ self.pooled_coef_ + self.pooled_intercept_
        return np.column_stack([s0 > 0, self._scores(Z) > 0]).astype(np.int64)


class _SensitivePartition(SensitiveFeaturesConsumer):
    """Partitions on the sensitive features (trivial, decoupling tree): requested under
    metadata routing, refused with a routing hint when missing; ``score`` needs them."""

    def _decision(self, X, *, sensitive_features=None):
        return super()._decision(X, sensitive_features=require_sensitive_features(sensitive_features, self, "predict"))

    def assign_groups(self, X, *, sensitive_features=None):
        """Group of every row, integers in ``[0, n_groups_)``."""
        sensitive_features = require_sensitive_features(sensitive_features, self, "assign_groups")
        return super().assign_groups(X, sensitive_features=sensitive_features)

    def score(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Accuracy of :meth:`predict` on ``(X, y)``."""
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, self.predict(X, sensitive_features=sensitive_features), sample_weight=sample_weight)


class PooledClassifier(_PartitionClassifier):
    """One logistic regression for everyone (the pooled model ``h_0``), as a one-group partition.

    Parameters
    ----------
    C : float, default=1.0
        Inverse L2 strength (scikit-learn's ``C``), on standardised features.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.dafh import PooledClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> PooledClassifier().fit(X, [0, 0, 1, 1]).predict(X)
    array([0, 0, 1, 1])
    """

    def __init__(self, *, C=1.0):
        self.C = C

    def fit(self, X, y):
        """Fit the logistic regression. Returns self."""
        return self._fit_models(X, y)

    def _fit_partition(self, Z, y01):
        self.n_groups_ = 1
        return np.zeros(Z.shape[0], dtype=np.int64)

    def _partition(self, Z):
        return np.zeros(Z.shape[0], dtype=np.int64)


class TrivialPartitionClassifier(_SensitivePartition, _PartitionClassifier):
    """One logistic regression per sensitive-attribute value (Ustun et al.'s decoupling).

    The only classifier of :mod:`fairfast.dafh` that uses the sensitive attribute, at
    fit *and* predict time (requested by default under metadata routing). Several
    columns form intersectional groups.

    Parameters
    ----------
    C : float, default=1.0
        Inverse L2 strength of every logistic regression, on standardised features.

    Attributes
    ----------
    groups_ : list
        The group labels; group ``k`` of :meth:`assign_groups` is ``groups_[k]``.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.dafh import TrivialPartitionClassifier
    >>> X = np.array([[-1.0], [1.0], [-1.0], [1.0]])
    >>> a = ["u", "u", "v", "v"]
    >>> clf = TrivialPartitionClassifier().fit(X, [0, 1, 1, 0], sensitive_features=a)
    >>> clf.predict(X, sensitive_features=a)
    array([0, 1, 1, 0])
    """

    def __init__(self, *, C=1.0):
        self.C = C

    def fit(self, X, y, *, sensitive_features=None):
        """Fit the pooled model and one model per group. Returns self."""
        return self._fit_models(X, y, sensitive_features=require_sensitive_features(sensitive_features, self, "fit"))

    def _fit_partition(self, Z, y01, *, sensitive_features):
        self.grouping_, codes = Grouping.fit(sensitive_features, Z.shape[0], what="X has")
        self.groups_ = list(self.grouping_.labels)
        self.n_groups_ = len(self.groups_)
        return codes.astype(np.int64)

    def _partition(self, Z, *, sensitive_features):
        return np.asarray(self.grouping_.encode(sensitive_features, Z.shape[0], what="X has"), dtype=np.int64)


class KMeansPartitionClassifier(_PartitionClassifier):
    """k-means clusters of the standardised features, one logistic regression per cluster.

    Parameters
    ----------
    n_groups : int, default=2
        Number of clusters.
    C : float, default=1.0
        Inverse L2 strength of every logistic regression.
    n_init : int, default=10
        k-means restarts.
    random_state : int, numpy Generator or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.dafh import KMeansPartitionClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-5, 1, (50, 2)), rng.normal(5, 1, (50, 2))])
    >>> y = (X[:, 1] > X[:, 0]).astype(int)
    >>> clf = KMeansPartitionClassifier(n_groups=2, random_state=0).fit(X, y)
    >>> sorted(clf.group_sizes_.tolist())
    [50, 50]
    """

    def __init__(self, n_groups=2, *, C=1.0, n_init=10, random_state=None):
        self.n_groups = n_groups
        self.C = C
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, X, y):
        """Cluster, then fit the pooled model and one model per cluster. Returns self."""
        return self._fit_models(X, y)

    def _fit_partition(self, Z, y01):
        from sklearn.cluster import KMeans

        K = check_positive_int(self.n_groups, "n_groups")
        check_positive_int(self.n_init, "n_init")
        if K > Z.shape[0]:
            raise ValueError(f"n_groups={K} exceeds the number of rows ({Z.shape[0]})")
        seed = check_seed(self.random_state) % (2**32)
        self.kmeans_ = KMeans(n_clusters=K, n_init=self.n_init, random_state=seed).fit(Z)
        self.n_groups_ = K
        return self.kmeans_.labels_.astype(np.int64)

    def _partition(self, Z):
        return self.kmeans_.predict(Z).astype(np.int64)
