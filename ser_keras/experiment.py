"""Experiments, resolved and validated against every registry before any data is read.

    exp = load_experiment("ho2020/table3", ["dataset=demo", "training.epochs=5"])
    plans = resolve(exp)                       # {cell id: CellPlan}
    adhoc = adhoc_experiment("mlp", dataset="urdu", class_set="urdu4",
                             protocol="speaker-kfold", inputs={"audio": "egemaps_func"})

``load_experiment`` reads ``experiments/<paper>/<table>.yaml`` (or any YAML path), applies
dotted overrides, builds the typed config (``ser_keras.config``) and resolves it: class set,
protocol, scenario, task, and per cell the model (its registry entry and its validated model
config), the source of every model input (the cell's mapping, else the experiment's, else the
entry's default), the loss against the targets, the selection metric, the optimizer and
schedule. Any mistake is a ``ConfigError`` naming the key, raised before a store is opened
(regression targets that name a manifest's scores are checked against it when
``ExperimentData`` opens the store, before any job trains).
"""
from __future__ import annotations

import copy
import dataclasses
import fnmatch
from pathlib import Path
from typing import Any, Sequence

from ser_keras import config as cfg
from ser_keras.config import ExperimentConfig, apply_overrides, experiments_dir, from_dict
from ser_keras.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class InputPlan:
    """One model input of a cell: its declared rank and the source feeding it."""

    name: str
    rank: str
    source: str                                  # "a", "a+b" or "transcript"
    options: cfg.InputOptions

    @property
    def feature_sets(self) -> tuple[str, ...]:
        return cfg.feature_sets_of(self.source)


@dataclasses.dataclass(frozen=True)
class CellPlan:
    """What one cell's jobs run: the cell's own config, model entry and config, inputs."""

    cell: cfg.Cell
    config: ExperimentConfig                     # the experiment with the cell's overrides
    entry: Any = None                            # models.ModelEntry (None: no model to build)
    model_config: Any = None                     # the entry's validated config dataclass
    inputs: tuple[InputPlan, ...] = ()
    # a multi-stage task's models (stage name -> its own plan; e.g. the hierarchical task's
    # three), whose inputs ``inputs`` holds together
    stages: dict[str, "CellPlan"] = dataclasses.field(default_factory=dict)

    @property
    def feature_sets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fs for i in self.inputs for fs in i.feature_sets))


def experiment_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ConfigError(f"{path}: no such experiment file")
        return path
    root = experiments_dir()
    path = root / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(str(p.relative_to(root).with_suffix(""))
                       for p in root.glob("*/*.yaml") if p.name != "tables.yaml")
        raise ConfigError(f"{name_or_path}: no such experiment; known: "
                          f"{', '.join(known) or 'none'} (in {root})")
    return path


def experiment_from_dict(data: dict, where: str = "config") -> ExperimentConfig:
    """Build, validate and resolve an experiment from a plain dict."""
    exp = from_dict(ExperimentConfig, data, where)
    exp.validate(where)
    resolve(exp)
    if exp.stand_ins:
        named = {exp.dataset, exp.test_dataset}
        for cell in exp.cells:
            over = cell.overrides
            named |= {over.get("dataset"), over.get("test_dataset")}
        from ser_keras.data import CLASS_SETS

        # a corpus no cell names is fine when it is a corpus at all (one --stand-in for all of
        # a paper's experiments); a name no class set reads is a typo
        known = {c for class_set in CLASS_SETS.values() for c in class_set.corpora}
        unknown = sorted(set(exp.stand_ins) - named - known)
        if unknown:
            raise ConfigError(f"{where}: stand_ins {unknown}: no such corpus (the cells name "
                              f"{', '.join(sorted(n for n in named if n))})")
    return exp


