"""Recognise and remove expressions: ``python tools/infer.py CONFIG CHECKPOINT IMAGES... --out DIR``."""

import sys

from errkit.cli.infer import main

if __name__ == "__main__":
    sys.exit(main())
