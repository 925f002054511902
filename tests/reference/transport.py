"""Slow, obviously-correct references for the transport and barycenter kernels.

Everything here is plain Python / NumPy written straight from the definitions (see
shared research spec barycenter.md, sections 4 and 5), favouring clarity over speed.
Where the library promises bit-exact results, the reference performs the same
floating-point operations in the same order (e.g. ``mass / total`` with ``mass`` a
running sum of the sorted weights), so the two can be compared with ``==``.
"""

from fractions import Fraction

import numpy as np

MASK64 = (1 << 64) - 1

# ----------------------------------------------------------------------------------
# Counter-based generator (csrc/fairfast/random.hpp), on Python ints.

GAMMA = 0x9E3779B97F4A7C15
STREAM_TIES, STREAM_JITTER, STREAM_RANDOMIZED_CDF = 0, 1, 2


def mix64(z):
    """SplitMix64 finaliser on a Python int, modulo 2**64."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def stream_start(seed, stream):
    return mix64(mix64(seed) ^ ((stream * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & MASK64))


def counter_bits(n, seed, stream, row_offset=0):
    """Draws ``row_offset .. row_offset + n - 1`` of the counter-based SplitMix64."""
    start = stream_start(seed, stream)
    out = [mix64(start + ((row_offset + i + 1) * GAMMA & MASK64)) for i in range(n)]
    return np.array(out, dtype=np.uint64)


def counter_uniform(n, seed, stream, row_offset=0):
    """Uniform [0, 1) doubles from the top 53 bits of each draw."""
    bits = counter_bits(n, seed, stream, row_offset)
    return np.array([float(int(b) >> 11) * 2.0**-53 for b in bits], dtype=np.float64)


# ----------------------------------------------------------------------------------
# Weighted empirical distribution.


def _sorted_with_cumw(sample, weight=None):
    x = np.asarray(sample)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    if weight is None:
        return xs, None
    cumw = np.cumsum(np.asarray(weight, dtype=np.float64)[order])
    return xs, cumw


def _mass(cumw, k):
    """Mass of the first k sorted points (unit weights when cumw is None)."""
    if k == 0:
        return 0.0
    return float(k) if cumw is None else float(cumw[k - 1])


def _total(xs, cumw):
    return float(len(xs)) if cumw is None else float(cumw[-1])


def step_cdf(sample, x, weight=None):
    """F(t) = (mass of points <= t) / total mass, for each t in x."""
    xs, cumw = _sorted_with_cumw(sample, weight)
    total = _total(xs, cumw)
    return np.array([_mass(cumw, int(np.sum(xs <= t))) / total for t in np.ravel(x)])


def step_cdf_left(sample, x, weight=None):
    """F(t-) = (mass of points < t) / total mass."""
    xs, cumw = _sorted_with_cumw(sample, weight)
    total = _total(xs, cumw)
    return np.array([_mass(cumw, int(np.sum(xs < t))) / total for t in np.ravel(x)])


def step_quantile(sample, q, weight=None):
    """Q(q) = min{x_i : F(x_i) >= q} over the sample points (Q(0) is the minimum)."""
    xs, cumw = _sorted_with_cumw(sample, weight)
    total = _total(xs, cumw)
    values = np.unique(xs)
    cdf_at_values = [_mass(cumw, int(np.sum(xs <= v))) / total for v in values]
    out = []
    for level in np.ravel(q):
        out.append(next(float(v) for v, f in zip(values, cdf_at_values) if f >= level))
    return np.array(out)


def linear_positions(sample, weight=None):
    """Sorted values and their plotting positions: mass strictly before each point over
    the total less the last point's mass (i / (n - 1) for unit weights)."""
    xs, cumw = _sorted_with_cumw(sample, weight)
    n = len(xs)
    if n == 1:
        return xs, np.zeros(1)
    if cumw is None:
        return xs, np.array([i / (n - 1) for i in range(n)])
    w_last = cumw[-1] - (cumw[-2] if n > 1 else 0.0)
    denom = cumw[-1] - w_last
    return xs, np.array([_mass(cumw, i) / denom for i in range(n)])


def linear_cdf(sample, x, weight=None):
    """Piecewise-linear CDF through (x_(i), p_i); 0 below the minimum, 1 from the maximum."""
    xs, pos = linear_positions(sample, weight)
    n = len(xs)
    out = []
    for t in np.ravel(x):
        if n == 1:
            out.append(1.0 if t >= xs[0] else 0.0)
        elif t < xs[0]:
            out.append(0.0)
        elif t >= xs[-1]:
            out.append(1.0)
        else:
            i = int(np.sum(xs <= t)) - 1  # x_(i) <= t < x_(i+1)
            frac = (float(t) - float(xs[i])) / (float(xs[i + 1]) - float(xs[i]))
            out.append(pos[i] + frac * (pos[i + 1] - pos[i]))
    return np.array(out)


