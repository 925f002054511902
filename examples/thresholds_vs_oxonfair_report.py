"""Tables of the OxonFair comparison (``thresholds_vs_oxonfair.py``): paired differences
over seeds with Student-t 95% intervals, at the same tolerance, at the same fit-data
violation, along OxonFair's frontier and on the test split's frontier of each library
(best accuracy under held-out violation bounds, and the area under that curve), a
verdict per cell, and the held-out noise beside the differences.

Run through ``python examples/thresholds_vs_oxonfair.py --cached --markdown``.
"""

import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from thresholds_vs_oxonfair import TOLERANCE, _sibling, load, splits  # noqa: E402

ENVELOPE_AT = (0.02, 0.05, 0.1)  # held-out violation bounds of the test-split frontier table
GRID = ["dataset", "constraint", "seed"]


def t_interval(d, level=0.95):
    return _sibling("thresholds_vs_fairlearn").t_interval(d, level)


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


def area(violation, acc, vmax, aref, vmin=0.0):
    """Mean over held-out violation bounds u in [vmin, vmax] of the best accuracy among the rules with
    violation <= u, less ``aref`` (floored at 0; a bound no rule meets counts 0): the area the rules
    dominate against the reference point (vmax, aref), divided by vmax - vmin.

    >>> area(np.array([0.0, 0.05]), np.array([0.7, 0.8]), 0.1, 0.6)
    0.15
    >>> area(np.array([0.0, 0.05]), np.array([0.7, 0.8]), 0.1, 0.6, vmin=0.05)
    0.2
    """
    v, a = np.asarray(violation, float), np.asarray(acc, float)
    keep = v <= vmax
    if not keep.any():
        return 0.0
    v = np.maximum(v[keep], vmin)
    order = np.argsort(v, kind="stable")
    v, best = v[order], np.maximum.accumulate(a[keep][order])
    return round(float(np.sum(np.maximum(best - aref, 0) * np.diff(np.r_[v, vmax])) / (vmax - vmin)), 12)


def frontier_area(front):
    """Per (dataset, constraint): :func:`area` of each library's test-split frontier per seed, paired
    differences fairfast - OxonFair over seeds (95% t). Reference: vmax = the median over seeds of the
    largest held-out violation on OxonFair's frontier, aref = the lowest held-out accuracy of any rule
    of either library with violation <= vmax; over [0, vmax] and over [floor, vmax] (floor: the noise
    floor of the cell, see :func:`noise`). fairfast: its rules at OxonFair's fit-data violations
    (same points), and those with its tolerance grid (all rules)."""
    if not {"oxonfair", "fairfast_matched"} <= set(front["method"]):
        return pd.DataFrame()
    out = {}
    for key, g in front.groupby(["dataset", "constraint"]):
        ox = g[g["method"] == "oxonfair"]
        vmax = float(ox.groupby("seed")["violation"].max().median())
        aref = float(g.loc[g["violation"] <= vmax, "accuracy"].min())
        floor = min(_floor(*key), vmax / 2)
        per_seed = {}
        for seed, s in g.groupby("seed"):
            sets = {"oxonfair": s["method"] == "oxonfair", "same": s["method"] == "fairfast_matched",
                    "all": s["method"].isin(["fairfast_matched", "fairfast_grid"])}
            if sets["oxonfair"].any() and sets["same"].any():
                per_seed[seed] = {(k, lo): area(s.loc[m, "violation"], s.loc[m, "accuracy"], vmax, aref, lo)
                                  for k, m in sets.items() for lo in (0.0, floor)}
        if not per_seed:
            continue
        t = pd.DataFrame.from_dict(per_seed, orient="index")
        row = {"seeds": len(t), "vmax": vmax, "aref": aref, "floor": floor, "area_oxonfair": t[("oxonfair", 0.0)].mean()}
        for lo, where in ((0.0, "0"), (floor, "floor")):
            for k, label in (("same", "same points"), ("all", "all rules")):
                row[f"d_area [{where}, vmax], {label} [95%]"] = fmt_ci(*t_interval(t[(k, lo)] - t[("oxonfair", lo)]))
        out[key] = row
    return _table(out, ["dataset", "constraint"])


def _word(m, lo, hi, higher_is_better):
    if not np.isfinite(lo):
        return "?"
    if higher_is_better:
        lo, hi = -hi, -lo
    return "better" if hi < 0 else "worse" if lo > 0 else "tie"


