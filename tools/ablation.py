"""Ablation study, several configs on the same fold(s) and one table:
``python tools/ablation.py CONFIG [CONFIG ...] [--fold F | --folds K] [--jobs 2]``."""

from errkit.cli.ablation import main

if __name__ == "__main__":
    main()
