"""Training jobs: one (cell, fold, seed) of an experiment, run by its task, evaluated, written.

Every job is independent and addressable (``ser-train --cells C --folds F --seeds S``), so a
cluster can run them in parallel; inside a job, the given tf.distribute strategy spreads the
batches over devices. A job writes its run folder::

    <runs>/<experiment>/<dataset>/<cell>/fold<FF>-seed<S>/
        config.yaml  folds.json  versions.json  history.csv  best.weights.h5  best.json
        predictions.csv  validation_predictions.csv (at the selected epoch)
        metrics.json (written last: its presence means the job is done)
        backup/      (the last epoch's training state: a killed job resumes from it)
        tensorboard/ (``ser-train --tensorboard``: TensorBoard logs, not part of its identity)

What a job does is its task's (``ser_keras.training.tasks``: ``supervised`` trains a model,
``late-fusion`` combines finished runs); this module is the part every task shares: the run
folder, the data cache, evaluation with the metric registry, and metrics.json.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ser_keras import store
from ser_keras.config import (TRANSCRIPT, ExperimentConfig, dump_yaml, flatten, from_dict,
                              to_dict)
from ser_keras.data import get_class_set, make_folds
from ser_keras.data import input as data_input
from ser_keras.data import augmented, pooled
from ser_keras.data.text import clean_transcript
from ser_keras.errors import ConfigError, ProtocolError, StoreError
from ser_keras.evaluation import classification_report, regression_report


# --------------------------------------------------------------------------------------------
# Data of an experiment, loaded once and shared by its jobs
# --------------------------------------------------------------------------------------------
class ExperimentData:
    """Manifests, selections, folds and feature sets of an experiment's corpora (cached).

    Cells may override the dataset, class set, scenario or protocol, so everything is cached
    by what it depends on."""

    def __init__(self, exp: ExperimentConfig):
        from ser_keras.experiment import resolve

        self.exp = exp
        self.plans = resolve(exp)
        self._rows: dict[str, list[dict]] = {}
        self._selections: dict[tuple, tuple] = {}
        self._sets: dict[tuple[str, str], store.FeatureSet] = {}
        self._preprocessors: dict[tuple, Any] = {}
        for plan in self.plans.values():
            self.check_class_set(plan.config, plan.config.dataset)
            if plan.config.test_dataset:
                self.check_class_set(plan.config, plan.config.test_dataset)
        # a target typo fails before any cell trains (scores are known from the manifest only)
        for plan in self.plans.values():
            config = plan.config
            scored = [t for t in config.targets if t not in store.MANIFEST_COLUMNS]
            if config.regression and scored:
                for dataset in filter(None, (config.dataset, config.test_dataset)):
                    paths = [store.manifest_path(self.data_dir, c)
                             for c in pooled.parts(dataset)]
                    if all(p.is_file() for p in paths):  # else: the jobs name the store
                        data_input.check_targets(self.rows(dataset), config.targets,
                                                 ", ".join(map(str, paths)))

    @staticmethod
    def check_class_set(config: ExperimentConfig, dataset: str) -> None:
        from ser_keras.data import CLASS_SETS

        class_set = get_class_set(config.class_set)
        for corpus in pooled.parts(dataset):
            if corpus not in class_set.corpora:
                fitting = sorted(n for n, c in CLASS_SETS.items()
                                 if set(pooled.parts(dataset)) <= set(c.corpora))
                raise ProtocolError(f"class set {config.class_set} reads the codes of "
                                    f"{', '.join(class_set.corpora)}, not {corpus}; "
                                    f"class sets for {dataset}: {', '.join(fitting) or 'none'}")

    @property
    def data_dir(self) -> str:
        return self.exp.data_dir

    def rows(self, dataset: str) -> list[dict]:
        """The manifest rows of a corpus, or of a pool (``ravdess+savee+tess``: ids and
        speakers qualified by corpus, ``ser_keras.data.pooled``)."""
        if dataset not in self._rows:
            if pooled.is_pooled(dataset):
                self._rows[dataset] = pooled.pool_rows(
                    {corpus: self.rows(corpus) for corpus in pooled.parts(dataset)})
            else:
                self._rows[dataset] = store.read_manifest(store.manifest_path(self.data_dir,
                                                                             dataset))
        return self._rows[dataset]

    def rows_for(self, config: ExperimentConfig, dataset: str | None = None
                 ) -> tuple[list[dict], dict[str, int]]:
        """Rows of the class set in the config's scenario, and the counts of those left out."""
        dataset = dataset or config.dataset
        class_set = get_class_set(config.class_set)
        rows, left_out = data_input.select_rows(self.rows(dataset), class_set, config.scenario)
        if not rows:
            raise ProtocolError(f"{dataset}: no usable utterance for class set "
                                f"{class_set.name} in scenario {config.scenario} "
                                f"(left out: {left_out})")
        return rows, left_out

    def selection(self, config: ExperimentConfig):
        """(rows, left_out counts, folds) of a cell's config."""
        key = (config.dataset, config.class_set, config.scenario, config.protocol,
               json.dumps(config.protocol_options, sort_keys=True), config.augmentation)
        if key not in self._selections:
            rows, left_out = self.rows_for(config)
            folds = self._folds(config, rows)
            self._selections[key] = (rows, left_out, folds)
        return self._selections[key]

    @staticmethod
    def _folds(config: ExperimentConfig, rows: list[dict]):
        """The protocol's folds; augmented copies (``ser-prepare --augment``) placed as
        ``config.augmentation`` says: by default never (counted in ``fold.info``)."""
        if not any(augmented.is_copy(r) for r in rows):
            if config.augmentation != "none":
                raise ProtocolError(
                    f"{config.dataset}: augmentation {config.augmentation} asks for augmented "
                    "copies and its manifest has none: prepare it with ser-prepare ... "
                    "--augment noise, or train without them (--set augmentation=none)")
            return make_folds(config.protocol, rows, **config.protocol_options)
        return augmented.make_augmented_folds(config.protocol, rows, config.augmentation,
                                              **config.protocol_options)

    def fold_count(self, config: ExperimentConfig) -> int:
        return len(self.selection(config)[2])

    def feature_set(self, dataset: str, name: str) -> store.FeatureSet:
        key = (dataset, name)
        if key not in self._sets and pooled.is_pooled(dataset):
            self._sets[key] = pooled.PooledFeatureSet(
                [self.feature_set(corpus, name) for corpus in pooled.parts(dataset)])
        if key not in self._sets:
            has_text = any(r.get("text") for r in self.rows(dataset))
            try:
                fs = store.open_feature_set(self.data_dir, dataset, name)
            except StoreError as err:
                if has_text:
                    raise
                raise ProtocolError(f"{err}. Note: {dataset} has no transcripts; a model "
                                    "with a text input cannot be trained on it (use an audio "
                                    "model, e.g. mmfa-audio or mlp)") from None
            if fs.metadata.get("modality") == "text" and not has_text:
                raise ProtocolError(f"{dataset} has no transcripts: a model with a text input "
                                    f"({name}) cannot be trained on it; use an audio model "
                                    "(e.g. mmfa-audio or mlp)")
            self._sets[key] = fs
        return self._sets[key]

    def feeds(self, plan, dataset: str) -> list[data_input.InputFeed]:
        """The input feeds of a cell's model on one corpus."""
        feeds = []
        for item in plan.inputs:
            if item.source == TRANSCRIPT:
                # Utterances without a transcript are left out (and counted), not fed as "".
                texts = {r["utt_id"]: clean_transcript(r["text"])
                         for r in self.rows(dataset) if (r.get("text") or "").strip()}
                if not any(texts.values()):
                    raise ProtocolError(f"{dataset} has no transcripts: input {item.name} "
                                        "reads them; use an audio model (e.g. mlp)")
                feeds.append(data_input.InputFeed(
                    item.name, "tokens", options=item.options, texts=texts,
                    preprocessor=self.preprocessor(item.options)))
                continue
            sets = [self.feature_set(dataset, name) for name in item.feature_sets]
            feeds.append(data_input.InputFeed(item.name, item.rank, sets, item.options))
        return feeds

    def transcript_sources(self, config: ExperimentConfig) -> dict[str, str]:
        """{corpus: where its transcripts came from} for the corpora of a cell, as
        ``ser-prepare`` recorded it (``prepare_report.json`` "transcripts": the release, a
        user's CSV); empty for stores prepared before it was recorded."""
        out = {}
        for dataset in dict.fromkeys(filter(None, (config.dataset, config.test_dataset))):
            for corpus in pooled.parts(dataset):
                path = store.corpus_dir(self.data_dir, corpus) / "prepare_report.json"
                try:
                    info = json.loads(path.read_text()).get("transcripts") or {}
                except (OSError, ValueError):
                    continue
                if info.get("source"):
                    source = str(info["source"])
                    if info.get("csv"):
                        source += f" ({info['csv']})"
                    out[corpus] = source
        return out

    def preprocessor(self, options):
        """A keras-hub BERT preprocessor (cached): strings -> token ids, padding mask, segments."""
        key = (options.preprocessor, options.max_tokens)
        if key not in self._preprocessors:
            import keras_hub

            kwargs = {"sequence_length": options.max_tokens} if options.max_tokens else {}
            try:
                from ser_keras.models.bert import resolve_preset

                self._preprocessors[key] = (
                    keras_hub.models.BertTextClassifierPreprocessor.from_preset(
                        resolve_preset(options.preprocessor), **kwargs))
            except (OSError, ValueError) as err:
                raise ConfigError(f"input_options.preprocessor {options.preprocessor!r}: "
                                  f"{err}") from None
        return self._preprocessors[key]


