"""Write the barycenter model files kept under tests/artifacts/ and their expected outputs.

These files were written by fairfast at commit b1593c8 (before the fitted barycenter
became one compiled object per stage); ``tests/postprocessing/test_artifacts.py`` loads
them with the current code and checks its transforms against the stored outputs bit
for bit. Re-run only to add a model written by a *past* release, never to refresh
these ones::

    python tests/artifacts/make_barycenter_models.py   # with fairfast at that release
"""

from pathlib import Path

import numpy as np

from fairfast.postprocessing import WassersteinBarycenter

HERE = Path(__file__).resolve().parent


def _data(seed, n, n_tasks=None, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    b = rng.choice(np.array(["x", "y"]), n)
    shape = (n,) if n_tasks is None else (n, n_tasks)
    z = rng.normal(a[:, None] if n_tasks else a, 1.0, size=shape) + (b == "x").reshape((-1,) + (1,) * (len(shape) - 1))
    z = np.round(z, 1).astype(dtype)  # ties
    return z, a, b


def models():
    z, a, b = _data(0, 900)
    yield "single", WassersteinBarycenter(epsilon=0.25, random_state=1), (z, a), {}
    z, a, b = _data(1, 700, n_tasks=3)
    yield "multitask", WassersteinBarycenter(interpolation="linear", random_state=2), (z, a), {}
    z, a, b = _data(2, 800)
    rare = np.where(np.arange(800) < 12, "rare", b)  # a small joint group, merged into "<other>"
    sf = np.column_stack([a.astype(str), rare])
    yield "intersectional", WassersteinBarycenter(merge_small_groups=True, random_state=3), (z, sf), {}
    z, a, b = _data(3, 800)
    sf = np.column_stack([a, (b == "x").astype(int)])
    yield "sequential", WassersteinBarycenter(strategy="sequential", epsilon=[[0.1], [0.0]], random_state=4), (z, sf), {}
    yield "conditional", WassersteinBarycenter(strategy="conditional", random_state=5), (z, sf), {}
    z, a, b = _data(4, 600, dtype=np.float32)
    w = np.random.default_rng(5).uniform(0.5, 2.0, 600)
    yield "float32_weighted", WassersteinBarycenter(jitter=1e-3, random_state=6), (z, a), {"sample_weight": w}


def main():
    expected = {}
    for name, model, (z, sf), fit_kwargs in models():
        model.fit(z, sensitive_features=sf, **fit_kwargs)
        model.save(HERE / f"barycenter_{name}.ffm")
        rng = np.random.default_rng(100)
        q = rng.integers(0, len(z), 400)
        zq = z[q] + (rng.normal(0, 0.05, size=z[q].shape) * (rng.random(z[q].shape) < 0.5)).astype(z.dtype)
        expected[f"{name}.z"] = zq
        expected[f"{name}.sf"] = sf[q]
        expected[f"{name}.out"] = model.transform(zq, sensitive_features=sf[q], row_offset=17)
    np.savez_compressed(HERE / "barycenter_expected.npz", **expected)


if __name__ == "__main__":
    main()
