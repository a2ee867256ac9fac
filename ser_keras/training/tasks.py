"""The task interface (in the manner of tensorflow/models' ``Task``): what one job does.

    class MyTask(Task):
        name = "my-task"
        def run(self, ctx: JobContext) -> Outcome: ...
    TASKS.add("my-task", MyTask)

A task gets a ``JobContext`` (the experiment, the cell's plan, fold, seed, run folder, data
cache, strategy) and returns an ``Outcome`` (test ids, truths, scores); the runner evaluates
it with the metric registry and writes metrics.json, so no task repeats that. Registered:

- ``supervised`` (default): build inputs -> build model -> compile (optimizer, schedule and
  loss from ``training``) -> fit with epoch selection on a validation metric and early
  stopping -> predict the test fold with the selected epoch. Its steps are methods
  (``build_inputs``, ``build_model``, ``compile``, ``fit_select_predict``) that a multi-stage
  task (several models trained on different subsets, combined at test) calls per stage.
- ``evaluate``: no training; the selected model of another cell's finished run (same fold and
  seed) tested on this cell's ``test_dataset`` (``task_options: {source: <cell id>}``).
- ``late-fusion``: no training; averages the test probabilities (or, for continuous targets,
  the predicted values) of finished runs of other cells of the same experiment, fold and
  seed (``task_options: {sources: [cell ids], weights: [w, ...], seeds: {cell: seed}}``;
  ``seeds`` pins a source run with one seed only); its validation predictions are the
  average of the sources', so its selection metric is defined like a trained model's.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from ser_keras import store
from ser_keras.config import Cell, ExperimentConfig
from ser_keras.data import get_class_set
from ser_keras.data import input as data_input
from ser_keras.data import augmented, pooled
from ser_keras.errors import ConfigError, ProtocolError
from ser_keras.registry import Registry
from ser_keras.training.runner import (VALIDATION_PREDICTIONS, JobContext, Outcome,
                                       read_predictions, run_dir)


class Task:
    """Base of the tasks. Subclasses set ``name`` and implement ``run``."""

    name: ClassVar[str] = ""
    builds_model: ClassVar[bool] = True
    # jobs of a later stage read the finished runs of earlier ones: ser-train runs them after
    stage: ClassVar[int] = 0

    @classmethod
    def stage_of(cls, config: ExperimentConfig) -> int:
        """The stage of one cell's jobs (a task may read finished runs only for some cells)."""
        return cls.stage

    @classmethod
    def plan(cls, exp: ExperimentConfig, config: ExperimentConfig, cell: Cell):
        """The plan of a cell of a task that builds no model itself (``builds_model`` false)."""
        from ser_keras.experiment import CellPlan

        return CellPlan(cell, config)

    @classmethod
    def stale(cls, directory: Path, data, plan, runs_root: Path, fold: int, seed: int
              ) -> str | None:
        """Why a finished run must be redone although its config is the same (the runs it
        was computed from have changed since), or None: it is current."""
        return None

    @classmethod
    def models_of(cls, exp: ExperimentConfig, cell: Cell) -> tuple[str, ...]:
        """The registered models a cell of this task trains besides ``cell.model``."""
        return ()

    @classmethod
    def check(cls, exp: ExperimentConfig, config: ExperimentConfig, cell: Cell,
              where: str) -> None:
        """Validate the cell's ``task_options`` before any data is read."""
        if config.task_options:
            raise ConfigError(f"{where}.task_options: task {cls.name} takes none, got "
                              f"{sorted(config.task_options)}")

    def run(self, ctx: JobContext) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# Supervised: today's job, one model trained on the training fold
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class JobInputs:
    """The utterances of each part of a fold, their targets and feeds."""

    ids: dict[str, list[str]]                 # train / validation / test -> wanted utt_ids
    targets: dict[str, Any]                   # utt_id -> class index or list of values
    feeds: dict[str, list]                    # part -> InputFeed list
    fold_record: dict                         # what folds.json holds besides the ids


