r"""Policy classes (with their best-response oracles); the policies themselves are in
:mod:`._policy_types`.

A policy class is a set ``F`` of deterministic policies with a best-response oracle
``argmin_{f in F} objective(outcome(f))``: a grid search over a cached table of
evaluated policies, followed by coordinate-wise refinement on nested finer lattices.
"""

import itertools
import numbers

import numpy as np

from ._outcome import Outcome
from ._policy_types import LinearPolicy, ThresholdPolicy

__all__ = [
    "FinitePolicies",
    "GroupBlindThresholds",
    "GroupSpecificThresholds",
    "LinearPolicies",
    "SkillThresholds",
]


def _check_grid(grid, name):
    g = np.unique(np.asarray(grid, dtype=np.float64).ravel())
    if g.size < 1 or np.isnan(g).any():
        raise ValueError(f"{name} must be a non-empty NaN-free 1-D array of values")
    return g


def _check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


class _Table:
    """Cache of outcomes of 'component' policies applied to every group alike."""

    def __init__(self, policy_class, model, population):
        self.policy_class = policy_class
        self.model = model
        self.population = population
        self.index = {}
        self.outcomes = []
        self.outcome = None
        self.n_evaluations = 0
        self.coarse = None  # (components, rows) of the coarse grid, computed once

    def lookup(self, components):
        """Row indices of `components` (shape (k, C)), evaluating the missing ones."""
        components = np.asarray(components, dtype=np.float64)
        keys = [tuple(row) for row in components]
        missing = []
        seen = set()
        for k in keys:
            if k not in self.index and k not in seen:
                seen.add(k)
                missing.append(k)
        if missing:
            comps = np.array(missing, dtype=np.float64)
            policies = [self.policy_class._policy(np.broadcast_to(c, (self.model.n_groups, c.size)), self.model)
                        for c in comps]
            new = self.model.outcome(policies, self.population)
            start = len(self.index)
            for j, k in enumerate(missing):
                self.index[k] = start + j
            self.outcomes.append(new)
            self.outcome = Outcome.concatenate(self.outcomes) if len(self.outcomes) > 1 else new
            self.outcomes = [self.outcome]
            self.n_evaluations += len(missing)
        return np.array([self.index[k] for k in keys], dtype=np.intp)


