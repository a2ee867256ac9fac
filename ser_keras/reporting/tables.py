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
NOT_APPLICABLE = "n/a"   # an entry of a column that is not on this corpus (Entry.datasets)
DDOF = 1  # sample std: the papers do not say which; ddof=1 is what most ML papers report.
# How a column's values are scaled and printed: rates are stored as fractions and shown in
# percent like the papers; counts (support) as they are; other values (a CCC, an MSE) as they
# are, with three decimals.
KINDS = {"percent": (100.0, 2), "count": (1.0, 0), "number": (1.0, 3), "loss": (1.0, 4)}
SYNTHETIC_DATASETS = {"demo": "the synthetic demo corpus (a stand-in for IEMOCAP)",
                      "demo-msp": "the synthetic demo corpus in the MSP-Podcast layout (a "
                                  "stand-in for MSP-Podcast)"}
# The "dataset" of a table that pools every dataset (``TableSpec.per_dataset`` false): its
# cells name their corpora themselves (a cross-corpus table, one row per corpus).
ALL_DATASETS = "all"
# The placeholder of a published key filled at build time with the paper's corpus of the table
# being built (TableSpec.paper_dataset): one declaration over several corpora.
DATASET_FIELD = "{dataset}"


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
    cell: str                  # run cell id, e.g. "improvised-audio"; "" for a reference row
    metric: str                # tidy metric name (runs.py), e.g. "accuracy"
    cls: str = ""              # tidy class: "" run level, a class name, or "weighted_average"
    published: tuple[tuple[str, str], ...] | None = None  # published.csv key, column -> value
    stratum: str = ""          # "" the whole test set, else a stratum of the runs (scripted)
    # significance marks: (mark, baseline cell, alpha): a two-sided independent t-test of the
    # per-seed values of this entry against the same entry of the baseline cell
    compare: tuple[tuple[str, str, float], ...] = ()
    # (annotation name, value): a residual test over the utterances with that annotation
    annotation: tuple[str, str] | None = None
    # the corpora the entry applies to (a column of one corpus only: MAE where there are
    # scores); () = every corpus. Elsewhere it is "n/a" and its cell is not missing.
    datasets: tuple[str, ...] = ()

    def applies_to(self, dataset: str) -> bool:
        return not self.datasets or dataset in self.datasets

    @property
    def reference(self) -> bool:
        """A literature row of the paper's table: published numbers only, no runs."""
        return not self.cell


