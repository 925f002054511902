"""Solvers of :class:`GroupThresholds`: functions of the groups' rule paths.

Each returns one list per group of mixture components ``(k, q, weight)`` (block,
tie fraction, weight; one component for a monotone rule) and a :class:`Solution`.

- :func:`solve_window`: one coupled metric (difference and/or ratio) plus per-group
  bounds, over monotone rules; exact for rates, bounded (gap reported) for ratio
  metrics such as the PPV.
- :func:`solve_boxes`: two coupled rates (equalized odds without mixing), over
  monotone rules; exact by enumerating the vertices of the search's arrangement when
  they are few, else a global pass and local refinement bounded by the mixing optimum.
- :func:`solve_mixing`: equalized odds with Hardt et al.'s randomised mixing of
  thresholds (a sparse linear programme over the groups' ROC hulls).
"""

import numpy as np

from ._thresholds_curves import pack

__all__ = ["Solution", "InfeasibleConstraintError", "InfeasibleConstraintWarning", "solve_window", "solve_boxes", "solve_mixing", "WORK_LIMIT"]

#: Largest (candidate common values x groups) the window search takes on (about 2 s
#: on one core); larger problems are refused before any work starts.
WORK_LIMIT = 4e8
#: Largest (vertices x groups) the exact two-metric search enumerates.
BOX_EXACT_LIMIT = 3e7
_BOX_K = 48  # global pass: grid corners sampled per axis
_BOX_KEEP = 8  # local pass: boxes refined per round
_BOX_RADIUS = 12  # local pass: grid steps around a box on each axis
_BOX_ROUNDS = 8
_REFINE_ROUNDS = 12  # ratio metrics: bisection rounds of the window starts with an open bound
_REFINE_SPLIT = 4
_GAP = 1e-12


class InfeasibleConstraintError(ValueError):
    """No within-group monotone threshold rule meets the constraint within the tolerance."""


class InfeasibleConstraintWarning(UserWarning):
    """The constraint was relaxed to the smallest violation a monotone rule can reach."""


class Solution:
    """What a solver found: the utility total (without the constant part), an upper bound
    on the best total over the searched class of rules, and the method used."""

    def __init__(self, total, bound, method, exact):
        self.total, self.bound, self.method, self.exact = float(total), float(bound), method, bool(exact)

    @property
    def gap(self):
        return 0.0 if self.exact else max(0.0, self.bound - self.total)


def _fmt(label):
    return repr(label)


