"""Per-group threshold curves: cumulative selections, positives and utility at every
breakpoint (every distinct score), after one sort per group."""

import numpy as np

__all__ = ["GroupCurve", "build_curves", "pack"]

_MASK_GROUPS = 16  # up to this many groups, boolean masks beat a stable partition


class GroupCurve:
    """Breakpoint arrays of one group, blocks sorted by decreasing score.

    ``scores[b]`` is block ``b``'s score (``B`` blocks); breakpoint ``k = 0..B``
    accepts blocks ``0..k-1``. ``selected[k]`` and ``positives[k]`` are the accepted
    weight and the accepted (expected) positive weight at breakpoint ``k``;
    ``n``, ``n_positive`` and ``n_negative`` are the group's totals.
    """

    __slots__ = ("scores", "selected", "positives", "n", "n_positive", "n_negative", "_fp")

    def __init__(self, scores, selected, positives):
        self.scores = scores
        self.selected = selected
        self.positives = positives
        self.n = float(selected[-1])
        self.n_positive = float(positives[-1])
        self.n_negative = self.n - self.n_positive
        self._fp = None

    @property
    def false_positives(self):
        if self._fp is None:
            self._fp = self.selected - self.positives
        return self._fp

    def threshold(self, k, q):
        """Rule (t, tie) of position (k, q): accept s > t, and s == t with probability tie."""
        b = self.scores.size
        if q >= 1.0:
            k, q = k + 1, 0.0
        if q > 0.0 and k < b:
            return float(self.scores[k]), float(q)
        if k <= 0:
            return np.inf, 0.0
        if k >= b:
            return -np.inf, 0.0
        hi, lo = float(self.scores[k - 1]), float(self.scores[k])
        mid = hi / 2 + lo / 2
        if not lo < mid < hi:  # adjacent floats
            return lo, 0.0
        return mid, 0.0


def _counts_curve(s, y):
    """Unweighted 0/1 labels: sort positives and negatives separately (NumPy sorts
    values much faster than it argsorts) and count at each distinct score."""
    pos = np.sort(s[y])
    neg = np.sort(s[~y])
    both = np.sort(np.concatenate([pos, neg]), kind="stable")  # merges two sorted runs
    first = np.empty(both.size, dtype=bool)  # first occurrence of each distinct score
    first[0] = True
    np.not_equal(both[1:], both[:-1], out=first[1:])
    start = np.flatnonzero(first)
    distinct = both[start]  # increasing
    n_sel = np.empty(distinct.size + 1)
    n_pos = np.empty(distinct.size + 1)
    n_sel[0] = n_pos[0] = 0.0
    # members with score >= distinct[i], listed by decreasing score
    n_sel[1:] = (both.size - start)[::-1]
    n_pos[1:] = (pos.size - np.searchsorted(pos, distinct, side="left"))[::-1]
    v = distinct[::-1].copy()
    return GroupCurve(v, n_sel, n_pos)


def _weighted_curve(s, y, w):
    order = np.argsort(-s, kind="stable")
    ss = s[order]
    wy = w * y
    starts = np.flatnonzero(np.concatenate(([True], ss[1:] != ss[:-1])))
    sel = np.add.reduceat(w[order], starts)
    pos = np.add.reduceat(wy[order], starts)
    n_sel = np.concatenate(([0.0], np.cumsum(sel)))
    n_pos = np.concatenate(([0.0], np.cumsum(pos)))
    return GroupCurve(ss[starts], n_sel, n_pos)


def _binary_curves(scores, y, codes, n_groups):
    """0/1 labels, no weights: scatter rows into (group, label) buckets (compiled),
    sort every bucket with NumPy (values sort much faster than argsort), then merge
    each group's two buckets from the top into counts at every distinct score."""
    from .._core import thresholds as _kern
    from .._base.sorting import sort_segments

    values, offsets = _kern.group_curves(scores, y.view(np.uint8), codes, n_groups)
    sort_segments(values, offsets)
    blocks, block_offsets, selected, positives = _kern.merge_counts(values, offsets)
    curves = []
    for g in range(n_groups):
        b0, b1 = block_offsets[g], block_offsets[g + 1]
        curves.append(GroupCurve(blocks[b0:b1], selected[b0 + g:b1 + g + 1], positives[b0 + g:b1 + g + 1]))
    bp = block_offsets + np.arange(n_groups + 1)
    return curves, (selected[:bp[-1]], positives[:bp[-1]], bp)