@dataclasses.dataclass(frozen=True)
class Row:
    labels: tuple[str, ...]    # one per spec.row_header
    entries: tuple[Entry, ...]  # one per spec.columns
    values: tuple[tuple[str, str], ...] = ()  # (axis, value) of the row, as declared


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
    # the experiments whose runs fill it (default: experiment alone) and each cell's own
    experiments: tuple[str, ...] = ()
    cell_experiments: tuple[tuple[str, str], ...] = ()
    aggregate: str = "runs"    # "runs": mean ± std over folds x seeds; "seeds": per seed the
    #                            mean over folds, then mean ± std over seeds (n = seeds)
    select: str = "all"        # "best": per cell only the seed best on validation
    annotations: tuple[str, ...] = ()  # user annotations (utt_id -> value) the table reads
    # marks a published cell with a note; "‡" where the paper's own marks use "†"
    note_mark: str = "†"
    figure_baselines: tuple[tuple[str, str], ...] = ()  # (cell, baseline cell) of figures
    figure_cells: tuple[str, ...] = ()  # the cells with figures (default: every cell)
    figure_select: str = "all"          # "best": figures of the seed best on validation
    compare: bool = True       # False: Markdown and LaTeX show ours only (no paper, no Δ)
    # the paper's corpora of a table over several (two corpora with the same columns): it is
    # written for each of these, even without runs, each with its own published numbers
    # ({dataset} in the key); other corpora with runs (stand-ins) get a table too
    datasets: tuple[str, ...] = ()
    # per experiment: (its default dataset, every corpus it names: dataset + datasets: keys)
    experiment_corpora: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    literature_where_published: bool = False  # literature rows only with a number here

    @property
    def experiment_names(self) -> tuple[str, ...]:
        return self.experiments or (self.experiment,)

    def experiment_of(self, cell: str) -> str:
        return dict(self.cell_experiments).get(cell, self.experiment)

    def default_dataset(self, experiment: str) -> str:
        """The dataset ``ser-train --experiment <experiment>`` runs on without --dataset."""
        return next((d for e, d, _ in self.experiment_corpora if e == experiment),
                    self.dataset)

    def corpora(self) -> set[str]:
        """Every corpus the table's experiments name (their runs there are no stand-ins)."""
        return {c for _, d, named in self.experiment_corpora for c in (d, *named)}

    def paper_dataset(self, dataset: str) -> str:
        """The paper's corpus a table on ``dataset`` compares with: itself when it is one of
        the table's corpora, else (a stand-in, the demo) the table's ``dataset``."""
        return dataset if dataset in (self.datasets or (self.dataset,)) else self.dataset

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
        """Run cells the table reads, in table order (reference rows read none)."""
        return tuple(dict.fromkeys(e.cell for row in self.rows for e in row.entries
                                   if not e.reference))

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.group for c in self.columns))

    def stem(self, dataset: str) -> str:
        return f"{self.paper}_{self.name}_{dataset}"

    def command(self, cell: str, dataset: str, stand_ins: str = "") -> str:
        """The ser-train command that produces the runs of one cell."""
        if stand_ins:      # a table whose cells name their corpora, on stand-ins (the demo)
            data = f" --stand-in {stand_ins}"
        else:
            experiment = self.experiment_of(cell)
            data = ("" if dataset in (self.default_dataset(experiment), ALL_DATASETS)
                    else f" --dataset {dataset}")
            class_set = self.class_set_for(dataset)
            # the experiment picks the class set of each of its own corpora (``datasets:``)
            if (class_set != self.class_set and dataset != ALL_DATASETS
                    and dataset not in self.datasets):
                data += f" --set class_set={class_set}"   # a stand-in corpus's own class set
        return f"ser-train --experiment {self.experiment_of(cell)}{data} --cells {cell}"


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
    stand_ins: str = ""        # "iemocap=demo,...": the corpora these runs read instead
    transcripts: tuple[str, ...] = ()   # where the runs' transcripts came from, per corpus
    best_seeds: dict[str, str] = dataclasses.field(default_factory=dict)  # select: best
    status: tuple[str, ...] = ()        # further lines for the table's status section
    # residual tests: {group: {column: frame of (value, residual)}} for the box plots
    residuals: dict = dataclasses.field(default_factory=dict)

    @property
    def missing_cells(self) -> list[str]:
        return [c for c, n in self.cell_runs.items() if n == 0]

    @property
    def incomplete_cells(self) -> list[str]:
        return [c for c, n in self.cell_runs.items()
                if n and len(self.cell_folds[c]) < self.spec.expected_folds]

    @property
    def commands(self) -> list[str]:
        return [self.spec.command(c, self.dataset, self.stand_ins) for c in self.missing_cells]

    @property
    def notes(self) -> list[str]:
        """Distinct notes on the published numbers, in table order, one per remark."""
        return list(dict.fromkeys(part for note in self.entries["note"]
                                  for part in note.split(NOTE_SEPARATOR) if part))


ENTRY_COLUMNS = ("row", "col", "group", "column", "cell", "class", "metric", "n", "n_folds",
                 "ours_mean", "ours_std", "paper_mean", "paper_std", "diff",
                 "ours_text", "paper_text", "diff_text", "note",
                 # added with triantafyllopoulos2022 (after the older columns, which keep
                 # their positions)
                 "stratum", "ours_marks", "p_values", "paper_marks")
AGGREGATES = ("runs", "seeds")
SELECTS = ("all", "best")


def stand_in_of(stand_ins: str, corpus: str) -> str:
    """The corpus read in place of ``corpus`` in a run's ``stand_ins`` text ("" if none)."""
    for item in (stand_ins or "").split(","):
        key, _, value = item.partition("=")
        if key == corpus:
            return value
    return ""


def stand_in_group(stand_ins: str, corpus: str) -> str:
    """The table group of a run's stand-ins: "" for none (the paper's corpora), else the
    stand-in of the table's corpus, or (when only another corpus is replaced) every stand-in
    joined by "+": a run on any stand-in never counts as the real corpora."""
    if not stand_ins:
        return ""
    return stand_in_of(stand_ins, corpus) or "+".join(
        item.partition("=")[2] for item in stand_ins.split(","))


