"""Residual grids that explain themselves: column headers, each face's classes, the scale.

:func:`labelled_residual_grid` lays out the panels of several faces (see
:func:`~errkit.visualization.residual_grid.residual_panels`) under the column
headers, with each face's true and predicted class at the left of its row,
and ends with the residual's colour bar and unit. Panels smaller than
``min_panel`` pixels are enlarged by an integer factor (nearest neighbour, so
no pixel is invented) to leave room for the text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence

import numpy as np

from .residual_grid import ResidualScale, check_residual_scale, residual_limit

__all__ = ["COLUMN_HEADERS", "RowLabel", "scale_caption", "labelled_residual_grid"]

#: The columns of a residual grid, in order (the last only where the true neutral is known).
COLUMN_HEADERS = ("input", "generated neutral", "residual", "true neutral")

_WHITE, _TEXT, _GREY = (255, 255, 255), (20, 20, 20), (110, 110, 110)
_RIGHT, _WRONG = (0, 110, 40), (190, 20, 20)


@dataclass
class RowLabel:
    """What the left of a row says about its face.

    Attributes:
        true (str | None): The true class (None: unknown).
        pred (str | None): The predicted class.
        score (float | None): The predicted class's probability.
    """

    true: Optional[str] = None
    pred: Optional[str] = None
    score: Optional[float] = None

    def lines(self) -> List[tuple]:
        """``(text, colour)`` lines: the prediction green when right, red when wrong."""
        out = []
        if self.true is not None:
            out.append((f"true: {self.true}", _TEXT))
        if self.pred is not None:
            colour = _TEXT if self.true is None else (_RIGHT if self.pred == self.true
                                                      else _WRONG)
            out.append((f"pred: {self.pred}", colour))
            if self.score is not None:
                out.append((f"p = {self.score:.2f}", _GREY))
        return out


def scale_caption(scale: ResidualScale = "fixed") -> str:
    """The legend text of a residual colour scale.

    Examples:
        >>> scale_caption()
        'residual = input - neutral, in intensity units (image range 0 to 1)'
        >>> scale_caption('per_image')
        'residual = input - neutral, colours scaled per image (not comparable)'
    """
    if check_residual_scale(scale) == "per_image":
        return "residual = input - neutral, colours scaled per image (not comparable)"
    return "residual = input - neutral, in intensity units (image range 0 to 1)"


@lru_cache(maxsize=4)
def _font(size: int):
    from PIL import ImageFont  # only to draw figures

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def _text_width(draw, text: str, font) -> int:
    box = draw.textbbox((0, 0), text, font=font)
    return box[2] - box[0]


def _wrap(draw, text: str, font, width: int) -> List[str]:
    """Words of ``text`` on as few lines as fit ``width`` pixels."""
    lines: List[str] = []
    for word in text.split():
        if lines and _text_width(draw, f"{lines[-1]} {word}", font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _colour_bar(width: int, height: int, cmap: str) -> np.ndarray:
    from matplotlib import colormaps  # only to draw figures

    ramp = colormaps[cmap](np.linspace(0.0, 1.0, width))[:, :3]
    return np.repeat((ramp * 255).round().astype(np.uint8)[None], height, axis=0)


def labelled_residual_grid(panel_rows: Sequence[Sequence[np.ndarray]],
                           row_labels: Optional[Sequence[Optional[RowLabel]]] = None,
                           headers: Sequence[str] = COLUMN_HEADERS,
                           scale: ResidualScale = "fixed", cmap: str = "RdBu_r",
                           min_panel: int = 96, pad: int = 4,
                           font_size: int = 11) -> np.ndarray:
    """Lay out faces' panels with column headers, row labels and the residual's scale.

    Args:
        panel_rows (Sequence[Sequence[np.ndarray]]): Per face, its panels
            (``(H, W, 3)`` uint8, all of one size), as
            :func:`~errkit.visualization.residual_grid.residual_panels` returns
            them; a row may lack the last panels (no true neutral).
        row_labels (Sequence[RowLabel | None], optional): Per face, its classes.
            Defaults to None (no label column).
        headers (Sequence[str]): Column headers. Defaults to
            :data:`COLUMN_HEADERS`.
        scale (str | float): The residual colour scale the panels were drawn
            with: a half-range in intensity units or ``'fixed'`` (a colour bar
            with its limits is drawn), or ``'per_image'`` (a note). Defaults to
            ``'fixed'``.
        cmap (str): The residual's colour map. Defaults to ``'RdBu_r'``.
        min_panel (int): Panels narrower than this are enlarged by the
            smallest integer factor that reaches it. Defaults to 96.
        pad (int): White pixels between panels and rows. Defaults to 4.
        font_size (int): Text size in pixels. Defaults to 11.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 RGB.

    Raises:
        ValueError: No rows, or as many labels as rows are not given.
    """
    from PIL import Image, ImageDraw  # only to draw figures

    if not panel_rows:
        raise ValueError("labelled_residual_grid needs at least one row")
    if row_labels is not None and len(row_labels) != len(panel_rows):
        raise ValueError(f"{len(row_labels)} row labels for {len(panel_rows)} rows")
    size = panel_rows[0][0].shape[0]
    zoom = max(1, math.ceil(min_panel / size))
    side = size * zoom
    columns = max(len(row) for row in panel_rows)
    font = _font(font_size)
    line = font_size + 3
    scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    header_lines = [_wrap(scratch, h, font, side) for h in headers[:columns]]
    header_h = line * max([len(lines) for lines in header_lines] or [0]) + pad
    labels = [lab.lines() if lab is not None else [] for lab in (row_labels or [])]
    label_w = 0
    if row_labels is not None:
        texts = [t for lines in labels for t, _ in lines] or [""]
        label_w = max(_text_width(scratch, t, font) for t in texts) + 2 * pad
    grid_w = label_w + columns * side + (columns - 1) * pad
    caption = scale_caption(scale)
    fixed = check_residual_scale(scale) != "per_image"
    legend_h = (line + 12 + line) if fixed else line
    width = max(grid_w, _text_width(scratch, caption, font) + 2 * pad)
    height = header_h + len(panel_rows) * (side + pad) + legend_h + pad
    canvas = Image.new("RGB", (width, height), _WHITE)
    draw = ImageDraw.Draw(canvas)
    for c, lines in enumerate(header_lines):
        x0 = label_w + c * (side + pad)
        top = header_h - pad - line * len(lines)  # bottom-aligned over the panels
        for i, text in enumerate(lines):
            w = _text_width(draw, text, font)
            draw.text((x0 + (side - w) // 2, top + i * line), text, fill=_TEXT, font=font)
    for r, panels in enumerate(panel_rows):
        y0 = header_h + r * (side + pad)
        for c, panel in enumerate(panels):
            big = np.repeat(np.repeat(panel, zoom, axis=0), zoom, axis=1)
            canvas.paste(Image.fromarray(big), (label_w + c * (side + pad), y0))
        if labels:
            text_y = y0 + (side - line * len(labels[r])) // 2
            for i, (text, colour) in enumerate(labels[r]):
                draw.text((pad, text_y + i * line), text, fill=colour, font=font)
    y = header_h + len(panel_rows) * (side + pad)
    if fixed:
        limit = residual_limit(None, scale)
        bar_w = min(grid_w - label_w, 3 * side)
        x0 = label_w + (grid_w - label_w - bar_w) // 2
        canvas.paste(Image.fromarray(_colour_bar(bar_w, 10, cmap)), (x0, y))
        draw.rectangle((x0, y, x0 + bar_w - 1, y + 9), outline=_GREY)
        for value, text in ((-limit, f"{-limit:+.2f}"), (0.0, "0"), (limit, f"{limit:+.2f}")):
            w = _text_width(draw, text, font)
            x = x0 + (value / limit + 1) / 2 * (bar_w - 1) - w / 2
            draw.text((min(max(x, 0), width - w), y + 12), text, fill=_TEXT, font=font)
        y += 12 + line
    draw.text((max(0, (width - _text_width(draw, caption, font)) // 2), y), caption,
              fill=_GREY, font=font)
    return np.asarray(canvas)
