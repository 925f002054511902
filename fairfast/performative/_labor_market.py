r"""The labor-market response model (Coate--Loury, one or several skills)."""

import numbers

import numpy as np

from .._base.validation import check_seed
from ._outcome import Outcome, Population
from ._policy_types import ThresholdPolicy, _policy_params
from ._response import _check_law, _check_positive, _check_shares, _group_sizes

__all__ = ["LaborMarket"]


# Composite Gauss-Legendre rule on [0, 1] for the multi-skill investment shares.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_PANELS = 32
_QUAD_X = ((np.arange(_PANELS)[:, None] + (_GL_X[None, :] + 1) / 2) / _PANELS).ravel()
_QUAD_W = np.tile(_GL_W / 2 / _PANELS, _PANELS)


class LaborMarket:
    r"""Coate--Loury labor market with one or several skills.

    A worker of group ``g`` draws an investment cost per skill,
    :math:`c_s \sim G_{g,s}` (independent across skills). The employer sees one signal
    per skill, :math:`X_s \mid \text{invested in } s \sim F_{1,s}` and
    :math:`X_s \sim F_{0,s}` otherwise, with laws shared by all groups (unbiased
    assessment). A threshold policy hires iff :math:`X_s \ge t_{g,s}` for some skill
    (one skill: :math:`X \ge t_g`) and pays wage :math:`w`. The incentive to invest in
    skill ``s`` is the wage times the rise of the hiring probability,

    .. math::
        \Delta_{g,s} = w\,\Big(\prod_{k\ne s} F_{0,k}(t_{g,k})\Big)
        \big(F_{0,s}(t_{g,s}) - F_{1,s}(t_{g,s})\big),

    which for one skill is :math:`\beta_g = w(\bar F_1(t_g) - \bar F_0(t_g))`. The worker
    invests in :math:`s^* = \arg\max_s(\Delta_{g,s} - c_s)` when that is positive and is
    then qualified (:math:`Y = 1`); the ex-post qualification rate is
    :math:`\pi_g = 1 - \prod_s (1 - G_{g,s}(\Delta_{g,s}))` (one skill:
    :math:`G_g(\beta_g)`). The employer's payoff per applicant is
    :math:`U_g = r_q P(f=1, Y=1) - r_u P(f=1, Y=0)` and the loss is :math:`-U_g`.

    The multi-skill rule (hire on any skill, invest in the best net incentive) is our
    reconstruction; the paper's exact multi-skill design was not available.

    Parameters
    ----------
    cost_laws : sequence over groups
        Each item is one cost law (one skill) or a sequence of ``n_skills`` laws;
        laws need ``cdf`` and ``ppf`` (frozen :mod:`scipy.stats` laws work).
    signal_laws : pair or sequence of pairs, optional
        ``(F_0, F_1)`` shared by all skills, or one pair per skill. Default
        ``(N(-1, 1), N(1, 0.5^2))``.
    shares : array of shape (n_groups,), optional
        Group shares; default equal.
    wage, gain, penalty : float
        :math:`w`, :math:`r_q` and :math:`r_u` (defaults 1, 0.5, 0.5).

    Examples
    --------
    >>> from scipy import stats
    >>> from fairfast.performative import LaborMarket, ThresholdPolicy
    >>> market = LaborMarket([stats.uniform(0, 1), stats.uniform(0, 2)],
    ...                      signal_laws=(stats.norm(-1, 1), stats.norm(1, 1)))
    >>> out = market.outcome([ThresholdPolicy([[0.0], [0.0]])])
    >>> out.base_rate.round(6)
    array([[0.682689, 0.341345]])
    """

    def __init__(self, cost_laws, *, signal_laws=None, shares=None, wage=1.0, gain=0.5, penalty=0.5):
        if isinstance(cost_laws, (str, bytes)) or not hasattr(cost_laws, "__len__") or len(cost_laws) < 1:
            raise TypeError("cost_laws must be a sequence with one cost law (or one per skill) per group")
        laws = []
        for g, item in enumerate(cost_laws):
            item = list(item) if isinstance(item, (list, tuple)) else [item]
            laws.append([_check_law(law, f"cost_laws[{g}]") for law in item])
        n_skills = len(laws[0])
        if any(len(item) != n_skills for item in laws):
            raise ValueError(f"cost_laws must give the same number of skills for every group, got "
                             f"{[len(item) for item in laws]}")
        if signal_laws is None:
            from scipy import stats

            signal_laws = (stats.norm(-1.0, 1.0), stats.norm(1.0, 0.5))
        signal_laws = list(signal_laws)
        if len(signal_laws) == 2 and all(hasattr(s, "cdf") for s in signal_laws):
            signal_laws = [tuple(signal_laws)] * n_skills
        if len(signal_laws) != n_skills or any(len(pair) != 2 for pair in signal_laws):
            raise ValueError(f"signal_laws must be one (F_0, F_1) pair, or {n_skills} pairs (one per skill)")
        self.signal_laws = [(_check_law(a, "signal_laws"), _check_law(b, "signal_laws")) for a, b in signal_laws]
        self.cost_laws = laws
        self.n_groups = len(laws)
        self.n_skills = n_skills
        self.shares = _check_shares(shares, self.n_groups)
        self.wage = _check_positive(wage, "wage")
        self.gain = float(gain)
        self.penalty = float(penalty)

    # -- policy parameters -------------------------------------------------------
    @property
    def param_shape(self):
        return (self.n_groups, self.n_skills)

    def _thresholds(self, policies):
        t = np.stack([_policy_params(p, ThresholdPolicy) for p in policies]) if policies else np.empty((0,))
        t = np.asarray(t, dtype=np.float64)
        if t.ndim != 3 or t.shape[1:] != self.param_shape:
            raise ValueError(f"threshold policies of this market need thresholds of shape {self.param_shape}, "
                             f"got {t.shape[1:]}")
        if np.isnan(t).any():
            raise ValueError("thresholds must not be NaN")
        return t

    # -- closed forms --------------------------------------------------------------
    def _signal_cdfs(self, t):
        f0 = np.empty_like(t)
        f1 = np.empty_like(t)
        for s, (law0, law1) in enumerate(self.signal_laws):
            f0[..., s] = law0.cdf(t[..., s])
            f1[..., s] = law1.cdf(t[..., s])
        return f0, f1

    @staticmethod
    def _prod_except(f0):
        out = np.ones_like(f0)
        for s in range(f0.shape[-1]):
            for k in range(f0.shape[-1]):
                if k != s:
                    out[..., s] *= f0[..., k]
        return out

    def incentives(self, thresholds):
        r"""Incentives :math:`\Delta_{g,s}` (including the wage) of threshold arrays.

        Parameters
        ----------
        thresholds : array of shape (..., n_groups, n_skills)

        Returns
        -------
        array of the same shape

        Examples
        --------
        >>> from scipy import stats
        >>> from fairfast.performative import LaborMarket
        >>> m = LaborMarket([stats.uniform()], signal_laws=(stats.norm(-1, 1), stats.norm(1, 1)))
        >>> float(m.incentives([[0.0]])[0, 0].round(6))
        0.682689
        """
        t = np.asarray(thresholds, dtype=np.float64)
        f0, f1 = self._signal_cdfs(t)
        return self.wage * self._prod_except(f0) * (f0 - f1)

    def incentive_peak(self):
        """Threshold maximising the one-skill incentive and the peak incentive.

        Returns
        -------
        threshold, incentive : float

        Examples
        --------
        >>> from fairfast.performative import LaborMarket
        >>> from scipy import stats
        >>> t, beta = LaborMarket([stats.uniform()]).incentive_peak()
        >>> round(t, 4), round(beta, 5)
        (0.17, 0.83054)
        """
        from scipy.optimize import minimize_scalar

        if self.n_skills != 1:
            raise ValueError("incentive_peak is defined for a one-skill market")
        law0, law1 = self.signal_laws[0]
        lo, hi = float(law0.ppf(1e-6)), float(law1.ppf(1 - 1e-6))
        grid = np.linspace(lo, hi, 2001)
        beta = law0.cdf(grid) - law1.cdf(grid)
        i = int(np.argmax(beta))
        res = minimize_scalar(lambda x: -(law0.cdf(x) - law1.cdf(x)), bracket=(grid[max(i - 1, 0)], grid[i], grid[min(i + 1, 2000)]),
                              tol=1e-12)
        return float(res.x), float(self.wage * -res.fun)

    def _investment_shares(self, delta):
        """P(s* = s) per group and skill, shape (P, G, S)."""
        P, G, S = delta.shape
        q = np.zeros_like(delta)
        for g, laws in enumerate(self.cost_laws):
            if S == 1:
                q[:, g, 0] = laws[0].cdf(delta[:, g, 0])
                continue
            for s in range(S):
                # q_s = int_0^{G_s(D_s)} prod_{k!=s} P(c_k > G_s^{-1}(v) - D_s + D_k) dv
                top = laws[s].cdf(delta[:, g, s])  # (P,)
                v = top[:, None] * _QUAD_X[None, :]
                c = laws[s].ppf(v)
                integrand = np.ones_like(c)
                for k in range(S):
                    if k != s:
                        integrand *= laws[k].sf(c - delta[:, g, s][:, None] + delta[:, g, k][:, None])
                q[:, g, s] = top * (integrand @ _QUAD_W)
            if S > 1:
                # the total is exact: pi = 1 - prod_s (1 - G_s(D_s)); the quadrature only splits it
                total = 1.0 - np.prod([1.0 - laws[s].cdf(delta[:, g, s]) for s in range(S)], axis=0)
                found = q[:, g, :].sum(axis=-1)
                scale = np.divide(total, found, out=np.zeros_like(total), where=found > 0)
                q[:, g, :] *= scale[:, None]
        return q

    def _signal_means(self):
        return np.array([[law0.mean(), law1.mean()] for law0, law1 in self.signal_laws])

    def _closed_outcome(self, t):
        f0, f1 = self._signal_cdfs(t)
        others = self._prod_except(f0)
        delta = self.wage * others * (f0 - f1)
        q = self._investment_shares(delta)
        qualified = q.sum(axis=-1)
        p_hire_skill = 1.0 - f1 * others  # P(hire | invested in s)
        p_hire_none = 1.0 - np.prod(f0, axis=-1)
        hired_qualified = (q * p_hire_skill).sum(axis=-1)
        hired = hired_qualified + (1.0 - qualified) * p_hire_none
        means = self._signal_means()
        mean_response = q * means[:, 1] + (1.0 - q) * means[:, 0]
        return self._finish(qualified, hired, hired_qualified, mean_response, None)

    def _finish(self, qualified, hired, hired_qualified, mean_response, n_samples):
        false_hired = hired - hired_qualified
        loss = -(self.gain * hired_qualified - self.penalty * false_hired)
        loss_sq = self.gain**2 * hired_qualified + self.penalty**2 * false_hired
        return Outcome(shares=self.shares, loss=loss, qualified=qualified, hired=hired,
                       hired_qualified=hired_qualified, mean_response=mean_response,
                       loss_sq=loss_sq, n_samples=n_samples)

    # -- sampling and Monte Carlo -----------------------------------------------------
    def sample(self, n_samples, random_state=None):
        """Draw `n_samples` pre-policy units.

        Group sizes are the largest-remainder allocation of ``n_samples * shares``.
        Costs and both potential signals come from inverse CDFs of uniforms; the two
        potential signals of a unit share one uniform (a unit's assessment noise does
        not depend on whether it invested), so responses to different policies use
        common random numbers.

        Returns
        -------
        Population
            Fields ``cost``, ``signal0``, ``signal1``, each of shape (n, n_skills).

        Examples
        --------
        >>> from scipy import stats
        >>> from fairfast.performative import LaborMarket
        >>> pop = LaborMarket([stats.uniform(), stats.uniform(0, 2)]).sample(1000, random_state=0)
        >>> pop.group_counts().tolist(), pop.cost.shape
        ([500, 500], (1000, 1))
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
        rng = np.random.default_rng(check_seed(random_state))
        sizes = _group_sizes(int(n_samples), self.shares)
        group = np.repeat(np.arange(self.n_groups, dtype=np.int32), sizes)
        S = self.n_skills
        u_cost = rng.random((n_samples, S))
        u_signal = rng.random((n_samples, S))
        cost = np.empty((n_samples, S))
        start = 0
        for g, size in enumerate(sizes):
            for s in range(S):
                cost[start:start + size, s] = self.cost_laws[g][s].ppf(u_cost[start:start + size, s])
            start += size
        signal0 = np.empty((n_samples, S))
        signal1 = np.empty((n_samples, S))
        for s, (law0, law1) in enumerate(self.signal_laws):
            signal0[:, s] = law0.ppf(u_signal[:, s])
            signal1[:, s] = law1.ppf(u_signal[:, s])
        return Population(group, self.n_groups, cost=cost, signal0=signal0, signal1=signal1)

    def _check_population(self, population):
        if not isinstance(population, Population):
            raise TypeError(f"population must be a Population (see LaborMarket.sample), got {type(population).__name__}")
        for name in ("cost", "signal0", "signal1"):
            arr = population.fields.get(name)
            if arr is None or arr.ndim != 2 or arr.shape[1] != self.n_skills:
                raise ValueError(f"population must have a field {name!r} of shape (n, {self.n_skills})")
        if population.n_groups != self.n_groups:
            raise ValueError(f"population has {population.n_groups} groups but the market has {self.n_groups}")
        counts = population.group_counts()
        if (counts == 0).any():
            raise ValueError(f"population has no unit of group(s) {np.flatnonzero(counts == 0).tolist()}")

    def respond(self, policy, population):
        """Ex-post population under a deterministic threshold policy.

        Adds ``skill`` (invested skill, -1 for none), ``qualified`` (0/1) and
        ``signal`` (the observed ex-post signals, shape (n, n_skills)).

        Examples
        --------
        >>> from scipy import stats
        >>> from fairfast.performative import LaborMarket, ThresholdPolicy
        >>> m = LaborMarket([stats.uniform(), stats.uniform(0, 2)])
        >>> post = m.respond(ThresholdPolicy([[0.17], [0.17]]), m.sample(10, random_state=1))
        >>> sorted(post.fields)
        ['cost', 'qualified', 'signal', 'signal0', 'signal1', 'skill']
        """
        self._check_population(population)
        t = self._thresholds([policy])[0]
        delta = self.incentives(t)[population.group]  # (n, S)
        net = delta - population.cost
        skill = np.argmax(net, axis=1).astype(np.int32)
        best = np.take_along_axis(net, skill[:, None].astype(np.intp), axis=1)[:, 0]
        skill[~(best > 0)] = -1
        invested = skill[:, None] == np.arange(self.n_skills)[None, :]
        signal = np.where(invested, population.signal1, population.signal0)
        return population.with_fields(skill=skill, qualified=(skill >= 0).astype(np.float64), signal=signal)

    def summarize(self, population, decision):
        """Outcome (batch of one) of an ex-post population and 0/1 decisions."""
        g = population.group
        n = np.bincount(g, minlength=self.n_groups).astype(np.float64)
        y = population.qualified
        d = np.asarray(decision, dtype=np.float64)

        def mean(w):
            return np.bincount(g, weights=w, minlength=self.n_groups) / n

        mr = np.stack([mean(population.signal[:, s]) for s in range(self.n_skills)], axis=-1)
        return self._finish(mean(y)[None], mean(d)[None], mean(d * y)[None], mr[None], len(population))

    def _mc_outcome(self, t, population):
        from ._kernels import N_FIXED_COLUMNS, labor_market_sums

        sums = labor_market_sums(population.group, population.cost, population.signal0, population.signal1,
                                 np.ascontiguousarray(t), np.ascontiguousarray(self.incentives(t)), self.n_groups)
        n = sums[..., 0]
        S = self.n_skills
        mean_response = sums[..., N_FIXED_COLUMNS + S:] / n[..., None]
        return self._finish(sums[..., 1] / n, sums[..., 2] / n, sums[..., 3] / n, mean_response, len(population))

    def outcome(self, policies, population=None):
        """Batched ex-post outcome of deterministic threshold policies.

        Parameters
        ----------
        policies : sequence of ThresholdPolicy (or threshold arrays)
        population : Population, optional
            Sampled units (Monte-Carlo path, compiled kernel); None for closed forms.

        Returns
        -------
        Outcome
            Batch shape ``(len(policies),)``.
        """
        t = self._thresholds(list(policies))
        if population is None:
            return self._closed_outcome(t)
        self._check_population(population)
        return self._mc_outcome(t, population)

    def __repr__(self):
        return f"LaborMarket(n_groups={self.n_groups}, n_skills={self.n_skills}, wage={self.wage})"
