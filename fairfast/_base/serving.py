"""The serving contract: what a fitted model reads and writes in a batch job.

Every model kind that the CLI, :mod:`fairfast.io` and :mod:`fairfast.dask` serve
declares, as a class attribute ``_serving`` (:class:`Serving`), what it reads -- score
columns or feature columns, sensitive columns (matched by name), labels where the
method needs them -- and what it writes (:class:`Output`), and implements one batch
method, :meth:`ServingMixin.serve`, whose output does not depend on batching, threads
or partitioning: a batch of rows ``a:b`` served with ``row_offset=a`` gives exactly rows
``a:b`` of one call on all rows. The batch tools use this contract alone; they never
special-case an estimator.

``serve(..., invalid="mask")`` does not refuse rows with a non-finite input, an unseen
or missing group: it computes the others and reports the invalid rows (every output of
a model depends on its own row only, and on the row's global index, so the valid rows
are exactly what a call without the invalid ones would give).
"""

from typing import NamedTuple

import numpy as np

__all__ = ["Output", "Serving", "ServingMixin", "ServingSpec"]


class Output(NamedTuple):
    """One output of a served model.

    name : key in :meth:`ServingMixin.serve`'s result ("scores", "features",
        "decision", "probability", "group").
    per_input : one column per input column (written beside each, or in its place) or
        one column of its own.
    kind : "float" (the inputs' float dtype), "int" (int64) or "classes" (the dtype of
        the estimator's ``classes_``).
    description : what a user reads in ``--help`` and errors.
    """

    name: str
    per_input: bool
    kind: str
    description: str


class Serving(NamedTuple):
    """What a model kind reads (at fit and when served) and writes."""

    inputs: str  # "scores" or "features"
    sensitive: bool  # needs sensitive features when served
    fit_labels: str  # labels at fit: "none", "optional" or "required"
    labels: str  # labels when served: "none" or "optional"
    outputs: tuple  # of Output
    sample_weight: bool = False  # fit accepts sample_weight
    fit_sensitive: bool = None  # needs sensitive features at fit (None: as when served)

    @property
    def sensitive_at_fit(self):
        return self.sensitive if self.fit_sensitive is None else self.fit_sensitive


class ServingSpec(NamedTuple):
    """A fitted model's serving contract (see :meth:`ServingMixin.serving_spec`)."""

    estimator: str
    inputs: str
    n_inputs: int
    input_names: tuple  # names seen at fit, or None
    sensitive: bool
    sensitive_names: tuple  # sensitive column names seen at fit, or None
    n_sensitive: int
    labels: str
    outputs: tuple

    def output(self, name):
        for out in self.outputs:
            if out.name == name:
                return out
        raise ValueError(f"{self.estimator} has no output {name!r}; its outputs are "
                         f"{[o.name for o in self.outputs]}")


