"""pytest set-up shared by the test suite and ``pytest --doctest-modules errkit``."""

from __future__ import annotations

import logging

import pytest
from _pytest.doctest import DoctestItem


@pytest.fixture(autouse=True)
def _quiet_mmengine_log_in_doctests(request):
    """Keep mmengine's INFO lines out of the output a docstring example is checked against.

    Whether a line reaches the example's output depends on when mmengine's logger was
    created (its stream handler keeps the ``sys.stdout`` of that moment), so the
    examples show no log lines and the logger says only warnings while they run.
    """
    if not isinstance(request.node, DoctestItem):
        yield
        return
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
