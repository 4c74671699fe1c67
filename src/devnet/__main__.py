"""``python -m devnet``: see :mod:`devnet.supervisor`."""

import sys

from devnet.supervisor import main

sys.exit(main())
