"""The one config mechanism: typed dataclasses built from plain dicts, YAML, dotted overrides.

    from ser_keras.config import from_dict, apply_overrides
    training = from_dict(TrainingConfig, {"learning_rate": "1e-3", "epochs": 5})

``from_dict`` builds any dataclass of the package (experiment, training recipe, model configs)
the same way: unknown keys are named, values are converted to the annotated type (``"1e-3"``
read by PyYAML as a string becomes a float; ``"ten"`` for an int is a ``ConfigError``), nested
dataclasses, lists, tuples and dicts are built recursively, and a bare string stands for a
dataclass whose first field is ``name`` (``loss: cross_entropy``). Errors are
``ser_keras.errors.ConfigError`` naming the dotted key.

The experiment dataclasses below are generic: they carry no paper's recipe. A paper's choices
live in its YAML files (``experiments/<paper>/<table>.yaml``); checking an experiment against
the registries (models, class sets, protocols, metrics, losses) is ``ser_keras.experiment``.
This module imports nothing of the package but its errors.
"""
from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml

from ser_keras.errors import ConfigError
from ser_keras.store import MANIFEST_COLUMNS, SCORE_NAME  # ... or a name of its scores

CLASSES_TARGET = "classes"                               # targets: [classes] -> the class set
CONTINUOUS_TARGETS = ("valence", "arousal", "dominance")  # manifest columns a model can regress
TRANSCRIPT = "transcript"                                # input source: the manifest's text
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


