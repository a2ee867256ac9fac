"""Hyperparameter search with Optuna over a cell's declared space (``ser-tune``).

    ser-tune --experiment alqurashi2024/table2 --cell lstm-st-sd [--trials 30] [--dataset demo]

    from ser_keras import tuning
    result = tuning.tune(exp, "lstm-st-sd", "results/tune/alqurashi2024/table2/lstm-st-sd")

Where a paper chose "the other hyperparameters" with a search it does not print, this module
makes that search a declared part of an experiment: the ``tune:`` block of its YAML::

    tune:
      trials: 30            # finished trials the search runs to (ser-tune --trials wins)
      folds: [0]            # folds whose validation split scores a trial (default: the first
                            # of the experiment's ``folds``, else fold 0)
      seed: 0               # the TPE sampler's seed (the jobs train with the first seed)
      space:                # dotted keys of the cell's config, as ser-train --cell-set takes them
        training.learning_rate: {low: 1.0e-5, high: 1.0e-2, log: true}   # float (log scale)
        training.batch_size: {low: 16, high: 64, step: 16}              # int: int bounds
        models.mlp.dropout: {low: 0.0, high: 0.5}                      # float
        models.mlp.activation: {choices: [relu, gelu]}                 # categorical
        models.mlp.hidden_units: {choices: [[64], [128, 64]]}          # lists are choices too

Keys reach into nested mappings with the config's dotted override syntax
(``ser_keras.config.apply_overrides``), e.g. one stage of a hierarchical cell:
``task_options.stages.level1.overrides.models.lstm-speech.units: {choices: [64, 128]}``.

A parameter is ``{choices: [...]}`` (categorical), or ``{low, high}`` with optional ``log``
(sample on a log scale; low > 0) or ``step``: int when both bounds (and the step) are
integers, float otherwise. A cell may carry its own block (``cells[].overrides.tune``): it
merges over the experiment's key by key like every cell override, so a cell's ``space`` adds
or changes parameters, and ``key: null`` removes one of the experiment's.

Before any training the space is checked: each parameter at each of its ends (every choice)
is applied as the cell's overrides and the cell resolved (``ser_keras.experiment``), so a
typo or an invalid value is a one-line ``ConfigError`` naming the key; a ``models.<name>.``
key of a model the cell does not train is refused too (it would change nothing).

Each trial samples the space (Optuna's TPE sampler, seeded), runs the cell's jobs
(``ser_keras.training.run_job``) for the tune folds and the experiment's first seed into
``<study>/trials/trial-NNNN/`` with the sampled values as the cell's overrides, and is scored
by the validation selection value each job recorded (metrics.json "selection": for a
supervised cell the content of best.json, the selection metric on the validation split at
the selected epoch), averaged over the folds; the direction is the metric registry's
``greater_is_better``. The test split is never read for scoring: the jobs still write their
test predictions and metrics (ser-tune ignores them), and their log lines, which show test
metrics, are not printed. The trial folders keep no weights once scored.

A trial whose training diverged or failed with a ``ConfigError`` / ``ProtocolError`` is
recorded as failed with its message and the search goes on; a failure while no trial has
completed stops the search (a config error fails every trial), its trial retried on the next
run. The study lives in ``sqlite:///<study>/optuna.db`` (study name ``<experiment>/<cell>``),
so an interrupted search resumes: a re-run with the same ``--trials N`` runs only the
missing trials, and a trial left RUNNING by a killed process is marked FAIL and its
parameters run again first (in its folder, renamed, so its jobs resume). One ser-tune process
per study at a time. The study also records the configuration it searches; a re-run with
another one (``--epochs``, the space, the dataset) is refused.

Outputs, rewritten after every trial: ``<study>/trials.csv`` (number, state, value, params,
seconds, note) and ``<study>/best.yaml``, the best values as an override file of ser-train
(``ser-train --experiment E --cells C --config best.yaml``)::

    # ser-tune: trial 7 is the best of 30 finished trial(s) of E, cell C: validation
    #   balanced_accuracy 0.6123 (fold(s) [0], seed 0)          (one line in the file)
    # ser-train --experiment E --cells C --config results/tune/E/C/best.yaml
    # the search ran with --set training.epochs=20 (not in this file: ...)   (when it did)
    cells:
      C:                                  # the values, scoped to the cell (--cell-set 'C:...')
        training.learning_rate: 0.0031
        models.mlp.hidden_units: [128, 64]
    tuned:                                # read by ser-train --config, not applied
      {experiment: E, cell: C, metric: balanced_accuracy, direction: maximize, value: 0.6123,
       trial: 7, finished_trials: 30, folds: [0], seed: 0, searched_with: [...]}

Optuna is optional (``pip install ser-keras[tune]``) and imported only inside this module's
functions.
"""
from __future__ import annotations