def run_dir(runs_root, config: ExperimentConfig, cell_id: str, fold: int, seed: int) -> Path:
    dataset = (f"{config.dataset}-to-{config.test_dataset}" if config.test_dataset
               else config.dataset)
    return Path(runs_root) / config.name / dataset / cell_id / f"fold{fold:02d}-seed{seed}"


# --------------------------------------------------------------------------------------------
# One job
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class JobContext:
    """Everything a task needs to run one job."""

    exp: ExperimentConfig            # the whole experiment (late fusion finds its sources)
    plan: Any                        # ser_keras.experiment.CellPlan of the cell
    fold_index: int
    seed: int
    directory: Path
    runs_root: Path
    data: ExperimentData
    strategy: Any
    log: Callable[[str], None]
    # where the job writes TensorBoard logs (``ser-train --tensorboard``), or None: not at all
    tensorboard: Path | None = None
    # the job's run folder (``directory`` is a stage's own folder in a multi-stage task)
    run_folder: Path | None = None

    @property
    def config(self) -> ExperimentConfig:
        return self.plan.config

    @property
    def cell(self):
        return self.plan.cell


@dataclasses.dataclass
class Outcome:
    """What a task hands back: test predictions in order, and how they were obtained."""

    ids: list[str]
    y_true: np.ndarray               # class indices (n,) or values (n, targets)
    scores: np.ndarray               # probabilities (n, classes) or predictions (n, targets)
    selection: dict = dataclasses.field(default_factory=dict)
    params: int | None = None
    fold_info: dict = dataclasses.field(default_factory=dict)
    # (ids, truths, scores) of the validation part at the selected epoch, when there is one
    validation: tuple | None = None
    # part -> (ids, scores): predictions beyond the outcome's own (a stage of a multi-stage task)
    predictions: dict = dataclasses.field(default_factory=dict)
    # blocks of metrics.json beside the metrics (a multi-stage task's {"cascade": {...}})
    extra: dict = dataclasses.field(default_factory=dict)


