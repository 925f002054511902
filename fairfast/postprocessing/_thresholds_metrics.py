"""Group metrics, constraints and objectives of :class:`GroupThresholds`, built from
per-group (weighted) confusion counts.

Along a group's monotone rules (accept the best-scored members first) the accepted
positives ``tp`` and accepted negatives ``fp`` grow; ``fn = P - tp`` and
``tn = N - fp`` with the group's totals ``P`` and ``N``. Every metric here is a ratio
of two linear forms in the counts, so along a segment between two breakpoints it is a
ratio of linear functions of the tie fraction (monotone on the segment), and linear
when its denominator does not change (a *rate*: selection rate, TPR, FPR, accuracy...).
"""

import numbers

import numpy as np

__all__ = ["Rate", "RATES", "FORMS", "NAMED_CONSTRAINTS", "Objective", "parse_constraints", "parse_objective",
           "rate_of"]

COUNTS = ("tp", "fp", "fn", "tn")
FORMS = ("difference", "ratio", "minimum", "maximum")
COUPLING = ("difference", "ratio")


class Rate:
    """A group metric ``numerator / denominator``, both linear in (tp, fp, fn, tn).

    ``numerator`` and ``denominator`` map count names to coefficients, or (for metrics
    normalised by the group's own totals, such as balanced accuracy) are computed by
    ``parts(tp, fp, P, N)``. ``linear`` is True when the denominator does not change
    along a group's rules; ``direction`` is +1 (non-decreasing as more members are
    accepted), -1 (non-increasing) or 0 (neither, or unknown).
    """

    def __init__(self, name, numerator=None, denominator=None, *, parts=None, linear=None, direction=None):
        self.name = name
        self.numerator = dict(numerator or {})
        self.denominator = dict(denominator or {})
        self._parts = parts
        for side in (self.numerator, self.denominator):
            for key, coef in side.items():
                if key not in COUNTS:
                    raise ValueError(f"metric {name!r}: unknown count {key!r}; use {', '.join(COUNTS)}")
                if isinstance(coef, bool) or not isinstance(coef, numbers.Real) or not np.isfinite(coef):
                    raise ValueError(f"metric {name!r}: coefficient of {key!r} must be a finite number, got {coef!r}")
        if parts is None and not self.denominator:
            raise ValueError(f"metric {name!r}: the denominator needs at least one count")
        d = self.denominator
        self.linear = linear if linear is not None else (
            d.get("tp", 0) == d.get("fn", 0) and d.get("fp", 0) == d.get("tn", 0))
        if direction is None:
            n = self.numerator
            a, b = n.get("tp", 0) - n.get("fn", 0), n.get("fp", 0) - n.get("tn", 0)
            direction = 0 if not self.linear else (1 if a >= 0 and b >= 0 else (-1 if a <= 0 and b <= 0 else 0))
        self.direction = direction

    @staticmethod
    def _form(coef, tp, fp, P, N):
        return (coef.get("tp", 0) * tp + coef.get("fp", 0) * fp + coef.get("fn", 0) * (P - tp)
                + coef.get("tn", 0) * (N - fp))

    def parts(self, tp, fp, P, N):
        """(numerator, denominator) arrays at accepted positives ``tp`` and negatives ``fp``."""
        if self._parts is not None:
            return self._parts(tp, fp, P, N)
        num = self._form(self.numerator, tp, fp, P, N)
        den = self._form(self.denominator, tp, fp, P, N)
        return np.broadcast_to(np.asarray(num, dtype=float), np.shape(tp)), \
            np.broadcast_to(np.asarray(den, dtype=float), np.shape(tp))

    def value(self, tp, fp, P, N):
        num, den = self.parts(np.asarray(tp, dtype=float), np.asarray(fp, dtype=float), P, N)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    def to_json(self):
        return {"name": self.name, "numerator": self.numerator, "denominator": self.denominator}

    def __repr__(self):
        return f"Rate({self.name!r})"


def _balanced(tp, fp, P, N):
    tp = np.asarray(tp, dtype=float)
    return tp / P * 0.5 + (N - np.asarray(fp, dtype=float)) / N * 0.5, np.ones_like(tp)


