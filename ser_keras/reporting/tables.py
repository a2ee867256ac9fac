"""Generic paper tables: our mean ± std over runs beside the published numbers, in Markdown,
CSV and LaTeX.

Each table is a ``TableSpec``: the row labels, the columns (optionally in groups), and for
every (row, column) an ``Entry`` naming the run cell, class and metric our number comes from
and the published.csv row it is compared with. Specs are not written by hand: ``declared.py``
builds them from the papers' ``experiments/<paper>/tables.yaml``. This module knows nothing
about any paper: it aggregates the tidy run frame of ``runs.py`` (mean and sample std,
ddof = 1, over every run of the cell: folds x seeds), looks up the published value, and
renders the result.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ser_keras.reporting.published import NOTE_SEPARATOR, lookup

MISSING = "—"
DDOF = 1  # sample std: the papers do not say which; ddof=1 is what most ML papers report.
# How a column's values are scaled and printed: rates are stored as fractions and shown in
# percent like the papers; counts (support) as they are; other values (a CCC, an MSE) as they
# are, with three decimals.
KINDS = {"percent": (100.0, 2), "count": (1.0, 0), "number": (1.0, 3), "loss": (1.0, 4)}
SYNTHETIC_DATASETS = {"demo": "the synthetic demo corpus (a stand-in for IEMOCAP)"}
# The "dataset" of a table that pools every dataset (``TableSpec.per_dataset`` false): its
# cells name their corpora themselves (a cross-corpus table, one row per corpus).
ALL_DATASETS = "all"


# === Specs ===

@dataclasses.dataclass(frozen=True)
class Column:
    label: str                 # header as in the paper ("ACC", "PRE")
    group: str = ""            # column group header ("Audio"); "" when the table has none
    kind: str = "percent"      # key of KINDS

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.label}: kind {self.kind!r} not in {sorted(KINDS)}")


@dataclasses.dataclass(frozen=True)
class Entry:
    cell: str                  # run cell id, e.g. "improvised-audio"
    metric: str                # tidy metric name (runs.py), e.g. "accuracy"
    cls: str = ""              # tidy class: "" run level, a class name, or "weighted_average"
    published: tuple[tuple[str, str], ...] | None = None  # published.csv key, column -> value


@dataclasses.dataclass(frozen=True)
class Row:
    labels: tuple[str, ...]    # one per spec.row_header
    entries: tuple[Entry, ...]  # one per spec.columns


@dataclasses.dataclass(frozen=True)
class TableSpec:
    paper: str                 # "ho2020"
    name: str                  # "table3": file names and published.csv's "table"
    label: str                 # as the paper names it: "Table 3"
    title: str                 # what it shows, e.g. "four emotions, Improvised and Mixed"
    experiment: str            # run.experiment whose runs fill it, e.g. "ho2020/table3"
    class_set: str             # runs of another class set are refused ("" accepts any)
    dataset: str               # the paper's corpus: its numbers are on it; ser-train's default
    expected_folds: int        # folds of the protocol; fewer are marked (n=k)
    row_header: tuple[str, ...]
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    description: str = ""      # one paragraph for the caption
    figures: bool = False      # write per-cell confusion / ROC figures from this table's runs
    per_dataset: bool = True   # one table per dataset with runs; False: one over all of them
    class_sets: tuple[tuple[str, str], ...] = ()  # (dataset, its class set) where not class_set

    def class_set_for(self, dataset: str) -> str:
        """The class set whose runs fill the table on ``dataset`` ("" accepts any)."""
        return dict(self.class_sets).get(dataset, self.class_set)

    def __post_init__(self):
        for row in self.rows:
            if len(row.labels) != len(self.row_header) or len(row.entries) != len(self.columns):
                raise ValueError(f"{self.paper} {self.name}: row {row.labels} does not match "
                                 f"{len(self.row_header)} labels x {len(self.columns)} columns")

    @property
    def cells(self) -> tuple[str, ...]:
        """Run cells the table reads, in table order."""
        return tuple(dict.fromkeys(e.cell for row in self.rows for e in row.entries))

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.group for c in self.columns))

    def stem(self, dataset: str) -> str:
        return f"{self.paper}_{self.name}_{dataset}"

    def command(self, cell: str, dataset: str) -> str:
        """The ser-train command that produces the runs of one cell."""
        data = "" if dataset in (self.dataset, ALL_DATASETS) else f" --dataset {dataset}"
        class_set = self.class_set_for(dataset)
        if class_set != self.class_set and dataset != ALL_DATASETS:
            data += f" --set class_set={class_set}"   # a stand-in corpus's own class set
        return f"ser-train --experiment {self.experiment}{data} --cells {cell}"


# === Building ===

@dataclasses.dataclass
class TableResult:
    spec: TableSpec
    dataset: str
    entries: pd.DataFrame      # one row per (row, column); see ENTRY_COLUMNS
    n_runs: int                # runs of this experiment and dataset that fed the table
    cell_runs: dict[str, int]  # runs per cell (0 = missing)
    cell_folds: dict[str, list]  # distinct folds per cell
    refused_runs: list[str]    # runs of the experiment with another class set

    @property
    def missing_cells(self) -> list[str]:
        return [c for c, n in self.cell_runs.items() if n == 0]

    @property
    def incomplete_cells(self) -> list[str]:
        return [c for c, n in self.cell_runs.items()
                if n and len(self.cell_folds[c]) < self.spec.expected_folds]

    @property
    def commands(self) -> list[str]:
        return [self.spec.command(c, self.dataset) for c in self.missing_cells]

    @property
    def notes(self) -> list[str]:
        """Distinct notes on the published numbers, in table order, one per remark."""
        return list(dict.fromkeys(part for note in self.entries["note"]
                                  for part in note.split(NOTE_SEPARATOR) if part))


ENTRY_COLUMNS = ("row", "col", "group", "column", "cell", "class", "metric", "n", "n_folds",
                 "ours_mean", "ours_std", "paper_mean", "paper_std", "diff",
                 "ours_text", "paper_text", "diff_text", "note")


def datasets_for(spec: TableSpec, runs: pd.DataFrame) -> list[str]:
    """Datasets with runs of the spec's experiment; the paper's own when there are none;
    ``ALL_DATASETS`` alone for a table that pools them."""
    if not spec.per_dataset:
        return [ALL_DATASETS]
    found = runs.loc[runs["experiment"] == spec.experiment, "dataset"].dropna().unique()
    return sorted(str(d) for d in found) or [spec.dataset]


def build_table(spec: TableSpec, runs: pd.DataFrame, published: pd.DataFrame | None,
                dataset: str) -> TableResult:
    """Aggregate the runs of ``spec.experiment`` on ``dataset`` (every dataset for
    ``ALL_DATASETS``) into the spec's layout."""
    mine = runs[runs["experiment"] == spec.experiment]
    if dataset != ALL_DATASETS:
        mine = mine[mine["dataset"] == dataset]
    class_set = spec.class_set_for(dataset)
    refused = (mine["class_set"] != class_set if class_set
               else pd.Series(False, index=mine.index))
    refused_runs = sorted(mine.loc[refused, "run_dir"].unique())
    mine = mine[~refused]
    by_cell = {cell: mine[mine["cell"] == cell] for cell in spec.cells}
    cell_runs = {cell: int(g["run_dir"].nunique()) for cell, g in by_cell.items()}
    cell_folds = {cell: sorted(g["fold"].dropna().unique().tolist())
                  for cell, g in by_cell.items()}
    values_of = {key: g["value"].dropna()
                 for key, g in mine.groupby(["cell", "class", "metric"], sort=False)}
    empty = pd.Series([], dtype=float)

    records = []
    for r, row in enumerate(spec.rows):
        for c, (column, entry) in enumerate(zip(spec.columns, row.entries)):
            scale, decimals = KINDS[column.kind]
            sel = values_of.get((entry.cell, entry.cls, entry.metric), empty)
            values = sel.to_numpy(dtype=float) * scale
            n, n_folds = len(values), mine.loc[sel.index, "fold"].nunique()
            mean = float(np.mean(values)) if n else math.nan
            std = float(np.std(values, ddof=DDOF)) if n > DDOF else math.nan
            paper = lookup(published, dict(entry.published) if entry.published else None)
            p_mean, p_std = (paper.mean, paper.std) if paper else (math.nan, math.nan)
            diff = mean - p_mean  # NaN when either side is missing
            annotate = 0 < n_folds < spec.expected_folds
            records.append({
                "row": r, "col": c, "group": column.group, "column": column.label,
                "cell": entry.cell, "class": entry.cls, "metric": entry.metric,
                "n": n, "n_folds": n_folds, "ours_mean": mean, "ours_std": std,
                "paper_mean": p_mean, "paper_std": p_std, "diff": diff,
                "ours_text": format_value(mean, std, decimals, n if annotate else None),
                "paper_text": format_value(p_mean, p_std, decimals) + (
                    "†" if paper and paper.note else ""),
                "diff_text": MISSING if math.isnan(diff) else f"{diff:+.{decimals}f}",
                "note": paper.note if paper else "",
            })
    entries = pd.DataFrame(records, columns=list(ENTRY_COLUMNS))
    return TableResult(spec, dataset, entries, int(mine["run_dir"].nunique()), cell_runs,
                       cell_folds, refused_runs)


