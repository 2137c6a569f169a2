"""Exceptions with messages that name the file, row or key at fault."""

from __future__ import annotations

import sys
from collections.abc import Callable


class MexpError(Exception):
    """Base class for every error mexp raises on bad input."""


class DataError(MexpError):
    """An input file (frames, annotation sheet, HDF5 store) is missing, malformed or unusable."""


class ConfigError(MexpError):
    """A configuration value is missing or invalid."""


class NoFaceError(DataError):
    """No usable face was found in a video."""


def script_exit(main: Callable[[], int | None], prog: str) -> int:
    """Run a script's ``main`` (a benchmark's, say): bad input -- any :class:`MexpError`, such as
    a ``--set`` given twice -- ends in one line ``prog: error: ...`` on stderr and exit status 2,
    never a traceback; otherwise ``main``'s own status (None: 0)."""
    try:
        return int(main() or 0)
    except MexpError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