class ServingMixin:
    """``serving_spec()`` and ``serve()`` from the class's ``_serving`` declaration and its
    ``_serve(X, sensitive_features, y, row_offset)`` method."""

    _serving = None

    def serving_spec(self):
        """The fitted model's serving contract.

        Returns
        -------
        ServingSpec
            ``estimator`` (model-file name), ``inputs`` ("scores" or "features"),
            ``n_inputs`` and ``input_names`` (as seen at fit, None if unnamed),
            ``sensitive`` (whether sensitive features are read), ``sensitive_names``
            and ``n_sensitive``, ``labels`` ("none" or "optional") and ``outputs``.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        decl = self._serving
        names = getattr(self, "feature_names_in_", None)
        grouping = getattr(self, "grouping_", None) if decl.sensitive else None
        return ServingSpec(
            estimator=self._model_file_name(),
            inputs=self._serving_inputs(),
            n_inputs=int(self.n_features_in_),
            input_names=None if names is None else tuple(str(c) for c in names),
            sensitive=decl.sensitive,
            sensitive_names=None if grouping is None or grouping.names is None else tuple(grouping.names),
            n_sensitive=0 if grouping is None else grouping.n_columns,
            labels=decl.labels,
            outputs=decl.outputs,
        )

    def serve(self, X, *, sensitive_features=None, y=None, row_offset=0, invalid="raise"):
        """Serve one batch of rows: every output of the model (see ``serving_spec``).

        Parameters
        ----------
        X : array-like of shape (n_rows, n_inputs)
            The input columns (scores or features) of the batch.
        sensitive_features : optional
            The batch's sensitive features (any form the estimator takes), for models
            that read them.
        y : array-like of shape (n_rows,), optional
            Labels, for models that use them when served.
        row_offset : int, default=0
            Global index of the batch's first row.
        invalid : {"raise", "mask"}, default="raise"
            ``"raise"``: a non-finite input, unseen or missing group raises as in the
            estimator's own methods. ``"mask"``: such rows are reported in the result's
            ``"invalid"`` entry (a boolean array) and their outputs are meaningless.

        Returns
        -------
        dict
            Output name -> ndarray with one row per input row (2-D for per-input
            outputs), plus ``"invalid"`` with ``invalid="mask"``.
        """
        from .validation import as_float_array, check_choice, check_row_offset

        check_choice(invalid, "invalid", ("raise", "mask"))
        offset = check_row_offset(row_offset)
        spec = self.serving_spec()
        X = as_float_array(X, "X", ndim=2, check_finite=False)
        if X.shape[1] != spec.n_inputs:
            raise ValueError(f"X has {X.shape[1]} column(s) but {spec.estimator} reads {spec.n_inputs} "
                             f"{spec.inputs} column(s)")
        if spec.sensitive and sensitive_features is None:
            raise ValueError(f"{spec.estimator} needs sensitive_features to serve rows")
        if spec.labels == "none" and y is not None:
            raise ValueError(f"{spec.estimator} takes no labels when served; do not pass y")
        n = X.shape[0]
        if n == 0:  # nothing to compute (and some estimators refuse empty inputs)
            result = {o.name: self._placeholder(o, X) for o in spec.outputs}
            if invalid == "mask":
                result["invalid"] = np.zeros(0, dtype=bool)
            return result
        X = self._named(X)
        if invalid == "raise":
            out = self._serve(X, sensitive_features, y, offset)
            return {k: np.asarray(v) for k, v in out.items()}
        values = np.asarray(X)
        bad = ~np.isfinite(values).all(axis=1) if values.size else np.zeros(n, dtype=bool)
        sensitive = None
        if spec.sensitive:
            sensitive = self.grouping_.read(sensitive_features, n, what="X has", mask=True)
            bad |= self._invalid_groups(sensitive)
        bad |= self._invalid_inputs(values)
        good = np.flatnonzero(~bad)
        if good.size == 0:  # nothing to compute: placeholders of the right dtypes
            result = {o.name: self._placeholder(o, values) for o in spec.outputs}
        else:
            if good.size < n:
                values = values.copy()
                values[bad] = values[good[0]]
                X = self._named(values)
                if sensitive is not None:
                    sensitive = sensitive.patched(bad, good[0])
                if y is not None:
                    y = np.asarray(y).copy()
                    y[bad] = y[good[0]]
            result = {k: np.asarray(v) for k, v in self._serve(X, sensitive, y, offset).items()}
        result["invalid"] = bad
        return result

    def _named(self, X):
        """`X` as a DataFrame with the column names seen at fit, for estimators that
        check them (the batch tools matched the columns by name already)."""
        names = getattr(self, "feature_names_in_", None)
        if names is None or not isinstance(X, np.ndarray):
            return X
        import pandas as pd

        return pd.DataFrame(X, columns=list(names), copy=False)

    def _serving_inputs(self):
        return self._serving.inputs

    def _invalid_groups(self, read):
        """Rows of `read` (sensitive columns read with mask=True) the model cannot serve."""
        bad = read.invalid_rows()
        for index in self._group_indexes():
            bad |= self.grouping_.apply_index(index, read.patched(bad, None), mask=True) < 0
        return bad

    def _group_indexes(self):
        return [self.grouping_.index]

    def _placeholder(self, output, X):
        n = X.shape[0]
        shape = (n, X.shape[1]) if output.per_input else (n,)
        if output.kind == "float":
            return np.full(shape, np.nan, dtype=X.dtype)
        if output.kind == "classes":
            return np.zeros(shape, dtype=np.asarray(self.classes_).dtype)
        return np.zeros(shape, dtype=np.int64)

    def _invalid_inputs(self, X):
        """Rows whose finite inputs the model still cannot take (e.g. log-normal family)."""
        return np.zeros(X.shape[0], dtype=bool)


