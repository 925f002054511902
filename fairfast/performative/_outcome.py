"""Ex-post group summaries of deployed policies, and the sampled population.

An :class:`Outcome` holds, for a batch of deterministic policies, the group
expectations under the *ex-post* law ``D(f, g)`` that every moment constraint and the
risk are computed from. Batched arrays have a leading batch axis (one row per policy)
and a group axis, so the constraints and the oracle vectorise over candidate policies.
"""

import numbers

import numpy as np

__all__ = ["Outcome", "Population"]


def _opt(x):
    return None if x is None else np.asarray(x, dtype=np.float64)


class Outcome:
    r"""Group expectations of one or several policies under their ex-post laws.

    Every array has shape ``(..., n_groups)`` (``mean_response``: ``(..., n_groups,
    n_features)``); the leading axes index policies. Fields a response model does not
    define are ``None``, and a constraint that needs them raises a ``ValueError``.

    Parameters
    ----------
    shares : array of shape (n_groups,)
        Group shares :math:`p_g` (not affected by the policy).
    loss : array of shape (..., n_groups)
        Expected loss per group, :math:`E_{D(f,g)}\,\ell`; the risk is
        :math:`R(f) = \sum_g p_g\,E_{D(f,g)}\,\ell`.
    qualified : array, optional
        Ex-post base rate :math:`E_{D(f,g)}[Y]`.
    hired : array, optional
        Acceptance rate :math:`E_{D(f,g)}[f]`.
    hired_qualified : array, optional
        :math:`E_{D(f,g)}[f\,Y]`.
    mean_response : array, optional
        Ex-post feature means :math:`E_{D(f,g)}[X_k]`.
    loss_sq : array, optional
        :math:`E_{D(f,g)}[\ell^2]` (sets the automatic duality-gap tolerance).
    n_samples : int or None
        Number of sampled units behind the estimate; ``None`` for closed forms.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.performative import Outcome
    >>> o = Outcome(shares=[0.5, 0.5], loss=[[-0.1, 0.0]], qualified=[[0.4, 0.2]],
    ...             hired=[[0.5, 0.3]], hired_qualified=[[0.3, 0.1]])
    >>> o.risk
    array([-0.05])
    >>> o.true_positive_rate
    array([[0.75, 0.5 ]])
    """

    def __init__(self, *, shares, loss, qualified=None, hired=None, hired_qualified=None,
                 mean_response=None, loss_sq=None, n_samples=None):
        self.shares = np.asarray(shares, dtype=np.float64)
        self.loss = np.asarray(loss, dtype=np.float64)
        self.qualified = _opt(qualified)
        self.hired = _opt(hired)
        self.hired_qualified = _opt(hired_qualified)
        self.mean_response = _opt(mean_response)
        self.loss_sq = _opt(loss_sq)
        self.n_samples = n_samples

    _FIELDS = ("loss", "qualified", "hired", "hired_qualified", "mean_response", "loss_sq")

    @property
    def n_groups(self):
        return self.shares.shape[0]

    @property
    def batch_shape(self):
        return self.loss.shape[:-1]

    @property
    def risk(self):
        """Ex-post risk :math:`\\sum_g p_g E_{D(f,g)}\\ell`, shape ``batch_shape``."""
        return self.loss @ self.shares

    def require(self, name, who):
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"{who} needs the outcome field {name!r}, which this response model does not define")
        return value

    @staticmethod
    def _ratio(num, den, min_mass):
        return num / np.maximum(den, min_mass)

    def rate(self, name, min_mass=1e-9):
        """Per-group rate by name: ``base_rate``, ``acceptance_rate``,
        ``true_positive_rate``, ``false_positive_rate`` or ``positive_predictive_value``.

        Conditional rates are ratios of ex-post expectations whose denominator is
        floored at `min_mass` (the rate is 0 for a group without mass in the event).
        """
        if name == "base_rate":
            return self.require("qualified", name)
        if name == "acceptance_rate":
            return self.require("hired", name)
        hq = self.require("hired_qualified", name)
        if name == "true_positive_rate":
            return self._ratio(hq, self.require("qualified", name), min_mass)
        if name == "false_positive_rate":
            q = self.require("qualified", name)
            return self._ratio(self.require("hired", name) - hq, 1.0 - q, min_mass)
        if name == "positive_predictive_value":
            return self._ratio(hq, self.require("hired", name), min_mass)
        raise ValueError(f"name must be one of 'base_rate', 'acceptance_rate', 'true_positive_rate', "
                         f"'false_positive_rate', 'positive_predictive_value'; got {name!r}")

    base_rate = property(lambda self: self.rate("base_rate"))
    acceptance_rate = property(lambda self: self.rate("acceptance_rate"))
    true_positive_rate = property(lambda self: self.rate("true_positive_rate"))
    false_positive_rate = property(lambda self: self.rate("false_positive_rate"))
    positive_predictive_value = property(lambda self: self.rate("positive_predictive_value"))

    def _map(self, fn):
        kw = {f: (None if getattr(self, f) is None else fn(getattr(self, f))) for f in self._FIELDS}
        return Outcome(shares=self.shares, n_samples=self.n_samples, **kw)

    def take(self, index):
        """Outcomes of the policies at `index` along the batch axis."""
        return self._map(lambda a: a[index])

    @classmethod
    def concatenate(cls, outcomes):
        """Stack outcomes of the same model along the batch axis (1-D batches)."""
        first = outcomes[0]
        kw = {}
        for f in cls._FIELDS:
            vals = [getattr(o, f) for o in outcomes]
            kw[f] = None if vals[0] is None else np.concatenate(vals, axis=0)
        return cls(shares=first.shares, n_samples=first.n_samples, **kw)

    @classmethod
    def combine_groups(cls, table, index):
        """Outcome whose group ``g`` comes from row ``index[..., g]`` of `table`.

        This assembles group-specific policies from a table of policies applied to
        every group alike (the ex-post law of group ``g`` depends only on the policy
        it faces).
        """
        index = np.asarray(index)
        g = np.arange(table.n_groups)

        def pick(a):
            return a[index, g] if a.ndim == 2 else a[index, g, :]

        return table._map(pick)

    def __repr__(self):
        return f"Outcome(n_groups={self.n_groups}, batch_shape={self.batch_shape})"