def load_experiment(name_or_path: str, overrides: Sequence[str] | None = None,
                    cell_overrides: Sequence[str] = ()) -> ExperimentConfig:
    """``overrides`` (``key=value``) apply to the experiment, under the cells' own overrides;
    ``cell_overrides`` (``PATTERN:key=value``, the pattern a shell-style glob of cell ids)
    apply over the overrides of the matching cells (``ser-train --cell-set``)."""
    path = experiment_path(name_or_path)
    data = with_dataset_keys(read_experiment_yaml(path), list(overrides or []), str(path))
    for item in cell_overrides:
        pattern, sep, override = item.partition(":")
        cells = [c for c in data.get("cells") or [] if isinstance(c, dict)]
        matched = [c for c in cells if fnmatch.fnmatchcase(str(c.get("id", "")), pattern)]
        if not sep or not matched:
            raise ConfigError(f"--cell-set {item!r}: expected PATTERN:key=value with a "
                              f"pattern matching cell ids of {name_or_path} (e.g. "
                              f"'*-bert*:training.epochs=2')")
        for cell in matched:
            # YAML anchors share one dict between cells: never edit it in place
            cell["overrides"] = apply_overrides(copy.deepcopy(cell.get("overrides") or {}),
                                                [override])
    return experiment_from_dict(data, str(path))


DATASET_KEYS = "datasets"   # experiment YAML: {dataset: keys that apply when it is the dataset}
NOT_PER_DATASET = ("dataset", "cells", "name", "paper", DATASET_KEYS)


def with_dataset_keys(data: dict, overrides: Sequence[str], where: str = "config") -> dict:
    """``data`` with the keys its ``datasets`` block gives the dataset it runs on (after
    ``overrides``: ``--dataset mosei`` picks ``datasets.mosei``), then ``overrides`` over
    them. One experiment, several corpora: ``datasets: {mosei: {class_set: mosei6}}``.
    A block's keys may be dotted (``training.epochs: 3``); ``--set datasets.mosei.KEY=V``
    edits the block; a cell may not move to a corpus that has a block (its keys would not
    follow it)."""
    block_overrides = [o for o in overrides if o.split("=", 1)[0].split(".")[0] == DATASET_KEYS]
    overrides = [o for o in overrides if o not in block_overrides]
    if block_overrides:
        data = apply_overrides(data, block_overrides)
    blocks = data.pop(DATASET_KEYS, None)
    if blocks is None:
        return apply_overrides(data, list(overrides))
    if not isinstance(blocks, dict) or not all(isinstance(b, dict) for b in blocks.values()):
        raise ConfigError(f"{where}.{DATASET_KEYS}: a mapping dataset -> {{key: value}}")
    for dataset, block in blocks.items():
        bad = sorted(k for k in block if k.split(".")[0] in NOT_PER_DATASET)
        if bad:
            raise ConfigError(f"{where}.{DATASET_KEYS}.{dataset}: cannot set {bad} per dataset")
    for cell in data.get("cells") or []:
        moved = (cell.get("overrides") or {}).get("dataset") if isinstance(cell, dict) else None
        if moved in blocks:
            raise ConfigError(f"{where}.cells[{cell.get('id')}].overrides.dataset: {moved} has "
                              f"keys in {DATASET_KEYS}.{moved}; set them in the cell's "
                              "overrides, or run the experiment with --dataset")
    dataset = apply_overrides(copy.deepcopy(data), list(overrides)).get("dataset")
    if dataset in blocks:
        try:
            data = apply_overrides(data, copy.deepcopy(blocks[dataset]))
        except ConfigError as err:
            raise ConfigError(f"{where}.{DATASET_KEYS}.{dataset}: {err}") from None
    return apply_overrides(data, list(overrides))


def load_experiment_for(name_or_path: str, corpus: str) -> ExperimentConfig:
    """The experiment as it runs on ``corpus`` (``ser-prepare CORPUS --for``): with
    ``dataset=<corpus>`` when its ``datasets`` block names the corpus, else as it is."""
    blocks = read_experiment_yaml(experiment_path(name_or_path)).get(DATASET_KEYS) or {}
    return load_experiment(name_or_path, [f"dataset={corpus}"] if corpus in blocks else [])


