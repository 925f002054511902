"""Sorting of float32/float64 values by the compiled core's parallel radix sort.

``fairfast._core.sort`` sorts in the IEEE total order (-0.0 before +0.0), so a sorted
array is one fixed sequence of bits whatever the thread count; it measured about half
the CPU time of ``np.sort`` per core on the development machine and scales with the
threads (``docs/barycenter.md``, "Speed"). Weighted samples need the sorting
permutation and use NumPy's argsort (segments on several threads: NumPy releases the
GIL while sorting).
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _core
from .config import get_num_threads

__all__ = ["argsort_segments", "sort_segments", "sorted_copy", "sorted_with_weights"]

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
    """Sort ``values[offsets[k]:offsets[k + 1]]`` in place for every k.

    `values`: C-contiguous float32/float64; `offsets`: int64 from 0 to ``values.size``.
    """
    _core.sort.sort_segments(values, np.ascontiguousarray(offsets, dtype=np.int64))


def sorted_copy(x):
    """A sorted copy of the C-contiguous float32/float64 array `x` (total order)."""
    return _core.sort.sorted(x)


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
        return sorted_copy(np.ascontiguousarray(x)), None
    order = np.argsort(x, kind="stable")
    return x[order], np.cumsum(w[order])
