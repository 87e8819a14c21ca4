"""`python -m cli`: the `appointments` command without the console script."""

from __future__ import annotations

import sys

from cli.main import main

if __name__ == "__main__":
    sys.exit(main())
