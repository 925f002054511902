r"""Exponentiated-gradient reduction for ex-post (performative) fairness constraints.

The problem is :math:`\min_{Q \in \Delta(F)} R(Q)` subject to
:math:`\gamma(Q) \le \epsilon`, with a randomised policy :math:`Q` (one deterministic
policy drawn per deployment, so :math:`R(Q)` and :math:`\gamma(Q)` are linear in
:math:`Q`). As in Agarwal et al. (2018) and fairlearn's ``ExponentiatedGradient``, the
dual player runs exponentiated-gradient ascent on
:math:`\lambda \in \Lambda_B = \{\lambda \ge 0, \|\lambda\|_1 \le B\}` and the primal
player best-responds with the oracle of the policy class; the oracle evaluates risk and
moments exactly through the response model, since no cost-sensitive relabelling exists
when the population reacts to the policy.
"""

import numbers

import numpy as np

from ._evaluation import FeasibilityReport, _as_constraints, evaluate_policy, lambda_map
from ._policy_types import MixturePolicy

__all__ = ["ExPostReduction"]

# fairlearn's constants (fairlearn/reductions/_exponentiated_gradient/_constants.py)
_PRECISION = 1e-8
_ACCURACY_MUL = 0.5
_REGRET_CHECK_START_T = 5
_REGRET_CHECK_INCREASE_T = 1.6
_SHRINK_REGRET = 0.8
_SHRINK_ETA = 0.8
_MIN_ITER = 5
_GAP_MULTIPLIERS = (1.0, 2.0, 5.0, 10.0)
#: duality-gap tolerance when risk and moments come from closed forms (no sampling error)
_CLOSED_FORM_NU = 1e-6


def _check_reduction_params(eps, max_iter, nu, eta0):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"eps must be a positive real number (B = 1/eps), got {eps!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int, got {max_iter!r}")
    if nu is not None and (isinstance(nu, bool) or not isinstance(nu, numbers.Real) or not nu > 0):
        raise ValueError(f"nu must be None or a positive real number, got {nu!r}")
    if isinstance(eta0, bool) or not isinstance(eta0, numbers.Real) or not eta0 > 0:
        raise ValueError(f"eta0 must be a positive real number, got {eta0!r}")


class _Lagrangian:
    """Found policies with their risks and moments; oracle calls; gap and LP (fairlearn's _Lagrangian)."""

    def __init__(self, model, policy_class, constraints, population, B):
        self.model = model
        self.policy_class = policy_class
        self.constraints = constraints
        self.population = population
        self.B = B
        self.policies = []
        self.outcomes = []
        self.risks = np.empty(0)
        self.gammas = np.empty((0, 0))
        self.n_oracle_calls = 0
        self._lp_cache = (None, None)

    def bind(self):
        policy, _, out = self.policy_class.best_response(self.model, lambda o: o.risk, self.population)
        self.constraints.bind(out)
        self.bound = self.constraints.bound()
        self.gammas = np.empty((0, self.bound.size))
        return policy, out

    def oracle(self, lam):
        self.n_oracle_calls += 1

        def objective(out):
            return out.risk + self.constraints.gamma(out) @ lam

        return self.policy_class.best_response(self.model, objective, self.population)

    def best_h(self, lam):
        policy, _, out = self.oracle(lam)
        risk = float(out.risk[0])
        gamma = self.constraints.gamma(out)[0]
        value = risk + gamma @ lam
        if self.policies:
            values = self.risks + self.gammas @ lam
            best_idx = int(np.argmin(values))
            best_value = float(values[best_idx])
        else:
            best_idx, best_value = -1, np.inf
        if value < best_value - _PRECISION:
            self.policies.append(policy)
            self.outcomes.append(out)
            self.risks = np.append(self.risks, risk)
            self.gammas = np.vstack([self.gammas, gamma])
            best_idx = len(self.policies) - 1
        return best_idx

    def evaluate(self, Q, lam):
        """(L, L_high, gamma, risk) of weights Q over the found policies."""
        risk = float(self.risks[: Q.size] @ Q)
        gamma = Q @ self.gammas[: Q.size]
        lam = self.constraints.project_lambda(lam)
        slack = gamma - self.bound
        L = risk + float(lam @ slack)
        L_high = risk + self.B * max(0.0, float(slack.max()))
        return L, L_high, gamma, risk

    def eval_gap(self, Q, lam_hat, nu):
        L, L_high, gamma, risk = self.evaluate(Q, lam_hat)
        L_low = L
        for mul in _GAP_MULTIPLIERS:
            idx = self.best_h(mul * lam_hat)
            e = np.zeros(len(self.policies))
            e[idx] = 1.0
            L_low = min(L_low, self.evaluate(e, lam_hat)[0])
            if max(L - L_low, L_high - L) > nu + _PRECISION:
                break
        return max(L - L_low, L_high - L), L, L_low, L_high, gamma, risk

    def solve_linprog(self, nu):
        from scipy.optimize import linprog

        K, J = len(self.policies), self.bound.size
        if self._lp_cache[0] == K:
            return self._lp_cache[1]
        c = np.append(self.risks, self.B)
        A_ub = np.hstack([(self.gammas - self.bound).T, -np.ones((J, 1))])
        b_ub = np.zeros(J)
        A_eq = np.append(np.ones(K), 0.0)[None, :]
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], method="highs-ds")
        Q = np.clip(res.x[:-1], 0.0, None)
        Q /= Q.sum()
        dual = linprog(np.append(b_ub, -1.0), A_ub=np.hstack([-A_ub.T, A_eq.T]), b_ub=c,
                       bounds=[(0, None)] * J + [(None, None)], method="highs-ds")
        lam = dual.x[:-1]
        result = (Q, lam, self.eval_gap(Q, lam, nu))
        self._lp_cache = (K, result)
        return result