class Population:
    """Sampled units of a response model (before or after a policy is deployed).

    Parameters
    ----------
    group : array of int32, shape (n,)
        Group code of each unit, in ``[0, n_groups)``.
    n_groups : int
        Number of groups.
    **fields : arrays with ``n`` rows
        Per-unit attributes (e.g. ``cost``, ``signal0``, ``signal1`` before the
        response; ``skill``, ``qualified``, ``signal`` after it).

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.performative import Population
    >>> pop = Population(np.array([0, 1, 1], dtype=np.int32), 2, cost=np.ones((3, 1)))
    >>> len(pop), pop.group_counts().tolist(), sorted(pop.fields)
    (3, [1, 2], ['cost'])
    """

    def __init__(self, group, n_groups, **fields):
        if isinstance(n_groups, (bool, np.bool_)) or not isinstance(n_groups, numbers.Integral):
            raise TypeError(f"n_groups must be a positive int, got {type(n_groups).__name__} {n_groups!r}")
        if not 1 <= n_groups < 2**31:
            raise ValueError(f"n_groups must be a positive int below 2**31, got {n_groups}")
        raw = np.asarray(group)
        if raw.ndim != 1:
            raise ValueError(f"group must be 1-dimensional, got shape {raw.shape}")
        if raw.dtype.kind not in "biu":
            raise TypeError(f"group must hold integer group codes in [0, {n_groups}), got dtype {raw.dtype}"
                            + ("; round or cast them (group.astype(int)) if they are whole numbers"
                               if raw.dtype.kind == "f" else ""))
        if raw.size and (raw.min() < 0 or raw.max() >= n_groups):
            raise ValueError(f"group codes must lie in [0, {n_groups}); got range [{raw.min()}, {raw.max()}]")
        group = np.ascontiguousarray(raw, dtype=np.int32)  # exact: the codes lie in [0, n_groups)
        self.group = group
        self.n_groups = int(n_groups)
        self.fields = {}
        for name, value in fields.items():
            value = np.ascontiguousarray(value)
            if value.shape[0] != group.shape[0]:
                raise ValueError(f"{name} has {value.shape[0]} rows but group has {group.shape[0]}")
            self.fields[name] = value

    def __len__(self):
        return self.group.shape[0]

    def __getattr__(self, name):
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(f"Population has no field {name!r}")

    def group_counts(self):
        return np.bincount(self.group, minlength=self.n_groups)

    def with_fields(self, **fields):
        """A new population with the same units and extra (or replaced) fields."""
        return Population(self.group, self.n_groups, **{**self.fields, **fields})

    def __repr__(self):
        return f"Population(n={len(self)}, n_groups={self.n_groups}, fields={sorted(self.fields)})"
