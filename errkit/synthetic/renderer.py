"""Draw a synthetic face from its 68 landmarks and its identity.

:class:`FaceRenderer` draws every frame of one identity. What the expression
cannot change (background, clothes, neck, ears, hair, light and skin texture)
is drawn once; each frame then draws the face from its landmarks:

- the face outline follows the jaw points 0-16 (a Catmull-Rom spline through
  them), the eye outlines pass through 36-41 / 42-47 (the corners 36, 39, 42,
  45 are the drawn corners), the upper edge of each brow through 17-21 /
  22-26, the outer lips through 48-59 and the mouth opening through 60-67,
  its corners meeting the lip corners 48 and 54; the lower nose runs through
  31-35;
- wrinkles, folds and cheek colour are placed relative to the landmarks and
  grow with their displacement from the identity's neutral landmarks
  (forehead lines with raised brows, a furrow with drawn-together brows,
  crow's feet with raised lower lids, nasolabial folds with raised lip
  corners, nose wrinkles, dimples), so the neutral landmarks always give the
  neutral face and every difference between two frames lies near the
  landmarks that moved.

Drawing happens at ``supersample`` times the output size with anti-aliased
OpenCV primitives and is reduced with area averaging.
"""
from functools import lru_cache
from typing import Optional

import cv2
import numpy as np

from errkit.synthetic.identity import FaceIdentity

_SHIFT = 4  # sub-pixel bits of the OpenCV drawing calls
_ONE = 1 << _SHIFT


@lru_cache(maxsize=16)
def _basis(samples: int) -> np.ndarray:
    t = np.linspace(0, 1, samples, endpoint=False, dtype=np.float32)[:, None]
    return 0.5 * np.hstack([-t ** 3 + 2 * t ** 2 - t, 3 * t ** 3 - 5 * t ** 2 + 2,
                            -3 * t ** 3 + 4 * t ** 2 + t, t ** 3 - t ** 2])


@lru_cache(maxsize=64)
def _windows(num_points: int) -> np.ndarray:
    return np.arange(num_points - 1)[:, None] + np.arange(4)


def catmull_rom(points: np.ndarray, samples: int = 6) -> np.ndarray:
    """Sample an open Catmull-Rom spline that passes through ``points``.

    Args:
        points (np.ndarray): ``(N, 2)`` control points, ``N >= 2``.
        samples (int): samples per segment. Defaults to 6.

    Returns:
        np.ndarray: float32 ``((N - 1) * samples + 1, 2)`` points, holding
        every control point (the first and the last ones included).

    Examples:
        >>> curve = catmull_rom(np.array([[0, 0], [1, 1], [2, 0]]), samples=4)
        >>> curve.shape, curve[4].tolist()
        ((9, 2), [1.0, 1.0])
    """
    p = np.asarray(points, np.float32)
    ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    curve = (_basis(samples) @ ext[_windows(len(p))]).reshape(-1, 2)
    return np.concatenate([curve, p[-1:]]).astype(np.float32)


def _fix(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points) * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _colour(rgb) -> tuple:
    return tuple(float(c) for c in rgb)


