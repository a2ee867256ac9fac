"""Epoch selection on a validation metric, and a kill-safe per-epoch training state.

Both keep their state in the run folder, so a killed job resumes where it stopped. The
selector also reports every epoch as one line (``log``): a CI log shows a job's progress
without Keras' progress bar.
"""
from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from ser_keras import store


class EpochSelector(keras.callbacks.Callback):
    """Validates after each epoch, keeps the best weights, writes history, stops early.

    ``validate(predictions) -> {"val_<metric>": value}`` scores the validation predictions;
    ``metric`` (a key of those logs) selects the epoch, ``greater_is_better`` says which way.
    Validation runs outside the distribution strategy with a non-distributed predict function,
    so the last, smaller batch never meets the replica-count trap (STACK.md).
    ``log`` (when given) gets one line per epoch, ``"<label> epoch E/N: loss L, val <metric>
    V, best B (epoch K), Ts"`` (epochs counted from 1, as the job's final line counts them).
    """

    def __init__(self, directory: Path, predict: Callable, val_ds,
                 validate: Callable[[np.ndarray], dict], metric: str, greater_is_better: bool,
                 patience: int | None, log: Callable[[str], None] | None = None,
                 label: str = "", epochs: int | None = None):
        super().__init__()
        self.log = log
        self.label = label
        self.epochs = epochs
        self.directory = directory
        self.predict = predict
        self.val_ds = val_ds
        self.validate = validate
        self.metric = metric
        self.greater_is_better = greater_is_better
        self.patience = patience
        self.best_path = directory / "best.json"

    def _best(self) -> dict | None:
        return json.loads(self.best_path.read_text()) if self.best_path.exists() else None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["train_seconds"] = time.perf_counter() - self.epoch_started
        logs.update(self.validate(self.predict(self.val_ds)))
        write_history(self.directory / "history.csv", epoch, logs)
        value = logs[self.metric]
        best = self._best()
        # An undefined value (NaN) is never better; a defined one beats an undefined best.
        better = value == value and (best is None or best["value"] != best["value"] or (
            value > best["value"] if self.greater_is_better else value < best["value"]))
        if best is None and not better:
            better = True  # the first epoch is kept whatever it scores
        if better:
            tmp = self.directory / "best.tmp.weights.h5"
            self.model.save_weights(tmp)
            os.replace(tmp, self.directory / "best.weights.h5")
            store.atomic_write_json(self.best_path, {"epoch": epoch,
                                                     "metric": self.metric.removeprefix("val_"),
                                                     "value": value})
            best = {"epoch": epoch, "value": value}
        if self.log is not None:
            self.log(epoch_line(self.label, epoch, self.epochs, logs, self.metric, best))
        if self.patience is not None and epoch - best["epoch"] >= self.patience:
            self.model.stop_training = True


class EpochBackup(keras.callbacks.Callback):
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


def epoch_line(label: str, epoch: int, epochs: int | None, logs: dict, metric: str,
               best: dict) -> str:
    """``"<label> epoch 3/30: loss 1.2345, val uar 0.4560, best 0.4780 (epoch 2), 1.2s"``."""
    def number(value) -> str:
        try:
            return "n/a" if value is None or value != value else f"{float(value):.4f}"
        except (TypeError, ValueError):
            return "n/a"

    of = f"/{epochs}" if epochs else ""
    line = (f"{label + ' ' if label else ''}epoch {epoch + 1}{of}: loss "
            f"{number(logs.get('loss'))}, val {metric.removeprefix('val_')} "
            f"{number(logs.get(metric))}, best {number(best.get('value'))} "
            f"(epoch {best['epoch'] + 1})")
    if "train_seconds" in logs:
        line += f", {logs['train_seconds']:.1f}s"
    return line


def write_history(path: Path, epoch: int, logs: dict) -> None:
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


__all__ = ["EpochBackup", "EpochSelector", "epoch_line", "write_history"]
