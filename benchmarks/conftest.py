"""pytest-benchmark configuration of the fairfast benchmarks.

Run from the repository root::

    python -m pytest benchmarks                       # every benchmark, sizes up to 1e6
    python -m pytest benchmarks/bench_transport.py benchmarks/bench_barycenter.py   # ~2 min
    python -m pytest benchmarks --benchmark-json=bench.json --bench-max-n=1e8 --bench-slow-peers
    python benchmarks/report.py bench.json            # markdown table of medians and ratios

Only the acceptance sizes of the transport and barycenter kernels: add ``-k "1e7 or 1e8"``
(10 to 20 minutes on 2 busy cores, most of it EquiPy and the numpy transform of 1e8
rows; peak memory about 4 GB). Do not use
``pytest-xdist`` (``-n``): pytest-benchmark disables timing under it, and parallel
runs would measure each other.

``python -m pytest tests`` never collects this directory (the project's ``testpaths``
is ``tests``). Here, ``bench_*.py`` files are collected by the
``pytest_collect_file`` hook below, so no ``-o python_files=...`` is needed, and the
project's ``pyproject.toml`` stays the configuration (there is deliberately no
``pytest.ini`` in this directory: it would become the rootdir configuration and drop
the project's options). For one console table per kernel and size, add
``--benchmark-group-by=group,param:n`` (to runs of bench_transport.py and
bench_barycenter.py, whose benchmarks all have an ``n``).

Options
-------
``--bench-max-n`` (default 1e6)
    Largest size run: 1e7 adds the acceptance sizes, 1e8 the 1e8-row transform.
``--bench-slow-peers``
    Also run peers above their ``slow_above`` size (EquiPy above 1e6, about a minute
    per call at 1e7; the numpy transform at 1e8), timed in a single round.
``--bench-threads``
    Threads of fairfast's kernels for the run (default: ``fairfast.get_num_threads()``,
    i.e. ``OMP_NUM_THREADS`` or the CPUs available). On a shared machine a busy core
    can slow an OpenMP kernel far more than a serial one: compare with
    ``--bench-threads=1``.
``--bench-budget`` (default 2)
    Seconds of timed calls per benchmark; rounds are chosen from one untimed call.

Every benchmark makes one untimed call first (warm-up, and its result is checked
against a second implementation, see ``workloads.check_agreement``), then times
``benchmark.pedantic`` rounds. ``extra_info`` records the kernel, implementation,
size, groups, thread count (``fairfast.get_num_threads()``), rounds and the
agreement check.
"""

import contextlib
import fnmatch
import hashlib
import os
import sys
import time
from collections import OrderedDict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_*.py import workloads

import workloads as wl  # noqa: E402


def pytest_addoption(parser):
    group = parser.getgroup("fairfast benchmarks")
    group.addoption(
        "--bench-max-n", default="1e6", type=_parse_size,
        help="largest size to run, e.g. 1e7 (acceptance) or 1e8 (adds the 1e8-row transform); default 1e6",
    )
    group.addoption(
        "--bench-slow-peers", action="store_true", default=False,
        help="also run slow peers above their threshold (EquiPy above 1e6), timed in a single round",
    )
    group.addoption(
        "--bench-threads", default=None, type=int,
        help="threads of fairfast's kernels (fairfast.thread_limit); default: fairfast's own default",
    )
    group.addoption(
        "--bench-budget", default=2.0, type=float,
        help="seconds of timed calls per benchmark (rounds are chosen from one untimed call); default 2",
    )


def _parse_size(text):
    try:
        value = float(text)
    except ValueError:
        raise pytest.UsageError(f"--bench-max-n must be a number such as 1e7, got {text!r}") from None
    if not value >= 1:
        raise pytest.UsageError(f"--bench-max-n must be >= 1, got {text!r}")
    return int(value)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "bench_sizes(*sizes): sizes n of a benchmark, filtered by --bench-max-n"
    )


def _benchmarks_requested(config):
    """True when a command-line path lies inside this directory (``pytest .`` does not)."""
    here = Path(__file__).resolve().parent
    root = config.invocation_params.dir
    for arg in config.args:
        path = (root / arg.split("::")[0]).resolve()
        if path == here or here in path.parents:
            return True
    return False


def pytest_collect_file(file_path, parent):
    """Collect ``bench_*.py`` as test modules when this directory is asked for.

    ``python -m pytest benchmarks`` (or a file in it) collects them without any
    ``python_files`` option; a run from a parent directory (``pytest .``) does not, so
    the minutes of benchmarks never slip into a test run.
    """
    if file_path.suffix != ".py" or not file_path.name.startswith("bench_"):
        return None
    patterns = parent.config.getini("python_files")
    if parent.session.isinitpath(file_path) or any(fnmatch.fnmatch(file_path.name, p) for p in patterns):
        return None  # the python plugin collects it already (named on the command line, or matched)
    if not _benchmarks_requested(parent.config):
        return None
    return pytest.Module.from_parent(parent, path=file_path)


