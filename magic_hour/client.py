"""``Client`` and ``AsyncClient`` at the official SDK's module path (``from magic_hour.client import Client``).

They are defined in ``magic_hour._client``; this module only gives them the import path code written for
the official ``magic-hour`` package uses.
"""

from ._client import AsyncClient, Client

__all__ = ["AsyncClient", "Client"]