def format_value(mean: float, std: float, decimals: int, n: int | None = None) -> str:
    """'71.20 ± 3.10', '71.20' without a std, '—' without a mean; ' (n=k)' when n is given."""
    if math.isnan(mean):
        return MISSING
    text = f"{mean:.{decimals}f}"
    if not math.isnan(std):
        text += f" ± {std:.{decimals}f}"
    return text + (f" (n={n})" if n is not None else "")


# === Writers ===

def caption(result: TableResult) -> list[str]:
    """Caption paragraphs (plain text) shared by the Markdown and LaTeX writers."""
    spec, ds = result.spec, result.dataset
    on = "every dataset" if ds == ALL_DATASETS else ds
    lines = []
    if ds == ALL_DATASETS:
        lines.append(f"Runs on every dataset of the experiment (the table's rows and columns "
                     f"name them); the paper's numbers are on {spec.dataset}.")
    elif ds in SYNTHETIC_DATASETS:
        lines.append(f"Dataset {ds}: {SYNTHETIC_DATASETS[ds]}. Our numbers are NOT comparable "
                     f"to the paper's, which are on {spec.dataset}.")
    elif ds != spec.dataset:
        lines.append(f"Dataset {ds}; the paper's numbers are on {spec.dataset}.")
    if spec.description:
        lines.append(spec.description)
    lines.append(
        f"Ours: mean ± sample standard deviation (ddof={DDOF}) over all runs of experiment "
        f"{spec.experiment} on {on} (folds × seeds), rates in percent, counts as counts; "
        f"(n=k) marks a cell with fewer than the protocol's {spec.expected_folds} folds "
        f"(k runs). "
        f"Paper: {spec.paper} {spec.label} as printed ({spec.dataset}). "
        f"Δ = ours − paper. † the paper's cell is garbled or inconsistent (see the notes).")
    return lines