def pack(curves):
    """Concatenated breakpoint arrays (selected, positives) and their offsets."""
    bp = np.zeros(len(curves) + 1, dtype=np.int64)
    bp[1:] = np.cumsum([c.selected.size for c in curves])
    return (np.concatenate([c.selected for c in curves]), np.concatenate([c.positives for c in curves]), bp)


def build_curves(scores, y, codes, n_groups, sample_weight=None):
    """One :class:`GroupCurve` per group code, and the packed arrays (see :func:`pack`).

    Parameters
    ----------
    scores : float64 ndarray
    y : float64 ndarray of labels in [0, 1] (soft labels are expected positives)
    codes : int32 ndarray in [0, n_groups)
    sample_weight : float64 ndarray or None
    """
    binary = sample_weight is None and bool(np.all((y == 0.0) | (y == 1.0)))
    if binary:
        return _binary_curves(scores, np.ascontiguousarray(y == 1.0), np.ascontiguousarray(codes, dtype=np.int32),
                              n_groups)
    if n_groups <= _MASK_GROUPS:
        parts = [np.flatnonzero(codes == g) if n_groups > 1 else None for g in range(n_groups)]
    else:
        small = codes.astype(np.uint16) if n_groups < 65536 else codes
        order = np.argsort(small, kind="stable")
        bounds = np.searchsorted(small[order], np.arange(n_groups + 1))
        parts = [order[bounds[g]:bounds[g + 1]] for g in range(n_groups)]
    curves = []
    for idx in parts:
        s = scores if idx is None else scores[idx]
        yy = y if idx is None else y[idx]
        w = np.ones(s.size) if sample_weight is None else (sample_weight if idx is None else sample_weight[idx])
        curves.append(_weighted_curve(s, yy, w))
    return curves, None


class Paths:
    """All groups' candidate monotone rules as one set of concatenated paths.

    Point ``j`` of a path has accepted positive weight ``tp[j]`` and accepted negative
    weight ``fp[j]``; it is the rule "accept blocks ``0..k[j]-1`` and a fraction
    ``q[j]`` of block ``k[j]``". Between points ``j`` and ``j + 1`` the rule moves
    linearly. Paths start as the breakpoints (``q = 0``); per-group bounds insert the
    points where a bounded metric crosses its bound. ``flags[j]`` bit 0: point ``j``
    meets every bound; bit 1: the segment from ``j`` to ``j + 1`` does (the last point's
    bit 1 is 0). ``offsets[g]..offsets[g + 1]`` is group ``g``; ``P``, ``N`` its
    positive and negative weight.
    """

    def __init__(self, tp, fp, k, q, flags, offsets, P, N, nudged=None):
        self.tp, self.fp, self.k, self.q, self.flags, self.offsets, self.P, self.N = tp, fp, k, q, flags, offsets, P, N
        self.nudged = nudged  # (points, their neighbours, original tp, original fp): see nudge_ends

    @property
    def n_groups(self):
        return self.offsets.size - 1

    def sizes(self):
        return np.diff(self.offsets)

    def totals(self):
        """Per-point group totals (P, N)."""
        s = self.sizes()
        return np.repeat(self.P, s), np.repeat(self.N, s)

    def metric(self, rate):
        """(numerator, denominator) of ``rate`` at every point."""
        P, N = self.totals()
        num, den = rate.parts(self.tp, self.fp, P, N)
        num, den = np.array(num, dtype=np.float64), np.array(den, dtype=np.float64)
        if self.nudged is not None:
            # where the metric was undefined at the end, it is constant on the end segment
            # (numerator and denominator both vanish linearly there): use the neighbour's
            # value exactly, not the rounded ratio of two tiny counts
            j, nb, tp0, fp0 = self.nudged
            _, den0 = rate.parts(tp0, fp0, P[j], N[j])
            snap = np.asarray(den0) <= 0
            num[j[snap]], den[j[snap]] = num[nb[snap]], den[nb[snap]]
        return num, den

    def group(self, g):
        return slice(int(self.offsets[g]), int(self.offsets[g + 1]))

    def position(self, g, j, t):
        """Block and tie fraction of the point at fraction ``t`` from local point ``j`` to ``j + 1``."""
        b = int(self.offsets[g]) + int(j)
        k, q0 = int(self.k[b]), float(self.q[b])
        if t <= 0.0 or b + 1 >= int(self.offsets[g + 1]):
            return k, q0
        q1 = float(self.q[b + 1]) if int(self.k[b + 1]) == k else 1.0
        return k, q0 + t * (q1 - q0)


