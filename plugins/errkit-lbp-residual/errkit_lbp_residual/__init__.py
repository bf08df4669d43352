"""errkit-lbp-residual: a local-binary-pattern texture residual for ERR-Net.

Installing this distribution registers ``LBPResidual`` in errkit's ``RESIDUALS``
registry (through the ``errkit`` entry point ``lbp_residual``) and adds this
package's ``configs/`` folder to the folders ``errkit train`` searches.
"""

from errkit_lbp_residual.lbp_residual import LBPResidual, lbp_kernels
from errkit_lbp_residual.plugin import CONFIG_DIR, ERRKIT_PLUGIN_API, base_config_path

__version__ = "0.1.0"

__all__ = ["LBPResidual", "lbp_kernels", "CONFIG_DIR", "ERRKIT_PLUGIN_API", "base_config_path",
           "__version__"]
