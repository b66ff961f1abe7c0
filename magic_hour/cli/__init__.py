"""The ``magic-hour`` command: the Magic Hour API from the terminal, with progress and a local demo mode.

Try it with no account (a mock server runs inside the command; nothing leaves the machine)::

    magic-hour mock samples
    magic-hour --mock image face-swap --face sample.png --image sample.png

One job per module: :mod:`._main` (the command tree, parse, run, exit code), :mod:`._parser` (arguments),
:mod:`._catalog` (the command tree read from generated data), :mod:`._request` (a command's arguments
back into its request), :mod:`._bounded` (JSON input within bounds), :mod:`._checks` (a job's request
checked before any upload), :mod:`._session` (the client, ``--mock``, logging, calls printed as the API
answered), :mod:`._files` (the ``files`` commands), :mod:`._jobs` (job commands through the runner,
``--dry-run``, the last line), :mod:`._batch` and :mod:`._batch_progress` (``batch``), :mod:`._webhooks` (``webhooks listen`` and
``trigger``), :mod:`._mock` (what ``--mock`` remembers, the ``mock`` commands), :mod:`._complete`
(shell completion, ``values``), :mod:`._progress` and :mod:`._bars` (progress on stderr: plain lines,
rich bars), :mod:`._output` (lines, sizes, JSON documents, exit codes), :mod:`._signals` (Ctrl-C,
SIGTERM) and :mod:`._resume` (what an interrupted job says). The SDK never imports this package; rich
(the ``cli`` extra) is imported by :mod:`._bars` only, when stderr is a terminal. ``--help`` and
``--version`` import neither httpx, pydantic nor rich.
"""

from ._main import main

__all__ = ["main"]
