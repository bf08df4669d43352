"""What data a model was trained on, in a form a checkpoint can carry.

:func:`describe_training_data` summarises a training dataset (wrappers such as
``ConcatDataset`` and ``RepeatDataset`` entered) as a small JSON-ready dict:
the type, root and size of every dataset, the class names, and whether the
data were all drawn by errkit's synthetic face generator. errkit's runners
store it in every checkpoint's ``meta['training_data']``
(:class:`~errkit.engine.hooks.TrainingDataHook`), and inference reads it back
to say when a model meets data unlike what it was trained on.
"""

from __future__ import annotations

from typing import Any, Dict, List

__all__ = ["describe_training_data", "leaf_datasets"]


def leaf_datasets(dataset: Any) -> List[Any]:
    """The datasets inside ``dataset``: wrappers are entered, others returned as they are.

    A wrapper is an object with a ``datasets`` list (``ConcatDataset``) or a
    ``dataset`` (``RepeatDataset``, ``ClassBalancedDataset``, torch's
    ``Subset``).

    Args:
        dataset: A dataset object.

    Returns:
        list: The innermost datasets, in order.
    """
    inner = getattr(dataset, "datasets", None)
    if isinstance(inner, (list, tuple)):
        return [leaf for d in inner for leaf in leaf_datasets(d)]
    wrapped = getattr(dataset, "dataset", None)
    if wrapped is not None and wrapped is not dataset:
        return leaf_datasets(wrapped)
    return [dataset]


def describe_training_data(dataset: Any) -> Dict[str, Any]:
    """A JSON-ready description of a training dataset.

    Args:
        dataset: The training dataset object (built; wrappers allowed).

    Returns:
        dict: ``datasets`` (per inner dataset: ``type``, ``data_root``,
        ``num_samples`` and ``synthetic``), ``classes`` (from the dataset's
        ``metainfo``) and ``synthetic``: True when every inner dataset comes
        from errkit's synthetic face generator (a dataset says so with a true
        ``synthetic`` attribute, as
        :class:`~errkit.datasets.SyntheticCKPlusDataset` does).

    Examples:
        >>> class Faces:
        ...     synthetic, data_root, metainfo = True, 'data/faces', {'classes': ('a', 'b')}
        ...     def __len__(self):
        ...         return 4
        >>> describe_training_data(Faces())['synthetic']
        True
    """
    entries = []
    for leaf in leaf_datasets(dataset):
        try:
            size = len(leaf)
        except TypeError:
            size = None
        root = getattr(leaf, "data_root", None)
        entries.append({"type": type(leaf).__name__,
                        "data_root": None if root is None else str(root),
                        "num_samples": size,
                        "synthetic": bool(getattr(leaf, "synthetic", False))})
    metainfo = getattr(dataset, "metainfo", None) or {}
    classes = metainfo.get("classes") or ()
    return {"datasets": entries,
            "classes": [str(c) for c in classes],
            "synthetic": bool(entries) and all(e["synthetic"] for e in entries)}
