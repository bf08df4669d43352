"""``tools/export.py`` and ``errkit export``: the recognition path as TorchScript or ONNX.

The exported graph maps aligned faces ``(B, C, S, S)`` in ``[-1, 1]`` to the
class probabilities and, for ERR-Net, the segment activations, the generated
neutral face and the residual; it is run and compared with the eager model
before the command succeeds.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from mmengine.config import DictAction

from errkit.cli.common import CHECKPOINT_HELP, ConfigNotFoundError, fail
from errkit.plugin_manager import PluginError, disable_plugins
from errkit.utils.help_text import HelpFormatter, plain_text

__all__ = ["parse_args", "main"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the ``errkit export`` flags."""
    parser = argparse.ArgumentParser(prog="errkit export", description=plain_text(__doc__),
                                     formatter_class=HelpFormatter)
    parser.add_argument("config", help="config file the checkpoint was trained with")
    parser.add_argument("checkpoint", help=CHECKPOINT_HELP)
    parser.add_argument("out_file", help="file to write (.pt for TorchScript, .onnx)")
    parser.add_argument("--format", choices=["torchscript", "onnx"], default=None,
                        help="default: onnx for a .onnx out_file, else torchscript")
    parser.add_argument("--batch-size", type=int, default=1, help="example batch size")
    parser.add_argument("--static-batch", action="store_true",
                        help="fix the batch size instead of letting it vary")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset version")
    parser.add_argument("--legacy-onnx", action="store_true",
                        help="use the TorchScript-based ONNX exporter only")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip running the exported file against the eager model")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction,
                        help="override config settings")
    parser.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                        help="do not load this plugin; repeatable")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``tools/export.py`` and ``errkit export``.

    Returns:
        int: 0 on success (errors exit with 2 and a message).
    """
    args = parse_args(argv)
    disable_plugins(args.disable_plugin)
    # After argument parsing, so that --help answers at once (these import torch).
    from errkit.apis.export import ExportError, export_model
    from errkit.utils.checkpoint import CheckpointError

    fmt = args.format or ("onnx" if args.out_file.lower().endswith(".onnx") else "torchscript")
    try:
        result = export_model(args.config, args.checkpoint, args.out_file, format=fmt,
                              batch_size=args.batch_size, dynamic_batch=not args.static_batch,
                              device=args.device, cfg_options=args.cfg_options,
                              verify=not args.no_verify, opset_version=args.opset,
                              dynamo=False if args.legacy_onnx else None)
    except (ConfigNotFoundError, CheckpointError, ExportError, PluginError) as exc:
        fail(str(exc))
    except (KeyError, TypeError, ValueError) as exc:
        fail(f"cannot export from {args.config}: {type(exc).__name__}: {exc}")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    diffs = ", ".join(f"{k} {v:.1e}" for k, v in result.max_abs_diff.items())
    check = (f"checked with {result.verified_with}: max |diff| {diffs}"
             if result.max_abs_diff else "not checked")
    print(f"wrote {result.path} ({result.exporter}; input {result.meta['input']['shape']}, "
          f"outputs {', '.join(result.output_names)}); {check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
