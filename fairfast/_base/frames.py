"""DataFrames in and out of the estimators: feature names, and the container of outputs.

scikit-learn's ``set_output`` API with fairfast's rules for what comes out:

- ``set_output(transform="default" | "pandas" | "polars")`` on the transformers (and
  the global ``sklearn.set_config(transform_output=...)``) sets the container of
  ``transform`` and ``fit_transform``; ``set_output(predict=...)`` on the classifiers
  sets the container of ``predict``, ``predict_proba`` and ``decision_function``
  (scikit-learn has no global setting for predictions; the default stays ndarray).
- A DataFrame output keeps the input's row index (pandas input; polars frames have
  none) and names its columns ``get_feature_names_out()``; a 1-D output (one score
  column, predictions) is a Series, named like the input Series (or the output's
  name) with the input's index.
- Containers are built through narwhals; the pandas index is then set on the result.

:class:`FrameOutputMixin` turns off scikit-learn's own output wrapping for the classes
that use it (it wraps the first positional argument's container only, which would turn
a 1-D score Series into a one-column DataFrame and lose its name).
"""

import numpy as np

__all__ = ["CONTAINERS", "FrameOutputMixin", "PredictionOutputMixin", "check_feature_names", "feature_names_from_state", "feature_names_state",
           "n_features_error", "to_container"]

#: The output containers of ``set_output``.
CONTAINERS = ("default", "pandas", "polars")


def check_feature_names(estimator, X, *, reset, count=True):
    """Record (``reset=True``) or check the column names and count of `X`.

    At fit, ``feature_names_in_`` is set when `X` is a DataFrame with string column
    names (and removed otherwise) and, with `count`, ``n_features_in_``. Later calls
    check them with scikit-learn's own messages and warnings ("X has 3 features, but
    ... is expecting 2 features as input", "The feature names should match those that
    were passed during fit", "X does not have valid feature names, but ... was fitted
    with feature names"). The data itself is not converted here. Estimators that
    count their columns themselves (1-D input allowed) pass ``count=False``; input
    that is not 2-D is left to the estimator's own checks ("Reshape your data").
    """
    from sklearn.utils.validation import validate_data

    ndim = None
    if count:
        ndim = len(X.shape) if hasattr(X, "shape") else np.asarray(X).ndim
    validate_data(estimator, X, reset=reset, skip_check_array=True, ensure_2d=count and ndim == 2)


def n_features_error(estimator, got, *, name="X", unit="feature(s)", one_d=False):
    """The ValueError of an input with `got` columns for a model fitted on ``n_features_in_``
    (worded for fairfast, with scikit-learn's phrase that its checks look for)."""
    expected, owner = estimator.n_features_in_, type(estimator).__name__
    hint = f"; Reshape your data: a 1-D {name} is one column" if one_d else ""
    return ValueError(f"{name} has {got} {unit} but the model was fitted on {expected} (X has {got} features, "
                      f"but {owner} is expecting {expected} features as input){hint}")


def feature_names_state(estimator):
    """``feature_names_in_`` as a JSON list of strings for a model file, or None."""
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(c) for c in names]


def feature_names_from_state(estimator, names):
    """`estimator` with ``feature_names_in_`` set from :func:`feature_names_state`
    output (None: files written before names were saved, or unnamed input); checked."""
    if names is None:
        return estimator
    if not (isinstance(names, list) and all(isinstance(c, str) for c in names) and len(set(names)) == len(names)
            and len(names) == estimator.n_features_in_):
        raise ValueError(f"model state is inconsistent: feature_names_in must be None or "
                         f"{estimator.n_features_in_} distinct strings, got {names!r}")
    estimator.feature_names_in_ = np.asarray(names, dtype=object)
    return estimator


def _index_of(X):
    """The pandas index of `X` (a pandas Series or DataFrame), else None."""
    import sys

    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(X, (pd.Series, pd.DataFrame)):
        return X.index
    return None


def _series_name(X):
    import narwhals.stable.v2 as nw

    obj = nw.from_native(X, pass_through=True, series_only=True)
    if isinstance(obj, nw.Series) and isinstance(obj.name, str) and obj.name:
        return obj.name
    return None


