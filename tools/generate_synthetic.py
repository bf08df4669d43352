"""Write errkit's procedural synthetic face set in the CK+ layout.

Example:
    python tools/generate_synthetic.py --out data/synthetic_ckplus --num-identities 60
"""
import argparse
import time

from errkit.synthetic import SyntheticFaceConfig, generate_synthetic_ckplus


def parse_args(argv=None):
    defaults = SyntheticFaceConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/synthetic_ckplus', help='output folder')
    parser.add_argument('--num-identities', type=int, default=defaults.num_identities)
    parser.add_argument('--frames', type=int, default=defaults.frames_per_sequence,
                        help='frames per sequence, neutral to peak')
    parser.add_argument('--size', type=int, default=defaults.image_size, help='image side')
    parser.add_argument('--seed', type=int, default=defaults.seed)
    parser.add_argument('--color', action='store_true', help='write RGB instead of grey')
    parser.add_argument('--noise', type=float, default=defaults.noise,
                        help='sensor noise in grey levels')
    parser.add_argument('--sequences-per-expression', type=int,
                        default=defaults.sequences_per_expression)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    config = SyntheticFaceConfig(
        num_identities=args.num_identities, frames_per_sequence=args.frames,
        image_size=args.size, seed=args.seed, color=args.color, noise=args.noise,
        sequences_per_expression=args.sequences_per_expression)
    start = time.perf_counter()
    root = generate_synthetic_ckplus(args.out, config)
    print(f'synthetic set ready in {root} ({time.perf_counter() - start:.1f} s)')


if __name__ == '__main__':
    main()
