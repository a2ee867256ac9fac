"""The whole report: every declared paper table for every dataset with runs, their figures,
the summary of every run, and an index.

``write_report`` is what ``ser-report`` runs (``ser_keras/cli/report.py`` only parses the
command line); call it from a notebook the same way. The tables are those declared in
``<experiments>/*/tables.yaml`` (``declared.py``). Files written into ``out_dir``:

    <paper>_<table>_<dataset>.md / .csv / .tex     one per table and dataset
    figures/<paper>_<table>_<dataset>_<cell>_confusion.png, ..._roc.png
    <paper>_<figure>_<dataset>.md / .csv / .tex    a declared figure's numbers, as a table
    figures/<paper>_<figure>_<dataset>.png          ... and the figure (bars or curves)
    figures/<paper>_<figure>_<dataset>_<cell>.png   kind roc: one per cell, and its
    figures/<paper>_<figure>_<dataset>_<cell>_auc.md / .csv   per-class AUC numbers
    <paper>_<listing>_<dataset>.md / .csv          a declared listing (rows of a run file)
    <paper>_<counts>_<dataset>.md / .csv           a declared count table (corpus.py: the
                                                    prepared store's manifest, not runs)
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

from ser_keras.reporting import corpus
from ser_keras.reporting import samples as listings
from ser_keras.reporting.declared import (FigureSpec, PaperDeclarations, declared_metrics,
                                          figure_specs, load_all, run_blocks, samples_specs,
                                          table_specs)
from ser_keras.reporting.figures import (Bars, Curve, bar_chart, confusion_figure,
                                         curve_chart, residual_figure, roc_band_figure,
                                         roc_figure, run_roc_bands, write_roc_band_table)
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
    plots: dict[str, Path] = dataclasses.field(default_factory=dict)  # figure stem -> PNG
    listings: list = dataclasses.field(default_factory=list)  # samples.SamplesResult
    listing_files: dict[str, dict[str, Path]] = dataclasses.field(default_factory=dict)
    counts: list = dataclasses.field(default_factory=list)  # corpus.CountsResult
    count_files: dict[str, dict[str, Path]] = dataclasses.field(default_factory=dict)

    def lines(self) -> list[str]:
        """The console summary: which tables, how many runs, which cells are missing."""
        out = [f"ser-report: {self.n_runs} runs under {self.runs_dir} -> {self.out_dir}"]
        if self.n_runs == 0:
            out.append("No runs found: every cell shows '—' and each table lists the "
                       "ser-train commands that fill it.")
        out += [f"  {summary_line(r)}" for r in self.results]
        out += [f"  {listings.summary_line(r)}" for r in self.listings]
        out += [f"  {corpus.summary_line(r)}" for r in self.counts]
        out.append(f"  every run: {len(self.runs_summary)} run sets -> "
                   f"{self.summary_files['md']}")
        n_figs = sum(len(kinds) for cells in self.figures.values() for kinds in cells.values())
        n_figs += len(self.summary_figures) + len(self.plots)
        n_lists = len(self.listing_files)
        lists = (f", {n_lists} listing{'s' if n_lists > 1 else ''} (.md, .csv)" if n_lists
                 else "")
        n_counts = len(self.count_files)
        lists += (f", {n_counts} count table{'s' if n_counts > 1 else ''} (.md, .csv)"
                  if n_counts else "")
        out.append(f"Wrote {len(self.files)} tables (.md, .csv, .tex){lists}, the run summary, "
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


def roc_figures(figure: FigureSpec, dataset: str, runs: pd.DataFrame, figures_dir: Path
                ) -> dict[str, dict[str, Path]]:
    """A declared ``roc`` figure: per cell with runs on ``dataset`` its PNG (mean ROC curve
    per class over the runs, ±1 std band) and its per-class AUC table (.md, .csv)."""
    decl, spec = figure.decl, figure.table
    mine = table_runs(spec, runs, dataset)[0]
    classes = decl.values("class")
    written: dict[str, dict[str, Path]] = {}
    for cell in spec.cells:
        own = mine[mine["cell"] == cell].drop_duplicates("run_dir")
        if own.empty or own["kind"].iloc[0] != "classification":
            continue
        frames, lacking = [], 0
        for run_dir in sorted(own["run_dir"]):
            path = Path(run_dir) / "predictions.csv"
            if path.is_file():
                frames.append(pd.read_csv(path, dtype={"true": str}))
            else:
                lacking += 1
        if not frames:
            continue
        bands = run_roc_bands(classes, frames)
        folds, seeds = own["fold"].nunique(), own["seed"].nunique()
        caption = (f"Mean ROC curve over {len(frames)} runs ({folds} fold(s) x {seeds} "
                   f"seed(s)), ±1 std band; AUC mean ± std (ddof=1) over those runs")
        if lacking:
            caption += f"; {lacking} run(s) without predictions.csv left out"
        skipped = [f"{b.name} ({b.skipped})" for b in bands if b.skipped]
        if skipped:
            caption += f"; runs skipped for a class absent from their truths: " \
                       f"{', '.join(skipped)}"
        caption += "."
        stem = f"{spec.stem(dataset)}_{cell}"
        title = f"{spec.paper} {spec.label}: {spec.title}, {cell}, {dataset}"
        written[cell] = {"roc": roc_band_figure(bands, figures_dir / f"{stem}.png", title,
                                                caption)}
        written[cell].update(write_roc_band_table(bands, figures_dir / f"{stem}_auc", title,
                                                  caption))
    return written


def _percent_label(header: str, kind: str) -> str:
    return f"{header} (%)" if kind == "percent" else header


def draw_figure(figure: FigureSpec, result: TableResult, path: Path) -> Path:
    """The PNG of a declared figure from its table's numbers (means, stds, published)."""
    # the table as built (rows without published numbers may be left out, renumbered)
    decl, spec, entries = figure.decl, result.spec, result.entries
    title = f"{spec.paper} {spec.label}: {spec.title} — dataset: {result.dataset}"
    headers = [c.header for c in decl.columns]

    def column(header: str, key: str) -> list[float]:
        col = entries[entries["col"] == headers.index(header)].sort_values("row")
        return col[key].astype(float).tolist()

    if decl.kind == "bars":
        drawn = decl.bars or headers
        bars = [Bars(h, column(h, "ours_mean"), column(h, "ours_std"), column(h, "paper_mean"))
                for h in drawn]
        kinds = {c.kind for c in decl.columns if c.header in drawn}
        ylabel = "%" if kinds == {"percent"} else ", ".join(drawn)
        return bar_chart(["-".join(row.labels) for row in spec.rows], bars, path, title,
                         ylabel, decl.rest)
    xs, ys = column(decl.x, "ours_mean"), column(decl.y, "ours_mean")
    panels: dict[str, dict[str, dict]] = {}
    for r, row in enumerate(spec.rows):
        values = dict(row.values)
        panel = "-".join(decl.shown(values[a]) for a in decl.panels)
        name = "-".join(decl.shown(values[a]) for a in decl.rows if a != decl.points)
        line = panels.setdefault(panel, {}).setdefault(name, {"points": [], "refs": []})
        point = values[decl.points]
        item = (xs[r], ys[r], decl.shown(point))
        if point in decl.connect:
            line["points"].append((decl.connect.index(point), item))
        else:
            line["refs"].append(item)
    curves = {panel: [Curve(name, [p for _, p in sorted(line["points"])], line["refs"])
                      for name, line in lines.items()] for panel, lines in panels.items()}
    kind = {c.header: c.kind for c in decl.columns}
    return curve_chart(curves, path, title, _percent_label(decl.x, kind[decl.x]),
                       _percent_label(decl.y, kind[decl.y]))


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
                 annotations: Mapping[str, Mapping[str, str]] | None = None,
                 data_dir: str | Path | None = None) -> ReportSummary:
    """Build and write every table (and its figures), every declared figure and listing, the
    run summary and the index; returns what was done. ``specs`` defaults to every table
    declared under ``experiments_dir`` (given, only those tables are written, without the
    declared figures and listings); the runs' metrics.json blocks that a table's metric
    ``<block>.<key>`` names are read into the tidy frame; ``annotations`` ({name: {utt_id:
    value}}, ``read_annotations``) feed the tables that test residuals per annotation value
    (triantafyllopoulos2022 Table 4's dialogue acts). The declared count tables (with
    ``specs`` None) are counted from the manifests of the store ``data_dir``; None (or no
    prepared corpus there): they show "—" and the ``ser-prepare`` command that fills them."""
    runs_dir, out_dir = Path(runs_dir), Path(out_dir)
    decls = load_all(experiments_dir) if specs is None else PaperDeclarations()
    count_decls = corpus.load_counts(experiments_dir) if specs is None else []
    metrics = (declared_metrics(decls) if specs is None else
               [e.metric for s in specs for row in s.rows for e in row.entries])
    runs = load_runs(runs_dir, run_blocks(metrics))
    specs = table_specs(experiments_dir, runs, decls.tables) if specs is None else list(specs)
    figure_decls = figure_specs(experiments_dir, runs, decls.figures)
    listing_specs = samples_specs(experiments_dir, runs, decls.samples)
    published = {}
    for paper in dict.fromkeys([*(s.paper for s in specs),
                                *(f.table.paper for f in figure_decls),
                                *(c.paper for c in count_decls)]):
        path = published_path(experiments_dir, paper)
        if path.is_file():
            published[paper] = load_published(path)
        else:
            warnings.warn(f"{path} not found: tables of {paper} show no published numbers",
                          stacklevel=2)
    results, files, figures, plots = [], {}, {}, {}

    def write_one(spec, dataset, figure=None):
        """Build one table (a declared figure's too), write it with its figures."""
        result = build_table(spec, runs, published.get(spec.paper), dataset, annotations)
        stem = spec.stem(dataset)
        figs = cell_figures(spec, dataset, runs, out_dir / "figures") if spec.figures else {}
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
        extra = None
        if figure is not None and figure.decl.kind == "roc":
            figs.update(roc_figures(figure, dataset, runs, out_dir / "figures"))
            links = {cell: {kind: p.relative_to(out_dir).as_posix()
                            for kind, p in kinds.items()} for cell, kinds in figs.items()}
        elif figure is not None:
            plots[stem] = draw_figure(figure, result, out_dir / "figures" / f"{stem}.png")
            extra = {f"{spec.paper} {spec.label}": plots[stem].relative_to(out_dir).as_posix()}
        files[stem] = write_table(result, out_dir, links, extra) if extra else \
            write_table(result, out_dir, links)
        figures[stem] = figs
        results.append(result)

    for spec in specs:
        for dataset in datasets_for(spec, runs):
            write_one(spec, dataset)
    for figure in figure_decls:
        for dataset in datasets_for(figure.table, runs):
            write_one(figure.table, dataset, figure)
    papers = {paper: i for i, paper in enumerate(dict.fromkeys(r.spec.paper for r in results))}
    results.sort(key=lambda r: papers[r.spec.paper])   # a paper's figures after its tables
    listed, listing_files = [], {}
    for listing in listing_specs:
        for dataset in datasets_for(listing.table, runs):
            result = listings.build_samples(listing, runs, dataset)
            listing_files[listing.table.stem(dataset)] = listings.write_samples(result, out_dir)
            listed.append(result)
    counted, count_files = [], {}
    for decl in count_decls:
        result = corpus.build_counts(decl, data_dir, published.get(decl.paper))
        count_files[decl.stem()] = corpus.write_counts(result, out_dir)
        counted.append(result)
    summary, summary_files, summary_figs = write_summary(runs, out_dir, runs_dir)
    n_runs = int(runs["run_dir"].nunique())
    index = out_dir / "README.md"
    text = index_markdown(results, files, figures, runs_dir, out_dir, n_runs, plots,
                          listed, listing_files, counted, count_files)
    text += "\n" + summary_index(summary, summary_files, summary_figs, out_dir)
    index.write_text(text, encoding="utf-8")
    return ReportSummary(runs_dir, out_dir, n_runs, results, files, figures, index, summary,
                         summary_files, summary_figs, plots, listed, listing_files, counted,
                         count_files)