def _title(result: TableResult) -> str:
    spec = result.spec
    return f"{spec.paper} {spec.label}: {spec.title} — dataset: {result.dataset}"


def _row_labels(spec: TableSpec, r: int, blank_repeats: bool) -> list[str]:
    """Row labels, optionally blanking a label equal to the one above (the paper's look)."""
    labels = list(spec.rows[r].labels)
    if blank_repeats and r > 0:
        above = spec.rows[r - 1].labels
        for i, label in enumerate(labels):
            if label != above[i]:
                break
            labels[i] = ""
    return labels


def to_markdown(result: TableResult, figures: Mapping[str, Mapping[str, str]] | None = None
                ) -> str:
    """The table in Markdown: one pipe table per column group, then commands, notes, figures.

    ``figures`` maps a cell to {kind: relative path}, e.g. {"confusion": "figures/x.png"}.
    """
    spec, entries = result.spec, result.entries
    out = [f"# {_title(result)}", ""]
    out += [f"{line}\n" for line in caption(result)]
    for group in spec.groups:
        cols = [i for i, c in enumerate(spec.columns) if c.group == group]
        if group:
            out += [f"## {group}", ""]
        header = list(spec.row_header)
        for i in cols:
            label = spec.columns[i].label
            header += [label, f"{label} paper", f"{label} Δ"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join([":--"] * len(spec.row_header) + ["--:"] * 3 * len(cols)) + "|")
        for r in range(len(spec.rows)):
            cells = list(spec.rows[r].labels)
            for i in cols:
                e = entries[(entries["row"] == r) & (entries["col"] == i)].iloc[0]
                cells += [e["ours_text"], e["paper_text"], e["diff_text"]]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out += _markdown_status(result)
    if figures:
        out += ["Figures (confusion matrices summed over runs and row-normalised; one-vs-rest "
                "ROC curves from predictions pooled over runs):", ""]
        for cell, paths in figures.items():
            links = ", ".join(f"[{kind}]({path})" for kind, path in paths.items())
            out.append(f"- {cell}: {links}")
        out.append("")
    return "\n".join(out)


