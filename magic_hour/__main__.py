"""``python -m magic_hour``: the ``magic-hour`` command (see :mod:`magic_hour.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
