"""Per-file outcomes of an upload batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class UploadResult:
    """What happened to one input file of ``upload_files``.

    Attributes:
        index: its position in the input list.
        name: the path or file object name it was given as (for messages).
        file_path: the ``api-assets/...`` path when it was uploaded, else ``None``.
        error: why it failed, else ``None``.
    """

    index: int
    name: str
    file_path: Optional[str] = None
    error: Optional[BaseException] = None

    @property
    def ok(self) -> bool:
        """True when the file was uploaded."""
        return self.error is None