import copy
import csv
import dataclasses
import glob
import io
import json
import math
import os
import shlex
import shutil
import socket
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import yaml

from ser_keras import store
from ser_keras.config import (ExperimentConfig, apply_overrides, flatten, from_dict, to_dict,
                              yaml_line)
from ser_keras.errors import ConfigError, ProtocolError, SerKerasError

NEEDS_OPTUNA = "ser-tune needs optuna: pip install ser-keras[tune]"
SPEC_KEYS = ("low", "high", "log", "step", "choices")
# what a trial's identity is made of; these are the search's own, never sampled
RESERVED = ("cells", "name", "tune", "seeds", "folds")
UNTUNABLE = ("training.selection_metric",)  # it scores the trials
DEFAULT_TRIALS = 20


# --------------------------------------------------------------------------------------------
# The search space (the ``tune:`` block)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Param:
    """One dimension of the space: ``key`` (a dotted config key) and its distribution."""

    key: str
    kind: str                             # "int", "float" or "categorical"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple = ()

    @property
    def encoded(self) -> bool:
        """Whether Optuna sees the choices as YAML strings (it takes scalars only)."""
        return any(not _scalar(c) for c in self.choices)

    def optuna_choices(self) -> list:
        return [yaml_line(c) for c in self.choices] if self.encoded else list(self.choices)

    def suggest(self, trial) -> Any:
        """The value of this parameter in an Optuna trial (sampled, or fixed by enqueueing)."""
        if self.kind == "categorical":
            return self.decode(trial.suggest_categorical(self.key, self.optuna_choices()))
        if self.kind == "int":
            return trial.suggest_int(self.key, self.low, self.high, step=self.step or 1,
                                     log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)

    def decode(self, value: Any) -> Any:
        """The config value of a value as Optuna stores it."""
        return yaml.safe_load(value) if self.encoded and isinstance(value, str) else value

    def ends(self) -> list:
        """The values the space check resolves: both bounds, or every choice."""
        return list(self.choices) if self.kind == "categorical" else [self.low, self.high]

    def describe(self) -> dict:
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        out = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out


@dataclasses.dataclass
class _TuneBlock:
    """The ``tune:`` mapping as read (its ``space`` checked by ``parse_tune``)."""

    trials: int = DEFAULT_TRIALS
    folds: list[int] | None = None
    seed: int = 0
    space: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TuneConfig:
    """A validated ``tune:`` block."""

    trials: int
    folds: list[int] | None
    seed: int
    space: dict[str, Param]