def run_job(exp: ExperimentConfig, cell, fold_index: int, seed: int, runs_root,
            data: ExperimentData, strategy=None, force: bool = False,
            log: Callable[[str], None] = print, tensorboard=None,
            wait: bool = False) -> dict | None:
    """Run one job with its cell's task; return its metrics (None when it was already done).

    ``tensorboard``: None (no TensorBoard logs), True (in ``<run folder>/tensorboard``) or a
    folder under which the job's logs go to the run folder's own path (``<tensorboard>/
    <experiment>/<dataset>/<cell>/fold<FF>-seed<S>``, one ``tensorboard --logdir`` for all
    jobs). Not part of the job's config: a run is the same run with or without them.

    The job holds ``<runs>/<experiment>/<dataset>/<cell>/.fold<FF>-seed<S>.lock`` while it
    runs: a second process on the same job fails at once naming the holder's pid (``wait``:
    waits for it); a lock left by a killed process is taken over. Other jobs of the
    experiment run side by side (a scheduler's array)."""
    from ser_keras import locks

    cell_id = cell if isinstance(cell, str) else cell.id
    directory = run_dir(runs_root, data.plans[cell_id].config, cell_id, fold_index, seed)
    directory.parent.mkdir(parents=True, exist_ok=True)
    if not is_chief(strategy):   # the workers of one multiworker job: the chief holds it
        return _run_job(exp, cell_id, fold_index, seed, runs_root, data, strategy, force, log,
                        tensorboard)
    with locks.acquire(directory.parent / f".{directory.name}.lock", wait,
                       hint="another process is training this job (ser-train --wait waits "
                            "for it)", log=log):
        return _run_job(exp, cell_id, fold_index, seed, runs_root, data, strategy, force, log,
                        tensorboard)


