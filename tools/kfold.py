"""K-fold cross-validation of a config:
``python tools/kfold.py CONFIG --folds 10 [--work-dir DIR] [--fold-ids 0 3] [--jobs 2]``."""

from errkit.cli.kfold import main

if __name__ == "__main__":
    main()
