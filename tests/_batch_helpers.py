"""What the batch tests share: input folders, the fake as a server on 127.0.0.1, and runs of a batch with a
client of either flavor."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, List, Tuple

from conftest import Flavor

from magic_hour import batches
from magic_hour.testing import FakeMagicHour, FakeServer

TOOL = "image_background_remover"
CREATE_ROUTE = "image_background_remover.create"
PNG = b"\x89PNG\r\n\x1a\n"


def photos(folder: Path, count: int, *, sub: int = 0) -> List[str]:
    """``count`` small PNG files (each different) in ``folder`` (``sub`` more in ``folder/sub``)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count + sub):
        path = folder / (f"p{i}.png" if i < count else f"sub/p{i}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PNG + i.to_bytes(4, "big") * 64)
        names.append(str(path.relative_to(folder)).replace(os.sep, "/"))
    return names


@contextmanager
def served(**kwargs: Any) -> Iterator[Tuple[FakeMagicHour, FakeServer]]:
    fake = FakeMagicHour(**kwargs)
    with fake.serve() as server:
        yield fake, server


def client_for(sdk: Flavor, fake: FakeMagicHour, server: FakeServer, **kwargs: Any) -> Any:
    return sdk.client(base_url=server.url, token=fake.token, **kwargs)


async def run(sdk: Flavor, client: Any, jobs: Any = None, **kwargs: Any) -> batches.BatchSummary:
    summary: batches.BatchSummary = await sdk.call(client.batches.run, jobs, **kwargs)
    return summary


def creates(fake: FakeMagicHour) -> int:
    """Create requests that reached the fake (answered or not)."""
    return len(fake.requests_to(CREATE_ROUTE))


def states(journal: Path) -> dict[str, str]:
    return {item.key: item.state for item in batches.items(journal)}
