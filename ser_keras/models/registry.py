"""The model-zoo registry: model names -> how each model is built and what inputs it takes.

The zoo's registry is filled in ``ser_keras/models/__init__.py`` by explicit ``add`` calls
(no registration by import side effect, no ``eval``). Use it through the package::

    from ser_keras import models
    models.available()                      # ['mlp', 'mmfa', 'mmfa-audio', 'mmfa-text', ...]
    entry = models.get_entry("mmfa")        # .inputs .input_names .training .paper .config_class
    model = models.build_model("mmfa", {"inputs": {"audio": {"rank": "sequence", "dim": 39},
                                                   "text": {"rank": "sequence", "dim": 768}},
                                        "num_classes": 4}, {"recurrent_dropout": 0.2})

Every model declares its named inputs (``InputDecl``), each of one rank:

    sequence  ``name`` (batch, T, dim) float32 and ``name_mask`` (batch, T) float32, 1 on real
              steps and 0 on right padding
    vector    ``name`` (batch, dim) float32, no mask
    tokens    the transcript tokenised in the input pipeline by a keras-hub BERT preprocessor:
              ``name_token_ids``, ``name_padding_mask``, ``name_segment_ids`` (batch, L) int32

A builder is ``builder(input_spec: InputSpec, config: <config_class>, entry: ModelEntry)
-> keras.Model``: the spec has been checked against the entry's inputs, and ``config`` is
resolved (dataclass defaults < the entry's defaults < the caller's values) and validated.
Model configs are dataclasses derived from ``ModelConfig``, built by ``ser_keras.config``'s one
typed ``from_dict``. This module imports no Keras.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Callable

from ser_keras import config as config_lib
from ser_keras.errors import ConfigError
from ser_keras.registry import DuplicateNameError, Registry as NameRegistry, UnknownNameError

RANKS = ("sequence", "vector", "tokens")
TOKEN_KEYS = ("token_ids", "padding_mask", "segment_ids")  # keras-hub BERT preprocessor outputs
OUTPUTS = ("classes", "values")


class UnknownModelError(UnknownNameError):
    """A model name the registry does not know (a ``ConfigError``); lists the known ones."""


class DuplicateModelError(DuplicateNameError):
    """A second registry entry under a name already taken."""


def input_tensor_names(name: str, rank: str) -> tuple[str, ...]:
    """The model-input tensors one named input of ``rank`` becomes (see the module docstring)."""
    if rank == "sequence":
        return (name, f"{name}_mask")
    if rank == "vector":
        return (name,)
    if rank == "tokens":
        return tuple(f"{name}_{key}" for key in TOKEN_KEYS)
    raise ConfigError(f"input {name}: rank {rank!r} not in {RANKS}")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


# --------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class ModelConfig:
    """Base of the zoo's model configs: typed dataclass fields, built from plain dicts.

    ``from_dict`` is ``ser_keras.config.from_dict`` (unknown keys named, YAML values converted
    to the field's type); ``validate`` raises ``ConfigError`` naming the bad field. Subclasses
    add fields and extend ``validate``.
    """

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, where: str | None = None):
        return config_lib.from_dict(cls, values, where or cls.__name__)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Raise ``ConfigError`` on a value the model cannot use (subclasses extend this)."""


# --------------------------------------------------------------------------------------------
# Declared inputs and the input spec
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class InputDecl:
    """One named input a model takes.

    ``default`` is the source an ad-hoc run (``ser-train --model NAME``) feeds it: a feature-set
    name, several joined by ``+`` (concatenated on the feature axis, ``mfcc39_mean+prosody8``),
    or ``transcript``. ``feeds`` lists the feature sets it accepts (empty: any of its rank);
    ``paper_dim`` is its dimension in the paper (``ser-models NAME`` builds at it).
    """

    name: str
    rank: str
    default: str
    dtype: str = "float32"
    feeds: tuple[str, ...] = ()
    paper_dim: int | None = None
    description: str = ""

    def __post_init__(self):
        if self.rank not in RANKS:
            raise ConfigError(f"input {self.name}: rank {self.rank!r} not in {RANKS}")
        wanted = "int32" if self.rank == "tokens" else "float32"
        if self.dtype != wanted:
            raise ConfigError(f"input {self.name}: a {self.rank} input is {wanted}, "
                              f"got dtype {self.dtype!r}")
        if self.rank == "tokens" and self.paper_dim is not None:
            raise ConfigError(f"input {self.name}: a tokens input has no dim")
        object.__setattr__(self, "feeds", tuple(self.feeds))

    @property
    def tensor_names(self) -> tuple[str, ...]:
        return input_tensor_names(self.name, self.rank)

    def __str__(self) -> str:
        return f"{self.name}:{self.rank}={self.default}"


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """What a builder needs from the data: each named input's rank and dim, and the outputs.

    Built from ``{"inputs": {name: {"rank": "sequence" | "vector" | "tokens", "dim": int,
    "feature_sets": [...]}}, "num_classes": K}`` (softmax over K classes) or ``{"inputs": ...,
    "num_outputs": T, "output": "values"}`` (T continuous targets, linear output), as
    ``ser_keras.data.input.input_spec`` writes it. A missing rank is ``sequence``; tokens inputs
    have no dim; other keys of an input (``length``...) are kept.
    """

    inputs: Mapping[str, Mapping[str, Any]]
    num_outputs: int
    output: str = "classes"

    def __post_init__(self):
        if self.output not in OUTPUTS:
            raise ConfigError(f"input_spec.output: {self.output!r} not in {OUTPUTS}")
        least = 2 if self.output == "classes" else 1
        if not _positive_int(self.num_outputs) or self.num_outputs < least:
            key = "num_classes" if self.output == "classes" else "num_outputs"
            raise ConfigError(f"input_spec.{key}: expected an integer >= {least}, "
                              f"got {self.num_outputs!r}")

    @classmethod
    def from_dict(cls, spec: "InputSpec | Mapping[str, Any]") -> "InputSpec":
        if isinstance(spec, InputSpec):
            return spec
        usage = ("expected {'inputs': {name: {'rank': ..., 'dim': int}}, 'num_classes': K} or "
                 "{'inputs': ..., 'num_outputs': T, 'output': 'values'}")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("inputs"), Mapping):
            raise ConfigError(f"input_spec: {usage}, got {spec!r}")
        unknown = sorted(set(spec) - {"inputs", "num_classes", "num_outputs", "output"})
        if unknown:
            raise ConfigError(f"input_spec: unknown key(s) {unknown}; {usage}")
        output = spec.get("output", "classes")
        if output not in OUTPUTS:
            raise ConfigError(f"input_spec.output: {output!r} not in {OUTPUTS}")
        if output == "classes":
            if "num_outputs" in spec:
                raise ConfigError("input_spec: a classes output takes num_classes, "
                                  "not num_outputs")
            num_outputs = spec.get("num_classes")
        else:
            if "num_classes" in spec:
                raise ConfigError("input_spec: a values output takes num_outputs, "
                                  "not num_classes")
            num_outputs = spec.get("num_outputs")
        inputs = {}
        for name, info in spec["inputs"].items():
            if not isinstance(info, Mapping):
                raise ConfigError(f"input_spec.inputs.{name}: expected a mapping, got {info!r}")
            info = {"rank": "sequence", **info}
            rank = info["rank"]
            if rank not in RANKS:
                raise ConfigError(f"input_spec.inputs.{name}.rank: {rank!r} not in {RANKS}")
            if rank == "tokens":
                if info.get("dim") is not None:
                    raise ConfigError(f"input_spec.inputs.{name}: a tokens input has no dim")
            elif not _positive_int(info.get("dim")):
                raise ConfigError(f"input_spec.inputs.{name}.dim: expected a positive "
                                  f"integer, got {info.get('dim')!r}")
            inputs[str(name)] = info
        return cls(inputs=inputs, num_outputs=num_outputs, output=output)

    def to_dict(self) -> dict[str, Any]:
        outputs = ({"num_classes": self.num_outputs} if self.output == "classes"
                   else {"num_outputs": self.num_outputs, "output": self.output})
        return {"inputs": {n: dict(i) for n, i in self.inputs.items()}, **outputs}

    def _info(self, name: str) -> Mapping[str, Any]:
        if name not in self.inputs:
            raise ConfigError(f"input_spec: no {name!r} input; have {sorted(self.inputs)}")
        return self.inputs[name]

    def rank(self, name: str) -> str:
        return self._info(name)["rank"]

    def dim(self, name: str) -> int:
        info = self._info(name)
        if info["rank"] == "tokens":
            raise ConfigError(f"input_spec: {name!r} is a tokens input; it has no dim")
        return int(info["dim"])

    def feature_sets(self, name: str) -> tuple[str, ...]:
        """The feature sets that feed input ``name``, where the spec says (else ())."""
        return tuple(self._info(name).get("feature_sets") or ())

    @property
    def num_classes(self) -> int:
        if self.output != "classes":
            raise ConfigError(f"input_spec: a {self.output!r} output has no num_classes "
                              f"(num_outputs {self.num_outputs})")
        return self.num_outputs


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One registered model: how to build it, what it takes, how an ad-hoc run trains it.

    ``training`` is the family's recipe for ``ser-train --model NAME`` as a plain dict in the
    shape of ``ser_keras.config.TrainingConfig`` (``training_config()`` builds it); an
    experiment YAML sets its own. ``paper_num_classes`` and the inputs' ``paper_dim`` give the
    paper's spec (``paper_spec()``).
    """

    name: str                                  # registry key, e.g. "mmfa-audio"
    builder: Callable[..., Any]                # builder(input_spec, config, entry)
    config_class: type                         # a ModelConfig dataclass
    inputs: tuple[InputDecl, ...]              # named inputs, in the order a reader lists them
    paper: str                                 # PAPERS.md key ("ho2020"), "generic" for baselines
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # over the dataclass's
    description: str = ""
    training: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    paper_num_classes: int | None = None
    # the paper's own parameter counts of this model, where it prints them:
    # {"total": int, "trainable": int, "source": "Sec. V-D ..."} (ser-models compares)
    paper_params: Mapping[str, Any] | None = None

    def __post_init__(self):
        inputs = tuple(self.inputs)
        if not inputs or not all(isinstance(d, InputDecl) for d in inputs):
            raise ValueError(f"model {self.name}: inputs must be a non-empty tuple of InputDecl")
        tensors = [t for d in inputs for t in d.tensor_names]
        if len(set(tensors)) != len(tensors):
            raise ValueError(f"model {self.name}: inputs {[d.name for d in inputs]} give "
                             f"clashing model-input names {tensors}")
        object.__setattr__(self, "inputs", inputs)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.inputs)

    def decl(self, name: str) -> InputDecl:
        for decl in self.inputs:
            if decl.name == name:
                return decl
        raise ConfigError(f"model {self.name!r} has no input {name!r}; "
                          f"its inputs: {list(self.input_names)}")

    def default_config(self):
        """The entry's default config: the dataclass defaults with ``defaults`` applied."""
        return self.config_class.from_dict(self.defaults, where=f"{self.name} defaults")

    def resolve_config(self, config=None):
        """None, a dict of overrides (over the entry's defaults) or a config instance -> config,
        validated."""
        if config is None:
            resolved = self.default_config()
        elif isinstance(config, self.config_class):
            resolved = config
        elif isinstance(config, Mapping):
            resolved = self.config_class.from_dict({**self.defaults, **config},
                                                   where=f"models.{self.name}")
        else:
            raise ConfigError(f"{self.name}: config must be None, a dict or a "
                              f"{self.config_class.__name__}, got {type(config).__name__}")
        resolved.validate()
        return resolved

    def training_config(self) -> config_lib.TrainingConfig:
        """``training`` as a validated ``TrainingConfig``."""
        recipe = config_lib.from_dict(config_lib.TrainingConfig, dict(self.training),
                                      f"{self.name}.training")
        recipe.validate(f"{self.name}.training")
        return recipe

    def check_spec(self, spec: InputSpec) -> None:
        """Raise ``ConfigError`` unless ``spec`` has every declared input, of its rank, fed by
        feature sets it accepts. Inputs the model does not declare are ignored."""
        lacking = [n for n in self.input_names if n not in spec.inputs]
        if lacking:
            raise ConfigError(f"model {self.name!r} needs inputs {list(self.input_names)}; "
                              f"input_spec lacks {lacking}")
        for decl in self.inputs:
            found = spec.rank(decl.name)
            if found != decl.rank:
                raise ConfigError(f"model {self.name!r}: input {decl.name!r} is given as rank "
                                  f"{found!r}; the model wants rank {decl.rank!r}")
            refused = [fs for fs in spec.feature_sets(decl.name) if decl.feeds
                       and fs not in decl.feeds]
            if refused:
                raise ConfigError(f"model {self.name!r}: input {decl.name!r} does not take "
                                  f"feature set(s) {refused}; it takes {list(decl.feeds)}")

    def paper_spec(self) -> dict[str, Any]:
        """The input-spec dict at the paper's dims (``dim`` None where the paper gives none)."""
        inputs = {d.name: ({"rank": d.rank} if d.rank == "tokens"
                           else {"rank": d.rank, "dim": d.paper_dim}) for d in self.inputs}
        return {"inputs": inputs, "num_classes": self.paper_num_classes}