class SupervisedTask(Task):
    name = "supervised"

    def run(self, ctx: JobContext) -> Outcome:
        import keras

        # Seed before anything random is built (tf.data shuffles and crops take their seeds
        # from the global seed too): a job's numbers never depend on the jobs that ran
        # before it in the same process (`--folds 3` alone == fold 3 of a full run).
        keras.utils.set_random_seed(ctx.seed)
        inputs = self.build_inputs(ctx)
        return self.fit_select_predict(ctx, inputs, ctx.directory)

    # --- inputs ---------------------------------------------------------------------------
    def build_inputs(self, ctx: JobContext) -> JobInputs:
        config, data = ctx.config, ctx.data
        rows, left_out, folds = data.selection(config)
        if not 0 <= ctx.fold_index < len(folds):
            raise ProtocolError(f"fold {ctx.fold_index} out of range: {config.protocol} has "
                                f"{len(folds)}")
        fold = folds[ctx.fold_index]
        wanted = {"train": list(fold.train), "validation": list(fold.validation),
                  "test": list(fold.test)}
        feeds = data.feeds(ctx.plan, config.dataset)
        feeds_of = {part: feeds for part in wanted}
        if config.test_dataset:
            # Cross-corpus: train and select on this corpus's fold, test on the whole other
            # corpus through the shared class set.
            if set(pooled.parts(config.dataset)) & set(pooled.parts(config.test_dataset)):
                raise ProtocolError(f"{config.test_dataset} is (part of) the training dataset "
                                    f"{config.dataset}: a cross-corpus test needs another "
                                    "corpus")
            test_rows, _ = data.rows_for(config, config.test_dataset)
            # augmented copies are never tested on: the whole other corpus, originals only
            test_rows = augmented.split_copies(test_rows)[0]
            if config.test_split is not None:
                test_rows = [r for r in test_rows if r.get("split") == config.test_split]
                if not test_rows:
                    raise ProtocolError(f"{config.test_dataset}: no usable utterance in split "
                                        f"{config.test_split!r} (test_split) for class set "
                                        f"{config.class_set}")
            feeds_of["test"] = data.feeds(ctx.plan, config.test_dataset)
            if (data_input.input_spec(feeds_of["test"], 2)
                    != data_input.input_spec(feeds, 2)):
                raise ProtocolError(f"{config.test_dataset}'s feature sets differ from "
                                    f"{config.dataset}'s: prepare both with the same "
                                    "--features")
            shared = {r["utt_id"] for r in rows} & {r["utt_id"] for r in test_rows}
            if shared:
                raise ProtocolError(f"{config.dataset} and {config.test_dataset} share "
                                    f"{len(shared)} utt_id(s), e.g. {sorted(shared)[0]}: "
                                    "cross-corpus tests need distinct ids")
            rows = rows + test_rows
            wanted["test"] = [r["utt_id"] for r in test_rows]
        class_set = get_class_set(config.class_set)
        by_id = {r["utt_id"]: r for r in rows}
        for column in config.strata:  # before training: a typo must not cost a whole job
            if not any(by_id.get(u, {}).get(column) for u in wanted["test"]):
                raise ProtocolError(f"strata: no test utterance of "
                                    f"{config.test_dataset or config.dataset} has a value in "
                                    f"the manifest column {column!r}")
        if config.regression:
            targets, lacking = data_input.continuous_targets(
                rows, config.targets, str(store.manifest_path(data.data_dir, config.dataset)))
        else:
            targets, lacking = data_input.label_indices(rows, class_set), {}
        parts, missing = {}, dict(lacking)
        for part, ids_wanted in wanted.items():
            texts = [f.texts for f in feeds_of[part] if f.rank == "tokens"]
            for u in ids_wanted:
                if any(u not in t for t in texts):
                    missing[u] = "no transcript"
            ids, without = data_input.available_ids(
                data_input.distinct_sets(feeds_of[part]),
                [u for u in ids_wanted if u in targets and all(u in t for t in texts)])
            parts[part] = ids
            missing.update(without)
            if not ids:
                raise ProtocolError(f"fold {fold.name}: no {part} utterance has features")
        by_id = {r["utt_id"]: r for r in rows}
        record = {
            "protocol": config.protocol, "fold": fold.index, "name": fold.name,
            "info": fold.info, "scenario": config.scenario, "class_set": config.class_set,
            "classes": list(class_set.classes), "targets": list(config.targets),
            "left_out_by_reason": left_out, "without_features_or_targets": missing,
            "counts": {p: data_input.class_counts([by_id[u] for u in ids], class_set)
                       for p, ids in parts.items()}}
        store.atomic_write_json(ctx.directory / "folds.json", {**record, **parts})
        return JobInputs(parts, targets, feeds_of, {"fold_name": fold.name, **fold.info})

    # --- model and recipe -----------------------------------------------------------------
    def build_model(self, ctx: JobContext, feeds: Sequence) -> Any:
        import keras

        from ser_keras import models

        config = ctx.config
        spec = (data_input.input_spec(feeds, num_values=len(config.targets))
                if config.regression else
                data_input.input_spec(feeds, get_class_set(config.class_set).num_classes))
        keras.utils.set_random_seed(ctx.seed)
        policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(config.training.precision)
        try:
            with ctx.strategy.scope():
                return models.build_model(ctx.plan.entry.name, spec, ctx.plan.model_config)
        finally:  # the policy applies to the layers built above; leave the process as it was
            keras.mixed_precision.set_global_policy(policy)

    def compile(self, ctx: JobContext, model, steps_per_epoch: int):
        from ser_keras.training.losses import build_loss
        from ser_keras.training.recipe import build_optimizer

        training = ctx.config.training
        loss = build_loss(training.loss, ctx.config.regression)
        with ctx.strategy.scope():
            model.compile(optimizer=build_optimizer(training, steps_per_epoch), loss=loss,
                          # XLA recompiles for every padded length and fails with 2 replicas
                          # (STACK.md): per-batch padding is the method, so no XLA.
                          jit_compile=False)
        return loss

    # --- fit, select, predict -------------------------------------------------------------
    def fit_select_predict(self, ctx: JobContext, inputs: JobInputs, directory: Path,
                           predict_ids: dict[str, list[str]] | None = None) -> Outcome:
        """Train on ``inputs``' training part, select the epoch on its validation part, and
        predict its test part with the selected model; ``predict_ids`` (part -> utt_ids, fed
        by that part's feeds, targets not needed) are predicted too, into
        ``Outcome.predictions`` (a multi-stage task's model predicting beyond its own
        classes)."""
        from ser_keras.training.callbacks import EpochBackup, EpochSelector
        from ser_keras.training.losses import class_weights

        config, seed = ctx.config, ctx.seed
        training = config.training
        replicas = ctx.strategy.num_replicas_in_sync
        weights = None
        if not config.regression:
            counts = collections.Counter(inputs.targets[u] for u in inputs.ids["train"])
            k = get_class_set(config.class_set).num_classes
            weights = class_weights(training.loss, [counts.get(i, 0) for i in range(k)])

        def dataset(part, shuffle):
            return data_input.make_dataset(
                inputs.feeds[part], {u: inputs.targets[u] for u in inputs.ids[part]},
                batch_size=training.batch_size, shuffle=shuffle, seed=seed,
                sample_weights=weights if shuffle else None,
                # A last batch smaller than the replica count breaks GRU (STACK.md); the
                # shuffled remainder changes every epoch, so no training sample is lost for
                # good.
                drop_remainder=shuffle and replicas > 1)

        train_ds, train_ids = dataset("train", True)
        val_ds, val_ids = dataset("validation", False)
        test_ds, test_ids = dataset("test", False)
        steps = (len(train_ids) // (training.batch_size) if replicas > 1
                 else math.ceil(len(train_ids) / training.batch_size))
        model = self.build_model(ctx, inputs.feeds["train"])
        if config.regression:
            start_at_the_mean(model, [inputs.targets[u] for u in train_ids])
        loss_fn = self.compile(ctx, model, max(steps, 1))
        predict = make_predict(model)
        selector = EpochSelector(
            directory, predict, val_ds,
            validator(config, np.array([inputs.targets[u] for u in val_ids]), loss_fn),
            f"val_{selection_name(training.selection_metric)}",
            greater_is_better(training.selection_metric), training.patience,
            log=ctx.log, label=f"{ctx.cell.id} fold {ctx.fold_index} seed {seed}",
            epochs=training.epochs)
        backup = EpochBackup(directory / "backup")
        callbacks = [selector, backup]
        board = tensorboard_callback(ctx, directory)
        if board is not None:
            callbacks.insert(1, board)  # after the selector: it sees the validation logs
        # Keras' progress bar on a terminal only, never in a CI or cluster log (the selector's
        # epoch lines are the progress there); before the selector, so that its bar is done
        # when the selector's line is printed
        terminal = sys.stdout.isatty()
        if terminal:
            import keras

            callbacks.insert(0, keras.callbacks.ProgbarLogger())
        model.fit(train_ds, epochs=training.epochs, callbacks=callbacks,
                  verbose=1 if terminal else 0,
                  shuffle=False)  # shuffled by tf.data, reshuffled every epoch

        model.load_weights(directory / "best.weights.h5")
        scores = predict(test_ds)
        if not np.all(np.isfinite(scores)):
            raise ConfigError(f"{ctx.cell.id} fold {ctx.fold_index} seed {seed}: training "
                              "diverged (non-finite predictions from the first epoch on); "
                              "lower training.learning_rate or clip gradients "
                              "(training.optimizer.options.clipnorm)")
        validation = (val_ids, np.array([inputs.targets[u] for u in val_ids]), predict(val_ds))
        predictions = {}
        for part, ids in (predict_ids or {}).items():
            ds, order = data_input.make_dataset(
                inputs.feeds[part], {u: inputs.targets.get(u, 0) for u in ids},
                batch_size=training.batch_size)
            predictions[part] = (order, predict(ds))
        if training.save_model:
            model.save(directory / "model.keras")
        best = json.loads((directory / "best.json").read_text())
        params = int(model.count_params())
        import keras

        keras.backend.clear_session()
        y_test = np.array([inputs.targets[u] for u in test_ids])
        floor = training_floor(config, [inputs.targets[u] for u in train_ids], y_test)
        return Outcome(test_ids, y_test, scores, best, params, inputs.fold_record, validation,
                       predictions, floor)