def read_experiment_yaml(path: Path, seen: tuple[str, ...] = ()) -> dict:
    """An experiment YAML as a dict; ``extends: <paper>/<table>`` starts from that experiment
    and overlays this file (mappings merged key by key, other values replaced); ``templates``
    only holds YAML anchors that cells merge (``overrides: {<<: *bert}``) and is dropped."""
    data = cfg.read_yaml(path)
    templates = data.pop("templates", None)  # holds YAML anchors only (merged with <<: *name)
    if templates is not None and not isinstance(templates, dict):
        raise ConfigError(f"{path}: templates: a mapping of YAML anchors")
    base = data.pop("extends", None)
    if base is None:
        return data
    if str(base) in seen:
        raise ConfigError(f"{path}: extends {base} in a cycle ({' -> '.join(seen)})")
    merged = cfg.merge(read_experiment_yaml(experiment_path(str(base)), (*seen, str(base))),
                       data)
    # a key this file sets itself beats the one its base sets per dataset (unless this file
    # sets it per dataset too)
    own = (data.get(DATASET_KEYS) or {}) if isinstance(data.get(DATASET_KEYS), dict) else {}
    for dataset, block in (merged.get(DATASET_KEYS) or {}).items():
        if isinstance(block, dict):
            mine = own.get(dataset) or {}
            merged[DATASET_KEYS][dataset] = {k: v for k, v in block.items()
                                             if k not in data or k in mine}
    return merged


def adhoc_experiment(model: str, *, dataset: str, class_set: str, protocol: str,
                     scenario: str = "mixed", inputs: dict[str, str] | None = None,
                     overrides: Sequence[str] = ()) -> ExperimentConfig:
    """One model on one corpus, with the recipe of its family (``ser-train --model``).

    The cell id names the inputs (``mixed_audio-egemaps_func``), so runs of the same model on
    other features never share a run folder."""
    from ser_keras import models

    entry = models.get_entry(model)
    mapping = {d.name: (inputs or {}).get(d.name, d.default) for d in entry.inputs}
    unknown = sorted(set(inputs or {}) - set(mapping))
    if unknown:
        raise ConfigError(f"--features: model {model} has no input(s) {unknown}; its inputs: "
                          f"{', '.join(entry.input_names)}")
    tag = "_".join(f"{k}-{v}" for k, v in mapping.items())
    labels = {"scenario": scenario, "model": model,
              "inputs": ",".join(f"{k}={v}" for k, v in mapping.items())}
    data = {"name": f"{model}-{class_set}-{protocol}", "class_set": class_set,
            "protocol": protocol, "dataset": dataset, "scenario": scenario,
            "inputs": mapping, "training": cfg.merge({}, entry.training),
            "description": f"ad-hoc run of {model} ({entry.description})",
            "cells": [{"id": f"{scenario}_{tag}", "model": model, "labels": labels}]}
    return experiment_from_dict(apply_overrides(data, list(overrides)), "command line")


# --------------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------------
def resolve(exp: ExperimentConfig) -> dict[str, CellPlan]:
    """Check the experiment against every registry; the plan of each cell."""
    return {cell.id: plan_cell(exp, cell) for cell in exp.cells}


