"""Subject-independent, stratified k-fold splits.

Facial-expression protocols (CK+, MMI) evaluate with k-fold cross-validation in
which no subject appears in both the training and the test part of a fold.
:func:`subject_kfold` builds such folds once for every errkit dataset.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np

__all__ = ["SPLITS", "subject_kfold", "select_fold_indices"]

#: Accepted ``split`` values.
SPLITS = ("train", "test", "all")


def subject_kfold(subjects: Sequence[str], labels: Sequence[int], num_folds: int = 10,
                  seed: int = 0) -> List[np.ndarray]:
    """Split samples into ``num_folds`` subject-independent, stratified folds.

    All samples of one subject go to one fold. Each subject is stratified by its
    majority label (ties: the smallest label). Subjects are visited from the
    largest to the smallest (ties in a seeded random order) and each goes to the
    fold that holds the fewest subjects of its majority label, then the fewest
    samples, then the fewest subjects; remaining ties are broken by a seeded
    random order of the folds. Every fold receives at least one subject.

    Args:
        subjects (Sequence[str]): The subject of every sample.
        labels (Sequence[int]): The class of every sample.
        num_folds (int): Number of folds. Defaults to 10.
        seed (int): Seed of the tie-breaking order; the same inputs and seed
            give the same folds. Defaults to 0.

    Returns:
        list[np.ndarray]: For each fold, the sorted int64 indices of its test
        samples. Together the folds hold every index exactly once.

    Raises:
        ValueError: lengths differ, ``num_folds < 2``, or there are fewer
            subjects than folds.

    Examples:
        >>> folds = subject_kfold(['a', 'a', 'b', 'c', 'd'], [0, 0, 1, 0, 1], num_folds=2)
        >>> sorted(int(i) for f in folds for i in f)
        [0, 1, 2, 3, 4]
    """
    if len(subjects) != len(labels):
        raise ValueError(f"subject_kfold: {len(subjects)} subjects but {len(labels)} labels")
    if int(num_folds) < 2:
        raise ValueError(f"subject_kfold: num_folds must be at least 2, got {num_folds}")
    num_folds = int(num_folds)
    by_subject: Dict[str, List[int]] = defaultdict(list)
    for index, subject in enumerate(subjects):
        by_subject[str(subject)].append(index)
    if len(by_subject) < num_folds:
        raise ValueError(
            f"subject_kfold: {len(by_subject)} subjects cannot fill {num_folds} "
            "subject-independent folds; lower num_folds or add subjects")
    rng = np.random.default_rng(seed)
    names = sorted(by_subject)
    shuffled = [names[i] for i in rng.permutation(len(names))]
    # Largest subjects first; equal sizes keep the seeded random order.
    order = sorted(shuffled, key=lambda s: -len(by_subject[s]))
    fold_rank = rng.permutation(num_folds)

    label_counts = [Counter() for _ in range(num_folds)]
    sizes = [0] * num_folds
    num_subjects = [0] * num_folds
    members: List[List[int]] = [[] for _ in range(num_folds)]
    for subject in order:
        indices = by_subject[subject]
        counts = Counter(int(labels[i]) for i in indices)
        majority = min(counts, key=lambda lab: (-counts[lab], lab))
        best = min(range(num_folds), key=lambda f: (
            label_counts[f][majority], sizes[f], num_subjects[f], fold_rank[f]))
        label_counts[best][majority] += 1
        sizes[best] += len(indices)
        num_subjects[best] += 1
        members[best].extend(indices)
    return [np.asarray(sorted(m), dtype=np.int64) for m in members]


def select_fold_indices(subjects: Sequence[str], labels: Sequence[int], fold: Optional[int],
                        num_folds: int = 10, split: str = "all",
                        seed: int = 0) -> np.ndarray:
    """Indices of the samples that a dataset keeps for ``fold`` and ``split``.

    Args:
        subjects (Sequence[str]): The subject of every sample.
        labels (Sequence[int]): The class of every sample.
        fold (int, optional): The fold, ``0 <= fold < num_folds``; None keeps all
            samples (then ``split`` must be ``'all'``).
        num_folds (int): Number of folds. Defaults to 10.
        split (str): ``'test'`` (the fold's samples), ``'train'`` (every other
            fold's samples) or ``'all'``. Defaults to ``'all'``.
        seed (int): Seed of :func:`subject_kfold`. Defaults to 0.

    Returns:
        np.ndarray: Sorted int64 indices.

    Raises:
        ValueError: an unknown ``split``, ``fold`` out of range, or a
            ``'train'`` / ``'test'`` split without a fold.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    everything = np.arange(len(subjects), dtype=np.int64)
    if fold is None:
        if split != "all":
            raise ValueError(f"split={split!r} needs a fold (0..num_folds-1), got fold=None")
        return everything
    if not 0 <= int(fold) < int(num_folds):
        raise ValueError(f"fold must be in 0..{int(num_folds) - 1}, got {fold}")
    if split == "all":
        return everything
    test = subject_kfold(subjects, labels, num_folds=num_folds, seed=seed)[int(fold)]
    if split == "test":
        return test
    return np.setdiff1d(everything, test, assume_unique=True)
