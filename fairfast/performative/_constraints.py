r"""Ex-post fairness constraints as moment inequalities ``gamma_j(f) <= eps_j``.

Each moment maps a batched :class:`~fairfast.performative.Outcome` (the ex-post group
laws ``D(f, g)`` of a batch of deterministic policies) to the constraint values
``gamma`` of shape ``(..., n_constraints)``. A randomised policy ``Q`` has
``gamma(Q) = sum_f Q(f) gamma(f)`` (one policy drawn per deployment).

Parity moments compare every pair of groups ``g < h`` in both directions:
``gamma_{(g,h),+} = m_g - m_h`` and ``gamma_{(g,h),-} = m_h - m_g``, each bounded by the
tolerance; for two groups these are the spec's ``+-(m_0 - m_1) <= eps``.
"""

import numbers

import numpy as np

__all__ = [
    "BaseRateParity",
    "Constraints",
    "CustomMoment",
    "DemographicParity",
    "GroupMoment",
    "MeanResponseParity",
    "Moment",
    "TruePositiveRateParity",
]


def _check_tolerance(value, name="tolerance"):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0 or not np.isfinite(value):
        raise ValueError(f"{name} must be a non-negative finite real number, got {value!r}")
    return float(value)


class Moment:
    """Base class: ``gamma(outcome) -> (..., n_constraints)`` with bounds ``bound()``.

    Subclasses set ``labels`` (one per constraint) after ``bind(n_groups)`` and
    implement ``gamma``. ``project_lambda`` maps dual weights to an equivalent,
    smaller-norm vector (for ``+-`` pairs only one side needs weight), as fairlearn's
    moments do; the default is the identity.
    """

    labels = ()

    def bind(self, outcome):
        """Fix the constraint count from a probe Outcome (or a number of groups)."""
        return self

    @property
    def n_constraints(self):
        return len(self.labels)

    def bound(self):
        raise NotImplementedError

    def gamma(self, outcome):
        raise NotImplementedError

    def project_lambda(self, lam):
        return lam