# --------------------------------------------------------------------------------------------
# The typed builder
# --------------------------------------------------------------------------------------------
def from_dict(cls, data: Any, where: str | None = None):
    """Build dataclass ``cls`` from ``data`` (a mapping, an instance, or a bare name)."""
    where = where or cls.__name__
    if isinstance(data, cls):
        return data
    fields = [f for f in dataclasses.fields(cls) if f.init]
    if isinstance(data, str) and fields and fields[0].name == "name":
        data = {"name": data}
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    known = {f.name: f for f in fields}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: coerce(value, hints[name], f"{where}.{name}") for name, value in data.items()}
    missing = [f.name for f in fields if f.name not in kwargs
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {missing}")
    return cls(**kwargs)


def coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert a value read from YAML/JSON/the command line to the annotated type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arg, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else
                          f"{where}: {value!r} is none of {_type_name(hint)}")
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        items = [coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or hint is dict:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        item = args[1] if len(args) == 2 else Any
        return {str(k): coerce(v, item, f"{where}.{k}") for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if hint is float:
        if not isinstance(value, bool):
            try:
                return float(value)
            except (TypeError, ValueError):
                pass
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def _type_name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def to_dict(config) -> dict:
    """A dataclass as plain dicts/lists (what is written into every run's config.yaml)."""
    return _plain(dataclasses.asdict(config))


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def apply_overrides(data: dict, overrides: list[str] | Mapping[str, Any]) -> dict:
    """Dotted overrides applied to a config dict, in place: ``["key.sub=value", ...]`` (values
    parsed as YAML) or a mapping ``{"key.sub": value}``."""
    items = (overrides.items() if isinstance(overrides, Mapping)
             else (_split_override(o) for o in overrides))
    for key, value in items:
        target = data
        parts = key.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(f"override {key}: {part} is not a mapping")
        if (parts[-1] == "name" and len(parts) > 1 and target.get("name") is not None
                and target.get("name") != value):
            # a named component whose name changes is replaced whole (see merge)
            target.clear()
        target.update(merge(target, {parts[-1]: value}))
    return data


def merge(base: Mapping, top: Mapping) -> dict:
    """``top`` over ``base``: mappings merged key by key, other values replaced. A named
    component (a mapping with a ``name``: optimizer, schedule, loss) whose name changes is
    replaced whole: ``{name: adam}`` over ``{name: sgd, options: {momentum: 0.9}}`` keeps no
    SGD option."""
    out = dict(base)
    for key, value in top.items():
        old = out.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping) and not (
                "name" in value and "name" in old and value["name"] != old["name"]):
            out[key] = merge(old, value)
        else:
            out[key] = value
    return out


def flatten(mapping: Mapping | None, prefix: str = "") -> dict:
    """Nested mappings as one level of dotted keys (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``);
    an empty mapping stays a value."""
    out = {}
    for key, value in (mapping or {}).items():
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def yaml_line(value: Any) -> str:
    """A value as one line of YAML that reads back as itself (``1.0e-05``, ``[64, 128]``)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"))
    return text.removesuffix("\n...\n").strip()


def _split_override(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r}: expected key.sub=value")
    try:
        return key.strip(), yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise ConfigError(f"override {item!r}: not a YAML value ({err})") from None


def parse_input_mapping(text: str, option: str = "--features") -> dict[str, str]:
    """``"audio=mfcc39,text=bert_tokens"`` -> ``{"audio": "mfcc39", "text": "bert_tokens"}``."""
    mapping = {}
    for item in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, source = item.partition("=")
        if not sep or not name.strip() or not source.strip():
            expected = ("input=feature_set[+feature_set][,input=...]" if option == "--features"
                        else "name=value[,name=value...]")
            raise ConfigError(f"{option} {text!r}: expected {expected}, got {item!r}")
        mapping[name.strip()] = source.strip()
    return mapping


def feature_sets_of(source: str) -> tuple[str, ...]:
    """The feature sets an input source names: ``"a+b"`` -> ("a", "b"); the transcript -> ()."""
    if source == TRANSCRIPT:
        return ()
    names = tuple(s.strip() for s in source.split("+"))
    if not all(names):
        raise ConfigError(f"input source {source!r}: empty feature set name")
    return names


# --------------------------------------------------------------------------------------------
# The experiment (generic; a paper's recipe lives in its YAML)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class InputOptions:
    """How one model input is fed (per experiment, per input name)."""

    crop_seconds: float | None = None   # training: random crops of this length; eval: whole
    crop_frames: int | None = None      # the same in frames (steps of the feature set)
    pad_to_seconds: float | None = None  # pad (or cut) every sample to a fixed length
    pad_to_frames: int | None = None
    # pad every batch to the longest sample of the feature set (all its utterances), as
    # kakuba2023 Sec. III-D does ("we keep track of the maximum number of frames and apply
    # padding"); masks still mark the padding. Default: each batch to its own longest.
    pad_to_longest: bool = False
    preprocessor: str | None = None     # transcript inputs: keras-hub preset or local HF dir
    max_tokens: int | None = None       # transcript inputs: sequence length of the packer

    def validate(self, where: str) -> None:
        for name in ("crop_seconds", "crop_frames", "pad_to_seconds", "pad_to_frames",
                     "max_tokens"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{where}.{name}: must be > 0, got {value}")
        crops = [n for n in ("crop_seconds", "crop_frames") if getattr(self, n) is not None]
        pads = [n for n in ("pad_to_seconds", "pad_to_frames") if getattr(self, n) is not None]
        if len(crops) > 1 or len(pads) > 1:
            raise ConfigError(f"{where}: give one of {crops or pads}, not both")
        if self.pad_to_longest and pads:
            raise ConfigError(f"{where}: pad_to_longest or {pads[0]}, not both")

    @property
    def crops(self) -> bool:
        return self.crop_seconds is not None or self.crop_frames is not None


@dataclasses.dataclass
class OptimizerConfig:
    """A Keras optimizer by name (``sgd``, ``adam``, ``adamw``...) and its arguments, built with
    ``keras.optimizers.get``; the learning rate comes from ``TrainingConfig``."""

    name: str = "adam"
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ScheduleConfig:
    """A learning-rate schedule by name (``none``, ``inverse_time``, ``linear_warmup_decay``,
    or any Keras schedule class name) and its arguments (``ser_keras.training.recipe``)."""

    name: str = "none"
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class LossTerm:
    name: str
    weight: float = 1.0


@dataclasses.dataclass
class LossConfig:
    """A loss by name (``ser_keras.training.losses``): ``cross_entropy`` (with ``class_weights``
    ``inverse_frequency`` or ``smallest``), ``mse``, ``ccc`` (1 - mean CCC over the targets), or
    ``sum`` of weighted ``terms``."""

    name: str = "cross_entropy"
    class_weights: str | None = None
    terms: list[LossTerm] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class TrainingConfig:
    """How one job trains. Generic defaults (Keras' Adam, no schedule); papers set theirs."""

    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    learning_rate: float = 1e-3
    schedule: ScheduleConfig = dataclasses.field(default_factory=ScheduleConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    epochs: int = 50
    batch_size: int = 32
    selection_metric: str = "balanced_accuracy"  # a metric name or "loss" (on validation)
    patience: int | None = None                  # early stopping on the selection metric
    precision: str = "float32"                   # or mixed_float16 / mixed_bfloat16
    save_model: bool = False                     # also write model.keras into the run folder

    def validate(self, where: str = "training") -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"{where}.epochs and {where}.batch_size must be >= 1")
        if self.learning_rate <= 0:
            raise ConfigError(f"{where}.learning_rate: must be > 0, got {self.learning_rate}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"{where}.patience: must be >= 1 or null, got {self.patience}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"{where}.precision: {self.precision!r}; known: {PRECISIONS}")


AUGMENTATION_MODES = ("none", "after-split", "before-split")  # = ser_keras.data.augmented.MODES


@dataclasses.dataclass
class Cell:
    """One cell of a paper table: a model, optionally its own inputs and overrides of the
    experiment's keys, and labels that place it in the tables (``{scenario: improvised}``)."""

    id: str
    model: str = ""                       # empty for tasks that build no model (late fusion)
    inputs: dict[str, str] = dataclasses.field(default_factory=dict)
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ExperimentConfig:
    name: str                                   # "ho2020/table3" or an ad-hoc name
    class_set: str
    cells: list[Cell]
    paper: str = ""
    description: str = ""
    dataset: str = "iemocap"
    test_dataset: str | None = None             # cross-corpus: test on this corpus, whole
    data_dir: str = "data"
    scenario: str = "mixed"                     # improvised: improvised dialogs only
    protocol: str = "loso10"
    protocol_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    # augmented copies in the manifest (ser-prepare --augment): "none" leaves them out,
    # "after-split" trains on the copies of training utterances only, "before-split" treats
    # copies as utterances of their own (the leaky reading; ser_keras.data.augmented)
    augmentation: str = "none"
    targets: list[str] = dataclasses.field(default_factory=lambda: [CLASSES_TARGET])
    inputs: dict[str, str] = dataclasses.field(default_factory=dict)  # input -> source
    input_options: dict[str, InputOptions] = dataclasses.field(default_factory=dict)
    task: str = "supervised"
    task_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    # cross-corpus: test on the rows of test_dataset whose manifest ``split`` is this
    # ("test": MSP-Podcast's test-1, triantafyllopoulos2022 Sec. 4.2); None: the whole corpus
    test_split: str | None = None
    # paper corpus -> the prepared corpus read in its place, for experiments whose cells name
    # their corpora (a demo run: {iemocap: demo, msp-podcast: demo-msp}); runs record it
    stand_ins: dict[str, str] = dataclasses.field(default_factory=dict)
    # manifest columns (e.g. scenario) whose values split the test set: metrics.json gets the
    # metrics of every stratum too (triantafyllopoulos2022 Tables 7, 8)
    strata: list[str] = dataclasses.field(default_factory=list)
    models: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0])
    folds: list[int] | None = None              # None: every fold of the protocol
    # a hyperparameter search space for ``ser-tune`` (ser_keras.tuning); ser-train ignores it
    tune: dict[str, Any] = dataclasses.field(default_factory=dict)

    def validate(self, where: str = "config") -> None:
        """Checks that need no registry (``ser_keras.experiment`` checks the rest)."""
        if not self.cells:
            raise ConfigError(f"{where}.cells: at least one cell is needed")
        ids = [c.id for c in self.cells]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"{where}.cells: duplicate cell ids "
                              f"{sorted({i for i in ids if ids.count(i) > 1})}")
        for cell in self.cells:
            bad = sorted(k for k in cell.overrides if k.split(".")[0] in ("cells", "name"))
            if bad:
                raise ConfigError(f"{where}.cells[{cell.id}].overrides: cannot override {bad}")
        if self.augmentation not in AUGMENTATION_MODES:
            raise ConfigError(f"{where}.augmentation: {self.augmentation!r}; known: "
                              f"{', '.join(AUGMENTATION_MODES)}")
        if self.targets != [CLASSES_TARGET]:
            # a continuous target: a dimension column, or a name of the manifest's scores
            # (CMU-MOSEI's emotion intensities), which only the manifest can confirm
            bad = [t for t in self.targets if not SCORE_NAME.fullmatch(str(t))
                   or t == CLASSES_TARGET
                   or (t in MANIFEST_COLUMNS and t not in CONTINUOUS_TARGETS)]
            if bad or not self.targets or len(set(self.targets)) != len(self.targets):
                raise ConfigError(f"{where}.targets: {self.targets}; use [{CLASSES_TARGET}] or "
                                  f"distinct names of {list(CONTINUOUS_TARGETS)} or of the "
                                  "manifest's scores (a corpus's per-utterance scores, "
                                  "checked against its manifest)")
        if self.test_split is not None and not self.test_split.strip():
            raise ConfigError(f"{where}.test_split: a split name (e.g. test) or null")
        for name, options in self.input_options.items():
            options.validate(f"{where}.input_options.{name}")
        self.training.validate(f"{where}.training")

    @property
    def regression(self) -> bool:
        return self.targets != [CLASSES_TARGET]

    def cell(self, cell_id: str) -> Cell:
        for cell in self.cells:
            if cell.id == cell_id:
                return cell
        raise ConfigError(f"no cell {cell_id!r} in {self.name}; cells: "
                          f"{', '.join(c.id for c in self.cells)}")

    def for_cell(self, cell: Cell | str) -> "ExperimentConfig":
        """The config one cell's jobs run with: the cell's overrides applied, its inputs over
        the experiment's, and only that cell."""
        cell = self.cell(cell) if isinstance(cell, str) else cell
        data = to_dict(self)
        data["cells"] = [to_dict(cell)]
        apply_overrides(data, cell.overrides)
        data["inputs"] = {**data.get("inputs", {}), **cell.inputs}
        resolved = from_dict(ExperimentConfig, data, f"{self.name}.cells[{cell.id}]")
        resolved.validate(f"{self.name}.cells[{cell.id}]")
        if resolved.test_split is not None and not resolved.test_dataset:
            raise ConfigError(f"{self.name}.cells[{cell.id}].test_split: only for a "
                              "cross-corpus test (test_dataset); in-domain test sets come "
                              "from the protocol")
        # stand-ins replace the corpora a cell names (its own or the experiment's)
        resolved.dataset = resolved.stand_ins.get(resolved.dataset, resolved.dataset)
        if resolved.test_dataset:
            resolved.test_dataset = resolved.stand_ins.get(resolved.test_dataset,
                                                           resolved.test_dataset)
        return resolved

    def to_dict(self) -> dict:
        return to_dict(self)


# --------------------------------------------------------------------------------------------
# Where the experiments are, and YAML
# --------------------------------------------------------------------------------------------
def experiments_dir() -> Path:
    """``$SER_KERAS_EXPERIMENTS``, else the installed ``experiments`` package (shipped in the
    wheel beside ``ser_keras``; in a checkout, the folder at the repository root)."""
    env = os.environ.get("SER_KERAS_EXPERIMENTS")
    if env:
        return Path(env)
    import importlib.util

    spec = importlib.util.find_spec("experiments")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "experiments"


def read_yaml(path: str | os.PathLike) -> dict:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def dump_yaml(config) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False)


__all__ = ["CLASSES_TARGET", "CONTINUOUS_TARGETS", "Cell", "ConfigError", "ExperimentConfig",
           "InputOptions", "LossConfig", "LossTerm", "OptimizerConfig", "ScheduleConfig",
           "TRANSCRIPT", "TrainingConfig", "apply_overrides", "coerce", "dump_yaml",
           "experiments_dir", "feature_sets_of", "flatten", "from_dict", "merge",
           "parse_input_mapping", "read_yaml", "to_dict", "yaml_line"]
