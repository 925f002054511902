"""GroupReport as a dict (JSON) and as text that fits a given width."""

import numpy as np

from ._bootstrap import plain_number
from ._disparities import _METHODS

__all__ = ["NO_PREDICTIONS_NOTE", "interval_cell", "report_dict", "report_text", "wrap_table"]

#: What a report of scores without predicted labels shows, and how to get the rest.
NO_PREDICTIONS_NOTE = (
    "No predicted labels: the threshold metrics (selection rate, true and false positive rates, "
    "predictive values, accuracy) and the disparities built on them (demographic parity, equalized odds, "
    "equal opportunity, predictive and accuracy parity) need a decision. Shown instead: the score's mean and "
    "calibration error by group, its AUC by group and the score-distribution disparities (KS and W1 "
    "unfairness: 0 means every threshold treats the groups alike). To see the threshold metrics, give a "
    "threshold (threshold=t, or --threshold T in fairfast audit: the decision is score >= T) or predicted "
    "labels (y_pred, or --pred COLUMN)."
)


def _fmt(v, digits):
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if not isinstance(v, (float, np.floating)):
        return str(v)
    return "nan" if np.isnan(v) else f"{v:.{digits}f}"


#: What an AUC cell shows for a group whose rows all have the same label.
AUC_UNDEFINED = "n/a (one class)"


def interval_cell(v, lo=None, hi=None, digits=3, undefined=None):
    """``"0.576 [0.558, 0.592]"`` (the interval only when both ends are numbers); a NaN
    value is shown as ``undefined`` when given (say why a measure has no value)."""
    if undefined is not None and np.isnan(v):
        return undefined
    s = _fmt(v, digits)
    if lo is not None and hi is not None and not (np.isnan(lo) or np.isnan(hi)):
        s += f" [{_fmt(float(lo), digits)}, {_fmt(float(hi), digits)}]"
    return s


def wrap_table(index, columns, width, gap=2):
    """Lines of a right-aligned table with row labels ``index`` and ``columns``, a list
    of ``(name, cells)``; columns that do not fit in ``width`` go to further blocks
    (each repeating the row labels)."""
    iw = max(len(s) for s in index)
    blocks, current, used = [], [], iw
    for name, cells in columns:
        cw = max([len(name)] + [len(c) for c in cells])
        if current and used + gap + cw > width:
            blocks.append(current)
            current, used = [], iw
        current.append((name, cells, cw))
        used += gap + cw
    blocks.append(current)
    lines = []
    for b, block in enumerate(blocks):
        if b:
            lines.append("")
        lines.append((" " * iw + "".join(" " * gap + name.rjust(cw) for name, _, cw in block)).rstrip())
        for r, label in enumerate(index):
            lines.append(label.ljust(iw) + "".join(" " * gap + cells[r].rjust(cw) for _, cells, cw in block))
    return lines


def _group_labels(report):
    small = set(report.small_groups)
    return [report.display_name(g) + (" *" if g in small else "") for g in report.by_group.index]


def _metric_columns(report, digits):
    b = report.bootstrap_
    columns = []
    for c in report.by_group.columns:
        cells = []
        for g in report.by_group.index:
            v = report.by_group.loc[g, c]
            if b is not None and c in b.by_group_low and c != "count":
                cells.append(interval_cell(v, b.by_group_low.loc[g, c], b.by_group_high.loc[g, c], digits))
            else:
                cells.append(interval_cell(v, digits=digits))
        ov = report.overall[c]
        if c == "count":
            cells.append(str(int(ov)))
        elif b is not None and c in b.overall.index:
            cells.append(interval_cell(ov, b.overall.loc[c, "low"], b.overall.loc[c, "high"], digits))
        else:
            cells.append(interval_cell(ov, digits=digits))
        columns.append((c, cells))
    return columns


def has_predictions(report):
    """Whether the report has predicted labels (given, or scores >= threshold)."""
    return report._inputs.y_pred is not None


