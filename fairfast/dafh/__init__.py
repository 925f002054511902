"""Demographic-agnostic fairness without harm (DAFH).

- :class:`DAFHClassifier`: a group classifier learned without sensitive attributes,
  jointly with one logistic classifier per group, trained by a compiled (Numba)
  mini-batch kernel.
- Baselines with the same interface: :class:`PooledClassifier` (one model),
  :class:`TrivialPartitionClassifier` (one model per sensitive-attribute value, the
  only one that uses the attribute), :class:`KMeansPartitionClassifier` and
  :class:`DecouplingTreeClassifier` (Ustun, Liu and Parkes's recursive partitioning on
  several sensitive attributes, pruned by preference tests; it uses them too).

Every classifier has ``predict``, ``predict_proba``, ``assign_groups``,
``predict_each`` (the 0/1 predictions of the pooled model and of every group model)
and ``group_sizes_``. Numba is imported the first time a :class:`DAFHClassifier` is
fit or used, never by ``import fairfast.dafh``.
"""

from ._baselines import KMeansPartitionClassifier, PooledClassifier, TrivialPartitionClassifier
from ._classifier import DAFHClassifier
from ._tree import DecouplingTreeClassifier

__all__ = ["DAFHClassifier", "DecouplingTreeClassifier", "KMeansPartitionClassifier", "PooledClassifier",
           "TrivialPartitionClassifier"]