class GroupMoment(Moment):
    r"""Parity of a per-group ex-post quantity ``m_g(f)`` across groups.

    Parameters
    ----------
    quantity : callable
        Maps a batched Outcome to an array of shape ``(..., n_groups)`` (for example
        ``lambda o: o.rate("false_positive_rate")``), or to ``(..., n_groups, k)`` for
        ``k`` quantities per group.
    tolerance : float
        Allowed absolute difference between any two groups.
    name : str
        Used in the constraint labels.

    Examples
    --------
    >>> from fairfast.performative import GroupMoment, Outcome
    >>> fpr = GroupMoment(lambda o: o.rate("false_positive_rate"), tolerance=0.05, name="fpr")
    >>> o = Outcome(shares=[0.5, 0.5], loss=[[0.0, 0.0]], qualified=[[0.5, 0.5]],
    ...             hired=[[0.5, 0.4]], hired_qualified=[[0.4, 0.4]])
    >>> fpr.bind(2).gamma(o).round(3), fpr.labels
    (array([[ 0.2, -0.2]]), ('fpr[0-1]+', 'fpr[0-1]-'))
    """

    def __init__(self, quantity, tolerance=0.01, *, name="moment"):
        if not callable(quantity):
            raise TypeError(f"quantity must be a callable outcome -> per-group values, got {type(quantity).__name__}")
        self.quantity = quantity
        self.tolerance = _check_tolerance(tolerance)
        self.name = str(name)
        self.n_groups = None
        self.labels = ()

    def _values(self, outcome):
        return np.asarray(self.quantity(outcome), dtype=np.float64)

    def bind(self, outcome):
        """Fix the number of groups (and of quantities per group) from an Outcome or an int."""
        if isinstance(outcome, numbers.Integral):
            n_groups, k = int(outcome), None
        else:
            n_groups = outcome.n_groups
            v = self._values(outcome.take(np.array([0])) if outcome.batch_shape else outcome)
            k = v.shape[-1] if v.shape[-1] != n_groups or (v.ndim >= 2 and v.shape[-2] == n_groups) else None
            if v.shape[-1] != n_groups and (v.ndim < 2 or v.shape[-2] != n_groups):
                raise ValueError(f"{self.name}: quantity must return (..., {n_groups}) or (..., {n_groups}, k) "
                                 f"values, got shape {v.shape}")
        self.n_groups = n_groups
        self._k = k
        self._pairs = [(g, h) for g in range(n_groups) for h in range(g + 1, n_groups)]
        if not self._pairs:
            raise ValueError("parity constraints need at least two groups")
        if k is None:
            self.labels = tuple(f"{self.name}[{g}-{h}]{s}" for g, h in self._pairs for s in "+-")
        else:
            self.labels = tuple(f"{self.name}{j}[{g}-{h}]{s}" for j in range(k) for g, h in self._pairs for s in "+-")
        return self

    def _check_bound(self):
        if self.n_groups is None:
            raise RuntimeError(f"{type(self).__name__} must be bound to an outcome first (call bind)")

    def bound(self):
        self._check_bound()
        return np.full(self.n_constraints, self.tolerance)

    def gamma(self, outcome):
        self._check_bound()
        v = self._values(outcome)
        if self._k is None:
            if v.shape[-1] != self.n_groups:
                raise ValueError(f"{self.name}: quantity must return (..., {self.n_groups}) values, got shape {v.shape}")
            diffs = [v[..., g] - v[..., h] for g, h in self._pairs]
            return np.stack([d for diff in diffs for d in (diff, -diff)], axis=-1)
        if v.shape[-2:] != (self.n_groups, self._k):
            raise ValueError(f"{self.name}: quantity must return (..., {self.n_groups}, {self._k}) values, "
                             f"got shape {v.shape}")
        diffs = [v[..., g, :] - v[..., h, :] for g, h in self._pairs]  # each (..., k)
        out = np.stack([d for diff in diffs for d in (diff, -diff)], axis=-1)  # (..., k, 2P)
        return out.reshape(*out.shape[:-2], -1)

    def project_lambda(self, lam):
        lam = np.asarray(lam, dtype=np.float64)
        pos, neg = lam[0::2], lam[1::2]
        out = np.empty_like(lam)
        out[0::2] = np.maximum(pos - neg, 0.0)
        out[1::2] = np.maximum(neg - pos, 0.0)
        return out


class BaseRateParity(GroupMoment):
    r"""Ex-post base-rate (qualification) parity:
    :math:`\pm(E_{D(f,g)}Y - E_{D(f,h)}Y) \le \epsilon`.

    Examples
    --------
    >>> from fairfast.performative import BaseRateParity
    >>> BaseRateParity(0.02).bind(2).labels
    ('base_rate[0-1]+', 'base_rate[0-1]-')
    """

    def __init__(self, tolerance=0.01):
        super().__init__(lambda o: o.rate("base_rate"), tolerance, name="base_rate")


class DemographicParity(GroupMoment):
    r"""Ex-post demographic parity: :math:`\pm(E_{D(f,g)}f - E_{D(f,h)}f) \le \epsilon`.

    Examples
    --------
    >>> from fairfast.performative import DemographicParity
    >>> DemographicParity().bind(2).bound()
    array([0.01, 0.01])
    """

    def __init__(self, tolerance=0.01):
        super().__init__(lambda o: o.rate("acceptance_rate"), tolerance, name="acceptance_rate")


class TruePositiveRateParity(GroupMoment):
    r"""Ex-post TPR parity: :math:`\pm(E_{D(f,g)}[f\mid Y=1] - E_{D(f,h)}[f\mid Y=1]) \le \epsilon`.

    The conditional rate is :math:`E[fY] / \max(E[Y], m)` with ``m = min_mass``, so a
    policy that leaves a group without qualified members has rate 0 there.

    Examples
    --------
    >>> from fairfast.performative import TruePositiveRateParity
    >>> TruePositiveRateParity(0.05).bind(3).n_constraints
    6
    """

    def __init__(self, tolerance=0.01, *, min_mass=1e-9):
        self.min_mass = _check_tolerance(min_mass, "min_mass")
        super().__init__(lambda o: o.rate("true_positive_rate", self.min_mass), tolerance,
                         name="true_positive_rate")


