"""``tools/kfold.py`` and ``errkit kfold``: k-fold cross-validation of a config.

Trains and tests every fold (subject-independent splits) in ``WORK_DIR/fold_{i}``
and writes the summary (per-fold and mean ± std accuracy, macro F1, removal gains,
summed confusion matrix) to ``WORK_DIR/kfold/``. Rerunning the same command skips
completed folds and resumes an interrupted one from its last checkpoint.
"""

from __future__ import annotations

import argparse
from typing import List, Optional

from errkit.cli.common import (SMOKE_HELP, ConfigNotFoundError, add_common_args,
                               apply_plugin_args, fail, fail_on_config_problems, load_config)
from errkit.utils.help_text import HelpFormatter, plain_text

__all__ = ["parse_args", "main"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the k-fold flags."""
    parser = argparse.ArgumentParser(prog="errkit kfold", description=plain_text(__doc__),
                                     formatter_class=HelpFormatter)
    parser.add_argument("config", help="config file (path, or name in a plugin's config folder)")
    parser.add_argument("--folds", type=int, default=10, help="number of folds (default: 10)")
    add_common_args(parser)
    parser.add_argument("--fold-ids", type=int, nargs="+", metavar="I",
                        help="run only these folds (the summary covers every completed fold)")
    parser.add_argument("--inline", action="store_true",
                        help="run the folds in this process instead of one process per fold")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    parser.add_argument("--jobs", type=int, default=1,
                        help="folds trained at once, sharing the CPU threads (default: 1)")
    parser.add_argument("--no-resume", action="store_true",
                        help="rerun the selected folds from scratch instead of skipping "
                        "completed folds and resuming interrupted ones")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point of ``tools/kfold.py`` and ``errkit kfold``.

    Returns:
        dict: The summary (see :func:`errkit.apis.kfold.summarize_folds`).
    """
    args = parse_args(argv)
    apply_plugin_args(args)
    from errkit.apis.kfold import KFoldError, format_summary_markdown, run_kfold
    from errkit.datasets.errors import DatasetNotFoundError
    from errkit.plugin_manager import PluginError
    from errkit.utils.checkpoint import CheckpointError

    try:
        fail_on_config_problems(load_config(args.config, args.cfg_options), args.config)
        summary = run_kfold(args.config, folds=args.folds, work_dir=args.work_dir,
                            cfg_options=args.cfg_options, fold_ids=args.fold_ids,
                            isolate="inline" if args.inline else "process",
                            resume=not args.no_resume, launcher=args.launcher,
                            data_root=args.data_root, smoke=args.smoke, jobs=args.jobs)
    except (ConfigNotFoundError, DatasetNotFoundError, KFoldError, CheckpointError,
            PluginError) as exc:
        if getattr(exc, "summary", None) is not None:
            print(format_summary_markdown(exc.summary))
        fail(str(exc))
    print(format_summary_markdown(summary))
    return summary


if __name__ == "__main__":
    main()