def _ranges(paths, num, den):
    """Per group: (lowest, highest) metric over allowed points with a positive denominator."""
    ok = ((paths.flags & 1) > 0) & (den > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(ok, num / np.where(den > 0, den, 1.0), np.nan)
    out = []
    for g in range(paths.n_groups):
        v = m[paths.group(g)]
        v = v[~np.isnan(v)]
        out.append((float(v.min()), float(v.max())) if v.size else (np.nan, np.nan))
    return out


def infeasible_message(groups, metric, ranges, tol, inv_ratio, constraint):
    empty = [groups[g] for g, r in enumerate(ranges) if np.isnan(r[0])]
    if empty:
        shown = ", ".join(_fmt(lab) for lab in empty[:6])
        return (f"constraint={constraint!r}: no monotone rule of group(s) {shown} meets the per-group bounds "
                f"(or defines {metric}); loosen the bounds")
    los, his = [r[0] for r in ranges], [r[1] for r in ranges]
    a, b = int(np.argmax(los)), int(np.argmin(his))
    what = f"within tolerance={tol:g}" if np.isfinite(tol) else f"with ratio >= {1 / inv_ratio:g}"
    return (f"constraint={constraint!r} cannot be met {what} by monotone (non-cherry-picking) group thresholds: "
            f"the achievable {metric} ranges are disjoint (group {_fmt(groups[a])} reaches [{los[a]:.4g}, "
            f"{his[a]:.4g}] but group {_fmt(groups[b])} only [{los[b]:.4g}, {his[b]:.4g}]; gap "
            f"{los[a] - his[b]:.4g}). Meeting it would need rejecting better-scored members of a group while "
            f"accepting worse ones. Raise the tolerance, or pass infeasible='warn' to fit the monotone rule with "
            f"the smallest reachable spread.")


def smallest_tolerance(ranges):
    """Smallest difference tolerance at which the ranges leave a common window."""
    return max(0.0, max(r[0] for r in ranges) - min(r[1] for r in ranges))


def _window_end(c, tol, inv_ratio):
    end = np.full(c.shape, np.inf)
    if np.isfinite(tol):
        end = c + tol
    if np.isfinite(inv_ratio):
        end = np.minimum(end, c * inv_ratio)
    return end


def _grid(v, tol, inv_ratio, extra=None):
    """Window starts (each metric value as a window's lower and as its upper end, the
    kink of min(c + tol, c * inv_ratio), and ``extra`` starts) and the evaluation grid:
    starts and their ends."""
    starts = [v] if extra is None else [v, extra]
    if np.isfinite(tol):
        starts.append(v - tol)
    if np.isfinite(inv_ratio):
        starts.append(v / inv_ratio)
        if np.isfinite(tol) and inv_ratio > 1:
            starts.append(np.array([tol / (inv_ratio - 1.0)]))  # where c + tol = c * inv_ratio
    starts = np.unique(np.concatenate(starts))
    ends = _window_end(starts, tol, inv_ratio)
    grid = np.unique(np.concatenate([starts, ends[np.isfinite(ends)]]))
    is_start = np.zeros(grid.size, dtype=np.uint8)
    is_start[np.searchsorted(grid, starts)] = 1
    return np.ascontiguousarray(grid), is_start


def _components(paths, picks_j, picks_q):
    return [[(*paths.position(g, int(j), float(q)), 1.0)] for g, (j, q) in enumerate(zip(picks_j, picks_q))]


def solve_window(paths, rate, gain, tol, inv_ratio, groups, constraint):
    """Best monotone rules whose ``rate`` lies in one window [c, min(c + tol, c * inv_ratio)].

    ``tol`` / ``inv_ratio`` are ``inf`` when absent (both absent: no coupling, only
    the bounds). Raises :class:`InfeasibleConstraintError` when no window reaches
    every group; ``ValueError`` before any work when the search would exceed
    :data:`WORK_LIMIT`.
    """
    from .._core import thresholds as _kern

    num, den = paths.metric(rate)
    ranges = _ranges(paths, num, den)
    lo_hi = [r for r in ranges if not np.isnan(r[0])]
    feasible = len(lo_hi) == len(ranges)
    if feasible and (np.isfinite(tol) or np.isfinite(inv_ratio)):
        top_lo, bottom_hi = max(r[0] for r in ranges), min(r[1] for r in ranges)
        if np.isfinite(tol) and top_lo - bottom_hi > tol * (1 + 1e-12) + 1e-15:
            feasible = False
        if np.isfinite(inv_ratio) and top_lo > bottom_hi * inv_ratio * (1 + 1e-12) + 1e-15:
            feasible = False
    if not feasible:
        raise InfeasibleConstraintError(infeasible_message(groups, rate.name, ranges, tol, inv_ratio, constraint))
    ok = ((paths.flags & 1) > 0) & (den > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (num / np.where(den > 0, den, 1.0))[ok]
    gain = np.ascontiguousarray(gain, dtype=np.float64)
    extra = None
    for _ in range(_REFINE_ROUNDS + 1):
        grid, is_start = _grid(values, tol, inv_ratio, extra)
        work = float(grid.size) * paths.n_groups
        if work > WORK_LIMIT:
            if extra is not None:  # a refinement round: keep the certified result so far
                break
            raise ValueError(
                f"constraint={constraint!r} couples all groups ({paths.n_groups} distinct) through one common {rate.name} "
                f"window: the exact search evaluates every group at each of the {grid.size} candidate common "
                f"values ({work:.3g} steps, limit {WORK_LIMIT:.0e}, about 2 s). Round the scores to fewer distinct "
                f"values, merge small groups, or use a rate constraint with tolerance=0 (a linear merge walk).")
        lo, hi, total, k, q, value, bound, intervals = _kern.search_windows(
            num, den, gain, paths.flags, paths.offsets, grid, is_start, float(tol), float(inv_ratio))
        if lo < 0:
            raise InfeasibleConstraintError(infeasible_message(groups, rate.name, ranges, tol, inv_ratio, constraint))
        # rates: exact at the starts. Ratio metrics: bisect the intervals whose bound beats the best
        if rate.linear or bound - total <= _GAP * max(1.0, abs(total)):
            break
        open_ = np.flatnonzero(intervals > total + _GAP * max(1.0, abs(total)))
        nxt = np.flatnonzero(is_start)
        right = nxt[np.searchsorted(nxt, open_, side="right")]
        frac = np.arange(1, _REFINE_SPLIT) / _REFINE_SPLIT
        new = (grid[open_, None] + frac * (grid[right] - grid[open_])[:, None]).ravel()
        extra = new if extra is None else np.concatenate([extra, new])
    return _components(paths, k, q), Solution(total, bound, "window", rate.linear)


def solve_rate_sweep(sel, pos, offsets, kind, gp, gn):
    """Exact tolerance-0 optimum of a selection-rate, TPR or FPR equality (merge walk)."""
    from .._core import thresholds as _kern

    total, k, q, _ = _kern.sweep_rates(sel, pos, offsets, kind, float(gp), float(gn))
    return [[(int(k[g]), float(q[g]), 1.0)] for g in range(offsets.size - 1)], Solution(total, total, "sweep", True)


# ------------------------------------------------------------------ two metrics
def _box_axes(paths, rx, ry):
    """Non-decreasing coordinates of the two coupled rates along the paths (sign-flipped
    for non-increasing rates)."""
    out = []
    for rate in (rx, ry):
        num, den = paths.metric(rate)
        out.append(np.ascontiguousarray(rate.direction * num / den))
    return out


def _crossings(x, y, offsets, s1, s2):
    """Points where path a meets path b shifted by (-s1, -s2), all pairs (a != b when unshifted)."""
    pts = []
    G = offsets.size - 1
    for a in range(G):
        xa, ya = x[offsets[a]:offsets[a + 1]], y[offsets[a]:offsets[a + 1]]
        for b in range(G):
            if a == b and s1 == 0 and s2 == 0:
                continue
            xb, yb = x[offsets[b]:offsets[b + 1]] - s1, y[offsets[b]:offsets[b + 1]] - s2
            # segments of a against segments of b (small problems only)
            p, r = np.c_[xa[:-1], ya[:-1]], np.c_[np.diff(xa), np.diff(ya)]
            s_, u = np.c_[xb[:-1], yb[:-1]], np.c_[np.diff(xb), np.diff(yb)]
            rxs = r[:, None, 0] * u[None, :, 1] - r[:, None, 1] * u[None, :, 0]
            d = s_[None, :, :] - p[:, None, :]
            with np.errstate(invalid="ignore", divide="ignore"):
                t = (d[..., 0] * u[None, :, 1] - d[..., 1] * u[None, :, 0]) / rxs
                v = (d[..., 0] * r[:, None, 1] - d[..., 1] * r[:, None, 0]) / rxs
            hit = (rxs != 0) & (t >= 0) & (t <= 1) & (v >= 0) & (v <= 1)
            ia, _ = np.nonzero(hit)
            pts.append(np.c_[p[ia, 0] + t[hit] * r[ia, 0], p[ia, 1] + t[hit] * r[ia, 1]])
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def _exact_corners(x, y, ok, offsets, w1, w2):
    """Every vertex of the arrangement on which the summed box utility is piecewise convex.

    The structure of a group's best rule in the box [c1, c1 + w1] x [c2, c2 + w2] changes
    where an edge passes a path point (c1 or c1 + w1 at a point's x, c2 or c2 + w2 at its
    y: the grid lines) and where a box corner crosses the path (the four corners: the
    range [l, h] of positions switches which metric bounds it, or empties). Vertices:
    grid line x grid line, grid line x corner-on-path curve, and two corners on paths.
    """
    g1 = np.unique(np.r_[x[ok], x[ok] - w1])
    g2 = np.unique(np.r_[y[ok], y[ok] - w2])
    c1 = [np.repeat(g1, g2.size)]
    c2 = [np.tile(g2, g1.size)]
    shifts = [(s1, s2) for s1 in (0.0, w1) for s2 in (0.0, w2)]
    for s1, s2 in shifts:  # the corner (c1 + s1, c2 + s2) on some path
        for g in range(offsets.size - 1):
            xs, ys = x[offsets[g]:offsets[g + 1]], y[offsets[g]:offsets[g + 1]]
            at1 = np.interp(g1 + s1, xs, ys, left=np.nan, right=np.nan) - s2
            m = ~np.isnan(at1)
            c1.append(g1[m])
            c2.append(at1[m])
            at2 = np.interp(g2 + s2, ys, xs, left=np.nan, right=np.nan) - s1
            m = ~np.isnan(at2)
            c1.append(at2[m])
            c2.append(g2[m])
    # two corners on paths: P_a meets P_b moved by a difference of corner shifts
    for d1 in (-w1, 0.0, w1):
        for d2 in (-w2, 0.0, w2):
            pts = _crossings(x, y, offsets, d1, d2)
            for s1, s2 in shifts:
                c1.append(pts[:, 0] - s1)
                c2.append(pts[:, 1] - s2)
    c1, c2 = np.concatenate(c1), np.concatenate(c2)
    pairs = np.unique(np.c_[c1, c2], axis=0)
    return np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])