RATES = {
    "selection_rate": Rate("selection_rate", {"tp": 1, "fp": 1}, dict.fromkeys(COUNTS, 1)),
    "true_positive_rate": Rate("true_positive_rate", {"tp": 1}, {"tp": 1, "fn": 1}),
    "false_positive_rate": Rate("false_positive_rate", {"fp": 1}, {"fp": 1, "tn": 1}),
    "true_negative_rate": Rate("true_negative_rate", {"tn": 1}, {"fp": 1, "tn": 1}),
    "false_negative_rate": Rate("false_negative_rate", {"fn": 1}, {"tp": 1, "fn": 1}),
    "positive_predictive_value": Rate("positive_predictive_value", {"tp": 1}, {"tp": 1, "fp": 1}),
    "negative_predictive_value": Rate("negative_predictive_value", {"tn": 1}, {"tn": 1, "fn": 1}),
    "accuracy": Rate("accuracy", {"tp": 1, "tn": 1}, dict.fromkeys(COUNTS, 1)),
    "balanced_accuracy": Rate("balanced_accuracy", parts=_balanced, linear=True, direction=0),
    "f1": Rate("f1", {"tp": 2}, {"tp": 2, "fp": 1, "fn": 1}),
}
_RATE_ALIASES = {"recall": "true_positive_rate", "tpr": "true_positive_rate", "fpr": "false_positive_rate",
                 "specificity": "true_negative_rate", "tnr": "true_negative_rate", "fnr": "false_negative_rate",
                 "precision": "positive_predictive_value", "ppv": "positive_predictive_value",
                 "npv": "negative_predictive_value"}

# constraint name -> metrics held equal (difference <= tolerance)
NAMED_CONSTRAINTS = {
    "demographic_parity": ("selection_rate",),
    "selection_rate_parity": ("selection_rate",),
    "equal_opportunity": ("true_positive_rate",),
    "true_positive_rate_parity": ("true_positive_rate",),
    "false_negative_rate_parity": ("false_negative_rate",),
    "false_positive_rate_parity": ("false_positive_rate",),
    "true_negative_rate_parity": ("true_negative_rate",),
    "equalized_odds": ("true_positive_rate", "false_positive_rate"),
    "predictive_parity": ("positive_predictive_value",),
    "negative_predictive_value_parity": ("negative_predictive_value",),
    "accuracy_parity": ("accuracy",),
}
# the constraint_ attribute written by earlier releases (and read from their model files)
CANONICAL = {"demographic_parity": "demographic_parity", "selection_rate_parity": "demographic_parity",
             "equal_opportunity": "true_positive_rate_parity", "true_positive_rate_parity": "true_positive_rate_parity"}


def rate_of(spec):
    """A :class:`Rate` from a name, an alias, a ``{"numerator": ..., "denominator": ...}`` dict or a Rate."""
    if isinstance(spec, Rate):
        return spec
    if isinstance(spec, str):
        key = _RATE_ALIASES.get(spec, spec)
        if key not in RATES:
            raise ValueError(f"unknown metric {spec!r}; use one of {', '.join(sorted(RATES))} (or "
                             f"{', '.join(sorted(_RATE_ALIASES))}), or a dict with 'numerator' and 'denominator'")
        return RATES[key]
    if isinstance(spec, dict):
        extra = set(spec) - {"name", "numerator", "denominator"}
        if extra or "numerator" not in spec or "denominator" not in spec:
            raise ValueError("a custom metric is a dict with 'numerator' and 'denominator' (count -> coefficient, "
                             f"counts {', '.join(COUNTS)}) and an optional 'name'; got keys {sorted(spec)}")
        return Rate(spec.get("name", "custom"), spec["numerator"], spec["denominator"])
    raise TypeError(f"a metric is a name or a dict, got {type(spec).__name__}")


class Spec:
    """One constraint: ``form`` of ``rate`` across groups with ``value``."""

    __slots__ = ("rate", "form", "value")

    def __init__(self, rate, form, value):
        self.rate, self.form, self.value = rate, form, value

    def __repr__(self):
        return f"({self.rate.name!r}, {self.form!r}, {self.value!r})"