def _runs_of(spec: TableSpec, runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["experiment"].isin(spec.experiment_names)]


def datasets_for(spec: TableSpec, runs: pd.DataFrame) -> list[str]:
    """Datasets with runs of the spec's experiment(s); the paper's own when there are none.
    A table that pools its datasets has one table for the paper's corpora (``ALL_DATASETS``)
    and one per stand-in of the paper's corpus (``demo`` for runs with ``--stand-in
    iemocap=demo,...``)."""
    mine = _runs_of(spec, runs)
    if spec.datasets:   # the paper's corpora always; stand-ins (another corpus) when run
        others = {str(d) for d in mine["dataset"].dropna().unique()} - spec.corpora() - set(
            spec.datasets)
        return [*spec.datasets, *sorted(others)]
    if not spec.per_dataset:
        groups = {stand_in_group(t, spec.dataset) for t in mine["stand_ins"].fillna("")}
        return sorted(g or ALL_DATASETS for g in groups) or [ALL_DATASETS]
    found = mine["dataset"].dropna().unique()
    return sorted(str(d) for d in found) or [spec.dataset]


PER_CLASS_UNDEFINED = ("precision", "recall", "f1", "roc_auc")


def _without_unsupported(mine: pd.DataFrame) -> pd.DataFrame:
    """Per-class statistics of a run (or stratum of it) whose test part has no utterance of
    the class are undefined, not 0 (sklearn's zero_division): left out of the means (a
    speaker's scripted part without sad utterances must not count as sad F1 = 0)."""
    support = mine[mine["metric"] == "support"]
    if support.empty:
        return mine
    absent = support.loc[support["value"] == 0, ["run_dir", "stratum", "class"]]
    if absent.empty:
        return mine
    keys = set(map(tuple, absent.to_numpy()))
    drop = mine["metric"].isin(PER_CLASS_UNDEFINED).to_numpy() & np.array(
        [(r, st, c) in keys for r, st, c in zip(mine["run_dir"], mine["stratum"], mine["class"])],
        dtype=bool)
    return mine[~drop]


def table_runs(spec: TableSpec, runs: pd.DataFrame, dataset: str
               ) -> tuple[pd.DataFrame, list[str], str]:
    """The tidy rows of the runs one table on ``dataset`` reads (its experiments; the
    dataset, or for a table over every corpus the stand-in group; its class set), the run
    folders left out for another class set, and the stand-ins of the group ("" for none)."""
    mine = _runs_of(spec, runs)
    stand_ins = ""
    if not spec.per_dataset:
        group = mine["stand_ins"].fillna("").map(lambda t: stand_in_group(t, spec.dataset))
        mine = mine[group == ("" if dataset == ALL_DATASETS else dataset)]
        if dataset != ALL_DATASETS and not mine.empty:
            # several mappings in one group (one run iemocap=demo, another also msp-podcast=
            # demo-msp): the fullest names the group and its commands
            stand_ins = max(sorted(mine["stand_ins"].dropna().unique()), key=len)
    elif dataset != ALL_DATASETS:
        mine = mine[mine["dataset"] == dataset]
    class_set = spec.class_set_for(dataset)
    refused = (mine["class_set"] != class_set if class_set
               else pd.Series(False, index=mine.index))
    return mine[~refused], sorted(mine.loc[refused, "run_dir"].unique()), stand_ins


def _lower_is_better(metric: str) -> bool:
    from ser_keras.evaluation import get_metric

    name = metric[len("val_"):] if metric.startswith("val_") else metric
    if name == "loss":
        return True
    try:
        return not get_metric(name).greater_is_better
    except ValueError:  # ConfigError: not a registered metric
        return name.endswith("loss")


