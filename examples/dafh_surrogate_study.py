"""Surrogate correlation study of DAFH: does the objective move with fairness without harm?

For every dataset, objective variant, setting and seed, a DAFH classifier is trained
for a fixed number of epochs (no early stop) on the 85% fit part of the same
stratified 70/15/15 split as ``examples/dafh_reproduction.py``; after every epoch
:func:`fairfast.dafh._trace.trace_fit` records, on the training rows and on the
validation rows DAFH holds out, the objective and its terms and every
fairness-without-harm estimator ((a) individual, (b) pairwise, (c) group share,
bootstrap probability), the accuracy and which rows and constraints fail.

Two objective variants: ``paper``, the reconstruction of the paper's objective as
this package shipped it before the study (envy_weight = 1, gamma = 1), and
``shipped``, what ships now (envy_weight = 0, gamma = 4); both with lam = 1,
learning_rate_group = 1e-3, learning_rate_model = 1e-2, K = 2. Around each, one
factor at a time::

    lam in {0, 0.1, 1, 10, 100}, gamma in {1, 4, 16},
    learning_rate_group in {1e-4, 1e-3, 1e-2}, learning_rate_model in {1e-3, 1e-2, 1e-1},
    K in {2, 3, 4}

plus the shipped variant with the envy weight put back to 0.25, 0.5 and 1 (dose
response).

Outputs (in ``--out``): ``records.csv`` (one row per run, epoch and part; reruns
skip the runs already there), ``correlations.csv`` (per run: Spearman rank
correlation over epochs 1..E between the objective on the training rows and every
statistic on each part) and ``study.md`` (the tables of ``docs/dafh.md``); the plot
goes to ``--plot``.

Usage::

    python examples/dafh_surrogate_study.py                      # full study, ~1 h on 2 cores
    python examples/dafh_surrogate_study.py --datasets german --seeds 1 --epochs 5 --grid base
"""

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dafh_reproduction import DATASETS, load  # noqa: E402

from fairfast.dafh import DAFHClassifier  # noqa: E402
from fairfast.dafh._trace import STATISTICS, trace_fit  # noqa: E402

COMMON = {"lam": 1.0, "learning_rate_group": 1e-3, "learning_rate_model": 1e-2, "n_groups": 2}
FACTORS = {
    "lam": [0.0, 0.1, 1.0, 10.0, 100.0],
    "gamma": [1.0, 4.0, 16.0],
    "learning_rate_group": [1e-4, 1e-3, 1e-2],
    "learning_rate_model": [1e-3, 1e-2, 1e-1],
    "n_groups": [2, 3, 4],
}
#: the reconstruction of the paper's objective (as shipped before this study) and what ships now
VARIANTS = {
    "paper": {**COMMON, "gamma": 1.0, "envy_weight": 1.0, "init": "random"},
    "shipped": {**COMMON, "gamma": 4.0, "envy_weight": 0.0, "init": "random"},
    "warm": {**COMMON, "gamma": 4.0, "envy_weight": 0.0, "init": "kmeans"},  # ships since the warm start
}
DOSE = [0.25, 0.5, 1.0]
ESTIMATORS = ["individual", "pairwise", "group_share", "bootstrap"]
LABELS = {"individual": "(a) individual", "pairwise": "(b) pairwise", "group_share": "(c) group share",
          "bootstrap": "bootstrap prob.", "accuracy": "accuracy"}


def runs(grid, variants=None):
    """(variant, factor, value, params) of every run of the grid ("full" or "base")."""
    out = []
    for variant, base in VARIANTS.items():
        if variants is not None and variant not in variants:
            continue
        out.append((variant, "base", "", base))
        if grid == "full":
            for factor, values in (FACTORS.items() if variant != "warm" else ()):
                for value in values:
                    if value != base[factor]:
                        out.append((variant, factor, value, {**base, factor: value}))
    if grid == "full" and (variants is None or "shipped" in variants):
        for envy in DOSE:
            out.append((f"shipped_envy_{envy}", "base", "", {**VARIANTS["shipped"], "envy_weight": envy}))
    return out


