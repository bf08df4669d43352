"""Faces aligned once by ``tools/prepare_data.py``, read from one cache file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Union

from errkit.landmarks.face_cache import load_face_cache
from errkit.registry import DATASETS, TRANSFORMS

from .base_fer_dataset import BaseFERDataset

__all__ = ["CachedFaceDataset"]


@DATASETS.register_module()
class CachedFaceDataset(BaseFERDataset):
    """A dataset prepared by :func:`errkit.datasets.prepare.prepare_dataset`.

    The cache (see :mod:`errkit.landmarks.face_cache`) holds aligned
    ``size x size`` faces, their neutral references and landmarks, so no image
    is decoded or aligned while training: each sample's results dict already
    has ``img`` and (when it has one) ``neutral`` as ``(S, S, C)`` uint8
    arrays, ``landmarks`` / ``neutral_landmarks`` in crop coordinates, and
    ``ori_shape`` = ``img_shape`` = ``(S, S)``. The pipeline is then just
    ``[dict(type='PackFERInputs')]`` (plus any augmentation).

    The class names come from the cache; folds are selected as for every
    :class:`~errkit.datasets.BaseFERDataset` (subject-independent). Faces the
    preparation kept without landmarks (no face found) have ``landmarks`` None;
    further label sets of the cache (e.g. observer ratings) are each sample's
    ``extra_labels``.

    ``source`` names the dataset the cache is prepared from, so that one config
    describes both steps: ``tools/prepare_data.py CONFIG`` prepares ``source``
    into ``cache_file``, and a missing cache is reported with that command.

    Args:
        cache_file (str | os.PathLike): The ``.npz`` cache; relative to
            ``data_root`` when that is given and the path is relative.
        fold (int, optional): Cross-validation fold. Defaults to ``None``.
        num_folds (int): Number of folds. Defaults to 10.
        split (str): ``'train'``, ``'test'`` or ``'all'``. Defaults to ``'all'``.
        split_seed (int): Seed of the fold assignment. Defaults to 0.
        pipeline (Sequence[dict]): Transforms. Defaults to
            ``[dict(type='PackFERInputs')]``.
        source (dict, optional): The ``DATASETS`` config the cache is prepared
            from (its ``fold``, ``split`` and ``pipeline`` are ignored), with
            optional preparation settings under ``prepare`` (arguments of
            :func:`~errkit.datasets.prepare.prepare_dataset`, e.g.
            ``dict(detector='dlib', size=128)``). Defaults to None.
        **kwargs: Arguments of :class:`mmengine.dataset.BaseDataset`
            (``data_root``, ``metainfo``, ``test_mode``, ``lazy_init`` ...).

    Raises:
        FileNotFoundError: ``cache_file`` does not exist.
        errkit.landmarks.face_cache.FaceCacheError: It is not a valid cache.

    Examples:
        A cache of ten one-face subjects (``tools/prepare_data.py`` writes real ones):

        >>> import tempfile
        >>> import numpy as np
        >>> from errkit.landmarks.face_cache import FaceCache, save_face_cache
        >>> faces = [dict(img=np.zeros((128, 128, 1), np.uint8), landmarks=None,
        ...               neutral_index=-1, gt_label=s % 2, subject=f'S{s}',
        ...               sequence='001', frame=1, img_path=f'S{s}.png') for s in range(10)]
        >>> cache = FaceCache.from_records(faces, [], 128, 1, ('happy', 'sad'))
        >>> path = save_face_cache(cache, tempfile.mkdtemp() + '/ckplus.npz')
        >>> dataset = CachedFaceDataset(path, fold=0, split='train')
        >>> len(dataset), dataset[0]['inputs']['img'].shape
        (9, torch.Size([1, 128, 128]))
    """

    def __init__(
        self,
        cache_file: Union[str, os.PathLike],
        fold: Optional[int] = None,
        num_folds: int = 10,
        split: str = "all",
        split_seed: int = 0,
        pipeline: Sequence[Any] = (dict(type="PackFERInputs"),),
        metainfo: Optional[dict] = None,
        source: Optional[dict] = None,
        **kwargs: Any,
    ) -> None:
        path = Path(cache_file).expanduser()
        data_root = kwargs.get("data_root")
        if data_root and not path.is_absolute():
            path = Path(data_root) / path
        self.cache_file = str(path)
        self.source = None if source is None else dict(source)
        if self.source is not None and not path.is_file():
            raise FileNotFoundError(
                f"face cache {path} does not exist; prepare it once with "
                f"`python tools/prepare_data.py CONFIG` (the config whose dataset this is; "
                f"source: {self.source.get('type')} at {self.source.get('data_root')})")
        self._cache = load_face_cache(path)
        metainfo = dict({"classes": self._cache.classes}, **(metainfo or {}))
        # Built here from errkit's registry, so no mmengine default scope is needed.
        transforms = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        super().__init__(fold=fold, num_folds=num_folds, split=split, split_seed=split_seed,
                         pipeline=transforms, metainfo=metainfo, **kwargs)

    @property
    def synthetic(self) -> bool:
        """Whether the cached faces were prepared from errkit's synthetic faces."""
        return bool(self._cache.meta.get("synthetic", False))

    def load_data_list(self) -> List[dict]:
        """One contract dict per cached face (images are added on access).

        Returns:
            list[dict]: ``img_path``, ``neutral_path``, ``landmarks``,
            ``neutral_landmarks``, ``gt_label``, ``subject``, ``sequence``,
            ``frame`` and ``cache_index``.
        """
        cache = self._cache
        items = []
        for i in range(len(cache)):
            j = int(cache.neutral_index[i])
            item = {
                "cache_index": i,
                "img_path": str(cache.img_path[i]),
                "neutral_path": str(cache.neutral_paths[j]) if j >= 0 else None,
                "landmarks": cache.landmarks[i].copy() if cache.has_landmarks[i] else None,
                "neutral_landmarks": (cache.neutral_landmarks[j].copy()
                                      if j >= 0 and cache.neutral_has_landmarks[j] else None),
                "gt_label": int(cache.gt_label[i]),
                "subject": str(cache.subject[i]),
                "sequence": str(cache.sequence[i]),
                "frame": int(cache.frame[i]),
            }
            if len(cache.extra_label_names):
                item["extra_labels"] = {str(name): int(cache.extra_labels[i, k])
                                        for k, name in enumerate(cache.extra_label_names)}
            items.append(item)
        return items

    def get_data_info(self, idx: int) -> dict:
        """The sample's contract dict plus its aligned ``img`` and ``neutral``.

        Args:
            idx (int): Index of the (selected) sample.

        Returns:
            dict: Also holds ``img``, ``neutral`` (or None), ``ori_shape`` and
            ``img_shape``; the arrays are copies, safe to modify.
        """
        info = super().get_data_info(idx)
        i = info["cache_index"]
        j = int(self._cache.neutral_index[i])
        info["img"] = self._cache.images[i].copy()
        info["neutral"] = self._cache.neutrals[j].copy() if j >= 0 else None
        shape = tuple(info["img"].shape[:2])
        info["ori_shape"] = shape
        info["img_shape"] = shape
        return info