def parse_tune(block: Mapping | None, where: str = "tune") -> TuneConfig:
    """Validate a ``tune:`` mapping; a mistake is a one-line ``ConfigError`` naming the key."""
    raw = from_dict(_TuneBlock, dict(block or {}), where)
    if raw.trials < 1:
        raise ConfigError(f"{where}.trials: must be >= 1, got {raw.trials}")
    if raw.folds is not None and (not raw.folds or any(f < 0 for f in raw.folds)
                                  or len(set(raw.folds)) != len(raw.folds)):
        raise ConfigError(f"{where}.folds: distinct fold indices >= 0, got {raw.folds}")
    space = {}
    for key, spec in raw.space.items():
        if spec is None:  # a cell's ``key: null`` removes a parameter of the experiment's
            continue
        space[key] = parse_param(key, spec, f"{where}.space.{key}")
    if not space:
        raise ConfigError(f"{where}.space: no parameter to search; declare tune.space in the "
                          "experiment or in the cell's overrides.tune")
    return TuneConfig(raw.trials, raw.folds, raw.seed, space)


def parse_param(key: str, spec: Any, where: str) -> Param:
    parts = key.split(".")
    if not all(p.strip() for p in parts):
        raise ConfigError(f"{where}: not a dotted config key")
    if parts[0] in RESERVED or key in UNTUNABLE:
        raise ConfigError(f"{where}: cannot be searched (the search sets the cells, seeds, "
                          "folds and selection metric of its trials itself)")
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected {{low: ..., high: ...[, log: true][, step: ...]}} "
                          f"or {{choices: [...]}}, got {spec!r}")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {list(SPEC_KEYS)}")
    if "choices" in spec:
        bounds = sorted(set(spec) - {"choices"})
        if bounds:
            raise ConfigError(f"{where}: choices or low/high, not both (also given: {bounds})")
        choices = spec["choices"]
        if not isinstance(choices, (list, tuple)) or not choices:
            raise ConfigError(f"{where}.choices: a non-empty list, got {choices!r}")
        if len({yaml_line(c) for c in choices}) != len(choices):
            raise ConfigError(f"{where}.choices: {list(choices)} repeats a choice")
        return Param(key, "categorical", choices=tuple(choices))
    missing = [k for k in ("low", "high") if k not in spec]
    if missing:
        raise ConfigError(f"{where}: missing {missing} (or give choices: [...])")
    low, high = (_number(spec[k], f"{where}.{k}") for k in ("low", "high"))
    step = None if spec.get("step") is None else _number(spec["step"], f"{where}.step")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log: true or false, got {log!r}")
    if not low < high:
        raise ConfigError(f"{where}: low ({low}) must be < high ({high})")
    if step is not None and step <= 0:
        raise ConfigError(f"{where}.step: must be > 0, got {step}")
    if log and step is not None:
        raise ConfigError(f"{where}: log or step, not both (Optuna samples a log scale "
                          "without steps)")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log scale needs low > 0, got {low}")
    kind = "int" if all(isinstance(v, int) for v in (low, high, step) if v is not None) \
        else "float"
    if kind == "float":
        low, high = float(low), float(high)
        step = None if step is None else float(step)
    return Param(key, kind, low, high, log, step)


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):  # PyYAML reads 1e-5 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    raise ConfigError(f"{where}: expected a number, got {value!r}")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


# --------------------------------------------------------------------------------------------
# Trials as configs
# --------------------------------------------------------------------------------------------
def cell_tune(exp: ExperimentConfig, cell_id: str) -> TuneConfig:
    """The cell's validated tune block (the experiment's, with the cell's own over it)."""
    return parse_tune(exp.for_cell(cell_id).tune, f"{exp.name}: tune")


def trial_experiment(exp: ExperimentConfig, cell_id: str, values: Mapping[str, Any],
                     resolve_all: bool = True) -> ExperimentConfig:
    """The experiment with ``values`` (dotted key -> value) over the cell's own overrides, as
    ``ser-train --cell-set '<cell>:key=value'`` applies them; resolved and validated (only
    the cell's plan when not ``resolve_all``)."""
    from ser_keras.experiment import experiment_from_dict, plan_cell

    exp.cell(cell_id)  # an unknown cell is named with the known ones
    data = to_dict(exp)
    for cell in data["cells"]:
        if cell["id"] == cell_id:
            cell["overrides"] = apply_overrides(copy.deepcopy(cell.get("overrides") or {}),
                                                dict(values))
    if resolve_all:
        return experiment_from_dict(data, exp.name)
    trial = from_dict(ExperimentConfig, data, exp.name)
    trial.validate(exp.name)
    plan_cell(trial, cell_id)
    return trial


