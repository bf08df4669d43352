"""Random synthetic identities: face shape, colours, hair, texture, light, pose.

An identity is everything about a synthetic face that does not change with
its expression. Its neutral shape lives in the eye frame of
:data:`errkit.landmarks.mean_shape.MEAN_SHAPE_68`; :meth:`FaceIdentity.project`
places any eye-frame points into the image with the identity's small head
pose (roll, yaw, pitch, scale, position).
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from errkit.landmarks.mean_shape import MEAN_SHAPE_68
from errkit.synthetic.expressions import (ExpressionStyle, action_unit_field,
                                          sample_expression_style)

#: Hair styles an identity can have.
HAIR_STYLES = ('bald', 'short', 'medium', 'long', 'fringe')

# Skin tones (RGB), from dark to light; an identity blends two neighbours.
_SKIN_TONES = np.array([[72, 48, 36], [112, 76, 56], [150, 104, 76], [188, 140, 108],
                        [218, 176, 146], [240, 206, 180]], np.float32)
_HAIR_COLOURS = np.array([[20, 16, 14], [52, 36, 26], [96, 64, 40], [150, 110, 64],
                          [210, 180, 120], [140, 60, 30], [170, 170, 170]], np.float32)
_IRIS_COLOURS = np.array([[60, 40, 28], [96, 70, 40], [70, 100, 130], [80, 110, 80]],
                         np.float32)


def surface_depth(points: np.ndarray) -> np.ndarray:
    """Depth (towards the camera) of eye-frame points on a head-like ellipsoid.

    Args:
        points (np.ndarray): ``(N, 2)`` eye-frame points.

    Returns:
        np.ndarray: float32 depths ``(N,)`` in inter-ocular units.
    """
    x = np.asarray(points, np.float32)[:, 0]
    return 0.85 * np.sqrt(np.clip(1 - (x / 1.3) ** 2, 0, None))


def _landmark_depth(shape: np.ndarray) -> np.ndarray:
    depth = surface_depth(shape)
    bumps = {27: .12, 28: .2, 29: .3, 30: .42, 31: .18, 32: .24, 33: .28, 34: .24,
             35: .18, 7: .05, 8: .06, 9: .05}
    for index, value in bumps.items():
        depth[index] += value
    depth[36:48] -= 0.05
    depth[48:68] += 0.1
    return depth


def _scale_about(shape, idx, sx, sy, centre=None):
    centre = shape[idx].mean(0) if centre is None else np.asarray(centre, np.float32)
    shape[idx] = centre + (shape[idx] - centre) * np.array([sx, sy], np.float32)


def sample_face_shape(rng: np.random.Generator, amount: float = 1.0) -> np.ndarray:
    """Draw a neutral 68-point face shape around the mean shape.

    Face width, jaw width, chin and lower-face length, eye size, tilt and
    spacing, brow height, arch and length, nose length and width, mouth width,
    height and lip thickness vary symmetrically; a little independent noise
    adds asymmetry.

    Args:
        rng (np.random.Generator): source of randomness.
        amount (float): scales every variation (0 gives the mean shape).
            Defaults to 1.0.

    Returns:
        np.ndarray: float32 ``(68, 2)`` neutral shape in the eye frame.
    """
    def mul(lo, hi):  # a factor around 1
        return 1 + amount * (float(rng.uniform(lo, hi)) - 1)

    def add(lo, hi):  # an offset around 0
        return amount * float(rng.uniform(lo, hi))

    s = MEAN_SHAPE_68.astype(np.float32).copy()
    jaw, low_jaw, chin = np.arange(17), np.arange(4, 13), np.arange(5, 12)
    s[jaw, 0] *= mul(0.88, 1.12)
    s[low_jaw, 0] *= mul(0.85, 1.1)
    s[chin, 1] += add(-0.1, 0.15) * np.cos(np.linspace(-1.2, 1.2, 7))
    lower = s[:, 1] > 0.3
    s[lower, 1] = 0.3 + (s[lower, 1] - 0.3) * mul(0.88, 1.14)
    spacing, tilt = add(-0.04, 0.04), add(-0.1, 0.12)
    ew, eh = mul(0.82, 1.18), mul(0.7, 1.4)
    for eye, brow, sign in ((np.arange(36, 42), np.arange(17, 22), -1),
                            (np.arange(42, 48), np.arange(22, 27), 1)):
        _scale_about(s, eye, ew, eh)
        c = s[eye].mean(0)
        rot = -sign * tilt
        d = s[eye] - c
        s[eye] = c + d @ np.array([[np.cos(rot), np.sin(rot)],
                                   [-np.sin(rot), np.cos(rot)]], np.float32)
        s[eye, 0] += sign * spacing
        s[brow, 0] += sign * spacing
    brows = np.arange(17, 27)
    s[brows, 1] -= add(-0.08, 0.1)
    arch = add(0.0, 0.07)
    s[[19, 24], 1] -= arch
    s[[18, 20, 23, 25], 1] -= arch * 0.6
    for brow, inner in ((np.arange(17, 22), 21), (np.arange(22, 27), 22)):
        _scale_about(s, brow, mul(0.88, 1.1), 1.0, centre=s[inner])
    nose = np.arange(28, 36)
    s[nose, 1] = s[27, 1] + (s[nose, 1] - s[27, 1]) * mul(0.9, 1.12)
    _scale_about(s, np.arange(31, 36), mul(0.85, 1.25), 1.0, centre=(0, s[33, 1]))
    mouth = np.arange(48, 68)
    _scale_about(s, mouth, mul(0.8, 1.22), 1.0)
    s[mouth, 1] += add(-0.08, 0.1)
    s[[49, 50, 51, 52, 53], 1] -= add(-0.03, 0.06)
    s[[55, 56, 57, 58, 59], 1] += add(-0.04, 0.08)
    s[[48, 54, 60, 64], 1] += add(-0.05, 0.06)  # corners up or down
    s += amount * rng.normal(0, 0.008, s.shape).astype(np.float32)
    return s


#: Action units that shape a resting face, with the range of their weights.
RESTING_UNITS = {1: 0.35, 2: 0.35, 4: 0.35, 5: 0.35, 7: 0.35, 9: 0.25, 12: 0.35, 15: 0.35,
                 20: 0.3, 23: 0.35}


def sample_resting_face(rng: np.random.Generator, amount: float = 1.0) -> np.ndarray:
    """Draw the displacement of a resting face from the mean neutral shape.

    People differ in how their neutral face looks: brows set low or high,
    mouth corners turned up or down, lids heavy or wide, lips parted. These
    resemble weak expressions and are part of the identity (the neutral
    frame has them too), so they confuse a classifier that looks at the
    image alone but cancel out of the residual.

    Args:
        rng (np.random.Generator): source of randomness.
        amount (float): scales every weight. Defaults to 1.0.

    Returns:
        np.ndarray: float32 ``(68, 2)`` displacement in the eye frame.
    """
    total = np.zeros((68, 2), np.float32)
    for au, spread in RESTING_UNITS.items():
        total += float(rng.uniform(-spread, spread)) * action_unit_field(au)
    if rng.random() < 0.35:
        total += float(rng.uniform(0.2, 0.7)) * action_unit_field(25)
    if rng.random() < 0.2:
        total += float(rng.uniform(0.05, 0.25)) * action_unit_field(26)
    return total * np.float32(amount)


@dataclass
class FaceIdentity:
    """Everything about a synthetic person that an expression does not change.

    Colours are RGB floats in 0..255; lengths are in inter-ocular units
    (eye frame) unless said otherwise.

    Args:
        shape (np.ndarray): neutral landmarks ``(68, 2)`` in the eye frame.
        depth (np.ndarray): depth ``(68,)`` of each landmark, for the yaw.
        roll, yaw, pitch (float): head rotation in radians.
        iod (float): inter-ocular distance as a fraction of the image side.
        centre (tuple[float, float]): position of the eye midpoint as
            fractions of the image side.
        skin, lips, brows, hair, iris, background, clothes (np.ndarray): colours.
        hair_style (str): one of :data:`HAIR_STYLES`.
        hairline (float): height of the hairline above the eye line.
        head_height (float): height of the skull top above the eye line.
        brow_thickness (tuple[float, float]): inner and outer brow thickness.
        light (np.ndarray): light direction (x, y, z), unit length.
        ambient (float): share of light that is not directional.
        texture_seed (int): seed of the skin texture.
        texture (float): strength of the skin texture.
        wrinkles (float): how deep the expression wrinkles and folds are.
        glasses (bool): whether the person wears glasses.
        beard (float): darkness of a beard shadow, 0 for none.
        gaze (tuple[float, float]): iris offset as a fraction of the eye width.
        style (ExpressionStyle): how the person performs the action units.
    """

    shape: np.ndarray
    depth: np.ndarray
    roll: float
    yaw: float
    pitch: float
    iod: float
    centre: tuple
    skin: np.ndarray
    lips: np.ndarray
    brows: np.ndarray
    hair: np.ndarray
    iris: np.ndarray
    background: np.ndarray
    clothes: np.ndarray
    hair_style: str
    hairline: float
    head_height: float
    brow_thickness: tuple
    light: np.ndarray
    ambient: float
    texture_seed: int
    texture: float
    wrinkles: float
    glasses: bool
    beard: float
    gaze: tuple
    style: ExpressionStyle = field(repr=False)

    def project(self, points: np.ndarray, size: int,
                depth: Optional[np.ndarray] = None) -> np.ndarray:
        """Map eye-frame points to pixel coordinates of a ``size`` image.

        Pixel coordinates follow OpenCV (the centre of pixel ``(i, j)`` is
        ``x = j, y = i``).

        Args:
            points (np.ndarray): ``(N, 2)`` eye-frame points.
            size (int): side of the square image in pixels.
            depth (np.ndarray, optional): ``(N,)`` depths; None uses
                :func:`surface_depth`, or the landmark depths when ``N == 68``.
                Defaults to None.

        Returns:
            np.ndarray: float32 ``(N, 2)`` pixel coordinates.
        """
        points = np.asarray(points, np.float32)
        if depth is None:
            depth = self.depth if len(points) == 68 else surface_depth(points)
        x = points[:, 0] * np.cos(self.yaw) + depth * np.sin(self.yaw)
        z = depth * np.cos(self.yaw) - points[:, 0] * np.sin(self.yaw)
        y = points[:, 1] * np.cos(self.pitch) - z * np.sin(self.pitch)
        cos, sin = np.cos(self.roll), np.sin(self.roll)
        scale = self.iod * size
        px = (x * cos - y * sin) * scale + self.centre[0] * size - 0.5
        py = (x * sin + y * cos) * scale + self.centre[1] * size - 0.5
        return np.stack([px, py], 1).astype(np.float32)


def _mix(palette: np.ndarray, rng: np.random.Generator, jitter: float) -> np.ndarray:
    t = rng.uniform(0, len(palette) - 1)
    lo = int(np.floor(t))
    hi = min(lo + 1, len(palette) - 1)
    colour = palette[lo] + (palette[hi] - palette[lo]) * (t - lo)
    colour = colour * rng.uniform(1 - jitter, 1 + jitter, 3)
    return np.clip(colour, 0, 255).astype(np.float32)


def sample_identity(rng: np.random.Generator, pose: float = 1.0,
                    shape_variation: float = 1.0, resting: float = 1.0) -> FaceIdentity:
    """Draw a random :class:`FaceIdentity`.

    Args:
        rng (np.random.Generator): source of randomness.
        pose (float): scales the head-pose and position ranges (roll up to
            5 degrees, yaw up to 9, pitch up to 4 at 1). Defaults to 1.0.
        shape_variation (float): scales the face-shape variation of
            :func:`sample_face_shape`. Defaults to 1.0.
        resting (float): scales the resting-face variation of
            :func:`sample_resting_face`. Defaults to 1.0.

    Returns:
        FaceIdentity: the drawn identity.

    Examples:
        >>> ident = sample_identity(np.random.default_rng(0))
        >>> ident.shape.shape
        (68, 2)
    """
    shape = sample_face_shape(rng, shape_variation) + sample_resting_face(rng, resting)
    skin = _mix(_SKIN_TONES, rng, 0.06)
    hair = _mix(_HAIR_COLOURS, rng, 0.1)
    lips = skin * rng.uniform([0.85, 0.55, 0.55], [1.0, 0.75, 0.75]) * rng.uniform(0.45, 1.0)
    lips = np.clip(lips + (skin - lips) * rng.uniform(0, 0.6), 0, 255)
    bg_level = rng.uniform(30, 230)
    background = np.clip(bg_level * rng.uniform(0.6, 1.3, 3), 0, 255).astype(np.float32)
    light = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.6, 0.3), 1.0], np.float32)
    style_name = str(rng.choice(HAIR_STYLES, p=[0.1, 0.3, 0.25, 0.2, 0.15]))
    return FaceIdentity(
        shape=shape,
        depth=_landmark_depth(shape),
        roll=float(rng.uniform(-0.08, 0.08) * pose),
        yaw=float(rng.uniform(-0.15, 0.15) * pose),
        pitch=float(rng.uniform(-0.07, 0.07) * pose),
        iod=float(0.25 * (1 + rng.uniform(-0.08, 0.08) * pose)),
        centre=(0.5 + float(rng.uniform(-0.03, 0.03) * pose),
                0.37 + float(rng.uniform(-0.03, 0.03) * pose)),
        skin=skin,
        lips=lips.astype(np.float32),
        brows=np.clip(hair * rng.uniform(0.6, 0.9), 0, 255).astype(np.float32),
        hair=hair,
        iris=_mix(_IRIS_COLOURS, rng, 0.15),
        background=background,
        clothes=rng.uniform(20, 235, 3).astype(np.float32),
        hair_style=style_name,
        hairline=float(rng.uniform(0.95, 1.35)),
        head_height=float(rng.uniform(1.75, 2.0)),
        brow_thickness=(float(rng.uniform(0.06, 0.11)), float(rng.uniform(0.03, 0.06))),
        light=light / np.linalg.norm(light),
        ambient=float(rng.uniform(0.35, 0.7)),
        texture_seed=int(rng.integers(0, 2 ** 31 - 1)),
        texture=float(rng.uniform(0.03, 0.1)),
        wrinkles=float(rng.uniform(0.5, 1.2)),
        glasses=bool(rng.random() < 0.2),
        beard=float(rng.uniform(0.15, 0.6)) if rng.random() < 0.25 else 0.0,
        gaze=(float(rng.uniform(-0.06, 0.06)), float(rng.uniform(-0.04, 0.04))),
        style=sample_expression_style(rng),
    )
