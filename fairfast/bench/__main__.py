"""``python -m fairfast.bench [options]``: the ``fairfast bench`` command."""

import sys

from ..cli._bench import main

sys.exit(main())
