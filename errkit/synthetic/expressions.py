"""FACS action units and expression prototypes as 68-point displacement fields.

Every action unit (AU) is a ``(68, 2)`` displacement field in the eye frame of
:data:`errkit.landmarks.mean_shape.MEAN_SHAPE_68` (x to the image right,
y downwards, inter-ocular distance 1): adding ``intensity * field`` to a
neutral shape in that frame moves the landmarks as the AU does at full
strength. The fields are written for the subject's right side (image left)
and mirrored to the left side with the landmark flip permutation.

The seven expressions follow the EMFACS prototypes (Ekman & Friesen):

==========  ======================================  =========
expression  action units                            CK+ code
==========  ======================================  =========
anger       4 + 5 + 7 + 23                          1
contempt    12 + 14, one side only                  2
disgust     9 + 15 + 16                             3
fear        1 + 2 + 4 + 5 + 7 + 20 + 26             4
happy       6 + 12 (+ 25, lips parted a little)     5
sadness     1 + 4 + 15                              6
surprise    1 + 2 + 5 + 26                          7
==========  ======================================  =========

Each identity carries an :class:`ExpressionStyle`: how strongly it moves each
AU and how unevenly between its two sides, so the same expression differs
from one person to the next.
"""
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from errkit.landmarks.flip_index import FLIP_INDEX_68
from errkit.landmarks.mean_shape import MEAN_SHAPE_68

#: The expression classes in CK+ label order (CK+ code = index + 1).
EXPRESSIONS = ('anger', 'contempt', 'disgust', 'fear', 'happy', 'sadness', 'surprise')

# AU number -> displacements (dx, dy) of the subject's right-side and midline
# points, in inter-ocular units; "up" is -dy, "outwards" on the right side is -dx.
_AU_RIGHT: Dict[int, Dict[int, tuple]] = {
    1: {21: (0, -.13), 20: (0, -.10), 19: (0, -.06), 18: (0, -.03), 17: (0, -.01)},
    2: {17: (-.01, -.11), 18: (0, -.12), 19: (0, -.09), 20: (0, -.05), 21: (0, -.02)},
    4: {21: (.05, .08), 20: (.04, .07), 19: (.03, .055), 18: (.02, .04), 17: (.01, .025),
        37: (0, .015), 38: (0, .02)},
    5: {37: (0, -.055), 38: (0, -.055), 36: (0, -.005), 39: (0, -.005),
        40: (0, .01), 41: (0, .01)},
    6: {40: (0, -.03), 41: (0, -.035), 36: (0, -.01), 1: (-.01, -.01), 2: (-.015, -.015),
        3: (-.01, -.01)},
    7: {40: (0, -.04), 41: (0, -.04), 37: (0, .015), 38: (0, .015), 36: (.005, 0)},
    9: {31: (.01, -.05), 32: (0, -.045), 33: (0, -.04), 30: (0, -.025), 29: (0, -.012),
        48: (0, -.02), 49: (0, -.05), 50: (0, -.065), 51: (0, -.06), 60: (0, -.03),
        61: (0, -.055), 62: (0, -.05), 21: (.02, .04), 20: (0, .025), 40: (0, -.02),
        41: (0, -.02)},
    12: {48: (-.12, -.12), 60: (-.10, -.10), 49: (-.06, -.07), 61: (-.03, -.04),
         50: (-.02, -.02), 59: (-.07, -.08), 67: (-.05, -.06), 58: (-.03, -.04),
         57: (0, -.02), 66: (0, -.025), 51: (0, -.005), 62: (0, -.01),
         3: (-.01, -.01), 4: (-.015, -.015)},
    14: {48: (-.06, -.01), 60: (-.055, -.01), 49: (-.025, 0), 59: (-.025, 0),
         61: (-.015, 0), 67: (-.015, 0)},
    15: {48: (.01, .085), 60: (.01, .07), 49: (0, .035), 59: (0, .045), 61: (0, .025),
         67: (0, .03), 50: (0, .01), 58: (0, .02), 57: (0, .01)},
    16: {57: (0, .09), 58: (0, .08), 59: (0, .045), 66: (0, .08), 67: (0, .065),
         8: (0, .02), 7: (0, .015)},
    20: {48: (-.12, .025), 60: (-.10, .02), 49: (-.07, .01), 59: (-.07, .015),
         61: (-.05, .005), 67: (-.05, .01), 50: (-.03, .01), 58: (-.03, 0),
         51: (0, .01), 57: (0, -.01), 4: (-.01, 0), 5: (-.01, 0)},
    23: {48: (.045, 0), 60: (.04, 0), 49: (.03, .02), 50: (.01, .03), 51: (0, .03),
         59: (.03, -.02), 58: (.01, -.03), 57: (0, -.03), 61: (.02, .008), 62: (0, .008),
         67: (.02, -.008), 66: (0, -.008)},
    25: {61: (0, -.02), 62: (0, -.025), 67: (0, .04), 66: (0, .05), 57: (0, .02),
         58: (0, .02), 59: (0, .01)},
    26: {3: (0, .04), 4: (.005, .10), 5: (.01, .18), 6: (.01, .25), 7: (.005, .29),
         8: (0, .30), 57: (0, .26), 58: (.01, .25), 59: (.03, .2), 48: (.04, .12),
         60: (.04, .15), 66: (0, .27), 67: (.02, .26), 49: (.01, .02), 61: (.01, .02)},
}

