"""Export to TorchScript or ONNX: ``python tools/export.py CONFIG CHECKPOINT OUT_FILE``."""

import sys

from errkit.cli.export import main

if __name__ == "__main__":
    sys.exit(main())
