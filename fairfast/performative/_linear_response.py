r"""The linear-Gaussian response model."""

import numbers

import numpy as np

from .._base.validation import check_seed
from ._outcome import Outcome, Population
from ._policy_types import LinearPolicy, _policy_params
from ._response import _check_shares, _group_sizes

__all__ = ["LinearGaussianResponse"]


class LinearGaussianResponse:
    r"""Linear-Gaussian response: features shift linearly with the policy.

    Group ``g`` has pre-policy features :math:`X \sim N(\mu_g, \Sigma)`; a policy
    :math:`\theta \in \mathbb{R}^d` moves them to :math:`X' = X + E_g\theta` with a
    diagonal response matrix :math:`E_g`. The loss of group ``g`` is
    :math:`-r^\top E X'_g + \tfrac{\kappa}{2}\|\theta\|^2` (reward `reward`, intervention
    cost `cost`). Mean-response parity is met by
    :math:`\theta = (E_1 - E_0)^{-1}(\mu_0 - \mu_1)` when :math:`E_0 - E_1` is
    invertible, and by no policy when :math:`E_0 = E_1` and :math:`\mu_0 \ne \mu_1`.

    Parameters
    ----------
    means : array of shape (n_groups, d)
    effects : array of shape (n_groups, d)
        Diagonals of :math:`E_g`.
    covariance : array of shape (d, d), optional
        Default identity.
    shares : array of shape (n_groups,), optional
    reward : array of shape (d,), optional
        Default zero (the planner seeks the least costly parity-restoring policy).
    cost : float
        :math:`\kappa`, default 1.

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.performative import LinearGaussianResponse, LinearPolicy
    >>> m = LinearGaussianResponse(means=[[0.0, 1.0], [1.0, 0.0]], effects=[[2.0, 1.0], [1.0, 2.0]])
    >>> theta = m.equalizing_policy()
    >>> theta.theta
    array([1., 1.])
    >>> m.outcome([theta]).mean_response
    array([[[2., 2.],
            [2., 2.]]])
    """

    def __init__(self, means, effects, *, covariance=None, shares=None, reward=None, cost=1.0):
        self.means = np.atleast_2d(np.asarray(means, dtype=np.float64))
        self.effects = np.atleast_2d(np.asarray(effects, dtype=np.float64))
        if self.effects.shape != self.means.shape:
            raise ValueError(f"effects must have the shape of means {self.means.shape}, got {self.effects.shape}")
        self.n_groups, self.n_features = self.means.shape
        d = self.n_features
        self.covariance = np.eye(d) if covariance is None else np.asarray(covariance, dtype=np.float64)
        if self.covariance.shape != (d, d):
            raise ValueError(f"covariance must have shape {(d, d)}, got {self.covariance.shape}")
        self.shares = _check_shares(shares, self.n_groups)
        self.reward = np.zeros(d) if reward is None else np.asarray(reward, dtype=np.float64)
        if self.reward.shape != (d,):
            raise ValueError(f"reward must have shape {(d,)}, got {self.reward.shape}")
        self.cost = float(cost)

    @property
    def param_shape(self):
        return (self.n_features,)

    def _thetas(self, policies):
        th = np.asarray([_policy_params(p, LinearPolicy) for p in policies], dtype=np.float64)
        if th.ndim != 2 or th.shape[1] != self.n_features:
            raise ValueError(f"linear policies of this model need {self.n_features} coefficients, got shape {th.shape[1:]}")
        return th

    def equalizing_policy(self):
        r"""The policy :math:`\theta = (E_1 - E_0)^{-1}(\mu_0 - \mu_1)` (two groups).

        Raises
        ------
        ValueError
            When :math:`E_1 - E_0` has a zero entry (no policy equalises that feature
            unless the means already agree).
        """
        if self.n_groups != 2:
            raise ValueError("equalizing_policy is defined for two groups")
        diff = self.effects[1] - self.effects[0]
        if (diff == 0).any():
            raise ValueError("E_1 - E_0 is singular: no policy equalises the ex-post means of features "
                             f"{np.flatnonzero(diff == 0).tolist()}")
        return LinearPolicy((self.means[0] - self.means[1]) / diff)

    def _finish(self, mean_response, theta, n_samples):
        penalty = 0.5 * self.cost * np.sum(theta**2, axis=-1)
        loss = -(mean_response @ self.reward) + penalty[:, None]
        return Outcome(shares=self.shares, loss=loss, mean_response=mean_response, n_samples=n_samples)

    def sample(self, n_samples, random_state=None):
        """Draw pre-policy units (field ``x`` of shape (n, d))."""
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
        rng = np.random.default_rng(check_seed(random_state))
        sizes = _group_sizes(int(n_samples), self.shares)
        group = np.repeat(np.arange(self.n_groups, dtype=np.int32), sizes)
        chol = np.linalg.cholesky(self.covariance)
        x = rng.standard_normal((n_samples, self.n_features)) @ chol.T + self.means[group]
        return Population(group, self.n_groups, x=x)

    def respond(self, policy, population):
        """Ex-post population: ``x`` replaced by ``x + E_g theta``."""
        theta = self._thetas([policy])[0]
        return population.with_fields(x=population.x + self.effects[population.group] * theta)

    def outcome(self, policies, population=None):
        """Batched ex-post outcome (closed form, or sample means of `population`)."""
        th = self._thetas(list(policies))
        shift = self.effects[None, :, :] * th[:, None, :]  # (P, G, d)
        if population is None:
            return self._finish(self.means[None] + shift, th, None)
        n = population.group_counts().astype(np.float64)
        if (n == 0).any():
            raise ValueError(f"population has no unit of group(s) {np.flatnonzero(n == 0).tolist()}")
        base = np.stack([np.bincount(population.group, weights=population.x[:, k], minlength=self.n_groups)
                         for k in range(self.n_features)], axis=-1) / n[:, None]
        return self._finish(base[None] + shift, th, len(population))

    def __repr__(self):
        return f"LinearGaussianResponse(n_groups={self.n_groups}, n_features={self.n_features})"
