"""The ``magic-hour`` command: the Magic Hour API from the terminal, with progress and a local demo mode.

Try it with no account (a mock server runs inside the command; nothing leaves the machine)::

    magic-hour mock samples
    magic-hour --mock image face-swap --face sample.png --image sample.png

One job per module: :mod:`._parser` (arguments), :mod:`._catalog` (the command tree read from generated
data), :mod:`._session` (the client, ``--mock``, logging), :mod:`._files` (the ``files`` commands),
:mod:`._raw` (calls printed as the API answered), :mod:`._bounded` (JSON input within bounds), :mod:`._checks` (a job's
request checked before any upload), :mod:`._values` (the values an option takes), :mod:`._lines` (a job's last line, the account's
summary), :mod:`._dryrun` (``--dry-run``), :mod:`._mockstate` (what ``--mock`` remembers, the ``mock``
commands), :mod:`._progress` and :mod:`._bars` (progress on
stderr), :mod:`._output` (lines, sizes, JSON documents, exit codes), :mod:`._signals` (Ctrl-C, SIGTERM), :mod:`._resume` (what an interrupted job says)
and :mod:`._main`. The SDK never imports this package; rich (the ``cli`` extra) is imported by
:mod:`._bars` only, when stderr is a terminal. ``--help`` and ``--version`` import neither httpx,
pydantic nor rich.
"""

from ._main import main

__all__ = ["main"]
