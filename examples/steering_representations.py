"""Steering learned representations of Adult: a Bios-like occupation task and the income task.

Offline, on real data: a scikit-learn MLP (one tanh hidden layer of 64 units) learns a
representation of Adult rows from one third of the data, trained to predict the
occupation and the income together (a multi-label output); its hidden layer is the
representation of the other rows, as a language model's last layer is in the Bios
experiments. Inputs: age, education, hours, capital gain and loss, work class,
marital status, relationship, race, sex and country -- not the occupation nor the
income, which the representation must encode.

Two tasks are then predicted from the representation by a logistic-regression probe
(trained on one third, scored on the last), with sex as the group:

* **occupation** (13 classes: Adult's 14 occupations without Armed-Forces, which has
  15 rows and no women): accuracy and the per-class TPR gap between women and men,
  its root mean square and maximum over the classes (the Bios measure);
* **income** (> 50K): accuracy, demographic-parity and equal-opportunity gaps, and the
  per-class TPR-gap RMS.

Methods: no intervention; label-free baselines fitted on the probe's training rows
and applied to both splits -- mean matching, MiMiC (mean+covariance matching), LEACE
and, when installed, concept-erasure's LEACE; and ``GaussianSteering`` in every
deployment mode (``fairfast.steering.deployment_views``): the probe is trained on
the steered, reweighted training rows and applied to test rows moved by the
label-free mixture map (b), the soft map with the Gaussian posterior or with a
logistic classifier's posterior (c), or left raw (a, preprocessing); the oracle (test
rows moved with their true labels) comes last, as an evaluation reference only.

Every seed draws a new split and a new MLP; the table shows the mean over seeds and
a 95% t-interval half-width.

Run (about a minute per seed, one thread)::

    python examples/steering_representations.py --seeds 10 > table.md
"""

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

METHODS = (
    "none",
    "mean matching",
    "MiMiC (mean+cov)",
    "LEACE",
    "LEACE (concept-erasure)",
    "EF steering (b) label-free",
    "EF steering (c) soft, Gaussian posterior",
    "EF steering (c) soft, logistic posterior",
    "EF steering (a) preprocessing",
    "EF steering, oracle test labels (evaluation only)",
)
COLUMNS = {
    "occupation": ("accuracy", "tpr_gap_rms", "tpr_gap_max"),
    "income": ("accuracy", "dp_gap", "eo_gap", "tpr_gap_rms"),
}


def load_rows(rows=None, occupations=13, seed=0):
    """Adult rows with an occupation (Armed-Forces dropped): inputs, labels, sex.

    ``occupations`` keeps the most frequent ones; ``rows`` draws a random subset.
    """
    import pandas as pd

    from fairfast.datasets import load_adult

    frame = load_adult().frame
    frame = frame[frame["occupation"].notna() & (frame["occupation"] != "Armed-Forces")]
    keep = frame["occupation"].astype(str).value_counts().index[:occupations]
    frame = frame[frame["occupation"].astype(str).isin(keep)].reset_index(drop=True)
    if rows is not None and rows < len(frame):
        pick = np.sort(np.random.default_rng(seed).choice(len(frame), rows, replace=False))
        frame = frame.iloc[pick].reset_index(drop=True)
    numeric = np.c_[frame["age"], frame["education_num"], frame["hours_per_week"],
                    np.log1p(frame["capital_gain"]), np.log1p(frame["capital_loss"])].astype(np.float64)
    columns = ["workclass", "education", "marital_status", "relationship", "race", "sex", "native_country"]
    onehot = pd.get_dummies(frame[columns].astype(object).fillna("missing")).to_numpy(np.float64)
    return dict(numeric=numeric, onehot=onehot, occupation=frame["occupation"].astype(str).to_numpy(),
                income=frame["income_over_50k"].to_numpy(), sex=frame["sex"].astype(str).to_numpy())


def split(data, seed):
    """Three stratified thirds (by occupation and sex): representation, train, test."""
    from sklearn.model_selection import train_test_split

    strata = np.char.add(data["occupation"].astype(str), data["sex"].astype(str))
    idx = np.arange(len(strata))
    rep, rest = train_test_split(idx, test_size=2 / 3, random_state=seed, stratify=strata)
    train, test = train_test_split(rest, test_size=0.5, random_state=seed, stratify=strata[rest])
    return rep, train, test


def learn_representation(data, rows, seed, hidden=64, epochs=20):
    """Fit the MLP on `rows`; return the function mapping row indices to hidden activations."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    mean, sd = data["numeric"][rows].mean(axis=0), data["numeric"][rows].std(axis=0) + 1e-12
    inputs = np.c_[(data["numeric"] - mean) / sd, data["onehot"]]
    classes = np.unique(data["occupation"])
    targets = np.c_[(data["occupation"][:, None] == classes[None]).astype(int), data["income"]]
    mlp = MLPClassifier(hidden_layer_sizes=(hidden,), activation="tanh", alpha=1e-3, batch_size=256,
                        max_iter=epochs, random_state=seed)
    with warnings.catch_warnings():  # a fixed budget of epochs, by design
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(inputs[rows], targets[rows])
    return np.tanh(inputs @ mlp.coefs_[0] + mlp.intercepts_[0])


def _probe(X, y, weight=None, seed=0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    return model.fit(X, y, logisticregression__sample_weight=weight)


def score(task, y, pred, sex):
    """The task's columns (see COLUMNS) for predictions `pred` of labels `y`."""
    from fairfast.metrics import MulticlassReport, demographic_parity_difference

    report = MulticlassReport(y, pred, sensitive_features=sex)
    out = dict(accuracy=report.accuracy, tpr_gap_rms=report.tpr_gap_rms, tpr_gap_max=report.tpr_gap_max)
    if task == "income":
        out["dp_gap"] = demographic_parity_difference(y, pred, sensitive_features=sex)
        out["eo_gap"] = float(report.tpr_gap[1])
    return {k: float(out[k]) for k in COLUMNS[task]}


