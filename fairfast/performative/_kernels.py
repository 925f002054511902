"""Numba kernel of the labor-market Monte-Carlo path.

Imported lazily by :mod:`fairfast.performative._response` the first time a sampled
population is evaluated, so ``import fairfast`` (and the closed-form path) never
imports Numba. Compiled with ``cache=True`` and ``error_model="numpy"`` from an explicit
float64 signature with read-only inputs.

The loop is serial: units outer (each unit's data is read once), policies inner. A
``parallel=True`` version over unit chunks (per-thread accumulators) and a
unit-blocked, policy-outer version were measured on 1e6 units x 16 policies on the
project's 2-core machine and were not faster than this serial loop, so, following the
style guide, no ``prange``.
"""

import numba as nb
import numpy as np
from numba import types

__all__ = ["N_FIXED_COLUMNS", "labor_market_sums"]

#: columns 0..3 of the output: units, qualified, hired, hired and qualified; then
#: ``n_skills`` columns of investment counts and ``n_skills`` columns of signal sums.
N_FIXED_COLUMNS = 4

_i4_1d = types.Array(types.int32, 1, "C", readonly=True)
_f8_2d = types.Array(types.float64, 2, "C", readonly=True)
_f8_3d = types.Array(types.float64, 3, "C", readonly=True)
_SIGNATURE = types.float64[:, :, ::1](_i4_1d, _f8_2d, _f8_2d, _f8_2d, _f8_3d, _f8_3d, types.int64)


@nb.njit(_SIGNATURE, cache=True, error_model="numpy", nogil=True)
def _labor_market_sums(group, cost, signal0, signal1, thresholds, incentives, n_groups):
    # group: (n,) int32 codes; cost, signal0, signal1: (n, S); thresholds and
    # incentives: (P, G, S). Output (P, G, 4 + 2S) of per-policy, per-group sums.
    # A unit invests in the skill of largest positive net incentive (none if no net
    # incentive is positive); its signal on that skill comes from signal1, on the
    # others from signal0; it is hired if any signal reaches its threshold.
    n = group.shape[0]
    n_skills = cost.shape[1]
    n_policies = thresholds.shape[0]
    out = np.zeros((n_policies, n_groups, N_FIXED_COLUMNS + 2 * n_skills))
    for i in range(n):
        g = group[i]
        for p in range(n_policies):
            best = -1
            best_net = 0.0
            for s in range(n_skills):
                net = incentives[p, g, s] - cost[i, s]
                if net > best_net:
                    best_net = net
                    best = s
            hired = 0.0
            for s in range(n_skills):
                x = signal1[i, s] if s == best else signal0[i, s]
                hired = max(hired, 1.0 if x >= thresholds[p, g, s] else 0.0)
                out[p, g, N_FIXED_COLUMNS + n_skills + s] += x
            qualified = 1.0 if best >= 0 else 0.0
            out[p, g, 0] += 1.0
            out[p, g, 1] += qualified
            out[p, g, 2] += hired
            out[p, g, 3] += hired * qualified
            if best >= 0:
                out[p, g, N_FIXED_COLUMNS + best] += 1.0
    return out


def labor_market_sums(group, cost, signal0, signal1, thresholds, incentives, n_groups):
    """Per-policy, per-group sums over the sampled units.

    Returns an array of shape ``(P, n_groups, 4 + 2 * n_skills)``; the kernel releases
    the GIL.
    """
    return _labor_market_sums(group, cost, signal0, signal1, thresholds, incentives, int(n_groups))
