"""Subject-independent stratified k-fold splits."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errkit.datasets.kfold import select_fold_indices, subject_kfold


def _dataset(num_subjects=30, seed=0):
    rng = np.random.default_rng(seed)
    subjects, labels = [], []
    for s in range(num_subjects):
        for _ in range(rng.integers(1, 6)):
            subjects.append(f"S{s:03d}")
            labels.append(int(rng.integers(0, 4)))
    return subjects, labels


def _check_folds(folds, subjects, num_folds):
    assert len(folds) == num_folds
    everything = np.concatenate(folds)
    assert sorted(everything.tolist()) == list(range(len(subjects)))  # each index once
    owner = {}
    for k, fold in enumerate(folds):
        assert fold.dtype == np.int64 and len(fold) > 0
        for i in fold:
            assert owner.setdefault(subjects[i], k) == k  # a subject lives in one fold


@given(st.lists(st.tuples(st.integers(0, 14), st.integers(0, 6)), min_size=1, max_size=80),
       st.integers(2, 6), st.integers(0, 2**31 - 1))
@settings(max_examples=60, deadline=None)
def test_folds_cover_everything_subject_independently(samples, num_folds, seed):
    subjects = [f"S{s}" for s, _ in samples]
    labels = [lab for _, lab in samples]
    if len(set(subjects)) < num_folds:
        with pytest.raises(ValueError, match="subjects cannot fill"):
            subject_kfold(subjects, labels, num_folds, seed)
        return
    folds = subject_kfold(subjects, labels, num_folds, seed)
    _check_folds(folds, subjects, num_folds)
    again = subject_kfold(subjects, labels, num_folds, seed)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again))


def test_seed_changes_the_assignment():
    subjects, labels = _dataset()
    base = subject_kfold(subjects, labels, 5, seed=0)
    others = [subject_kfold(subjects, labels, 5, seed=s) for s in (1, 2, 3)]
    assert any(not all(np.array_equal(a, b) for a, b in zip(base, o)) for o in others)


def test_stratified_by_majority_label():
    # 20 subjects of label 0 and 10 of label 1, one sample each, 5 folds.
    subjects = [f"S{i}" for i in range(30)]
    labels = [0] * 20 + [1] * 10
    for fold in subject_kfold(subjects, labels, 5, seed=7):
        assert Counter(labels[i] for i in fold) == {0: 4, 1: 2}


def test_order_of_input_does_not_matter_for_membership():
    subjects, labels = _dataset(12)
    order = np.random.default_rng(3).permutation(len(subjects))
    folds = subject_kfold(subjects, labels, 4, seed=1)
    shuffled = subject_kfold([subjects[i] for i in order], [labels[i] for i in order], 4,
                             seed=1)
    as_sets = sorted(sorted({subjects[i] for i in f}) for f in folds)
    as_sets_shuffled = sorted(sorted({subjects[order[i]] for i in f}) for f in shuffled)
    assert as_sets == as_sets_shuffled


def test_errors():
    with pytest.raises(ValueError, match="3 subjects cannot fill 10"):
        subject_kfold(["a", "b", "c"], [0, 1, 0])
    with pytest.raises(ValueError, match="labels"):
        subject_kfold(["a", "b"], [0])
    with pytest.raises(ValueError, match="at least 2"):
        subject_kfold(["a", "b"], [0, 1], num_folds=1)


def test_select_fold_indices():
    subjects, labels = _dataset(20)
    folds = subject_kfold(subjects, labels, 5, seed=4)
    test = select_fold_indices(subjects, labels, 2, 5, "test", seed=4)
    train = select_fold_indices(subjects, labels, 2, 5, "train", seed=4)
    np.testing.assert_array_equal(test, folds[2])
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(subjects)))
    assert not {subjects[i] for i in train} & {subjects[i] for i in test}
    np.testing.assert_array_equal(select_fold_indices(subjects, labels, None),
                                  np.arange(len(subjects)))
    np.testing.assert_array_equal(select_fold_indices(subjects, labels, 1, 5, "all"),
                                  np.arange(len(subjects)))
    with pytest.raises(ValueError, match="needs a fold"):
        select_fold_indices(subjects, labels, None, 5, "train")
    with pytest.raises(ValueError, match="fold must be in 0..4"):
        select_fold_indices(subjects, labels, 5, 5, "test")
    with pytest.raises(ValueError, match="split must be one of"):
        select_fold_indices(subjects, labels, 0, 5, "val")
