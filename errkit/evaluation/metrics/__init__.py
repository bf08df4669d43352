"""Recognition and removal metrics."""

from .expression_metric import ExpressionMetric
from .removal_metric import RemovalMetric

__all__ = ["ExpressionMetric", "RemovalMetric"]
