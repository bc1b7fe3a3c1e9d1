"""``python -m vigil.testing.cts``: see :mod:`vigil.testing.cts.cli`."""

import sys

from .cli import main

sys.exit(main())
