"""Peak memory of a benchmarked call: the growth of the resident set size.

Peak memory is the growth of the resident set size (RSS) during the probe call:
the high-water mark of RSS at its end minus RSS just before it, so the inputs (already
resident) are not counted and the output and every temporary are. Just before the
call, memory the allocator keeps from earlier frees is given back to the system
(glibc's ``malloc_trim(0)``). On Linux the high-water mark is then reset (writing
``5`` to ``/proc/self/clear_refs``; ``VmHWM`` and ``VmRSS`` are read from
``/proc/self/status``). Elsewhere the process's ``ru_maxrss`` is used, a high-water
mark since the process started, which is right only in a fresh process whose earlier
work was loading the inputs (the isolated mode, below); in-process it is not reported.

The probe call is measured, not a later one, because only the first call of a fresh
process starts from an allocator holding no freed memory: later calls reuse the
memory earlier ones freed (glibc's per-thread arenas keep it, and ``malloc_trim``
cannot return all of it), so RSS barely grows and their figures read far too low.
The probe's figure is therefore the footprint of one call in a fresh process, as in a
batch job, including one-time costs (the thread pool's stacks and arenas, under
1 MiB here).

Limits: RSS counts pages actually touched (``np.empty`` memory never written does not
count); pages of the inputs are never counted; in-process (``isolate=False``), memory
freed by earlier measurements can be reused without growing RSS, so figures may read
low. Python-level accounting (``tracemalloc``) was not used because it does not see
the compiled core's C++ allocations.
"""

import sys

__all__ = ["MemoryProbe"]


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


_LIBC = []


def _malloc_trim():
    """glibc's ``malloc_trim(0)``: give the pages of freed memory back to the system.

    Without it, memory freed by an earlier call (and kept by the allocator) is reused
    without growing RSS, hiding a later call's allocations. No-op without glibc.
    """
    if not _LIBC:
        lib = None
        if sys.platform.startswith("linux"):
            import ctypes
            import ctypes.util

            try:
                lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                lib.malloc_trim  # noqa: B018 - attribute lookup checks the symbol exists
            except (OSError, AttributeError):
                lib = None
        _LIBC.append(lib)
    if _LIBC[0] is not None:
        _LIBC[0].malloc_trim(0)


def _maxrss_bytes():
    import resource  # not on Windows, where MemoryProbe reports nothing

    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024  # bytes on macOS, KiB elsewhere


class MemoryProbe:
    """Peak RSS growth of this process between :meth:`start` and :meth:`stop`.

    Parameters
    ----------
    fresh_process : bool
        True when this process did nothing but load the inputs before :meth:`start`
        (then ``ru_maxrss`` is a fair baseline where the high-water mark cannot be
        reset).

    Attributes
    ----------
    method : str or None
        ``"vmhwm-reset"`` (Linux), ``"ru_maxrss"`` (fresh process elsewhere) or None
        (not measurable).

    Examples
    --------
    >>> import numpy as np
    >>> from fairfast.bench._memory import MemoryProbe
    >>> probe = MemoryProbe()
    >>> probe.start()
    >>> a = np.ones(8 * 2**20)  # 64 MiB, written
    >>> grown = probe.stop()
    >>> probe.method is None or grown >= 48 * 2**20  # a few MiB may already be resident
    True
    """

    def __init__(self, fresh_process=False):
        self.fresh_process = fresh_process
        self.method = None
        self.before = None

    def start(self):
        """Return freed memory to the system, then note RSS (and reset its peak where possible)."""
        self.method = None
        _malloc_trim()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.before = _status_kib("VmRSS") * 1024
            self.method = "vmhwm-reset"
            return
        except OSError:
            pass
        if self.fresh_process:
            try:
                self.before = _maxrss_bytes()
            except ImportError:
                return
            self.method = "ru_maxrss"

    def stop(self):
        """Bytes by which the peak RSS exceeded RSS at :meth:`start` (None if unknown)."""
        if self.method == "vmhwm-reset":
            self.peak = _status_kib("VmHWM") * 1024
        elif self.method == "ru_maxrss":
            self.peak = _maxrss_bytes()
        else:
            self.peak = None
            return None
        return max(0, self.peak - self.before)
