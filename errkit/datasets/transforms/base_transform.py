"""The base class of per-sample transforms."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Optional


class BaseTransform(metaclass=ABCMeta):
    """A per-sample transform: a callable that maps one results dict to another.

    Subclasses implement :meth:`transform`. Returning ``None`` drops the sample
    (mmengine's dataset then draws another one).

    Examples:
        >>> class AddOne(BaseTransform):
        ...     def transform(self, results):
        ...         results['x'] += 1
        ...         return results
        >>> AddOne()({'x': 1})
        {'x': 2}
    """

    def __call__(self, results: dict) -> Optional[dict]:
        return self.transform(results)

    @abstractmethod
    def transform(self, results: dict) -> Optional[dict]:
        """Transform one sample's results dict."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"
