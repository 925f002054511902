"""``python -m fairfast.cli``: the ``fairfast`` command line."""

import sys

from . import main

sys.exit(main())
