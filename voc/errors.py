"""The small error hierarchy of voc.

The library only raises these; it never exits. The CLI turns any
:class:`VocError` into a one-line message and exit code 2.
"""


class VocError(Exception):
    """Base class of every error voc raises on purpose."""


class InputError(VocError):
    """Bad input data: missing column, bad values, encoding, malformed rows."""


class ConfigError(VocError):
    """A bad option or configuration value."""


class ModelError(VocError):
    """A model or optional dependency is missing, incompatible or corrupt."""


class StoreError(VocError):
    """The run store cannot be read or written (locked, corrupt, missing run)."""
