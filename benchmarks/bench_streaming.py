"""Benchmark of the streamed Parquet transform against the Parquet I/O limit.

- ``streaming-parquet`` / ``pyarrow``: a plain pyarrow read-and-write of the same file,
  batch by batch (``ParquetFile(pre_buffer=False).iter_batches`` ->
  ``ParquetWriter.write_batch``; with pyarrow's default ``pre_buffer=True`` the chunks
  read stay cached and memory grows with the file, to about 1 GB at 1e8 rows), adding
  a copy of the score column so that the output has the same columns and size as the
  transform's, with the same writer options (pyarrow's defaults, but no dictionary
  encoding of the added column): the I/O limit.
- ``streaming-parquet`` / ``fairfast``: ``fairfast.io.transform_file`` (what
  ``fairfast transform`` runs) with a model fitted on 1e5 calibration rows, same batch
  size.

The input is a synthetic Parquet file of one float64 score and one int32 group column
(two groups), written in streamed batches of 1e6 rows (row groups of 1e6 rows) to a
temporary directory and deleted at the end of the run. Each implementation runs in a
fresh Python process; ``extra_info`` records its own time (without interpreter start
and, for fairfast, without loading the model file, which imports scikit-learn: that is
``startup_seconds``), rows/s and peak resident memory (``ru_maxrss``), and for fairfast the throughput ratio
to the pyarrow baseline measured in the same run (acceptance: >= 0.5 at 1e8 rows, peak
memory < 1 GiB). Each size is timed in one round.

Usage (from the repository root)::

    python -m pytest benchmarks/bench_streaming.py --bench-max-n=1e8 -o python_files='bench_*.py' \\
        --benchmark-only --benchmark-json=streaming.json

(about 1.3 GB of input and 2 GB of output on disk at 1e8 rows; 1 to 3 minutes).
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

BATCH = 1 << 20
_RESULTS = {}

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    impl, src, dst, model, batch = sys.argv[1:6]
    batch = int(batch)
    t0 = time.perf_counter()
    if impl == "fairfast":  # loading the model imports scikit-learn: timed apart, as startup
        from fairfast.io import load, transform_file
        model = load(model)
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    if impl == "fairfast":
        rows = transform_file(model, src, dst, scores="score", sensitive="group", batch_size=batch,
                              progress=False)
    else:
        import pyarrow.parquet as pq
        from fairfast.io._streaming import parquet_writer
        f = pq.ParquetFile(src, pre_buffer=False)
        writer = None
        rows = 0
        for b in f.iter_batches(batch_size=batch):
            b = b.append_column("score_fair", b.column(0))
            if writer is None:
                writer = parquet_writer(dst, b.schema, written=["score_fair"])
            writer.write_batch(b)
            rows += b.num_rows
        writer.close()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "startup_seconds": startup, "peak_rss_bytes": peak}))
    """
)


def _write_input(path, n, seed=0):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    schema = pa.schema([("score", pa.float64()), ("group", pa.int32())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, 10**6):
            m = min(10**6, n - start)
            g = (rng.random(m) < 0.3).astype(np.int32)
            z = rng.normal(size=m) + 0.5 * g
            writer.write_batch(pa.record_batch([z, g], schema=schema))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from fairfast.io import save
    from fairfast.postprocessing import WassersteinBarycenter

    d = tmp_path_factory.mktemp("streaming")
    rng = np.random.default_rng(1)
    g = (rng.random(10**5) < 0.3).astype(np.int32)
    model = WassersteinBarycenter(random_state=0).fit(rng.normal(size=10**5) + 0.5 * g, sensitive_features=g)
    save(model, d / "model.ffm")
    yield d, model
    for p in d.iterdir():
        p.unlink()
    d.rmdir()


@pytest.fixture(scope="module")
def inputs(workdir):
    made = {}

    def get(n):
        if n not in made:
            for old in made.values():  # one input on disk at a time
                old.unlink()
            made.clear()
            made[n] = workdir[0] / f"in_{n}.parquet"
            _write_input(made[n], n)
        return made[n]

    return get


@pytest.mark.bench_sizes(10**6, 10**7, 10**8)
@pytest.mark.parametrize("impl", ["pyarrow", "fairfast"])
def test_streamed_transform(benchmark, workdir, inputs, impl, n):
    import pyarrow.parquet as pq

    import fairfast

    d, model = workdir
    src = inputs(n)
    dst = d / f"out_{impl}_{n}.parquet"
    benchmark.group = "streaming-parquet"

    def run():
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, impl, str(src), str(dst), str(d / "model.ffm"), str(BATCH)],
            capture_output=True, text=True, check=True,
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])

    info = benchmark.pedantic(run, rounds=1, iterations=1)
    # agreement: the transformed column of a sample of row groups equals the in-memory transform
    f = pq.ParquetFile(dst)
    assert f.metadata.num_rows == n == info["rows"]
    checked = 0
    for rg in sorted({0, f.num_row_groups // 2, f.num_row_groups - 1}):
        start = sum(f.metadata.row_group(i).num_rows for i in range(rg))
        t = f.read_row_group(rg)
        expected = (
            model.transform(t["score"].to_numpy(), sensitive_features=t["group"].to_numpy(), row_offset=start)
            if impl == "fairfast" else t["score"].to_numpy()
        )
        np.testing.assert_array_equal(t["score_fair"].to_numpy(), expected)
        checked += t.num_rows
    f.close()
    in_bytes = os.path.getsize(src)
    out_bytes = os.path.getsize(dst)
    dst.unlink()
    rate = n / info["seconds"]
    _RESULTS[(impl, n)] = rate
    extra = {
        "impl": impl,
        "n": n,
        "batch_size": BATCH,
        "seconds_in_process": info["seconds"],
        "startup_seconds": info["startup_seconds"],
        "rows_per_second": rate,
        "peak_rss_mib": info["peak_rss_bytes"] / 2**20,
        "input_mib": in_bytes / 2**20,
        "output_mib": out_bytes / 2**20,
        "rows_checked": checked,
        "threads": fairfast.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }
    if impl == "fairfast" and ("pyarrow", n) in _RESULTS:
        extra["throughput_ratio_to_pyarrow"] = rate / _RESULTS[("pyarrow", n)]
    benchmark.extra_info.update(extra)
    print(f"\n{impl} n={n:.0e}: {info['seconds']:.2f} s, {rate / 1e6:.1f} M rows/s, "
          f"peak RSS {extra['peak_rss_mib']:.0f} MiB"
          + (f", ratio to pyarrow {extra['throughput_ratio_to_pyarrow']:.2f}"
             if "throughput_ratio_to_pyarrow" in extra else ""))