def is_chief(strategy) -> bool:
    """This process is the one that owns a job's folder: always, except a non-chief worker of
    a MultiWorkerMirroredStrategy (the chief is task ``chief``, else worker 0)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or task_type is None:
        return True
    has_chief = "chief" in (resolver.cluster_spec().as_dict() or {})
    return task_type == "chief" or (not has_chief and task_type == "worker"
                                    and int(resolver.task_id or 0) == 0)


def _run_job(exp, cell_id: str, fold_index: int, seed: int, runs_root, data, strategy, force,
             log, tensorboard) -> dict | None:
    from ser_keras.training.tasks import TASKS

    plan = data.plans[cell_id]
    config = plan.config
    directory = run_dir(runs_root, config, cell_id, fold_index, seed)
    model_config = to_dict(plan.model_config) if plan.model_config is not None else None
    job_config = (dump_yaml(config) + "\n" + _job_yaml(cell_id, fold_index, seed)
                  + "\n" + yaml_dump({"model_config": model_config}))
    if not force and any((directory / n).exists() for n in ("metrics.json", "best.json",
                                                            "backup")):
        # Only a folder that holds training: one that failed before it is simply redone.
        check_same_config(directory, config, model_config)
    task = TASKS.get(config.task)
    if (directory / "metrics.json").exists() and not force:
        stale = task.stale(directory, data, plan, Path(runs_root), fold_index, seed)
        if stale is None:
            log(f"{cell_id} fold {fold_index} seed {seed}: done already ({directory})")
            return None
        log(f"{cell_id} fold {fold_index} seed {seed}: redone, {stale}")
        force = True
    board = tensorboard_dir(tensorboard, runs_root, config, cell_id, fold_index, seed)
    if force and directory.exists():
        shutil.rmtree(directory)
    if force and board is not None and board.exists():
        shutil.rmtree(board)  # the logs of the run that is replaced
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if strategy is None:
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()
    (directory / "config.yaml").write_text(job_config)
    store.atomic_write_json(directory / "versions.json", _versions())
    context = JobContext(exp, plan, fold_index, seed, directory, Path(runs_root), data,
                         strategy, log, board, directory)
    with store.shard_errors():   # a damaged shard: one line naming it, for every caller
        outcome = task().run(context)

    columns = (list(config.targets) if config.regression
               else list(get_class_set(config.class_set).classes))
    report = evaluate(outcome.y_true, outcome.scores, config.regression, columns)
    write_predictions(directory / "predictions.csv", outcome.ids, outcome.y_true,
                      outcome.scores, columns, config.regression)
    if outcome.validation is not None:
        write_predictions(directory / VALIDATION_PREDICTIONS, *outcome.validation, columns,
                          config.regression)
    strata = stratified_reports(data, config, outcome, columns)
    report = {"run": {
        "experiment": config.name, "paper": config.paper, "cell": cell_id,
        "labels": dict(plan.cell.labels), "model": plan.cell.model, "task": config.task,
        "dataset": config.dataset, "test_dataset": config.test_dataset or config.dataset,
        "class_set": config.class_set, "protocol": config.protocol,
        "scenario": config.scenario, "targets": list(config.targets),
        "inputs": {i.name: i.source for i in plan.inputs},
        "fold": fold_index, "seed": seed, **outcome.fold_info,
        "stand_ins": dict(config.stand_ins),
        "transcripts": data.transcript_sources(config),
    }, **report}
    if strata:
        report["strata"] = strata
    for key, block in outcome.extra.items():
        if key in report:
            raise ValueError(f"task {config.task}: metrics.json block {key!r} is taken")
        report[key] = block
    report["selection"] = outcome.selection
    report["params"] = outcome.params
    report["train_seconds"] = round(time.perf_counter() - started, 2)
    store.atomic_write_json(directory / "metrics.json", report)
    shutil.rmtree(directory / "backup", ignore_errors=True)  # only once the job is done
    log(f"{cell_id} fold {fold_index} ({outcome.fold_info.get('fold_name', '')}) seed {seed}: "
        f"{_headline(report)} in {report['train_seconds']:.0f}s")
    return report


def tensorboard_dir(tensorboard, runs_root, config: ExperimentConfig, cell_id: str, fold: int,
                    seed: int) -> Path | None:
    """Where a job writes its TensorBoard logs (``run_job``'s ``tensorboard``), or None."""
    if tensorboard is None or tensorboard is False:
        return None
    if tensorboard is True or tensorboard == "":
        return run_dir(runs_root, config, cell_id, fold, seed) / "tensorboard"
    return run_dir(tensorboard, config, cell_id, fold, seed)


def job_state(exp: ExperimentConfig, cell_id: str, fold_index: int, seed: int, runs_root,
              data: ExperimentData, force: bool = False) -> str:
    """What ``run_job`` would do with a job now, in one word: ``done`` (skipped: finished with
    this config), ``todo`` (nothing trained yet), ``resumes`` (an interrupted job: it goes on
    from its last epoch), ``redo`` (retrained: ``force``, or the runs it was computed from
    changed) or ``other-config`` (its folder holds a run of another config: it fails unless
    ``force``)."""
    from ser_keras.training.tasks import TASKS

    plan = data.plans[cell_id]
    config = plan.config
    directory = run_dir(runs_root, config, cell_id, fold_index, seed)
    trained = [n for n in ("metrics.json", "best.json", "backup") if (directory / n).exists()]
    if not trained:
        return "todo"
    if force:
        return "redo"
    model_config = to_dict(plan.model_config) if plan.model_config is not None else None
    try:
        check_same_config(directory, config, model_config)
    except ConfigError:
        return "other-config"
    if "metrics.json" not in trained:
        return "resumes"
    stale = TASKS.get(config.task).stale(directory, data, plan, Path(runs_root), fold_index,
                                         seed)
    return "done" if stale is None else "redo"


def _headline(report: dict) -> str:
    m = report["metrics"]
    if report["kind"] == "regression":
        line = f"test CCC {_fmt(m['ccc'])}, MSE {_fmt(m['mse'])}"
    else:
        line = (f"test acc {_fmt(m['accuracy'])}, bal. acc {_fmt(m['balanced_accuracy'])}")
    best = report.get("selection") or {}
    if "epoch" in best:
        line += f" (best val {best['metric']} {best['value']:.3f} at epoch {best['epoch'] + 1})"
    return line


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


# Keys that may differ between runs of one job: where the store is, and which seeds and folds
# the command asked for (the folder name says which job it is).
_JOB_INDEPENDENT = ("data_dir", "seeds", "folds", "tune")  # tune: ser-tune's search space


def check_same_config(directory: Path, config: ExperimentConfig, model_config) -> None:
    """A run folder holds one config: refuse to resume or skip a job made with another one."""
    import yaml

    path = directory / "config.yaml"
    if not path.is_file():
        return
    old = yaml.safe_load(path.read_text()) or {}
    old.pop("job", None)
    old_model = old.pop("model_config", None) or {}
    try:  # keys added to the config since that run was made read as their defaults
        old = to_dict(from_dict(ExperimentConfig, old, str(path)))
    except ConfigError:
        pass  # an unreadable old config: compared as written, so it differs
    new = to_dict(config)
    for data in (old, new):  # a cell's own search space is not part of its runs either
        for cell in data.get("cells") or []:
            if isinstance(cell, dict) and isinstance(cell.get("overrides"), dict):
                cell["overrides"] = {k: v for k, v in cell["overrides"].items()
                                     if k.split(".")[0] != "tune"}
    old_flat, new_flat = flatten(old), flatten(new)
    # model options added since: the old run has no value for them, so they cannot differ
    old_flat.update({f"model_config.{k}": v for k, v in flatten(old_model).items()})
    new_flat.update({f"model_config.{k}": v for k, v in flatten(model_config or {}).items()
                     if k in flatten(old_model)})
    differ = sorted(k for k in set(old_flat) | set(new_flat)
                    if k.split(".")[0] not in _JOB_INDEPENDENT
                    and old_flat.get(k) != new_flat.get(k))
    if differ:
        raise ConfigError(f"{directory} holds a run made with another config (differs at "
                          f"{', '.join(differ[:6])}{' ...' if len(differ) > 6 else ''}); "
                          "re-run with --force to replace it, or use another --runs folder")


def _job_yaml(cell_id: str, fold: int, seed: int) -> str:
    return yaml_dump({"job": {"cell": cell_id, "fold": fold, "seed": seed}})


def yaml_dump(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def evaluate(y_true, scores, regression: bool, columns) -> dict:
    """Every metric of the registry on one set of predictions (classes or target values)."""
    if regression:
        return regression_report(y_true, scores, columns)
    return classification_report(y_true, scores, columns)


def stratified_reports(data: "ExperimentData", config: ExperimentConfig, outcome: Outcome,
                       columns) -> dict:
    """{column: {value: report}} of the test predictions split by the manifest columns in
    ``config.strata`` (rows without a value are in no stratum; counted under ``""``)."""
    if not config.strata:
        return {}
    test_dataset = config.test_dataset or config.dataset
    by_id = {r["utt_id"]: r for r in data.rows(test_dataset)}
    out = {}
    for column in config.strata:
        values = [str(by_id.get(u, {}).get(column) or "") for u in outcome.ids]
        if not any(values):
            raise ProtocolError(f"strata: {test_dataset}'s manifest has no {column!r} values "
                                f"for the test utterances (columns: "
                                f"{', '.join(sorted(next(iter(by_id.values()), {})))})")
        out[column] = {}
        for value in sorted(set(values)):
            keep = np.array([v == value for v in values])
            if not value:
                out[column][""] = {"n_test": int(keep.sum())}
                continue
            out[column][value] = evaluate(outcome.y_true[keep], outcome.scores[keep],
                                          config.regression, columns)
    return out


VALIDATION_PREDICTIONS = "validation_predictions.csv"


def write_predictions(path: Path, ids, y_true, scores, columns, regression: bool) -> None:
    """predictions.csv: ``utt_id, true, predicted, prob_<class>...`` for classes;
    ``utt_id, true_<target>..., pred_<target>...`` for continuous targets."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        if regression:
            writer.writerow(["utt_id", *(f"true_{t}" for t in columns),
                             *(f"pred_{t}" for t in columns)])
            for utt_id, t, p in zip(ids, y_true, scores):
                writer.writerow([utt_id, *(f"{v:.6f}" for v in t), *(f"{v:.6f}" for v in p)])
            return
        writer.writerow(["utt_id", "true", "predicted", *(f"prob_{c}" for c in columns)])
        for utt_id, t, p in zip(ids, y_true, scores):
            writer.writerow([utt_id, columns[int(t)], columns[int(np.argmax(p))],
                             *(f"{v:.6f}" for v in p)])


def read_predictions(path: Path, columns, regression: bool = False
                     ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(utt_ids, truths, scores) of a predictions.csv: class indices and probabilities over
    ``columns`` (the classes), or (n, targets) true and predicted values of ``columns``."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    ids = [r["utt_id"] for r in rows]
    if regression:
        y_true = np.array([[float(r[f"true_{t}"]) for t in columns] for r in rows],
                          dtype=np.float32).reshape(len(rows), len(columns))
        preds = np.array([[float(r[f"pred_{t}"]) for t in columns] for r in rows],
                         dtype=np.float32).reshape(len(rows), len(columns))
        return ids, y_true, preds
    y_true = np.array([list(columns).index(r["true"]) for r in rows], dtype=int)
    probs = np.array([[float(r[f"prob_{c}"]) for c in columns] for r in rows], dtype=np.float32)
    return ids, y_true, probs


def _versions() -> dict:
    import importlib.metadata as md
    import platform

    versions = {"python": platform.python_version()}
    for package in ("ser-keras", "tensorflow", "keras", "keras-hub", "numpy", "scikit-learn"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = None
    try:
        versions["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, text=True,
            capture_output=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        versions["git_commit"] = None
    return versions


__all__ = ["ExperimentData", "JobContext", "Outcome", "VALIDATION_PREDICTIONS", "evaluate",
           "job_state", "read_predictions", "run_dir", "run_job", "stratified_reports",
           "tensorboard_dir", "write_predictions"]
