"""``python -m devnet.solver``: see :mod:`devnet.solver.cli`."""

import sys

from devnet.solver.cli import main

sys.exit(main())