def pytest_generate_tests(metafunc):
    """Parametrize ``n`` with the sizes up to ``--bench-max-n``.

    Only for benchmarks taking an ``n`` they do not parametrize themselves.
    """
    if "n" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        names = [s.strip() for s in names.split(",")] if isinstance(names, str) else list(names)
        if "n" in names:
            return
    marker = metafunc.definition.get_closest_marker("bench_sizes")
    sizes = marker.args if marker else wl.SIZES
    max_n = metafunc.config.getoption("--bench-max-n")
    chosen = [int(n) for n in sizes if n <= max_n]
    metafunc.parametrize("n", chosen, ids=[f"{n:.0e}".replace("+0", "") for n in chosen])


class _DataCache:
    """Workloads kept across tests (oldest evicted first) while under `limit` bytes."""

    def __init__(self, limit=3 * 2**30):
        self.limit = limit
        self.entries = OrderedDict()

    @staticmethod
    def _nbytes(data):
        return sum(v.nbytes for v in data.values() if hasattr(v, "nbytes"))

    def get(self, kernel, n, n_groups, seed=0):
        key = (kernel, n, n_groups if kernel.startswith("barycenter") else 0, seed)
        if key in self.entries:
            self.entries.move_to_end(key)
            return self.entries[key]
        data = wl.make_workload(kernel, n, n_groups, seed)
        self.entries[key] = data
        while len(self.entries) > 1 and sum(map(self._nbytes, self.entries.values())) > self.limit:
            self.entries.popitem(last=False)
        return data


@pytest.fixture(scope="session")
def workload_cache():
    """Cache of generated data for the whole run (the 1e8-row workload is built once)."""
    cache = _DataCache()
    yield cache
    cache.entries.clear()


@pytest.fixture(scope="session")
def num_threads(request):
    """fairfast's thread count for the whole run (``--bench-threads`` when given)."""
    import fairfast

    threads = request.config.getoption("--bench-threads")
    with fairfast.thread_limit(threads) if threads is not None else contextlib.nullcontext():
        yield fairfast.get_num_threads()


@pytest.fixture(scope="session")
def build_info():
    """Version and build time of the compiled core measured (it may be rebuilt between runs)."""
    import fairfast
    from fairfast import _core

    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(os.path.getmtime(_core.__file__)))
    with open(_core.__file__, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    return {
        "fairfast_version": fairfast.__version__,
        "fairfast_path": str(Path(fairfast.__file__).parent),
        "core_built": stamp,
        "core_sha256": digest,
    }


@pytest.fixture
def bench_run(benchmark, request, workload_cache, num_threads, build_info):
    """``bench_run(kernel, impl, n, n_groups=2)`` times one implementation and checks it.

    Skips peers that are not installed, and slow peers above their size threshold
    unless ``--bench-slow-peers`` (then timed in one round without a warm-up call, the
    result of that round being the one checked).
    """
    config = request.config

    def run(kernel, impl, n, n_groups=2):
        implementation = wl.implementations(kernel)[impl]
        if not implementation.available():
            pytest.skip(f"{impl} is not installed (needs {', '.join(implementation.requires)})")
        slow = n > implementation.slow_above
        if slow and not config.getoption("--bench-slow-peers"):
            pytest.skip(f"{impl} above n={implementation.slow_above:.0e} needs --bench-slow-peers")
        benchmark.group = kernel if not kernel.startswith("barycenter") else f"{kernel}-K{n_groups}"
        data = workload_cache.get(kernel, n, n_groups)
        fn = implementation.prepare(data)
        if slow:
            probe = None
            rounds = 1
            result = benchmark.pedantic(fn, rounds=1, iterations=1)
        else:
            t0 = time.perf_counter()
            result = fn()
            probe = time.perf_counter() - t0
            rounds = wl.choose_rounds(probe, config.getoption("--bench-budget"))
        check = wl.check_agreement(kernel, impl, data, result)
        del result
        if not slow:
            benchmark.pedantic(fn, rounds=rounds, iterations=1)
        benchmark.extra_info.update(
            kernel=kernel,
            impl=impl,
            n=n,
            n_groups=n_groups if kernel.startswith("barycenter") else None,
            n_calib=int(data["z_calib"].shape[0]) if "z_calib" in data else None,
            threads=num_threads,
            cpu_count=os.cpu_count(),
            rounds=rounds,
            probe_seconds=probe,
            check=check,
            note=implementation.note,
            **build_info,
        )

    return run
