"""``get_sdk_logger``: the official SDK's way to get a logger that is silent until the application
configures logging."""

from __future__ import annotations

import logging

__all__ = ["get_sdk_logger"]


def get_sdk_logger(name: str) -> logging.Logger:
    """The logger ``name`` with a :class:`logging.NullHandler` (nothing is printed unless the application
    configures logging) that propagates to its parents, as the official SDK's.

    Unlike the official one, calling it again does not add another handler.
    """
    logger = logging.getLogger(name)
    if not any(type(handler) is logging.NullHandler for handler in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = True
    return logger
