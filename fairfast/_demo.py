"""The main job: barycenter post-processing of a logistic regression on Adult."""

import time

import numpy as np

__all__ = ["demo_results", "run_demo"]

_SENSITIVE_COLUMNS = ("sex", "race")
_THRESHOLD = 0.5
_DISPARITIES = (("demographic parity difference", "demographic_parity_difference"),
                ("equal opportunity difference", "equal_opportunity_difference"),
                ("equalized odds difference", "equalized_odds_difference"))

#: The measures of the demo's table, as it prints them.
DEFINITIONS = (
    ("AUC", "probability that a random high earner outscores a random other person"),
    ("accuracy", f"share of correct decisions, the decision being score >= {_THRESHOLD}"),
    ("KS unfairness", "largest Kolmogorov-Smirnov distance between two groups' score distributions: "
                      "the largest gap, over all thresholds t, between the shares of two groups scoring "
                      "above t (0: every threshold selects every group at the same rate)"),
    ("noise level", "what the KS unfairness reaches by chance with these group sizes: its 95th "
                    "percentile when the test rows' groups are shuffled (200 shuffles)"),
    ("demographic parity", "largest minus smallest group share of positive decisions"),
    ("equal opportunity", "largest minus smallest group true positive rate (decision = 1 among high "
                          "earners)"),
    ("equalized odds", "the larger of the true and false positive rate differences"),
    ("[low, high]", "95% intervals: stratified bootstrap by group (1000 replicates); AUC: DeLong"),
)


def _model():
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", min_frequency=20),
    )
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), make_column_selector(dtype_include="number")),
            ("cat", categorical, make_column_selector(dtype_exclude="number")),
        ]
    )
    return make_pipeline(prep, LogisticRegression(max_iter=1000))


def _noise_level(scores, groups, rng, n_shuffles=200):
    """95th percentile of the KS unfairness of ``scores`` under shuffled ``groups``."""
    from .metrics import unfairness

    return float(np.quantile([unfairness(scores, sensitive_features=rng.permutation(groups))
                              for _ in range(n_shuffles)], 0.95))


def _measure(y, scores, S, random_state):
    """Held-out measures of one set of scores: overall, then by each sensitive column."""
    from .metrics import GroupReport, unfairness
    from .metrics._score_audit import delong_auc

    out = {"auc": delong_auc(y, scores)}
    by = {}
    for col in _SENSITIVE_COLUMNS:
        groups = S[col].astype(str).to_numpy()
        report = GroupReport(y, scores >= _THRESHOLD, sensitive_features=groups,
                             metrics=["count", "selection_rate", "tpr", "fpr", "accuracy"])
        boot = report.bootstrap(1000, random_state=random_state)
        if "accuracy" not in out:
            acc = boot.overall.loc["accuracy"]
            out["accuracy"] = (acc["estimate"], acc["low"], acc["high"])
        dis = boot.disparities["between_groups"]
        by[col] = {
            "ks": unfairness(scores, sensitive_features=groups),
            "disparities": {d: tuple(dis.loc[d, ["estimate", "low", "high"]]) for _, d in _DISPARITIES},
            "positive_rate": {str(g): (report.by_group.loc[g, "selection_rate"],
                                       boot.by_group_low.loc[g, "selection_rate"],
                                       boot.by_group_high.loc[g, "selection_rate"]) for g in report.by_group.index},
            "count": {str(g): int(report.by_group.loc[g, "count"]) for g in report.by_group.index},
        }
    out["by"] = by
    return out


def demo_results(sensitive=("sex", "race"), epsilon=0.0, random_state=0):
    """Run the demo and return its measurements as a dict (see :func:`run_demo`).

    Every measure is taken on the held-out test split, after the post-processor fitted
    on the calibration split is applied with ``transform`` (as it would be deployed).
    Values with an interval are ``(estimate, low, high)`` tuples.

    Examples
    --------
    >>> from fairfast._demo import demo_results
    >>> r = demo_results(sensitive=("sex",))
    >>> r["after"]["by"]["sex"]["ks"] < r["before"]["by"]["sex"]["ks"]
    True
    """
    from sklearn.model_selection import train_test_split

    from .datasets import load_adult
    from .postprocessing import WassersteinBarycenter

    sensitive = tuple(sensitive)
    unknown = [c for c in sensitive if c not in _SENSITIVE_COLUMNS]
    if not sensitive or unknown:
        raise ValueError(f"sensitive must name columns among {_SENSITIVE_COLUMNS}; got {list(sensitive)}")
    t0 = time.perf_counter()
    adult = load_adult(drop_sensitive=True)
    X, y, S = adult.data, adult.target.to_numpy(), adult.sensitive[list(_SENSITIVE_COLUMNS)]
    strat = y * 100 + S["sex"].cat.codes.to_numpy()
    X_fit, X_rest, y_fit, y_rest, S_fit, S_rest = train_test_split(
        X, y, S, test_size=0.5, random_state=random_state, stratify=strat
    )
    X_cal, X_test, y_cal, y_test, S_cal, S_test = train_test_split(
        X_rest, y_rest, S_rest, test_size=0.5, random_state=random_state, stratify=y_rest
    )
    model = _model().fit(X_fit, y_fit)
    cal_scores = model.predict_proba(X_cal)[:, 1]
    test_scores = model.predict_proba(X_test)[:, 1]
    t_model = time.perf_counter()

    fair = WassersteinBarycenter(epsilon=epsilon, random_state=random_state)
    fair.fit(cal_scores, sensitive_features=S_cal[list(sensitive)])
    fair_scores = fair.transform(test_scores, sensitive_features=S_test[list(sensitive)])
    t_fair = time.perf_counter()
    rng = np.random.default_rng(random_state)
    noise = {c: _noise_level(fair_scores, S_test[c].astype(str).to_numpy(), rng) for c in _SENSITIVE_COLUMNS}
    return {
        "sensitive": list(sensitive),
        "epsilon": float(epsilon),
        "threshold": _THRESHOLD,
        "n_train": int(len(y_fit)),
        "n_calibration": int(len(y_cal)),
        "n_test": int(len(y_test)),
        "groups": [str(g) for g in fair.groups_],
        "before": _measure(y_test, test_scores, S_test, random_state),
        "after": _measure(y_test, fair_scores, S_test, random_state),
        "noise_level": noise,
        "seconds": {
            "model": t_model - t0,
            "postprocessing": t_fair - t_model,
            "total": time.perf_counter() - t0,
        },
    }