def _best_seeds(mine: pd.DataFrame, cells) -> dict[str, tuple[int, str]]:
    """Per cell the seed whose mean validation selection value (over folds) is the best, and
    how it was chosen (a late fusion or a run without a value falls back to the first seed)."""
    out = {}
    runs = mine.drop_duplicates("run_dir")
    for cell in cells:
        mine_cell = runs[runs["cell"] == cell]
        if mine_cell.empty:
            continue
        # only seeds with every fold the cell has run compete (a 1-fold seed never wins)
        folds = mine_cell.groupby("seed")["fold"].nunique()
        complete = folds[folds == folds.max()].index
        by_seed = mine_cell[mine_cell["seed"].isin(complete)].groupby("seed")[
            "selection_value"].mean()
        metric = str(mine_cell["selection_metric"].dropna().iloc[0]) if mine_cell[
            "selection_metric"].notna().any() else ""
        defined = by_seed.dropna()
        if defined.empty:
            seed = int(by_seed.index.min())
            out[cell] = (seed, f"seed {seed} (no validation value)")
            continue
        lower = _lower_is_better(metric)
        seed = int(defined.idxmin() if lower else defined.idxmax())
        out[cell] = (seed, f"seed {seed} ({metric} {defined[seed]:.3f} of "
                           f"{len(by_seed)} seed(s))")
    return out


def build_table(spec: TableSpec, runs: pd.DataFrame, published: pd.DataFrame | None,
                dataset: str, annotations: Mapping[str, Mapping[str, str]] | None = None
                ) -> TableResult:
    """Aggregate the runs of the spec's experiment(s) on ``dataset`` (every dataset for
    ``ALL_DATASETS``; a stand-in group for a table that pools them) into the spec's layout.

    ``annotations`` maps an annotation name to {utt_id: value} (user files, ``ser-report
    --annotations``) for the tables that test residuals per annotation value."""
    from ser_keras.evaluation.significance import ttest_ind

    mine, refused_runs, stand_ins = table_runs(spec, runs, dataset)
    paper_dataset = spec.paper_dataset(dataset)
    cells = tuple(dict.fromkeys(e.cell for row in spec.rows for e in row.entries
                                if not e.reference and e.applies_to(paper_dataset)))
    by_cell = {cell: mine[mine["cell"] == cell] for cell in cells}
    cell_runs = {cell: int(g["run_dir"].nunique()) for cell, g in by_cell.items()}
    cell_folds = {cell: sorted(g["fold"].dropna().unique().tolist())
                  for cell, g in by_cell.items()}
    best = _best_seeds(mine, cells) if spec.select == "best" else {}
    if best:
        mine = mine[[best.get(c, (None,))[0] == s for c, s in zip(mine["cell"], mine["seed"])]]
        by_cell = {cell: mine[mine["cell"] == cell] for cell in cells}
    mine = _without_unsupported(mine)
    frames = {key: g[["seed", "fold", "run_dir", "value"]].dropna(subset=["value"])
              for key, g in mine.groupby(["cell", "stratum", "class", "metric"], sort=False)}
    empty = pd.DataFrame(columns=["seed", "fold", "run_dir", "value"])

    def units(cell, stratum, cls, metric) -> tuple[np.ndarray, int]:
        """The values the entry aggregates (one per run, or one per seed), and its folds."""
        frame = frames.get((cell, stratum, cls, metric), empty)
        if spec.aggregate == "seeds" and not frame.empty:
            return (frame.groupby("seed")["value"].mean().to_numpy(dtype=float),
                    frame["fold"].nunique())
        return frame["value"].to_numpy(dtype=float), frame["fold"].nunique()

    residual_cache: dict = {}
    records, status, residuals = [], [], {}
    for r, row in enumerate(spec.rows):
        for c, (column, entry) in enumerate(zip(spec.columns, row.entries)):
            scale, decimals = KINDS[column.kind]
            marks, p_texts = "", []
            if entry.reference or not entry.applies_to(paper_dataset):
                values, n_folds = np.array([]), 0
            elif entry.annotation is not None:
                values, n_folds, line, frame = _residual_entry(
                    entry, by_cell.get(entry.cell, empty), annotations, residual_cache)
                if line:
                    status.append(line)
                if frame is not None:
                    labels = annotations[entry.annotation[0]]
                    residuals.setdefault(column.group, {})[column.label] = pd.DataFrame({
                        "value": frame["utt_id"].map(lambda u: labels.get(u, "")),
                        "residual": frame["residual"]})
            else:
                values, n_folds = units(entry.cell, entry.stratum, entry.cls, entry.metric)
                for mark, baseline, alpha in entry.compare:
                    other, _ = units(baseline, entry.stratum, entry.cls, entry.metric)
                    test = ttest_ind(values, other)
                    if test["p"] is not None:
                        p_texts.append(f"{mark} p={test['p']:.3g} vs {baseline}")
                        if test["p"] < alpha:
                            marks += mark
            values = values * scale
            n = len(values)
            mean = float(np.mean(values)) if n else math.nan
            std = float(np.std(values, ddof=DDOF)) if n > DDOF else math.nan
            paper = lookup(published, {k: v.replace(DATASET_FIELD, paper_dataset)
                                       for k, v in entry.published} if entry.published else None)
            p_mean, p_std = (paper.mean, paper.std) if paper else (math.nan, math.nan)
            diff = mean - p_mean  # NaN when either side is missing
            annotate = 0 < n_folds < spec.expected_folds
            records.append({
                "row": r, "col": c, "group": column.group, "column": column.label,
                "cell": entry.cell, "stratum": entry.stratum, "class": entry.cls,
                "metric": entry.metric, "n": n, "n_folds": n_folds, "ours_mean": mean,
                "ours_std": std, "ours_marks": marks, "p_values": "; ".join(p_texts),
                "paper_mean": p_mean, "paper_std": p_std,
                "paper_marks": paper.mark if paper else "", "diff": diff,
                "ours_text": ("" if entry.reference else NOT_APPLICABLE
                              if not entry.applies_to(paper_dataset) else
                              format_value(mean, std, decimals, n if annotate else None)
                              + marks),
                "paper_text": format_value(p_mean, p_std, decimals) + (
                    paper.mark if paper else "") + (spec.note_mark if paper and paper.note
                                                     else ""),
                "diff_text": MISSING if math.isnan(diff) else f"{diff:+.{decimals}f}",
                "note": paper.note if paper else "", "_published": paper is not None,
            })
    published_found = {(r["row"], r["col"]) for r in records if r["_published"]}
    entries = pd.DataFrame(records, columns=list(ENTRY_COLUMNS))
    if spec.literature_where_published:
        spec, entries = _without_empty_references(spec, entries, published_found)
    transcripts = tuple(sorted({t for t in mine["transcripts"].fillna("") if t}))
    return TableResult(spec, dataset, entries, int(mine["run_dir"].nunique()), cell_runs,
                       cell_folds, refused_runs, stand_ins, transcripts,
                       {c: text for c, (_, text) in best.items()},
                       tuple(dict.fromkeys(status)), residuals)


