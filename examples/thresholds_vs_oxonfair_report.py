"""Tables of the OxonFair comparison (``thresholds_vs_oxonfair.py``): paired differences
over seeds with Student-t 95% intervals, at the same tolerance, at the same fit-data
violation, along OxonFair's frontier and on the test split's frontier of each library.

Run through ``python examples/thresholds_vs_oxonfair.py --cached --markdown``.
"""

import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from thresholds_vs_oxonfair import KEY, TOLERANCE, _fairlearn_example  # noqa: E402

ENVELOPE_AT = (0.02, 0.05, 0.1)  # held-out violation bounds of the test-split frontier table
GRID = ["dataset", "constraint", "seed"]


def t_interval(d, level=0.95):
    return _fairlearn_example().t_interval(d, level)


def fmt_ci(m, lo, hi):
    return f"{m:+.4f} [{lo:+.4f}, {hi:+.4f}]"


def _table(out, names):
    if not out:
        return pd.DataFrame()
    out = pd.DataFrame.from_dict(out, orient="index")
    out.index.names = names
    return out


def paired(df, ours, theirs="oxonfair", fit=False):
    """Per (dataset, constraint): means of both methods and the paired differences ours - theirs (95% t);
    ``fit``: also the fit-data accuracy difference and the seeds where ours is less accurate there."""
    if not {ours, theirs} <= set(df["method"]):
        return pd.DataFrame()
    values = ["accuracy", "violation"] + (["fit_accuracy", "fit_violation"] if fit else [])
    wide = df.pivot_table(index=GRID, columns="method", values=values, dropna=False)
    out = {}
    for key, g in wide.groupby(level=[0, 1]):
        g = g.dropna(subset=[(v, m) for v in values for m in (ours, theirs)])
        if not len(g):
            continue
        d = {v: g[(v, ours)] - g[(v, theirs)] for v in values}
        out[key] = {"seeds": len(g),
                    f"violation_{ours}": g[("violation", ours)].mean(), f"violation_{theirs}": g[("violation", theirs)].mean(),
                    "d_violation [95%]": fmt_ci(*t_interval(d["violation"])),
                    f"accuracy_{ours}": g[("accuracy", ours)].mean(), f"accuracy_{theirs}": g[("accuracy", theirs)].mean(),
                    "d_accuracy [95%]": fmt_ci(*t_interval(d["accuracy"]))}
        if fit:
            out[key].update({"fit: d_violation max": d["fit_violation"].max(),
                             "fit: d_accuracy [95%]": fmt_ci(*t_interval(d["fit_accuracy"])),
                             "fit: seeds less accurate": int((d["fit_accuracy"] < -1e-9).sum())})
    return _table(out, ["dataset", "constraint"])


def along_frontier(front):
    """Each point of OxonFair's frontier against fairfast's rule at the same fit-data violation:
    per seed the mean over points of the held-out differences, then mean [95% t] over seeds."""
    ox = front[front["method"] == "oxonfair"]
    ff = front[front["method"] == "fairfast_matched"]
    if not len(ox) or not len(ff):
        return pd.DataFrame()
    ox = ox.assign(_v=ox["fit_violation"].astype(float).round(12))
    ff = ff.assign(_v=ff["tolerance"].astype(float).round(12))
    cols = ["fit_accuracy", "fit_violation", "accuracy", "violation"]
    m = ox.merge(ff[GRID + ["_v"] + cols], on=GRID + ["_v"], suffixes=("_ox", "_ff"))
    for c in cols:
        m["d_" + c] = m[c + "_ff"] - m[c + "_ox"]
    per_seed = m.groupby(GRID).agg(points=("d_accuracy", "size"), d_accuracy=("d_accuracy", "mean"),
                                   d_violation=("d_violation", "mean"),
                                   fit_less=("d_fit_accuracy", lambda d: int((d < -1e-9).sum())))
    out = {}
    for key, g in per_seed.groupby(level=[0, 1]):
        out[key] = {"seeds": len(g), "points per seed": g["points"].median(),
                    "d_violation [95%]": fmt_ci(*t_interval(g["d_violation"])),
                    "d_accuracy [95%]": fmt_ci(*t_interval(g["d_accuracy"])),
                    "fit: points less accurate": f"{int(g['fit_less'].sum())} of {int(g['points'].sum())}"}
    return _table(out, ["dataset", "constraint"])