def verdict(df, front):
    """Per (dataset, constraint): the matched comparison's held-out differences (violation, accuracy) and
    the test-split frontier area (same points), each 'better', 'tie' (the 95% interval contains 0) or
    'worse'; 'no worse on both' where neither matched difference is worse."""
    if not len(df) or not {"fairfast_matched", "oxonfair"} <= set(df["method"]):
        return pd.DataFrame()
    wide = df.pivot_table(index=GRID, columns="method", values=["accuracy", "violation"], dropna=False)
    areas = frontier_area(front) if len(front) else pd.DataFrame()
    out = {}
    for key, g in wide.groupby(level=[0, 1]):
        g = g.dropna(subset=[(v, m) for v in ("accuracy", "violation") for m in ("fairfast_matched", "oxonfair")])
        if not len(g):
            continue
        dv = t_interval(g[("violation", "fairfast_matched")] - g[("violation", "oxonfair")])
        da = t_interval(g[("accuracy", "fairfast_matched")] - g[("accuracy", "oxonfair")])
        wv, wa = _word(*dv, False), _word(*da, True)
        row = {"seeds": len(g), "matched: violation": wv, "matched: accuracy": wa}
        for where in ("0", "floor") if key in areas.index else ():
            d = areas.loc[key, f"d_area [{where}, vmax], same points [95%]"]
            lo, hi = (float(x) for x in d[d.index("[") + 1:d.index("]")].split(","))
            row[f"frontier area [{where}, vmax]"] = _word(0.0, lo, hi, True)
        row["verdict"] = ("too few seeds" if len(g) < 2 else "no worse on both" if "worse" not in (wv, wa)
                          else "worse in " + " and ".join(n for n, w in (("violation", wv), ("accuracy", wa))
                                                          if w == "worse"))
        out[key] = row
    return _table(out, ["dataset", "constraint"])


def _sizes(dataset, seed=0):
    """Rows and positives of each group on one seed's test split."""
    _, y, s = load(dataset)
    te = splits(y, s, seed)[2]
    labels, g = np.unique(s[te], return_inverse=True)
    return labels, np.bincount(g), np.bincount(g, y[te]).astype(int), float(y[te].mean())


_SIZES = {}


def _floor(dataset, constraint):
    """:func:`noise_floor` of one cell (rate: the base rate for demographic parity, 0.5 for the TPR;
    equalized odds: its TPR part, a lower bound)."""
    if dataset not in _SIZES:
        _SIZES[dataset] = _sizes(dataset)
    _, rows, pos, base = _SIZES[dataset]
    return noise_floor(rows, base) if constraint == "demographic_parity" else noise_floor(pos, 0.5)


def noise_floor(sizes, p, draws=4000, seed=0):
    """Expected largest difference between groups' empirical rates when every group's true rate is
    ``p``: the held-out violation that the test split's sampling alone shows for a perfectly fair rule."""
    rng = np.random.default_rng(seed)
    rates = rng.binomial(np.asarray(sizes)[None, :], p, size=(draws, len(sizes))) / np.asarray(sizes)[None, :]
    return float(np.mean(rates.max(axis=1) - rates.min(axis=1)))


def noise(df):
    """Per (dataset, constraint): the test split's smallest group, the noise floor of the held-out
    violation (:func:`noise_floor`; rate: the base rate for demographic parity, 0.5 for the TPR),
    the spread between seeds of both libraries' held-out violation (sd), and the matched difference."""
    if not len(df) or not {"fairfast_matched", "oxonfair"} <= set(df["method"]):
        return pd.DataFrame()
    wide = df.pivot_table(index=GRID, columns="method", values=["violation", "fit_violation"], dropna=False)
    out = {}
    for (ds, c), g in wide.groupby(level=[0, 1]):
        g = g.dropna(subset=[("violation", "fairfast_matched"), ("violation", "oxonfair")])
        if not len(g):
            continue
        floor = _floor(ds, c)
        labels, rows, pos, _ = _SIZES[ds]
        i = int(np.argmin(rows))
        d = g[("violation", "fairfast_matched")] - g[("violation", "oxonfair")]
        m, lo, hi = t_interval(d)
        out[(ds, c)] = {"smallest group (test rows, positives)": f"{labels[i]} ({rows[i]}, {pos[i]})",
                        "noise floor": floor,
                        "oxonfair: fit -> held-out violation": "%.4f -> %.4f" % (
                            g[("fit_violation", "oxonfair")].mean(), g[("violation", "oxonfair")].mean()),
                        "sd between seeds (oxonfair, fairfast)": "%.4f, %.4f" % (
                            g[("violation", "oxonfair")].std(), g[("violation", "fairfast_matched")].std()),
                        "matched d_violation (sd)": "%+.4f (%.4f)" % (m, d.std()) if len(d) > 1 else "%+.4f" % m}
    return _table(out, ["dataset", "constraint"])