RESIDUAL_STATS = ("residual_p", "residual_mean")


def _without_empty_references(spec: TableSpec, entries: pd.DataFrame,
                              published: set[tuple[int, int]]) -> tuple[TableSpec, pd.DataFrame]:
    """The spec and entries without the literature rows of which published.csv has no row on
    this dataset (``literature_where_published``: a comparison over several corpora lists
    other work per corpus; method x modality positions a work did not report), renumbered."""
    reference = {r for r, row in enumerate(spec.rows) if all(e.reference for e in row.entries)}
    empty = {r for r in reference
             if not any((r, c) in published for c in range(len(spec.columns)))}
    if not empty:
        return spec, entries
    kept = [r for r in range(len(spec.rows)) if r not in empty]
    entries = entries[entries["row"].isin(kept)].copy()
    entries["row"] = entries["row"].map({old: new for new, old in enumerate(kept)})
    return (dataclasses.replace(spec, rows=tuple(spec.rows[r] for r in kept)),
            entries.reset_index(drop=True))


def _residual_entry(entry: Entry, cell_runs: pd.DataFrame,
                    annotations: Mapping[str, Mapping[str, str]] | None, cache: dict
                    ) -> tuple[np.ndarray, int, str, pd.DataFrame | None]:
    """(values, folds, status line, the cell's residuals) of a residual test entry: the residuals y_true - y_pred
    of the cell's (selected) runs, pooled over folds, of the utterances whose annotation is the
    entry's value; ``residual_p`` is the p-value of a two-sided one-sample t-test of mean 0,
    ``residual_mean`` their mean."""
    from ser_keras.evaluation.significance import ttest_1samp

    name, value = entry.annotation
    if not annotations or name not in annotations:
        return (np.array([]), 0, f"{name}: not given; ser-report --annotations {name}=CSV "
                                 "(columns utt_id and the value) fills the residual tests",
                None)
    if cell_runs.empty:
        return np.array([]), 0, "", None
    run_dirs = tuple(sorted(cell_runs["run_dir"].unique()))
    key = (run_dirs, entry.cls)
    if key not in cache:
        frames = [pd.read_csv(Path(d) / "predictions.csv") for d in run_dirs
                  if (Path(d) / "predictions.csv").is_file()]
        preds = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        targets = [c[len("true_"):] for c in preds.columns if c.startswith("true_")]
        target = entry.cls or (targets[0] if len(targets) == 1 else "")
        if not target or f"pred_{target}" not in preds.columns:
            cache[key] = None
        else:
            residual = preds[f"true_{target}"] - preds[f"pred_{target}"]
            cache[key] = pd.DataFrame({"utt_id": preds["utt_id"].astype(str),
                                       "residual": residual})
    frame = cache[key]
    if frame is None:
        return np.array([]), 0, (f"{entry.cell}: residual tests need single-target "
                                 "regression runs (or a target axis)"), None
    labels = annotations[name]
    chosen = frame[frame["utt_id"].map(lambda u: labels.get(u) == value)]["residual"]
    folds = int(cell_runs["fold"].nunique())
    unmatched = int((~frame["utt_id"].isin(labels.keys())).sum())
    line = (f"{name}: {unmatched} of {len(frame)} test utterances of {entry.cell} have no "
            "annotation" if unmatched else "")
    if chosen.empty:
        return np.array([]), folds, line, frame
    test = ttest_1samp(chosen.to_numpy(dtype=float))
    stat = test["p"] if entry.metric == "residual_p" else test["mean"]
    return (np.array([]) if stat is None else np.array([stat])), folds, line, frame