def tensorboard_callback(ctx: JobContext, directory: Path):
    """keras.callbacks.TensorBoard writing into the job's TensorBoard folder (a stage of a
    multi-stage task, trained in ``<run folder>/stages/<stage>``, into the same subfolder of
    it), or None when the job writes no TensorBoard logs."""
    if ctx.tensorboard is None:
        return None
    import keras

    logdir = Path(ctx.tensorboard)
    try:
        logdir = logdir / Path(directory).relative_to(ctx.run_folder or ctx.directory)
    except ValueError:
        pass
    return keras.callbacks.TensorBoard(log_dir=str(logdir), write_graph=False)


FLOOR_BLOCKS = ("train_majority", "train_mean")   # metrics.json blocks of training_floor


def training_floor(config, train_targets, y_test) -> dict:
    """The metrics.json block of the trivial predictor on the test part, the floor a model
    must beat: ``train_mean`` (regression: every target predicted as its training mean;
    ``train_mean.mae``) or ``train_majority`` (classification: always the training part's
    most frequent class; ``train_majority.accuracy``)."""
    from ser_keras.evaluation import compute

    if config.regression:
        mean = np.asarray(train_targets, dtype=float).mean(axis=0)
        guess = np.broadcast_to(mean, np.shape(y_test))
        return {"train_mean": {
            "mae": compute("mae", y_test, guess), "mse": compute("mse", y_test, guess),
            "per_target_mae": {t: float(np.mean(np.abs(y_test[:, j] - mean[j])))
                               for j, t in enumerate(config.targets)},
            "mean": {t: float(mean[j]) for j, t in enumerate(config.targets)}}}
    classes = get_class_set(config.class_set).classes
    counts = collections.Counter(train_targets)
    majority = max(sorted(counts), key=lambda c: counts[c])  # ties: the first class
    return {"train_majority": {
        "class": classes[majority],
        "accuracy": float(np.mean(np.asarray(y_test) == majority)) if len(y_test) else None,
        "train_share": counts[majority] / max(sum(counts.values()), 1)}}


