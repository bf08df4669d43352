"""Templates of the skeleton plugin distribution written by ``errkit new-plugin``.

Each template is a :class:`string.Template` (``$name`` placeholders, filled by
:func:`errkit.cli.new_plugin.render_skeleton`). The placeholders are:

- ``$dist``: distribution name (``errkit-flow-residual``);
- ``$module``: top-level package (``errkit_flow_residual``);
- ``$entry_point``: entry-point name (``flow_residual``);
- ``$class_name``: the residual class (``FlowResidual``);
- ``$residual_module``: the residual's module, named after the class
  (``flow_residual``);
- ``$config_name``: the config file (``errnet_flow_synthetic.py``);
- ``$plugin_api``: the ``ERRKIT_PLUGIN_API`` specifier (``>=1,<2``);
- ``$errkit_requirement``: the dependency on errkit (``errkit>=0.1``).
"""

from __future__ import annotations

from string import Template
from typing import Dict

__all__ = ["TEMPLATES"]

PYPROJECT = Template('''\
[build-system]
requires = ["setuptools>=64", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "$class_name: a residual type for ERR-Net, as an errkit plugin."
readme = "README.md"
requires-python = ">=3.9"
dependencies = ["$errkit_requirement", "torch"]

[project.optional-dependencies]
test = ["pytest>=7"]

# errkit finds the plugin through this entry point.
[project.entry-points.errkit]
$entry_point = "$module.plugin"

# The configs folder is a (namespace) package of its own, so its files ship as modules.
[tool.setuptools]
packages = ["$module", "$module.configs"]

[tool.pytest.ini_options]
testpaths = ["tests"]
markers = ["slow: tests that start a fresh interpreter"]
''')

INIT = Template('''\
"""$dist: the $class_name residual type for ERR-Net, as an errkit plugin."""

from $module.plugin import CONFIG_DIR, ERRKIT_PLUGIN_API, base_config_path
from $module.$residual_module import $class_name

__version__ = "0.1.0"

__all__ = ["$class_name", "CONFIG_DIR", "ERRKIT_PLUGIN_API", "base_config_path", "__version__"]
''')

PLUGIN = Template('''\
"""errkit hooks of $dist (entry point ``$entry_point`` of the ``errkit`` group)."""

from __future__ import annotations

import os
from typing import List

import errkit

#: errkit plugin API versions this plugin works with (a PEP 440 specifier). errkit
#: does not load the plugin, and says why, when its own plugin API is outside it.
ERRKIT_PLUGIN_API = "$plugin_api"

#: The configs shipped with this package (package data).
CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


@errkit.hookimpl
def errkit_register_components(registries) -> None:
    """Register this package's components in errkit's registries."""
    from $module.$residual_module import $class_name

    registries.residuals.register_module(module=$class_name)


@errkit.hookimpl
def errkit_config_paths() -> List[str]:
    """This package's ``configs/`` folder, searched by ``errkit train NAME``."""
    return [CONFIG_DIR]


def base_config_path(name: str) -> str:
    """Absolute path of a config in errkit's (or a plugin's) config folders.

    mmengine resolves a relative ``_base_`` against the config's own folder, so
    this package's configs name errkit's as
    ``_base_ = __import__('$module').base_config_path('errnet_synthetic.py')``
    (mmengine evaluates the ``_base_`` expression).

    Args:
        name (str): Path relative to a config folder.

    Returns:
        str: The absolute path of the first match.

    Raises:
        FileNotFoundError: No config folder holds ``name``.
    """
    from errkit.plugin_manager import get_config_paths

    folders = get_config_paths()
    for folder in folders:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    raise FileNotFoundError(f"$dist: base config {name!r} not found in "
                            f"{', '.join(folders) or 'no config folder'}; errkit ships its "
                            "configs in its source tree (install errkit with pip install -e)")
''')

RESIDUAL = Template('''\
"""$class_name: a residual branch of ERR-Net."""

from __future__ import annotations

from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from errkit.models.residuals import BaseResidual, ResidualContext


class $class_name(BaseResidual):
    """Expression features from the residual image, pooled on a coarse grid.

    A starting point: replace the body with your own residual. The contract of
    :class:`~errkit.models.residuals.BaseResidual`:

    - ``forward(ctx)`` returns one feature vector per face, ``(B, out_channels)``;
      set ``self.out_channels`` in ``__init__``. ERR-Net concatenates the
      features of every branch and classifies them.
    - ``ctx`` is a :class:`~errkit.models.residuals.ResidualContext`. In eval
      mode only its inference fields are set (``x``, ``neutral_hat``,
      ``residual_hat``, ``encoder_features``, ``z``, ``activations``): errkit
      infers from the expressive image alone. A branch that needs more at
      inference names the fields in ``needs_at_inference``.
    - In training, ``neutral``, ``landmarks``, ``neutral_landmarks``, their masks
      and ``labels`` may be set, possibly for some faces only (see the masks).
      Set ``requires_landmarks`` / ``requires_neutral`` when ``loss`` uses them.
    - ``loss(ctx, feats)`` returns extra terms named ``loss_<name>``, weighted by
      the branch itself (e.g. a ``loss_weight`` argument); each a scalar connected
      to the graph (``feats.sum() * 0`` when no face of the batch is supervised).
    - ERR-Net fills the constructor arguments named in
      :data:`~errkit.models.residuals.BUILD_ARGUMENTS` (``in_channels``,
      ``encoder_channels``, ``encoder_reductions``, ``num_segments``,
      ``segment_dim``, ``num_classes``) when the config leaves them out.

    Args:
        in_channels (int): Image channels. Filled in by ERR-Net. Defaults to 1.
        grid_size (int): The residual image is pooled to ``grid_size x
            grid_size``. Defaults to 4.
        out_channels (int): Length of the features. Defaults to 32.

    Shape:
        - ``ctx.residual_hat``: ``(B, in_channels, H, W)``.
        - Output: ``(B, out_channels)``.
    """

    requires_landmarks = False
    requires_neutral = False
    needs_at_inference = ()

    def __init__(self, in_channels: int = 1, grid_size: int = 4, out_channels: int = 32) -> None:
        super().__init__()
        self.grid_size = grid_size
        self.proj = nn.Linear(2 * in_channels * grid_size ** 2, out_channels)
        self.out_channels = out_channels

    def forward(self, ctx: ResidualContext) -> torch.Tensor:
        """Pool the residual image and its magnitude on the grid, then project.

        Args:
            ctx (ResidualContext): Needs ``residual_hat``.

        Returns:
            Tensor: ``(B, out_channels)`` features.
        """
        if ctx.residual_hat is None:
            raise ValueError("$class_name needs ctx.residual_hat; the model has no decoder")
        r = ctx.residual_hat
        pooled = torch.cat([F.adaptive_avg_pool2d(r, self.grid_size),
                            F.adaptive_avg_pool2d(r.abs(), self.grid_size)], dim=1)
        return self.proj(pooled.flatten(1))

    def loss(self, ctx: ResidualContext, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        """No extra training terms."""
        return {}
''')