def format_value(mean: float, std: float, decimals: int, n: int | None = None) -> str:
    """'71.20 ± 3.10', '71.20' without a std, '—' without a mean; ' (n=k)' when n is given."""
    if math.isnan(mean):
        return MISSING
    text = f"{mean:.{decimals}f}"
    if not math.isnan(std):
        text += f" ± {std:.{decimals}f}"
    return text + (f" (n={n})" if n is not None else "")


# === Writers ===

def dataset_lines(spec: TableSpec, ds: str, stand_ins: str = "") -> list[str]:
    """The caption's first paragraph: which corpus the runs are on (stand-ins, synthetic, not
    the paper's), or nothing when they are on the paper's own."""
    lines = []
    if stand_ins:
        synthetic = [c for c in SYNTHETIC_DATASETS if f"={c}" in stand_ins]
        lines.append(f"Stand-in corpora ({stand_ins.replace(',', ', ')}): each corpus "
                     "the paper names is read from the prepared corpus after '='"
                     + (" (synthetic: a pipeline check; our numbers are NOT comparable to "
                        "the paper's)" if synthetic or "demo" in stand_ins else "")
                     + ".")
    elif ds == ALL_DATASETS:
        lines.append(f"Runs on every dataset of the experiment (the table's rows and columns "
                     f"name them); the paper's numbers are on {spec.dataset}.")
    elif ds in SYNTHETIC_DATASETS:
        lines.append(f"Dataset {ds}: {SYNTHETIC_DATASETS[ds]}. Our numbers are NOT comparable "
                     f"to the paper's, which are on {spec.dataset}.")
    elif ds != spec.paper_dataset(ds):
        lines.append(f"Dataset {ds}; the paper's numbers are on {spec.dataset}.")
    return lines


