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
