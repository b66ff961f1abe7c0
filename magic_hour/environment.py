"""Pre-defined base URLs of the API."""

from __future__ import annotations

import enum

__all__ = ["Environment"]


class Environment(enum.Enum):
    """Pre-defined base URLs for the API (``base_url=`` overrides them; ``$MAGIC_HOUR_BASE_URL`` only the default)."""

    ENVIRONMENT = "https://api.magichour.ai"
    MOCK_SERVER = "https://api.sideko.dev/v1/mock/magichour/magic-hour/0.90.0"