def index_markdown(results: Sequence[TableResult], files: dict[str, dict[str, Path]],
                   figures: dict[str, dict[str, dict[str, Path]]], runs_dir: Path,
                   out_dir: Path, n_runs: int, plots: Mapping[str, Path] | None = None,
                   listed: Sequence = (), listing_files: Mapping[str, Mapping[str, Path]]
                   | None = None, counted: Sequence = (),
                   count_files: Mapping[str, Mapping[str, Path]] | None = None) -> str:
    """The README.md of the output folder: one line per table (a declared figure's numbers
    too), links to every file, the declared figures, listings and count tables."""
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
        have = len(r.cell_runs) - len(r.missing_cells)
        out.append(f"| {r.spec.paper} | {r.spec.label}: {r.spec.title} | {r.dataset} | "
                   f"{r.n_runs} | {have}/{len(r.cell_runs)} | {links} |")
    out.append("")
    figure_lines = [
        f"- {stem}, {cell}: " + ", ".join(
            f"[{kind}]({p.relative_to(out_dir).as_posix()})" for kind, p in kinds.items())
        for stem, cells in figures.items() for cell, kinds in cells.items()]
    figure_lines += [f"- {stem}: [png]({p.relative_to(out_dir).as_posix()})"
                     for stem, p in (plots or {}).items()]
    if figure_lines:
        out += ["## Figures", ""] + figure_lines + [""]
    if listed:
        out += ["## Listings", "", "| Paper | Listing | Dataset | Runs | Cells with runs | "
                "Rows listed | Files |", "|:--|:--|:--|--:|--:|--:|:--|"]
        for r in listed:
            spec = r.spec.table
            stem = spec.stem(r.dataset)
            links = " · ".join(f"[{suffix}]({path.relative_to(out_dir).as_posix()})"
                               for suffix, path in listing_files[stem].items())
            have = len(r.cell_runs) - len(r.missing_cells)
            out.append(f"| {spec.paper} | {spec.label}: {spec.title} | {r.dataset} | "
                       f"{r.n_runs} | {have}/{len(r.cell_runs)} | {len(r.rows)} | {links} |")
        out.append("")
    if counted:
        out += ["## Corpus counts", "", "Counted from the prepared store's manifests (not "
                "from runs), beside the paper's dataset statistics.", "",
                "| Paper | Table | Dataset | Utterances counted | Files |",
                "|:--|:--|:--|--:|:--|"]
        for r in counted:
            d = r.decl
            links = " · ".join(f"[{suffix}]({path.relative_to(out_dir).as_posix()})"
                               for suffix, path in (count_files or {})[d.stem()].items())
            n = r.rows_counted if r.found else "—"
            out.append(f"| {d.paper} | {d.label}: {d.title} | {d.dataset} | {n} | {links} |")
        out.append("")
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