class ExPostReduction:
    r"""Risk minimisation under ex-post fairness constraints by exponentiated gradient.

    Algorithm (spec section 3, following fairlearn's ``ExponentiatedGradient``): with
    :math:`B = 1/\text{eps}` and log-weights :math:`\theta = 0`, repeat for
    :math:`t = 1..T`: :math:`\lambda_t = B e^\theta/(1 + \sum_j e^{\theta_j})`;
    :math:`f_t = \arg\min_{f\in F} R(f) + \lambda_t^\top\gamma(f)` (oracle);
    :math:`\hat Q_t` uniform over :math:`f_1..f_t`, :math:`\bar\lambda_t` the mean of the
    :math:`\lambda`'s; the duality gap
    :math:`\max(L(\hat Q,\bar\lambda) - \min_f L(f,\bar\lambda),\ L_{high}(\hat Q) - L(\hat Q,\bar\lambda))`
    with :math:`L_{high}(Q) = R(Q) + B\max(0, \max_j \gamma_j(Q) - \epsilon_j)`, the
    minimum over :math:`f` taken over best responses to :math:`\bar\lambda` scaled by
    1, 2, 5 and 10; stop once the gap is below :math:`\nu` and the zero-based
    iteration index is at least 5 (fairlearn's ``_MIN_ITER``; at least six iterations);
    :math:`\theta \leftarrow \theta + \eta(\gamma(f_t) - \epsilon)`. As in fairlearn, each
    iteration also solves the LP over the policies found so far and keeps whichever of
    the two mixtures has the smaller gap, :math:`\eta = \text{eta0}/B` shrinks by 0.8
    when the best gap did not fall below 0.8 times its value at the previous check
    (checks at t = 5, then whenever t reaches 1.6 times the last check), and the result
    is the mixture of smallest gap (latest among ties).

    Parameters
    ----------
    model : response model
        :class:`LaborMarket`, :class:`LinearGaussianResponse` or any object with
        ``outcome(policies, population=None)``.
    policy_class : policy class
        :class:`GroupSpecificThresholds`, :class:`GroupBlindThresholds`,
        :class:`SkillThresholds`, :class:`LinearPolicies`, :class:`FinitePolicies` or any
        object with ``best_response(model, objective, population)``.
    constraints : Moment or sequence of Moment
        The ex-post moment inequalities :math:`\gamma_j(f) \le \epsilon_j`; their
        tolerances are the :math:`\epsilon_j`.
    eps : float, default=0.01
        Sets :math:`B = 1/\text{eps}` (fairlearn's meaning since 0.5).
    max_iter : int, default=50
    nu : float, optional
        Duality-gap tolerance. Default as in fairlearn, :math:`0.5\,\mathrm{sd}(\ell)/\sqrt{n}`
        for the per-unit loss :math:`\ell` of the first best response on a sampled
        population; :math:`10^{-6}` on the closed-form path (no sampling error).
    eta0 : float, default=2.0
        Initial step :math:`\eta = \text{eta0}/B`.
    run_linprog_step : bool, default=True

    Attributes
    ----------
    policies_ : list
        Deterministic policies found by the oracle.
    weights_ : ndarray
        Best-gap mixture weights over ``policies_``; ``mixture_`` is the same as a
        :class:`MixturePolicy`.
    lp_weights_, lp_mixture_ : ndarray, MixturePolicy or None
        The LP-polished mixture: :math:`\min R(Q)` s.t. :math:`\gamma(Q) \le \epsilon` over
        ``policies_`` (``scipy.optimize.linprog``); None if no mixture of them is feasible.
    deterministic_policy_ : policy or None
        The deterministic policy of least risk meeting every constraint among the
        iterates, the feasibility columns and one oracle call on the exact penalty
        :math:`R(f) + B\max(0, \max_j \gamma_j(f) - \epsilon_j)`; None if none of them
        is feasible (best responses to a linear Lagrangian are extreme policies, so the
        iterates alone are often infeasible even when a feasible deterministic policy
        exists).
    unconstrained_policy_ : policy
        The oracle's answer at :math:`\lambda = 0` (risk only).
    feasibility_ : FeasibilityReport
        ``feasible_`` is its verdict; the message explains an infeasible class.
    best_gap_, best_iter_, last_iter_, nu_, n_oracle_calls_ : float, int
    history_ : dict of arrays
        Per iteration: ``lambda`` (T, J), ``gamma`` and ``risk`` of the uniform EG
        mixture, ``policy_gamma`` and ``policy_risk`` of :math:`f_t`,
        ``selected_gamma`` and ``selected_risk`` of the mixture kept at that iteration
        (EG or LP, whichever has the smaller gap), and its ``gap``.
    risk_, gamma_ : float, ndarray
        Risk and moments of ``mixture_``.

    Examples
    --------
    >>> from scipy import stats
    >>> from fairfast.performative import BaseRateParity, ExPostReduction, GroupSpecificThresholds, LaborMarket
    >>> market = LaborMarket([stats.uniform(0, 1), stats.uniform(0, 2)])
    >>> red = ExPostReduction(market, GroupSpecificThresholds(n_grid=31), BaseRateParity(0.02)).fit()
    >>> red.feasible_, bool(abs(red.gamma_[0]) <= 0.02 + 1e-3)
    (True, True)
    >>> red.deterministic_policy_.is_group_blind
    False

    References
    ----------
    Agarwal, Beygelzimer, Dudik, Langford, Wallach (2018). A reductions approach to fair
    classification. ICML. Somerstep, Ritov, Sun (2024). Learning fair policies under
    performativity / long-term fairness in performative policy learning, FAccT.
    """

    def __init__(self, model, policy_class, constraints, *, eps=0.01, max_iter=50, nu=None, eta0=2.0,
                 run_linprog_step=True):
        self.model = model
        self.policy_class = policy_class
        self.constraints = constraints
        self.eps = eps
        self.max_iter = max_iter
        self.nu = nu
        self.eta0 = eta0
        self.run_linprog_step = run_linprog_step

    def fit(self, population=None):
        """Run the reduction.

        Parameters
        ----------
        population : Population, optional
            Sampled pre-policy units (Monte-Carlo path, e.g. ``model.sample(10**6)``);
            None evaluates every policy in closed form.

        Returns
        -------
        self
        """
        _check_reduction_params(self.eps, self.max_iter, self.nu, self.eta0)
        if not callable(getattr(self.model, "outcome", None)):
            raise TypeError(f"model must have an outcome(policies, population=None) method, got {type(self.model).__name__}")
        if not callable(getattr(self.policy_class, "best_response", None)):
            raise TypeError("policy_class must have a best_response(model, objective, population) method, "
                            f"got {type(self.policy_class).__name__}")
        constraints = _as_constraints(self.constraints)
        B = 1.0 / float(self.eps)
        lag = _Lagrangian(self.model, self.policy_class, constraints, population, B)
        self.unconstrained_policy_, _ = lag.bind()
        J = lag.bound.size
        theta = np.zeros(J)
        lam_sum = np.zeros(J)
        nu = None if self.nu is None else float(self.nu)
        counts = []
        gaps_eg, gaps, Qs = [], [], []
        hist = {k: [] for k in ("lambda", "gamma", "risk", "policy_gamma", "policy_risk", "gap",
                                "selected_gamma", "selected_risk")}
        last_checked, last_gap, eta = _REGRET_CHECK_START_T, np.inf, None
        for t in range(int(self.max_iter)):
            lam = lambda_map(theta, B)
            lam_sum += lam
            lam_eg = lam_sum / (t + 1)
            idx = lag.best_h(lam)
            if t == 0:
                if nu is None:
                    nu = self._auto_nu(lag.outcomes[idx])
                eta = float(self.eta0) / B
            counts.extend([0] * (len(lag.policies) - len(counts)))
            counts[idx] += 1
            Q_eg = np.asarray(counts, dtype=np.float64) / (t + 1)
            gap_eg, _, _, _, gamma_eg, risk_eg = lag.eval_gap(Q_eg, lam_eg, nu)
            gaps_eg.append(gap_eg)
            if t == 0 or not self.run_linprog_step:
                gap_lp = np.inf
            else:
                Q_lp, _, res_lp = lag.solve_linprog(nu)
                gap_lp = res_lp[0]
            if gap_eg < gap_lp:
                Qs.append(Q_eg)
                gaps.append(gap_eg)
            else:
                Qs.append(Q_lp)
                gaps.append(gap_lp)
            hist["lambda"].append(lam)
            hist["gamma"].append(gamma_eg)
            hist["risk"].append(risk_eg)
            hist["policy_gamma"].append(lag.gammas[idx])
            hist["policy_risk"].append(lag.risks[idx])
            hist["gap"].append(gaps[-1])
            _, _, gamma_sel, risk_sel = lag.evaluate(Qs[-1], lam_eg)
            hist["selected_gamma"].append(gamma_sel)
            hist["selected_risk"].append(risk_sel)
            if gaps[t] < nu and t >= _MIN_ITER:
                break
            if t >= last_checked * _REGRET_CHECK_INCREASE_T:
                best = min(gaps_eg)
                if best > last_gap * _SHRINK_REGRET:
                    eta *= _SHRINK_ETA
                last_checked, last_gap = t, best
            theta = theta + eta * (lag.gammas[idx] - lag.bound)

        gaps_arr = np.asarray(gaps)
        self.best_iter_ = int(np.flatnonzero(gaps_arr <= gaps_arr.min() + _PRECISION)[-1])
        self.best_gap_ = float(gaps_arr[self.best_iter_])
        K = len(lag.policies)
        w = np.zeros(K)
        w[: Qs[self.best_iter_].size] = Qs[self.best_iter_]
        self.weights_ = w
        self.policies_ = list(lag.policies)
        self.policy_risks_ = lag.risks.copy()
        self.policy_gammas_ = lag.gammas.copy()
        self.bound_ = lag.bound.copy()
        self.constraint_labels_ = constraints.labels
        self.mixture_ = MixturePolicy(self.policies_, w)
        self.risk_ = float(w @ lag.risks)
        self.gamma_ = w @ lag.gammas
        self.nu_ = float(nu)
        self.last_iter_ = len(gaps) - 1
        self.history_ = {k: np.asarray(v) for k, v in hist.items()}
        self.lp_weights_, self.lp_mixture_ = self._polish(lag)
        self.feasibility_ = self._feasibility(lag)
        self.deterministic_policy_ = self._deterministic(lag, B)
        self.feasible_ = self.feasibility_.feasible
        self.n_oracle_calls_ = lag.n_oracle_calls
        return self

    def _deterministic(self, lag, B):
        # Candidates: the iterates, the feasibility columns, and one more oracle call on
        # the exact penalty R(f) + B max(0, max_j gamma_j(f) - eps_j) (the oracle of a
        # lattice class minimises any function of the outcome, not only linear ones).
        def penalty(out):
            slack = lag.constraints.gamma(out) - lag.bound
            return out.risk + B * np.maximum(slack.max(axis=-1), 0.0)

        policy, _, _ = lag.policy_class.best_response(lag.model, penalty, lag.population)
        policies = list(lag.policies) + list(self.feasibility_.mixture.policies) + [policy]
        outs = lag.model.outcome(policies, lag.population)
        gam = lag.constraints.gamma(outs)
        ok = np.flatnonzero((gam - lag.bound).max(axis=1) <= 0)
        if ok.size == 0:
            return None
        best = int(ok[np.argmin(outs.risk[ok])])
        return policies[best]

    def _auto_nu(self, outcome):
        if outcome.n_samples is None or outcome.loss_sq is None:
            return _CLOSED_FORM_NU
        mean = float(outcome.risk[0])
        second = float(outcome.loss_sq[0] @ outcome.shares)
        sd = np.sqrt(max(second - mean * mean, 0.0))
        return max(_ACCURACY_MUL * sd / np.sqrt(outcome.n_samples), _PRECISION)

    @staticmethod
    def _polish(lag):
        from scipy.optimize import linprog

        K = len(lag.policies)
        res = linprog(lag.risks, A_ub=lag.gammas.T, b_ub=lag.bound, A_eq=np.ones((1, K)), b_eq=[1.0],
                      bounds=[(0, None)] * K, method="highs")
        if res.status != 0:
            return None, None
        w = np.clip(res.x, 0.0, None)
        w /= w.sum()
        return w, MixturePolicy(lag.policies, w)

    def _feasibility(self, lag, max_rounds=50, tol=1e-9):
        from scipy.optimize import linprog

        columns = list(lag.policies)
        gammas = lag.gammas.copy()
        J = lag.bound.size
        rounds = 0
        while True:
            rounds += 1
            K = len(columns)
            # min s  s.t.  sum_k Q_k (gamma_k - eps) - s <= 0,  sum Q = 1,  Q >= 0
            res = linprog(np.append(np.zeros(K), 1.0), A_ub=np.hstack([(gammas - lag.bound).T, -np.ones((J, 1))]),
                          b_ub=np.zeros(J), A_eq=np.append(np.ones(K), 0.0)[None, :], b_eq=[1.0],
                          bounds=[(0, None)] * K + [(None, None)], method="highs")
            v = float(res.x[-1])
            lam = np.clip(-res.ineqlin.marginals, 0.0, None)
            lam = lam / lam.sum() if lam.sum() > 0 else np.full(J, 1.0 / J)
            if rounds >= max_rounds:
                break
            policy, _, out = lag.policy_class.best_response(
                lag.model, lambda o: lag.constraints.gamma(o) @ lam, lag.population)
            g = lag.constraints.gamma(out)[0]
            if float(lam @ (g - lag.bound)) >= v - tol:
                break
            columns.append(policy)
            gammas = np.vstack([gammas, g])
        w = np.clip(res.x[:-1], 0.0, None)
        w /= w.sum()
        mixture = MixturePolicy(columns, w)
        labels = lag.constraints.labels
        if v <= tol:
            msg = (f"feasible: a mixture of {int((w > 0).sum())} policies meets every constraint "
                   f"(max gamma_j - eps_j = {v:.3g})")
        else:
            worst = [labels[j] for j in np.argsort(lam)[::-1] if lam[j] > 1e-6]
            msg = (f"infeasible: no randomised policy of {type(lag.policy_class).__name__} meets the constraints; "
                   f"the least achievable max violation is {v:.6g} > 0 (certificate: every policy has "
                   f"sum_j lambda_j (gamma_j - eps_j) >= {v:.6g} with lambda on {worst})")
        return FeasibilityReport(feasible=v <= tol, min_violation=v, certificate=lam, mixture=mixture,
                                 labels=labels, n_rounds=rounds, message=msg)

    def evaluate(self, policy, population=None):
        """Risk and moments of any policy under this reduction's model and constraints."""
        return evaluate_policy(self.model, policy, self.constraints, population)
