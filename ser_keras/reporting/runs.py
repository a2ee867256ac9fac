"""Collect run folders into one tidy pandas DataFrame for the table builders and the summary.

A run folder is any directory under the runs root (at any depth) that holds a ``metrics.json``
written by ``ser_keras.training`` (one fold x seed of one cell of an experiment, or of an ad-hoc
``ser-train --model ...`` run). Its ``run`` block identifies the run (experiment, cell, model,
datasets, class set, protocol, fold, seed, and the cell's ``labels``); ``kind`` is
``classification`` or ``regression``; ``metrics`` holds the run-level values under the names
of the metric registry (``ser_keras.evaluation.METRICS``). Each run becomes several rows of the
tidy frame, one per (class-or-target, metric):

- class ``""``: every run-level metric of ``metrics`` (``accuracy``, ``f1_macro``, ``ccc``...);
- class ``<name>`` (classification): ``precision``, ``recall``, ``f1``, ``support`` and
  ``roc_auc`` of that class (``per_class``);
- class ``weighted_average`` (classification): ``precision``, ``recall``, ``f1`` (the run's
  ``*_weighted`` metrics, sklearn's "weighted avg" row) and ``support`` (``n_test``);
- class ``<target>`` (regression): ``mse``, ``mae``, ``ccc``, ``pearson_r`` of that target
  (``per_target``).

Columns: the run keys (``RUN_KEYS``), ``kind``, one ``label_<axis>`` column per label axis
found in any run (``label_scenario``...; empty where a run has no such label), ``run_dir``,
``class``, ``metric``, ``value``. Values stay as written (fractions in [0, 1], supports as
counts); undefined ones (``null``) are NaN.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

# Keys of metrics.json's "run" block that identify a run; they become columns.
RUN_KEYS = ("experiment", "paper", "cell", "model", "task", "dataset", "test_dataset",
            "class_set", "protocol", "scenario", "fold", "fold_name", "seed", "test_speaker")
KINDS = ("classification", "regression")
# Per-class statistics of metrics.json's per_class (the row axis "class" of a table reads them).
CLASS_STATS = ("precision", "recall", "f1", "support", "roc_auc")
WEIGHTED = "weighted_average"
# The weighted_average row: its statistic -> the run-level metric it is (or "support": n_test).
WEIGHTED_STATS = {"precision": "precision_weighted", "recall": "recall_weighted",
                  "f1": "f1_weighted"}
LABEL_PREFIX = "label_"
TIDY_COLUMNS = (*RUN_KEYS, "kind", "run_dir", "class", "metric", "value")


def find_run_dirs(root: str | Path) -> list[Path]:
    """Every directory under ``root`` (at any depth) holding a ``metrics.json``, sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.rglob("metrics.json") if p.is_file())


def read_run(run_dir: str | Path) -> dict:
    """The parsed ``metrics.json`` of one run, with ``run_dir`` added; ValueError when it is
    not a run record of the current schema."""
    run_dir = Path(run_dir)
    path = run_dir / "metrics.json"
    with open(path, encoding="utf-8") as f:
        record = json.load(f)
    if not isinstance(record, dict) or not isinstance(record.get("run"), dict):
        raise ValueError(f"{path}: no 'run' block")
    if not isinstance(record.get("metrics"), dict):
        raise ValueError(f"{path}: no 'metrics' block (written by an older ser-train? "
                         f"re-run it)")
    kind = record.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{path}: kind {kind!r} is none of {KINDS}")
    if kind == "classification" and not isinstance(record.get("classes"), list):
        raise ValueError(f"{path}: a classification run without a 'classes' list")
    record["run_dir"] = str(run_dir)
    return record


def run_labels(record: Mapping) -> dict[str, str]:
    """The cell labels of a run (``run.labels``), values as strings."""
    labels = record["run"].get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def tidy_rows(record: dict) -> list[dict]:
    """The tidy rows (one per class-or-target x metric) of one parsed run record."""
    base = {key: record["run"].get(key) for key in RUN_KEYS}
    base["kind"] = record["kind"]
    base.update({LABEL_PREFIX + k: v for k, v in run_labels(record).items()})
    base["run_dir"] = record["run_dir"]
    metrics = record["metrics"]

    def row(cls: str, metric: str, value) -> dict:
        return {**base, "class": cls, "metric": metric, "value": _number(value)}

    rows = [row("", name, value) for name, value in metrics.items()]
    if record["kind"] == "classification":
        per_class = record.get("per_class") or {}
        for cls in record["classes"]:
            stats = per_class.get(cls) or {}
            rows += [row(cls, m, stats.get(m)) for m in CLASS_STATS]
        rows += [row(WEIGHTED, stat, metrics.get(name)) for stat, name in WEIGHTED_STATS.items()]
        rows.append(row(WEIGHTED, "support", record.get("n_test")))
    else:
        for target, stats in (record.get("per_target") or {}).items():
            rows += [row(target, name, value) for name, value in (stats or {}).items()]
    return rows


def load_runs(root: str | Path) -> pd.DataFrame:
    """Tidy frame of every run under ``root`` (``TIDY_COLUMNS`` plus ``label_<axis>``
    columns; empty when none).

    A run whose metrics.json cannot be read is skipped with a warning, so one broken or
    half-copied folder does not hide every other result.
    """
    rows: list[dict] = []
    for run_dir in find_run_dirs(root):
        try:
            record = read_run(run_dir)
        except (OSError, ValueError) as err:  # json.JSONDecodeError is a ValueError
            warnings.warn(f"skipping run {run_dir}: {err}", stacklevel=2)
            continue
        rows += tidy_rows(record)
    labels = sorted({k for r in rows for k in r if k.startswith(LABEL_PREFIX)})
    frame = pd.DataFrame(rows, columns=[*TIDY_COLUMNS[:-4], *labels, *TIDY_COLUMNS[-4:]])
    frame["value"] = frame["value"].astype(float)
    return frame


def label_columns(runs: pd.DataFrame) -> list[str]:
    """The label axes found in the runs (without the ``label_`` prefix)."""
    return [c[len(LABEL_PREFIX):] for c in runs.columns if c.startswith(LABEL_PREFIX)]


def _number(value) -> float:
    """A metric value as float; None (undefined, e.g. AUC of an absent class) becomes NaN."""
    return np.nan if value is None else float(value)
