"""Detect, align and cache a dataset's faces once (see :mod:`errkit.datasets.prepare`).

Examples:
    python tools/prepare_data.py configs/errnet_ckplus.py --detector precomputed \\
        --out data/cache/ckplus.npz
    python tools/prepare_data.py --dataset-type PatternFolderDataset --data-root data/faces \\
        --pattern '(?P<subject>\\d+)_(?P<label>[a-z]+)\\.png' --classes happy sad \\
        --dataset-options neutral_label=normal --detector dlib --out data/cache/faces.npz

A config whose dataset is a ``CachedFaceDataset`` with a ``source`` is prepared into
its own ``cache_file`` with the settings of ``source.prepare`` (flags override them):
    python tools/prepare_data.py configs/errnet_tw_faces.py

Writes ``NAME.npz``, ``NAME.summary.json`` (faces not found) and, while running,
``NAME.partial.npz`` (the progress a rerun resumes from). Train on the cache with
``dict(type='CachedFaceDataset', cache_file='data/cache/NAME.npz', ...)``.
"""

import argparse
import copy
import sys

from mmengine.config import Config, DictAction

from errkit.landmarks.detectors import DetectorUnavailableError
from errkit.datasets.prepare import cache_source, format_summary, prepare_dataset


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?',
                        help='errkit config whose train dataloader dataset is prepared')
    parser.add_argument('--dataset-type', help='DATASETS type of a plain folder (no config)')
    parser.add_argument('--data-root', help='data_root of --dataset-type')
    parser.add_argument('--pattern', help='file name regex of a PatternFolderDataset (verbatim)')
    parser.add_argument('--classes', nargs='+', help='class names of --dataset-type')
    parser.add_argument('--dataset-options', nargs='+', action=DictAction, default={},
                        help='extra dataset arguments key=value (override the config too)')
    parser.add_argument('--detector', choices=['dlib', 'fan', 'precomputed'],
                        help="landmark source (default: the config's, else dlib)")
    parser.add_argument('--fan-weights', help='2DFAN-4 weights file (FAN detector)')
    parser.add_argument('--face-detector', choices=['dlib', 'sfd'], default='dlib',
                        help='face detector of the FAN detector')
    parser.add_argument('--face-detector-weights', help='S3FD weights file (FAN with sfd)')
    parser.add_argument('--device', default='cpu', help='torch device of the FAN detector')
    parser.add_argument('--fallback', choices=['none', 'dlib'], default='none',
                        help='detector for images without precomputed landmarks')
    parser.add_argument('--out', help="cache file to write (.npz); default: the config's "
                        'cache_file')
    parser.add_argument('--size', type=int, help='side of the aligned crops (default 128)')
    parser.add_argument('--color-type', choices=['grey', 'color'], help='default grey')
    parser.add_argument('--split', choices=['all', 'train', 'test'], default='all',
                        help="which split to prepare; 'all' ignores the config's fold")
    parser.add_argument('--fold', type=int, help='fold of --split train/test')
    parser.add_argument('--save-every', type=int, default=50,
                        help='samples between two progress saves')
    parser.add_argument('--no-resume', action='store_true',
                        help='ignore the progress file of an earlier run')
    parser.add_argument('--require-neutral', action='store_true', default=None,
                        help='leave out samples whose neutral face is not found')
    parser.add_argument('--keep-undetected', action='store_true', default=None,
                        help='keep faces without landmarks, centre-cropped (no landmark terms)')
    parser.add_argument('--detect-min-size', type=int,
                        help='upsample images smaller than this before detection (e.g. 192 '
                        'for 48-pixel crops)')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    args = parser.parse_args(argv)
    if args.config is None and args.dataset_type is None:
        parser.error('give a CONFIG or --dataset-type (with --data-root)')
    return args


def dataset_config(args):
    """The dataset config to prepare, the cache file and the config's settings."""
    out, settings = args.out, {}
    if args.config is not None:
        cfg = Config.fromfile(args.config)
        if 'train_dataloader' not in cfg or 'dataset' not in cfg.train_dataloader:
            raise SystemExit(f'{args.config} has no train_dataloader.dataset')
        dataset = copy.deepcopy(cfg.train_dataloader.dataset.to_dict())
        planned = cache_source(dataset)
        if planned is not None:
            dataset, cache_file, settings = planned
            out = out or cache_file
    else:
        dataset = dict(type=args.dataset_type)
    if out is None:
        raise SystemExit('give --out (the dataset of the config is not a CachedFaceDataset '
                         'with a source)')
    if args.data_root is not None:
        dataset['data_root'] = args.data_root
    if args.pattern is not None:
        dataset['pattern'] = args.pattern
    if args.classes is not None:
        dataset['classes'] = tuple(args.classes)
    dataset.update(args.dataset_options)
    dataset['split'] = args.split
    if args.split == 'all':
        dataset['fold'] = None
    elif args.fold is not None:
        dataset['fold'] = args.fold
    dataset.pop('test_mode', None)
    return dataset, out, settings


def detector_config(args, default=None):
    """The LANDMARK_DETECTORS config of the --detector flags (else ``default``, else dlib)."""
    if args.detector is None and default is not None:
        return default
    if args.detector in (None, 'dlib'):
        return dict(type='DlibLandmarkDetector')
    if args.detector == 'fan':
        return dict(type='FANLandmarkDetector', weights_path=args.fan_weights,
                    face_detector=args.face_detector,
                    face_detector_weights=args.face_detector_weights, device=args.device)
    fallback = dict(type='DlibLandmarkDetector') if args.fallback == 'dlib' else None
    return dict(type='PrecomputedLandmarks', fallback=fallback)


def main(argv=None):
    args = parse_args(argv)
    dataset, out, settings = dataset_config(args)
    settings['detector'] = detector_config(args, settings.get('detector'))
    flags = dict(size=args.size, color_type=args.color_type,
                 require_neutral=args.require_neutral, keep_undetected=args.keep_undetected,
                 detect_min_size=args.detect_min_size)
    settings.update({k: v for k, v in flags.items() if v is not None})
    try:
        summary = prepare_dataset(dataset, out_file=out, save_every=args.save_every,
                                  resume=not args.no_resume, progress=not args.no_progress,
                                  **settings)
    except DetectorUnavailableError as exc:
        print(f'error: {exc}\n(command line: --fan-weights, --face-detector-weights)',
              file=sys.stderr)
        return 2
    print(format_summary(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
