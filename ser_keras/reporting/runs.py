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

- class ``""``, metric ``<block>.<key>``: every number of a further metrics.json block named in
  ``blocks`` (``load_runs(root, blocks=["cascade"])``: ``cascade.corrected_share``...; a
  nested mapping's keys joined by "."; ``null`` is NaN, text and true/false are left out).
  Which blocks are read is declared: a table or figure metric ``<block>.<key>``
  (``declared.run_blocks``).

Each row also names its ``stratum``: "" for the whole test set, or a value of a manifest column
the run was stratified by (``strata: [scenario]`` -> "scripted", "improvised"; the same rows
again for that part of the test set).

Columns: the run keys (``RUN_KEYS``), the selection and provenance keys (``SELECTION_KEYS``:
the validation metric and value the run's epoch was selected by, the stand-in corpora and
transcript sources as ``a=b`` text), ``kind``, one ``label_<axis>`` column per label axis
found in any run (``label_scenario``...; empty where a run has no such label), ``run_dir``,
``stratum``, ``class``, ``metric``, ``value``. Values stay as written (fractions in [0, 1], supports as
counts); undefined ones (``null``) are NaN.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Mapping, Sequence

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
# Per run: the selection metric and its value on validation at the selected epoch (what
# "the best run" of a cell is chosen by), the stand-in corpora, the transcripts' source.
SELECTION_KEYS = ("selection_metric", "selection_value", "stand_ins", "transcripts")
TIDY_COLUMNS = (*RUN_KEYS, *SELECTION_KEYS, "kind", "run_dir", "stratum", "class", "metric",
                "value")


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


def mapping_text(mapping: Mapping | None) -> str:
    """``{"iemocap": "demo"}`` -> ``"iemocap=demo"`` (sorted, comma-separated; "" for none)."""
    return ",".join(f"{k}={v}" for k, v in sorted((mapping or {}).items()))


def tidy_rows(record: dict, blocks: Sequence[str] = ()) -> list[dict]:
    """The tidy rows (one per stratum x class-or-target x metric) of one parsed run record;
    stratum "" is the whole test set, others the values of ``metrics.json``'s ``strata``;
    the numbers of each block named in ``blocks`` are run-level rows ``<block>.<key>``."""
    run = record["run"]
    base = {key: run.get(key) for key in RUN_KEYS}
    selection = record.get("selection") or {}
    value = selection.get("value")
    base.update(selection_metric=selection.get("metric"),
                selection_value=np.nan if value is None else float(value),
                stand_ins=mapping_text(run.get("stand_ins")),
                transcripts=mapping_text(run.get("transcripts")))
    base["kind"] = record["kind"]
    base.update({LABEL_PREFIX + k: v for k, v in run_labels(record).items()})
    base["run_dir"] = record["run_dir"]
    rows = _report_rows(base, "", record, record["kind"])
    for block in blocks:
        rows += [{**base, "stratum": "", "class": "", "metric": name, "value": value}
                 for name, value in block_values(record.get(block), block)]
    for column, values in (record.get("strata") or {}).items():
        for stratum, report in values.items():
            if stratum and isinstance(report, Mapping) and "metrics" in report:
                rows += _report_rows(base, stratum, report, record["kind"])
    return rows


def _report_rows(base: dict, stratum: str, report: Mapping, kind: str) -> list[dict]:
    metrics = report["metrics"]

    def row(cls: str, metric: str, value) -> dict:
        return {**base, "stratum": stratum, "class": cls, "metric": metric,
                "value": _number(value)}

    rows = [row("", name, value) for name, value in metrics.items()]
    if kind == "classification":
        per_class = report.get("per_class") or {}
        for cls in report["classes"]:
            stats = per_class.get(cls) or {}
            rows += [row(cls, m, stats.get(m)) for m in CLASS_STATS]
        rows += [row(WEIGHTED, stat, metrics.get(name)) for stat, name in WEIGHTED_STATS.items()]
        rows.append(row(WEIGHTED, "support", report.get("n_test")))
    else:
        for target, stats in (report.get("per_target") or {}).items():
            rows += [row(target, name, value) for name, value in (stats or {}).items()]
    return rows


def block_values(block, prefix: str) -> list[tuple[str, float]]:
    """(``<prefix>.<key>``, number) of every number in a metrics.json block, nested mappings
    flattened with "."; ``null`` is NaN; text, lists and true/false are no numbers."""
    if not isinstance(block, Mapping):
        return []
    out = []
    for key, value in block.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            out += block_values(value, name)
        elif value is None:
            out.append((name, np.nan))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((name, float(value)))
    return out


def load_runs(root: str | Path, blocks: Sequence[str] = ()) -> pd.DataFrame:
    """Tidy frame of every run under ``root`` (``TIDY_COLUMNS`` plus ``label_<axis>``
    columns; empty when none); ``blocks`` names further metrics.json blocks whose numbers
    become run-level rows ``<block>.<key>`` (the module docstring).

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
        rows += tidy_rows(record, blocks)
    labels = sorted({k for r in rows for k in r if k.startswith(LABEL_PREFIX)})
    frame = pd.DataFrame(rows, columns=[*TIDY_COLUMNS[:-5], *labels, *TIDY_COLUMNS[-5:]])
    frame["value"] = frame["value"].astype(float)
    frame["selection_value"] = frame["selection_value"].astype(float)
    return frame


def label_columns(runs: pd.DataFrame) -> list[str]:
    """The label axes found in the runs (without the ``label_`` prefix)."""
    return [c[len(LABEL_PREFIX):] for c in runs.columns if c.startswith(LABEL_PREFIX)]


def _number(value) -> float:
    """A metric value as float; None (undefined, e.g. AUC of an absent class) becomes NaN."""
    return np.nan if value is None else float(value)
