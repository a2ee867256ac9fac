"""The package's errors, in one module that imports nothing of the package.

Every error a user can cause by a command (a bad config value, a store that does not match,
a protocol that cannot be applied) is one of these, so the command line prints one line and
exits 2 instead of a traceback. No module imports ``config`` (or ``store``) for its errors.
"""
from __future__ import annotations


class SerKerasError(Exception):
    """Base of the errors a user's input can cause (printed as one line by the CLIs)."""


class ConfigError(SerKerasError, ValueError):
    """A config that cannot be used (unknown key, bad value), naming the key."""


class StoreError(SerKerasError, RuntimeError):
    """A store that is missing, incomplete or does not match what the reader needs."""


class ProtocolError(SerKerasError, ValueError):
    """A protocol that cannot be applied to a selection (too few speakers, a leak...)."""


__all__ = ["ConfigError", "ProtocolError", "SerKerasError", "StoreError"]
