"""``python -m app.tiled``: see :mod:`app.tiled.cli`."""

import sys

from app.tiled.cli import main

if __name__ == "__main__":
    sys.exit(main())
