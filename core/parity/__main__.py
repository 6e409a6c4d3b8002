"""`python -m core.parity ...`: see core/parity/run.py."""

import sys

from core.parity.run import main

sys.exit(main())
