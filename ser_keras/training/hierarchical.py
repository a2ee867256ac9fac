"""The ``hierarchical`` task: a two-level cascade of speech and text models per fold.

For any class set with a ``neutral`` class (``task_options.neutral``; the experiment that uses
it, with its paper's sections, is ``experiments/alqurashi2024``):

- stage ``level1`` (Model 1): neutral vs every other class merged (``rest``, "emotional"),
  trained on all training samples (class set ``<set>/neutral-vs-emotional``);
- stage ``emotions`` (Model 2): the other classes, trained and selected on the non-neutral
  samples only (``<set>/without-neutral``);
- stage ``text`` (Model 3): all classes, trained on all samples (a text input).
- At test, Model 2 classifies every sample that Model 1 called emotional (Model 1's errors
  included: a neutral sample it called emotional gets an emotion), and every sample Model 1
  called neutral is re-classified by Model 3 (``text: true``) or stays neutral (``text:
  false``: the speech-only baseline). With ``threshold: t`` (the confidence rule), a sample
  Model 1 called neutral stays neutral when Model 3's P(neutral) >= t, else takes Model 3's
  class (its argmax over all classes).

A training cell names its stages (each a registered model with its own inputs and overrides of
the cell's ``training``, ``models`` and ``input_options``)::

    task: hierarchical
    task_options:
      stages:
        level1:   {model: lstm-speech}
        emotions: {model: lstm-speech, overrides: {models.lstm-speech.units: 64}}
        text:     {model: lstm-text, inputs: {text: bert_tokens}}

and trains them on one fold of the cell's protocol, computed once on the cell's class set (so
the three models see the same split). Each stage keeps its files in ``stages/<stage>/``
(config.yaml, history.csv, best.weights.h5, best.json, folds.json, stage_predictions.csv, and
stage_metrics.json, written last: its own metrics on its own test samples) and the run folder
keeps ``stage_predictions.csv``: every stage's probabilities on every validation and test
sample. A finished stage of the same config is not retrained when an interrupted job is re-run.

A cell with ``task_options: {source: <training cell>, threshold: 0.3}`` (or ``text: false``)
trains nothing: it applies its rule to the source run's saved probabilities (same fold and
seed), so every threshold and the baseline come from ONE set of trained models. It records the
checksum of what it read; when the source is retrained, a re-run redoes it.

Every cell's metrics.json has a ``cascade`` block: how many test samples Model 1 called
neutral, how many of those were not neutral, and how many of those the final prediction
corrected (``corrected_share``); ``corrected.csv`` lists them with their transcript and both
models' predictions. The final scores are the probabilities of the model that decided each
sample (Model 2's over the emotions for a sample Model 1 called emotional, Model 3's for one it
re-classified, one-hot neutral for one kept neutral), so their argmax is the prediction.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import shutil
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ser_keras import store
from ser_keras.config import Cell, ExperimentConfig, dump_yaml, merge, to_dict
from ser_keras.data import get_class_set
from ser_keras.data.classes import one_vs_rest, without
from ser_keras.errors import ConfigError, ProtocolError
from ser_keras.training.runner import (JobContext, Outcome, check_same_config, evaluate,
                                       run_dir, yaml_dump)
from ser_keras.training.tasks import (FLOOR_BLOCKS, JobInputs, SupervisedTask, finished_run,
                                     selection_name, training_floor)

STAGES = ("level1", "emotions", "text")
STAGE_KEYS = ("model", "inputs", "overrides")
# what a stage may set on its own: the fold, classes and corpus are the cell's
STAGE_OVERRIDES = ("training", "models", "input_options")
OPTION_KEYS = ("neutral", "rest", "text", "threshold", "stages", "source")
STAGE_PREDICTIONS = "stage_predictions.csv"
CORRECTED = "corrected.csv"
CORRECTED_COLUMNS = ("utt_id", "text", "speech_prediction", "text_prediction", "prediction",
                     "label")


@dataclasses.dataclass(frozen=True)
class CascadeOptions:
    neutral: str = "neutral"          # the class Model 1 separates from the rest
    rest: str = "emotional"           # the name of the merged rest (Model 1's second class)
    text: bool = True                 # Model 3 re-classifies what Model 1 called neutral
    threshold: float | None = None    # keep neutral when P3(neutral) >= threshold
    source: str | None = None         # read this cell's trained stages instead of training
    stages: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def cascade_options(config: ExperimentConfig, where: str) -> CascadeOptions:
    options = dict(config.task_options)
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise ConfigError(f"{where}.task_options: unknown key(s) {unknown}; known: "
                          f"{', '.join(OPTION_KEYS)}")
    opts = CascadeOptions(**options)
    if not isinstance(opts.text, bool):
        raise ConfigError(f"{where}.task_options.text: true or false, got {opts.text!r}")
    if opts.threshold is not None:
        if isinstance(opts.threshold, bool) or not isinstance(opts.threshold, (int, float)) \
                or not 0 < opts.threshold <= 1:
            raise ConfigError(f"{where}.task_options.threshold: a probability in (0, 1], got "
                              f"{opts.threshold!r}")
        if not opts.text:
            raise ConfigError(f"{where}.task_options.threshold: applies to the text model's "
                              "P(neutral); it needs text: true")
    if (opts.source is None) == (not opts.stages):
        raise ConfigError(f"{where}.task_options: give stages (train the models) or source (a "
                          "cell whose trained stages to read), one of the two")
    if opts.stages:
        if not isinstance(opts.stages, Mapping):
            raise ConfigError(f"{where}.task_options.stages: a mapping of {', '.join(STAGES)}")
        wanted = set(STAGES) if opts.text else {"level1", "emotions"}
        got = set(opts.stages)
        if not wanted <= got or got - set(STAGES):
            raise ConfigError(f"{where}.task_options.stages: needs {sorted(wanted)} (text only "
                              f"with text: true... or for other cells to read); got "
                              f"{sorted(got)}")
        for stage, spec in opts.stages.items():
            at = f"{where}.task_options.stages.{stage}"
            if not isinstance(spec, Mapping) or not isinstance(spec.get("model"), str) or set(
                    spec) - set(STAGE_KEYS):
                raise ConfigError(f"{at}: {{model: NAME, inputs: {{...}}, overrides: {{...}}}}")
            for key in ("inputs", "overrides"):
                if not isinstance(spec.get(key) or {}, Mapping):
                    raise ConfigError(f"{at}.{key}: a mapping, got {spec[key]!r}")
            bad = sorted({k.split(".")[0] for k in spec.get("overrides") or {}}
                         - set(STAGE_OVERRIDES))
            if bad:
                raise ConfigError(f"{at}.overrides: {bad} are the cell's (one fold, one class "
                                  f"set for every stage); a stage sets {', '.join(STAGE_OVERRIDES)}")
    if not isinstance(opts.neutral, str) or not isinstance(opts.rest, str):
        raise ConfigError(f"{where}.task_options: neutral and rest are class names")
    return opts


class HierarchicalTask(SupervisedTask):
    name = "hierarchical"
    builds_model = False  # its stages do (their plans are CellPlan.stages)

    @classmethod
    def stage_of(cls, config: ExperimentConfig) -> int:
        return 1 if config.task_options.get("source") else 0

    @classmethod
    def models_of(cls, exp, cell) -> tuple[str, ...]:
        stages = exp.for_cell(cell).task_options.get("stages") or {}
        return tuple(s["model"] for s in stages.values()
                     if isinstance(s, Mapping) and s.get("model"))

    @classmethod
    def stale(cls, directory, data, plan, runs_root, fold, seed):
        """A rule cell is redone when its source's probabilities changed (it was retrained)."""
        source = plan.config.task_options.get("source")
        try:
            recorded = json.loads((directory / "folds.json").read_text()).get("source_sha256")
        except (OSError, ValueError):
            recorded = None
        if source is None:
            return None
        path = run_dir(runs_root, data.plans[source].config, source, fold, seed) / \
            STAGE_PREDICTIONS
        if not path.is_file():
            return None  # nothing to compare with; run() names the command when it is needed
        if recorded != store.file_sha256(path):
            return f"its source {source} was retrained since ({path})"
        return None

    @classmethod
    def check(cls, exp, config, cell, where):
        opts = cascade_options(config, where)
        if config.regression:
            raise ConfigError(f"{where}: the hierarchical task classifies (targets: [classes])")
        if config.test_dataset:
            raise ConfigError(f"{where}: the hierarchical task tests in-domain (no "
                              "test_dataset)")
        classes = get_class_set(config.class_set).classes
        if opts.neutral not in classes or len(classes) < 3:
            raise ConfigError(f"{where}.task_options.neutral: {opts.neutral!r} must be one of "
                              f"at least three classes of {config.class_set} {classes}")
        if opts.rest in classes:
            raise ConfigError(f"{where}.task_options.rest: {opts.rest!r} names the merged "
                              f"other classes; it must not be a class of {config.class_set}")
        if config.training.selection_metric == "loss":
            raise ConfigError(f"{where}.training.selection_metric: a cascade's scores are no "
                              "posterior, so its validation value needs a metric (e.g. "
                              "balanced_accuracy), not loss")
        if opts.source is not None:
            if opts.source not in [c.id for c in exp.cells] or opts.source == cell.id:
                raise ConfigError(f"{where}.task_options.source: {opts.source!r} is not "
                                  f"another cell of {exp.name}")
            other = exp.for_cell(opts.source)
            if other.task != cls.name or not other.task_options.get("stages"):
                raise ConfigError(f"{where}.task_options.source: {opts.source} is not a "
                                  "hierarchical cell that trains its stages")
            if opts.text and "text" not in other.task_options["stages"]:
                raise ConfigError(f"{where}.task_options.source: {opts.source} trains no text "
                                  "stage")
            for key in ("dataset", "class_set", "scenario", "protocol", "protocol_options",
                        "augmentation", "stand_ins"):
                if getattr(other, key) != getattr(config, key):
                    raise ConfigError(f"{where}: {key} differs from its source "
                                      f"{opts.source}'s ({getattr(config, key)!r} vs "
                                      f"{getattr(other, key)!r})")
            other_opts = cascade_options(other, f"{exp.name}.cells[{opts.source}]")
            if (other_opts.neutral, other_opts.rest) != (opts.neutral, opts.rest):
                raise ConfigError(f"{where}.task_options: neutral/rest differ from "
                                  f"{opts.source}'s")

    @classmethod
    def plan(cls, exp, config, cell):
        """The cell's plan, with one plan per stage: the stage's model and inputs on the
        stage's class set, the cell's config (less the task) under the stage's overrides."""
        from ser_keras.experiment import CellPlan, InputPlan, plan_cell

        opts = cascade_options(config, f"{exp.name}.cells[{cell.id}]")
        if opts.source is not None:
            return CellPlan(cell, config)
        try:
            class_sets = {"level1": one_vs_rest(config.class_set, opts.neutral, opts.rest),
                          "emotions": without(config.class_set, opts.neutral),
                          "text": config.class_set}
        except ValueError as err:
            raise ConfigError(f"{exp.name}.cells[{cell.id}].task_options: {err}") from None
        own = {k: v for k, v in cell.overrides.items()
               if k.split(".")[0] not in ("task", "task_options", "tune")}
        cells = []
        for stage, spec in opts.stages.items():
            overrides = merge(own, {"class_set": class_sets[stage]})
            overrides = merge(overrides, dict(spec.get("overrides") or {}))
            cells.append(Cell(id=f"{cell.id}.{stage}", model=spec["model"],
                              inputs=dict(spec.get("inputs") or {}), overrides=overrides,
                              labels=dict(cell.labels)))
        # the stages are supervised cells of the experiment (its top-level task left out, so
        # the other cells carry theirs explicitly)
        others = [dataclasses.replace(c, overrides={
            "task": exp.task, **c.overrides,
            "task_options": merge(exp.task_options, c.overrides.get("task_options") or {})})
            for c in exp.cells]
        sub = dataclasses.replace(exp, task="supervised", task_options={},
                                  cells=[*others, *cells])
        stages = {c.id.rsplit(".", 1)[1]: plan_cell(sub, c) for c in cells}
        inputs, seen = [], []
        for stage, plan in stages.items():  # every input once; a clashing name gets its stage
            for item in plan.inputs:
                key = (item.rank, item.source, item.options)
                if key in seen:
                    continue
                name = item.name if item.name not in {i.name for i in inputs} \
                    else f"{stage}.{item.name}"
                seen.append(key)
                inputs.append(InputPlan(name, item.rank, item.source, item.options))
        return CellPlan(cell, config, inputs=tuple(inputs), stages=stages)

    # --- run ------------------------------------------------------------------------------
    def run(self, ctx: JobContext) -> Outcome:
        config = ctx.config
        opts = cascade_options(config, ctx.cell.id)
        classes = list(get_class_set(config.class_set).classes)
        if opts.source is None:
            parts, info, params, floor = self.train_stages(ctx, opts, classes)
            source_dir = None
        else:
            source_config = ctx.data.plans[opts.source].config
            source_dir = finished_run(ctx, opts.source, ctx.seed,
                                      f"{ctx.cell.id} applies its rule to the trained stages "
                                      f"of {opts.source}")
            check_same_config(source_dir, source_config, None)
            parts = read_stage_predictions(source_dir / STAGE_PREDICTIONS, classes,
                                           opts.neutral, opts.rest)
            record = json.loads((source_dir / "metrics.json").read_text())
            floor = {k: record[k] for k in FLOOR_BLOCKS if k in record}  # the same fold
            info = {k: v for k, v in record["run"].items() if k in (
                "fold_name", "stages", "test_speaker", "validation_speaker")}
            params = record.get("params")
            store.atomic_write_json(ctx.directory / "folds.json", {
                "source": str(source_dir), "source_sha256": store.file_sha256(
                    source_dir / STAGE_PREDICTIONS), "test": parts["test"]["ids"]})
        neutral = classes.index(opts.neutral)
        outcome = {}
        for part in ("validation", "test"):
            p = parts[part]
            pred, scores, called = route(p["level1"], p["emotions"], p.get("text"), neutral,
                                         opts.text, opts.threshold)
            outcome[part] = (p["ids"], p["y"], scores, pred, called)
        ids, y, scores, pred, called = outcome["test"]
        block = cascade_counts(y, pred, called, neutral)
        block.update(source=opts.source, text=opts.text, threshold=opts.threshold,
                     neutral=opts.neutral)
        self.write_corrected(ctx, ids, y, pred, called, parts["test"], classes, neutral, opts)
        v_ids, v_y, v_scores, _, _ = outcome["validation"]
        selection = {}
        name = config.training.selection_metric
        if name != "loss":
            from ser_keras.evaluation import compute

            value = compute(name, v_y, v_scores)
            selection = {"metric": f"val_{selection_name(name)}",
                         "value": math.nan if value is None else float(value)}
        if source_dir is not None:
            selection["source"] = str(source_dir)
        return Outcome(ids, y, scores.astype(np.float32), selection, params, info,
                       (v_ids, v_y, v_scores.astype(np.float32)),
                       extra={"cascade": block, **floor})

    def train_stages(self, ctx: JobContext, opts: CascadeOptions, classes: list[str]):
        import keras

        keras.utils.set_random_seed(ctx.seed)
        inputs = self.build_inputs(ctx)  # one fold of the cell's class set for every stage
        neutral = classes.index(opts.neutral)
        emotional = [i for i in range(len(classes)) if i != neutral]
        to_stage = {
            "level1": lambda t: 0 if t == neutral else 1,
            "emotions": lambda t: None if t == neutral else emotional.index(t),
            "text": lambda t: t,
        }
        everything = {"validation": inputs.ids["validation"], "test": inputs.ids["test"]}
        probs: dict[str, dict[str, np.ndarray]] = {}
        params = 0
        for stage, plan in ctx.plan.stages.items():
            directory = ctx.directory / "stages" / stage
            directory.mkdir(parents=True, exist_ok=True)
            stage_classes = list(get_class_set(plan.config.class_set).classes)
            done = directory / STAGE_PREDICTIONS
            model_config = to_dict(plan.model_config)
            check_same_config(directory, plan.config, model_config)  # before reusing anything
            store.atomic_write_text(directory / "config.yaml", dump_yaml(plan.config) + "\n"
                                    + yaml_dump({"model_config": model_config}))
            if done.is_file() and (directory / "stage_metrics.json").is_file():
                ctx.log(f"{ctx.cell.id} stage {stage}: trained already ({directory})")
                probs[stage] = _read_stage_file(done, stage_classes, everything)
                params += json.loads((directory / "stage_metrics.json").read_text())["params"]
                continue
            targets = {u: to_stage[stage](t) for u, t in inputs.targets.items()}
            targets = {u: t for u, t in targets.items() if t is not None}
            ids = {part: [u for u in inputs.ids[part] if u in targets] for part in inputs.ids}
            feeds = ctx.data.feeds(plan, ctx.config.dataset)
            stage_inputs = JobInputs(ids, targets, {part: feeds for part in ids},
                                     inputs.fold_record)
            store.atomic_write_json(directory / "folds.json", {
                "class_set": plan.config.class_set, "classes": stage_classes,
                "model": plan.cell.model, **ids})
            stage_ctx = dataclasses.replace(ctx, plan=plan, directory=directory)
            keras.utils.set_random_seed(ctx.seed)
            out = self.fit_select_predict(stage_ctx, stage_inputs, directory, everything)
            rows = []
            for part, (order, scores) in out.predictions.items():
                rows += [(u, part, s) for u, s in zip(order, scores)]
            _write_stage_file(done, stage_classes, rows)
            # written last: its presence means the stage is done
            store.atomic_write_json(directory / "stage_metrics.json", {
                "model": plan.cell.model, "class_set": plan.config.class_set,
                "selection": out.selection, "params": out.params,
                **evaluate(out.y_true, out.scores, False, stage_classes)})
            params += out.params or 0
            shutil.rmtree(directory / "backup", ignore_errors=True)
            probs[stage] = _read_stage_file(done, stage_classes, everything)
            ctx.log(f"{ctx.cell.id} stage {stage} ({plan.cell.model}): test "
                    f"{_headline(directory / 'stage_metrics.json')}")
        parts = {}
        for part, ids in everything.items():
            parts[part] = {"ids": list(ids),
                           "y": np.array([inputs.targets[u] for u in ids]),
                           **{stage: probs[stage][part] for stage in probs}}
        write_stage_predictions(ctx.directory / STAGE_PREDICTIONS, parts, classes,
                                {s: list(get_class_set(p.config.class_set).classes)
                                 for s, p in ctx.plan.stages.items()})
        info = {**inputs.fold_record,
                "stages": {s: p.cell.model for s, p in ctx.plan.stages.items()}}
        floor = training_floor(ctx.config, [inputs.targets[u] for u in inputs.ids["train"]],
                               parts["test"]["y"])
        return parts, info, params, floor

    def write_corrected(self, ctx, ids, y, pred, called, part, classes, neutral, opts):
        """The test samples Model 1 called neutral that were not neutral and that the final
        prediction got right, with their transcripts."""
        text_of = {r["utt_id"]: (r.get("text") or "") for r in ctx.data.rows(ctx.config.dataset)}
        text_probs = part.get("text")
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(CORRECTED_COLUMNS)
        for i, u in enumerate(ids):
            if called[i] and y[i] != neutral and pred[i] == y[i]:
                text_pred = (classes[int(np.argmax(text_probs[i]))]
                             if text_probs is not None else "")
                w.writerow([u, text_of.get(u, ""), opts.neutral, text_pred, classes[pred[i]],
                            classes[y[i]]])
        store.atomic_write_text(ctx.directory / CORRECTED, out.getvalue())


