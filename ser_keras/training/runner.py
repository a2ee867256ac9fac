"""Training jobs: one (cell, fold, seed) of an experiment, trained, selected, tested, written.

Every job is independent and addressable (``ser-train --cells C --folds F --seeds S``), so a
cluster can run them in parallel; inside a job, the given tf.distribute strategy spreads the
batches over devices. A job writes its run folder::

    <runs>/<experiment>/<dataset>/<cell>/fold<FF>-seed<S>/
        config.yaml  folds.json  versions.json  history.csv  best.weights.h5  best.json
        predictions.csv  metrics.json (written last: its presence means the job is done)
        backup/      (the last epoch's training state: a killed job resumes from it)

Model selection (the paper is silent): the weights of the epoch with the best validation
metric (``training.selection_metric``, on the validation speaker) are kept and tested.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ser_keras import store
from ser_keras.config import Cell, ExperimentConfig, dump_yaml
from ser_keras.data import ProtocolError, get_class_set, make_folds
from ser_keras.data import input as data_input
from ser_keras.evaluation import classification_metrics


# --------------------------------------------------------------------------------------------
# Data of an experiment, loaded once and shared by its jobs
# --------------------------------------------------------------------------------------------
class ExperimentData:
    """Manifest selections, folds and feature sets of one experiment's dataset (cached)."""

    def __init__(self, exp: ExperimentConfig):
        self.exp = exp
        self.class_set = get_class_set(exp.class_set)
        if exp.dataset not in self.class_set.corpora:
            from ser_keras.data import CLASS_SETS

            fitting = sorted(n for n, c in CLASS_SETS.items() if exp.dataset in c.corpora)
            raise ProtocolError(f"class set {exp.class_set} reads the codes of "
                                f"{', '.join(self.class_set.corpora)}, not {exp.dataset}; "
                                f"class sets for {exp.dataset}: {', '.join(fitting) or 'none'}")
        self.rows = store.read_manifest(store.manifest_path(exp.data_dir, exp.dataset))
        self._selections: dict[str, tuple] = {}
        self._features: dict[str, store.FeatureSet] = {}
        self._test_data: ExperimentData | None = None

    def rows_for(self, scenario: str) -> tuple[list[dict], dict[str, int]]:
        """Rows of the class set in a scenario, and the counts of those left out."""
        rows, left_out = data_input.select_rows(self.rows, self.class_set, scenario)
        if not rows:
            raise ProtocolError(f"{self.exp.dataset}: no usable utterance for class set "
                                f"{self.class_set.name} in scenario {scenario} "
                                f"(left out: {left_out})")
        return rows, left_out

    def selection(self, scenario: str):
        """(rows, left_out counts, folds) of a scenario."""
        if scenario not in self._selections:
            rows, left_out = self.rows_for(scenario)
            folds = make_folds(self.exp.protocol, rows, **self.exp.protocol_options)
            self._selections[scenario] = (rows, left_out, folds)
        return self._selections[scenario]

    @property
    def test_data(self) -> "ExperimentData | None":
        """Cross-corpus: the corpus every job is tested on (``test_dataset``), whole."""
        if self.exp.test_dataset and self._test_data is None:
            self._test_data = ExperimentData(
                dataclasses.replace(self.exp, dataset=self.exp.test_dataset, test_dataset=None))
        return self._test_data

    def feature_sets(self, modalities) -> dict[str, store.FeatureSet]:
        if "text" in modalities and not any(r.get("text") for r in self.rows):
            raise ProtocolError(
                f"{self.exp.dataset} has no transcripts: a text or bimodal model cannot be "
                f"trained on it; use an audio model (e.g. mmfa-audio)")
        for modality in modalities:
            if modality not in self._features:
                name = self.exp.features[modality]
                self._features[modality] = store.open_feature_set(
                    self.exp.data_dir, self.exp.dataset, name)
        return {m: self._features[m] for m in modalities}