#: The action units used, ascending.
ACTION_UNITS = tuple(sorted(_AU_RIGHT))

#: Expression -> {AU: weight at full intensity}.
PROTOTYPES: Dict[str, Dict[int, float]] = {
    'anger': {4: 1.0, 5: 0.6, 7: 1.0, 23: 1.0},
    'contempt': {12: 0.8, 14: 1.3},
    'disgust': {9: 1.0, 15: 0.8, 16: 0.8},
    'fear': {1: 1.0, 2: 0.8, 4: 0.8, 5: 1.0, 7: 0.4, 20: 1.2, 26: 0.45},
    'happy': {6: 1.0, 12: 1.0, 25: 0.5},
    'sadness': {1: 1.0, 4: 0.7, 15: 1.0},
    'surprise': {1: 1.0, 2: 1.0, 5: 1.0, 26: 1.0},
}

#: Expressions shown on one side of the face only.
UNILATERAL = frozenset({'contempt'})

_MIDLINE = np.array([FLIP_INDEX_68[i] == i for i in range(68)])
_RIGHT_SIDE = (MEAN_SHAPE_68[:, 0] < 0) & ~_MIDLINE


def _build_field(right: Dict[int, tuple]) -> np.ndarray:
    field = np.zeros((68, 2), np.float32)
    for index, (dx, dy) in right.items():
        if not (_RIGHT_SIDE[index] or _MIDLINE[index]):
            raise ValueError(f'AU table entry {index} is not a right-side or midline point')
        field[index] = (0.0 if _MIDLINE[index] else dx, dy)
        mirror = FLIP_INDEX_68[index]
        if mirror != index:
            field[mirror] = (-dx, dy)
    field.setflags(write=False)
    return field


_FIELDS = {au: _build_field(table) for au, table in _AU_RIGHT.items()}


def action_unit_field(au: int, side: str = 'both') -> np.ndarray:
    """Return the displacement field of one action unit at full strength.

    Args:
        au (int): FACS action unit number, one of :data:`ACTION_UNITS`.
        side (str): ``'both'``, ``'right'`` (the subject's right, image left)
            or ``'left'``; a one-sided field moves the midline points by half.
            Defaults to ``'both'``.

    Returns:
        np.ndarray: float32 displacements ``(68, 2)`` in inter-ocular units.

    Examples:
        >>> field = action_unit_field(26)
        >>> bool(field[8, 1] > 0)  # the jaw drops: the chin moves down
        True
    """
    if au not in _FIELDS:
        raise KeyError(f'unknown action unit {au}; known: {ACTION_UNITS}')
    field = _FIELDS[au]
    if side == 'both':
        return field.copy()
    if side not in ('right', 'left'):
        raise ValueError(f"side must be 'both', 'right' or 'left', got {side!r}")
    on_side = _RIGHT_SIDE if side == 'right' else ~(_RIGHT_SIDE | _MIDLINE)
    weight = np.where(_MIDLINE, 0.5, on_side.astype(np.float32))
    return (field * weight[:, None]).astype(np.float32)


