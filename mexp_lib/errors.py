"""Exceptions with messages that name the file, row or key at fault."""


class MexpError(Exception):
    """Base class for every error mexp raises on bad input."""


class DataError(MexpError):
    """An input file (frames, annotation sheet, HDF5 store) is missing, malformed or unusable."""


class ConfigError(MexpError):
    """A configuration value is missing or invalid."""


class NoFaceError(DataError):
    """No usable face was found in a video."""