def _cell(v):
    if isinstance(v, tuple):
        return f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"
    return f"{v:.3f}"


def demo_text(r):
    """The demo's report (at most 100 columns) from :func:`demo_results`."""
    import textwrap

    b, a = r["before"], r["after"]
    w = 40

    def row(name, x, y):
        return f"  {name:<{w}} {_cell(x):>21}  {_cell(y):>21}"

    intro = (f"A logistic regression (sensitive columns not among its features) is trained on "
             f"{r['n_train']:,} rows; the barycenter, fair with respect to {' x '.join(r['sensitive'])} "
             f"({len(r['groups'])} groups, epsilon = {r['epsilon']:g}), is fitted on {r['n_calibration']:,} "
             f"calibration rows (scores and groups only). Every number below is measured on the "
             f"{r['n_test']:,} held-out test rows, the post-processor applied by transform() as it would be "
             f"deployed; the decision is score >= {r['threshold']:g}.")
    out = ["fairfast demo: Wasserstein-barycenter post-processing on UCI Adult (income > 50K)"]
    out += textwrap.wrap(intro, 98, initial_indent="  ", subsequent_indent="  ")
    out += ["", f"  {'':<{w}} {'before':>21}  {'after':>21}",
            row("AUC", b["auc"], a["auc"]),
            row(f"accuracy (score >= {r['threshold']:g})", b["accuracy"], a["accuracy"])]
    for col in _SENSITIVE_COLUMNS:
        counts = b["by"][col]["count"]
        out += [""] + textwrap.wrap(f"by {col} (test rows: " + ", ".join(f"{g} {n:,}" for g, n in counts.items())
                                    + ")", 98, initial_indent="  ", subsequent_indent="    ")
        out.append(row(f"  KS unfairness (noise level {r['noise_level'][col]:.3f})", b["by"][col]["ks"],
                       a["by"][col]["ks"]))
        for label, key in _DISPARITIES:
            out.append(row(f"  {label}", b["by"][col]["disparities"][key], a["by"][col]["disparities"][key]))
        out.append(f"    positive rate (score >= {r['threshold']:g}):")
        for g in counts:
            out.append(row(f"    {g}", b["by"][col]["positive_rate"][g], a["by"][col]["positive_rate"][g]))
    s = r["seconds"]
    out += ["", "  Measures:"]
    for name, text in DEFINITIONS:
        out += textwrap.wrap(text, 98, initial_indent=f"    {name + ':':<21}", subsequent_indent=" " * 25)
    out += ["", f"  time: model {s['model']:.2f} s, post-processing {s['postprocessing'] * 1000:.1f} ms, "
                f"total {s['total']:.2f} s"]
    return "\n".join(out)


def run_demo(sensitive="sex,race", epsilon=0.0, random_state=0, file=None):
    """Print the before/after table of the demo (the ``fairfast demo`` command).

    Trains a logistic regression on half of Adult (sensitive attributes excluded from
    the features), fits :class:`~fairfast.postprocessing.WassersteinBarycenter` on a
    quarter (the calibration split: scores and groups only, no labels), and compares
    the remaining quarter's scores before and after post-processing: AUC, accuracy at
    threshold 0.5 and, by sex and by race, the group counts, KS unfairness (with the
    level sampling noise alone reaches), demographic parity, equal opportunity and
    equalized odds differences and positive rates, with 95% intervals.
    """
    import sys

    file = file or sys.stdout
    cols = tuple(c.strip() for c in sensitive.split(",")) if isinstance(sensitive, str) else tuple(sensitive)
    r = demo_results(cols, epsilon, random_state)
    print(demo_text(r), file=file)
    return r