def caption(result: TableResult) -> list[str]:
    """Caption paragraphs (plain text) shared by the Markdown and LaTeX writers."""
    spec, ds = result.spec, result.dataset
    on = "every dataset" if ds == ALL_DATASETS else ds
    lines = dataset_lines(spec, ds, result.stand_ins)
    if spec.description:
        lines.append(spec.description)
    experiments = ", ".join(spec.experiment_names)
    over = ("the seeds (each seed: the mean over its folds)" if spec.aggregate == "seeds"
            else "all runs (folds × seeds)")
    if spec.select == "best":
        over = ("the folds of the seed best on validation" if spec.aggregate == "runs"
                else "the seed best on validation (the mean over its folds)")
    marks = sorted({m for e in result.entries["ours_marks"] for m in e})
    lines.append(
        f"Ours: mean ± sample standard deviation (ddof={DDOF}) over {over} of experiment "
        f"{experiments} on {on}, rates in percent, counts as counts; "
        f"(n=k) marks a cell with fewer than the protocol's {spec.expected_folds} folds "
        f"(k values). "
        + (f"Marks ({' '.join(marks)}) are computed: two-sided independent t-tests over the "
           "seeds against the baseline the paper names (the CSV's p_values column). "
           if marks or result.entries["p_values"].astype(bool).any() else "")
        + (f"Paper: {spec.paper} {spec.label} as printed ({spec.paper_dataset(ds)})"
           + (", with its marks. " if result.entries["paper_marks"].astype(bool).any()
              else ". ")
           + f"Δ = ours − paper. {spec.note_mark} the paper's cell is garbled or inconsistent "
           "(see the notes)." if spec.compare else "No published numbers are shown."))
    if result.transcripts:
        parts = sorted({p for text in result.transcripts for p in text.split(",") if p})
        lines.append("Transcripts: " + "; ".join(parts).replace("=", ": ") + ".")
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


def to_markdown(result: TableResult, figures: Mapping[str, Mapping[str, str]] | None = None,
                plots: Mapping[str, str] | None = None) -> str:
    """The table in Markdown: one pipe table per column group, then commands, notes, figures.

    ``figures`` maps a cell to {kind: relative path}, e.g. {"confusion": "figures/x.png"};
    ``plots`` maps a caption to the relative path of an image drawn from this table (a
    declared figure), shown under the title.
    """
    spec, entries = result.spec, result.entries
    out = [f"# {_title(result)}", ""]
    for text, path in (plots or {}).items():
        out += [f"![{text}]({path})", ""]
    out += [f"{line}\n" for line in caption(result)]
    for group in spec.groups:
        cols = [i for i, c in enumerate(spec.columns) if c.group == group]
        if group:
            out += [f"## {group}", ""]
        header = list(spec.row_header)
        shown = ("ours_text", "paper_text", "diff_text") if spec.compare else ("ours_text",)
        for i in cols:
            label = spec.columns[i].label
            header += [label, f"{label} paper", f"{label} Δ"][:len(shown)]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join([":--"] * len(spec.row_header)
                                  + ["--:"] * len(shown) * len(cols)) + "|")
        for r in range(len(spec.rows)):
            cells = list(spec.rows[r].labels)
            for i in cols:
                e = entries[(entries["row"] == r) & (entries["col"] == i)].iloc[0]
                cells += [e[k] for k in shown]
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
    if result.best_seeds:
        out += ["Runs shown (the seed best on validation, per cell):", ""]
        out += [f"- {cell}: {text}" for cell, text in result.best_seeds.items()]
        out.append("")
    if result.status:
        out += [f"Note: {line}" for line in result.status] + [""]
    if result.missing_cells:
        out += ["Missing cells (—); the commands that fill them:", "", "```"]
        out += result.commands + ["```", ""]
    if result.incomplete_cells:
        out.append(f"Cells with fewer than {result.spec.expected_folds} folds:")
        out.append("")
        out += [f"- {c}: folds {', '.join(map(str, result.cell_folds[c]))} "
                f"(`{result.spec.command(c, result.dataset, result.stand_ins)}` runs the rest)"
                for c in result.incomplete_cells]
        out.append("")
    if result.refused_runs:
        out.append(f"{len(result.refused_runs)} run(s) of {result.spec.experiment} left out: "
                   f"class set is not {result.spec.class_set_for(result.dataset)}.")
        out.append("")
    if result.notes:
        out += [f"Notes on the published numbers ({result.spec.note_mark}):", ""]
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
    frame["command"] = [spec.command(c, result.dataset, result.stand_ins)
                        if c and result.cell_runs.get(c, 1) == 0 else "" for c in frame["cell"]]
    return frame


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "±": r"$\pm$", "—": "---", "Δ": r"$\Delta$",
                "†": r"$^\dagger$", "‡": r"$^\ddagger$", "−": "-", "×": r"$\times$"}


def tex_escape(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))


