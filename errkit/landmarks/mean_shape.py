"""The 68-point mean face shape and the canonical landmark template.

The frame of :data:`MEAN_SHAPE_68` (the *eye frame*): x to the image right,
y downwards, the origin midway between the two eye centres (the means of
points 36-41 and 42-47), the eye centres at ``(-0.5, 0)`` and ``(0.5, 0)``,
so the inter-ocular distance is 1. The shape is left-right symmetric:
``MEAN_SHAPE_68[FLIP_INDEX_68] * (-1, 1) == MEAN_SHAPE_68`` with
:data:`errkit.landmarks.flip_index.FLIP_INDEX_68`..
"""
import numpy as np

RIGHT_EYE_68 = slice(36, 42)  # the subject's right eye (image left)
LEFT_EYE_68 = slice(42, 48)

# MEAN_SHAPE_68 was measured by tools/analysis/measure_mean_shape.py: dlib's
# frontal face detector and 68-point shape predictor
# (face_recognition_models' shape_predictor_68_face_landmarks.dat) run over
# the 15 ``*_normal.png`` faces of the Yale faces set, shapes aligned by a
# similarity transform to the running mean (generalised Procrustes, 10
# iterations), averaged, symmetrised with the mirror image and put in the
# eye frame described in the module docstring.
MEAN_SHAPE_68 = np.array([
    [-1.11761,  0.07086],
    [-1.11020,  0.35800],
    [-1.07856,  0.64288],
    [-1.02814,  0.92651],
    [-0.93943,  1.19707],
    [-0.79136,  1.44012],
    [-0.57467,  1.63411],
    [-0.31154,  1.76633],
    [ 0.00000,  1.80658],
    [ 0.31154,  1.76633],
    [ 0.57467,  1.63411],
    [ 0.79136,  1.44012],
    [ 0.93943,  1.19707],
    [ 1.02814,  0.92651],
    [ 1.07856,  0.64288],
    [ 1.11020,  0.35800],
    [ 1.11761,  0.07086],
    [-0.91884, -0.17857],
    [-0.78536, -0.34262],
    [-0.57379, -0.39298],
    [-0.35381, -0.36609],
    [-0.14779, -0.28259],
    [ 0.14779, -0.28259],
    [ 0.35381, -0.36609],
    [ 0.57379, -0.39298],
    [ 0.78536, -0.34262],
    [ 0.91884, -0.17857],
    [ 0.00000, -0.06770],
    [ 0.00000,  0.13109],
    [ 0.00000,  0.32653],
    [ 0.00000,  0.52917],
    [-0.23094,  0.68374],
    [-0.11806,  0.71944],
    [ 0.00000,  0.74932],
    [ 0.11806,  0.71944],
    [ 0.23094,  0.68374],
    [-0.68738,  0.00438],
    [-0.56907, -0.06527],
    [-0.42896, -0.06330],
    [-0.30110,  0.02107],
    [-0.43644,  0.04978],
    [-0.57705,  0.05334],
    [ 0.30110,  0.02107],
    [ 0.42896, -0.06330],
    [ 0.56907, -0.06527],
    [ 0.68738,  0.00438],
    [ 0.57705,  0.05334],
    [ 0.43644,  0.04978],
    [-0.41974,  1.08735],
    [-0.26011,  1.00474],
    [-0.11491,  0.95655],
    [ 0.00000,  0.99162],
    [ 0.11491,  0.95655],
    [ 0.26011,  1.00474],
    [ 0.41974,  1.08735],
    [ 0.26131,  1.18549],
    [ 0.12040,  1.22743],
    [ 0.00000,  1.23268],
    [-0.12040,  1.22743],
    [-0.26131,  1.18549],
    [-0.35488,  1.08742],
    [-0.11734,  1.06481],
    [ 0.00000,  1.07872],
    [ 0.11734,  1.06481],
    [ 0.35488,  1.08742],
    [ 0.11726,  1.08415],
    [ 0.00000,  1.09800],
    [-0.11726,  1.08415],
], dtype=np.float32)
MEAN_SHAPE_68.setflags(write=False)


def eye_centres(landmarks: np.ndarray) -> tuple:
    """Return the two eye centres of a 68-point shape.

    Args:
        landmarks (np.ndarray): points ``(68, 2)`` as (x, y).

    Returns:
        tuple[np.ndarray, np.ndarray]: the centre of the subject's right eye
        (image left, points 36-41) and of the left eye (points 42-47).
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (68, 2):
        raise ValueError(f'expected landmarks of shape (68, 2), got {landmarks.shape}')
    return landmarks[RIGHT_EYE_68].mean(0), landmarks[LEFT_EYE_68].mean(0)


def to_eye_frame(landmarks: np.ndarray) -> np.ndarray:
    """Express a 68-point shape in the eye frame of :data:`MEAN_SHAPE_68`.

    Rotates, scales and translates the shape so that its eye centres land at
    ``(-0.5, 0)`` and ``(0.5, 0)``.

    Args:
        landmarks (np.ndarray): points ``(68, 2)`` as (x, y), y downwards.

    Returns:
        np.ndarray: float64 points ``(68, 2)`` in the eye frame.
    """
    right, left = eye_centres(landmarks)
    axis = left - right
    iod = float(np.hypot(*axis))
    if iod <= 0:
        raise ValueError('the two eye centres coincide')
    cos, sin = axis / iod
    rot = np.array([[cos, sin], [-sin, cos]])
    centred = np.asarray(landmarks, np.float64) - (right + left) / 2
    return centred @ rot.T / iod


def canonical_landmarks(size: int, scale: float = 0.3, eye_y: float = 0.36,
                        mean_shape: np.ndarray = None) -> np.ndarray:
    """Map the mean shape into a ``size`` x ``size`` crop, eyes at fixed places.

    Pixel coordinates follow OpenCV: the centre of pixel ``(i, j)`` is at
    ``x = j, y = i``, so the crop spans ``-0.5 .. size - 0.5``. The eye
    centres land at ``x = size / 2 - 0.5 -+ scale * size / 2`` and
    ``y = eye_y * size - 0.5``; the template of a crop twice as large is the
    same face at twice the scale. The defaults keep the whole face, chin and
    brows included, inside the crop.

    Args:
        size (int): side of the square crop in pixels.
        scale (float): inter-ocular distance as a fraction of ``size``.
            Defaults to 0.3.
        eye_y (float): height of the eye line as a fraction of ``size``
            from the top edge. Defaults to 0.36.
        mean_shape (np.ndarray, optional): a ``(68, 2)`` shape in the eye frame to
            map instead of :data:`MEAN_SHAPE_68`. Defaults to None.

    Returns:
        np.ndarray: float32 landmarks ``(68, 2)`` as (x, y) pixel coordinates.

    Examples:
        >>> pts = canonical_landmarks(128)
        >>> pts.shape
        (68, 2)
    """
    if size <= 0:
        raise ValueError(f'size must be positive, got {size}')
    if scale <= 0:
        raise ValueError(f'scale must be positive, got {scale}')
    base = MEAN_SHAPE_68 if mean_shape is None else np.asarray(mean_shape, np.float64)
    if base.shape != (68, 2):
        raise ValueError(f'expected mean_shape of shape (68, 2), got {base.shape}')
    origin = np.array([size / 2.0 - 0.5, eye_y * size - 0.5])
    return (base * (scale * size) + origin).astype(np.float32)
