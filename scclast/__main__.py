"""``python -m scclast`` is the ``scclast`` command."""

import sys

from scclast.cli import main

sys.exit(main())