def check_space(exp: ExperimentConfig, cell_id: str, settings: TuneConfig) -> None:
    """Each parameter at each end (every choice), then all at their first, applied as the
    cell's overrides and resolved: a typo or a bad value fails here, before any training."""
    from ser_keras.training.tasks import TASKS

    config = exp.for_cell(cell_id)
    cell = exp.cell(cell_id)
    task = TASKS.get(config.task)
    trained = {m for m in (cell.model, *task.models_of(exp, cell)) if m}
    for param in settings.space.values():
        parts = param.key.split(".")
        if parts[0] == "models" and len(parts) >= 2 and parts[1] not in trained:
            raise ConfigError(f"{exp.name}: tune.space.{param.key}: cell {cell_id} trains "
                              f"{', '.join(sorted(trained)) or 'no model'}, so "
                              f"models.{parts[1]} changes nothing")
        for value in param.ends():
            try:
                trial_experiment(exp, cell_id, {param.key: value}, resolve_all=False)
            except ConfigError as err:
                raise ConfigError(f"{exp.name}: tune.space.{param.key}={yaml_line(value)}: "
                                  f"{err}") from None
    first = {p.key: p.ends()[0] for p in settings.space.values()}
    try:
        trial_experiment(exp, cell_id, first)
    except ConfigError as err:
        raise ConfigError(f"{exp.name}: tune.space at the first values "
                          f"{json.dumps(first)}: {err}") from None


# --------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class TuneResult:
    """What a search run leaves: where, how many trials ran now, and the best so far."""

    study_dir: Path
    ran: int                              # trials run by this call
    finished: int                         # trials of the study with an outcome
    best: dict | None                     # {"trial", "value", "values", "metric"} or None
    cell_set: list[str]                   # the best values as ser-train --cell-set arguments


