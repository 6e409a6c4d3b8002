"""`python -m core.data ...`: see core/data/cli.py."""

import sys

from core.data.cli import main

sys.exit(main())