def _markdown_status(result: TableResult) -> list[str]:
    out = []
    if result.missing_cells:
        out += ["Missing cells (—); the commands that fill them:", "", "```"]
        out += result.commands + ["```", ""]
    if result.incomplete_cells:
        out.append(f"Cells with fewer than {result.spec.expected_folds} folds:")
        out.append("")
        out += [f"- {c}: folds {', '.join(map(str, result.cell_folds[c]))} "
                f"(`{result.spec.command(c, result.dataset)}` runs the rest)"
                for c in result.incomplete_cells]
        out.append("")
    if result.refused_runs:
        out.append(f"{len(result.refused_runs)} run(s) of {result.spec.experiment} left out: "
                   f"class set is not {result.spec.class_set_for(result.dataset)}.")
        out.append("")
    if result.notes:
        out += ["Notes on the published numbers (†):", ""]
        out += [f"- {note}" for note in result.notes]
        out.append("")
    return out


def to_csv_frame(result: TableResult) -> pd.DataFrame:
    """The tidy CSV: one row per table entry, numbers in the table's units (percent)."""
    spec, entries = result.spec, result.entries
    labels = pd.DataFrame([spec.rows[r].labels for r in entries["row"]],
                          columns=[f"row_{h.lower()}" for h in spec.row_header])
    frame = pd.concat([labels, entries.drop(columns=["row", "col"])], axis=1)
    frame.insert(0, "dataset", result.dataset)
    frame.insert(0, "table", spec.name)
    frame.insert(0, "paper", spec.paper)
    frame["command"] = [spec.command(c, result.dataset) if not result.cell_runs[c] else ""
                        for c in frame["cell"]]
    return frame


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "±": r"$\pm$", "—": "---", "Δ": r"$\Delta$",
                "†": r"$^\dagger$", "−": "-", "×": r"$\times$"}


def tex_escape(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))