def require_optuna():
    """The optuna module, or a one-line error saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise SerKerasError(NEEDS_OPTUNA) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # ser-tune prints its own lines
    return optuna


def default_study_dir(exp: ExperimentConfig, cell_id: str, root="results/tune") -> Path:
    return Path(root) / exp.name / cell_id


def tune(exp: ExperimentConfig, cell_id: str, study_dir=None, *, trials: int | None = None,
         strategy=None, search_arguments: Sequence[str] = (), experiment_ref: str | None = None,
         log: Callable[[str], None] = print) -> TuneResult:
    """Run the search of one cell until ``trials`` (default: its tune block's) have finished.

    ``search_arguments`` (the command line's overrides of the experiment, as ser-train
    arguments) and ``experiment_ref`` (how the command named the experiment) are recorded in
    best.yaml; they change nothing here."""
    optuna = require_optuna()
    from ser_keras.training import ExperimentData
    from ser_keras.training.tasks import TASKS, greater_is_better, selection_name

    cell = exp.cell(cell_id)
    config = exp.for_cell(cell_id)
    if TASKS.get(config.task).stage_of(config) > 0:
        raise ConfigError(f"{exp.name}: cell {cell_id} (task {config.task}) reads other cells' "
                          "finished runs; tune the cell it reads instead")
    settings = cell_tune(exp, cell_id)
    if trials is not None:
        if trials < 1:
            raise ConfigError(f"--trials: must be >= 1, got {trials}")
        settings.trials = trials
    check_space(exp, cell_id, settings)
    data = ExperimentData(exp)  # before training: the store, its features and the folds
    plan = data.plans[cell_id]
    for part in plan.stages.values() or (plan,):  # opens the feature sets: a missing one fails
        if part.inputs:
            data.feeds(part, config.dataset)
    count = data.fold_count(config)
    folds = settings.folds or [config.folds[0] if config.folds else 0]
    beyond = [f for f in folds if f >= count]
    if beyond:
        raise ConfigError(f"{exp.name}: tune.folds {beyond}: {config.protocol} has {count} "
                          f"fold(s) on {config.dataset}")
    metric = selection_name(config.training.selection_metric)  # canonical: uar -> balanced_...
    direction = "maximize" if greater_is_better(metric) else "minimize"
    search = {"config": _identity(config), "space": {k: p.describe() for k, p in
                                                     settings.space.items()},
              "folds": folds, "seed": config.seeds[0]}

    study_dir = Path(study_dir) if study_dir is not None else default_study_dir(exp, cell_id)
    study_dir.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(storage=f"sqlite:///{study_dir.resolve() / 'optuna.db'}",
                                study_name=f"{exp.name}/{cell_id}", direction=direction,
                                load_if_exists=True)
    _check_same_search(study, search, direction, study_dir)
    _release_stale(study, log)
    todo = max(0, settings.trials - _finished(study))
    # A resumed search must not replay the samples of the first run: seed by progress.
    study.sampler = optuna.samplers.TPESampler(
        seed=settings.seed + len(study.get_trials(deepcopy=False)))
    log(f"ser-tune {exp.name} cell {cell_id}: {_finished(study)} of {settings.trials} trial(s) "
        f"finished, {todo} to run; {direction} validation {metric} over fold(s) {folds}, "
        f"seed {config.seeds[0]}; study in {study_dir}")
    writer = _Outputs(study_dir, exp, cell_id, settings, metric, direction, folds,
                      config.seeds[0], search_arguments, experiment_ref or exp.name)
    ran = 0
    for _ in range(todo):
        _run_trial(study, exp, cell_id, settings, folds, config.seeds[0], study_dir, strategy,
                   log)
        ran += 1
        writer.write(study)
    best = writer.write(study)
    return TuneResult(study_dir, ran, _finished(study), best,
                      cell_set_arguments(cell.id, best["values"]) if best else [])


def _run_trial(study, exp, cell_id, settings, folds, seed, study_dir, strategy, log) -> None:
    import optuna
    from ser_keras.training import ExperimentData, run_job
    from ser_keras.training.runner import run_dir
    from ser_keras.training.tasks import selection_name

    trial = study.ask()
    values = {key: param.suggest(trial) for key, param in settings.space.items()}
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())
    directory = _trial_dir(study_dir, trial.number)
    retry_of = trial.user_attrs.get("retry_of")
    if retry_of is not None:  # an interrupted trial's jobs resume in its folder
        old = _trial_dir(study_dir, retry_of)
        if old.is_dir() and not directory.exists():
            old.rename(directory)
    shown = ", ".join(f"{k}={yaml_line(v)}" for k, v in values.items())
    log(f"trial {trial.number}: {shown}")
    try:
        trial_exp = trial_experiment(exp, cell_id, values)
        data = ExperimentData(trial_exp)
        config = data.plans[cell_id].config
        scores = []
        for fold in folds:
            # quiet: a job's line shows its test metrics, which a search must not be watched on
            run_job(trial_exp, cell_id, fold, seed, directory, data, strategy,
                    log=lambda message: None)
            scores.append(validation_value(run_dir(directory, config, cell_id, fold, seed)))
    except (ConfigError, ProtocolError) as err:
        message = str(err)
        # Divergence depends on the sampled values; another error before any trial completed
        # is the config's or the data's and would fail every trial.
        if "diverged" not in message and not _completed(study):
            trial.set_user_attr("stopped", message)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
            raise type(err)(f"trial {trial.number} failed and no trial has completed, so the "
                            f"search stops (a re-run retries it): {message}") from None
        trial.set_user_attr("failure", message)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        _drop_weights(directory)
        log(f"trial {trial.number}: failed: {message}")
        return
    except BaseException:  # killed (Ctrl-C) or a crash: the next run retries these values
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
        raise
    value = float(sum(scores) / len(scores))
    trial.set_user_attr("fold_values", scores)
    _drop_weights(directory)
    if not math.isfinite(value):
        trial.set_user_attr("failure", "the validation selection value is undefined (NaN)")
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        log(f"trial {trial.number}: failed: undefined validation value")
        return
    study.tell(trial, value)
    best = study.best_trial
    log(f"trial {trial.number}: validation "
        f"{selection_name(config.training.selection_metric)} {value:.4f} "
        f"(best: trial {best.number}, {best.value:.4f})")


def validation_value(directory: Path) -> float:
    """The validation selection value a finished job recorded (metrics.json "selection":
    best.json's for a trained model); never a test number."""
    selection = json.loads((directory / "metrics.json").read_text()).get("selection") or {}
    if "value" not in selection:
        raise ConfigError(f"{directory}: the job recorded no validation selection value "
                          "(a selection_metric of 'loss' has none for this task)")
    value = selection["value"]
    return math.nan if value is None else float(value)


def _trial_dir(study_dir: Path, number: int) -> Path:
    return study_dir / "trials" / f"trial-{number:04d}"


def _drop_weights(directory: Path) -> None:
    """A scored trial needs no weights (ser-train --config best.yaml retrains): keep the
    search's disk use bounded for large models (a failed job leaves its backup/ too)."""
    for pattern in ("**/*.weights.h5", "**/model.keras"):
        for path in list(directory.glob(pattern)):
            path.unlink()
    for path in list(directory.glob("**/backup")):
        shutil.rmtree(path, ignore_errors=True)


def _completed(study) -> bool:
    import optuna

    return bool(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def _finished(study) -> int:
    """Trials with an outcome: complete, or failed with a recorded message (not those a
    killed process left, or that stopped the search: they run again)."""
    import optuna

    state = optuna.trial.TrialState
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state == state.COMPLETE or (t.state == state.FAIL
                                                 and "failure" in t.user_attrs))


def _release_stale(study, log) -> None:
    """Trials left RUNNING by a killed process: FAIL, their values enqueued to run first."""
    import optuna

    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if _running_elsewhere(t.user_attrs):
            log(f"trial {t.number} is running in process {t.user_attrs['pid']}: left alone")
            continue
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(t.params, user_attrs={"retry_of": t.number})
        log(f"trial {t.number} was interrupted: its values run again first")


def _running_elsewhere(attrs: Mapping) -> bool:
    pid = attrs.get("pid")
    if attrs.get("host") != socket.gethostname() or not isinstance(pid, int) \
            or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _identity(config: ExperimentConfig) -> dict:
    """The cell's config as a flat mapping, without what never changes a trial's outcome."""
    data = to_dict(config)
    data["model"] = config.cells[0].model  # for_cell keeps the one cell; its overrides are in
    for key in ("data_dir", "seeds", "folds", "tune", "cells", "description"):
        data.pop(key, None)
    return flatten(data)


def _check_same_search(study, search: dict, direction: str, study_dir: Path) -> None:
    """A study holds one search: refuse to add trials made with another config."""
    stored = study.user_attrs.get("search")
    if stored is None:
        study.set_user_attr("search", json.loads(json.dumps(search)))
        return
    new = flatten(json.loads(json.dumps(search)))
    old = flatten(stored)
    differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if differ or study.direction.name.lower() != direction:
        shown = ", ".join(k.removeprefix("config.") for k in differ[:6]) or "direction"
        raise ConfigError(f"{study_dir} holds a search made with another config (differs at "
                          f"{shown}{' ...' if len(differ) > 6 else ''}); use another --study "
                          "or delete that folder")


# --------------------------------------------------------------------------------------------
# Outputs: trials.csv, best.yaml
# --------------------------------------------------------------------------------------------
def cell_set_arguments(cell_id: str, values: Mapping[str, Any]) -> list[str]:
    """The best values as ``ser-train --cell-set`` arguments (shell-quoted)."""
    return [f"--cell-set {shlex.quote(f'{glob.escape(cell_id)}:{k}={yaml_line(v)}')}"
            for k, v in values.items()]


class _Outputs:
    def __init__(self, study_dir, exp, cell_id, settings, metric, direction, folds, seed,
                 search_arguments, experiment_ref):
        self.study_dir = Path(study_dir)
        self.exp, self.cell_id, self.settings = exp, cell_id, settings
        self.metric, self.direction, self.folds, self.seed = metric, direction, folds, seed
        self.search_arguments = list(search_arguments)
        self.experiment_ref = experiment_ref

    def write(self, study) -> dict | None:
        """trials.csv, and best.yaml when a trial completed; the best as a dict."""
        self.write_trials(study)
        return self.write_best(study)

    def decoded(self, trial) -> dict:
        space = self.settings.space
        return {k: space[k].decode(v) if k in space else v for k, v in trial.params.items()}

    def write_trials(self, study) -> None:
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        retried = {t.user_attrs["retry_of"]: t.number for t in trials
                   if "retry_of" in t.user_attrs}
        keys = list(self.settings.space)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["number", "state", "value", *keys, "seconds", "note"])
        for t in trials:
            values = self.decoded(t)
            attrs = t.user_attrs
            note = attrs.get("failure") or attrs.get("stopped") or ""
            if t.number in retried:
                note = (f"{note}; " if note else "interrupted; ") + \
                    f"run again as trial {retried[t.number]}"
            elif "retry_of" in attrs:
                note = f"{note}; " if note else ""
                note += f"retry of trial {attrs['retry_of']}"
            writer.writerow([
                t.number, t.state.name, "" if t.value is None else repr(float(t.value)),
                *("" if k not in values else
                  (values[k] if _scalar(values[k]) else yaml_line(values[k])) for k in keys),
                "" if t.duration is None else f"{t.duration.total_seconds():.1f}", note])
        store.atomic_write_text(self.study_dir / "trials.csv", out.getvalue())

    def write_best(self, study) -> dict | None:
        if not _completed(study):
            return None
        best = study.best_trial
        values = {k: self.decoded(best)[k] for k in self.settings.space if k in best.params}
        metric = self.metric
        path = self.study_dir / "best.yaml"
        document = {
            "cells": {glob.escape(self.cell_id): values},
            "tuned": {"experiment": self.exp.name, "cell": self.cell_id,
                      "metric": metric, "direction": self.direction,
                      "value": float(best.value), "trial": best.number,
                      "finished_trials": _finished(study), "folds": self.folds,
                      "seed": self.seed, "searched_with": self.search_arguments}}
        header = (f"# ser-tune: trial {best.number} is the best of {_finished(study)} finished "
                  f"trial(s) of {self.exp.name}, cell {self.cell_id}: validation {metric} "
                  f"{best.value:.4f} (fold(s) {self.folds}, seed {self.seed})\n"
                  f"# ser-train --experiment {shlex.quote(self.experiment_ref)} --cells "
                  f"{shlex.quote(self.cell_id)} --config {shlex.quote(str(path))}\n")
        if self.search_arguments:
            header += (f"# the search ran with {' '.join(self.search_arguments)} (not in this "
                       "file: add them to reproduce a trial)\n")
        store.atomic_write_text(path, header + yaml.safe_dump(document, sort_keys=False,
                                                  default_flow_style=None))
        return {"trial": best.number, "value": float(best.value), "values": values,
                "metric": metric, "path": path}


__all__ = ["NEEDS_OPTUNA", "Param", "TuneConfig", "TuneResult", "cell_set_arguments",
           "cell_tune", "check_space", "default_study_dir", "parse_param", "parse_tune",
           "require_optuna", "trial_experiment", "tune", "validation_value"]