@dataclass
class ExpressionStyle:
    """How one identity performs the action units.

    Args:
        gain (dict[int, float]): AU -> strength multiplier.
        right_left (dict[int, tuple[float, float]]): AU -> multipliers of the
            subject's right and left sides (asymmetry).
        weight_jitter (float): relative spread of the prototype weights drawn
            anew for every sequence. Defaults to 0.15.
    """

    gain: Dict[int, float]
    right_left: Dict[int, tuple]
    weight_jitter: float = 0.15


def sample_expression_style(rng: np.random.Generator, spread: float = 0.25,
                            asymmetry: float = 0.1) -> ExpressionStyle:
    """Draw an identity's :class:`ExpressionStyle`.

    Args:
        rng (np.random.Generator): source of randomness.
        spread (float): half-width of the uniform AU gain around 1.
            Defaults to 0.25.
        asymmetry (float): half-width of the uniform right/left imbalance.
            Defaults to 0.1.

    Returns:
        ExpressionStyle: the drawn style.
    """
    gain, right_left = {}, {}
    for au in ACTION_UNITS:
        gain[au] = float(rng.uniform(1 - spread, 1 + spread))
        tilt = float(rng.uniform(-asymmetry, asymmetry))
        right_left[au] = (1 + tilt, 1 - tilt)
    return ExpressionStyle(gain=gain, right_left=right_left)


def expression_displacement(expression: str, intensity: float = 1.0,
                            style: Optional[ExpressionStyle] = None,
                            side: str = 'right',
                            rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Return the landmark displacement of an expression.

    Args:
        expression (str): one of :data:`EXPRESSIONS`.
        intensity (float): overall strength, 0 (neutral) to about 1 (peak).
            Defaults to 1.0.
        style (ExpressionStyle, optional): the identity's style; None moves
            every AU exactly as the prototype says. Defaults to None.
        side (str): the side (``'right'`` or ``'left'``) of a one-sided
            expression (:data:`UNILATERAL`); ignored for the others.
            Defaults to ``'right'``.
        rng (np.random.Generator, optional): when given with ``style``, the
            prototype weights are jittered by ``style.weight_jitter``.
            Defaults to None.

    Returns:
        np.ndarray: float32 displacements ``(68, 2)`` in inter-ocular units,
        to be added to a neutral shape in the eye frame.

    Examples:
        >>> d = expression_displacement('happy')
        >>> bool(d[48, 1] < 0 and d[54, 1] < 0)  # both lip corners go up
        True
    """
    if expression not in PROTOTYPES:
        raise KeyError(f'unknown expression {expression!r}; known: {EXPRESSIONS}')
    unilateral = expression in UNILATERAL
    if unilateral and side not in ('right', 'left'):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    total = np.zeros((68, 2), np.float32)
    for au, weight in PROTOTYPES[expression].items():
        if style is not None:
            weight = weight * style.gain[au]
            if rng is not None:
                weight *= 1 + rng.uniform(-style.weight_jitter, style.weight_jitter)
        if unilateral:
            field = action_unit_field(au, side)
        else:
            field = action_unit_field(au)
            if style is not None:
                right, left = style.right_left[au]
                factor = np.where(_RIGHT_SIDE, right, np.where(_MIDLINE, 1.0, left))
                field = field * factor[:, None].astype(np.float32)
        total += weight * field
    return total * np.float32(intensity)
