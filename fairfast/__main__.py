"""``python -m fairfast``: the ``fairfast`` command line."""

import sys

from .cli import main

sys.exit(main())