class FaceRenderer:
    """Render the frames of one synthetic identity.

    Args:
        identity (FaceIdentity): the person to draw.
        size (int): side of the square output image in pixels. Defaults to 128.
        supersample (int): drawing resolution factor. Defaults to 2.
        color (bool): RGB output when True, grey otherwise. Defaults to False.

    Examples:
        >>> import numpy as np
        >>> from errkit.synthetic.identity import sample_identity
        >>> ident = sample_identity(np.random.default_rng(0))
        >>> renderer = FaceRenderer(ident, size=64)
        >>> renderer.render(renderer.neutral_landmarks).shape
        (64, 64)
    """

    def __init__(self, identity: FaceIdentity, size: int = 128, supersample: int = 2,
                 color: bool = False):
        if size < 16:
            raise ValueError(f'size must be at least 16 pixels, got {size}')
        self.identity = identity
        self.size = int(size)
        self.ss = int(supersample)
        self.color = bool(color)
        self.hi = self.size * self.ss
        #: Landmarks ``(68, 2)`` of the neutral face in output pixels.
        self.neutral_landmarks = identity.project(identity.shape, self.size)
        self._neutral = self._to_hi(self.neutral_landmarks)
        self.unit = identity.iod * self.hi  # one inter-ocular distance in drawing pixels
        self.unit_out = identity.iod * self.size  # the same in output pixels
        self._build_static()

    # -- coordinates -----------------------------------------------------
    def _to_hi(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, np.float32) + 0.5) * self.ss - 0.5

    def _eye_frame_to_hi(self, points: np.ndarray) -> np.ndarray:
        return self._to_hi(self.identity.project(points, self.size))

    def _px(self, value: float) -> int:
        return max(1, int(round(value * self.unit)))

    # -- per-identity layers -----------------------------------------------
    def _build_static(self) -> None:
        ident, hi, u = self.identity, self.hi, self.unit
        shape = ident.shape
        cx = float(shape[[0, 16], 0].mean())
        cy = float(shape[[0, 16], 1].mean())
        rx = float(shape[16, 0] - shape[0, 0]) / 2
        t = np.linspace(0, np.pi, 25)[1:-1]
        skull = np.stack([cx + rx * np.cos(t), cy - ident.head_height * np.sin(t)], 1)
        self._skull = self._eye_frame_to_hi(skull)  # from point 16 over to point 0

        ramp = np.linspace(1.0, 0.75, hi, dtype=np.float32)[:, None, None]
        base = np.broadcast_to(ident.background * ramp, (hi, hi, 3))
        base = np.ascontiguousarray(np.clip(base, 0, 255).astype(np.uint8))
        hair = _colour(ident.hair)
        style = ident.hair_style
        if style in ('medium', 'long', 'fringe'):
            bottom = {'medium': 0.9, 'long': 2.8, 'fringe': 0.6}[style]
            t = np.linspace(-0.05, np.pi + 0.05, 40)
            back = np.stack([cx + rx * 1.2 * np.cos(t),
                             cy - (ident.head_height + 0.18) * np.sin(t)], 1)
            back = np.vstack([[cx + rx * 1.22, bottom], back, [cx - rx * 1.22, bottom]])
            cv2.fillPoly(base, [_fix(self._eye_frame_to_hi(back))], hair, cv2.LINE_AA, _SHIFT)
        neck = np.array([[-0.6, 1.1], [-0.62, 2.4], [0.62, 2.4], [0.6, 1.1]])
        clothes = np.array([[-2.6, 4.0], [-2.4, 2.5], [-0.7, 2.1], [0, 2.45], [0.7, 2.1],
                            [2.4, 2.5], [2.6, 4.0]])
        cv2.fillPoly(base, [_fix(self._eye_frame_to_hi(neck))], _colour(ident.skin * 0.78),
                     cv2.LINE_AA, _SHIFT)
        cv2.fillPoly(base, [_fix(self._eye_frame_to_hi(clothes))], _colour(ident.clothes),
                     cv2.LINE_AA, _SHIFT)
        ear_pts = np.array([[shape[0, 0] - 0.05, 0.3], [shape[16, 0] + 0.05, 0.3]])
        for centre in self._eye_frame_to_hi(ear_pts):
            axes = (self._px(0.13), self._px(0.3))
            cv2.ellipse(base, _fix(centre)[0, 0], (axes[0] * _ONE, axes[1] * _ONE),
                        np.degrees(ident.roll), 0, 360, _colour(ident.skin * 0.85), -1,
                        cv2.LINE_AA, _SHIFT)
        self._base = base

        # the hair over the forehead: between the hairline and the skull outline
        self._cap = None
        if style != 'bald':
            top = ident.head_height + (0.04 if style == 'short' else 0.12)
            t = np.linspace(0, np.pi, 31)
            outer = np.stack([cx + rx * 1.06 * np.cos(t), cy - top * np.sin(t)], 1)
            if style == 'fringe':
                low = float(shape[17:27, 1].min()) - 0.3
                line = np.stack([cx + rx * 0.99 * np.cos(t),
                                 -0.05 - (-low - 0.05) * np.sin(t) ** 0.6], 1)
                line[1:-1:2, 1] += 0.06
            else:
                line = np.stack([cx + rx * 0.97 * np.cos(t),
                                 -0.1 - (ident.hairline - 0.1) * np.sin(t) ** 0.7], 1)
            self._cap = _fix(self._eye_frame_to_hi(np.vstack([line, outer[::-1]])))

        # light and skin texture: one multiplicative map for the whole image
        rng = np.random.default_rng(ident.texture_seed)
        centre = self._eye_frame_to_hi(np.array([[0.0, 0.5]]))[0]
        yy, xx = np.mgrid[0:hi, 0:hi].astype(np.float32)
        dx, dy = (xx - centre[0]) / (1.35 * u), (yy - centre[1]) / (1.8 * u)
        nz = np.sqrt(np.clip(1 - dx ** 2 - dy ** 2, 0, None))
        lx, ly, lz = ident.light
        diffuse = np.clip(dx * lx + dy * ly + nz * lz, 0, None)
        inside = nz > 0
        diffuse[~inside] = 0.8 * lz
        light = ident.ambient + (1 - ident.ambient) * diffuse
        light = cv2.GaussianBlur(light, (0, 0), 0.12 * u)
        tex = np.zeros((hi, hi), np.float32)
        for cells, weight in ((5, 0.6), (20, 0.4)):
            noise = rng.normal(0, 1, (cells, cells)).astype(np.float32)
            tex += weight * cv2.resize(noise, (hi, hi), interpolation=cv2.INTER_CUBIC)
        pores = cv2.GaussianBlur(rng.normal(0, 1, (hi, hi)).astype(np.float32), (0, 0),
                                 0.5 * self.ss)
        tex += 1.5 * pores
        for _ in range(int(rng.integers(0, 4))):
            spot = self._eye_frame_to_hi(np.array([[rng.uniform(-0.9, 0.9),
                                                    rng.uniform(0.2, 1.5)]]))[0]
            cv2.circle(tex, _fix(spot)[0, 0], self._px(0.02) * _ONE, -6.0, -1,
                       cv2.LINE_AA, _SHIFT)
        light = (light * (1 + ident.texture * tex)).astype(np.float32)
        self._light = cv2.resize(light, (self.size, self.size), interpolation=cv2.INTER_AREA)

    # -- per-frame drawing ---------------------------------------------------
    def render(self, landmarks: np.ndarray, rng: Optional[np.random.Generator] = None,
               noise: float = 0.0) -> np.ndarray:
        """Draw the face whose landmarks are ``landmarks``.

        Args:
            landmarks (np.ndarray): ``(68, 2)`` output-pixel (x, y) landmarks.
            rng (np.random.Generator, optional): source of the sensor noise.
                Defaults to None (no noise).
            noise (float): standard deviation of the Gaussian sensor noise in
                grey levels. Defaults to 0.0.

        Returns:
            np.ndarray: uint8 image ``(size, size)`` (grey) or
            ``(size, size, 3)`` (RGB).
        """
        lm = self._to_hi(landmarks)
        if lm.shape != (68, 2):
            raise ValueError(f'expected landmarks of shape (68, 2), got {lm.shape}')
        ident = self.identity
        img = self._base.copy()
        face = np.vstack([catmull_rom(lm[0:17], 5), self._skull])
        cv2.fillPoly(img, [_fix(face)], _colour(ident.skin), cv2.LINE_AA, _SHIFT)
        if ident.beard > 0:
            self._draw_beard(img, lm)
        # soft shading is drawn at the output size and applied after the reduction
        dark = np.zeros((self.size, self.size), np.float32)
        blush = np.zeros((self.size, self.size), np.float32)
        self._draw_shading(dark, blush, np.asarray(landmarks, np.float32))
        self._draw_nose(img, lm)
        for eye, brow in ((slice(36, 42), slice(17, 22)), (slice(42, 48), slice(22, 27))):
            self._draw_eye(img, lm[eye], self._neutral[eye])
            self._draw_brow(img, lm[brow], inner_last=brow.start == 17)
        self._draw_mouth(img, lm)
        if self._cap is not None:
            cv2.fillPoly(img, [self._cap], _colour(ident.hair), cv2.LINE_AA, _SHIFT)
        if ident.glasses:
            self._draw_glasses(img)

        out = cv2.resize(img, (self.size, self.size), interpolation=cv2.INTER_AREA)
        out = out.astype(np.float32)
        blush = cv2.GaussianBlur(blush, (0, 0), 0.12 * self.unit_out)
        tint = np.array([0.0, 0.35, 0.3], np.float32)  # blush removes green and blue
        out *= 1 - blush[..., None] * tint
        dark = cv2.GaussianBlur(dark, (0, 0), max(0.5, 0.02 * self.unit_out))
        out *= (self._light * (1 - dark))[..., None]
        if not self.color:
            out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        if noise > 0 and rng is not None:
            out = out + rng.normal(0, noise, out.shape).astype(np.float32)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def _line(self, layer, points, value, width, spline=True):
        """Draw a soft line at the output size; ``width`` in inter-ocular units."""
        if value <= 1e-3:
            return
        pts = catmull_rom(points, 5) if spline and len(points) > 2 else np.asarray(points)
        thickness = max(1, int(round(width * self.unit_out)))
        cv2.polylines(layer, [_fix(pts)], False, float(value), thickness, cv2.LINE_8, _SHIFT)

    def _draw_shading(self, dark, blush, lm):
        ident, u, n = self.identity, self.unit_out, self.neutral_landmarks
        w = ident.wrinkles
        up = np.array([0, -u], np.float32)
        right = np.array([u, 0], np.float32)

        def rise(idx):  # upward displacement from neutral, in inter-ocular units
            return float(np.mean(n[idx, 1] - lm[idx, 1])) / u

        brow_raise = rise(list(range(17, 27)))
        lid_raise = rise([40, 41, 46, 47])
        squeeze = (np.linalg.norm(n[21] - n[22]) - np.linalg.norm(lm[21] - lm[22])) / u
        furrow = np.clip(squeeze / 0.08 + max(0.0, -rise([20, 21, 22, 23])) / 0.12, 0, 1.5)
        forehead = np.clip(brow_raise / 0.1, 0, 1.5)
        mid = (lm[21] + lm[22]) / 2
        for k in range(3):
            lift = (0.22 + 0.13 * k) * up
            pts = np.stack([lm[18] + lift, lm[20] + lift, mid + lift * 1.05, lm[23] + lift,
                            lm[25] + lift])
            self._line(dark, pts, 0.2 * w * forehead, 0.018)
        for side in (-1, 1):
            base = mid + side * 0.05 * right
            self._line(dark, [base - 0.02 * up, base + 0.18 * up], 0.3 * w * furrow, 0.02, False)
        nose_up = np.clip(rise([31, 32, 33, 34, 35]) / 0.035, 0, 1.5)
        for sign, corner, outer, nostril, lid in ((-1, 48, 36, 31, [41, 40]),
                                                  (1, 54, 45, 35, [46, 47])):
            out = sign * right
            d_corner = n[corner] - lm[corner]
            lift = float(d_corner[1]) / u
            spread = float(-sign * d_corner[0]) / u
            smile = np.clip((0.7 * lift + 0.5 * spread) / 0.1, 0, 1.5)
            fold = [lm[nostril] + 0.07 * out - 0.05 * up,
                    (lm[nostril] + lm[corner]) / 2 + 0.13 * out,
                    lm[corner] + 0.1 * out - 0.07 * up]
            self._line(dark, fold, w * (0.06 + 0.22 * smile), 0.03)
            self._line(dark, [lm[corner] + 0.02 * out - 0.04 * up,
                              lm[corner] + 0.04 * out - 0.22 * up],
                       0.25 * w * np.clip(-lift / 0.06, 0, 1.5), 0.02, False)
            self._line(dark, [lm[corner] + 0.06 * out + 0.04 * up,
                              lm[corner] + 0.07 * out - 0.05 * up],
                       0.3 * w * np.clip(spread / 0.07, 0, 1.5), 0.02, False)
            lids = np.clip(rise(lid) / 0.035, 0, 1.5)
            for dy in (-0.05, 0.0, 0.06):
                self._line(dark, [lm[outer] + 0.05 * out - dy * up,
                                  lm[outer] + 0.18 * out - 2.5 * dy * up],
                           0.22 * w * lids, 0.015, False)
            bag = [lm[outer] - 0.03 * up, lm[lid[0]] - 0.07 * up, lm[lid[1]] - 0.07 * up,
                   lm[outer - 3 * sign] - 0.03 * up]
            self._line(dark, bag, 0.04 + 0.15 * w * lids, 0.02)
            self._line(dark, [lm[28] + 0.03 * out - 0.03 * up, lm[28] + 0.12 * out - 0.08 * up],
                       0.25 * w * nose_up, 0.02, False)
            upper = lm[[outer, outer - sign, outer - 2 * sign, outer - 3 * sign]]
            self._line(dark, upper + 0.07 * up * np.array([[0.3], [1], [1], [0.3]]), 0.12, 0.02)
            cheek = (0.4 * lm[lid[0]] + 0.3 * lm[corner] + 0.3 * lm[2 if sign < 0 else 14])
            cheek_n = (0.4 * n[lid[0]] + 0.3 * n[corner] + 0.3 * n[2 if sign < 0 else 14])
            cheek = cheek + 1.5 * (cheek - cheek_n)
            raised = np.clip((lid_raise + max(lift, 0)) / 0.08, 0, 1.5)
            axes = (int(0.2 * u * _ONE), int(0.14 * u * _ONE))
            cv2.ellipse(blush, _fix(cheek)[0, 0], axes, 0, 0, 360, 0.25 + 0.3 * raised, -1,
                        cv2.LINE_8, _SHIFT)
            cv2.ellipse(dark, _fix(cheek - 0.05 * up)[0, 0], (int(0.12 * u * _ONE),
                        int(0.08 * u * _ONE)), 0, 0, 360, -0.08 * raised, -1,
                        cv2.LINE_8, _SHIFT)
        self._line(dark, [lm[58] - 0.06 * up, lm[57] - 0.08 * up, lm[56] - 0.06 * up], 0.12,
                   0.04)
        self._line(dark, lm[0:17], 0.15, 0.06)
        self._line(dark, [lm[33], lm[51]], 0.05, 0.04, False)

    def _draw_beard(self, img, lm):
        u = self.unit
        ring = np.vstack([catmull_rom(lm[3:14], 4),
                          [lm[54] + (0.1 * u, -0.06 * u), lm[35] + (0.05 * u, 0.06 * u),
                           lm[33] + (0, 0.05 * u), lm[31] + (-0.05 * u, 0.06 * u),
                           lm[48] + (-0.1 * u, -0.06 * u)]])
        colour = self.identity.skin * (1 - self.identity.beard) + \
            self.identity.hair * self.identity.beard
        cv2.fillPoly(img, [_fix(ring)], _colour(colour), cv2.LINE_AA, _SHIFT)

    def _draw_nose(self, img, lm):
        u, skin = self.unit, self.identity.skin
        cv2.polylines(img, [_fix(catmull_rom(lm[31:36], 4))], False, _colour(skin * 0.6),
                      self._px(0.02), cv2.LINE_AA, _SHIFT)
        for wing, inner in ((31, 32), (35, 34)):
            out = np.sign(lm[wing, 0] - lm[33, 0])
            ala = [lm[wing], lm[wing] + (0.04 * u * out, -0.07 * u),
                   lm[wing] + (-0.01 * u * out, -0.15 * u)]
            cv2.polylines(img, [_fix(catmull_rom(ala, 4))], False, _colour(skin * 0.7),
                          self._px(0.015), cv2.LINE_AA, _SHIFT)
            centre = 0.55 * lm[inner] + 0.45 * lm[wing] + (0, -0.025 * u)
            cv2.ellipse(img, _fix(centre)[0, 0], (self._px(0.05) * _ONE, self._px(0.024) * _ONE),
                        np.degrees(self.identity.roll), 0, 360, _colour(skin * 0.3), -1,
                        cv2.LINE_AA, _SHIFT)

    def _draw_eye(self, img, eye, eye_neutral):
        ident, u = self.identity, self.unit
        upper = catmull_rom(eye[[0, 1, 2, 3]], 5)
        lower = catmull_rom(eye[[3, 4, 5, 0]], 5)
        outline = np.vstack([upper, lower[1:-1]])
        cv2.fillPoly(img, [_fix(outline)], (235.0, 232.0, 225.0), cv2.LINE_AA, _SHIFT)
        # the eyeball stays where it was; only the lids move
        width = float(np.linalg.norm(eye_neutral[3] - eye_neutral[0]))
        shift = (eye[0] + eye[3] - eye_neutral[0] - eye_neutral[3]) / 2
        centre = eye_neutral.mean(0) + shift + np.array(ident.gaze) * width
        x0, y0 = np.floor(outline.min(0)).astype(int) - 1
        x1, y1 = np.ceil(outline.max(0)).astype(int) + 2
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, self.hi), min(y1, self.hi)
        if x1 > x0 and y1 > y0:
            roi = img[y0:y1, x0:x1]
            mask = np.zeros(roi.shape[:2], np.uint8)
            cv2.fillPoly(mask, [_fix(outline - (x0, y0))], 255, cv2.LINE_AA, _SHIFT)
            layer = roi.copy()
            c = _fix(centre - (x0, y0))[0, 0]
            radius = 0.23 * width
            cv2.circle(layer, c, int(radius * _ONE), _colour(ident.iris), -1, cv2.LINE_AA, _SHIFT)
            cv2.circle(layer, c, int(0.45 * radius * _ONE), (15.0, 12.0, 12.0), -1,
                       cv2.LINE_AA, _SHIFT)
            glint = _fix(centre - (x0, y0) + (0.3 * radius, -0.35 * radius))[0, 0]
            cv2.circle(layer, glint, int(0.18 * radius * _ONE), (250.0, 250.0, 250.0), -1,
                       cv2.LINE_AA, _SHIFT)
            alpha = (mask.astype(np.float32) / 255)[..., None]
            roi[:] = np.round(layer * alpha + roi * (1 - alpha)).astype(np.uint8)
        lash = _colour(np.minimum(ident.brows, 60) * 0.6)
        cv2.polylines(img, [_fix(upper)], False, lash, self._px(0.03), cv2.LINE_AA, _SHIFT)
        cv2.polylines(img, [_fix(lower)], False, _colour(ident.skin * 0.55), self._px(0.012),
                      cv2.LINE_AA, _SHIFT)

    def _draw_brow(self, img, brow, inner_last):
        inner, outer = self.identity.brow_thickness
        top = catmull_rom(brow, 5)
        profile = np.linspace(outer, inner, len(top)) if inner_last else \
            np.linspace(inner, outer, len(top))
        profile = profile * np.minimum(1, 0.45 + 3 * np.minimum(
            np.linspace(0, 1, len(top)), np.linspace(1, 0, len(top))))
        tangent = np.gradient(top, axis=0)
        normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
        normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-6
        normal *= np.where(normal[:, 1:2] < 0, -1, 1)  # point downwards
        bottom = top + normal * (profile[:, None] * self.unit)
        cv2.fillPoly(img, [_fix(np.vstack([top, bottom[::-1]]))], _colour(self.identity.brows),
                     cv2.LINE_AA, _SHIFT)

    def _draw_mouth(self, img, lm):
        ident, u = self.identity, self.unit
        upper_out = catmull_rom(lm[48:55], 5)
        lower_out = catmull_rom(lm[[54, 55, 56, 57, 58, 59, 48]], 5)
        upper_in = catmull_rom(lm[[48, 60, 61, 62, 63, 64, 54]], 5)
        lower_in = catmull_rom(lm[[54, 64, 65, 66, 67, 60, 48]], 5)
        cv2.fillPoly(img, [_fix(np.vstack([upper_out, lower_out[1:-1]]))],
                     _colour(ident.lips), cv2.LINE_AA, _SHIFT)
        cv2.fillPoly(img, [_fix(np.vstack([upper_out, upper_in[::-1][1:-1]]))],
                     _colour(ident.lips * 0.85), cv2.LINE_AA, _SHIFT)
        opening = np.vstack([upper_in, lower_in[1:-1]])
        cv2.fillPoly(img, [_fix(opening)], (45.0, 22.0, 28.0), cv2.LINE_AA, _SHIFT)
        gap = float(np.max(lm[[65, 66, 67], 1] - lm[[63, 62, 61], 1])) / u
        if gap > 0.03:
            x0, y0 = np.floor(opening.min(0)).astype(int) - 1
            x1, y1 = np.ceil(opening.max(0)).astype(int) + 2
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, self.hi), min(y1, self.hi)
            roi = img[y0:y1, x0:x1]
            mask = np.zeros(roi.shape[:2], np.uint8)
            cv2.fillPoly(mask, [_fix(opening - (x0, y0))], 255, cv2.LINE_AA, _SHIFT)
            layer = roi.copy()
            centre = opening.mean(0)
            teeth = (225.0, 222.0, 210.0)
            for curve, depth in ((upper_in, 0.09), (lower_in, -0.05)):
                narrow = centre + (curve - centre) * (0.82, 1.0)
                band = np.vstack([narrow, narrow[::-1] + (0, depth * u)])
                cv2.fillPoly(layer, [_fix(band - (x0, y0))], teeth, cv2.LINE_AA, _SHIFT)
            alpha = (mask.astype(np.float32) / 255)[..., None]
            roi[:] = np.round(layer * alpha + roi * (1 - alpha)).astype(np.uint8)
        line = _colour(ident.lips * 0.45)
        cv2.polylines(img, [_fix(upper_in), _fix(lower_in)], False, line, self._px(0.012),
                      cv2.LINE_AA, _SHIFT)

    def _draw_glasses(self, img):
        n, u = self._neutral, self.unit
        frame = (30.0, 30.0, 34.0)
        rims = []
        for eye in (slice(36, 42), slice(42, 48)):
            centre = n[eye].mean(0) + (0, 0.02 * u)
            cv2.ellipse(img, _fix(centre)[0, 0], (self._px(0.3) * _ONE, self._px(0.2) * _ONE),
                        np.degrees(self.identity.roll), 0, 360, frame, self._px(0.03),
                        cv2.LINE_AA, _SHIFT)
            rims.append(centre)
        gap = (rims[1] - rims[0]) / np.linalg.norm(rims[1] - rims[0])
        bridge = [rims[0] + gap * 0.3 * u, rims[1] - gap * 0.3 * u]
        cv2.polylines(img, [_fix(np.array(bridge))], False, frame, self._px(0.03),
                      cv2.LINE_AA, _SHIFT)
