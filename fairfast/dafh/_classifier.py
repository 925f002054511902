"""DAFH: a learned group classifier and decoupled logistic classifiers."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base.frames import PredictionOutputMixin
from .._base.validation import check_seed
from .._base.serving import Output, Serving, ServingMixin
from .._base.state import ModelFileMixin
from ._common import (
    check_X,
    encode_binary_target,
    fit_logistic,
    selection_key,
    standardizer,
)
from ._setup import check_params, initial_parameters, stratified_split
from ._state import from_state, get_state
from ._training import HISTORY, train
from ._warm_start import MIN_GROUP_SHARE, check_warm_start, refit_models, warm_start

__all__ = ["DAFHClassifier"]



class DAFHClassifier(PredictionOutputMixin, ServingMixin, ModelFileMixin, ClassifierMixin, BaseEstimator):
    r"""Demographic-agnostic fairness without harm (DAFH).

    Learns, without any sensitive attribute, a soft partition of the feature space
    into ``n_groups`` groups (an MLP with a softmax head, the *group classifier*
    :math:`\theta`) jointly with one logistic classifier :math:`h_k` per group
    (the *decoupled classifiers*), so that every group prefers its own classifier to
    the others' (envy-freeness) and to a pooled logistic regression :math:`h_0`
    (rationality) -- "fairness without harm" (Cai, Khalili and Zhang, 2025).

    The pooled model :math:`h_0` is fit first and frozen. Then, by Adam *ascent* with
    separate step sizes for :math:`\theta` and the :math:`h_k`, the objective

    .. math::

        F(\theta, h) = \frac{1}{bK^2} \sum_i \sum_k
            \left(e \tilde L_{ik} - 2K \tilde\pi_{ik} \tilde L_{ik}\right)
            + \lambda \Gamma(\theta)

    is maximised on mini-batches of ``b`` rows, where
    :math:`\tilde\pi_{i\cdot} = \mathrm{softmax}(\theta(x_i))`,
    :math:`\tilde L_{ik} = \sigma(-\gamma \tilde y_i s_{ik})` is the sigmoid-smoothed
    0-1 loss of :math:`h_k` (:math:`\tilde y = 2y - 1`, :math:`s_{ik}` the score of
    :math:`h_k`), :math:`\Gamma = -\mathrm{KL}(\bar\pi \,\|\, \rho)` is the
    anti-collapse regulariser on the batch-mean assignment :math:`\bar\pi` and
    :math:`e` is ``envy_weight``: 1 gives the paper's objective, whose first term
    (the envy term) rewards every :math:`h_j` for erring on the rows of the other
    groups; 0 (default) drops that reward, so that each :math:`h_k` minimises its
    :math:`\tilde\pi`-weighted loss. The envy term does not depend on
    :math:`\theta`: the group classifier's gradient is the paper's for every
    ``envy_weight``. The forward pass, :math:`F` and its analytic gradients (MLP
    back-propagation included) run in one compiled Numba kernel per mini-batch.

    Prediction: :math:`k(x) = \arg\max_k \theta(x)_k`, :math:`\hat y = 1[s_{k(x)}(x) > 0]`.

    Parameters
    ----------
    n_groups : int, default=2
        Number of groups ``K``.
    lam : float, default=1.0
        Weight :math:`\lambda` of the anti-collapse regulariser.
    gamma : float, default=4.0
        Sharpness :math:`\gamma` of the sigmoid surrogate of the 0-1 loss. At 1 the
        surrogate pulls every decoupled model towards the majority class (see
        ``docs/dafh.md``, surrogate study).
    hidden_layer_sizes : tuple of int, default=(64,)
        Hidden ReLU layers of the group classifier; ``()`` makes it linear-softmax.
    learning_rate_group : float, default=1e-3
        Adam step size of the group classifier.
    learning_rate_model : float, default=1e-2
        Adam step size of the decoupled classifiers.
    max_epochs : int, default=100
        Maximum number of passes over the training rows.
    batch_size : int, default=256
        Mini-batch size ``b`` (the last batch of an epoch may be smaller).
    alpha : float, default=1e-4
        L2 penalty on the decoupled classifiers' weights (not on their intercepts); it
        keeps the weights bounded where the objective rewards a model for erring on
        the rows of other groups.
    group_prior : array-like of shape (n_groups,), default=None
        Target shares :math:`\rho` of the regulariser; uniform when None.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the training rows (stratified by ``y``),
        evaluate after every epoch, keep the best epoch by ``selection`` and stop once
        the objective on the validation rows has not improved for
        ``n_iter_no_change`` epochs. When False, every row is used for training and
        the last epoch is kept.
    validation_fraction : float, default=0.15
        Share of the rows held out when ``early_stopping`` is True.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs without a better validation objective.
    min_epochs : int, default=5
        Epochs trained before an epoch may be selected or training may stop.
    selection : {"bootstrap", "individual", "pairwise", "group"}, default="bootstrap"
        Estimator of :func:`fairfast.metrics.probability_without_harm` that scores the
        epochs on the validation rows (ties broken by accuracy): the probability, over
        200 bootstrap replicates resampled within each assigned group, that every
        group's empirical risks satisfy rationality and envy-freeness (the headline
        estimator); (a) the share of rows whose assigned model is no worse than every
        model, pooled included; (b) its pairwise version; (c) the share of rows in
        groups whose empirical risks satisfy rationality and envy-freeness.
    envy_weight : float, default=0.0
        Weight :math:`e` of the envy term of the objective (1 in the paper). It only
        changes the decoupled models' training: with 1 every :math:`h_j` is rewarded
        for erring on the other groups' rows, which makes it the complement of their
        own model there (``docs/dafh.md``, surrogate study).
    init : {"kmeans", "random"}, default="kmeans"
        Where training starts. ``"kmeans"``: the warm start -- the group classifier
        represents the k-means partition of the standardised features exactly
        (``KMeans(n_init=10)`` seeded like
        :class:`~fairfast.dafh.KMeansPartitionClassifier`; k-means sees no labels, so
        it runs on all rows, validation rows included) and every :math:`h_k` is the
        logistic regression of its cluster's training rows; the warm start itself is
        a candidate for selection (epoch 0), so the kept model is never below it on
        the validation rows. Needs hidden layers of at least ``2 (n_groups - 1)``
        units. ``"random"`` (as before the warm start): a random group classifier and
        every :math:`h_k` at :math:`h_0` plus noise (``init_scale``).
    init_restarts : int, default=1
        With a k-means start: the number of k-means partitions tried, the first of
        10 initialisations (the baseline's), the others single runs with other seeds;
        the best on the validation rows (by the ``selection`` key) is the start.
    init_scale : float, default=0.01
        Standard deviation of the noise added to :math:`h_0` to initialise every
        :math:`h_k` (random start).
    pooled_C : float, default=1.0
        Inverse L2 strength of the pooled logistic regression :math:`h_0`
        (scikit-learn's ``C``).
    dtype : {"float64", "float32"}, default="float64"
        Floating-point type of the training kernels.
    random_state : int, numpy Generator or None, default=None
        Seeds the initialisation, the validation split and the shuffling.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.
    group_sizes_ : ndarray of shape (n_groups,)
        Number of training rows (the validation rows included) assigned to every group.
    history_ : dict of lists
        Per epoch: ``"epoch"``, ``"objective"`` (mean mini-batch :math:`F`),
        ``"val_fwh"`` (the ``selection`` estimator), ``"val_accuracy"`` and
        ``"val_objective"`` (:math:`F` on all validation rows at once) on the
        validation rows (NaN without early stopping), and ``"group_shares"``
        (validation rows, or training rows without early stopping).
    best_epoch_ : int
        The epoch whose parameters were kept (0 = the initialisation: the k-means
        warm start, or a random start when no epoch was a candidate).
    n_epochs_ : int
        Number of epochs run.
    pooled_coef_, pooled_intercept_ : ndarray, float
        :math:`h_0` on standardised features: fit on the training rows for training,
        then, once selection is done, on every row (as the baselines' pooled model).
    coef_ : ndarray of shape (n_groups, n_features)
    intercept_ : ndarray of shape (n_groups,)
        Decoupled classifiers on standardised features.

    Notes
    -----
    *Reconstructions.* The paper's body was not available; the following choices are
    ours (spec ``dafh.md`` sections 2-4):

    - The regulariser is :math:`-\mathrm{KL}(\bar\pi\,\|\,\rho)` (rather than
      :math:`-\mathrm{KL}(\rho\,\|\,\bar\pi)`): it is 0 exactly at :math:`\bar\pi =
      \rho`, equals :math:`-\log K` at a one-hot collapse with uniform :math:`\rho`, and
      its gradient with respect to the logits,
      :math:`-\frac{\lambda}{b}\tilde\pi_{im}(\log\bar\pi_m - \log\rho_m -
      \sum_k \tilde\pi_{ik}(\log\bar\pi_k - \log\rho_k))`, is finite at a balanced
      assignment.
    - The smoothed loss is :math:`\sigma(-\gamma\tilde y s)`, which equals
      :math:`|y - \sigma(s)|` for :math:`\gamma = 1` and tends to the 0-1 loss as
      :math:`\gamma \to \infty`.
    - :math:`h_k` starts at :math:`h_0` plus :math:`N(0, \text{init\_scale}^2)` noise.
      Features are standardised with the training mean and standard deviation, except
      0/1 (indicator) columns, which are kept so that the kernels can skip their zeros.
    - *Model selection.* Candidates are scored on the validation rows by the key (no
      group below 5% of the validation rows, the ``selection`` estimator, accuracy),
      compared in that order. After the k-means warm start: the start (epoch 0) and
      the epoch of the best validation objective, kept only if its key is higher.
      After a random start: every epoch from ``min_epochs`` on (ties keep the
      earlier); the first epochs are not candidates, as all :math:`h_k` are
      :math:`h_0` up to noise. Training stops on the validation *objective*, which is
      smooth, rather than on the estimator, which is noisy on small validation sets.
    - *Changes made by the surrogate study* (``docs/dafh.md``): ``envy_weight`` 0
      instead of 1, ``gamma`` 4 instead of 1, the bootstrap probability instead of
      the individual estimator (a) as headline and selection estimator, and the
      stopping rule above. Files written before these parameters existed load with
      ``envy_weight=1``, the objective they were trained with.

    References
    ----------
    .. [1] Cai, Khalili and Zhang, "Demographic-Agnostic Fairness without Harm",
       AIES 2025, arXiv:2509.24077.
    .. [2] Ustun, Liu and Parkes, "Fairness without Harm: Decoupled Classifiers with
       Preference Guarantees", ICML 2019.

    Examples
    --------
    Two clusters whose labels follow opposite rules: no single linear model does
    better than chance, a decoupled pair is nearly perfect.

    >>> import numpy as np
    >>> from fairfast.dafh import DAFHClassifier
    >>> rng = np.random.default_rng(0)
    >>> c = rng.integers(0, 2, 2000)
    >>> X = np.column_stack([rng.normal(6 * c - 3, 1), rng.normal(0, 1, 2000)])
    >>> y = np.where(c == 0, X[:, 1] > 0, X[:, 1] < 0).astype(int)
    >>> clf = DAFHClassifier(n_groups=2, hidden_layer_sizes=(), learning_rate_group=1e-2,
    ...                      max_epochs=30, random_state=0).fit(X, y)
    >>> bool(clf.score(X, y) > 0.95)
    True
    >>> sorted((clf.group_sizes_ // 100).tolist())
    [9, 10]
    """

    _serving = Serving(
        inputs="features", sensitive=False, fit_labels="required", labels="none",
        outputs=(Output("decision", False, "classes", "the predicted label (of the assigned group's classifier)"),
                 Output("probability", False, "float", "probability of classes_[1]"),
                 Output("group", False, "int", "the learned group the row is assigned to")),
    )

    def __init__(
        self,
        n_groups=2,
        *,
        lam=1.0,
        gamma=4.0,
        hidden_layer_sizes=(64,),
        learning_rate_group=1e-3,
        learning_rate_model=1e-2,
        max_epochs=100,
        batch_size=256,
        alpha=1e-4,
        group_prior=None,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=10,
        min_epochs=5,
        selection="bootstrap",
        envy_weight=0.0,
        init="kmeans",
        init_restarts=1,
        init_scale=0.01,
        pooled_C=1.0,
        dtype="float64",
        random_state=None,
    ):
        self.n_groups = n_groups
        self.lam = lam
        self.gamma = gamma
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate_group = learning_rate_group
        self.learning_rate_model = learning_rate_model
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.alpha = alpha
        self.group_prior = group_prior
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.min_epochs = min_epochs
        self.selection = selection
        self.envy_weight = envy_weight
        self.init = init
        self.init_restarts = init_restarts
        self.init_scale = init_scale
        self.pooled_C = pooled_C
        self.dtype = dtype
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        return check_params(self)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        """Fit the pooled model, then the group classifier and the decoupled models.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features. Sensitive attributes should not be among them: DAFH is meant to
            work without them.
        y : array-like of shape (n_samples,)
            Binary target (any two labels).

        Returns
        -------
        self
        """
        return self._fit(X, y)

    def _fit(self, X, y, on_epoch=None):
        # on_epoch(epoch, theta, beta, context) is called after every epoch (the
        # surrogate study records its statistics there); context holds the split.
        K, hidden, prior = self._check_params()
        dtype = np.dtype(self.dtype)
        check_X(X)
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], ensure_min_samples=2)
        self.classes_, y01 = encode_binary_target(y)
        seed = check_seed(self.random_state)
        rng = np.random.default_rng(seed)

        self.mean_, self.scale_ = standardizer(np.asarray(X, dtype=np.float64))
        Z = np.ascontiguousarray((X - self.mean_) / self.scale_, dtype=dtype)
        n, d = Z.shape

        if self.early_stopping:
            train_idx, val_idx = stratified_split(y01, self.validation_fraction, rng)
            if train_idx.shape[0] < 1:
                raise ValueError(f"validation_fraction={self.validation_fraction} leaves no training rows")
        else:
            train_idx, val_idx = np.arange(n), np.arange(0)
        Zt = np.ascontiguousarray(Z[train_idx])
        yt = np.ascontiguousarray(y01[train_idx], dtype=dtype)

        # 1. pooled model, frozen
        w0, b0 = fit_logistic(Zt, y01[train_idx], self.pooled_C)
        self.pooled_coef_, self.pooled_intercept_ = w0, b0

        # 2. the start (random, or the k-means warm start) and training (_training.train)
        sizes = np.array([d, *hidden, K], dtype=np.int64)
        self._sizes = sizes
        data = {"Zt": Zt, "yt": yt, "Zv": np.ascontiguousarray(Z[val_idx]), "yv": y01[val_idx], "sizes": sizes,
                "log_prior": np.ascontiguousarray(np.log(prior))}
        if self.init == "random":
            theta, beta = initial_parameters(sizes, w0, b0, self.init_scale, rng, dtype)
            key = None
        else:
            check_warm_start(self.hidden_layer_sizes, hidden, K, n)
            theta, beta = initial_parameters(sizes, w0, b0, self.init_scale, rng, dtype)
            Z64 = Z if Z.dtype == np.float64 else (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
            evaluate = (lambda th, be: self._evaluate(data["Zv"], data["yv"], th, be)[0]) if self.early_stopping \
                else None
            theta, beta, key = warm_start(theta, sizes, Z64, Zt, y01, train_idx, (w0, b0), self.pooled_C,
                                          self.init_restarts, seed, evaluate)
        _, (theta, beta, self.best_epoch_), self.history_, self.n_epochs_ = train(
            self, data, theta, beta, rng, key, on_epoch)
        if val_idx.shape[0]:  # selection done: h_0, and the models of a kept warm start, from every row
            Z64 = np.asarray(Z, dtype=np.float64)
            self.pooled_coef_, self.pooled_intercept_ = fit_logistic(Z64, y01, self.pooled_C)
            if self.init == "kmeans" and self.best_epoch_ == 0:
                beta = refit_models(theta, sizes, Z64, y01, self.pooled_C, (w0, b0), dtype)
        self._theta = theta
        self._beta = beta
        self.coef_ = beta[:, :d].astype(np.float64)
        self.intercept_ = beta[:, d].astype(np.float64)
        self.group_sizes_ = np.bincount(self._groups_std(Z), minlength=K)
        return self

    def _evaluate(self, Z, y, theta, beta):
        # selection key (no group below MIN_GROUP_SHARE, fairness without harm,
        # accuracy), group shares, pi and scores of parameters on the rows (Z, y)
        from . import _kernels

        pi, score = _kernels.forward(Z, theta, beta, self._sizes)
        preds, groups = self._predictions(Z, pi, score)
        fwh, acc = selection_key(y, preds, groups, self.selection)
        shares = np.bincount(groups, minlength=pi.shape[1]) / max(groups.shape[0], 1)
        return (bool(shares.min() >= MIN_GROUP_SHARE), fwh, acc), shares, pi, score

    def _predictions(self, Z, pi, score):
        # 0/1 predictions of h_0 (column 0) and of every h_k, and the hard groups
        groups = pi.argmax(axis=1)
        s0 = Z.astype(np.float64) @ self.pooled_coef_ + self.pooled_intercept_
        return np.column_stack([s0 > 0, score > 0]).astype(np.int64), groups

    # ------------------------------------------------------------------ predict
    def _transform(self, X):
        check_is_fitted(self, "history_")
        check_X(X)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return np.ascontiguousarray((X - self.mean_) / self.scale_, dtype=self._beta.dtype)

    def _groups_std(self, Z):
        from . import _kernels

        pi, _ = _kernels.forward(Z, self._theta, self._beta, self._sizes)
        return pi.argmax(axis=1)

    def group_probabilities(self, X):
        """Soft assignment ``softmax(theta(x))`` of every row, shape (n_samples, n_groups)."""
        from . import _kernels

        pi, _ = _kernels.forward(self._transform(X), self._theta, self._beta, self._sizes)
        return pi.astype(np.float64)

    def assign_groups(self, X):
        """Hard group ``argmax_k theta(x)_k`` of every row, integers in ``[0, n_groups)``."""
        return self._groups_std(self._transform(X))

    def decision_function(self, X):
        """Score ``s_{k(x)}(x)`` of the assigned decoupled model (positive -> ``classes_[1]``)."""
        from . import _kernels

        pi, score = _kernels.forward(self._transform(X), self._theta, self._beta, self._sizes)
        k = pi.argmax(axis=1)
        return self._predicted(score[np.arange(score.shape[0]), k].astype(np.float64), X, "decision")

    def predict_proba(self, X):
        """Class probabilities ``[1 - sigma(s), sigma(s)]`` from the assigned model."""
        s = np.asarray(self.decision_function(X))
        p = 0.5 * (1.0 + np.tanh(0.5 * s))
        return self._predicted(np.column_stack([1.0 - p, p]), X)

    def predict(self, X):
        """Labels of the assigned decoupled model."""
        positive = np.asarray(self.decision_function(X)) > 0
        return self._predicted(self.classes_[positive.astype(np.int64)], X)

    def _serve(self, X, sensitive_features, y, row_offset):
        from . import _kernels

        pi, score = _kernels.forward(self._transform(X), self._theta, self._beta, self._sizes)
        group = pi.argmax(axis=1)
        s = score[np.arange(score.shape[0]), group].astype(np.float64)
        return {"decision": self.classes_[(s > 0).astype(np.int64)], "probability": 0.5 * (1.0 + np.tanh(0.5 * s)),
                "group": group.astype(np.int64)}

    def predict_each(self, X):
        """0/1 predictions of every model: column 0 is ``h_0``, column ``k`` is ``h_k``.

        Together with :meth:`assign_groups` this gives everything the
        fairness-without-harm statistics need.
        """
        from . import _kernels

        Z = self._transform(X)
        pi, score = _kernels.forward(Z, self._theta, self._beta, self._sizes)
        return self._predictions(Z, pi, score)[0]

    # ------------------------------------------------------------ model files
    _HISTORY = HISTORY
    _STATE_ARRAYS = ("mean", "scale", "pooled_coef", "theta", "beta", "group_sizes",
                     *(f"history.{key}" for key in _HISTORY))

    def save(self, path):
        """Save the fitted model to a model file (JSON + .npy in a zip, never pickle).

        Load it with :func:`fairfast.load`; see :func:`fairfast.io.save` for the format.
        A ``random_state`` given as a numpy ``Generator`` or ``RandomState`` is written
        as None: it only seeds ``fit``, and the loaded model predicts bit for bit like
        the saved one.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> import fairfast
        >>> from fairfast.dafh import DAFHClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 3))
        >>> y = np.where(X[:, 0] > 0, "yes", "no")
        >>> clf = DAFHClassifier(hidden_layer_sizes=(4,), max_epochs=3, random_state=0).fit(X, y)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     clf.save(f"{d}/dafh.ffm")
        ...     again = fairfast.load(f"{d}/dafh.ffm")
        >>> bool(np.array_equal(again.predict_proba(X), clf.predict_proba(X)))
        True
        """
        super().save(path)

    def _get_state(self):
        """The fitted model as JSON-able metadata and a dict of arrays (no pickle); the
        fields are listed in :func:`fairfast.dafh._state.get_state`."""
        return get_state(self)

    @classmethod
    def _from_state(cls, meta, arrays):
        """Rebuild a fitted estimator from :meth:`_get_state` output; inconsistent input raises ValueError."""
        return from_state(cls, meta, arrays)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