def to_container(values, X, container, *, columns=None, name=None):
    """`values` (1-D or 2-D ndarray) in `container`, with the index of `X` if it has one.

    Parameters
    ----------
    values : ndarray
    X : the input the values were computed from (its index, and for 1-D output its
        Series name, are kept)
    container : {"default", "pandas", "polars"}
    columns : list of str, optional
        Column names of a 2-D output (the first names a 1-D output of unnamed input).
    name : str, optional
        Name of a 1-D output, whatever the input's (a prediction); by default the input
        Series' name.
    """
    if container == "default":
        return values
    import narwhals.stable.v2 as nw

    values = np.asarray(values)
    index = _index_of(X) if container == "pandas" else None
    if index is not None and len(index) != values.shape[0]:
        index = None
    if values.ndim == 1:
        label = name or _series_name(X) or (str(columns[0]) if columns is not None and len(columns) else "")
        out = nw.new_series(label, values, backend=container).to_native()
    else:
        names = [str(c) for c in columns] if columns is not None else [f"x{j}" for j in range(values.shape[1])]
        out = nw.from_numpy(values, schema=names, backend=container).to_native()
    if index is not None:
        out.index = index
    return out


class FrameOutputMixin:
    """``set_output`` for the estimators, with the container rules of this module.

    A class lists the methods whose output ``set_output`` configures in
    ``_output_methods`` (``"transform"`` and/or ``"predict"``) and calls
    :meth:`_output` on its results.
    """

    _output_methods = ("transform",)

    def __init_subclass__(cls, **kwargs):
        # scikit-learn's _SetOutputMixin (a base of TransformerMixin) would wrap
        # transform/fit_transform itself
        if hasattr(cls, "_sklearn_auto_wrap_output_keys"):
            kwargs.setdefault("auto_wrap_output_keys", None)
        super().__init_subclass__(**kwargs)

    def set_output(self, *, transform=None, predict=None):
        """Set the output container of the estimator's methods.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            Container of ``transform`` and ``fit_transform`` (transformers). None
            leaves the setting unchanged (by default, the global
            ``sklearn.set_config(transform_output=...)``).
        predict : {"default", "pandas", "polars"} or None, default=None
            Container of ``predict``, ``predict_proba`` and ``decision_function``
            (classifiers): a Series (or a DataFrame with one column per class) keeping
            the input's index. None leaves the setting unchanged (by default ndarray).

        Returns
        -------
        self
        """
        config = self.__dict__.setdefault("_sklearn_output_config", {})
        for method, value in (("transform", transform), ("predict", predict)):
            if value is None:
                continue
            if method not in self._output_methods:
                raise ValueError(f"{type(self).__name__} has no {method} output to configure; "
                                 f"set_output takes {', '.join(m + '=' for m in self._output_methods)}")
            if not isinstance(value, str) or value not in CONTAINERS:
                raise ValueError(f"{method} must be one of {', '.join(map(repr, CONTAINERS))} or None; got {value!r}")
            if value != "default":
                import importlib

                try:
                    importlib.import_module(value)
                except ImportError:
                    raise ImportError(f"set_output({method}={value!r}) needs {value}; install it first") from None
            config[method] = value
        return self

    def _output_container(self, method):
        config = getattr(self, "_sklearn_output_config", {})
        if method in config:
            return config[method]
        if method == "transform":
            from sklearn import get_config

            return get_config()["transform_output"]
        return "default"

    def _output(self, method, values, X, *, columns=None, name=None):
        """`values` in the container configured for `method` ("transform" or "predict")."""
        return to_container(values, X, self._output_container(method), columns=columns, name=name)

    def _predicted(self, values, X, name="prediction"):
        """A classifier's output in the ``set_output(predict=...)`` container: a Series
        named `name`, or (class probabilities) one column per class of ``classes_``."""
        columns = [str(c) for c in self.classes_] if np.ndim(values) == 2 else None
        return self._output("predict", values, X, columns=columns, name=name)


class PredictionOutputMixin(FrameOutputMixin):
    """:class:`FrameOutputMixin` for classifiers: ``set_output(predict=...)`` sets the
    container of ``predict``, ``predict_proba`` and ``decision_function``."""

    _output_methods = ("predict",)