def report_text(report, digits=3, width=100):
    inputs, b = report._inputs, report.bootstrap_
    names = ", ".join(str(n) for n in inputs.groups.names)
    lines = [f"Group report: {len(report.by_group)} groups of {names}, {inputs.n} rows"]
    if b is not None:
        lines.append(f"[low, high]: {100 * b.confidence_level:g}% stratified bootstrap percentile intervals, "
                     f"{b.n_replicates} replicates")
    if len(report.small_groups):
        shown = ", ".join(f"{report.display_name(g)} ({int(report.group_sizes[g])})" for g in report.small_groups)
        lines += _wrap(f"* groups with fewer than {report.min_group_size} rows: {shown}", width)
    if report.merged_groups:
        lines += _wrap(f"{report.other_label} pools the groups with fewer than {report.min_group_size} rows: "
                       + ", ".join(report.display_name(g) for g in report.merged_groups), width)
    if inputs.scores is not None and not has_predictions(report):
        lines += [""] + _wrap(NO_PREDICTIONS_NOTE, width)
    lines += [""] + wrap_table(_group_labels(report) + ["(overall)"], _metric_columns(report, digits), width)
    disp = report.disparities()
    if len(disp):
        flags = report.set_by_small_groups()
        marked = bool(flags.any())
        head = "Disparities (between groups)"
        if marked:
            head += "; * set by small groups, followed by the value without them"
        lines += ["", head + ":"]
        without = report.disparities(include_small_groups=False)
        w = max(len(d) for d in disp.index)
        cells = []
        for d, v in disp.items():
            lo_hi = ((b.disparities["between_groups"].loc[d, "low"], b.disparities["between_groups"].loc[d, "high"])
                     if b is not None else (None, None))
            cells.append(interval_cell(v, *lo_hi, digits=digits))
        cw = max(len(c) for c in cells)
        for (d, _), cell in zip(disp.items(), cells):
            tail = f"  * {_fmt(without[d], digits)}" if flags[d] else ""
            lines.append(f"  {d:<{w}}  {cell:<{cw}}{tail}".rstrip())
    if inputs.scores is not None:
        lines += _score_text(report, digits, width)
    return "\n".join(lines)


def _score_text(report, digits, width):
    inputs = report._inputs
    lines = []
    if inputs.y_true is not None:
        auc = report.auc_by_group()
        how = "weighted; no interval with weights" if inputs.sample_weight is not None else \
            "[low, high]: 95% DeLong interval"
        cells = [interval_cell(r.auc, r.low, r.high, digits, undefined=AUC_UNDEFINED) for r in auc.itertuples()]
        lines += ["", f"AUC of the score by group ({how}):"]
        lines += wrap_table(_group_labels(report) + ["(overall)"], [("auc", cells)], width)
    sd = report.score_disparities()
    lines += ["", "Score-distribution disparities (largest distance between two groups' score distributions):"]
    marked = bool(sd["set_by_small_group"].any())
    for name, r in sd.iterrows():
        tail = f"  * {_fmt(r.without_small_groups, digits)} without small groups" if r.set_by_small_group else ""
        lines.append(f"  {name:<13}  {_fmt(r.value, digits)}  ({r.group_a} vs {r.group_b}){tail}")
    if marked:
        lines.append("  * set by a small group")
    return lines


def _wrap(text, width):
    import textwrap

    return textwrap.wrap(text, width=width, break_on_hyphens=False, subsequent_indent="  ")


def report_dict(report):
    """:meth:`GroupReport.to_dict`."""
    inputs = report._inputs

    def label(g):
        return [plain_number(x) for x in g] if isinstance(g, tuple) else plain_number(g)

    out = {
        "sensitive_features": list(inputs.groups.names),
        "n_rows": int(inputs.n),
        "groups": [label(g) for g in report.by_group.index],
        "group_sizes": [int(v) for v in report.group_sizes],
        "min_group_size": report.min_group_size,
        "small_groups_policy": report.small_groups_policy,
        "small_groups": [label(g) for g in report.small_groups],
        "merged_groups": [label(g) for g in report.merged_groups],
        "by_group": {c: [plain_number(v) for v in report.by_group[c]] for c in report.by_group.columns},
        "overall": {c: plain_number(v) for c, v in report.overall.items()},
        "difference": {m: {c: plain_number(v) for c, v in report.difference(m).items()} for m in _METHODS},
        "ratio": {m: {c: plain_number(v) for c, v in report.ratio(m).items()} for m in _METHODS},
        "disparities": {m: {c: plain_number(v) for c, v in report.disparities(m).items()} for m in _METHODS},
        "disparities_set_by_small_groups": {m: [d for d, f in report.set_by_small_groups(m).items() if f]
                                            for m in _METHODS},
        "disparities_without_small_groups": {
            m: {c: plain_number(v) for c, v in report.disparities(m, include_small_groups=False).items()}
            for m in _METHODS},
        "notes": [],
    }
    if inputs.scores is not None:
        if not has_predictions(report):
            out["notes"].append(NO_PREDICTIONS_NOTE)
        sd = report.score_disparities()
        out["score_disparities"] = {name: {k: plain_number(v) for k, v in row.items()} for name, row in sd.iterrows()}
        if inputs.y_true is not None:
            auc = report.auc_by_group()
            out["auc_by_group"] = {"groups": [report.display_name(g) for g in report.by_group.index] + ["(overall)"],
                                   **{c: [plain_number(v) for v in auc[c]] for c in auc.columns}}
    if report.bootstrap_ is not None:
        b = report.bootstrap_
        out["bootstrap"] = b.to_dict()
        out["bootstrap"]["by_group_low"] = {c: [plain_number(v) for v in b.by_group_low[c]] for c in b.by_group_low}
        out["bootstrap"]["by_group_high"] = {c: [plain_number(v) for v in b.by_group_high[c]] for c in b.by_group_high}
    return out