def run_dir(runs_root, exp: ExperimentConfig, cell: Cell, fold: int, seed: int) -> Path:
    dataset = f"{exp.dataset}-to-{exp.test_dataset}" if exp.test_dataset else exp.dataset
    return Path(runs_root) / exp.name / dataset / cell.id / f"fold{fold:02d}-seed{seed}"


# --------------------------------------------------------------------------------------------
# Epoch selection, validation and history (resume-safe: its state lives in the run folder)
# --------------------------------------------------------------------------------------------
def _callback_base():
    import keras

    return keras.callbacks.Callback


class EpochSelector(_callback_base()):
    """Validates after each epoch, keeps the best weights, writes history, stops early.

    Validation runs outside the distribution strategy with a non-distributed predict function,
    so the last, smaller batch never meets the replica-count trap (STACK.md).
    """

    def __init__(self, directory: Path, predict: Callable, val_ds, val_labels: np.ndarray,
                 metric: str, patience: int | None):
        super().__init__()
        self.directory = directory
        self.predict = predict
        self.val_ds = val_ds
        self.val_labels = val_labels
        self.metric = metric
        self.patience = patience
        self.best_path = directory / "best.json"

    def _best(self) -> dict | None:
        return json.loads(self.best_path.read_text()) if self.best_path.exists() else None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["train_seconds"] = time.perf_counter() - self.epoch_started
        probs = self.predict(self.val_ds)
        logs.update(validation_logs(self.val_labels, probs))
        _write_history(self.directory / "history.csv", epoch, logs)
        value = logs[self.metric]
        best = self._best()
        better = best is None or (value < best["value"] if self.metric == "val_loss"
                                  else value > best["value"])
        if better:
            tmp = self.directory / "best.tmp.weights.h5"
            self.model.save_weights(tmp)
            os.replace(tmp, self.directory / "best.weights.h5")
            store.atomic_write_json(self.best_path, {"epoch": epoch, "metric": self.metric,
                                                     "value": value})
            best = {"epoch": epoch}
        if self.patience is not None and epoch - best["epoch"] >= self.patience:
            self.model.stop_training = True


class EpochBackup(_callback_base()):
    """Saves the training state (weights and optimizer) after every epoch; restores the last
    one when training starts, so a killed job resumes at the epoch after it.

    Keras' own BackupAndRestore writes its file in place: killed mid-write, it leaves a
    truncated file that fails the next start (seen here). Here every state is written to a
    temporary file and renamed, and the epoch is part of the file name, so the state on disk
    is always whole and always says which epoch it is.
    """

    def __init__(self, directory: Path):
        super().__init__()
        self.directory = Path(directory)

    def _states(self) -> list[Path]:
        return sorted(self.directory.glob("epoch-*.weights.h5"))

    def on_train_begin(self, logs=None):
        states = self._states()
        if not states:
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(states[-1])
        # Keras reads the first epoch of fit() from here (as its BackupAndRestore does).
        self.model._initial_epoch = int(states[-1].name.split("-")[1].split(".")[0])

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / "partial.weights.h5"
        self.model.save_weights(tmp)
        os.replace(tmp, self.directory / f"epoch-{epoch + 1:04d}.weights.h5")
        for old in self._states()[:-1]:
            old.unlink()


def validation_logs(labels: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss

    import warnings

    pred = probs.argmax(axis=1)
    with warnings.catch_warnings():  # a class may be absent from a validation speaker
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(balanced_accuracy_score(labels, pred))
    return {
        "val_loss": float(log_loss(labels, np.clip(probs, 1e-7, 1.0),
                                   labels=list(range(probs.shape[1])))),
        "val_accuracy": float(accuracy_score(labels, pred)),
        "val_balanced_accuracy": balanced,
    }


def _write_history(path: Path, epoch: int, logs: dict) -> None:
    rows = []
    if path.exists():
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["epoch"]) < epoch]
    row = {"epoch": epoch, **{k: float(v) for k, v in sorted(logs.items())}}
    fields = list(dict.fromkeys(["epoch", *(k for r in rows for k in r), *row]))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows([*rows, row])