CONFIG = Template('''\
# ERR-Net on errkit's embedded synthetic faces with the $class_name residual added.
# errkit's `errnet_synthetic.py` is found through errkit's config folders: a relative
# `_base_` would be resolved against this file's folder, inside the installed plugin.
_base_ = __import__('$module').base_config_path('errnet_synthetic.py')

# Lists replace the base's list: the base's residuals are repeated here.
model = dict(
    residuals=[
        dict(type='PixelResidual', feat_channels=32, num_stages=3),
        dict(type='LandmarkResidual', source='both', hidden_channels=128, out_channels=64),
        dict(type='$class_name', grid_size=4, out_channels=32),
    ])
''')

TEST = Template('''\
"""Tests of $dist: the residual, and its discovery by errkit."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from errkit.models.residuals import ResidualContext
from $module import CONFIG_DIR, $class_name


def run_fresh(code):
    """Run ``code`` in a fresh interpreter with third-party plugins enabled."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ERRKIT_DISABLE_PLUGIN_AUTOLOAD", "ERRKIT_DISABLE_PLUGINS")}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True)


def test_forward_shape_in_eval_with_inference_fields_only():
    branch = $class_name(in_channels=1, out_channels=8).eval()
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    residual = torch.randn(2, 1, 16, 16) * 0.1
    ctx = ResidualContext(x=x, neutral_hat=x - residual, residual_hat=residual)
    assert not ctx.has_training_fields
    assert branch(ctx).shape == (2, branch.out_channels) == (2, 8)
    branch.check_inference_fields()


def test_config_is_shipped():
    assert os.path.isfile(os.path.join(CONFIG_DIR, "$config_name"))


@pytest.mark.slow
def test_errkit_discovers_the_plugin():
    result = run_fresh("from errkit.cli import main; main(['plugins', '--json'])")
    assert result.returncode == 0, result.stderr
    plugins = {p["distribution"]: p for p in json.loads(result.stdout)}
    assert "$dist" in plugins, "not installed: run `pip install -e .` in the plugin's folder"
    assert plugins["$dist"]["status"] == "loaded", plugins["$dist"]["reason"]
    assert plugins["$dist"]["components"] == {"residuals": ["$class_name"]}


@pytest.mark.slow
def test_config_builds_the_model():
    result = run_fresh("""
        import torch
        from errkit.config import load_config
        from errkit.registry import MODELS
        model = MODELS.build(load_config("$config_name").model).eval()
        with torch.no_grad():
            out = model.infer(torch.rand(2, 1, 64, 64) * 2 - 1)
        print([type(b).__name__ for b in model.recognizer.residuals][-1], tuple(out["probs"].shape))
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "$class_name (2, 7)"
''')

README = Template('''\
# $dist

`$class_name`, a residual type for ERR-Net, as an
errkit plugin: installing this package registers it in errkit's `RESIDUALS`
registry, with no change to errkit.

## Install and check

```bash
pip install -e .      # or: pip install $dist
errkit plugins        # lists "$dist" with "residuals (1): $class_name"
pytest -q             # the package's tests (discovery included)
```

## Use

Name it among the residuals of an ERR-Net config:

```python
model = dict(residuals=[dict(type='PixelResidual'), dict(type='$class_name', out_channels=32)])
```

or train the shipped config, found by name through the plugin's config folder. A
smoke run first (one epoch of a few iterations on a small subset of each split, in
`work_dirs/<config>_smoke`) checks that the whole path works in a minute:

```bash
errkit train $config_name --smoke
errkit train $config_name
```

`--data-root DIR` reads the data from `DIR` instead of the config's folder.

## Compatibility

`$module/plugin.py` declares `ERRKIT_PLUGIN_API = "$plugin_api"`. An errkit whose
plugin API is outside that range does not load the plugin: it warns, naming both
versions, and goes on without it (`errkit plugins` lists it as `incompatible`).

## Publish

```bash
python -m build            # dist/*.whl and dist/*.tar.gz
twine upload dist/*
```
''')

#: Relative path in the skeleton (with placeholders) -> template.
TEMPLATES: Dict[str, Template] = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "$module/__init__.py": INIT,
    "$module/plugin.py": PLUGIN,
    "$module/$residual_module.py": RESIDUAL,
    "$module/configs/$config_name": CONFIG,
    "tests/test_$residual_module.py": TEST,
}
