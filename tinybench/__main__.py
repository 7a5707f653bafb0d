"""``python -m tinybench`` runs the command line."""

import sys

from tinybench.cli import main

sys.exit(main())