def to_latex(result: TableResult) -> str:
    """A booktabs table* (needs \\usepackage{booktabs,graphicx}) in the paper's layout:
    column groups, each column as Ours / Paper / Δ, then the missing-cell commands."""
    spec, entries = result.spec, result.entries
    n_lab, grouped = len(spec.row_header), spec.groups != ("",)
    shown = ("ours_text", "paper_text", "diff_text") if spec.compare else ("ours_text",)
    k = len(shown)
    label = f"tab:{spec.paper}-{spec.name}-{result.dataset}"
    out = [f"% {spec.paper} {spec.name} on {result.dataset}: generated by ser-report; "
           r"needs \usepackage{booktabs,graphicx}",
           r"\begin{table*}[t]", r"\centering",
           r"\caption{" + tex_escape(_title(result) + ". " + " ".join(caption(result))) + "}",
           r"\label{" + label + "}",
           r"\resizebox{\textwidth}{!}{%",
           r"\begin{tabular}{" + "l" * n_lab + "r" * k * len(spec.columns) + "}",
           r"\toprule"]
    if grouped:
        heads, rules, start = [""] * n_lab, [], n_lab + 1
        for group in spec.groups:
            width = k * sum(c.group == group for c in spec.columns)
            heads.append(r"\multicolumn{%d}{c}{%s}" % (width, tex_escape(group)))
            rules.append(r"\cmidrule(lr){%d-%d}" % (start, start + width - 1))
            start += width
        out += [" & ".join(heads) + r" \\", " ".join(rules)]
    heads = [tex_escape(h) for h in spec.row_header]
    heads += [r"\multicolumn{%d}{c}{%s}" % (k, tex_escape(c.label)) if k > 1
              else tex_escape(c.label) for c in spec.columns]
    out.append(" & ".join(heads) + r" \\")
    if spec.compare:
        out.append(" & ".join([""] * n_lab + ["Ours", "Paper", r"$\Delta$"] * len(spec.columns))
                   + r" \\")
    out.append(r"\midrule")
    for r in range(len(spec.rows)):
        if r > 0 and spec.rows[r].labels[0] != spec.rows[r - 1].labels[0]:
            out.append(r"\midrule")
        cells = [tex_escape(x) for x in _row_labels(spec, r, blank_repeats=True)]
        row = entries[entries["row"] == r].sort_values("col")
        for _, e in row.iterrows():
            cells += [tex_escape(e[key]) for key in shown]
        out.append(" & ".join(cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}}"]
    if result.missing_cells:
        out.append(r"\par\smallskip\footnotesize Missing cells (---): " + "; ".join(
            r"\texttt{" + tex_escape(cmd) + "}" for cmd in result.commands) + ".")
    if result.notes:
        out.append(r"\par\smallskip\footnotesize " + tex_escape(result.spec.note_mark) + " "
                   + tex_escape("; ".join(result.notes))
                   + ".")
    out.append(r"\end{table*}")
    return "\n".join(out) + "\n"


def write_table(result: TableResult, out_dir: str | Path,
                figures: Mapping[str, Mapping[str, str]] | None = None,
                plots: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Write ``<stem>.md``, ``.csv`` and ``.tex`` into ``out_dir``; returns {suffix: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = result.spec.stem(result.dataset)
    paths = {s: out_dir / f"{stem}.{s}" for s in ("md", "csv", "tex")}
    paths["md"].write_text(to_markdown(result, figures, plots), encoding="utf-8")
    to_csv_frame(result).to_csv(paths["csv"], index=False)
    paths["tex"].write_text(to_latex(result), encoding="utf-8")
    return paths


def summary_line(result: TableResult) -> str:
    """One console line: which table, how many runs, which cells are missing."""
    spec = result.spec
    have = len(result.cell_runs) - len(result.missing_cells)  # the cells on this corpus
    line = (f"{spec.paper} {spec.name} [{result.dataset}]: {result.n_runs} runs, "
            f"{have}/{len(result.cell_runs)} cells")
    if result.missing_cells:
        line += f"; missing: {', '.join(result.missing_cells)}"
    if result.incomplete_cells:
        line += f"; under {spec.expected_folds} folds: {', '.join(result.incomplete_cells)}"
    return line


def published_key(**columns: str) -> tuple[tuple[str, str], ...]:
    """An ``Entry.published`` key from keyword arguments (``class`` via ``class_``)."""
    return tuple((k.rstrip("_"), v) for k, v in columns.items())