def envelope(front, at=ENVELOPE_AT):
    """Test-split frontier: per seed the best held-out accuracy among a library's rules with held-out
    violation <= v (OxonFair: its frontier; fairfast: its rules at the same fit violations, and on the
    tolerance grid); mean [95% t] of the paired differences over seeds where both have such a rule."""
    if not {"oxonfair", "fairfast_matched"} <= set(front["method"]):
        return pd.DataFrame()
    out = {}
    for key, g in front.groupby(["dataset", "constraint"]):
        for v in at:
            ok = g[g["violation"] <= v + 1e-12]
            best = ok.pivot_table(index="seed", columns="method", values="accuracy", aggfunc="max")
            seeds = g["seed"].nunique()
            row = {"seeds with a rule (oxonfair, fairfast)": "%d, %d of %d" % (
                best.get("oxonfair", pd.Series(dtype=float)).notna().sum(),
                best.get("fairfast_matched", pd.Series(dtype=float)).notna().sum(), seeds)}
            for ff, label in (("fairfast_matched", "same points"), ("fairfast_grid", "grid")):
                if {"oxonfair", ff} <= set(best.columns):
                    both = best[["oxonfair", ff]].dropna()
                    row[f"d_accuracy, {label} [95%]"] = (fmt_ci(*t_interval(both[ff] - both["oxonfair"]))
                                                          + f" ({len(both)})") if len(both) else "-"
            if "oxonfair" in best:
                row["accuracy_oxonfair"] = best["oxonfair"].mean()
            out[key + (v,)] = row
    return _table(out, ["dataset", "constraint", "held-out violation <="])


def modes(df, methods=("fairfast_exact", "fairfast", "fairfast_holdout", "fairfast_matched")):
    """Held-out violation and accuracy of fairfast's modes: mean [95% t-interval] over seeds."""
    out = {}
    for (ds, c, m), g in df[df["method"].isin(methods)].groupby(["dataset", "constraint", "method"]):
        out[(ds, c, m)] = {"seeds": len(g), "violation [95%]": "{:.4f} [{:.4f}, {:.4f}]".format(*t_interval(g["violation"])),
                           "accuracy [95%]": "{:.4f} [{:.4f}, {:.4f}]".format(*t_interval(g["accuracy"]))}
    return _table(out, ["dataset", "constraint", "method"])


def speed(df):
    """Median fit seconds per method and data set, and the ratio OxonFair / fairfast."""
    med = df.pivot_table(index="dataset", columns="method", values="seconds", aggfunc="median")
    out = pd.DataFrame({"groups": df.groupby("dataset")["groups"].first()})
    for m in med.columns:
        out[f"{m}_s"] = med[m]
    if "oxonfair" in med and "fairfast" in med:
        out["ratio"] = med["oxonfair"] / med["fairfast"]
    return out


def oxonfair_fit(df, tol=TOLERANCE):
    if "fit_violation" not in df or not (df["method"] == "oxonfair").any():
        return pd.DataFrame()
    ox = df[(df["method"] == "oxonfair") & df["fit_violation"].notna()]
    g = ox.groupby(["dataset", "constraint"])
    return pd.DataFrame({"seeds": g.size(), "fit_accuracy": g["fit_accuracy"].mean(),
                         "fit_violation": g["fit_violation"].mean(),
                         "over_tolerance": g["fit_violation"].apply(lambda v: int((v > tol + 1e-9).sum()))})


def markdown(df):
    flat = df.reset_index()
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(map(str, flat.columns)) + " |", "|" + " --- |" * flat.shape[1]]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in flat.itertuples(index=False)]
    return "\n".join(lines)


def report(res, md=False, tol=TOLERANCE):
    df, front = res
    for d in (df, front):
        if len(d):
            d["seed"] = d["seed"].astype(int)
    tables = [
        ("Held-out, same tolerance: fairfast (tolerance %.2f) - OxonFair (%.2f): paired differences" % (tol, tol),
         paired(df, "fairfast") if len(df) else df),
        ("Held-out, same fit-data violation: fairfast (tolerance = the violation OxonFair's rule reached on the "
         "fit rows) - OxonFair; fit: the same on the fit rows", paired(df, "fairfast_matched", fit=True) if len(df) else df),
        ("Held-out, noise-aware: fairfast (tolerance %.2f on the expected held-out violation) - OxonFair" % tol,
         paired(df, "fairfast_holdout") if len(df) else df),
        ("Along OxonFair's frontier: each of its rules against fairfast's at the same fit-data violation, "
         "held-out differences (mean over the points of a seed, then over seeds)",
         along_frontier(front) if len(front) else front),
        ("Test-split frontier: best held-out accuracy with held-out violation <= v, fairfast - OxonFair "
         "(seeds in parentheses)", envelope(front) if len(front) else front),
        ("Held-out, equalized odds by mixing: fairfast (mode='mixing') - error-parity (same tolerance)",
         paired(df, "fairfast_mixing", "error_parity") if len(df) else df),
        ("Held-out, fairfast modes (exact: tolerance 0; holdout: the noise-aware mode; matched: OxonFair's "
         "fit-data violation)", modes(df) if len(df) else df),
        ("OxonFair on its own fit data: mean accuracy and violation, seeds where the violation exceeds the "
         "tolerance", oxonfair_fit(df, tol) if len(df) else df),
        ("Fit seconds (median over seeds and constraints)", speed(df) if len(df) else df)]
    parts = []
    for title, table in tables:
        if len(table):
            parts.append(f"{title}:\n\n{markdown(table) if md else table.to_string()}\n")
    return "\n".join(parts)