def finished_run(ctx: JobContext, source: str, seed: int, what: str) -> Path:
    """The run folder of cell ``source`` (this job's fold, ``seed``), finished; else a
    ProtocolError ``"<what> (fold F, seed S) ... : <the command that runs it>"``."""
    directory = run_dir(ctx.runs_root, ctx.data.plans[source].config, source, ctx.fold_index,
                        seed)
    if not (directory / "metrics.json").is_file():
        raise ProtocolError(
            f"{what} (fold {ctx.fold_index}, seed {seed}), not finished in {directory}: "
            f"ser-train --experiment {ctx.exp.name} --cells {source} --folds "
            f"{ctx.fold_index} --seeds {seed}")
    return directory


def start_at_the_mean(model, targets) -> None:
    """Start a regression head at the training fold's mean target (its bias; the papers give
    no initialisation): a zero-mean head facing ratings of 1-7 makes the first MSE steps huge,
    and with SGD + Nesterov momentum at lr 0.01 (triantafyllopoulos2022) they diverge to NaN."""
    head = next((layer for layer in model.layers if layer.name == "predictions"), None)
    if head is None or getattr(head, "bias", None) is None:
        return
    mean = np.asarray(targets, dtype=np.float32).mean(axis=0)
    if tuple(head.bias.shape) == mean.shape:
        head.bias.assign(mean)


