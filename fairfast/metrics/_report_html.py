"""GroupReport as a standalone HTML page: real tables, inline figures, no scripts."""

import base64
import html
import io

import numpy as np

from ._report_output import (AUC_UNDEFINED, NO_PREDICTIONS_NOTE, _group_labels, _metric_columns, has_predictions,
                             interval_cell)

__all__ = ["report_html"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 78rem;
       padding: 0 1.5rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .88rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #e4e4e4; text-align: right; white-space: nowrap; }
tbody th { text-align: left; font-weight: 600; }
thead th { background: #f3f4f6; border-bottom: 2px solid #ccc; white-space: normal; vertical-align: bottom;
           min-width: 4.5rem; }
thead th:first-child { text-align: left; }
.ci { display: block; font-size: .78em; color: #555; }
tbody tr:hover { background: #fafafa; }
.overflow { overflow-x: auto; }
.note { background: #f6f8fa; border-left: 4px solid #8aa4c8; padding: .5rem .9rem; margin: .8rem 0; }
.warn { background: #fff7e6; border-left: 4px solid #e0a030; padding: .5rem .9rem; margin: .8rem 0; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; font-size: .9rem; }
dt { font-weight: 600; } dd { margin: 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.meta td { text-align: left; white-space: normal; } .meta td:first-child { font-weight: 600; }
"""

_GLOSSARY = [
    ("selection rate", "share of the group with a positive decision, P(decision = 1 | group)"),
    ("true / false positive rate", "P(decision = 1 | label = 1, group) / P(decision = 1 | label = 0, group)"),
    ("positive predictive value", "P(label = 1 | decision = 1, group)"),
    ("demographic parity", "selection rates compared across groups"),
    ("equal opportunity", "true positive rates compared across groups"),
    ("equalized odds", "the worse of the true and false positive rate comparisons"),
    ("difference / ratio", "largest minus smallest group value / smallest over largest (between groups); "
                           "to overall: each group against all rows"),
    ("calibration error", "binned expected calibration error of probability scores"),
    ("AUC", "probability that a positive of the group outscores a negative of the same group (ties count one "
            "half); interval: DeLong"),
    ("KS unfairness", "largest Kolmogorov-Smirnov distance between two groups' score distributions: the "
                      "largest gap between their shares above any threshold (0: every threshold treats the "
                      "groups alike)"),
    ("W1 unfairness", "largest Wasserstein-1 distance between two groups' score distributions, in score units"),
]


def _table(df, index_name=None, float_digits=3):
    """An HTML table of a DataFrame: header row, one row per index entry; floats with
    ``float_digits`` digits; interval cells ``"v [lo, hi]"`` show the interval on a
    second line (the cell's text stays ``"v [lo, hi]"`` for parsers)."""
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else f"{v:.{float_digits}f}"
        text = str(v)
        if " [" in text and text.endswith("]"):
            est, interval = text.split(" [", 1)
            return f"{html.escape(est)} <span class='ci'>[{html.escape(interval)}</span>"
        return html.escape(text)

    head = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in df.columns)
    name = html.escape(str(index_name if index_name is not None else df.index.name or ""))
    rows = "".join(f"<tr><th>{html.escape(str(i))}</th>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for i, row in zip(df.index, df.itertuples(index=False)))
    return (f"<div class='overflow'><table><thead><tr><th>{name}</th>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def _figure(fig, alt):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'/>"


def report_html(report, title, plots, details):
    import pandas as pd
    if plots:
        from ._report_plots import require_matplotlib

        require_matplotlib("the HTML report's plots (plots=True)")
    inputs, b = report._inputs, report.bootstrap_
    esc = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             "<link rel='icon' href='data:,'>",
             f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{esc(title)}</h1>"]
    meta = {"rows": f"{inputs.n:,}", "groups": f"{len(report.by_group)} of {', '.join(map(str, inputs.groups.names))}",
            "minimum group size": f"{report.min_group_size} rows ({report.small_groups_policy})", **details}
    if b is not None:
        meta["intervals"] = (f"{100 * b.confidence_level:g}% stratified bootstrap percentile intervals, "
                             f"{b.n_replicates} replicates (seed {b.random_state})")
    parts.append("<table class='meta'>" + "".join(f"<tr><td>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>"
                                                  for k, v in meta.items()) + "</table>")
    if len(report.small_groups):
        shown = ", ".join(f"{report.display_name(g)} ({int(report.group_sizes[g])} rows)" for g in report.small_groups)
        parts.append(f"<p class='warn'><b>Small groups.</b> Fewer than {report.min_group_size} rows: {esc(shown)}. "
                     "Their rates are very noisy; they are marked * and the disparities they set are flagged, "
                     "with the value the other groups give.</p>")
    if report.merged_groups:
        merged = ", ".join(report.display_name(g) for g in report.merged_groups)
        parts.append(f"<p class='note'>{esc(report.other_label)} pools the groups with fewer than "
                     f"{report.min_group_size} rows: {esc(merged)}.</p>")
    if inputs.scores is not None and not has_predictions(report):
        parts.append(f"<p class='note'>{esc(NO_PREDICTIONS_NOTE)}</p>")

    labels = _group_labels(report) + ["(overall)"]
    cols = _metric_columns(report, 3)
    by_group = pd.DataFrame({name: cells for name, cells in cols}, index=pd.Index(labels, name="group"))
    parts.append("<h2>Metrics by group</h2>")
    if b is not None:
        parts.append(f"<p>Each cell: estimate [low, high], the {100 * b.confidence_level:g}% bootstrap interval.</p>")
    parts.append(_table(by_group))

    disp = report.disparities()
    if len(disp):
        parts.append("<h2>Disparities</h2>")
        frame = pd.DataFrame(index=pd.Index(disp.index, name="disparity"))
        for method, label in (("between_groups", "between groups"), ("to_overall", "to overall")):
            frame[label] = report.disparities(method)
            if b is not None:
                frame[f"{label} low"] = b.disparities[method]["low"]
                frame[f"{label} high"] = b.disparities[method]["high"]
        flags = report.set_by_small_groups()
        if flags.any():
            frame["set by small groups"] = ["yes" if f else "" for f in flags]
            frame["without small groups"] = report.disparities(include_small_groups=False)
        parts.append(_table(frame))
    if inputs.scores is not None:
        parts += _score_sections(report)
    if plots:
        parts.append("<h2>Figures</h2>")
        parts.append(_figure(report.plot_summary(), "bars of the metrics by group and score distributions"))
        parts.append("<p>Bars: group values (whiskers: bootstrap intervals when computed; hatched: small groups); "
                     "dashed lines: overall values; last panel: each group's score distribution.</p>")
    parts.append("<h2>Definitions</h2><dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in _GLOSSARY)
                 + "</dl>")
    parts.append("<p><small>Generated by fairfast.</small></p></body></html>")
    return "\n".join(parts)


def _score_sections(report):
    import pandas as pd

    inputs = report._inputs
    parts = ["<h2>Score distributions</h2>"]
    sd = report.score_disparities()
    frame = pd.DataFrame({"value": sd["value"].astype(float), "between": sd["group_a"] + " and " + sd["group_b"]},
                         index=pd.Index(sd.index, name="disparity"))
    if sd["set_by_small_group"].any():
        frame["set by small groups"] = ["yes" if f else "" for f in sd["set_by_small_group"]]
        frame["without small groups"] = sd["without_small_groups"].astype(float)
    parts.append(_table(frame))
    if inputs.y_true is not None:
        auc = report.auc_by_group()
        weighted = inputs.sample_weight is not None
        parts.append("<h3>AUC by group</h3><p>" + ("Weighted AUC; no interval with weights." if weighted else
                                                     "95% DeLong intervals.") + "</p>")
        table = pd.DataFrame({"AUC": [interval_cell(r.auc, r.low, r.high, undefined=AUC_UNDEFINED)
                                     for r in auc.itertuples()]},
                             index=pd.Index(_group_labels(report) + ["(overall)"], name="group"))
        parts.append(_table(table))
    ks = report.score_distances("ks")
    if len(ks) <= 20:
        parts.append("<h3>KS distance between every two groups</h3>")
        parts.append(_table(ks, index_name="group"))
    return parts