def _spec(item):
    if not isinstance(item, (tuple, list)) or len(item) != 3:
        raise ValueError(f"a constraint is (metric, form, value) with form one of {', '.join(FORMS)}, got {item!r}")
    metric, form, value = item
    if form not in FORMS:
        raise ValueError(f"constraint form must be one of {', '.join(FORMS)}, got {form!r}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"constraint value must be a finite number, got {value!r}")
    value = float(value)
    if form == "difference" and value < 0:
        raise ValueError(f"a difference constraint needs a value >= 0, got {value}")
    if form == "ratio" and not 0 < value <= 1:
        raise ValueError(f"a ratio constraint (smallest / largest group value) needs a value in (0, 1], got {value}")
    return Spec(rate_of(metric), form, value)


def parse_constraints(constraint, tolerance):
    """The constraint parameter as a list of :class:`Spec` (named constraints use ``tolerance``)."""
    if isinstance(constraint, str):
        if constraint not in NAMED_CONSTRAINTS:
            raise ValueError(f"constraint must be one of {', '.join(NAMED_CONSTRAINTS)}, or a list of "
                             f"(metric, form, value) constraints; got {constraint!r}")
        return [Spec(RATES[m], "difference", float(tolerance)) for m in NAMED_CONSTRAINTS[constraint]]
    if isinstance(constraint, tuple) and len(constraint) == 3 and isinstance(constraint[1], str):
        constraint = [constraint]
    if not isinstance(constraint, (list, tuple)) or not constraint:
        raise ValueError("constraint must be a name or a non-empty list of (metric, form, value) constraints, "
                         f"got {constraint!r}")
    specs = [_spec(item) for item in constraint]
    coupled = {s.rate.name for s in specs if s.form in COUPLING}
    if len(coupled) > 2:
        raise ValueError(f"at most two metrics can be coupled across groups (difference or ratio), got "
                         f"{sorted(coupled)}: the exact search couples all groups through one window per metric")
    return specs


class Objective:
    """Utility ``sum(w . counts) / total`` (linear) or a ratio of two such sums (fractional).

    ``weights`` and ``denominator`` map (tp, fp, fn, tn) to coefficients applied to the
    counts summed over all rows; ``normalise`` divides by the total weight.
    """

    def __init__(self, name, weights, denominator=None, normalise=True):
        self.name, self.weights, self.denominator, self.normalise = name, weights, denominator, normalise

    @property
    def fractional(self):
        return self.denominator is not None

    def value(self, counts):
        """Objective of summed counts ``{"tp": .., "fp": .., "fn": .., "tn": ..}``."""
        num = sum(self.weights.get(k, 0.0) * counts[k] for k in COUNTS)
        if self.fractional:
            den = sum(self.denominator.get(k, 0.0) * counts[k] for k in COUNTS)
            return num / den if den > 0 else np.nan
        return num / sum(counts[k] for k in COUNTS) if self.normalise else num


def _weights(spec, what):
    if not isinstance(spec, dict) or not spec or set(spec) - set(COUNTS):
        raise ValueError(f"{what} must be a dict mapping some of {', '.join(COUNTS)} to numbers, got {spec!r}")
    out = {}
    for k, v in spec.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise ValueError(f"{what}: the weight of {k!r} must be a finite number, got {v!r}")
        out[k] = float(v)
    return out


def parse_objective(objective, cost_matrix, P, N):
    """An :class:`Objective` from the parameters (``P``, ``N``: total positive and negative weight)."""
    if isinstance(objective, dict):
        if cost_matrix is not None:
            raise ValueError("cost_matrix is only used with objective='cost'")
        if "numerator" in objective or "denominator" in objective:
            if set(objective) != {"numerator", "denominator"}:
                raise ValueError("a fractional objective is {'numerator': {...}, 'denominator': {...}}")
            return Objective("custom", _weights(objective["numerator"], "objective numerator"),
                             _weights(objective["denominator"], "objective denominator"))
        return Objective("custom", _weights(objective, "objective"))
    if objective == "cost":
        if cost_matrix is None:
            raise ValueError("objective='cost' needs cost_matrix, a 2x2 array [[TN, FP], [FN, TP]] of costs")
        try:
            c = np.asarray(cost_matrix, dtype=float)
        except (TypeError, ValueError):  # ragged rows, strings
            raise ValueError(f"cost_matrix must be a finite 2x2 array of numbers [[TN, FP], [FN, TP]], "
                             f"got {cost_matrix!r}") from None
        if c.shape != (2, 2) or not np.isfinite(c).all():
            raise ValueError(f"cost_matrix must be a finite 2x2 array [[TN, FP], [FN, TP]], got shape {c.shape}")
        return Objective("cost", {"tn": -c[0, 0], "fp": -c[0, 1], "fn": -c[1, 0], "tp": -c[1, 1]})
    if cost_matrix is not None:
        raise ValueError(f"cost_matrix is only used with objective='cost', got objective={objective!r}")
    if objective == "accuracy":
        return Objective("accuracy", {"tp": 1.0, "tn": 1.0})
    if objective == "balanced_accuracy":
        if not (P > 0 and N > 0):
            raise ValueError("objective='balanced_accuracy' needs both positive and negative labels in y")
        return Objective("balanced_accuracy", {"tp": 0.5 / P, "tn": 0.5 / N}, normalise=False)
    if objective == "f1":
        return Objective("f1", {"tp": 2.0}, {"tp": 2.0, "fp": 1.0, "fn": 1.0})
    if objective == "precision":
        return Objective("precision", {"tp": 1.0}, {"tp": 1.0, "fp": 1.0})
    raise ValueError("objective must be 'accuracy', 'balanced_accuracy', 'cost', 'f1', 'precision', a dict of "
                     f"count weights, or {{'numerator': ..., 'denominator': ...}}; got {objective!r}")


OBJECTIVES = ("accuracy", "balanced_accuracy", "cost", "f1", "precision")
