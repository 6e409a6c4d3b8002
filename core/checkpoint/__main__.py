"""`python -m core.checkpoint ...`: see core/checkpoint/cli.py."""

import sys

from core.checkpoint.cli import main

sys.exit(main())
