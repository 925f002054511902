"""GroupThresholds with many tiny groups: time and peak memory for every constraint.

Each constraint runs in a fresh process (so its peak resident memory is its own) on
10,000 groups of 4 rows (every group with a positive and a negative label): encoding,
curves, search, summary. Threads follow ``--threads`` (default 2).

Run: ``python benchmarks/bench_thresholds_scale.py [--groups 10000] [--rows 4] [--threads 2]``
(``tests/postprocessing/test_thresholds_modes.py::test_many_small_groups`` is the light
variant in the test suite: 2,000 groups, no timing).
"""

import argparse
import json
import os
import subprocess
import sys

CASES = [
    ("demographic_parity", {}), ("demographic_parity", {"tolerance": 0.1}), ("equal_opportunity", {}),
    ("false_positive_rate_parity", {}), ("equalized_odds", {}), ("equalized_odds", {"tolerance": 0.1}),
    ("equalized_odds", {"mode": "mixing"}), ("predictive_parity", {"tolerance": 1.0}),
    ("negative_predictive_value_parity", {"tolerance": 1.0}), ("accuracy_parity", {"tolerance": 0.5}),
    ([["selection_rate", "ratio", 0.8]], {}), ([["recall", "minimum", 0.5]], {}),
    ([["selection_rate", "difference", 0.1], ["recall", "minimum", 0.5]], {}),
]

CHILD = r"""
import json, resource, sys, time
import numpy as np
import fairfast
from fairfast.postprocessing import GroupThresholds
G, rows, constraint, params = json.loads(sys.argv[1])
if isinstance(constraint, list):
    constraint = [tuple(c) for c in constraint]
rng = np.random.default_rng(0)
a = np.repeat(np.arange(G), rows)
s = rng.uniform(size=a.size)
y = (rng.uniform(size=a.size) < 0.3).astype(int)
y[::rows] = 1
y[1::rows] = 0
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
gt = GroupThresholds(constraint=constraint, **params).fit(s, y, sensitive_features=a)
sec = time.perf_counter() - t0
print(json.dumps({"seconds": sec, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "import_mb": base / 1024, "solver": gt.solver_, "met": bool(gt.constraints_["met"].all()),
                  "gap": gt.optimality_gap_}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    print(f"{args.groups} groups x {args.rows} rows, {args.threads} threads\n")
    print("| constraint | params | solver | seconds | peak MB (process) | constraints met |")
    print("| --- | --- | --- | --- | --- | --- |")
    for constraint, params in CASES:
        out = subprocess.run([sys.executable, "-c", CHILD, json.dumps([args.groups, args.rows, constraint, params])],
                             capture_output=True, text=True, env=env)
        if out.returncode:
            line = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"
            print(f"| {constraint} | {params} | refused | - | - | {line} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {constraint} | {params} | {r['solver']} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | {r['met']} |")


if __name__ == "__main__":
    main()
