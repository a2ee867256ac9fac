"""The model-zoo registry: one explicit mapping from model names to how they are built.

The zoo's registry is filled in ``ser_keras/models/__init__.py`` by explicit ``add`` calls
(no registration by import side effect, no ``eval``). Use it through the package::

    from ser_keras import models
    models.available()                      # ['mmfa', 'mmfa-audio', 'mmfa-text', ...]
    entry = models.get_entry("mmfa")        # .name .builder .config_class .modalities .paper
    model = models.build_model("mmfa", {"inputs": {"audio": {"dim": 39}, "text": {"dim": 768}},
                                        "num_classes": 4}, {"recurrent_dropout": 0.2})

A builder is ``builder(input_spec: InputSpec, config: <config_class>, modalities) -> keras.Model``:
``config`` is already resolved (dataclass defaults, the entry's defaults, the caller's values)
and validated; ``modalities`` is the entry's tuple. Model configs are dataclasses derived from
``ModelConfig`` (typed fields, each commented with the paper section that sets it).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Callable

from ser_keras.config import ConfigError


class UnknownModelError(ConfigError):
    """A model name the registry does not know; the message lists the known ones."""


class DuplicateModelError(ValueError):
    """A second registry entry under a name already taken."""


# --------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class ModelConfig:
    """Base of the zoo's model configs: typed dataclass fields, built from plain dicts.

    ``from_dict`` rejects unknown keys (naming them) and converts YAML values to the field's
    type (``1e-4`` read by PyYAML as a string, lists for tuples); ``validate`` raises
    ``ConfigError`` naming the bad field. Subclasses add fields and extend ``validate``.
    """

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, where: str | None = None):
        where = where or cls.__name__
        values = dict(values or {})
        hints = typing.get_type_hints(cls)
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
        kwargs = {name: _coerce(f"{where}.{name}", value, hints[name])
                  for name, value in values.items()}
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Raise ``ConfigError`` on a value the model cannot use (subclasses extend this)."""


def _coerce(where: str, value: Any, hint: Any) -> Any:
    """Convert a value read from YAML/JSON to the annotated field type, or raise ConfigError."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(where, value, arg)
            except ConfigError:
                pass
        raise ConfigError(f"{where}: {value!r} is not a {hint}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_coerce(f"{where}[{i}]", v, item) for i, v in enumerate(value))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


# --------------------------------------------------------------------------------------------
# Input spec
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class InputSpec:
    """What a builder needs from the feature store: per-modality input dims and the class count.

    Built from ``{"inputs": {"audio": {"dim": 39, ...}, "text": {"dim": 768, ...}},
    "num_classes": 4}`` (``ser_keras.data.input.input_spec``); extra keys per modality are kept.
    """

    inputs: Mapping[str, Mapping[str, Any]]
    num_classes: int

    @classmethod
    def from_dict(cls, spec: "InputSpec | Mapping[str, Any]") -> "InputSpec":
        if isinstance(spec, InputSpec):
            return spec
        if not isinstance(spec, Mapping) or "inputs" not in spec or "num_classes" not in spec:
            raise ConfigError("input_spec: expected {'inputs': {modality: {'dim': int}}, "
                              f"'num_classes': int}}, got {spec!r}")
        inputs = {m: dict(v) for m, v in dict(spec["inputs"]).items()}
        for modality, info in inputs.items():
            dim = info.get("dim")
            if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
                raise ConfigError(f"input_spec.inputs.{modality}.dim: expected a positive "
                                  f"integer, got {dim!r}")
        num_classes = spec["num_classes"]
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
            raise ConfigError(f"input_spec.num_classes: expected an integer >= 2, "
                              f"got {num_classes!r}")
        return cls(inputs=inputs, num_classes=num_classes)

    def dim(self, modality: str) -> int:
        if modality not in self.inputs:
            raise ConfigError(f"input_spec: no {modality!r} input; have {sorted(self.inputs)}")
        return int(self.inputs[modality]["dim"])


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One registered model: how to build it and what it needs."""

    name: str                                  # registry key, e.g. "mmfa-audio"
    builder: Callable[..., Any]                # builder(input_spec, config, modalities)
    config_class: type                         # a ModelConfig dataclass
    modalities: tuple[str, ...]                # inputs it takes, e.g. ("audio", "text")
    paper: str                                 # PAPERS.md key, e.g. "ho2020"
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # over the dataclass's
    description: str = ""

    def default_config(self):
        """The entry's default config: the dataclass defaults with ``defaults`` applied."""
        return self.config_class.from_dict(self.defaults, where=f"{self.name} defaults")

    def resolve_config(self, config=None):
        """None, a dict of overrides (over the entry's defaults) or a config instance -> config."""
        if config is None:
            resolved = self.default_config()
        elif isinstance(config, self.config_class):
            resolved = config
        elif isinstance(config, Mapping):
            resolved = self.config_class.from_dict({**self.defaults, **config},
                                                   where=f"{self.name} config")
        else:
            raise ConfigError(f"{self.name}: config must be None, a dict or a "
                              f"{self.config_class.__name__}, got {type(config).__name__}")
        resolved.validate()
        return resolved


class Registry:
    """A name -> ModelEntry dict: a duplicate name raises, an unknown name lists the known ones."""

    def __init__(self):
        self._entries: dict[str, ModelEntry] = {}

    def add(self, entry: ModelEntry) -> ModelEntry:
        if entry.name in self._entries:
            raise DuplicateModelError(f"model {entry.name!r} is registered twice")
        self._entries[entry.name] = entry
        return entry

    def available(self) -> list[str]:
        return sorted(self._entries)

    def get_entry(self, name: str) -> ModelEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownModelError(f"unknown model {name!r}; known models: "
                                    f"{', '.join(self.available())}") from None

    def build_model(self, name: str, input_spec, config=None):
        """Build a fresh, uncompiled ``keras.Model`` for ``name``.

        Args:
            name: a registered name (``available()``).
            input_spec: ``InputSpec`` or its dict form; must have every modality of the entry.
            config: None (defaults), a dict of overrides, or a config dataclass instance.
        """
        entry = self.get_entry(name)
        spec = InputSpec.from_dict(input_spec)
        lacking = [m for m in entry.modalities if m not in spec.inputs]
        if lacking:
            raise ConfigError(f"model {name!r} needs inputs {list(entry.modalities)}; "
                              f"input_spec lacks {lacking}")
        resolved = entry.resolve_config(config)
        return entry.builder(spec, resolved, entry.modalities)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
