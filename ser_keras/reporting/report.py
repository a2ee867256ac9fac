"""The whole report: every declared paper table for every dataset with runs, their figures,
the summary of every run, and an index.

``write_report`` is what ``ser-report`` runs (``ser_keras/cli/report.py`` only parses the
command line); call it from a notebook the same way. The tables are those declared in
``<experiments>/*/tables.yaml`` (``declared.py``). Files written into ``out_dir``:

    <paper>_<table>_<dataset>.md / .csv / .tex     one per table and dataset
    figures/<paper>_<table>_<dataset>_<cell>_confusion.png, ..._roc.png
    runs_summary.md / .csv                          every run set under the runs root
    figures/runs_<run set>_confusion.png            one per classification run set
    README.md                                       index linking all of them
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from ser_keras.reporting.declared import table_specs
from ser_keras.reporting.figures import confusion_figure, residual_figure, roc_figure
from ser_keras.reporting.published import load_published, published_path
from ser_keras.reporting.runs import load_runs
from ser_keras.reporting.summary import write_summary
from ser_keras.reporting.tables import (TableResult, TableSpec, build_table,
                                        _best_seeds, datasets_for, summary_line, table_runs,
                                        write_table)


@dataclasses.dataclass
class ReportSummary:
    runs_dir: Path
    out_dir: Path
    n_runs: int                                   # run folders found under runs_dir
    results: list[TableResult]
    files: dict[str, dict[str, Path]]             # table stem -> {"md"|"csv"|"tex": path}
    figures: dict[str, dict[str, dict[str, Path]]]  # stem -> cell -> {kind: path}
    index: Path
    runs_summary: pd.DataFrame                    # summary.summarize_runs: one row per run set
    summary_files: dict[str, Path]                # {"md"|"csv": path}
    summary_figures: dict[int, Path]              # runs_summary row -> confusion PNG

    def lines(self) -> list[str]:
        """The console summary: which tables, how many runs, which cells are missing."""
        out = [f"ser-report: {self.n_runs} runs under {self.runs_dir} -> {self.out_dir}"]
        if self.n_runs == 0:
            out.append("No runs found: every cell shows '—' and each table lists the "
                       "ser-train commands that fill it.")
        out += [f"  {summary_line(r)}" for r in self.results]
        out.append(f"  every run: {len(self.runs_summary)} run sets -> "
                   f"{self.summary_files['md']}")
        n_figs = sum(len(kinds) for cells in self.figures.values() for kinds in cells.values())
        n_figs += len(self.summary_figures)
        out.append(f"Wrote {len(self.files)} tables (.md, .csv, .tex), the run summary, "
                   f"{n_figs} figures; index: {self.index}")
        return out


def cell_figures(spec: TableSpec, dataset: str, runs: pd.DataFrame, figures_dir: Path
                 ) -> dict[str, dict[str, Path]]:
    """Confusion matrix and ROC PNGs of every cell of the table with runs on ``dataset``."""
    mine = table_runs(spec, runs, dataset)[0]
    best = _best_seeds(mine, spec.cells) if spec.figure_select == "best" else {}
    if best:
        mine = mine[[best.get(c, (None,))[0] == s for c, s in zip(mine["cell"], mine["seed"])]]
    written: dict[str, dict[str, Path]] = {}
    baselines = dict(spec.figure_baselines)
    for cell in spec.figure_cells or spec.cells:
        run_dirs = sorted(mine.loc[mine["cell"] == cell, "run_dir"].unique())
        if not run_dirs or mine.loc[mine["cell"] == cell, "kind"].iloc[0] != "classification":
            continue
        stem = f"{spec.stem(dataset)}_{cell}"
        title = f"{spec.paper} {spec.label}, {cell}, {dataset}"
        base = baselines.get(cell, "")
        base_dirs = sorted(mine.loc[mine["cell"] == base, "run_dir"].unique()) if base else []
        written[cell] = {"confusion": confusion_figure(
            run_dirs, figures_dir / f"{stem}_confusion.png", f"{title}: confusion (row %)",
            base_dirs, base)}
        roc = roc_figure(run_dirs, figures_dir / f"{stem}_roc.png", f"{title}: ROC one-vs-rest")
        if roc is not None:
            written[cell]["roc"] = roc
    return written


def read_annotations(items: Mapping[str, str | Path] | None) -> dict[str, dict[str, str]]:
    """{name: {utt_id: value}} from {name: CSV path}; each CSV has a header with ``utt_id``
    and one more column (the value: e.g. ``act``). A one-line ValueError names a bad file."""
    out = {}
    for name, path in (items or {}).items():
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError) as err:
            raise ValueError(f"--annotations {name}={path}: cannot read it ({err})") from None
        values = [c for c in frame.columns if c != "utt_id"]
        if "utt_id" not in frame.columns or len(values) != 1:
            raise ValueError(f"--annotations {name}={path}: expected the columns utt_id and "
                             f"one value column, got {list(frame.columns)}")
        duplicated = frame["utt_id"][frame["utt_id"].duplicated()].tolist()
        if duplicated:
            raise ValueError(f"--annotations {name}={path}: utt_id {duplicated[0]!r} appears "
                             "twice")
        out[name] = dict(zip(frame["utt_id"], frame[values[0]].str.strip()))
    return out


def write_report(runs_dir: str | Path, out_dir: str | Path, experiments_dir: str | Path,
                 specs: Sequence[TableSpec] | None = None,
                 annotations: Mapping[str, Mapping[str, str]] | None = None) -> ReportSummary:
    """Build and write every table (and its figures), the run summary and the index; returns
    what was done. ``specs`` defaults to every table declared under ``experiments_dir``;
    ``annotations`` ({name: {utt_id: value}}, ``read_annotations``) feed the tables that test
    residuals per annotation value (triantafyllopoulos2022 Table 4's dialogue acts)."""
    runs_dir, out_dir = Path(runs_dir), Path(out_dir)
    runs = load_runs(runs_dir)
    specs = table_specs(experiments_dir, runs) if specs is None else list(specs)
    published = {}
    for paper in dict.fromkeys(s.paper for s in specs):
        path = published_path(experiments_dir, paper)
        if path.is_file():
            published[paper] = load_published(path)
        else:
            warnings.warn(f"{path} not found: tables of {paper} show no published numbers",
                          stacklevel=2)
    results, files, figures = [], {}, {}
    for spec in specs:
        for dataset in datasets_for(spec, runs):
            result = build_table(spec, runs, published.get(spec.paper), dataset, annotations)
            stem = spec.stem(dataset)
            figs = (cell_figures(spec, dataset, runs, out_dir / "figures")
                    if spec.figures else {})
            for group, frames in result.residuals.items():
                order = [v for v in dict.fromkeys(
                    v for f in frames.values() for v in sorted(f["value"].unique())) if v]
                name = group.lower().replace(" ", "_") or "all"
                path = residual_figure(
                    frames, order, out_dir / "figures" / f"{stem}_residuals_{name}.png",
                    f"{spec.paper} {spec.label}: residuals per {spec.annotations[0]}, {group}")
                if path is not None:
                    figs.setdefault(f"residuals ({group})", {})["boxplot"] = path
            links = {cell: {kind: p.relative_to(out_dir).as_posix() for kind, p in kinds.items()}
                     for cell, kinds in figs.items()}
            files[stem] = write_table(result, out_dir, links)
            figures[stem] = figs
            results.append(result)
    summary, summary_files, summary_figs = write_summary(runs, out_dir, runs_dir)
    n_runs = int(runs["run_dir"].nunique())
    index = out_dir / "README.md"
    text = index_markdown(results, files, figures, runs_dir, out_dir, n_runs)
    text += "\n" + summary_index(summary, summary_files, summary_figs, out_dir)
    index.write_text(text, encoding="utf-8")
    return ReportSummary(runs_dir, out_dir, n_runs, results, files, figures, index, summary,
                         summary_files, summary_figs)


def index_markdown(results: Sequence[TableResult], files: dict[str, dict[str, Path]],
                   figures: dict[str, dict[str, dict[str, Path]]], runs_dir: Path,
                   out_dir: Path, n_runs: int) -> str:
    """The README.md of the output folder: one line per table, links to every file."""
    out = ["# Regenerated paper tables", "",
           f"Written by `ser-report` from {n_runs} runs under `{runs_dir}`. Each table shows "
           "our mean ± sample std (ddof=1) over runs beside the published numbers and the "
           "difference; a cell without runs shows — and its table lists the `ser-train` "
           "command that fills it. Demo-dataset tables come from the synthetic demo corpus "
           "and are not comparable to the papers' IEMOCAP numbers.", ""]
    if n_runs == 0:
        out += ["**No runs found**: every table below is empty apart from the published "
                "numbers and the commands.", ""]
    out += ["| Paper | Table | Dataset | Runs | Cells with runs | Files |",
            "|:--|:--|:--|--:|--:|:--|"]
    for r in results:
        stem = r.spec.stem(r.dataset)
        links = " · ".join(f"[{suffix}]({path.relative_to(out_dir).as_posix()})"
                           for suffix, path in files[stem].items())
        have = len(r.spec.cells) - len(r.missing_cells)
        out.append(f"| {r.spec.paper} | {r.spec.label}: {r.spec.title} | {r.dataset} | "
                   f"{r.n_runs} | {have}/{len(r.spec.cells)} | {links} |")
    out.append("")
    figure_lines = [
        f"- {stem}, {cell}: " + ", ".join(
            f"[{kind}]({p.relative_to(out_dir).as_posix()})" for kind, p in kinds.items())
        for stem, cells in figures.items() for cell, kinds in cells.items()]
    if figure_lines:
        out += ["## Figures", ""] + figure_lines + [""]
    return "\n".join(out)


def summary_index(summary: pd.DataFrame, files: dict[str, Path], figures: dict[int, Path],
                  out_dir: Path) -> str:
    """The index's section on every run: the summary's files and each run set's figure."""
    links = " · ".join(f"[{suffix}]({path.relative_to(out_dir).as_posix()})"
                       for suffix, path in files.items())
    out = ["## Every run", "",
           f"{len(summary)} run sets (experiment × model × dataset × test dataset × class set "
           f"× protocol × cell, paper tables or not), mean ± std over folds × seeds: {links}"]
    if figures:
        out.append("")
    for i, path in figures.items():
        row = summary.loc[i]
        name = ", ".join(str(row[k]) for k in ("experiment", "cell", "model", "dataset")
                         if row[k])
        out.append(f"- {name}: [confusion]({path.relative_to(out_dir).as_posix()})")
    return "\n".join(out) + "\n"
