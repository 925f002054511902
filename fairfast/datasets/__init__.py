"""Benchmark data sets of the fairness literature, shipped with fairfast.

Each loader returns a scikit-learn style :class:`sklearn.utils.Bunch` with the
features (``data``), a 0/1 ``target``, the ``sensitive`` attributes as a
separate DataFrame, everything in one ``frame`` and a ``DESCR`` giving source,
licence and preprocessing; ``return_X_y=True`` returns ``(data, target)``.
The sensitive attributes stay in ``data`` as in the raw sets;
``drop_sensitive=True`` removes them from it.

The compressed data files live in ``fairfast/datasets/_data`` (see the
README there); nothing is downloaded.

===================  ======  ===============================  ===============
loader               rows    target                           ones
===================  ======  ===============================  ===============
:func:`load_adult`   48,842  income over 50K                  23.93%
:func:`load_compas`  6,172   two-year re-arrest (or violent)  45.51% (11.21%)
:func:`load_german`  1,000   good credit risk                 70.0%
===================  ======  ===============================  ===============
"""

from ._adult import load_adult
from ._compas import load_compas
from ._german import load_german

__all__ = ["load_adult", "load_compas", "load_german"]
