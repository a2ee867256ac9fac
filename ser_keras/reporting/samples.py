"""Declared listings: rows of a per-run CSV of the cells a ``samples:`` declaration names.

    from ser_keras.reporting import declared, samples
    specs = declared.samples_specs(experiments_dir, runs)
    result = samples.build_samples(specs[0], runs, "iemocap")
    samples.write_samples(result, "results/tables")      # <paper>_<name>_<dataset>.md / .csv

Each listed cell contributes the rows of ``<run folder>/<file>`` of its runs (by seed, then
fold, each file in its own order), at most ``max_rows`` per cell; the Markdown states every
cell's total. Cells without runs list the ``ser-train`` command that fills them, like a table.
Nothing here names a paper: what is listed and how it is headed is declared in tables.yaml.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from ser_keras.reporting.declared import SamplesSpec
from ser_keras.reporting.tables import dataset_lines, table_runs

COUNT_COLUMNS = ("runs", "rows", "shown")


@dataclasses.dataclass
class SamplesResult:
    spec: SamplesSpec          # the resolved table and the declaration
    dataset: str
    rows: pd.DataFrame         # the rows shown: cell, its row labels, seed, fold, file columns
    counts: pd.DataFrame       # per listed cell: its row labels, runs, rows (all), shown
    cell_runs: dict[str, int]  # runs per cell (0 = missing)
    refused_runs: list[str]
    stand_ins: str = ""
    status: tuple[str, ...] = ()

    @property
    def missing_cells(self) -> list[str]:
        return [c for c, n in self.cell_runs.items() if n == 0]

    @property
    def commands(self) -> list[str]:
        table = self.spec.table
        return [table.command(c, self.dataset, self.stand_ins) for c in self.missing_cells]

    @property
    def n_runs(self) -> int:
        return sum(self.cell_runs.values())


def build_samples(spec: SamplesSpec, runs: pd.DataFrame, dataset: str) -> SamplesResult:
    """The listing of ``spec`` on ``dataset``: every cell's rows, at most ``max_rows`` of
    them, and the counts."""
    table, decl = spec.table, spec.decl
    mine, refused, stand_ins = table_runs(table, runs, dataset)
    folders = mine.drop_duplicates("run_dir")[["cell", "seed", "fold", "run_dir"]]
    header = list(table.row_header)
    shown, counts, status, cell_runs = [], [], [], {}
    for row in table.rows:
        cell = row.entries[0].cell
        labels = dict(zip(header, row.labels))
        mine_cell = folders[folders["cell"] == cell].sort_values(["seed", "fold", "run_dir"])
        cell_runs[cell] = len(mine_cell)
        total, taken = 0, 0
        for _, run in mine_cell.iterrows():
            path = Path(run["run_dir"]) / decl.file
            where = f"{cell} seed {run['seed']} fold {run['fold']}"
            if not path.is_file():
                status.append(f"{where}: no {decl.file} in its run folder")
                continue
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            absent = [c.column for c in decl.columns if c.column not in frame.columns]
            if absent:
                status.append(f"{where}: {decl.file} has no column(s) {', '.join(absent)}")
            total += len(frame)
            part = frame.head(max(decl.max_rows - taken, 0))
            taken += len(part)
            for _, item in part.iterrows():
                shown.append({"cell": cell, **labels, "seed": run["seed"], "fold": run["fold"],
                              **item.to_dict()})
        if cell_runs[cell]:
            counts.append({"cell": cell, **labels, "runs": cell_runs[cell], "rows": total,
                           "shown": taken})
    keys = ["cell", *header, "seed", "fold"]
    rows = pd.DataFrame(shown)
    rows = rows.reindex(columns=list(dict.fromkeys([*keys, *rows.columns])))
    counts = pd.DataFrame(counts, columns=["cell", *header, *COUNT_COLUMNS])
    return SamplesResult(spec, dataset, rows, counts, cell_runs, refused, stand_ins,
                         tuple(dict.fromkeys(status)))


def _md(text) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def to_markdown(result: SamplesResult) -> str:
    table, decl = result.spec.table, result.spec.decl
    out = [f"# {table.paper} {table.label}: {table.title} — dataset: {result.dataset}", ""]
    out += [f"{line}\n" for line in dataset_lines(table, result.dataset, result.stand_ins)]
    if table.description:
        out += [table.description, ""]
    out += [f"At most {decl.max_rows} rows per cell (its runs by seed and fold, each "
            f"{decl.file} in its own order); Rows counts all of them, Shown those listed. "
            f"Every run folder holds its complete {decl.file}.", ""]
    header = list(table.row_header)
    if not result.counts.empty:
        out.append("| " + " | ".join([*header, "Cell", "Runs", "Rows", "Shown"]) + " |")
        out.append("|" + "|".join([":--"] * (len(header) + 1) + ["--:"] * 3) + "|")
        for _, c in result.counts.iterrows():
            out.append("| " + " | ".join([*(str(c[h]) for h in header), c["cell"],
                                          *(str(int(c[k])) for k in COUNT_COLUMNS)]) + " |")
        out.append("")
    if not result.rows.empty:
        names = [c.header or c.column for c in decl.columns]
        out.append("| " + " | ".join([decl.name_header or " / ".join(header), *names]) + " |")
        out.append("|" + "|".join([":--"] * (len(names) + 1)) + "|")
        for _, item in result.rows.iterrows():
            model = "-".join(str(item[h]) for h in header)
            out.append("| " + " | ".join([_md(model), *(_md(item.get(c.column, ""))
                                                        for c in decl.columns)]) + " |")
        out.append("")
    elif result.n_runs:
        out += ["No rows in the runs' files.", ""]
    out += [f"Note: {line}" for line in result.status] + ([""] if result.status else [])
    if result.missing_cells:
        out += ["Missing cells; the commands that fill them:", "", "```", *result.commands,
                "```", ""]
    if result.refused_runs:
        out += [f"{len(result.refused_runs)} run(s) of {table.experiment} left out: class set "
                f"is not {table.class_set_for(result.dataset)}.", ""]
    return "\n".join(out)


def to_csv_frame(result: SamplesResult) -> pd.DataFrame:
    """The rows shown, with the paper, the listing and the dataset in front."""
    frame = result.rows.copy()
    table = result.spec.table
    frame.insert(0, "dataset", result.dataset)
    frame.insert(0, "listing", table.name)
    frame.insert(0, "paper", table.paper)
    return frame


def write_samples(result: SamplesResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``<paper>_<name>_<dataset>.md`` and ``.csv``; returns {suffix: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = result.spec.table.stem(result.dataset)
    paths = {s: out_dir / f"{stem}.{s}" for s in ("md", "csv")}
    paths["md"].write_text(to_markdown(result), encoding="utf-8")
    to_csv_frame(result).to_csv(paths["csv"], index=False)
    return paths


def summary_line(result: SamplesResult) -> str:
    table = result.spec.table
    cells = len(result.cell_runs)
    line = (f"{table.paper} {table.name} [{result.dataset}]: {result.n_runs} runs, "
            f"{cells - len(result.missing_cells)}/{cells} cells, {len(result.rows)} rows listed")
    if result.missing_cells:
        line += f"; missing: {', '.join(result.missing_cells)}"
    return line
