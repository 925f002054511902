"""``python -m fairfast.bench [options]``: the ``fairfast bench`` command."""

import sys

from ._cli import main

sys.exit(main())
