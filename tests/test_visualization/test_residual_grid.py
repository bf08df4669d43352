"""Residual colours on a fixed scale in intensity units, so that figures compare; labelled grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from errkit.visualization import (COLUMN_HEADERS, RESIDUAL_SCALE, RowLabel,
                                  check_residual_scale, labelled_residual_grid, residual_limit,
                                  residual_panels, scale_caption, signed_colormap)


def _residual(peak: float) -> torch.Tensor:
    """A (1, 8, 8) residual in the model's [-1, 1] units: a ramp from -peak to +peak."""
    return torch.linspace(-peak, peak, 64).reshape(1, 8, 8)


def test_the_fixed_scale_draws_a_residual_alike_whatever_its_neighbours():
    weak, strong = _residual(0.1), _residual(0.9)
    # the same pixel values get the same colours in a weak and a strong residual ...
    same = torch.zeros(1, 8, 8)
    same[0, 0, :4] = torch.tensor([-0.1, -0.05, 0.05, 0.1])
    weak_pixels = signed_colormap(torch.cat([same[:, :1], weak[:, 1:]], 1))[0, :4]
    strong_pixels = signed_colormap(torch.cat([same[:, :1], strong[:, 1:]], 1))[0, :4]
    np.testing.assert_array_equal(weak_pixels, strong_pixels)
    # ... while per image each residual is stretched to its own maximum
    per_weak = signed_colormap(torch.cat([same[:, :1], weak[:, 1:]], 1), "per_image")[0, :4]
    per_strong = signed_colormap(torch.cat([same[:, :1], strong[:, 1:]], 1), "per_image")[0, :4]
    assert not np.array_equal(per_weak, per_strong)


def test_the_scale_is_in_intensity_units():
    # images in [-1, 1] are intensities 0..1, so a model-unit residual of 2 * RESIDUAL_SCALE
    # is the end of the fixed scale: full red, and anything beyond saturates there
    end = signed_colormap(torch.full((1, 1, 1), 2 * RESIDUAL_SCALE))
    beyond = signed_colormap(torch.full((1, 1, 1), 1.5))
    half = signed_colormap(torch.full((1, 1, 1), RESIDUAL_SCALE))
    np.testing.assert_array_equal(end, beyond)
    assert not np.array_equal(half, end)
    np.testing.assert_array_equal(signed_colormap(torch.full((1, 1, 1), 0.2), 0.1), end)
    assert residual_limit(_residual(0.6), "per_image") == pytest.approx(0.3)
    assert residual_limit(None, 0.4) == 0.4 and residual_limit(None) == RESIDUAL_SCALE


@pytest.mark.parametrize("bad", ["loud", 0, -0.1, "nan?", True])
def test_bad_scales_are_refused(bad):
    with pytest.raises(ValueError, match="residual scale"):
        check_residual_scale(bad)


def test_labelled_grid_has_headers_labels_and_a_colour_bar():
    x = torch.rand(1, 32, 32) * 2 - 1
    panels = residual_panels(x, x * 0.5, x * 0.5, x * 0.4)
    bare = labelled_residual_grid([panels], headers=())
    labelled = labelled_residual_grid([panels, panels[:3]],
                                      [RowLabel("happy", "happy", 0.9), RowLabel("sad", "fear")])
    assert labelled.dtype == np.uint8 and labelled.shape[2] == 3
    # 32 px faces are enlarged 3x; the second row has no true neutral (white there)
    assert labelled.shape[0] > bare.shape[0] + 96 and labelled.shape[1] > bare.shape[1]
    # below the last row: the colour bar, from blue to red, and its caption
    below = labelled[-40:].astype(int)
    assert ((below[..., 2] - below[..., 0] > 100).any(axis=1)
            & (below[..., 0] - below[..., 2] > 60).any(axis=1)).any()
    assert COLUMN_HEADERS == ("input", "generated neutral", "residual", "true neutral")
    assert "intensity" in scale_caption("fixed") and "per image" in scale_caption("per_image")
    with pytest.raises(ValueError, match="row labels"):
        labelled_residual_grid([panels], [None, None])