# ----------------------------------------------------------------------------------
# Distances.


def wasserstein_pow_exact(u, v, p, u_weights=None, v_weights=None):
    """W_p(u, v)**p = int_0^1 |Q_u(t) - Q_v(t)|**p dt, in exact rational arithmetic.

    The integrand is constant between consecutive breakpoints of the two step quantile
    functions (the normalised cumulative weights of both samples); each piece is
    evaluated at its midpoint. Exact for integer p; float values and weights are
    converted to fractions without rounding.
    """
    assert float(p).is_integer()

    def steps(x, w):
        order = np.argsort(np.asarray(x), kind="stable")
        xs = [Fraction(float(a)) for a in np.asarray(x)[order]]
        ws = [Fraction(1)] * len(xs) if w is None else [Fraction(float(b)) for b in np.asarray(w)[order]]
        total = sum(ws)
        cum, run = [], Fraction(0)
        for b in ws:
            run += b
            cum.append(run / total)
        return xs, cum

    def q_at(xs, cum, t):
        return next(x for x, c in zip(xs, cum) if c >= t)

    ux, uc = steps(u, u_weights)
    vx, vc = steps(v, v_weights)
    breaks = sorted(set([Fraction(0)] + uc + vc))
    cost = Fraction(0)
    for a, b in zip(breaks[:-1], breaks[1:]):
        mid = (a + b) / 2
        cost += (b - a) * abs(q_at(ux, uc, mid) - q_at(vx, vc, mid)) ** int(p)
    return cost


def wasserstein_exact(u, v, p, u_weights=None, v_weights=None):
    """W_p as a float, from the exact rational W_p**p (integer p)."""
    return float(wasserstein_pow_exact(u, v, p, u_weights, v_weights)) ** (1.0 / p)


def wasserstein_float(u, v, p, u_weights=None, v_weights=None):
    """W_p for any real p >= 1: the same piecewise integral in float arithmetic."""

    def steps(x, w):
        order = np.argsort(np.asarray(x, dtype=np.float64), kind="stable")
        xs = np.asarray(x, dtype=np.float64)[order]
        ws = np.ones(len(xs)) if w is None else np.asarray(w, dtype=np.float64)[order]
        return xs, np.cumsum(ws) / ws.sum()

    ux, uc = steps(u, u_weights)
    vx, vc = steps(v, v_weights)
    uc[-1] = vc[-1] = 1.0
    breaks = np.unique(np.concatenate([[0.0], uc, vc]))
    mids = (breaks[:-1] + breaks[1:]) / 2
    qu = ux[np.minimum(np.searchsorted(uc, mids, side="left"), len(ux) - 1)]
    qv = vx[np.minimum(np.searchsorted(vc, mids, side="left"), len(vx) - 1)]
    return float(np.sum(np.diff(breaks) * np.abs(qu - qv) ** p)) ** (1.0 / p)


def ks_exact(u, v, u_weights=None, v_weights=None):
    """sup_t |F_u(t) - F_v(t)|, evaluated exactly (fractions) at every sample point."""

    def cdf(x, w):
        xs = [Fraction(float(a)) for a in np.asarray(x)]
        ws = [Fraction(1)] * len(xs) if w is None else [Fraction(float(b)) for b in np.asarray(w)]
        total = sum(ws)
        return lambda t: sum(b for a, b in zip(xs, ws) if a <= t) / total

    fu, fv = cdf(u, u_weights), cdf(v, v_weights)
    points = {Fraction(float(a)) for a in np.concatenate([np.ravel(u), np.ravel(v)])}
    return float(max(abs(fu(t) - fv(t)) for t in points))


# ----------------------------------------------------------------------------------
# Barycenter post-processing: the spec's FitFair / Transform (section 4) with sigma = 0
# and exact tie breaking by per-row keys from the counter-based generator.


