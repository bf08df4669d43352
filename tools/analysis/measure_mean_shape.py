"""Measure the 68-point mean face shape written into ``errkit/landmarks/mean_shape.py``.

Runs dlib's frontal face detector and 68-point shape predictor (from the
``face_recognition_models`` package) over the neutral faces of a folder,
aligns every shape to the running mean by a similarity transform
(generalised Procrustes), averages them, symmetrises the mean with its mirror
image and expresses it in the eye frame used by
:data:`errkit.landmarks.mean_shape.MEAN_SHAPE_68`.

Example:
    python tools/analysis/measure_mean_shape.py ../shared/data/yale_faces
"""
import argparse
import importlib.util
from pathlib import Path

import cv2
import numpy as np

from errkit.datasets.io import read_image
from errkit.landmarks.flip_index import FLIP_INDEX_68
from errkit.landmarks.mean_shape import to_eye_frame


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('folder', type=Path, help='folder of face images')
    parser.add_argument('--pattern', default='*_normal.png',
                        help='glob of the images to measure')
    parser.add_argument('--upsample', type=int, default=1,
                        help='detector upsampling passes')
    parser.add_argument('--iterations', type=int, default=10,
                        help='generalised Procrustes iterations')
    return parser.parse_args()


def predictor_path() -> Path:
    """Locate ``shape_predictor_68_face_landmarks.dat`` without importing its package."""
    spec = importlib.util.find_spec('face_recognition_models')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError('package face_recognition_models is not installed '
                                '(pip install face_recognition_models)')
    path = Path(list(spec.submodule_search_locations)[0]) / 'models' / \
        'shape_predictor_68_face_landmarks.dat'
    if not path.is_file():
        raise FileNotFoundError(f'{path} is missing')
    return path


def detect_shapes(paths, upsample: int) -> list:
    import dlib
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(predictor_path()))
    shapes = []
    for path in paths:
        try:
            img = read_image(path, 'grey')[:, :, 0]
        except (OSError, ValueError) as exc:
            print(f'skip {path}: {exc}')
            continue
        rects = detector(img, upsample)
        if len(rects) == 0:
            print(f'skip {path}: no face found')
            continue
        rect = max(rects, key=lambda r: r.width() * r.height())
        det = predictor(img, rect)
        shapes.append(np.array([[p.x, p.y] for p in det.parts()], np.float64))
    return shapes


def similarity_align(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Map ``src`` onto ``dst`` by the least-squares similarity transform."""
    matrix, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32),
                                            method=cv2.LMEDS)
    return src @ matrix[:, :2].T + matrix[:, 2]


def main():
    args = parse_args()
    paths = sorted(args.folder.glob(args.pattern))
    shapes = detect_shapes(paths, args.upsample)
    if not shapes:
        raise SystemExit(f'no face found in {args.folder}/{args.pattern}')
    mean = to_eye_frame(shapes[0])
    for _ in range(args.iterations):
        aligned = [similarity_align(s, mean) for s in shapes]
        mean = to_eye_frame(np.mean(aligned, axis=0))
    mirrored = mean[list(FLIP_INDEX_68)] * np.array([-1.0, 1.0])
    mean = to_eye_frame((mean + mirrored) / 2)
    mean[np.abs(mean) < 5e-6] = 0.0  # print 0.0, not -0.0
    print(f'# measured on {len(shapes)} of {len(paths)} faces')
    print('MEAN_SHAPE_68 = np.array([')
    for x, y in mean:
        print(f'    [{x: .5f}, {y: .5f}],')
    print('], dtype=np.float32)')


if __name__ == '__main__':
    main()
