"""Errors that end ``ser-prepare`` with a one-line message (exit status 2) instead of a trace."""


class PrepareError(Exception):
    """The input cannot be used at all (wrong source path, missing text encoder...)."""


class SourceError(PrepareError):
    """The source path is not usable as the requested corpus."""