def _exact_size(x, y, ok, G):
    n1 = np.unique(x[ok]).size * 2
    n2 = np.unique(y[ok]).size * 2
    return (n1 * n2 + 8 * G * (n1 + n2) + 36 * G * G * (x.size / max(G, 1)) ** 2) * G


def _box_search(evaluate, x, y, ok, w1, w2, G):
    """Best box corner found by a global pass and local refinement (not exhaustive).

    Global pass: every corner that puts an allowed path point on one of the box's four
    corners (the boxes that touch a group's rule), plus a 48 x 48 sample of the grid of
    corners; the number of boxes x groups is capped by :data:`BOX_EXACT_LIMIT` (points
    subsampled evenly). Local pass: around the best boxes, every grid corner within
    ``_BOX_RADIUS`` grid steps on both axes, repeated while the best improves.
    """
    g1 = np.unique(np.r_[x[ok], x[ok] - w1])
    g2 = np.unique(np.r_[y[ok], y[ok] - w2])
    pts = np.unique(np.c_[x[ok], y[ok]], axis=0)
    cap = max(1024, int(BOX_EXACT_LIMIT / max(G, 1) / 4))
    if pts.shape[0] > cap:
        pts = pts[np.linspace(0, pts.shape[0] - 1, cap).astype(np.int64)]
    i1 = np.linspace(0, g1.size - 1, min(g1.size, _BOX_K)).astype(np.int64)
    i2 = np.linspace(0, g2.size - 1, min(g2.size, _BOX_K)).astype(np.int64)
    c1 = np.concatenate([pts[:, 0] - s1 for s1 in (0.0, w1) for _ in (0, 1)] + [np.repeat(g1[i1], i2.size)])
    c2 = np.concatenate([pts[:, 1] - s2 for _ in (0, 1) for s2 in (0.0, w2)] + [np.tile(g2[i2], i1.size)])
    tot = evaluate(c1, c2)
    best = int(np.argmax(tot))
    best_total, b1, b2 = float(tot[best]), float(c1[best]), float(c2[best])
    seeds = np.argsort(-tot, kind="stable")[:_BOX_KEEP]
    centres = [(c1[i], c2[i]) for i in seeds if np.isfinite(tot[i])]
    r = np.arange(-_BOX_RADIUS, _BOX_RADIUS + 1)
    for _ in range(_BOX_ROUNDS):
        if not centres:
            break
        a = [np.clip(np.searchsorted(g1, u) + r, 0, g1.size - 1) for u, _ in centres]
        b = [np.clip(np.searchsorted(g2, v) + r, 0, g2.size - 1) for _, v in centres]
        l1 = np.concatenate([np.repeat(g1[ai], bi.size) for ai, bi in zip(a, b)])
        l2 = np.concatenate([np.tile(g2[bi], ai.size) for ai, bi in zip(a, b)])
        tot = evaluate(l1, l2)
        order = np.argsort(-tot, kind="stable")[:_BOX_KEEP]
        if not tot[order[0]] > best_total:
            break
        best_total, b1, b2 = float(tot[order[0]]), float(l1[order[0]]), float(l2[order[0]])
        centres = [(l1[i], l2[i]) for i in order if np.isfinite(tot[i])]
    return best_total, b1, b2