# --------------------------------------------------------------------------------------------
# The rule (pure NumPy: tested on fabricated probabilities)
# --------------------------------------------------------------------------------------------
def route(level1: np.ndarray, emotions: np.ndarray, text: np.ndarray | None, neutral: int,
          use_text: bool = True, threshold: float | None = None):
    """The cascade's predictions from the three models' probabilities.

    ``level1`` (n, 2): P(neutral), P(rest); ``emotions`` (n, K-1): over the classes other than
    ``neutral`` in order; ``text`` (n, K): over all classes. Returns (predictions (n,) class
    indices, scores (n, K) whose argmax is the prediction, called_neutral (n,) bool).
    """
    level1, emotions = np.asarray(level1, np.float64), np.asarray(emotions, np.float64)
    n, k = len(level1), emotions.shape[1] + 1
    emotional = [i for i in range(k) if i != neutral]
    called = np.argmax(level1, axis=1) == 0            # ties: neutral (argmax takes the first)
    scores = np.zeros((n, k))
    scores[:, emotional] = emotions                    # Model 2 for every sample called emotional
    keep = called.copy()
    if use_text:
        if text is None:
            raise ValueError("route: use_text needs the text model's probabilities")
        text = np.asarray(text, np.float64)
        keep = called & (text[:, neutral] >= threshold) if threshold is not None else \
            np.zeros(n, bool)
        retext = called & ~keep                        # Model 3's class (neutral possible)
        scores[retext] = text[retext]
    scores[keep] = 0.0
    scores[keep, neutral] = 1.0                        # kept neutral
    return np.argmax(scores, axis=1), scores, called