def selection_name(name: str) -> str:
    if name == "loss":
        return "loss"
    from ser_keras.evaluation import get_metric

    return get_metric(name).name


def greater_is_better(name: str) -> bool:
    if name == "loss":
        return False
    from ser_keras.evaluation import get_metric

    return get_metric(name).greater_is_better


def validator(config: ExperimentConfig, y_true: np.ndarray, loss_fn):
    """Validation logs of an epoch: the loss, the selection metric and the headline metrics."""
    from ser_keras.evaluation import compute

    names = ["ccc", "mse"] if config.regression else ["accuracy", "balanced_accuracy"]
    if config.training.selection_metric != "loss":
        names.append(selection_name(config.training.selection_metric))

    def validate(scores: np.ndarray) -> dict[str, float]:
        if not np.all(np.isfinite(scores)):  # a diverged epoch is never the best one
            return {f"val_{n}": math.nan for n in ("loss", *dict.fromkeys(names))}
        logs = {"val_loss": float(np.mean(np.asarray(loss_fn(y_true, scores))))}
        for name in dict.fromkeys(names):
            value = compute(name, y_true, scores)
            logs[f"val_{name}"] = math.nan if value is None else float(value)
        return logs

    return validate


def make_predict(model):
    """A non-distributed predict function over a batched dataset: outputs in order."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(inputs):
        return model(inputs, training=False)

    def predict(dataset) -> np.ndarray:
        return np.concatenate([np.asarray(step(element[0]), dtype=np.float32)
                               for element in dataset])

    return predict


# --------------------------------------------------------------------------------------------
# Evaluate: a finished run's model tested on another corpus
# --------------------------------------------------------------------------------------------
class EvaluateTask(SupervisedTask):
    """The selected model of another cell's finished run (same fold and seed) tested on this
    cell's ``test_dataset``, without training: the cross-corpus results of triantafyllopoulos2022
    Sec. 4.2 ("evaluating models trained with one dataset on the other") come from the very
    models of the in-domain cells (``task_options: {source: <cell id>}``)."""

    name = "evaluate"
    stage = 1

    @classmethod
    def check(cls, exp, config, cell, where):
        options = dict(config.task_options)
        source = options.pop("source", None)
        if options:
            raise ConfigError(f"{where}.task_options: unknown key(s) {sorted(options)}; known: "
                              "source")
        ids = [c.id for c in exp.cells]
        if source not in ids or source == cell.id:
            raise ConfigError(f"{where}.task_options.source: {source!r} is not another cell "
                              f"of {exp.name}")
        other = exp.for_cell(source)
        if other.task != "supervised":
            raise ConfigError(f"{where}.task_options.source: {source} is a {other.task} cell; "
                              "evaluate reads a trained model")
        if not config.test_dataset:
            raise ConfigError(f"{where}: task evaluate tests on another corpus: set "
                              "test_dataset")
        for key in ("dataset", "class_set", "scenario", "protocol", "targets", "inputs",
                    "input_options", "models", "augmentation"):
            if getattr(other, key) != getattr(config, key):
                raise ConfigError(f"{where}: {key} differs from its source {source}'s "
                                  f"({getattr(config, key)!r} vs {getattr(other, key)!r})")
        if exp.cell(source).model != cell.model:
            raise ConfigError(f"{where}: model {cell.model} differs from its source {source}'s "
                              f"({exp.cell(source).model})")

    def run(self, ctx: JobContext) -> Outcome:
        import keras

        source = ctx.config.task_options["source"]
        directory = finished_run(ctx, source, ctx.seed,
                                 f"{ctx.cell.id} tests the model of {source}")
        keras.utils.set_random_seed(ctx.seed)
        inputs = self.build_inputs(ctx)
        config = ctx.config
        test_ds, test_ids = data_input.make_dataset(
            inputs.feeds["test"], {u: inputs.targets[u] for u in inputs.ids["test"]},
            batch_size=config.training.batch_size)
        model = self.build_model(ctx, inputs.feeds["train"])
        model.load_weights(directory / "best.weights.h5")
        scores = make_predict(model)(test_ds)
        params = int(model.count_params())
        keras.backend.clear_session()
        best = json.loads((directory / "best.json").read_text())
        validation = None
        columns = (list(config.targets) if config.regression
                   else get_class_set(config.class_set).classes)
        if (directory / VALIDATION_PREDICTIONS).is_file():
            validation = read_predictions(directory / VALIDATION_PREDICTIONS, columns,
                                          config.regression)
        y_test = np.array([inputs.targets[u] for u in test_ids])
        floor = training_floor(config, [inputs.targets[u] for u in inputs.ids["train"]], y_test)
        return Outcome(test_ids, y_test, scores, {**best, "source": str(directory)}, params,
                       inputs.fold_record, validation, extra=floor)


# --------------------------------------------------------------------------------------------
# Late fusion: the average of finished runs' predictions
# --------------------------------------------------------------------------------------------
class LateFusionTask(Task):
    name = "late-fusion"
    builds_model = False
    stage = 2

    @classmethod
    def check(cls, exp, config, cell, where):
        options = dict(config.task_options)
        sources = options.pop("sources", None)
        weights = options.pop("weights", None)
        seeds = options.pop("seeds", None) or {}
        if options:
            raise ConfigError(f"{where}.task_options: unknown key(s) {sorted(options)}; known: "
                              "sources, weights, seeds")
        if not isinstance(seeds, dict) or any(
                s not in (sources or []) or isinstance(v, bool)
                or not (isinstance(v, int) or v == "best") for s, v in seeds.items()):
            raise ConfigError(f"{where}.task_options.seeds: {{source cell: seed or best}}: a "
                              "source run with one seed only (a single fine-tuned BERT run), "
                              "or 'best': the source's seed best on validation over its folds")
        if not isinstance(sources, list) or len(sources) < 2:
            raise ConfigError(f"{where}.task_options.sources: a list of at least two cell ids")
        ids = [c.id for c in exp.cells]
        for source in sources:
            if source not in ids or source == cell.id:
                raise ConfigError(f"{where}.task_options.sources: {source!r} is not another "
                                  f"cell of {exp.name} ({', '.join(ids)})")
            if exp.cell(source).overrides.get("task", "supervised") == cls.name:
                raise ConfigError(f"{where}.task_options.sources: {source} is a late fusion")
        if weights is not None and (not isinstance(weights, list) or len(weights) != len(
                sources) or any(not isinstance(w, (int, float)) or w < 0 for w in weights)):
            raise ConfigError(f"{where}.task_options.weights: one weight >= 0 per source")
        if weights is not None and sum(weights) <= 0:
            raise ConfigError(f"{where}.task_options.weights: must not all be 0")
        for source in sources:
            other = exp.for_cell(source)
            if other.class_set != config.class_set or other.dataset != config.dataset:
                raise ConfigError(f"{where}.task_options.sources: {source} is on "
                                  f"{other.dataset}/{other.class_set}, this cell on "
                                  f"{config.dataset}/{config.class_set}")
            if other.targets != config.targets:
                raise ConfigError(f"{where}.task_options.sources: {source} predicts "
                                  f"{other.targets}, this cell {config.targets}")

    @staticmethod
    def best_seed(ctx: JobContext, source: str) -> int:
        """The seed of ``source`` whose mean validation selection value over its finished
        folds is the best, among the seeds with the most finished folds (as ``ser-report``'s
        ``select: best`` chooses): the model a "best run" table shows, so the fusion averages
        the runs shown beside it (Tables 3, 6). Every seed must have finished this fold."""
        config = ctx.data.plans[source].config
        runs, metric = {}, "loss"
        for seed in config.seeds:
            runs[seed] = []
            for fold in range(ctx.data.fold_count(config)):
                path = run_dir(ctx.runs_root, config, source, fold, seed) / "best.json"
                if path.is_file() and (path.parent / "metrics.json").is_file():
                    best = json.loads(path.read_text())
                    metric = best.get("metric", metric)
                    runs[seed].append((fold, best.get("value", math.nan)))
            if ctx.fold_index not in {f for f, _ in runs[seed]}:
                raise ProtocolError(
                    f"late fusion {ctx.cell.id} fuses the best seed of {source}: its run fold "
                    f"{ctx.fold_index} seed {seed} is not finished: ser-train --experiment "
                    f"{ctx.exp.name} --cells {source} --folds {ctx.fold_index} --seeds {seed}")
        most = max(len(v) for v in runs.values())
        values = {seed: float(np.nanmean([v for _, v in per_fold]))
                  if not all(math.isnan(v) for _, v in per_fold) else math.nan
                  for seed, per_fold in runs.items() if len(per_fold) == most}
        defined = {k: v for k, v in values.items() if v == v}
        if not defined:
            return min(values)
        name = metric[len("val_"):] if metric.startswith("val_") else metric
        lower = name == "loss" or not greater_is_better(name)
        return (min if lower else max)(defined, key=defined.get)

    def run(self, ctx: JobContext) -> Outcome:
        options = ctx.config.task_options
        sources = options["sources"]
        weights = np.asarray(options.get("weights") or [1.0] * len(sources), dtype=np.float64)
        seeds = {s: (options.get("seeds") or {}).get(s, ctx.seed) for s in sources}
        seeds = {s: self.best_seed(ctx, s) if v == "best" else v for s, v in seeds.items()}
        config = ctx.config
        columns = (list(config.targets) if config.regression
                   else get_class_set(config.class_set).classes)
        runs, validations = [], []
        for source in sources:
            directory = finished_run(ctx, source, seeds[source],
                                     f"late fusion {ctx.cell.id} needs the finished run of "
                                     f"{source}")
            runs.append((directory, *read_predictions(directory / "predictions.csv", columns,
                                                      config.regression)))
            path = directory / VALIDATION_PREDICTIONS
            validations.append(read_predictions(path, columns, config.regression)
                               if path.is_file() else None)
        for source, v in zip(sources, validations):
            if v is None:
                ctx.log(f"late fusion {ctx.cell.id}: {source} wrote no validation predictions; "
                        "the fusion has no selection value")
            elif v[0] != validations[0][0] if validations[0] is not None else False:
                ctx.log(f"late fusion {ctx.cell.id}: {source} validated on other utterances "
                        f"than {sources[0]}; the fusion has no selection value")
        ids, y_true = runs[0][1], runs[0][2]
        for directory, other_ids, other_true, _ in runs[1:]:
            if other_ids != ids or not np.allclose(other_true, y_true):
                raise ProtocolError(f"late fusion {ctx.cell.id}: {directory} tested other "
                                    f"utterances than {runs[0][0]}")
        probs = sum(w * r[3] for w, r in zip(weights, runs)) / weights.sum()
        # The fusion's own validation predictions (when every source wrote them): the same
        # selection metric as a trained model's, so "the best run" is defined for it too.
        validation, selection = None, {}
        if all(v is not None for v in validations) and all(
                v[0] == validations[0][0] for v in validations):
            v_scores = sum(w * v[2] for w, v in zip(weights, validations)) / weights.sum()
            validation = (validations[0][0], validations[0][1], v_scores.astype(np.float32))
            name = config.training.selection_metric
            from ser_keras.evaluation import compute

            if name != "loss":
                value = compute(name, validation[1], validation[2])
                selection = {"metric": selection_name(name),   # as EpochSelector names it
                             "value": math.nan if value is None else float(value)}
        first = json.loads((runs[0][0] / "metrics.json").read_text())
        fold_info = first["run"]
        # the sources share the fold (checked above: the same test utterances), so the floor
        # of the first is the fusion's
        floor = {k: first[k] for k in FLOOR_BLOCKS if k in first}
        info = {k: fold_info[k] for k in fold_info if k not in (
            "experiment", "paper", "cell", "labels", "model", "task", "dataset",
            "test_dataset", "class_set", "protocol", "scenario", "targets", "inputs", "fold",
            "seed")}
        store.atomic_write_json(ctx.directory / "folds.json", {
            "sources": {s: str(r[0]) for s, r in zip(sources, runs)},
            "weights": weights.tolist(), "test": ids})
        return Outcome(ids, y_true, probs.astype(np.float32),
                       {**selection, "sources": list(sources), "seeds": seeds,
                        "weights": weights.tolist()}, None, info, validation, extra=floor)


TASKS: Registry[type[Task]] = Registry("task")
TASKS.add("supervised", SupervisedTask)
TASKS.add("evaluate", EvaluateTask)
TASKS.add("late-fusion", LateFusionTask)
# The multi-stage hierarchy builds on the supervised task's steps above (its own module).
from ser_keras.training.hierarchical import HierarchicalTask  # noqa: E402

TASKS.add("hierarchical", HierarchicalTask)

__all__ = ["EvaluateTask", "HierarchicalTask", "JobInputs", "LateFusionTask", "SupervisedTask",
           "TASKS", "Task", "make_predict"]
