"""Train a model from a config: ``python tools/train.py CONFIG [--work-dir DIR] [--resume]``."""

from errkit.cli.train import main

if __name__ == "__main__":
    main()
