"""Which neutral face recognition uses: the generated one, or a given photo.

ERR-Net recognises an expression from the residual between the face and a
neutral face of the same person. In the paper's setting the neutral face is the
one its generator makes from the expressive image alone (``'generated'``).
When a neutral photo of the same person is at hand (the first frame of a video,
an enrolment photo), recognition can use the residual to that photo instead
(``'given'``: given-neutral mode). A model's ``train_cfg`` says which one its
recognizer learns from, its ``test_cfg`` which one test-time predictions use.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

__all__ = ["NEUTRAL_MODES", "check_neutral_cfgs", "mode_score_field"]

#: The neutral faces recognition can use.
NEUTRAL_MODES = ("generated", "given")


def mode_score_field(mode: str) -> str:
    """The data-sample field that holds the scores of a further test mode.

    Args:
        mode (str): One of :data:`NEUTRAL_MODES`.

    Returns:
        str: ``'<mode>_neutral_pred_score'``, which
        :class:`~errkit.evaluation.metrics.ExpressionMetric` reports as
        ``<mode>_neutral/accuracy``.

    Examples:
        >>> mode_score_field('given')
        'given_neutral_pred_score'
    """
    return f"{mode}_neutral_pred_score"


def check_neutral_cfgs(train_cfg: Optional[dict], test_cfg: Optional[dict]
                       ) -> Tuple[Dict[str, object], Dict[str, object]]:
    """Complete and check a model's ``train_cfg`` and ``test_cfg``.

    Args:
        train_cfg (dict, optional): ``neutral`` (default ``'generated'``).
        test_cfg (dict, optional): ``neutral`` (default ``'generated'``) and
            ``extra_modes`` (default ``()``).

    Returns:
        tuple[dict, dict]: The completed configs.

    Raises:
        ValueError: An unknown key or mode (one line naming it).

    Examples:
        >>> check_neutral_cfgs(None, dict(neutral='given', extra_modes=['generated']))
        ({'neutral': 'generated'}, {'neutral': 'given', 'extra_modes': ('generated',)})
    """
    train = {"neutral": "generated", **dict(train_cfg or {})}
    test = {"neutral": "generated", "extra_modes": (), **dict(test_cfg or {})}
    for name, cfg, keys in (("train_cfg", train, {"neutral"}),
                            ("test_cfg", test, {"neutral", "extra_modes"})):
        unknown = sorted(set(cfg) - keys)
        if unknown:
            raise ValueError(f"ERRNet: unknown {name} keys {unknown}; known: {sorted(keys)}")
        if cfg["neutral"] not in NEUTRAL_MODES:
            raise ValueError(f"ERRNet: {name}.neutral must be one of {NEUTRAL_MODES}, got "
                             f"{cfg['neutral']!r}")
    extra = test["extra_modes"]
    if isinstance(extra, str):
        extra = (extra,)
    bad = [m for m in extra if m not in NEUTRAL_MODES or m == test["neutral"]]
    if bad:
        raise ValueError(f"ERRNet: test_cfg.extra_modes {bad} must be modes of {NEUTRAL_MODES} "
                         f"other than test_cfg.neutral={test['neutral']!r}")
    test["extra_modes"] = tuple(extra)
    return train, test
