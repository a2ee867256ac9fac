"""Collect run folders into one tidy pandas DataFrame for the table builders.

A run folder is any directory under the runs root (at any depth) that holds a ``metrics.json``
written by ``ser_keras.training`` (one fold x seed of one table cell). Each run becomes several
rows of the tidy frame, one per (class, metric):

- class ``""``: the run-level metrics ``accuracy``, ``balanced_accuracy``, ``precision``,
  ``recall``, ``f1``, ``fbeta`` (weighted averages) and ``roc_auc`` (macro one-vs-rest);
- class ``<name>``: ``precision``, ``recall``, ``f1``, ``support`` and ``roc_auc`` of that class;
- class ``weighted_average``: ``precision``, ``recall``, ``f1`` (the run-level weighted values,
  sklearn's "weighted avg" row) and ``support`` (``n_test``).

Values stay as written (fractions in [0, 1], supports as counts); undefined ones are NaN.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# Keys of metrics.json's "run" block that identify a run; they become columns.
RUN_KEYS = ("experiment", "paper", "table", "cell", "scenario", "modality", "model", "dataset",
            "class_set", "protocol", "fold", "seed", "test_speaker")
RUN_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "fbeta")
CLASS_METRICS = ("precision", "recall", "f1", "support")
WEIGHTED = "weighted_average"
TIDY_COLUMNS = (*RUN_KEYS, "run_dir", "class", "metric", "value")


def find_run_dirs(root: str | Path) -> list[Path]:
    """Every directory under ``root`` (at any depth) holding a ``metrics.json``, sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.rglob("metrics.json") if p.is_file())


def read_run(run_dir: str | Path) -> dict:
    """The parsed ``metrics.json`` of one run, with ``run_dir`` added."""
    run_dir = Path(run_dir)
    with open(run_dir / "metrics.json", encoding="utf-8") as f:
        record = json.load(f)
    if not isinstance(record.get("run"), dict) or "classes" not in record:
        raise ValueError(f"{run_dir / 'metrics.json'}: no 'run' block or 'classes' list")
    record["run_dir"] = str(run_dir)
    return record


def tidy_rows(record: dict) -> list[dict]:
    """The tidy rows (one per class x metric) of one parsed run record."""
    base = {key: record["run"].get(key) for key in RUN_KEYS}
    base["run_dir"] = record["run_dir"]

    def row(cls: str, metric: str, value) -> dict:
        return {**base, "class": cls, "metric": metric, "value": _number(value)}

    rows = [row("", m, record.get(m)) for m in RUN_METRICS]
    roc = record.get("roc_auc") or {}
    rows.append(row("", "roc_auc", roc.get("macro")))
    per_class = record.get("per_class") or {}
    for cls in record["classes"]:
        stats = per_class.get(cls) or {}
        rows += [row(cls, m, stats.get(m)) for m in CLASS_METRICS]
        rows.append(row(cls, "roc_auc", roc.get(cls)))
    rows += [row(WEIGHTED, m, record.get(m)) for m in ("precision", "recall", "f1")]
    rows.append(row(WEIGHTED, "support", record.get("n_test")))
    return rows


def load_runs(root: str | Path) -> pd.DataFrame:
    """Tidy frame of every run under ``root`` (columns ``TIDY_COLUMNS``; empty when none).

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
    frame = pd.DataFrame(rows, columns=list(TIDY_COLUMNS))
    frame["value"] = frame["value"].astype(float)
    return frame


def _number(value) -> float:
    """A metric value as float; None (undefined, e.g. AUC of an absent class) becomes NaN."""
    return np.nan if value is None else float(value)