# --------------------------------------------------------------------------------------------
# One job
# --------------------------------------------------------------------------------------------
def make_predict(model):
    """A non-distributed predict function over a batched dataset: probabilities in order."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(inputs):
        return model(inputs, training=False)

    def predict(dataset) -> np.ndarray:
        return np.concatenate([np.asarray(step(x), dtype=np.float32) for x, _ in dataset])

    return predict


def make_optimizer(training):
    import keras

    # ho2020 App. A "lr 1e-3 with decay 1e-6": Keras 2's decay, lr_t = lr / (1 + decay * t).
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        training.learning_rate, decay_steps=1, decay_rate=training.lr_decay)
    if training.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=schedule, momentum=training.momentum)
    return keras.optimizers.Adam(learning_rate=schedule)


def run_job(exp: ExperimentConfig, cell: Cell, fold_index: int, seed: int, runs_root,
            data: ExperimentData, strategy=None, force: bool = False,
            log: Callable[[str], None] = print) -> dict | None:
    """Train, select and test one job; return its metrics (None when it was already done)."""
    import keras
    import tensorflow as tf

    from ser_keras import models

    directory = run_dir(runs_root, exp, cell, fold_index, seed)
    if (directory / "metrics.json").exists() and not force:
        log(f"{cell.id} fold {fold_index} seed {seed}: done already ({directory})")
        return None
    if force and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    strategy = strategy or tf.distribute.get_strategy()
    entry = models.get_entry(cell.model)

    # --- data ------------------------------------------------------------------------------
    rows, left_out, folds = data.selection(cell.scenario)
    if not 0 <= fold_index < len(folds):
        raise ProtocolError(f"fold {fold_index} out of range: {exp.protocol} has {len(folds)}")
    fold = folds[fold_index]
    feature_sets = data.feature_sets(entry.modalities)
    wanted = {"train": fold.train, "validation": fold.validation, "test": fold.test}
    sets_of = {part: feature_sets for part in wanted}
    if data.test_data is not None:
        # Cross-corpus: train and select on this corpus's fold, test on the whole other corpus
        # through the shared class set.
        test_rows, _ = data.test_data.rows_for(cell.scenario)
        sets_of["test"] = data.test_data.feature_sets(entry.modalities)
        if (data_input.input_spec(sets_of["test"], 0) != data_input.input_spec(feature_sets, 0)):
            raise ProtocolError(f"{exp.test_dataset}'s feature sets differ from "
                                f"{exp.dataset}'s: prepare both with the same --features")
        rows = rows + test_rows
        wanted["test"] = [r["utt_id"] for r in test_rows]
    labels = data_input.label_indices(rows, data.class_set)
    parts, missing = {}, {}
    for part, ids_wanted in wanted.items():
        ids, lacking = data_input.available_ids(sets_of[part], ids_wanted)
        parts[part] = ids
        missing.update(lacking)
        if not ids:
            raise ProtocolError(f"fold {fold.name}: no {part} utterance has features")
    by_id = {r["utt_id"]: r for r in rows}
    store.atomic_write_json(directory / "folds.json", {
        "protocol": exp.protocol, "fold": fold.index, "name": fold.name, "info": fold.info,
        "scenario": cell.scenario, "class_set": exp.class_set,
        "classes": list(data.class_set.classes),
        "left_out_by_reason": left_out, "without_features": missing,
        "counts": {p: data_input.class_counts([by_id[u] for u in ids], data.class_set)
                   for p, ids in parts.items()},
        **parts})
    (directory / "config.yaml").write_text(dump_yaml(exp) + "\n" + _job_yaml(cell, fold, seed))
    store.atomic_write_json(directory / "versions.json", _versions())

    replicas = strategy.num_replicas_in_sync
    batch = exp.training.batch_size

    def dataset(part, shuffle):
        return data_input.make_dataset(
            sets_of[part], {u: labels[u] for u in parts[part]}, batch_size=batch,
            shuffle=shuffle, seed=seed,
            # A last batch smaller than the replica count breaks GRU (STACK.md); the
            # shuffled remainder changes every epoch, so no training sample is lost for good.
            drop_remainder=shuffle and replicas > 1)

    train_ds, _ = dataset("train", True)
    val_ds, val_ids = dataset("validation", False)
    test_ds, test_ids = dataset("test", False)

    # --- model -----------------------------------------------------------------------------
    keras.utils.set_random_seed(seed)
    spec = data_input.input_spec(feature_sets, data.class_set.num_classes)
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(exp.training.precision)
    try:
        with strategy.scope():
            model = models.build_model(cell.model, spec, exp.models.get(cell.model))
    finally:  # the policy applies to the layers built above; leave the process as it was
        keras.mixed_precision.set_global_policy(policy)
    with strategy.scope():
        model.compile(optimizer=make_optimizer(exp.training),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      # XLA recompiles for every padded length and fails with 2 replicas
                      # (STACK.md): per-batch padding is the method, so no XLA.
                      jit_compile=False)
    predict = make_predict(model)
    selector = EpochSelector(directory, predict, val_ds,
                             np.array([labels[u] for u in val_ids]),
                             exp.training.selection_metric, exp.training.patience)
    backup = EpochBackup(directory / "backup")
    model.fit(train_ds, epochs=exp.training.epochs, callbacks=[selector, backup], verbose=0,
              shuffle=False)  # shuffled by tf.data, reshuffled every epoch

    # --- test with the selected epoch ------------------------------------------------------
    model.load_weights(directory / "best.weights.h5")
    probs = predict(test_ds)
    y_true = np.array([labels[u] for u in test_ids])
    metrics = classification_metrics(y_true, probs, data.class_set.classes)
    best = json.loads((directory / "best.json").read_text())
    metrics["run"] = {
        "experiment": exp.name, "paper": exp.paper, "table": exp.table, "cell": cell.id,
        "scenario": cell.scenario, "modality": cell.modality, "model": cell.model,
        "dataset": exp.dataset, "test_dataset": exp.test_dataset or exp.dataset,
        "class_set": exp.class_set, "protocol": exp.protocol,
        "fold": fold.index, "seed": seed, **fold.info,
    }
    metrics["selection"] = best
    metrics["params"] = int(model.count_params())
    metrics["train_seconds"] = round(time.perf_counter() - started, 2)
    _write_predictions(directory / "predictions.csv", test_ids, y_true, probs,
                       data.class_set.classes)
    if exp.training.save_model:
        model.save(directory / "model.keras")
    store.atomic_write_json(directory / "metrics.json", metrics)
    shutil.rmtree(directory / "backup", ignore_errors=True)  # only once the job is done
    log(f"{cell.id} fold {fold.index} ({fold.name}) seed {seed}: test acc "
        f"{metrics['accuracy']:.3f}, bal. acc {metrics['balanced_accuracy']:.3f} "
        f"(best {best['metric']} {best['value']:.3f} at epoch {best['epoch'] + 1}) "
        f"in {metrics['train_seconds']:.0f}s")
    keras.backend.clear_session()
    return metrics


def _job_yaml(cell: Cell, fold, seed: int) -> str:
    import yaml

    return yaml.safe_dump({"job": {"cell": dataclasses.asdict(cell), "fold": fold.index,
                                   "fold_name": fold.name, "seed": seed}}, sort_keys=False)


def _write_predictions(path: Path, ids, y_true, probs, classes) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["utt_id", "true", "predicted", *(f"prob_{c}" for c in classes)])
        for utt_id, t, p in zip(ids, y_true, probs):
            writer.writerow([utt_id, classes[t], classes[int(p.argmax())],
                             *(f"{v:.6f}" for v in p)])


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


def fold_count(exp: ExperimentConfig, data: ExperimentData, scenario: str) -> int:
    return len(data.selection(scenario)[2])


__all__ = ["EpochSelector", "ExperimentData", "fold_count", "make_optimizer", "run_dir",
           "run_job"]
