"""What a model's training data say about its answers: out-of-domain inputs, no neutral class.

Checkpoints written by errkit carry ``meta['training_data']`` (see
:func:`errkit.datasets.describe_training_data`). From it and the class names,
inference tells the user two things a probability cannot:

- a model trained on synthetic faces only has never seen a real photo: on one,
  its class and score are out of domain, however confident
  (:class:`OutOfDomainWarning`, :func:`out_of_domain_message`);
- a model whose classes have no ``neutral`` must put every face, a neutral one
  too, into one of its expressions (:func:`no_neutral_note`).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

__all__ = ["OutOfDomainWarning", "is_synthetic_only", "out_of_domain_message",
           "no_neutral_note"]


class OutOfDomainWarning(UserWarning):
    """A model is applied to images unlike those it was trained on."""


def is_synthetic_only(training_data: Optional[Dict[str, Any]]) -> bool:
    """Whether a checkpoint's ``meta['training_data']`` says: synthetic faces only.

    Args:
        training_data (dict, optional): The description (None: unknown, e.g. a
            checkpoint written by another tool).

    Returns:
        bool: True only when the description says so.

    Examples:
        >>> is_synthetic_only({'synthetic': True}), is_synthetic_only(None)
        (True, False)
    """
    return bool(isinstance(training_data, dict) and training_data.get("synthetic"))


def out_of_domain_message(training_data: Dict[str, Any]) -> str:
    """The one-line warning for a synthetic-only model applied to real photos.

    Args:
        training_data (dict): The checkpoint's ``meta['training_data']``.

    Returns:
        str: What the model was trained on and what that means for its answers.

    Examples:
        >>> out_of_domain_message({'datasets': [{'type': 'SyntheticCKPlusDataset'}]})[:57]
        'this model was trained on synthetic faces only (Synthetic'
    """
    kinds = sorted({str(d.get("type")) for d in training_data.get("datasets") or []
                    if isinstance(d, dict) and d.get("type")})
    where = f" ({', '.join(kinds)})" if kinds else ""
    return (f"this model was trained on synthetic faces only{where} and is applied to "
            "real photos: its classes and scores are out of domain, so a confident score "
            "is no sign of a right answer; train or fine-tune on real faces to use it on "
            "photos")


def no_neutral_note(classes: Sequence[str]) -> Optional[str]:
    """The note for a model without a ``neutral`` class; None when it has one.

    Args:
        classes (Sequence[str]): The model's class names.

    Returns:
        str | None: The note.

    Examples:
        >>> no_neutral_note(['happy', 'sad'])
        "the classes have no 'neutral': a neutral face is forced into one of the expressions"
        >>> no_neutral_note(['neutral', 'happy']) is None
        True
    """
    if any(str(c).strip().lower() == "neutral" for c in classes):
        return None
    return "the classes have no 'neutral': a neutral face is forced into one of the expressions"