def _concept_erasure(R, sex, train):
    try:
        with warnings.catch_warnings():  # its import uses the deprecated torch.jit.script
            warnings.simplefilter("ignore", DeprecationWarning)
            import torch
            from concept_erasure import LeaceFitter
    except ImportError:
        return None
    z = (sex == sex[train][0]).astype(np.float64)[:, None]
    eraser = LeaceFitter.fit(torch.from_numpy(R[train]), torch.from_numpy(z[train])).eraser
    with torch.no_grad():
        return eraser(torch.from_numpy(R)).numpy()


def run_task(task, R, data, train, test, seed):
    """Scores of every method on one task (a dict method -> columns)."""
    from fairfast.steering import LEACE, GaussianSteering, MeanCovarianceMatching, MeanMatching, deployment_views

    y, sex = data[task], data["sex"]
    out = {}

    def fit_and_score(name, Xtr, Xte, weight=None):
        out[name] = score(task, y[test], _probe(Xtr, y[train], weight, seed).predict(Xte), sex[test])

    fit_and_score("none", R[train], R[test])
    for name, est in (("mean matching", MeanMatching()), ("MiMiC (mean+cov)", MeanCovarianceMatching()),
                      ("LEACE", LEACE(shrinkage="oas"))):
        est.fit(R[train], sensitive_features=sex[train])
        fit_and_score(name, est.transform(R[train], sensitive_features=sex[train]),
                      est.transform(R[test], sensitive_features=sex[test]))
    erased = _concept_erasure(R, sex, train)
    if erased is not None:
        fit_and_score("LEACE (concept-erasure)", erased[train], erased[test])
    steering = GaussianSteering(covariance="shared", coupling="ot", reference="auto")
    steering.fit(R[train], y[train], sensitive_features=sex[train])
    views = deployment_views(steering, R[train], y[train], R[test], sensitive_train=sex[train],
                             sensitive_test=sex[test], y_test=y[test])
    probe = _probe(views["label_free"].train, y[train], views["label_free"].sample_weight, seed)
    groups = np.unique(sex)
    with_group = np.c_[R, (sex[:, None] == groups[None]).astype(np.float64)]
    posterior = _probe(with_group[train], y[train], seed=seed).predict_proba(with_group[test])
    tests = {
        "EF steering (b) label-free": views["label_free"].test,
        "EF steering (c) soft, Gaussian posterior": views["soft"].test,
        "EF steering (c) soft, logistic posterior": steering.soft_transform(R[test], posterior,
                                                                             sensitive_features=sex[test]),
        "EF steering (a) preprocessing": views["preprocessing"].test,
        "EF steering, oracle test labels (evaluation only)": views["oracle"].test,
    }
    for name, Xte in tests.items():
        out[name] = score(task, y[test], probe.predict(Xte), sex[test])
    return out, dict(reference=steering.reference_, kl=steering.kl_)


def run_seed(seed, data, hidden=64, epochs=20):
    rep, train, test = split(data, seed)
    R = learn_representation(data, rep, seed, hidden, epochs)
    results, info = {}, {}
    for task in COLUMNS:
        results[task], info[task] = run_task(task, R, data, train, test, seed)
    return results, info


def summarise(per_seed):
    """{task: {method: {column: (mean, t-interval half-width)}}} over the seeds."""
    from scipy import stats

    out = {}
    for task, cols in COLUMNS.items():
        out[task] = {}
        for method in METHODS:
            runs = [r[task][method] for r in per_seed if method in r[task]]
            if not runs:
                continue
            k = len(runs)
            t = stats.t.ppf(0.975, k - 1) if k > 1 else np.nan
            out[task][method] = {c: (float(np.mean([r[c] for r in runs])),
                                     float(t * np.std([r[c] for r in runs], ddof=1) / np.sqrt(k)) if k > 1 else np.nan)
                                 for c in cols}
    return out


def markdown(summary, n_seeds):
    titles = dict(accuracy="accuracy", tpr_gap_rms="TPR-gap RMS", tpr_gap_max="TPR-gap max", dp_gap="DP gap",
                  eo_gap="EO gap")
    lines = []
    for task, rows in summary.items():
        cols = COLUMNS[task]
        lines.append(f"**{task}** (mean ± 95% half-width over {n_seeds} seeds)\n")
        lines.append("| method | " + " | ".join(titles[c] for c in cols) + " |")
        lines.append("| --- |" + " ---: |" * len(cols))
        for method, vals in rows.items():
            lines.append(f"| {method} | " + " | ".join(f"{m:.3f} ± {h:.3f}" for m, h in (vals[c] for c in cols)) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rows", type=int, default=None, help="random subset of the rows (default: all)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads (default 1: the probes' small products gain nothing from more)")
    args = parser.parse_args(argv)
    data = load_rows(args.rows)
    per_seed = []
    start = time.perf_counter()
    for seed in range(args.seeds):
        with threadpool_limits(args.threads):
            results, info = run_seed(seed, data, epochs=args.epochs)
        per_seed.append(results)
        print(f"<!-- seed {seed}: {time.perf_counter() - start:.0f} s, reference group "
              f"{info['occupation']['reference']!r} / {info['income']['reference']!r} -->", flush=True)
    print(markdown(summarise(per_seed), args.seeds))


if __name__ == "__main__":
    main()
