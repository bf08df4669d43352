"""Recognition and removal metrics."""
