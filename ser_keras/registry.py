"""One small registry class, reused for models, metrics, losses, schedules and tasks.

    METRICS = Registry("metric")
    METRICS.add("balanced_accuracy", metric, aliases=("uar", "ua"))
    METRICS.get("uar")            # the same entry
    METRICS.get("nope")           # ConfigError: unknown metric 'nope'; known: ...

Filled by explicit ``add`` calls in the module that owns the registry (no registration by
import side effect elsewhere, no ``eval``). A duplicate name raises; an unknown name raises a
``ConfigError`` listing the known ones, so a bad name in a YAML file is a one-line error.
"""
from __future__ import annotations

from typing import Generic, Iterable, Iterator, TypeVar

from ser_keras.errors import ConfigError

T = TypeVar("T")


class DuplicateNameError(ValueError):
    """A second registry entry under a name (or alias) already taken."""


class UnknownNameError(ConfigError):
    """A name the registry does not know; the message lists the known ones."""


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def add(self, name: str, entry: T, aliases: Iterable[str] = ()) -> T:
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                raise DuplicateNameError(f"{self.kind} {key!r} is registered twice")
        self._entries[name] = entry
        self._aliases.update({alias: name for alias in aliases})
        return entry

    def canonical(self, name: str) -> str:
        """The registered name of ``name`` (itself, or the name an alias stands for)."""
        if name in self._entries:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise UnknownNameError(f"unknown {self.kind} {name!r}; known {self.kind}s: "
                               f"{', '.join(self.names())}")

    def get(self, name: str) -> T:
        return self._entries[self.canonical(name)]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def aliases(self) -> dict[str, str]:
        return dict(sorted(self._aliases.items()))

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(sorted(self._entries.items()))

    def __contains__(self, name: str) -> bool:
        return name in self._entries or name in self._aliases

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["DuplicateNameError", "Registry", "UnknownNameError"]