def cascade_counts(y, pred, called, neutral: int) -> dict:
    y, pred, called = np.asarray(y), np.asarray(pred), np.asarray(called, bool)
    emotional_called_neutral = called & (y != neutral)
    corrected = emotional_called_neutral & (pred == y)
    n_wrong = int(emotional_called_neutral.sum())
    return {"n_test": int(len(y)), "called_neutral": int(called.sum()),
            "emotional_called_neutral": n_wrong, "corrected": int(corrected.sum()),
            "corrected_share": float(corrected.sum() / n_wrong) if n_wrong else None,
            "kept_neutral": int((called & (pred == neutral)).sum())}


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def _write_stage_file(path: Path, classes, rows) -> None:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["utt_id", "part", *classes])
    for u, part, s in rows:
        w.writerow([u, part, *(f"{v:.8g}" for v in s)])
    store.atomic_write_text(path, out.getvalue())


def _read_stage_file(path: Path, classes, wanted: Mapping[str, list[str]]):
    got: dict[str, dict[str, list[float]]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            got.setdefault(row["part"], {})[row["utt_id"]] = [float(row[c]) for c in classes]
    out = {}
    for part, ids in wanted.items():
        missing = [u for u in ids if u not in got.get(part, {})]
        if missing:
            raise ProtocolError(f"{path}: no {part} prediction of {missing[0]} (and "
                                f"{len(missing) - 1} more); re-run with --force")
        out[part] = np.array([got[part][u] for u in ids])
    return out


def write_stage_predictions(path: Path, parts, classes, stage_classes) -> None:
    """Every stage's probabilities on every validation and test sample, one row each."""
    columns = [f"{s}:{c}" for s, cs in stage_classes.items() for c in cs]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["utt_id", "part", "label", *columns])
    for part, p in parts.items():
        for i, u in enumerate(p["ids"]):
            values = [v for s in stage_classes for v in p[s][i]]
            w.writerow([u, part, classes[p["y"][i]], *(f"{v:.8g}" for v in values)])
    store.atomic_write_text(path, out.getvalue())


def read_stage_predictions(path: Path, classes, neutral: str, rest: str) -> dict:
    """``write_stage_predictions``' file back: part -> ids, truths, per-stage probabilities."""
    emotional = [c for c in classes if c != neutral]
    stage_classes = {"level1": [neutral, rest], "emotions": emotional, "text": classes}
    parts: dict[str, dict] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        present = [s for s, cs in stage_classes.items()
                   if all(f"{s}:{c}" in reader.fieldnames for c in cs)]
        for row in reader:
            p = parts.setdefault(row["part"], {"ids": [], "y": [], **{s: [] for s in present}})
            p["ids"].append(row["utt_id"])
            p["y"].append(classes.index(row["label"]))
            for s in present:
                p[s].append([float(row[f"{s}:{c}"]) for c in stage_classes[s]])
    for p in parts.values():
        for key in list(p):
            if key != "ids":
                p[key] = np.array(p[key])
    return parts


def _headline(path: Path) -> str:
    m = json.loads(path.read_text())["metrics"]
    return f"acc {m['accuracy']:.3f}, bal. acc {m['balanced_accuracy']:.3f}"


__all__ = ["CascadeOptions", "HierarchicalTask", "cascade_counts", "read_stage_predictions",
           "route", "write_stage_predictions"]
