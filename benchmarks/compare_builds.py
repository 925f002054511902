"""The barycenter's large workloads on two builds of fairfast, interleaved in one run.

Measures, in fresh child processes alternating between the builds (so that a noisy
machine slows both alike):

- ``fit+transform``: fit on 1e7 rows and transform the same 1e7 rows (K = 2);
- ``transform 1e8``: transform 1e8 rows with a model fitted on 1e5 rows (K = 2).

The "old" build is any installed copy of fairfast on a directory put first on
``sys.path``, e.g. a commit built with
``git archive COMMIT | tar -x -C /tmp/old && pip install --no-deps --target /tmp/old-site /tmp/old``.

Usage (from the repository root)::

    python benchmarks/compare_builds.py --old-site /tmp/old-site [--rounds 5] [--skip-1e8]

Prints min and median seconds of each build and the ratio new / old (below 1: faster).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, os, sys, time
old = os.environ.get("FAIRFAST_OLD_SITE")
if old:  # the old build first, before an editable install's import hook of the new one
    sys.meta_path[:] = [f for f in sys.meta_path if "ScikitBuild" not in type(f).__name__]
    sys.path.insert(0, old)
import numpy as np
import fairfast
from fairfast.postprocessing import WassersteinBarycenter

def data(n, seed):
    rng = np.random.default_rng(seed)
    codes = (rng.random(n) < 1 / 3).astype(np.int32)
    return rng.normal(size=n) + codes, codes

which = sys.argv[1]
if which == "fit+transform":
    z, s = data(10**7, 0)
    t = time.perf_counter()
    WassersteinBarycenter(random_state=0).fit(z, sensitive_features=s).transform(z, sensitive_features=s)
else:
    zc, sc = data(10**5, 1)
    model = WassersteinBarycenter(random_state=0).fit(zc, sensitive_features=sc)
    z, s = data(10**8, 2)
    model.transform(z[:1000], sensitive_features=s[:1000])
    t = time.perf_counter()
    model.transform(z, sensitive_features=s)
print(json.dumps({"seconds": time.perf_counter() - t, "file": fairfast.__file__}))
"""


def _child(workload, old_site):
    env = dict(os.environ)
    env.pop("FAIRFAST_OLD_SITE", None)
    if old_site:
        env["FAIRFAST_OLD_SITE"] = os.path.abspath(old_site)
    out = subprocess.run([sys.executable, "-c", CHILD, workload], capture_output=True, text=True, env=env,
                         cwd=os.path.dirname(os.path.abspath(__file__)), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-site", required=True, help="directory holding the old build's fairfast package")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-1e8", action="store_true", help="only the 1e7 fit+transform")
    args = parser.parse_args(argv)
    workloads = ["fit+transform"] + ([] if args.skip_1e8 else ["transform 1e8"])
    times = {(w, b): [] for w in workloads for b in ("old", "new")}
    for r in range(args.rounds):
        for w in workloads:
            for b in (("old", "new") if r % 2 == 0 else ("new", "old")):
                res = _child(w, args.old_site if b == "old" else None)
                if r == 0:
                    print(f"# {w} {b}: {res['file']}", file=sys.stderr)
                times[w, b].append(res["seconds"])
    print("| workload | old min | old median | new min | new median | new/old (min) | new/old (median) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for w in workloads:
        o, n = times[w, "old"], times[w, "new"]
        print(f"| {w} | {min(o):.3f} | {statistics.median(o):.3f} | {min(n):.3f} | {statistics.median(n):.3f} "
              f"| {min(n) / min(o):.3f} | {statistics.median(n) / statistics.median(o):.3f} |")


if __name__ == "__main__":
    main()
