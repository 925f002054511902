"""Which columns of a file a model reads and writes, from its serving contract.

Shared by :func:`fairfast.io.transform_file`, :func:`fairfast.io.fit_file` and
:mod:`fairfast.dask`. Every message names the argument as the caller knows it: a Python
keyword (``sensitive_features``) or, through :data:`CLI_NAMES`, a command-line flag
(``--sensitive``).
"""

from ._files import column_list

__all__ = ["ArgumentNames", "CLI_NAMES", "OUTPUT_KINDS", "ServedColumns", "fit_columns", "served_columns"]


class ArgumentNames:
    """How messages name the arguments: Python keywords, or CLI flags."""

    def __init__(self, names=None):
        self._names = names or {}

    def __call__(self, argument):
        return self._names.get(argument, argument)


PYTHON_NAMES = ArgumentNames()
CLI_NAMES = ArgumentNames({
    "scores": "--scores", "features": "--features", "sensitive_features": "--sensitive", "labels": "--label",
    "sample_weight": "--weight", "in_place": "--in-place", "suffix": "--suffix", "prefix": "--prefix",
    "outputs": "--outputs", "batch_size": "--batch-size", "on_invalid": "--on-invalid",
    "quarantine": "--quarantine", "estimator": "--estimator", "output": "--out", "input": "--data",
})

OUTPUT_KINDS = ("scores", "features")


class ServedColumns:
    """The columns a served model reads and writes in one file.

    inputs, sensitive : lists of column names; label : a column name or None;
    outputs : list of (output name, input column index or None, written column name).
    """

    def __init__(self, inputs, sensitive, label, outputs):
        self.inputs = inputs
        self.sensitive = sensitive
        self.label = label
        self.outputs = outputs

    @property
    def read(self):
        return self.inputs + self.sensitive + ([self.label] if self.label else [])

    @property
    def written(self):
        return [name for _, _, name in self.outputs]


def one_column(columns, argument, names):
    """The single column name `columns` gives for `argument`."""
    chosen = column_list(columns, names(argument))
    if len(chosen) != 1:
        raise ValueError(f"{names(argument)} must name one column, got {chosen}")
    return chosen[0]


def _recorded(metadata):
    columns = metadata.get("columns", {}) if isinstance(metadata, dict) else {}
    return columns if isinstance(columns, dict) else {}


def _inputs(spec, recorded, scores, features, names, estimator):
    given = {"scores": scores, "features": features}
    wrong = "features" if spec.inputs == "scores" else "scores"
    if given[wrong] is not None:
        raise ValueError(f"{estimator} reads {spec.inputs} columns, not {wrong}: pass {names(spec.inputs)} "
                         f"instead of {names(wrong)}")
    inputs = given[spec.inputs]
    if inputs is None:
        inputs = recorded.get("inputs", recorded.get("scores")) or (
            list(spec.input_names) if spec.input_names else None)
    if inputs is None:
        raise ValueError(f"{names(spec.inputs)} is required: the model file does not record the {spec.inputs} "
                         f"columns {estimator} was fit on")
    inputs = column_list(inputs, names(spec.inputs))
    if len(inputs) != spec.n_inputs:
        raise ValueError(f"{names(spec.inputs)} names {len(inputs)} column(s) but {estimator} reads "
                         f"{spec.n_inputs}")
    return inputs


