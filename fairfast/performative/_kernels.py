"""Numba kernels of the labor-market Monte-Carlo path.

Imported lazily by :mod:`fairfast.performative._response` the first time a sampled
population is evaluated, so ``import fairfast`` (and the closed-form path) never
imports Numba. Compiled with ``cache=True`` and ``error_model="numpy"`` from explicit
float64 signatures.
"""

import numba as nb
import numpy as np
from numba import prange, types

__all__ = ["N_FIXED_COLUMNS", "labor_market_sums"]

#: columns 0..3 of the output: units, qualified, hired, hired and qualified; then
#: ``n_skills`` columns of investment counts and ``n_skills`` columns of signal sums.
N_FIXED_COLUMNS = 4

_i4_1d = types.Array(types.int32, 1, "C", readonly=True)
_f8_2d = types.Array(types.float64, 2, "C", readonly=True)
_f8_3d = types.Array(types.float64, 3, "C", readonly=True)
_SIGNATURE = types.float64[:, :, :, ::1](_i4_1d, _f8_2d, _f8_2d, _f8_2d, _f8_3d, _f8_3d, types.int64, types.int64)


@nb.njit(_SIGNATURE, cache=True, error_model="numpy", parallel=True, nogil=True)
def _labor_market_sums(group, cost, signal0, signal1, thresholds, incentives, n_groups, n_chunks):
    # group: (n,) int32 codes; cost, signal0, signal1: (n, S); thresholds and
    # incentives: (P, G, S). Output (n_chunks, P, G, 4 + 2S) of per-chunk sums,
    # added up by the caller so each thread owns its accumulator.
    n = group.shape[0]
    n_skills = cost.shape[1]
    n_policies = thresholds.shape[0]
    n_cols = N_FIXED_COLUMNS + 2 * n_skills
    out = np.zeros((n_chunks, n_policies, n_groups, n_cols))
    chunk = (n + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        acc = out[c]
        start = c * chunk
        stop = min(n, start + chunk)
        for i in range(start, stop):
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
                    acc[p, g, N_FIXED_COLUMNS + n_skills + s] += x
                qualified = 1.0 if best >= 0 else 0.0
                acc[p, g, 0] += 1.0
                acc[p, g, 1] += qualified
                acc[p, g, 2] += hired
                acc[p, g, 3] += hired * qualified
                if best >= 0:
                    acc[p, g, N_FIXED_COLUMNS + best] += 1.0
    return out


def labor_market_sums(group, cost, signal0, signal1, thresholds, incentives, n_groups):
    """Per-policy, per-group sums over the sampled units (see module docstring).

    Returns an array of shape ``(P, n_groups, 4 + 2 * n_skills)``.
    """
    from .._config import get_num_threads

    n_threads = max(1, min(get_num_threads() or 1, nb.config.NUMBA_NUM_THREADS))
    nb.set_num_threads(n_threads)
    n_chunks = max(1, min(4 * n_threads, group.shape[0] // 4096 + 1))
    out = _labor_market_sums(group, cost, signal0, signal1, thresholds, incentives, n_groups, n_chunks)
    return out.sum(axis=0)