def run_one(X, y, seed, params, epochs, n_replicates):
    idx = np.arange(y.shape[0])
    fit_idx, _ = train_test_split(idx, test_size=0.15, stratify=y, random_state=seed)
    clf = DAFHClassifier(validation_fraction=0.15 / 0.85, max_epochs=epochs, n_iter_no_change=epochs + 1,
                         random_state=seed, **params)
    return trace_fit(clf, X[fit_idx], y[fit_idx], n_replicates=n_replicates, random_state=seed)


def spearman(a, b):
    """Spearman rank correlation (average ranks for ties); NaN when either is constant."""
    ra = pd.Series(a).rank().to_numpy()
    rb = pd.Series(b).rank().to_numpy()
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def correlations(records):
    """Per run: rank correlation over epochs >= 1 of the training objective with every statistic."""
    keys = ["dataset", "variant", "factor", "value", "seed"]
    rows = []
    for key, run in records[records.epoch >= 1].groupby(keys, sort=False, dropna=False):
        train = run[run.part == "train"].sort_values("epoch")
        objective = train.objective.to_numpy()
        for part, part_rows in run.groupby("part"):
            part_rows = part_rows.sort_values("epoch")
            row = dict(zip(keys, key), part=part)
            for stat in STATISTICS:
                row[stat] = spearman(objective, part_rows[stat].to_numpy())
            rows.append(row)
    return pd.DataFrame(rows)


def _fmt(values, digits=2):
    """Mean ± sd over seeds; "(k of n)" when the statistic was constant over the epochs of some seeds."""
    values = pd.Series(values, dtype=float)
    defined = values.dropna()
    if defined.empty:
        return "n/a"
    text = f"{defined.mean():+.{digits}f}"
    if defined.size > 1:
        text += f" ± {defined.std(ddof=0):.{digits}f}"
    if defined.size < values.size:
        text += f" ({defined.size} of {values.size})"
    return text


