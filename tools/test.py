"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--show-dir DIR]``."""

from errkit.cli.test import main

if __name__ == "__main__":
    main()
