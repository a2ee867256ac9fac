"""The summary of every run under the runs root, paper table or not.

One row per run set: (experiment, model, dataset, test_dataset, class_set, protocol, cell), so
an experiment's cells and an ad-hoc ``ser-train --model mlp ...`` run (experiment
``mlp-urdu4-speaker-kfold``) alike; the main metrics as mean ± sample std (ddof = 1) over its
runs (folds x seeds), the number of runs and folds, and the seeds. Classification rates are in
percent (accuracy, balanced_accuracy, f1_macro, f1_weighted, roc_auc_macro), regression values
as they are (ccc, pearson_r, mse, mae). Each classification row gets a confusion-matrix PNG
(``figures.confusion_figure``: summed over its runs, row-normalised).

Written as ``runs_summary.md`` (one table per kind) and ``runs_summary.csv`` (one row per run
set, ``<metric>_mean`` / ``<metric>_std`` / ``<metric>_n`` in the Markdown's units).
"""
from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ser_keras.reporting.figures import confusion_figure
from ser_keras.reporting.tables import DDOF, KINDS, format_value

SUMMARY_KEYS = ("experiment", "model", "dataset", "test_dataset", "class_set", "protocol",
                "cell")
KEY_HEADERS = ("Experiment", "Model", "Dataset", "Test dataset", "Class set", "Protocol", "Cell")
# The main metrics of each kind of run and how they are shown (a key of tables.KINDS).
MAIN_METRICS = {
    "classification": (("accuracy", "percent"), ("balanced_accuracy", "percent"),
                       ("f1_macro", "percent"), ("f1_weighted", "percent"),
                       ("roc_auc_macro", "percent")),
    "regression": (("ccc", "number"), ("pearson_r", "number"), ("mse", "number"),
                   ("mae", "number")),
}
STEM = "runs_summary"


