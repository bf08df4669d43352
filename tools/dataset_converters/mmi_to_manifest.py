"""Extract MMI neutral/peak frames from session videos and write the MMIDataset manifest.

Example::

    python tools/dataset_converters/mmi_to_manifest.py /data/MMI/Sessions labels.csv \
        --out data/mmi --num-peak-frames 3

``labels.csv`` has the header ``session,subject,label`` (label: a class name or
the MMI emotion code 1..6); see :mod:`errkit.datasets.mmi_manifest`.
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from errkit.datasets.mmi_manifest import build_mmi_manifest, format_summary


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Build the MMI frame manifest read by MMIDataset")
    parser.add_argument("sessions", help="folder of MMI session folders (each with a video)")
    parser.add_argument("labels", help="CSV with the columns session,subject,label")
    parser.add_argument("--out", default="data/mmi",
                        help="output root: frames/ and the manifest (default: data/mmi)")
    parser.add_argument("--num-peak-frames", type=int, default=3,
                        help="frames taken around the middle of each video (default: 3)")
    parser.add_argument("--manifest-name", default="manifest.csv",
                        help="manifest file name under --out (default: manifest.csv)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    result = build_mmi_manifest(args.sessions, args.labels, args.out,
                                num_peak_frames=args.num_peak_frames,
                                manifest_name=args.manifest_name)
    print(format_summary(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