def tables(records, corr):
    """The markdown tables of the study."""
    lines = []
    seeds = records.seed.nunique()
    epochs = int(records.epoch.max())
    base = corr[corr.factor == "base"]
    lines.append(f"\n#### Rank correlation of the objective with each estimator (defaults, {seeds} seeds, "
                 f"epochs 1-{epochs})\n")
    lines.append("Spearman correlation over epochs between the objective on the training rows and each statistic "
                 "on the training / validation rows; mean ± sd over seeds (\"k of n\": the statistic did not "
                 "change over the epochs of the other seeds, no correlation).\n")
    lines.append("| data set | objective | " + " | ".join(LABELS[e] for e in [*ESTIMATORS, "accuracy"]) + " |")
    lines.append("|---|---|" + "---|" * (len(ESTIMATORS) + 1))
    for (dataset, variant), part in base.groupby(["dataset", "variant"], sort=False):
        cells = []
        for stat in [*ESTIMATORS, "accuracy"]:
            tr = part[part.part == "train"][stat]
            va = part[part.part == "validation"][stat]
            cells.append(f"{_fmt(tr)} / {_fmt(va)}")
        lines.append(f"| {dataset} | {variant} | " + " | ".join(cells) + " |")

    # what changed between the first and the last epoch, which term, which rows
    lines.append(f"\n#### Terms and rows: epoch 1 → epoch {epochs} (defaults, validation rows; objective terms on the "
                 "training rows; mean over seeds)\n")
    cols = ["envy_term", "assignment_term", "objective", "individual", "bootstrap", "accuracy", "agreement",
            "envy_rows", "irrational_rows", "rationality_margin", "envy_margin"]
    lines.append("| data set | objective | " + " | ".join(cols) + " |")
    lines.append("|---|---|" + "---|" * len(cols))
    b = records[(records.factor == "base")]
    for (dataset, variant), part in b.groupby(["dataset", "variant"], sort=False):
        cells = []
        for c in cols:
            side = "train" if c in ("envy_term", "assignment_term", "objective") else "validation"
            p = part[part.part == side]
            first = p[p.epoch == 1][c].mean()
            last = p[p.epoch == epochs][c].mean()
            cells.append(f"{first:.3f} → {last:.3f}")
        lines.append(f"| {dataset} | {variant} | " + " | ".join(cells) + " |")

    # the same statistics on the training and the validation rows: where they part, it is overfitting
    lines.append(f"\n#### Training rows against validation rows: epoch 1 → epoch {epochs} (defaults, mean over "
                 "seeds)\n")
    cols = ["bootstrap", "accuracy", "rationality_margin", "envy_margin"]
    lines.append("| data set | objective | " + " | ".join(f"{c} train | {c} validation" for c in cols) + " |")
    lines.append("|---|---|" + "---|---|" * len(cols))
    for (dataset, variant), part in b.groupby(["dataset", "variant"], sort=False):
        cells = []
        for c in cols:
            for side in ("train", "validation"):
                p = part[part.part == side]
                cells.append(f"{p[p.epoch == 1][c].mean():.3f} → {p[p.epoch == epochs][c].mean():.3f}")
        lines.append(f"| {dataset} | {variant} | " + " | ".join(cells) + " |")

    # the surrogate's pull towards the majority class, by sharpness
    gam = records[(records.part == "validation") & ((records.factor == "base") | (records.factor == "gamma"))]
    if not gam.empty:
        lines.append("\n#### Share of positive predictions on the validation rows, by sharpness gamma (mean over "
                     "seeds)\n")
        lines.append("| data set | objective | gamma | epoch 0 | smallest, epochs 1-5 | largest, epochs 1-5 | "
                     f"epoch {epochs} |")
        lines.append("|---|---|---|---|---|---|---|")
        for (dataset, variant, factor, value), part in gam.groupby(["dataset", "variant", "factor", "value"],
                                                                   sort=False, dropna=False):
            if variant not in VARIANTS:
                continue
            g = VARIANTS[variant]["gamma"] if factor == "base" else float(value)
            rate = part.groupby("epoch").positive_rate.mean()
            early = rate.loc[1:5]
            lines.append(f"| {dataset} | {variant} | {g:g} | {rate.loc[0]:.3f} | {early.min():.3f} | "
                         f"{early.max():.3f} | {rate.loc[epochs]:.3f} |")

    # every setting: correlation with the bootstrap probability and with (a), final values
    grid = corr[corr.factor != "base"]
    if not grid.empty:
        lines.append("\n#### Every setting (one factor changed from the defaults)\n")
        lines.append("Per setting: rank correlation of the training objective with the bootstrap probability and "
                     "with (a), on the training / validation rows, and the validation accuracy, bootstrap "
                     f"probability, (a) and model agreement at epoch {epochs}; mean over seeds.\n")
        lines.append("| data set | objective | setting | ρ bootstrap | ρ (a) | accuracy | bootstrap | (a) "
                     "| agreement |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        final = records[(records.epoch == epochs) & (records.part == "validation")]
        keys = ["dataset", "variant", "factor", "value"]
        for key, part in corr.groupby(keys, sort=False, dropna=False):
            dataset, variant, factor, value = key
            setting = "defaults" if factor == "base" else f"{factor} = {value}"
            tr, va = part[part.part == "train"], part[part.part == "validation"]
            f = final
            for k, v in zip(keys, key):
                f = f[f[k].isna()] if (isinstance(v, float) and np.isnan(v)) else f[f[k] == v]
            lines.append(f"| {dataset} | {variant} | {setting} | {_fmt(tr.bootstrap)} / {_fmt(va.bootstrap)} | "
                         f"{_fmt(tr.individual)} / {_fmt(va.individual)} | {f.accuracy.mean():.3f} | "
                         f"{f.bootstrap.mean():.3f} | {f.individual.mean():.3f} | {f.agreement.mean():.3f} |")
    return "\n".join(lines)


def plot(records, path):
    """Objective (training rows) and every estimator (validation rows) over epochs, defaults, mean over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = records[records.factor == "base"]
    datasets = list(dict.fromkeys(base.dataset))
    variants = [v for v in VARIANTS if v in set(base.variant)]
    fig, axes = plt.subplots(len(variants), len(datasets), figsize=(4.2 * len(datasets), 3.4 * len(variants)),
                             squeeze=False, sharex=True)
    colors = {"individual": "tab:red", "pairwise": "tab:orange", "group_share": "tab:green",
              "bootstrap": "tab:blue", "accuracy": "tab:gray"}
    for r, variant in enumerate(variants):
        for c, dataset in enumerate(datasets):
            ax = axes[r][c]
            part = base[(base.dataset == dataset) & (base.variant == variant)]
            val = part[part.part == "validation"].groupby("epoch").mean(numeric_only=True)
            train = part[part.part == "train"].groupby("epoch").mean(numeric_only=True)
            for stat, color in colors.items():
                ax.plot(val.index, val[stat], color=color, lw=1.4, label=LABELS[stat] + " (val.)")
            ax.plot(train.index, train.bootstrap, color="tab:blue", lw=1.4, ls=":", label="bootstrap prob. (train)")
            ax.plot(val.index, val.agreement, color="tab:purple", lw=1.2, ls="-.", label="model agreement (val.)")
            ax.set_ylim(-0.02, 1.02)
            twin = ax.twinx()
            twin.plot(train.index, train.objective, color="black", lw=2.2, ls="--", label="objective (train)")
            twin.tick_params(axis="y", labelsize=7)
            ax.set_title(f"{dataset}: {variant}", fontsize=10)
            if r == len(variants) - 1:
                ax.set_xlabel("epoch")
            if c == 0:
                ax.set_ylabel("estimator (validation rows)")
            if c == len(datasets) - 1:
                twin.set_ylabel("objective (training rows)")
    handles = [h for h in axes[0][0].get_legend_handles_labels()[0]]
    labels = axes[0][0].get_legend_handles_labels()[1]
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], color="black", lw=2.2, ls="--"))
    labels.append("objective (training rows, right axis)")
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run_study(datasets, seeds, epochs, grid, out, n_replicates=200, log=sys.stderr, variants=None):
    """Run (or resume) the study; returns (records, correlations) as DataFrames."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "records.csv")
    done = set()
    if os.path.exists(path):
        old = pd.read_csv(path, keep_default_na=False, na_values=["nan", "NaN"])
        done = set(zip(old.dataset, old.variant, old.factor, old.value.astype(str), old.seed))
    for name in datasets:
        X, y, *_ = load(name)
        for variant, factor, value, params in runs(grid, variants):
            for seed in range(seeds):
                if (name, variant, factor, str(value), seed) in done:
                    continue
                start = time.perf_counter()
                recs = run_one(X, y, seed, params, epochs, n_replicates)
                frame = pd.DataFrame(recs)
                frame.insert(0, "seed", seed)
                frame.insert(0, "value", value)
                frame.insert(0, "factor", factor)
                frame.insert(0, "variant", variant)
                frame.insert(0, "dataset", name)
                frame.to_csv(path, mode="a", header=not os.path.exists(path), index=False)
                last = frame[frame.part == "validation"].iloc[-1]
                if log is not None:
                        print(f"{name:15s} {variant:9s} {factor}={value} seed={seed} val: a={last.individual:.3f} "
                          f"boot={last.bootstrap:.3f} acc={last.accuracy:.3f} {time.perf_counter() - start:.1f}s",
                          file=log, flush=True)
    records = pd.read_csv(path, keep_default_na=False, na_values=["nan", "NaN"])
    records = records[records.dataset.isin(datasets) & (records.seed < seeds) & (records.epoch <= epochs)]
    corr = correlations(records)
    corr.to_csv(os.path.join(out, "correlations.csv"), index=False)
    return records, corr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--grid", default="full", choices=["full", "base"])
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates per epoch and part")
    parser.add_argument("--out", default="dafh_study", help="folder of the CSV files and study.md")
    parser.add_argument("--plot", default=None, help="write the plot here (PNG)")
    parser.add_argument("--variants", nargs="+", default=None, choices=list(VARIANTS),
                        help="only these objective variants (default: all)")
    args = parser.parse_args(argv)
    records, corr = run_study(args.datasets, args.seeds, args.epochs, args.grid, args.out, args.bootstrap,
                              variants=args.variants)
    text = tables(records, corr)
    with open(os.path.join(args.out, "study.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    if args.plot:
        plot(records, args.plot)


if __name__ == "__main__":
    main()
