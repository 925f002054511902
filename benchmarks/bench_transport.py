"""Benchmarks of the 1-D transport distances: W1, W2 and KS between two samples of n rows.

One pytest-benchmark group per kernel (``w1``, ``w2``, ``ks``), parametrized by the
implementation (fairfast and the installed peers: numpy references, SciPy, POT) and the
size ``n`` of each sample (1e4 ... ``--bench-max-n``). Every result is checked against a
second implementation outside the timed calls.

Usage (from the repository root)::

    python -m pytest benchmarks/bench_transport.py --benchmark-group-by=group,param:n
    python -m pytest benchmarks/bench_transport.py --bench-max-n=1e7 --benchmark-json=transport.json
    python benchmarks/report.py transport.json

Acceptance (reported by report.py, never asserted): at 1e7 rows per sample, W1 and W2
at least 10x faster than SciPy and POT, KS at least 5x faster than
``scipy.stats.ks_2samp``.
"""

import pytest

import workloads as wl


@pytest.mark.parametrize("impl", list(wl.implementations("w1")))
def test_w1(bench_run, impl, n):
    bench_run("w1", impl, n)


@pytest.mark.parametrize("impl", list(wl.implementations("w2")))
def test_w2(bench_run, impl, n):
    bench_run("w2", impl, n)


@pytest.mark.parametrize("impl", list(wl.implementations("ks")))
def test_ks(bench_run, impl, n):
    bench_run("ks", impl, n)
