"""``tools/ablation.py`` and ``errkit ablation``: several configs on the same fold(s), one table.

Trains and tests each config on the same fold in ``WORK_DIR/<config name>`` and
writes the comparison table (accuracy, macro F1, accuracy difference to the first
config, removal gains) to ``WORK_DIR/ablation/``. With ``--folds K``, every config
is cross-validated on the same K folds in ``WORK_DIR/<config name>/fold_<i>`` and
the table gives mean ± std over folds and the per-fold differences to the first
config. Rerunning the same command skips completed runs and resumes an
interrupted one from its last checkpoint; ``--table-only`` starts no run and writes
the table of the completed ones.
"""

from __future__ import annotations

import argparse
from typing import List, Optional

from mmengine.config import DictAction

from errkit.cli.common import (DATA_ROOT_HELP, SMOKE_HELP, ConfigNotFoundError,
                               apply_plugin_args, fail, fail_on_config_problems, load_config)
from errkit.plugin_manager import PluginError
from errkit.utils.help_text import HelpFormatter, plain_text

__all__ = ["parse_args", "main"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the ablation flags."""
    parser = argparse.ArgumentParser(prog="errkit ablation", description=plain_text(__doc__),
                                     formatter_class=HelpFormatter)
    parser.add_argument("configs", nargs="+", metavar="config",
                        help="config files (paths, or names in a plugin's config folder); "
                        "the first is the reference row")
    parser.add_argument("--work-dir",
                        help="root of the configs' work dirs and of the table "
                        "(default: work_dirs/ablation, with --smoke work_dirs/ablation_smoke)")
    parser.add_argument("--data-root", metavar="DIR", help=DATA_ROOT_HELP)
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP.replace(
        "default work dir: work_dirs/<config name>_smoke", "every config"))
    parser.add_argument("--fold", type=int,
                        help="without --folds: test fold of every config (default: each config's "
                        "'fold')")
    parser.add_argument("--num-folds", type=int,
                        help="number of folds (default: each config's 'num_folds')")
    parser.add_argument("--folds", type=int, metavar="K",
                        help="cross-validate every config on the same K folds")
    parser.add_argument("--fold-ids", type=int, nargs="+", metavar="I",
                        help="with --folds: run only these folds (the table covers every "
                        "completed fold)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs trained at once, sharing the CPU threads (default: 1)")
    parser.add_argument("--table-only", action="store_true",
                        help="start no run: write the table of the runs already complete "
                        "(those of tools/kfold.py included)")
    parser.add_argument("--no-resume", action="store_true",
                        help="rerun every selected run from scratch instead of skipping completed "
                        "runs and resuming interrupted ones")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction,
                        help="override settings of every config, e.g. train_cfg.max_epochs=2")
    parser.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                        help="do not load this plugin (entry-point or distribution name); "
                        "repeatable")
    parser.set_defaults(local_rank=0)
    args = parser.parse_args(argv)
    if args.work_dir is None:  # a smoke run never writes among a real run's results
        args.work_dir = "work_dirs/ablation_smoke" if args.smoke else "work_dirs/ablation"
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point of ``tools/ablation.py`` and ``errkit ablation``.

    Returns:
        dict: The table (see :func:`errkit.apis.ablation.run_ablation`).
    """
    args = parse_args(argv)
    apply_plugin_args(args)
    from errkit.apis.ablation import AblationError, format_ablation_markdown, run_ablation
    from errkit.apis.comparison_table import format_comparison_markdown

    render = format_ablation_markdown if args.folds is None else format_comparison_markdown
    for config in args.configs:
        try:
            cfg = load_config(config, args.cfg_options)
        except ConfigNotFoundError:
            continue  # run_ablation names every config it cannot find
        except PluginError as exc:
            fail(str(exc))
        fail_on_config_problems(cfg, config)
    try:
        table = run_ablation(args.configs, args.work_dir, fold=args.fold,
                             num_folds=args.num_folds, jobs=args.jobs,
                             resume=not args.no_resume, cfg_options=args.cfg_options,
                             data_root=args.data_root, smoke=args.smoke,
                             folds=args.folds, fold_ids=args.fold_ids,
                             train=not args.table_only)
    except AblationError as exc:
        if exc.table is not None:
            print(render(exc.table))
        fail(str(exc))
    print(render(table))
    return table


if __name__ == "__main__":
    main()
