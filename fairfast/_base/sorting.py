"""Sorting, delegated to NumPy: its vectorised sorts (x86-simd-sort / Highway) are
faster than a hand-written one. Segments are sorted on several threads (NumPy
releases the GIL while sorting)."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .config import get_num_threads

__all__ = ["argsort_segments", "sort_segments", "sorted_with_weights"]

_PARALLEL_MIN = 200_000


def _run(tasks, total):
    workers = min(get_num_threads(), len(tasks))
    if workers <= 1 or total < _PARALLEL_MIN:
        for t in tasks:
            t()
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for f in [pool.submit(t) for t in tasks]:
            f.result()


def sort_segments(values, offsets):
    """Sort ``values[offsets[k]:offsets[k + 1]]`` in place for every k."""
    _run([(lambda a=a, b=b: values[a:b].sort()) for a, b in zip(offsets[:-1], offsets[1:])], values.size)


def argsort_segments(values, offsets):
    """Global positions that sort each segment (ties in no particular order)."""
    order = np.empty(values.size, dtype=np.int64)

    def task(a, b):
        order[a:b] = np.argsort(values[a:b]) + a

    _run([(lambda a=a, b=b: task(a, b)) for a, b in zip(offsets[:-1], offsets[1:])], values.size)
    return order


def sorted_with_weights(x, w):
    """Sorted copy of `x` and the inclusive running sum of its weights (None without).

    The weighted sort is stable: tied values keep their input order, which fixes the
    order of their weights (it matters only for the "linear" convention).
    """
    if w is None:
        return np.sort(x), None
    order = np.argsort(x, kind="stable")
    return x[order], np.cumsum(w[order])