def to_latex(result: TableResult) -> str:
    """A booktabs table* (needs \\usepackage{booktabs,graphicx}) in the paper's layout:
    column groups, each column as Ours / Paper / Δ, then the missing-cell commands."""
    spec, entries = result.spec, result.entries
    n_lab, grouped = len(spec.row_header), spec.groups != ("",)
    label = f"tab:{spec.paper}-{spec.name}-{result.dataset}"
    out = [f"% {spec.paper} {spec.name} on {result.dataset}: generated by ser-report; "
           r"needs \usepackage{booktabs,graphicx}",
           r"\begin{table*}[t]", r"\centering",
           r"\caption{" + tex_escape(_title(result) + ". " + " ".join(caption(result))) + "}",
           r"\label{" + label + "}",
           r"\resizebox{\textwidth}{!}{%",
           r"\begin{tabular}{" + "l" * n_lab + "rrr" * len(spec.columns) + "}",
           r"\toprule"]
    if grouped:
        heads, rules, start = [""] * n_lab, [], n_lab + 1
        for group in spec.groups:
            width = 3 * sum(c.group == group for c in spec.columns)
            heads.append(r"\multicolumn{%d}{c}{%s}" % (width, tex_escape(group)))
            rules.append(r"\cmidrule(lr){%d-%d}" % (start, start + width - 1))
            start += width
        out += [" & ".join(heads) + r" \\", " ".join(rules)]
    heads = [tex_escape(h) for h in spec.row_header]
    heads += [r"\multicolumn{3}{c}{%s}" % tex_escape(c.label) for c in spec.columns]
    out.append(" & ".join(heads) + r" \\")
    out.append(" & ".join([""] * n_lab + ["Ours", "Paper", r"$\Delta$"] * len(spec.columns))
               + r" \\")
    out.append(r"\midrule")
    for r in range(len(spec.rows)):
        if r > 0 and spec.rows[r].labels[0] != spec.rows[r - 1].labels[0]:
            out.append(r"\midrule")
        cells = [tex_escape(x) for x in _row_labels(spec, r, blank_repeats=True)]
        row = entries[entries["row"] == r].sort_values("col")
        for _, e in row.iterrows():
            cells += [tex_escape(e[k]) for k in ("ours_text", "paper_text", "diff_text")]
        out.append(" & ".join(cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}}"]
    if result.missing_cells:
        out.append(r"\par\smallskip\footnotesize Missing cells (---): " + "; ".join(
            r"\texttt{" + tex_escape(cmd) + "}" for cmd in result.commands) + ".")
    if result.notes:
        out.append(r"\par\smallskip\footnotesize $^\dagger$ " + tex_escape("; ".join(result.notes))
                   + ".")
    out.append(r"\end{table*}")
    return "\n".join(out) + "\n"


def write_table(result: TableResult, out_dir: str | Path,
                figures: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Path]:
    """Write ``<stem>.md``, ``.csv`` and ``.tex`` into ``out_dir``; returns {suffix: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = result.spec.stem(result.dataset)
    paths = {s: out_dir / f"{stem}.{s}" for s in ("md", "csv", "tex")}
    paths["md"].write_text(to_markdown(result, figures), encoding="utf-8")
    to_csv_frame(result).to_csv(paths["csv"], index=False)
    paths["tex"].write_text(to_latex(result), encoding="utf-8")
    return paths


def summary_line(result: TableResult) -> str:
    """One console line: which table, how many runs, which cells are missing."""
    spec = result.spec
    have = len(spec.cells) - len(result.missing_cells)
    line = (f"{spec.paper} {spec.name} [{result.dataset}]: {result.n_runs} runs, "
            f"{have}/{len(spec.cells)} cells")
    if result.missing_cells:
        line += f"; missing: {', '.join(result.missing_cells)}"
    if result.incomplete_cells:
        line += f"; under {spec.expected_folds} folds: {', '.join(result.incomplete_cells)}"
    return line


def published_key(**columns: str) -> tuple[tuple[str, str], ...]:
    """An ``Entry.published`` key from keyword arguments (``class`` via ``class_``)."""
    return tuple((k.rstrip("_"), v) for k, v in columns.items())