class MeanResponseParity(GroupMoment):
    r"""Parity of ex-post feature means: :math:`\pm(E_{D(f,g)}X_k - E_{D(f,h)}X_k) \le \epsilon`.

    Parameters
    ----------
    tolerance : float
    features : sequence of int, optional
        Feature indices to constrain; default all.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.performative import MeanResponseParity, Outcome
    >>> o = Outcome(shares=[0.5, 0.5], loss=[[0.0, 0.0]], mean_response=[[[1.0, 2.0], [0.0, 2.5]]])
    >>> MeanResponseParity(0.1).bind(o).gamma(o)
    array([[ 1. , -1. , -0.5,  0.5]])
    """

    def __init__(self, tolerance=0.01, *, features=None):
        self.features = None if features is None else [int(k) for k in np.atleast_1d(features)]
        super().__init__(self._means, tolerance, name="mean_response")

    def _means(self, outcome):
        m = outcome.require("mean_response", "MeanResponseParity")
        return m if self.features is None else m[..., self.features]


class CustomMoment(Moment):
    r"""User-defined moment inequalities ``function(outcome) <= bound``.

    Parameters
    ----------
    function : callable
        Maps a batched Outcome to an array of shape ``(..., n_constraints)``.
    bound : array of shape (n_constraints,)
        The right-hand sides :math:`\epsilon_j`.
    labels : sequence of str, optional

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.performative import CustomMoment, Outcome
    >>> floor = CustomMoment(lambda o: -o.base_rate[..., 1:2], bound=[-0.3], labels=["qualified_1 >= 0.3"])
    >>> o = Outcome(shares=[0.5, 0.5], loss=[[0.0, 0.0]], qualified=[[0.4, 0.2]])
    >>> floor.gamma(o)
    array([[-0.2]])
    """

    def __init__(self, function, bound, labels=None):
        if not callable(function):
            raise TypeError(f"function must be callable, got {type(function).__name__}")
        self.function = function
        self._bound = np.atleast_1d(np.asarray(bound, dtype=np.float64))
        if self._bound.ndim != 1 or not np.isfinite(self._bound).all():
            raise ValueError("bound must be a finite 1-D array (one entry per constraint)")
        labels = [f"custom{j}" for j in range(self._bound.size)] if labels is None else [str(x) for x in labels]
        if len(labels) != self._bound.size:
            raise ValueError(f"labels must have {self._bound.size} entries, got {len(labels)}")
        self.labels = tuple(labels)

    def bound(self):
        return self._bound.copy()

    def gamma(self, outcome):
        g = np.asarray(self.function(outcome), dtype=np.float64)
        if g.shape[-1:] != self._bound.shape:
            raise ValueError(f"function must return (..., {self._bound.size}) values, got shape {g.shape}")
        return g


class Constraints(Moment):
    """Several moments stacked into one constraint vector.

    Parameters
    ----------
    moments : sequence of Moment

    Examples
    --------
    >>> from fairfast.performative import BaseRateParity, Constraints, DemographicParity
    >>> c = Constraints([BaseRateParity(0.01), DemographicParity(0.05)]).bind(2)
    >>> c.bound()
    array([0.01, 0.01, 0.05, 0.05])
    """

    def __init__(self, moments):
        if isinstance(moments, Moment):
            moments = [moments]
        self.moments = list(moments)
        if not self.moments or not all(isinstance(m, Moment) for m in self.moments):
            raise TypeError("constraints must be a Moment or a non-empty sequence of Moment objects")

    def bind(self, outcome):
        for m in self.moments:
            m.bind(outcome)
        return self

    @property
    def labels(self):
        return tuple(label for m in self.moments for label in m.labels)

    def bound(self):
        return np.concatenate([m.bound() for m in self.moments])

    def gamma(self, outcome):
        return np.concatenate([m.gamma(outcome) for m in self.moments], axis=-1)

    def project_lambda(self, lam):
        out, start = [], 0
        for m in self.moments:
            k = m.n_constraints
            out.append(m.project_lambda(lam[start:start + k]))
            start += k
        return np.concatenate(out)