def _ceil_div(a, b):
    return -(-a // b)


def fit_fair(z, codes, n_groups, seed, group_weights=None, jitter=0.0):
    """Per-group sorted (value, tie key) lists and barycenter tables B_k[0..N_k].

    Rows tied on their (jittered) value inside a group are ordered by their key
    ``counter_bits(seed, stream 0)`` at the row index; keys of untied rows are 0.

    B_k[j] = sum_k' p_k' * zt_k'[clip(ceil(j N_k' / N_k), 1, N_k')] (1-based), with the
    ceiling taken in integer arithmetic. Sums run over k' in code order.
    """
    z = np.asarray(z)
    dtype = z.dtype.type
    keys = counter_bits(len(z), seed, STREAM_TIES)
    if jitter > 0:
        u = counter_uniform(len(z), seed, STREAM_JITTER)
        z = np.array([dtype(float(a) + jitter * (2.0 * b - 1.0)) for a, b in zip(z, u)], dtype=z.dtype)
    groups = []
    for k in range(n_groups):
        rows = [i for i in range(len(z)) if codes[i] == k]
        rows.sort(key=lambda i: (float(z[i]), int(keys[i])))
        values = [z[i] for i in rows]
        # A value occurring once in its group has key 0: a query equal to it counts it
        # as below (the spec's searchsorted right side), keeping that row's own rank.
        tie_keys = [int(keys[i]) if values.count(z[i]) > 1 else 0 for i in rows]
        groups.append((values, tie_keys))
    counts = np.array([len(g[0]) for g in groups], dtype=np.float64)
    p = counts if group_weights is None else np.asarray(group_weights, dtype=np.float64)
    p = p / p.sum()
    tables = []
    for s in range(n_groups):
        ns = len(groups[s][0])
        table = []
        for j in range(ns + 1):
            acc = 0.0
            qs = []
            for k in range(n_groups):
                nk = len(groups[k][0])
                i = min(max(_ceil_div(j * nk, ns), 1), nk)
                qs.append(float(groups[k][0][i - 1]))
                acc += p[k] * qs[-1]
            # A weighted mean lies between its terms; rounding of the sum may step out
            # (3 p_1 + ... + 3 p_4 = 3.0000000000000004), so it is clamped back.
            table.append(min(max(acc, min(qs)), max(qs)))
        tables.append(table)
    return groups, tables


def transform_fair(groups, tables, z, codes, seed, epsilon=0.0, jitter=0.0, row_offset=0):
    """j = #{calibration (value, key) <= (t, key_i)} in lexicographic order, then
    (1 - eps) B_s[j] + eps z (the original, unjittered z)."""
    z = np.asarray(z)
    dtype = z.dtype.type
    keys = counter_bits(len(z), seed, STREAM_TIES, row_offset)
    u = counter_uniform(len(z), seed, STREAM_JITTER, row_offset)
    out = np.empty(len(z), dtype=z.dtype)
    for i in range(len(z)):
        t = z[i]
        if jitter > 0:
            t = dtype(float(t) + jitter * (2.0 * u[i] - 1.0))
        values, tie_keys = groups[codes[i]]
        query = (float(t), int(keys[i]))
        j = sum(1 for v, key in zip(values, tie_keys) if (float(v), key) <= query)
        fair = tables[codes[i]][j]
        out[i] = dtype(fair) if epsilon == 0.0 else dtype((1.0 - epsilon) * fair + epsilon * float(z[i]))
    return out


def step_tables_exact_sum(values, offsets, p, cumw=None):
    """Barycenter "step" tables of sorted group values, each entry the correctly rounded
    sum of the rounded products ``p_k * Q_k(u)`` (Fractions, then one rounding), clamped
    to [min, max] of the Q_k(u) with p_k > 0 -- the contract of the sweep for many groups.

    u = F_s(j) and Q_k use the same floating-point expressions as the kernels: with
    weights, u = cumw_s[j - 1] / total_s and Q_k(u) = x_k[smallest i with
    cumw_k[i] / total_k >= u]; without, Q_k(j / n_s) = x_k[ceil(j n_k / n_s) - 1].
    """
    values = np.asarray(values)
    k = len(offsets) - 1
    groups = [values[offsets[g] : offsets[g + 1]] for g in range(k)]
    cws = None if cumw is None else [cumw[offsets[g] : offsets[g + 1]] for g in range(k)]

    def quantile(g, u_num, u_den, u_float):
        x = groups[g]
        if cws is None:
            i = min(max(_ceil_div(u_num * len(x), u_den), 1), len(x)) - 1
        else:
            total = cws[g][-1]
            i = next((i for i in range(len(x)) if cws[g][i] / total >= u_float), len(x) - 1)
        return float(x[i])

    out = []
    for s in range(k):
        ns = len(groups[s])
        for j in range(ns + 1):
            u_float = None if cws is None else (0.0 if j == 0 else cws[s][j - 1] / cws[s][-1])
            qs = [quantile(g, j, ns, u_float) for g in range(k)]
            exact = sum((Fraction(float(p[g]) * q) for g, q in enumerate(qs)), Fraction(0))
            live = [q for g, q in enumerate(qs) if p[g] > 0]
            out.append(min(max(float(exact), min(live)), max(live)))
    return np.array(out)
