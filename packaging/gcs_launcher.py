"""Entry script of the PyInstaller bundle: the `gcs` command line (see gcs.cli.main).

The bundled executable is the whole product: `gcs` opens the desktop app, `gcs serve`,
`gcs sim`, `gcs broker` (started by the station as its child process) and every other
sub-command work as in a source install.
"""

import sys

from gcs.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