class _LatticePolicies:
    """Policies given by C real coordinates per group (group-specific) or shared."""

    group_specific = False

    def __init__(self, grids, *, refine=2, refine_points=9, max_combinations=200_000):
        self.grids = [_check_grid(g, "grid") for g in grids]
        self.refine = _check_count(refine, "refine", 0)
        self.refine_points = _check_count(refine_points, "refine_points", 3)
        self.max_combinations = _check_count(max_combinations, "max_combinations", 1)
        self._tables = {}

    # subclasses: _policy(components (G, C), model) -> policy; n_coords(model)
    def _table(self, model, population):
        key = (id(model), id(population))
        table = self._tables.get(key)
        if table is None or table.model is not model or table.population is not population:
            table = _Table(self, model, population)
            self._tables = {key: table}
        return table

    def _coord_grids(self, model):
        grids = self.grids
        C = self.n_coords(model)
        if len(grids) == 1 and C > 1:
            grids = grids * C
        if len(grids) != C:
            raise ValueError(f"this policy class needs {C} grids (one per coordinate), got {len(grids)}")
        return grids

    def _evaluate(self, table, comps):
        """Outcome of policies given as components of shape (N, G, C)."""
        N, G, C = comps.shape
        rows = table.lookup(comps.reshape(N * G, C)).reshape(N, G)
        return Outcome.combine_groups(table.outcome, rows)

    def candidates(self, model):
        """All policies of the coarse grid (the finite class the oracle starts from)."""
        comps = self._coarse(model)
        return [self._policy(c, model) for c in comps]

    def _coarse(self, model):
        grids = self._coord_grids(model)
        G = model.n_groups
        blocks = grids * G if self.group_specific else grids
        sizes = [len(b) for b in blocks]
        if np.prod(sizes, dtype=float) > self.max_combinations:
            return None
        mesh = np.array(list(itertools.product(*blocks)), dtype=np.float64)
        C = len(grids)
        if self.group_specific:
            return mesh.reshape(-1, G, C)
        return np.repeat(mesh[:, None, :], G, axis=1)

    def best_response(self, model, objective, population=None):
        """Policy of this class minimising ``objective(outcome)``.

        Parameters
        ----------
        model : response model
        objective : callable
            Maps a batched :class:`Outcome` to an array of values (one per policy).
        population : Population, optional
            Sampled units (Monte-Carlo path); None for closed forms.

        Returns
        -------
        policy, value, outcome
            The best policy found, its objective value, and its outcome (batch of one).
        """
        table = self._table(model, population)
        grids = self._coord_grids(model)
        G, C = model.n_groups, len(grids)
        if table.coarse is None:
            comps = self._coarse(model)
            rows = None
            if comps is not None:
                N = comps.shape[0]
                rows = table.lookup(comps.reshape(N * G, C)).reshape(N, G)
            table.coarse = (comps, rows)
        coarse, rows = table.coarse
        if coarse is not None:
            values = np.asarray(objective(Outcome.combine_groups(table.outcome, rows)), dtype=np.float64)
            best = coarse[int(np.argmin(values))].copy()
            best_value = float(values.min())
        else:  # too many combinations: coordinate descent from the middle of the grids
            best = np.broadcast_to(np.array([g[len(g) // 2] for g in grids]), (G, C)).copy()
            best_value = float(objective(self._evaluate(table, best[None]))[0])
            best, best_value = self._coordinate_pass(table, objective, best, best_value,
                                                     [[g] * 1 for g in grids], sweeps=3)
        if self.refine:
            # Nested lattices: level r splits each cell of level r-1 into refine_points - 1.
            levels = [grids]
            for _ in range(self.refine):
                levels.append([self._finer(g) for g in levels[-1]])
            for level in levels[1:]:
                best, best_value = self._coordinate_pass(table, objective, best, best_value,
                                                         [[g] for g in level], sweeps=2, local=True)
        out = self._evaluate(table, best[None])
        return self._policy(best, model), best_value, out

    def _finer(self, grid):
        if grid.size < 2:
            return grid
        k = self.refine_points - 1
        frac = np.arange(k) / k
        inner = (grid[:-1, None] + (grid[1:] - grid[:-1])[:, None] * frac[None, :]).ravel()
        return np.append(inner, grid[-1])

    def _coordinate_pass(self, table, objective, best, best_value, level, sweeps, local=False):
        G, C = best.shape
        owners = range(G) if self.group_specific else [None]
        for _ in range(sweeps):
            improved = False
            for owner in owners:
                for c in range(C):
                    grid = level[c][0]
                    if local:
                        cur = best[0 if owner is None else owner, c]
                        if not np.isfinite(cur):
                            continue
                        pos = int(np.searchsorted(grid, cur))
                        lo, hi = max(pos - self.refine_points, 0), min(pos + self.refine_points + 1, grid.size)
                        grid = grid[lo:hi]
                    comps = np.repeat(best[None], grid.size, axis=0)
                    if owner is None:
                        comps[:, :, c] = grid[:, None]
                    else:
                        comps[:, owner, c] = grid
                    values = np.asarray(objective(self._evaluate(table, comps)), dtype=np.float64)
                    i = int(np.argmin(values))
                    if values[i] < best_value - 1e-15:
                        best, best_value, improved = comps[i].copy(), float(values[i]), True
            if not improved:
                break
        return best, best_value

    def n_evaluations(self, model, population=None):
        """Number of distinct policies evaluated so far on (model, population)."""
        return self._table(model, population).n_evaluations


def _default_threshold_grid(n_grid):
    return np.append(np.linspace(-3.0, 3.0, n_grid), np.inf)


class _ThresholdLattice(_LatticePolicies):
    def __init__(self, grid=None, *, n_grid=61, refine=2, refine_points=9, max_combinations=200_000):
        n_grid = _check_count(n_grid, "n_grid", 2)
        grid = _default_threshold_grid(n_grid) if grid is None else grid
        super().__init__([grid], refine=refine, refine_points=refine_points, max_combinations=max_combinations)
        self.n_grid = n_grid

    def _finer(self, grid):
        finite = grid[np.isfinite(grid)]
        extra = grid[~np.isfinite(grid)]
        return np.sort(np.concatenate([super()._finer(finite), extra]))


class GroupSpecificThresholds(_ThresholdLattice):
    """Group-specific thresholds: ``t_g`` for group ``g`` (the same on every skill).

    Parameters
    ----------
    grid : array, optional
        Coarse threshold grid; default 61 points on [-3, 3] plus ``+inf`` (hire nobody).
    n_grid : int
        Size of the default grid.
    refine : int
        Levels of local coordinate-wise refinement after the grid search (0: pure grid).
    refine_points : int
        Each refinement level splits a cell into ``refine_points - 1``.
    max_combinations : int
        Above this many grid combinations the search starts from coordinate descent.

    Examples
    --------
    >>> from scipy import stats
    >>> from fairfast.performative import GroupSpecificThresholds, LaborMarket
    >>> m = LaborMarket([stats.uniform(), stats.uniform(0, 2)])
    >>> policy, value, _ = GroupSpecificThresholds().best_response(m, lambda o: o.risk)
    >>> policy.is_group_blind
    False
    """

    group_specific = True

    def n_coords(self, model):
        return 1

    def _policy(self, comps, model):
        comps = np.asarray(comps)
        return ThresholdPolicy(np.repeat(comps[:, :1], model.n_skills, axis=1))


class GroupBlindThresholds(_ThresholdLattice):
    """One threshold for every group and every skill (equal treatment).

    Same parameters as :class:`GroupSpecificThresholds`.

    Examples
    --------
    >>> from scipy import stats
    >>> from fairfast.performative import GroupBlindThresholds, LaborMarket
    >>> m = LaborMarket([stats.uniform(), stats.uniform(0, 2)])
    >>> policy, value, _ = GroupBlindThresholds().best_response(m, lambda o: o.risk)
    >>> policy.is_group_blind
    True
    """

    group_specific = False

    def n_coords(self, model):
        return 1

    def _policy(self, comps, model):
        comps = np.asarray(comps)
        return ThresholdPolicy(np.repeat(comps[:, :1], model.n_skills, axis=1))


class SkillThresholds(_ThresholdLattice):
    """One threshold per skill, shared by the groups unless ``group_specific=True``.

    Same parameters as :class:`GroupSpecificThresholds`, plus ``group_specific``.

    Examples
    --------
    >>> from scipy import stats
    >>> from fairfast.performative import LaborMarket, SkillThresholds
    >>> m = LaborMarket([[stats.uniform(0, 1), stats.uniform(0, 2)],
    ...                  [stats.uniform(0, 2), stats.uniform(0, 1)]])
    >>> policy, _, _ = SkillThresholds(n_grid=13).best_response(m, lambda o: o.risk)
    >>> policy.thresholds.shape, policy.is_group_blind
    ((2, 2), True)
    """

    def __init__(self, grid=None, *, group_specific=False, n_grid=61, refine=2, refine_points=9,
                 max_combinations=200_000):
        super().__init__(grid, n_grid=n_grid, refine=refine, refine_points=refine_points,
                         max_combinations=max_combinations)
        self.group_specific = bool(group_specific)

    def n_coords(self, model):
        return model.n_skills

    def _policy(self, comps, model):
        return ThresholdPolicy(np.asarray(comps))


class LinearPolicies(_LatticePolicies):
    """Linear policies ``theta`` on a box lattice (one grid per coefficient, or one for all).

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.performative import LinearGaussianResponse, LinearPolicies
    >>> m = LinearGaussianResponse([[0.0], [1.0]], [[2.0], [1.0]])
    >>> gap = lambda o: np.abs(o.mean_response[:, 0, 0] - o.mean_response[:, 1, 0])
    >>> policy, value, _ = LinearPolicies([np.linspace(-2, 2, 41)]).best_response(m, gap)
    >>> policy
    LinearPolicy([1.0])
    """

    group_specific = False

    def __init__(self, grids, *, refine=2, refine_points=9, max_combinations=200_000):
        grids = [grids] if np.ndim(grids[0]) == 0 else list(grids)
        super().__init__(grids, refine=refine, refine_points=refine_points, max_combinations=max_combinations)

    def n_coords(self, model):
        return model.n_features

    def _policy(self, comps, model):
        return LinearPolicy(np.asarray(comps)[0])


class FinitePolicies:
    """An explicit finite class of deterministic policies; the oracle is exhaustive.

    Examples
    --------
    >>> from scipy import stats
    >>> from fairfast.performative import FinitePolicies, LaborMarket, ThresholdPolicy
    >>> m = LaborMarket([stats.uniform(), stats.uniform(0, 2)])
    >>> F = FinitePolicies([ThresholdPolicy([[t], [t]]) for t in (-1.0, 0.17, 1.0)])
    >>> F.best_response(m, lambda o: -o.base_rate[:, 0])[0]
    ThresholdPolicy([[0.17], [0.17]])
    """

    def __init__(self, policies):
        self.policies = list(policies)
        if not self.policies:
            raise ValueError("policies must be a non-empty sequence of deterministic policies")
        self._cache = None

    def candidates(self, model):
        return list(self.policies)

    def table(self, model, population=None):
        """Outcome of every policy of the class (cached)."""
        if self._cache is None or self._cache[0] is not model or self._cache[1] is not population:
            self._cache = (model, population, model.outcome(self.policies, population))
        return self._cache[2]

    def best_response(self, model, objective, population=None):
        out = self.table(model, population)
        values = np.asarray(objective(out), dtype=np.float64)
        i = int(np.argmin(values))
        return self.policies[i], float(values[i]), out.take(np.array([i]))

    def n_evaluations(self, model, population=None):
        return len(self.policies) if self._cache is not None else 0
