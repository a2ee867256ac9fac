"""Experiment configuration: typed dataclasses, one YAML per paper table, dotted overrides.

    exp = load_experiment("ho2020/table3", overrides=["training.epochs=5", "dataset=demo"])

The YAML files live in ``experiments/<paper>/<table>.yaml`` at the repository root. Every run
folder gets the resolved config (``config.yaml``), so a run says exactly what produced it.
This module is the only config mechanism of the package.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A config that cannot be used (unknown key, bad value), naming the key."""


@dataclasses.dataclass
class TrainingConfig:
    """How one job trains. Defaults are ho2020's recipe (App. A) and our choices where silent."""

    optimizer: str = "sgd"          # ho2020 App. A: stochastic gradient descent
    learning_rate: float = 1e-3     # ho2020 App. A
    lr_decay: float = 1e-6          # ho2020 App. A "decay 1e-6": Keras-2 time decay per step
    momentum: float = 0.0           # paper is silent; plain SGD as Keras 2's default
    epochs: int = 100               # paper is silent; the best validation epoch is kept
    batch_size: int = 32            # paper is silent
    selection_metric: str = "val_accuracy"  # paper is silent; accuracy is its headline metric
    patience: int | None = None     # early stopping on the selection metric (None: off)
    precision: str = "float32"      # or mixed_float16 / mixed_bfloat16
    save_model: bool = False        # also write model.keras into the run folder

    def validate(self) -> None:
        if self.optimizer not in ("sgd", "adam"):
            raise ConfigError(f"training.optimizer: {self.optimizer!r} (sgd or adam)")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("training.epochs and training.batch_size must be >= 1")
        if self.selection_metric not in ("val_accuracy", "val_balanced_accuracy", "val_loss"):
            raise ConfigError(f"training.selection_metric: {self.selection_metric!r}")
        if self.precision not in ("float32", "mixed_float16", "mixed_bfloat16"):
            raise ConfigError(f"training.precision: {self.precision!r}")


@dataclasses.dataclass
class Cell:
    """One cell of a paper table: a scenario and a modality, trained with one model."""

    scenario: str
    modality: str
    model: str

    @property
    def id(self) -> str:
        return f"{self.scenario}-{self.modality}"


@dataclasses.dataclass
class ExperimentConfig:
    name: str                                   # "ho2020/table3" or an ad-hoc name
    class_set: str
    cells: list[Cell]
    paper: str = ""
    table: str = ""
    description: str = ""
    dataset: str = "iemocap"
    test_dataset: str | None = None             # cross-corpus: test on this corpus, whole
    data_dir: str = "data"
    protocol: str = "loso10"
    protocol_options: dict[str, Any] = dataclasses.field(default_factory=dict)  # seed, k...
    features: dict[str, str] = dataclasses.field(
        default_factory=lambda: {"audio": "mfcc39_smile", "text": "bert_tokens"})
    models: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0])
    folds: list[int] | None = None              # None: every fold of the protocol

    def validate(self) -> None:
        from ser_keras import models
        from ser_keras.data import CLASS_SETS, PROTOCOLS
        from ser_keras.data.input import SCENARIOS

        if self.class_set not in CLASS_SETS:
            raise ConfigError(f"class_set: unknown {self.class_set!r}; known: "
                              f"{', '.join(sorted(CLASS_SETS))}")
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"protocol: unknown {self.protocol!r}; known: "
                              f"{', '.join(sorted(PROTOCOLS))}")
        if not self.cells:
            raise ConfigError("cells: at least one cell is needed")
        for cell in self.cells:
            if cell.scenario not in SCENARIOS:
                raise ConfigError(f"cells: scenario {cell.scenario!r} (known: {SCENARIOS})")
            try:
                entry = models.get_entry(cell.model)
            except (KeyError, ValueError) as err:
                raise ConfigError(f"cells: {err}") from None
            lacking = [m for m in entry.modalities if m not in self.features]
            if lacking:
                raise ConfigError(f"cells: model {cell.model} needs features for {lacking}")
        if len({c.id for c in self.cells}) != len(self.cells):
            raise ConfigError("cells: two cells with the same scenario and modality")
        self.training.validate()

    def cell(self, cell_id: str) -> Cell:
        for cell in self.cells:
            if cell.id == cell_id:
                return cell
        raise ConfigError(f"no cell {cell_id!r} in {self.name}; cells: "
                          f"{', '.join(c.id for c in self.cells)}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------
def experiments_dir() -> Path:
    """``$SER_KERAS_EXPERIMENTS`` or the ``experiments/`` folder beside the package."""
    env = os.environ.get("SER_KERAS_EXPERIMENTS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "experiments"


def _build(cls, data: dict, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    values = dict(data)
    if cls is ExperimentConfig:
        values["cells"] = [_build(Cell, c, f"{where}.cells[{i}]")
                           for i, c in enumerate(values.get("cells") or [])]
        values["training"] = _build(TrainingConfig, values.get("training") or {},
                                    f"{where}.training")
    try:
        return cls(**values)
    except TypeError as err:
        raise ConfigError(f"{where}: {err}") from None


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """``key.sub=value`` overrides (values parsed as YAML) applied to a config dict."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected key.sub=value")
        target = data
        parts = key.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(f"override {item!r}: {part} is not a mapping")
        target[parts[-1]] = yaml.safe_load(raw)
    return data


def experiment_from_dict(data: dict, where: str = "config") -> ExperimentConfig:
    config = _build(ExperimentConfig, data, where)
    config.validate()
    return config


def load_experiment(name_or_path: str, overrides: list[str] | None = None) -> ExperimentConfig:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = experiments_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(str(p.relative_to(experiments_dir()).with_suffix(""))
                       for p in experiments_dir().glob("*/*.yaml"))
        raise ConfigError(f"{path}: no such experiment; known: {', '.join(known) or 'none'}")
    data = yaml.safe_load(path.read_text()) or {}
    return experiment_from_dict(apply_overrides(data, overrides or []), str(path))


def dump_yaml(config: ExperimentConfig) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False)