def solve_boxes(paths, rx, ry, gain, w1, w2, groups, constraint, bound_fn=None):
    """Best monotone rules with ``rx`` within ``w1`` and ``ry`` within ``w2`` across groups.

    ``bound_fn``: returns an upper bound (the mixing optimum), called only when the
    search is not exact; without it the gap of a non-exhaustive search is unknown (inf).
    """
    from .._core import thresholds as _kern

    x, y = _box_axes(paths, rx, ry)
    gain = np.ascontiguousarray(gain, dtype=np.float64)
    ok = (paths.flags & 1) > 0
    G = paths.n_groups

    def evaluate(c1, c2):
        return _kern.evaluate_boxes(x, y, gain, paths.flags, paths.offsets, np.ascontiguousarray(c1, dtype=np.float64),
                                    np.ascontiguousarray(c2, dtype=np.float64), float(w1), float(w2))

    exact = _exact_size(x, y, ok, G) <= BOX_EXACT_LIMIT
    if exact:
        c1, c2 = _exact_corners(x, y, ok, paths.offsets, w1, w2)
        tot = evaluate(c1, c2)
        i = int(np.argmax(tot))
        total, b1, b2 = float(tot[i]), float(c1[i]), float(c2[i])
    else:
        total, b1, b2 = _box_search(evaluate, x, y, ok, w1, w2, G)
    if not np.isfinite(total):
        raise InfeasibleConstraintError(
            f"constraint={constraint!r}: no box of monotone rules reaches every group (per-group bounds too tight)")
    j, q, _ = _kern.box_choices(x, y, gain, paths.flags, paths.offsets, b1, b2, float(w1), float(w2))
    bound = total if exact else (bound_fn() if bound_fn is not None else np.inf)
    return _components(paths, j, q), Solution(total, bound, "boxes" if exact else "boxes-local", exact)


