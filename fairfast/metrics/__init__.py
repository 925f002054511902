"""Fairness measures.

- :func:`unfairness`: the largest distance (KS, W1 or W2) between two groups' score
  distributions.
"""

from ._distributional import pairwise_group_distances, unfairness

__all__ = ["pairwise_group_distances", "unfairness"]
