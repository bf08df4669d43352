"""The embedded synthetic face set, generated on first use and read as CK+."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

from errkit.registry import DATASETS
from errkit.synthetic.expressions import EXPRESSIONS
from errkit.synthetic.generator import SyntheticFaceConfig, generate_synthetic_ckplus

from .ckplus_dataset import CKPlusDataset

__all__ = ["SyntheticCKPlusDataset"]


@DATASETS.register_module()
class SyntheticCKPlusDataset(CKPlusDataset):
    """Procedural synthetic faces in the CK+ layout, written on first use.

    Before loading, :func:`errkit.synthetic.generate_synthetic_ckplus` writes
    the set under ``data_root`` unless a set with the same parameters is
    already there; then the folder is read exactly like CK+ (last
    ``num_peak_frames`` frames of every sequence, its first frame as the exact
    neutral, exact 68-point landmarks).

    Args:
        data_root (str): folder of the set. Defaults to ``'data/synthetic_ckplus'``.
        num_identities (int): number of subjects. Defaults to 60.
        frames_per_sequence (int): frames from neutral to peak. Defaults to 8.
        image_size (int): image side in pixels. Defaults to 128.
        seed (int): seed of the generator. Defaults to 0.
        color (bool): RGB images when True, grey otherwise. Defaults to False.
        expressions (Sequence[str], optional): expressions to generate; None
            for all 7. Defaults to None.
        intensity_range (tuple[float, float]): peak intensity range.
            Defaults to (0.8, 1.1).
        noise (float): sensor noise in grey levels. Defaults to 1.0.
        generator_cfg (dict, optional): further
            :class:`~errkit.synthetic.SyntheticFaceConfig` fields (``pose``,
            ``shape_variation``, ``sequences_per_expression``, ``supersample``).
            Defaults to None.
        progress (bool): show a progress bar while generating. Defaults to True.
        **kwargs: the arguments of :class:`~errkit.datasets.CKPlusDataset`
            (``num_classes``, ``num_peak_frames``, ``fold``, ``num_folds``,
            ``split``, ``split_seed``, ``pipeline``, ``test_mode`` ...).

    Examples:
        A tiny set (written once, then reused)::

            ds = SyntheticCKPlusDataset(data_root='data/synthetic_tiny',
                                        num_identities=4, image_size=64)
    """

    synthetic = True

    def __init__(self, data_root: str = "data/synthetic_ckplus", num_identities: int = 60,
                 frames_per_sequence: int = 8, image_size: int = 128, seed: int = 0,
                 color: bool = False, expressions: Optional[Sequence[str]] = None,
                 intensity_range: Tuple[float, float] = (0.8, 1.1), noise: float = 1.0,
                 generator_cfg: Optional[dict] = None, progress: bool = True,
                 **kwargs: Any) -> None:
        self.generator_config = SyntheticFaceConfig(
            num_identities=num_identities, frames_per_sequence=frames_per_sequence,
            image_size=image_size, seed=seed, color=color,
            expressions=tuple(expressions) if expressions is not None else EXPRESSIONS,
            intensity_range=tuple(intensity_range), noise=noise, **(generator_cfg or {}))
        generate_synthetic_ckplus(data_root, self.generator_config, progress=progress)
        super().__init__(data_root=data_root, **kwargs)