def summarize_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run set (``SUMMARY_KEYS`` + ``kind``): n_runs, n_folds, seeds, run_dirs,
    and ``<metric>_mean`` / ``_std`` / ``_n`` for every metric of ``MAIN_METRICS``."""
    metric_cols = [f"{m}_{s}" for pairs in MAIN_METRICS.values() for m, _ in pairs
                   for s in ("mean", "std", "n")]
    columns = [*SUMMARY_KEYS, "kind", "n_runs", "n_folds", "seeds", *metric_cols, "run_dirs"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    keys = [*SUMMARY_KEYS, "kind"]
    frame = runs.copy()
    frame[keys] = frame[keys].astype(object).where(frame[keys].notna(), "").astype(str)
    records = []
    for values, group in frame.groupby(keys, sort=True):
        record = dict(zip(keys, values))
        kind = record["kind"]
        record["n_runs"] = int(group["run_dir"].nunique())
        record["n_folds"] = int(group["fold"].nunique())
        record["seeds"] = ", ".join(str(s) for s in sorted(group["seed"].dropna().unique()))
        record["run_dirs"] = sorted(group["run_dir"].unique())
        run_level = group[(group["class"] == "") & (group["stratum"] == "")]
        for metric, shown in MAIN_METRICS.get(kind, ()):
            scale, _ = KINDS[shown]
            values = run_level.loc[run_level["metric"] == metric, "value"].dropna()
            values = values.to_numpy(dtype=float) * scale
            record[f"{metric}_mean"] = float(np.mean(values)) if len(values) else math.nan
            record[f"{metric}_std"] = (float(np.std(values, ddof=DDOF)) if len(values) > DDOF
                                       else math.nan)
            record[f"{metric}_n"] = len(values)
        records.append(record)
    summary = pd.DataFrame(records, columns=columns)
    counts = [c for c in metric_cols if c.endswith("_n")]
    summary[counts] = summary[counts].astype("Int64")  # empty, not NaN, for the other kind
    return summary


def figure_stem(row: Mapping) -> str:
    """A file-name-safe stem naming a run set by its keys (empty and repeated ones left out)."""
    parts = [row["experiment"], row["cell"], row["model"], row["dataset"],
             row["test_dataset"] if row["test_dataset"] != row["dataset"] else "",
             row["class_set"], row["protocol"]]
    safe = [re.sub(r"[^A-Za-z0-9.+=-]+", "-", str(p)).strip("-") for p in parts]
    return "runs_" + "_".join(p for p in safe if p)


def summary_figures(summary: pd.DataFrame, figures_dir: Path) -> dict[int, Path]:
    """Confusion PNG of every classification row: {row index: path}."""
    written: dict[int, Path] = {}
    stems: set[str] = set()
    for i, row in summary.iterrows():
        if row["kind"] != "classification":
            continue
        stem = figure_stem(row)
        if stem in stems:  # two run sets whose keys differ only in unsafe characters
            stem = f"{stem}_{i}"
        stems.add(stem)
        title = ", ".join(str(row[k]) for k in ("experiment", "cell", "model", "dataset")
                          if row[k])
        try:
            written[i] = confusion_figure(row["run_dirs"], figures_dir / f"{stem}_confusion.png",
                                          f"{title}: confusion (row %)")
        except (ValueError, KeyError) as err:  # runs disagree on classes, or lack a matrix
            warnings.warn(f"no confusion figure for {title}: {err}", stacklevel=2)
    return written


def _cells(row: Mapping, kind: str) -> list[str]:
    cells = [str(row[k]) or "—" for k in SUMMARY_KEYS]
    cells += [str(row["n_runs"]), str(row["n_folds"]), row["seeds"] or "—"]
    for metric, shown in MAIN_METRICS[kind]:
        _, decimals = KINDS[shown]
        cells.append(format_value(row[f"{metric}_mean"], row[f"{metric}_std"], decimals))
    return cells


def summary_markdown(summary: pd.DataFrame, figures: Mapping[int, str], runs_dir: Path) -> str:
    """runs_summary.md: one table per kind of run; ``figures`` maps a row to a relative path."""
    out = ["# Every run", "",
           f"Every run under `{runs_dir}`, one row per experiment × model × dataset × test "
           f"dataset × class set × protocol × cell: mean ± sample standard deviation "
           f"(ddof={DDOF}) over its runs (folds × seeds); classification rates in percent, "
           f"regression values as they are. Confusion matrices are summed over the runs and "
           f"row-normalised.", ""]
    if summary.empty:
        out += ["No runs found.", ""]
        return "\n".join(out)
    for kind, metrics in MAIN_METRICS.items():
        rows = summary[summary["kind"] == kind]
        if rows.empty:
            continue
        figure_col = kind == "classification"
        header = [*KEY_HEADERS, "Runs", "Folds", "Seeds", *(m for m, _ in metrics)]
        header += ["Confusion"] if figure_col else []
        out += [f"## {kind.capitalize()}", "", "| " + " | ".join(header) + " |",
                "|" + "|".join([":--"] * len(KEY_HEADERS) + ["--:"] * 2 + [":--"]
                               + ["--:"] * len(metrics) + ([":--"] if figure_col else []))
                + "|"]
        for i, row in rows.iterrows():
            cells = _cells(row, kind)
            if figure_col:
                cells.append(f"[png]({figures[i]})" if i in figures else "—")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def write_summary(runs: pd.DataFrame, out_dir: str | Path, runs_dir: str | Path
                  ) -> tuple[pd.DataFrame, dict[str, Path], dict[int, Path]]:
    """Write runs_summary.md / .csv and the confusion figures (``<out>/figures/``).
    Returns (summary frame, {"md"|"csv": path}, {row index: figure path})."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize_runs(runs)
    figures = summary_figures(summary, out_dir / "figures")
    links = {i: p.relative_to(out_dir).as_posix() for i, p in figures.items()}
    paths = {"md": out_dir / f"{STEM}.md", "csv": out_dir / f"{STEM}.csv"}
    paths["md"].write_text(summary_markdown(summary, links, Path(runs_dir)), encoding="utf-8")
    table = summary.drop(columns=["run_dirs"])
    table["confusion"] = [links.get(i, "") for i in summary.index]
    table.to_csv(paths["csv"], index=False)
    return summary, paths, figures
