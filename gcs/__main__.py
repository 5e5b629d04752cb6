"""`python -m gcs`: the same entry point as the `gcs` console script."""

from __future__ import annotations

import sys

from gcs.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
