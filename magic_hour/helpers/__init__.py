"""The official SDK's ``magic_hour.helpers``: :func:`download_files_sync`, :func:`download_files_async` and
:func:`get_sdk_logger`, with the official signatures, on our download engine.

Example::

    from magic_hour.helpers import download_files_sync

    project = client.v1.image_projects.get(id=job.id)
    paths = download_files_sync(project.downloads, "outputs")

Most code needs none of them: ``generate()`` and ``check_result()`` download for you, and
``client.v1.files.download(...)`` downloads with the client's pool, retries and progress events.
"""

from .download import download_files_async, download_files_sync
from .logger import get_sdk_logger

__all__ = ["download_files_async", "download_files_sync", "get_sdk_logger"]