class Registry:
    """The zoo's name -> ModelEntry map (a ``ser_keras.registry.Registry`` of kind "model"):
    a duplicate name raises, an unknown name lists the known ones."""

    def __init__(self):
        self._entries: NameRegistry[ModelEntry] = NameRegistry("model")

    def add(self, entry: ModelEntry) -> ModelEntry:
        try:
            return self._entries.add(entry.name, entry)
        except DuplicateNameError as err:
            raise DuplicateModelError(str(err)) from None

    def available(self) -> list[str]:
        return self._entries.names()

    def get_entry(self, name: str) -> ModelEntry:
        try:
            return self._entries.get(name)
        except UnknownNameError as err:
            raise UnknownModelError(str(err)) from None

    def build_model(self, name: str, input_spec, config=None):
        """Build a fresh, uncompiled ``keras.Model`` for ``name``.

        Args:
            name: a registered name (``available()``).
            input_spec: ``InputSpec`` or its dict form; must have every declared input of the
                entry, each of its declared rank.
            config: None (defaults), a dict of overrides, or a config dataclass instance.
        """
        entry = self.get_entry(name)
        spec = InputSpec.from_dict(input_spec)
        entry.check_spec(spec)
        resolved = entry.resolve_config(config)
        return entry.builder(spec, resolved, entry)

    def paper_spec(self, name: str) -> dict[str, Any]:
        """The input-spec dict of model ``name`` at the paper's dims and class count."""
        return self.get_entry(name).paper_spec()

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["DuplicateModelError", "InputDecl", "InputSpec", "ModelConfig", "ModelEntry",
           "OUTPUTS", "RANKS", "Registry", "TOKEN_KEYS", "UnknownModelError",
           "input_tensor_names"]