def served_columns(spec, metadata, *, scores=None, features=None, sensitive_features=None, labels=None,
                   outputs=None, suffix="_fair", prefix="", in_place=False, names=PYTHON_NAMES):
    """Resolve a served model's columns; any mismatch raises ``ValueError`` naming the
    estimator and the argument (before any output exists)."""
    estimator = spec.estimator
    recorded = _recorded(metadata)
    inputs = _inputs(spec, recorded, scores, features, names, estimator)
    sensitive = []
    if spec.sensitive:
        chosen = sensitive_features if sensitive_features is not None else (
            recorded.get("sensitive") or (list(spec.sensitive_names) if spec.sensitive_names else None))
        if chosen is None:
            raise ValueError(f"{names('sensitive_features')} is required: {estimator} needs the sensitive "
                             f"column(s) and the model file does not record them")
        sensitive = column_list(chosen, names("sensitive_features"))
        if len(sensitive) != spec.n_sensitive:
            raise ValueError(f"{names('sensitive_features')} names {len(sensitive)} column(s) but {estimator} was "
                             f"fitted on {spec.n_sensitive}"
                             + (f" ({list(spec.sensitive_names)})" if spec.sensitive_names else ""))
    elif sensitive_features is not None:
        raise ValueError(f"{estimator} reads no sensitive features; drop {names('sensitive_features')}")
    label = None
    if labels is not None:
        if spec.labels == "none":
            raise ValueError(f"{estimator} takes no labels when served; drop {names('labels')}")
        label = one_column(labels, "labels", names)
    available = [o.name for o in spec.outputs]
    chosen = available if outputs is None else column_list(outputs, names("outputs"))
    unknown = [o for o in chosen if o not in available]
    if unknown:
        raise ValueError(f"{names('outputs')} names {unknown}, which {estimator} does not write; its outputs are "
                         f"{available}")
    if not in_place and any(spec.output(o).per_input for o in chosen) and (not isinstance(suffix, str) or not suffix):
        raise ValueError(f"{names('suffix')} must be a non-empty string (or use {names('in_place')}), got {suffix!r}")
    if not isinstance(prefix, str):
        raise ValueError(f"{names('prefix')} must be a string, got {prefix!r}")
    written = []
    for o in chosen:
        if spec.output(o).per_input:
            written.extend((o, j, col if in_place else col + suffix) for j, col in enumerate(inputs))
        else:
            written.append((o, None, prefix + o))
    return ServedColumns(inputs, sensitive, label, written)


def check_output_names(columns, present, in_place, source, names):
    """Written columns must not clash with the input's (except in-place replacements)."""
    replaced = set(columns.inputs) if in_place else set()
    clash = [c for c in columns.written if c in present and c not in replaced]
    if clash:
        raise ValueError(f"{source} already has column(s) {clash}; choose another {names('suffix')} or "
                         f"{names('prefix')}, or use {names('in_place')}")
    seen = set()
    for c in columns.written:
        if c in seen:
            raise ValueError(f"two outputs would be written to column {c!r}; choose another {names('prefix')}")
        seen.add(c)


def fit_columns(decl, estimator, *, scores=None, features=None, sensitive_features=None, labels=None,
                sample_weight=None, names=PYTHON_NAMES):
    """Columns to read to fit a model kind from a file: (inputs, sensitive, label, weight)."""
    given = {"scores": scores, "features": features}
    wrong = "features" if decl.inputs == "scores" else "scores"
    if given[wrong] is not None:
        raise ValueError(f"{estimator} is fitted on {decl.inputs} columns, not {wrong}: pass {names(decl.inputs)} "
                         f"instead of {names(wrong)}")
    inputs = column_list(given[decl.inputs], names(decl.inputs))
    sensitive = []
    if decl.sensitive_at_fit:
        sensitive = column_list(sensitive_features, names("sensitive_features"))
    elif sensitive_features is not None:
        raise ValueError(f"{estimator} takes no sensitive features; drop {names('sensitive_features')}")
    label = None
    if labels is not None:
        if decl.fit_labels == "none":
            raise ValueError(f"{estimator} is fitted without labels; drop {names('labels')}")
        label = one_column(labels, "labels", names)
    elif decl.fit_labels == "required":
        raise ValueError(f"{names('labels')} is required: {estimator} is fitted on labels")
    weight = None
    if sample_weight is not None:
        if not decl.sample_weight:
            raise ValueError(f"{estimator} takes no sample weights; drop {names('sample_weight')}")
        weight = one_column(sample_weight, "sample_weight", names)
    every = inputs + sensitive + ([label] if label else []) + ([weight] if weight else [])
    if len(set(every)) != len(every):
        raise ValueError(f"a column is named twice among {names(decl.inputs)}, {names('sensitive_features')}, "
                         f"{names('labels')} and {names('sample_weight')}: {every}")
    return inputs, sensitive, label, weight
