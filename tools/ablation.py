"""Ablation study, several configs on one fold and one table:
``python tools/ablation.py CONFIG [CONFIG ...] [--work-dir DIR] [--fold F] [--jobs 2]``."""

from errkit.cli.ablation import main

if __name__ == "__main__":
    main()