def breakpoint_paths(sel, pos, offsets):
    """:class:`Paths` of the breakpoints (packed arrays of :func:`pack`)."""
    G = offsets.size - 1
    sizes = np.diff(offsets)
    last = offsets[1:] - 1
    P = pos[last].astype(np.float64)
    N = (sel[last] - pos[last]).astype(np.float64)
    k = np.arange(sel.size, dtype=np.int64) - np.repeat(offsets[:-1], sizes)
    flags = np.full(sel.size, 3, dtype=np.uint8)
    flags[last] = 1
    return Paths(np.ascontiguousarray(pos, dtype=np.float64), np.ascontiguousarray(sel - pos, dtype=np.float64), k,
                 np.zeros(sel.size), flags, offsets.astype(np.int64), P, N) if G else None


def _meets(values, form, bound, slack):
    if form == "minimum":
        return values >= bound - slack
    return values <= bound + slack


def bounded_paths(paths, bounds):
    """Paths with the crossings of every per-group bound inserted and flags set.

    ``bounds``: (rate, form, value) with form "minimum" or "maximum". A point whose
    metric is undefined (zero denominator, e.g. the PPV with nothing accepted) does not
    meet a bound on that metric.
    """
    if not bounds:
        return paths
    same = np.ones(paths.tp.size, dtype=bool)  # same[j]: j and j + 1 are in one group
    same[paths.offsets[1:] - 1] = False
    seg = np.flatnonzero(same[:-1]) if paths.tp.size > 1 else np.zeros(0, dtype=np.int64)
    ins_seg, ins_t = [], []
    for rate, _, value in bounds:
        num, den = paths.metric(rate)
        n0, n1, d0, d1 = num[seg], num[seg + 1], den[seg], den[seg + 1]
        f0, f1 = n0 - value * d0, n1 - value * d1  # sign of (metric - value) where den > 0
        cross = (f0 * f1 < 0) & (d0 > 0) & (d1 > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = f0 / (f0 - f1)
        ins_seg.append(seg[cross])
        ins_t.append(t[cross])
    ins_seg, ins_t = np.concatenate(ins_seg), np.clip(np.concatenate(ins_t), 0.0, 1.0)
    keep = (ins_t > 0) & (ins_t < 1)
    ins_seg, ins_t = ins_seg[keep], ins_t[keep]
    key = np.concatenate([np.arange(paths.tp.size, dtype=np.float64), ins_seg + ins_t])
    order = np.argsort(key, kind="stable")
    key = key[order]
    dup = np.r_[False, key[1:] == key[:-1]]
    key = key[~dup]
    base = np.floor(key).astype(np.int64)
    t = key - base
    nxt = np.minimum(base + 1, paths.tp.size - 1)

    def lerp(v):
        return v[base] + t * (v[nxt] - v[base])

    k = paths.k[base]
    q1 = np.where(paths.k[nxt] == k, paths.q[nxt], 1.0)
    q = paths.q[base] + t * (q1 - paths.q[base])
    counts = np.bincount(np.searchsorted(paths.offsets, base, side="right") - 1, minlength=paths.n_groups)
    offsets = np.zeros(paths.n_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    nudged = None
    if paths.nudged is not None:
        j, nb, tp0, fp0 = paths.nudged
        where = np.searchsorted(key, j.astype(np.float64))  # original points keep integer keys
        nudged = (where, np.searchsorted(key, nb.astype(np.float64)), tp0, fp0)
    out = Paths(lerp(paths.tp), lerp(paths.fp), k, q, None, offsets, paths.P, paths.N, nudged)
    point_ok = np.ones(key.size, dtype=bool)
    seg_ok = np.ones(key.size, dtype=bool)
    for rate, form, value in bounds:
        num, den = out.metric(rate)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
            mn, md = np.r_[(num[:-1] + num[1:]) / 2, num[-1:]], np.r_[(den[:-1] + den[1:]) / 2, den[-1:]]
            mid = np.where(md > 0, mn / np.where(md > 0, md, 1.0), np.nan)
        point_ok &= _meets(v, form, value, 1e-9 * max(1.0, abs(value)))
        seg_ok &= _meets(mid, form, value, 0.0)
    seg_ok[offsets[1:] - 1] = False
    out.flags = (point_ok.astype(np.uint8) | (seg_ok.astype(np.uint8) << 1)).astype(np.uint8)
    return out


#: How far into the first (last) segment a path end moves when a constrained metric is
#: undefined there (the PPV of accepting nobody, the NPV of accepting everyone).
END_NUDGE = 1e-9


def nudge_ends(paths, rates):
    """Move each group's first (last) point ``END_NUDGE`` into its first (last) segment
    where one of ``rates`` has a zero denominator at the end but not just inside it.

    The rules just inside are valid (the metric is defined and constant near the end),
    so the best rule of such a group is a supremum approached there; the nudged point
    attains it up to ``END_NUDGE`` of one block.
    """
    P, N = paths.totals()
    first, last = paths.offsets[:-1], paths.offsets[1:] - 1
    move_first = np.zeros(paths.n_groups, dtype=bool)
    move_last = np.zeros(paths.n_groups, dtype=bool)
    for rate in rates:
        _, den = rate.parts(paths.tp, paths.fp, P, N)
        move_first |= (den[first] <= 0) & (den[first + 1] > 0) & (last > first)
        move_last |= (den[last] <= 0) & (den[last - 1] > 0) & (last > first)
    if not (move_first.any() or move_last.any()):
        return paths
    tp, fp, q = paths.tp.copy(), paths.fp.copy(), paths.q.copy()
    k = paths.k.copy()
    for ends, nxt, t in ((first[move_first], first[move_first] + 1, END_NUDGE),
                         (last[move_last], last[move_last] - 1, END_NUDGE)):
        tp[ends] = paths.tp[ends] + t * (paths.tp[nxt] - paths.tp[ends])
        fp[ends] = paths.fp[ends] + t * (paths.fp[nxt] - paths.fp[ends])
    q[first[move_first]] = END_NUDGE
    lm = last[move_last]
    k[lm] = paths.k[lm - 1]
    q[lm] = 1.0 - END_NUDGE
    j = np.r_[first[move_first], lm]
    nb = np.r_[first[move_first] + 1, lm - 1]
    return Paths(tp, fp, k, q, paths.flags.copy(), paths.offsets, paths.P, paths.N,
                 nudged=(j, nb, paths.tp[j], paths.fp[j]))


def collapse_groups(paths, gain):
    """Merge groups whose paths are identical (same points, flags and utility), so a
    search over many small groups runs once per distinct path.

    Returns ``(paths, gain, inverse)``: the distinct groups' paths, their utility scaled
    by the number of groups merged into each (the best rule of a merged group is the
    best rule of each copy, and its value the copies' total), and for every original
    group the index of its distinct group.
    """
    G = paths.n_groups
    keys = {}
    inverse = np.empty(G, dtype=np.int64)
    reps = []
    for g in range(G):
        sl = paths.group(g)
        key = (paths.tp[sl].tobytes(), paths.fp[sl].tobytes(), paths.flags[sl].tobytes(), gain[sl].tobytes(),
               float(paths.P[g]), float(paths.N[g]))
        u = keys.setdefault(key, len(reps))
        if u == len(reps):
            reps.append(g)
        inverse[g] = u
    if len(reps) == G:
        return paths, gain, inverse
    mult = np.bincount(inverse, minlength=len(reps)).astype(np.float64)
    reps = np.asarray(reps)
    sizes = np.diff(paths.offsets)[reps]
    idx = np.concatenate([np.arange(paths.offsets[g], paths.offsets[g + 1]) for g in reps])
    offsets = np.zeros(reps.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    nudged = None
    if paths.nudged is not None:
        j, nb, tp0, fp0 = paths.nudged
        pos = np.full(paths.tp.size, -1, dtype=np.int64)
        pos[idx] = np.arange(idx.size)
        keep = pos[j] >= 0
        nudged = (pos[j[keep]], pos[nb[keep]], tp0[keep], fp0[keep])
    out = Paths(paths.tp[idx], paths.fp[idx], paths.k[idx], paths.q[idx], paths.flags[idx], offsets, paths.P[reps],
                paths.N[reps], nudged)
    return out, gain[idx] * np.repeat(mult, sizes), inverse