# ---------------------------------------------------------------- mixing (Hardt)
def _decompose(h, x, y, sel, lam):
    r"""The group's point as a mixture of at most three hull vertices, closest to one
    threshold: minimises :math:`\sum_j \mu_j |S_j - S_P|` (accepted mass) over the
    mixtures reaching the point (all have the same utility)."""
    from scipy.optimize import linprog

    px, py, ps = float(lam @ x), float(lam @ y), float(lam @ sel)
    cost = np.abs(sel - ps) / max(float(sel.max()), 1.0)
    res = linprog(cost, A_eq=np.vstack([np.ones_like(x), x, y]), b_eq=[1.0, px, py], bounds=(0, None),
                  method="highs-ds")
    mu = res.x if res.status == 0 else lam
    mu = np.where(mu > 1e-12, mu, 0.0)
    keep = np.flatnonzero(mu)
    mu = mu[keep] / mu[keep].sum()
    return [(int(h[j]), 0.0, float(m)) for j, m in zip(keep, mu)]


def solve_mixing(curves, gp, gn, tol, decompose_limit=200, bound_only=False):
    """Equalized odds by mixing thresholds (Hardt et al. 2016): the LP over the groups' ROC
    hull vertices, with sparse constraint matrices (memory linear in the hull sizes).

    Each group's point is written as a mixture of at most three thresholds (the
    :func:`_decompose` LP for up to ``decompose_limit`` groups and for any group whose
    LP weights use more than three vertices; otherwise the LP's own weights).
    """
    from scipy import sparse
    from scipy.optimize import linprog

    from .._core import thresholds as _kern

    xs = [np.ascontiguousarray(c.false_positives / c.n_negative) for c in curves]
    ys = [np.ascontiguousarray(c.positives / c.n_positive) for c in curves]
    us = [gp * c.positives + gn * c.false_positives for c in curves]
    G = len(curves)
    offsets = np.zeros(G + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([x.size for x in xs])
    verts, voff = _kern.convex_hulls(np.concatenate(xs), np.concatenate(ys), offsets)
    hulls = [verts[voff[g]:voff[g + 1]] for g in range(G)]
    nv = int(voff[-1])
    n_var = nv + 2  # lambdas, then the common centre (F, T)
    owner = np.repeat(np.arange(G), np.diff(voff))
    col = np.arange(nv)
    hx = np.concatenate([xs[g][h] for g, h in enumerate(hulls)])
    hy = np.concatenate([ys[g][h] for g, h in enumerate(hulls)])
    c_obj = np.zeros(n_var)
    c_obj[:nv] = -np.concatenate([us[g][h] for g, h in enumerate(hulls)])
    a_eq = sparse.csr_matrix((np.ones(nv), (owner, col)), shape=(G, n_var))
    rows = np.r_[owner, np.arange(G)]
    cols_x, cols_y = np.r_[col, np.full(G, nv)], np.r_[col, np.full(G, nv + 1)]
    rows_x = sparse.csr_matrix((np.r_[hx, -np.ones(G)], (rows, cols_x)), shape=(G, n_var))
    rows_y = sparse.csr_matrix((np.r_[hy, -np.ones(G)], (rows, cols_y)), shape=(G, n_var))
    bounds = [(0, None)] * nv + [(0, 1), (0, 1)]
    if tol == 0:
        res = linprog(c_obj, A_eq=sparse.vstack([a_eq, rows_x, rows_y]).tocsr(), b_eq=np.r_[np.ones(G), np.zeros(2 * G)],
                      bounds=bounds, method="highs")
    else:
        a_ub = sparse.vstack([rows_x, -rows_x, rows_y, -rows_y]).tocsr()
        res = linprog(c_obj, A_ub=a_ub, b_ub=np.full(4 * G, tol / 2), A_eq=a_eq, b_eq=np.ones(G), bounds=bounds,
                      method="highs")
    if res.status != 0:
        raise RuntimeError(f"the equalized-odds linear programme failed: {res.message}")
    if bound_only:
        return None, Solution(-float(res.fun), -float(res.fun), "mixing", True)
    comps = []
    for g, h in enumerate(hulls):
        lam = res.x[voff[g]:voff[g + 1]]
        lam = np.where(lam > 1e-12, lam, 0.0)
        if G <= decompose_limit or np.count_nonzero(lam) > 3:
            comps.append(_decompose(h, xs[g][h], ys[g][h], curves[g].selected[h], lam))
        else:
            keep = np.flatnonzero(lam)
            comps.append([(int(h[j]), 0.0, float(lam[j] / lam[keep].sum())) for j in keep])
    total = -float(res.fun)
    return comps, Solution(total, total, "mixing", True)


def packed(curves, packed_arrays):
    return packed_arrays if packed_arrays is not None else pack(curves)