def speed(df):
    """Median fit seconds per method and data set, the ratio of the medians OxonFair /
    fairfast, and paired ratios: OxonFair's fit over fairfast's for the same seed and
    constraint (``fairfast``) and over the matched fit (``fairfast_matched``, fitted right
    after OxonFair's in the same process when both were missing: the same machine load)."""
    med = df.pivot_table(index="dataset", columns="method", values="seconds", aggfunc="median")
    out = pd.DataFrame({"groups": df.groupby("dataset")["groups"].first()})
    for m in med.columns:
        out[f"{m}_s"] = med[m]
    if "oxonfair" in med and "fairfast" in med:
        out["ratio"] = med["oxonfair"] / med["fairfast"]
    for other, name in (("fairfast", "paired"), ("fairfast_matched", "paired_matched")):
        if "oxonfair" not in med or other not in med:
            continue
        both = df[df["method"].isin(["oxonfair", other])].pivot_table(
            index=["dataset", "constraint", "seed"], columns="method", values="seconds").dropna()
        ratio = (both["oxonfair"] / both[other]).groupby(level="dataset")
        out[f"{name}_median"], out[f"{name}_min"], out[f"{name}_n"] = ratio.median(), ratio.min(), ratio.size()
    return out


def timing_table(rows, md=False):
    """The ``--timing`` rows: per data set and constraint, median seconds and the ratios
    OxonFair / fairfast (median and smallest over seeds; fairfast's median call)."""
    r = rows.assign(ratio=rows["oxonfair_s"] / rows["fairfast_median_s"],
                    ratio_first=rows["oxonfair_s"] / rows["fairfast_first_s"])
    g = r.groupby(["dataset", "constraint"])
    out = pd.DataFrame({"groups": g["groups"].first(), "seeds": g.size(), "oxonfair_s": g["oxonfair_s"].median(),
                        "fairfast_s": g["fairfast_median_s"].median(), "ratio_median": g["ratio"].median(),
                        "ratio_min": g["ratio"].min(), "ratio_first_call_min": g["ratio_first"].min()})
    title = ("Fit speed at the same load (--timing): OxonFair's fit, then fairfast's in the same process "
             "(median of 5 calls after a first one)")
    return f"{title}:\n\n" + (markdown(out) if md else out.to_string(float_format=lambda v: f"{v:.4g}")) + "\n"


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
        ("Test-split frontier area: mean over held-out violation bounds u in [0, vmax] of the best held-out "
         "accuracy with violation <= u, less aref; fairfast - OxonFair", frontier_area(front) if len(front) else front),
        ("Verdict: the matched comparison (held-out violation and accuracy) and the frontier area, each better, "
         "tie (95% interval contains 0) or worse", verdict(df, front)),
        ("Held-out noise: the test split's smallest group, the expected violation of a perfectly fair rule from "
         "sampling alone (noise floor; rate: base rate for demographic parity, 0.5 for the TPR), the spread "
         "between seeds", noise(df)),
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


def envelope_curves(front, method, grid):
    """Per seed, the best held-out accuracy with held-out violation <= v for each v in ``grid`` (nan: none)."""
    out = []
    for _, g in front[front["method"] == method].groupby("seed"):
        order = np.argsort(g["violation"].to_numpy())
        v, a = g["violation"].to_numpy()[order], np.maximum.accumulate(g["accuracy"].to_numpy()[order])
        i = np.searchsorted(v, grid + 1e-12, side="right") - 1
        out.append(np.where(i >= 0, a[np.maximum(i, 0)], np.nan))
    return np.array(out)


def plot(front, path):
    """Test-split frontiers: mean over seeds of each library's best held-out accuracy at held-out violation <= v,
    where every seed has such a rule, and every rule of both libraries (dots)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted(front.groupby(["dataset", "constraint"]).groups)
    datasets = sorted({k[0] for k in keys})
    constraints = sorted({k[1] for k in keys})
    fig, axes = plt.subplots(len(datasets), len(constraints), figsize=(4.2 * len(constraints), 3.3 * len(datasets)),
                             dpi=110, squeeze=False)
    styles = (("oxonfair", "OxonFair (its frontier)", "C1"), ("fairfast_grid", "fairfast (tolerance grid)", "C0"))
    for (ds, c), g in front.groupby(["dataset", "constraint"]):
        ax = axes[datasets.index(ds), constraints.index(c)]
        vmax = float(np.quantile(g["violation"], 0.95))
        grid = np.linspace(0, vmax, 200)
        for method, label, color in styles:
            pts = g[g["method"] == method]
            ax.plot(pts["violation"], pts["accuracy"], ".", color=color, ms=2, alpha=0.15)
            curves = envelope_curves(g, method, grid)
            if len(curves):
                mean = curves.mean(axis=0)  # nan where a seed has no rule
                ax.plot(grid, mean, color=color, lw=1.8, label=f"{label}, mean of {len(curves)} seeds")
        ax.set_xlim(0, vmax)
        lo = np.nanquantile(g["accuracy"], 0.05)
        ax.set_ylim(lo, g["accuracy"].max() + 0.002)
        ax.set_title(f"{ds}: {c}", fontsize=9)
        ax.set_xlabel("held-out violation", fontsize=8)
        ax.set_ylabel("best held-out accuracy", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
