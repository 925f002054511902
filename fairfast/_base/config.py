"""Thread count of the compiled kernels and build information."""

import contextlib
import os
import sys

from .. import _core

__all__ = ["get_num_threads", "set_num_threads", "show_config", "thread_limit"]


def _cgroup_cpu_limit():
    """CPUs granted by a cgroup v2 quota (containers), or None when unlimited."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, int(int(quota) // int(period)))


def _default_num_threads():
    """OpenMP's default, capped by the CPUs this process may use (affinity, quota)."""
    n = _core.get_num_threads() if _core.get_thread_setting() == 0 else None
    if n is None:
        return None
    if "OMP_NUM_THREADS" in os.environ:
        return n
    try:
        n = min(n, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        n = min(n, os.cpu_count() or 1)
    quota = _cgroup_cpu_limit()
    return min(n, quota) if quota else n


def set_num_threads(n_threads):
    """Set how many threads the compiled kernels use.

    Parameters
    ----------
    n_threads : int or None
        A positive count, or ``None`` to return to the default: OpenMP's own setting
        (``OMP_NUM_THREADS``, or limits set through ``threadpoolctl``), capped by the
        CPUs available to the process.

    Examples
    --------
    >>> import fairfast
    >>> previous = fairfast.get_num_threads()
    >>> fairfast.set_num_threads(1)
    >>> fairfast.get_num_threads()
    1
    >>> fairfast.set_num_threads(None)
    """
    if n_threads is None:
        _core.set_num_threads(0)
        return
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int,)) and not hasattr(n_threads, "__index__"):
        raise TypeError(f"n_threads must be a positive int or None, got {type(n_threads).__name__}")
    n = int(n_threads)
    if n < 1:
        raise ValueError(f"n_threads must be a positive int or None, got {n}")
    if n >= 2**31:
        raise ValueError(f"n_threads must be a positive int below 2**31, or None for the default (the CPUs "
                         f"available), got {n}")
    _core.set_num_threads(n)


def get_num_threads():
    """Number of threads the compiled kernels will use.

    Examples
    --------
    >>> import fairfast
    >>> fairfast.get_num_threads() >= 1
    True
    """
    setting = _core.get_thread_setting()
    return setting if setting > 0 else _default_num_threads()


@contextlib.contextmanager
def thread_limit(n_threads):
    """Context manager that sets the kernels' thread count and restores it on exit.

    Parameters
    ----------
    n_threads : int or None
        As in :func:`set_num_threads`.

    Examples
    --------
    >>> import fairfast
    >>> with fairfast.thread_limit(1):
    ...     fairfast.get_num_threads()
    1
    """
    previous = _core.get_thread_setting()
    set_num_threads(n_threads)
    try:
        yield
    finally:
        _core.set_num_threads(previous)


def _startup_default():
    # Cap the default once at import: OpenMP alone ignores CPU quotas.
    if _core.get_thread_setting() == 0 and "OMP_NUM_THREADS" not in os.environ:
        n = _default_num_threads()
        if n and n < _core.get_num_threads():
            _core.set_num_threads(n)


_startup_default()


def show_config(file=None):
    """Print the build and runtime configuration of fairfast.

    Parameters
    ----------
    file : file-like, optional
        Where to write; standard output by default.

    Examples
    --------
    >>> import fairfast
    >>> fairfast.show_config()  # doctest: +ELLIPSIS
    fairfast ...
    """
    import numpy as np

    from .version import __version__

    info = _core.build_info()
    openmp = f"yes (OpenMP {info['openmp_version']})" if info["openmp"] else "no (serial build)"
    lines = [
        f"fairfast {__version__}",
        f"  python:      {sys.version.split()[0]}",
        f"  numpy:       {np.__version__}",
        f"  compiler:    {info['compiler']} (C++ {info['cplusplus']}, {info['build_type']})",
        f"  openmp:      {openmp}",
        f"  threads:     {get_num_threads()}",
    ]
    print("\n".join(lines), file=file or sys.stdout)
