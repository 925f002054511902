"""Every model kind, served from its model file, equals the in-memory method bit for bit.

For each of the seven kinds that model files hold, fit in memory, save, then serve a
Parquet file of ``--rows`` rows with ``fairfast transform`` (batch sizes 1e3, 1e5 and
1e6) and with ``fairfast.dask.transform`` (three partitionings), and compare every
output column's bytes with the in-memory method on all rows. Prints one table row per
kind and check (and the seconds each took); exits 1 if any output differs.

Usage (from the repository root; about 3 minutes on 2 cores at 1e6 rows)::

    python benchmarks/serving_equivalence.py --rows 1000000

The test suite runs the same checks on small files (tests/io/test_serving.py).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def _data(n, seed=0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    race = rng.choice(np.array(["a", "b", "c", "d"]), n, p=[0.4, 0.3, 0.2, 0.1])
    sex = rng.integers(0, 2, n).astype(np.int64)
    x = rng.normal(size=(n, 4)) + (race == "a")[:, None] + 0.5 * sex[:, None]
    score = 1 / (1 + np.exp(-(x[:, 0] - x[:, 1])))
    y = (rng.uniform(size=n) < score).astype(np.int64)
    frame = pd.DataFrame({"id": np.arange(n), "score": score, "race": race, "sex": sex, "y": y})
    for j in range(4):
        frame[f"x{j}"] = x[:, j]
    return frame


def _kinds(fit):
    """name -> (fitted model, input keyword and columns, in-memory outputs on the frame)."""
    from fairfast.dafh import DAFHClassifier
    from fairfast.postprocessing import GroupThresholds, WassersteinBarycenter
    from fairfast.steering import LEACE, GaussianSteering, MeanCovarianceMatching, MeanMatching

    features = ["x0", "x1", "x2", "x3"]
    X, sf, s, y = fit[features].to_numpy(), fit[["race", "sex"]], fit["score"].to_numpy(), fit["y"].to_numpy()
    return {
        "WassersteinBarycenter": (WassersteinBarycenter(random_state=0, epsilon=0.1).fit(s, sensitive_features=sf),
                                  ("scores", ["score"])),
        "GroupThresholds": (GroupThresholds(constraint="true_positive_rate_parity", random_state=1)
                            .fit(s, y, sensitive_features=sf), ("scores", ["score"])),
        "GaussianSteering": (GaussianSteering(covariance="shared").fit(X, y, sensitive_features=sf),
                             ("features", features)),
        "MeanMatching": (MeanMatching().fit(X, sensitive_features=sf), ("features", features)),
        "MeanCovarianceMatching": (MeanCovarianceMatching().fit(X, sensitive_features=sf), ("features", features)),
        "LEACE": (LEACE().fit(X, sensitive_features=sf), ("features", features)),
        "DAFHClassifier": (DAFHClassifier(max_epochs=5, random_state=0).fit(X, y), ("features", features)),
    }


def _expected(model, frame, inputs):
    spec = model.serving_spec()
    X = frame[inputs].to_numpy()
    served = model.serve(X, sensitive_features=frame[list(spec.sensitive_names)] if spec.sensitive else None)
    return spec, served


def _columns(spec, inputs):
    for out in spec.outputs:
        if out.per_input:
            for j, col in enumerate(inputs):
                yield out.name, j, f"{col}_fair"
        else:
            yield out.name, None, out.name


def _same(table_or_frame, spec, inputs, served):
    for name, j, col in _columns(spec, inputs):
        got = np.asarray(table_or_frame[col].to_numpy())
        want = served[name] if j is None else served[name][:, j]
        if got.dtype != want.dtype or got.tobytes() != np.ascontiguousarray(want).tobytes():
            return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e6, help="rows of the served file (default 1e6)")
    parser.add_argument("--fit-rows", type=float, default=2e4, help="rows each model is fitted on (default 2e4)")
    args = parser.parse_args(argv)
    import dask
    import dask.dataframe as dd
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = int(args.rows)
    frame = _data(n)
    kinds = _kinds(_data(int(args.fit_rows), seed=1))
    failures = 0
    print("| kind | check | bit-identical | seconds |")
    print("| --- | --- | --- | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "in.parquet")
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), data, row_group_size=1 << 18)
        for name, (model, (kind, inputs)) in kinds.items():
            path = os.path.join(tmp, f"{name}.ffm")
            model.save(path)
            spec, served = _expected(model, frame, inputs)
            checks = []
            for batch in (10**3, 10**5, 10**6):
                out = os.path.join(tmp, "out.parquet")
                t0 = time.perf_counter()
                result = subprocess.run([sys.executable, "-m", "fairfast", "transform", "--model", path, "--data",
                                         data, "--out", out, f"--{kind}", ",".join(inputs), "--batch-size",
                                         str(batch), "--quiet"], capture_output=True, text=True)
                seconds = time.perf_counter() - t0
                ok = result.returncode == 0 and _same(pq.read_table(out), spec, inputs, served)
                checks.append((f"fairfast transform --batch-size {batch:.0e}", ok, seconds, result.stderr))
            for parts in (3, 17, 64):
                t0 = time.perf_counter()
                with dask.config.set(scheduler="threads"):
                    got = fairfast_dask().transform(model, dd.from_pandas(frame, npartitions=parts),
                                                    **{kind: inputs}).compute()
                checks.append((f"fairfast.dask.transform, {parts} partitions", _same(got, spec, inputs, served),
                               time.perf_counter() - t0, ""))
            for check, ok, seconds, err in checks:
                failures += not ok
                print(f"| {name} | {check} | {'yes' if ok else 'NO'} | {seconds:.2f} |")
                if err and not ok:
                    print(err, file=sys.stderr)
    return 1 if failures else 0


def fairfast_dask():
    import fairfast.dask

    return fairfast.dask


if __name__ == "__main__":
    sys.exit(main())