def plan_cell(exp: ExperimentConfig, cell: cfg.Cell | str) -> CellPlan:
    from ser_keras import models
    from ser_keras.data import CLASS_SETS, PROTOCOLS, get_class_set
    from ser_keras.data.input import SCENARIOS
    from ser_keras.training.tasks import TASKS

    cell = exp.cell(cell) if isinstance(cell, str) else cell
    where = f"{exp.name}.cells[{cell.id}]"
    config = exp.for_cell(cell)
    try:
        get_class_set(config.class_set)  # a derived set (a hierarchy's level) registers here
    except ValueError:
        raise ConfigError(f"{where}: class_set: unknown {config.class_set!r}; known: "
                          f"{', '.join(sorted(CLASS_SETS))}") from None
    if config.protocol not in PROTOCOLS:
        raise ConfigError(f"{where}: protocol: unknown {config.protocol!r}; known: "
                          f"{', '.join(sorted(PROTOCOLS))}")
    if config.scenario not in SCENARIOS:
        raise ConfigError(f"{where}: scenario {config.scenario!r}; known: {SCENARIOS}")
    task = TASKS.get(config.task)
    task.check(exp, config, cell, where)
    if not task.builds_model:
        return task.plan(exp, config, cell)
    if not cell.model:
        raise ConfigError(f"{where}: task {config.task} needs a model")
    entry = models.get_entry(cell.model)
    unknown_models = sorted(set(config.models) - set(models.available()))
    if unknown_models:
        raise ConfigError(f"{exp.name}.models: unknown model(s) {unknown_models}; known: "
                          f"{', '.join(models.available())}")
    model_config = entry.resolve_config(config.models.get(cell.model))
    extra = sorted(set(cell.inputs) - set(entry.input_names))
    if extra:
        raise ConfigError(f"{where}.inputs: model {entry.name} has no input(s) {extra}; its "
                          f"inputs: {', '.join(entry.input_names)}")
    inputs = []
    for decl in entry.inputs:
        source = config.inputs.get(decl.name, decl.default)
        if not source:
            raise ConfigError(f"{where}: input {decl.name} of {entry.name} has no source")
        sets = cfg.feature_sets_of(source)  # validates the syntax
        if (decl.rank == "tokens") != (source == cfg.TRANSCRIPT):
            raise ConfigError(f"{where}: input {decl.name} is a {decl.rank} input; "
                              + ("it reads the transcript (source 'transcript')"
                                 if decl.rank == "tokens" else
                                 f"'{source}' is not a feature set"))
        if decl.feeds and any(s not in decl.feeds for s in sets):
            raise ConfigError(f"{where}: input {decl.name} of {entry.name} accepts "
                              f"{', '.join(decl.feeds)}; got {source}")
        options = config.input_options.get(decl.name, cfg.InputOptions())
        if decl.rank == "tokens" and not options.preprocessor:
            raise ConfigError(f"{where}: tokens input {decl.name} needs "
                              f"input_options.{decl.name}.preprocessor (a keras-hub preset "
                              "or a local Hugging Face BERT directory)")
        inputs.append(InputPlan(decl.name, decl.rank, source, options))
    unused = sorted(set(config.input_options) - set(entry.input_names) - set(
        n for c in exp.cells for m in _models_of(exp, c) for n in _input_names(m)))
    if unused:
        raise ConfigError(f"{exp.name}.input_options: no model of the experiment has input(s) "
                          f"{unused}")
    check_training(config, where)
    return CellPlan(cell, config, entry, model_config, tuple(inputs))


def _models_of(exp: ExperimentConfig, cell: cfg.Cell) -> tuple[str, ...]:
    """The models a cell trains: its own, or those of its task's stages."""
    from ser_keras.training.tasks import TASKS

    if cell.model:
        return (cell.model,)
    task = cell.overrides.get("task", exp.task)
    return TASKS.get(task).models_of(exp, cell) if task in TASKS else ()


def _input_names(model: str) -> tuple[str, ...]:
    from ser_keras import models

    return models.get_entry(model).input_names if model in models.REGISTRY else ()


def check_training(config: ExperimentConfig, where: str) -> None:
    """Loss, selection metric, optimizer and schedule exist and fit the targets."""
    from ser_keras.evaluation import get_metric
    from ser_keras.training.losses import check_loss
    from ser_keras.training.recipe import check_recipe

    training = config.training
    check_loss(training.loss, config.regression, f"{where}.training.loss")
    if training.selection_metric != "loss":
        metric = get_metric(training.selection_metric)
        kind = "regression" if config.regression else "classification"
        if metric.kind != kind:
            raise ConfigError(f"{where}.training.selection_metric: {metric.name} is a "
                              f"{metric.kind} metric; these targets need a {kind} one")
    check_recipe(training)


def required_feature_sets(exp: ExperimentConfig, cells: Sequence[str] | None = None
                          ) -> list[str]:
    """The feature sets that the (given) cells of an experiment read, in order, once each."""
    plans = resolve(exp)
    chosen = cells or list(plans)
    return list(dict.fromkeys(fs for c in chosen for fs in plans[c].feature_sets))


__all__ = ["CellPlan", "InputPlan", "adhoc_experiment", "experiment_from_dict",
           "load_experiment_for",
           "experiment_path", "load_experiment", "plan_cell", "required_feature_sets",
           "resolve"]
