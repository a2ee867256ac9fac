"""Paper tables declared as data: ``experiments/<paper>/tables.yaml`` -> ``TableSpec``.

    from ser_keras.reporting import declared
    decls = declared.load_declarations(experiments_dir())     # every paper's tables.yaml
    specs = declared.table_specs(experiments_dir(), runs)     # resolved against cells and runs
    figures = declared.figure_specs(experiments_dir(), runs)  # ... its figures, listings:
    listings = declared.samples_specs(experiments_dir(), runs)

A paper declares each of its tables as rows x columns over axes (``tables:``), its figures
(``figures:``) and its listings of per-run files (``samples:``); no code names a paper.

- ``rows``: axes whose values, in order, make the rows (the first varies slowest). An axis is
  a cell label (``scenario``, ``modality``, ``corpus``, ``threshold``: any key of the cells'
  ``labels`` in ``experiments/<paper>/<table>.yaml``, values listed under ``axes``), or
  ``class`` (values: the class set's classes, plus ``weighted_average`` when
  ``weighted_average: true``), or ``target`` (regression targets, listed under ``axes``).
- ``columns``: metrics, each ``{header, metric, kind, published}``. ``metric`` is a name of
  the metric registry (``ser_keras.evaluation.METRICS``; aliases such as ``uar`` allowed), or,
  in a table with a ``class`` axis, a per-class statistic (``precision``, ``recall``, ``f1``,
  ``support``, ``roc_auc``), or, with a ``target`` axis, a regression metric read per target;
  ``kind`` is ``percent``, ``count``, ``number`` or ``loss`` (4 decimals); ``published`` is
  the metric's name in published.csv (default: the header); ``for_class`` makes a per-class
  statistic of one class a column of a table without a ``class`` axis (kakuba2023's
  per-class recall columns). A ``metric`` ``<block>.<key>`` reads a number of the runs'
  metrics.json block ``<block>`` (``cascade.corrected_share``): a run-level value, read for
  any block a declaration names (``runs.load_runs(..., blocks)``).
- ``group_by``: an axis; the columns repeat once per value, under its display name.
- ``published``: the published.csv row of a position, as a template per key column, filled
  with the position's axis values (an axis the table lacks reads ""), ``{table}`` (the
  table's name), ``{header}``, ``{metric}`` and ``{published}`` (the column's), ``{dataset}``
  (the paper's corpus of the table being written).
- ``experiment`` (whose runs fill it), ``dataset`` (the paper's corpus), ``class_set`` (runs
  of another are left out; ``class_sets`` names another per dataset, e.g. the class set of a
  stand-in corpus), ``expected_folds`` (fewer are marked (n=k)), ``figures``
  (confusion / ROC PNGs per cell), ``per_dataset`` (false: one table over every dataset of
  the experiment, ``<paper>_<table>_all``, for cells that name their corpus), ``sparse``
  (true: only the positions some cell matches are rows, for axes not crossed in full).
- ``display`` / ``headers``: how axis values / axis names are printed (default: underscores
  as spaces, the first letter upper-cased: ``weighted_average`` -> "Weighted average").
- ``literature``: ``{axis: [values]}``: the rows of these values are the paper's rows for
  other work (its published numbers, no runs, no command). ``experiments``: more
  experiments whose runs count; ``aggregate`` (``runs``: mean ± std over folds x seeds;
  ``seeds``: per seed the mean over folds first), ``select`` (``best``: per cell the seed best
  on validation), ``significance`` (``[{mark, against, where, alpha}]``: computed t-test
  marks), ``annotations`` (axes read from ``ser-report --annotations`` files),
  ``figure_baseline`` / ``figure_where`` / ``figure_select`` (which confusion figures, against
  which cell), ``note_mark``: see ``TableDecl``'s fields.
- ``datasets``: the paper's corpora of a table over several (``[meld, mosei]``, ``dataset``
  among them): the table is written for each, even without runs, and ``{dataset}`` in a
  ``published`` template (required then) is the corpus being written (on a stand-in corpus
  with runs: ``dataset``). A name may be declared once per corpus (disjoint ``datasets``: a
  per-class table whose classes differ). A column's ``datasets`` limits it to some of them
  ("n/a" elsewhere, its cells not missing there). ``literature_where_published``: literature
  rows only where published.csv has a row for the corpus (other work per corpus, method x
  modality positions a work did not report).
- ``value_labels``: ``{axis: {value: {label: value}}}``: the cell labels a value of a row axis
  stands for, instead of ``{axis: value}`` (a comparison table's own rows among literature
  rows: ``{method: {w2v-st-sd: {system: w2v, variant: st, setting: sd}}}``).
- ``compare`` (false): Markdown and LaTeX show our numbers only, without the paper and Δ
  columns (a table whose published numbers are lost); the CSV keeps every column.

``figures:`` declares figures. Each is a table (every key above; its rows are the figure's
positions, its columns the values drawn; ``group_by`` excepted) written as a table
(``<paper>_<name>_<dataset>.md/.csv/.tex``) and drawn as ``figures/<paper>_<name>_<dataset>.png``
by ``kind``:

- ``bars``: one group of bars per row (labelled by its printed values joined with "-"), our
  mean with its std, the published value as a marker beside it; ``bars`` lists the headers
  drawn (default: every column; the others stay in the table only); ``rest`` names the
  complement to 100 % stacked on the one bar drawn (a percent column: corrected / rest).
- ``curve``: ``x`` and ``y`` name the columns on the axes; ``points`` the row axis whose values
  are the points of a line, ``connect`` its values joined, in that order (the others are
  reference points, one marker per value, labelled); ``panels`` the row axes with one panel
  per value; the remaining row axes make one line each.
- ``roc``: per-class one-vs-rest ROC curves from the runs' ``predictions.csv`` (ho2020
  Figs. 4-7). ``rows`` end with ``class`` (the classes drawn, in order); the other row axes
  pick the cells, one PNG per cell: ``figures/<paper>_<name>_<dataset>_<cell>.png``, the
  mean curve over the cell's runs (folds x seeds; TPR interpolated on 101 FPR points) with a
  ±1 std band per class, "class (AUC mean ± std)" in the legend (ddof=1), beside it
  ``..._<cell>_auc.md`` / ``.csv`` (per class AUC mean, std, runs used and skipped: a run
  whose truths lack the class is skipped for it). Its one column reads ``roc_auc`` (the
  runs' metrics.json per-class AUC: the table ``<paper>_<name>_<dataset>.md``, with the
  missing-cell commands).

``samples:`` declares listings: the rows of a per-run CSV ``file`` (``corrected.csv``) of
the cells the row axes name (``rows``, ``axes``, ``display``, ``headers``, ``experiment``,
``dataset``, ``class_set``, ``class_sets``, ``per_dataset``, ``sparse``, ``experiments``,
``description`` as for a table), at most ``max_rows`` per cell (its runs by seed and fold,
each file in its order) with every cell's total stated; ``columns`` lists
``{column, header}`` (the file's column, as printed); ``name_header`` heads the column that
names each row's cell by its printed labels joined with "-". Written as
``<paper>_<name>_<dataset>.md`` and ``.csv`` (the rows shown, every column of the file).
Names are unique over a file's tables, figures and listings.

A table position (row values + group value) reads the cell whose labels match its label-axis
values: a cell of the experiment's YAML, else a cell seen in the runs; a position no cell
matches is named by its values joined with "-" (the papers' cell-id convention), so its
missing-cell command still reads ``--cells <id>``. ``defaults`` holds keys every table of the
file shares (a listing takes those it knows); a table's own keys replace them (``display``
and ``headers`` add to them); ``templates`` only holds YAML anchors that tables merge
(``<<: *summary``).
"""
from __future__ import annotations

import dataclasses
import itertools
import string
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ser_keras.config import from_dict, read_yaml
from ser_keras.data.classes import CLASS_SETS, get_class_set
from ser_keras.errors import ConfigError
from ser_keras.evaluation import get_metric
from ser_keras.experiment import read_experiment_yaml
from ser_keras.reporting.runs import CLASS_STATS, LABEL_PREFIX, WEIGHTED
from ser_keras.reporting.tables import (AGGREGATES, DATASET_FIELD, KINDS, RESIDUAL_STATS,
                                        SELECTS, Column, Entry, Row, TableSpec)

FIGURE_KINDS = ("bars", "curve", "roc")

TABLES_FILE = "tables.yaml"
RUN_BLOCK_SEPARATOR = "."  # a metric "<block>.<key>" reads a number of a metrics.json block
CLASS_AXIS, TARGET_AXIS, STRATUM_AXIS = "class", "target", "stratum"
# Placeholders of a published key template besides the axes.
TEMPLATE_FIELDS = ("table", "header", "metric", "published", "dataset")


@dataclasses.dataclass
class ColumnDecl:
    header: str                # as the paper prints it: "ACC", "PRE"
    metric: str                # metric registry name, or a per-class statistic (class axis)
    kind: str = "percent"      # key of tables.KINDS
    published: str = ""        # the metric's name in published.csv; "" = the header
    for_class: str = ""        # a per-class statistic of this one class, in any table
    # cell labels this column adds to its position's (Table 1's {train: iemocap, test: ...})
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    # the corpora (of the table's ``datasets``) the column applies to; elsewhere "n/a"
    datasets: list[str] = dataclasses.field(default_factory=list)

    @property
    def published_name(self) -> str:
        return self.published or self.header


@dataclasses.dataclass
class SignificanceDecl:
    """A significance mark computed per entry: a two-sided independent t-test of the entry's
    per-seed values against those of the baseline cell (the position with ``against``'s
    labels), marked when p < ``alpha``; only positions whose labels are in ``where``."""

    mark: str
    against: dict[str, str]
    where: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    alpha: float = 0.05


@dataclasses.dataclass
class TableDecl:
    paper: str                 # "ho2020": file names, captions, published.csv's folder
    name: str                  # "table3": file names and the published key's {table}
    label: str                 # as the paper names it: "Table 3"
    title: str
    experiment: str            # run.experiment whose runs fill it: "ho2020/table3"
    dataset: str               # the paper's corpus (its numbers are on it)
    rows: list[str]            # row axes, outermost first
    columns: list[ColumnDecl]
    class_set: str = ""        # runs of another class set are left out; needed by a class axis
    class_sets: dict[str, str] = dataclasses.field(default_factory=dict)  # dataset -> its own
    expected_folds: int = 1    # folds of the protocol; a cell with fewer is marked (n=k)
    description: str = ""
    figures: bool = False      # confusion / ROC figures per cell
    group_by: str = ""         # an axis: one column group per value
    axes: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # label axis values
    weighted_average: bool = False  # class axis: a last row with the weighted averages
    display: dict[str, str] = dataclasses.field(default_factory=dict)     # value -> printed
    headers: dict[str, str] = dataclasses.field(default_factory=dict)     # axis -> printed
    published: dict[str, str] | None = None  # published.csv key column -> template
    per_dataset: bool = True   # one table per dataset with runs; false: one over all
    sparse: bool = False       # rows only for positions some cell (declared or run) matches
    experiments: list[str] = dataclasses.field(default_factory=list)  # more whose runs count
    aggregate: str = "runs"    # runs | seeds (per seed the mean over folds, then over seeds)
    select: str = "all"        # all | best (per cell the seed best on validation)
    significance: list[SignificanceDecl] = dataclasses.field(default_factory=list)
    literature: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # axis -> refs
    annotations: list[str] = dataclasses.field(default_factory=list)  # axes read from files
    figure_baseline: dict[str, str] = dataclasses.field(default_factory=dict)  # {model: cnn14}
    note_mark: str = ""        # marks a published cell with a note; default † (‡ with marks)
    figure_where: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # which cells
    figure_select: str = "all"  # all | best: the figures of the seed best on validation
    # axis -> value -> the cell labels that value stands for (a row "W2v-ST-D" of a table
    # whose other rows are literature: {method: {w2v-st-d: {system: w2v, ...}}})
    value_labels: dict[str, dict[str, dict[str, str]]] = dataclasses.field(default_factory=dict)
    compare: bool = True       # false: Markdown and LaTeX show ours only (no published numbers)
    # the paper's corpora when the table covers several (each written even without runs;
    # see TableSpec.datasets); ``dataset`` is one of them
    datasets: list[str] = dataclasses.field(default_factory=list)
    literature_where_published: bool = False  # literature rows only with a number here

    # --- checks --------------------------------------------------------------------------
    def validate(self, where: str) -> None:
        """Every check that needs no run: axes, metrics, kinds, templates (one-line errors)."""
        used = self.table_axes
        if not self.rows:
            raise ConfigError(f"{where}.rows: at least one axis is needed")
        if len(set(used)) != len(used):
            raise ConfigError(f"{where}: axis used twice in rows {self.rows} and group_by")
        special = [a for a in used if a in (CLASS_AXIS, TARGET_AXIS)]
        if len(special) > 1:
            raise ConfigError(f"{where}: a table has a class axis or a target axis, not both")
        if self.aggregate not in AGGREGATES:
            raise ConfigError(f"{where}.aggregate: {self.aggregate!r}; known: "
                              f"{', '.join(AGGREGATES)}")
        for key in ("select", "figure_select"):
            if getattr(self, key) not in SELECTS:
                raise ConfigError(f"{where}.{key}: {getattr(self, key)!r}; known: "
                                  f"{', '.join(SELECTS)}")
        for name in self.annotations:
            if name not in used:
                raise ConfigError(f"{where}.annotations: {name!r} is no axis of the table")
        for j, sig in enumerate(self.significance):
            if not sig.mark or not sig.against:
                raise ConfigError(f"{where}.significance[{j}]: needs a mark and against")
            if not 0 < sig.alpha < 1:
                raise ConfigError(f"{where}.significance[{j}].alpha: in (0, 1)")
        for axis in self.literature:
            if axis not in self.rows:
                raise ConfigError(f"{where}.literature: {axis!r} is no row axis")
        for axis, values in self.value_labels.items():
            if axis not in used or axis in (CLASS_AXIS, TARGET_AXIS, STRATUM_AXIS):
                raise ConfigError(f"{where}.value_labels: {axis!r} is no label axis of the "
                                  "table")
            unknown = sorted(set(values) - {str(v) for v in self.axes.get(axis, [])})
            if unknown:
                raise ConfigError(f"{where}.value_labels.{axis}: {unknown} are no values of "
                                  f"axis {axis!r}")
        if self.datasets and self.dataset not in self.datasets:
            raise ConfigError(f"{where}.datasets: {self.datasets} lacks the table's dataset "
                              f"{self.dataset!r}")
        if len(set(self.datasets)) != len(self.datasets):
            raise ConfigError(f"{where}.datasets: a corpus is listed twice ({self.datasets})")
        if (len(self.datasets) > 1 and self.published is not None and not any(
                "dataset" in _template_fields(t, where) for t in self.published.values())):
            raise ConfigError(f"{where}.published: a table over {self.datasets} needs "
                              "{dataset} in a key (each corpus its own published numbers)")
        for j, column in enumerate(self.columns):
            stray = sorted(set(column.datasets) - set(self.datasets or [self.dataset]))
            if stray:
                raise ConfigError(f"{where}.columns[{j}].datasets: {stray} are no corpora of "
                                  "the table")
        if self.weighted_average and CLASS_AXIS not in used:
            raise ConfigError(f"{where}.weighted_average: needs a {CLASS_AXIS!r} axis")
        for dataset, name in self.class_sets.items():
            if name not in CLASS_SETS:
                raise ConfigError(f"{where}.class_sets.{dataset}: unknown class set {name!r}")
        if CLASS_AXIS in used:
            if not self.class_set:
                raise ConfigError(f"{where}.class_set: a {CLASS_AXIS!r} axis needs one")
            self._classes(where)
        for axis in used:
            if axis != CLASS_AXIS and not self.axes.get(axis):
                raise ConfigError(f"{where}.axes.{axis}: list the values of axis {axis!r}")
        if self.expected_folds < 1:
            raise ConfigError(f"{where}.expected_folds: must be >= 1")
        if not self.columns:
            raise ConfigError(f"{where}.columns: at least one column is needed")
        for j, column in enumerate(self.columns):
            at = f"{where}.columns[{j}]"
            if column.kind not in KINDS:
                raise ConfigError(f"{at}.kind: {column.kind!r}; known: {', '.join(KINDS)}")
            self._metric_name(column.metric, f"{at}.metric", column.for_class)
            clash = sorted(set(column.labels) & set(used))
            if clash:
                raise ConfigError(f"{at}.labels: {clash} are axes of the table already")
            if column.for_class and CLASS_AXIS in used:
                raise ConfigError(f"{at}.for_class: a table with a {CLASS_AXIS!r} axis takes "
                                  "the class from its rows")
            if column.for_class:
                # the table's class sets, or (a table over several corpora) any class set
                names = [n for n in (self.class_set, *self.class_sets.values()) if n]
                known = {c for n in (names or CLASS_SETS) for c in get_class_set(n).classes}
                if column.for_class not in known:
                    raise ConfigError(f"{at}.for_class: {column.for_class!r} is no class of "
                                      f"{', '.join(names) or 'any class set'}")
        if self.published is not None:
            allowed = {*TEMPLATE_FIELDS, CLASS_AXIS, TARGET_AXIS, STRATUM_AXIS, *self.axes,
                       *used, *(k for c in self.columns for k in c.labels)}
            for key, template in self.published.items():
                fields = _template_fields(template, f"{where}.published.{key}")
                unknown = sorted(fields - allowed)
                if unknown:
                    raise ConfigError(f"{where}.published.{key}: unknown placeholder(s) "
                                      f"{unknown}; known: {sorted(allowed)}")

    def _classes(self, where: str) -> list[str]:
        try:
            classes = list(get_class_set(self.class_set).classes)
        except ValueError as err:  # ConfigError is a ValueError too
            raise ConfigError(f"{where}.class_set: {err}") from None
        chosen = self.axes.get(CLASS_AXIS) or classes
        unknown = [c for c in chosen if c not in classes]
        if unknown:
            raise ConfigError(f"{where}.axes.{CLASS_AXIS}: {unknown} not in class set "
                              f"{self.class_set} ({', '.join(classes)})")
        return list(chosen)

    def _metric_name(self, name: str, where: str, for_class: str = "") -> str:
        """The tidy metric an entry reads: a per-class statistic or a canonical metric name."""
        if self.annotations:
            if name not in RESIDUAL_STATS:
                raise ConfigError(f"{where}: {name!r}; a table over annotations reads "
                                  f"{', '.join(RESIDUAL_STATS)}")
            return name
        if RUN_BLOCK_SEPARATOR in name:
            block, _, key = name.partition(RUN_BLOCK_SEPARATOR)
            if not block or not key:
                raise ConfigError(f"{where}: {name!r}; a run-block value is <block>.<key>")
            if CLASS_AXIS in self.table_axes or TARGET_AXIS in self.table_axes or for_class:
                raise ConfigError(f"{where}: {name!r} is a run-level value of block "
                                  f"{block!r}: no per-class or per-target statistic")
            return name
        if CLASS_AXIS in self.table_axes or for_class:
            if name not in CLASS_STATS:
                raise ConfigError(f"{where}: {name!r} is no per-class statistic (a table with "
                                  f"a {CLASS_AXIS!r} axis); known: {', '.join(CLASS_STATS)}")
            return name
        try:
            metric = get_metric(name)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from None
        if TARGET_AXIS in self.table_axes and metric.kind != "regression":
            raise ConfigError(f"{where}: {name!r} is a {metric.kind} metric; a "
                              f"{TARGET_AXIS!r} axis reads regression metrics per target")
        return metric.name

    # --- layout --------------------------------------------------------------------------
    @property
    def table_axes(self) -> list[str]:
        return [*self.rows, *([self.group_by] if self.group_by else [])]

    @property
    def label_axes(self) -> list[str]:
        """The axes that are cell labels (not class, target, stratum or an annotation)."""
        return [a for a in self.table_axes
                if a not in (CLASS_AXIS, TARGET_AXIS, STRATUM_AXIS, *self.annotations)]

    def values(self, axis: str) -> list[str]:
        if axis == CLASS_AXIS:
            return [*self._classes(self.name), *([WEIGHTED] if self.weighted_average else [])]
        return [str(v) for v in self.axes[axis]]

    def shown(self, value: str) -> str:
        return self.display.get(value, _first_upper(value.replace("_", " ")))

    def header_of(self, axis: str) -> str:
        return self.headers.get(axis, _first_upper(axis.replace("_", " ")))

    def positions(self) -> list[dict[str, str]]:
        """Row positions, in table order: {row axis: value}."""
        return [dict(zip(self.rows, combo))
                for combo in itertools.product(*(self.values(a) for a in self.rows))]

    def groups(self) -> list[dict[str, str]]:
        return ([{self.group_by: v} for v in self.values(self.group_by)] if self.group_by
                else [{}])

    def to_spec(self, cell_of, cell_experiments: Mapping[str, str] | None = None,
                corpora: Sequence[tuple[str, str, tuple[str, ...]]] = ()) -> TableSpec:
        """The TableSpec; ``cell_of(labels)`` names the cell of a position's label values;
        ``corpora``: per experiment its default dataset and the corpora it names."""
        columns = tuple(Column(c.header, self.shown(g[self.group_by]) if g else "", c.kind)
                        for g in self.groups() for c in self.columns)

        def named(labels: Mapping[str, str]) -> str:
            cell = cell_of(labels)
            return "-".join(labels.values()) if cell is None else cell

        rows, baselines, figure_cells = [], {}, []
        for position in self.positions():
            labels = tuple(self.shown(position[a]) for a in self.rows)
            entries = []
            reference = any(position.get(a) in v for a, v in self.literature.items())
            # literature rows stay (build_table drops those without published numbers)
            if self.sparse and not reference and all(
                    cell_of(self.cell_labels({**position, **g}, c)) is None
                    for g in self.groups() for c in self.columns):
                continue
            for group in self.groups():
                where = {**position, **group}
                cls = where.get(CLASS_AXIS, where.get(TARGET_AXIS, ""))
                for column in self.columns:
                    metric = self._metric_name(column.metric, self.name, column.for_class)
                    key = self._published_key(where, column, metric)
                    if reference:
                        entries.append(Entry("", metric, published=key))
                        continue
                    cell_labels = self.cell_labels(where, column)
                    cell = named(cell_labels)
                    compare = []
                    for sig in self.significance:
                        if any(cell_labels.get(k) not in v for k, v in sig.where.items()):
                            continue
                        base_labels = {**cell_labels, **sig.against}
                        if base_labels != cell_labels and cell_of(base_labels) is not None:
                            compare.append((sig.mark, cell_of(base_labels), sig.alpha))
                    annotation = next(((a, where[a]) for a in self.annotations), None)
                    if all(cell_labels.get(k) in v for k, v in self.figure_where.items()):
                        figure_cells.append(cell)
                    if self.figure_baseline:
                        base = cell_of({**cell_labels, **self.figure_baseline})
                        if base is not None and base != cell:
                            baselines[cell] = base
                    entries.append(Entry(cell, metric, column.for_class or cls, key,
                                         where.get(STRATUM_AXIS, ""), tuple(compare),
                                         annotation, tuple(column.datasets)))
            rows.append(Row(labels, tuple(entries), tuple(position.items())))
        return TableSpec(
            paper=self.paper, name=self.name, label=self.label, title=self.title,
            experiment=self.experiment, class_set=self.class_set,
            class_sets=tuple(sorted(self.class_sets.items())), dataset=self.dataset,
            expected_folds=self.expected_folds,
            row_header=tuple(self.header_of(a) for a in self.rows), columns=columns,
            rows=tuple(rows), description=self.description, figures=self.figures,
            per_dataset=self.per_dataset,
            experiments=tuple(dict.fromkeys([self.experiment, *self.experiments]))
            if self.experiments else (),
            cell_experiments=tuple(sorted((cell_experiments or {}).items())),
            aggregate=self.aggregate, select=self.select,
            annotations=tuple(self.annotations),
            note_mark=self.note_mark or ("‡" if self.significance else "†"),
            figure_baselines=tuple(sorted(baselines.items())),
            figure_cells=tuple(dict.fromkeys(figure_cells)) if self.figure_where else (),
            figure_select=self.figure_select, compare=self.compare,
            datasets=tuple(self.datasets), experiment_corpora=tuple(corpora),
            literature_where_published=self.literature_where_published)

    def cell_labels(self, where: Mapping[str, str], column: ColumnDecl) -> dict[str, str]:
        """The labels of the cell a position's column reads: its label-axis values (a value
        of ``value_labels`` standing for its labels), then the column's own labels."""
        labels: dict[str, str] = {}
        for axis in self.label_axes:
            labels.update(self.value_labels.get(axis, {}).get(where[axis],
                                                              {axis: where[axis]}))
        return {**labels, **column.labels}

    def _published_key(self, where: Mapping[str, str], column: ColumnDecl, metric: str
                       ) -> tuple[tuple[str, str], ...] | None:
        if self.published is None:
            return None
        fields = {axis: "" for axis in (CLASS_AXIS, TARGET_AXIS, STRATUM_AXIS, *self.axes,
                                        *(k for c in self.columns for k in c.labels))}
        fields.update(where)
        fields.update(column.labels)
        if column.for_class:
            fields[CLASS_AXIS] = column.for_class
        fields.update(table=self.name, header=column.header, metric=metric,
                      published=column.published_name, dataset=DATASET_FIELD)
        return tuple((key, template.format_map(fields))
                     for key, template in self.published.items())


@dataclasses.dataclass
class FigureDecl(TableDecl):
    """A declared figure: a table (every key of ``TableDecl``; its rows are the figure's
    positions, its columns the values drawn, and it is written as a table too) drawn as
    ``kind``: ``bars`` (one group of bars per row), ``curve`` (points joined by lines) or
    ``roc`` (per-class ROC curves of each cell, mean ± std over its runs)."""

    kind: str = "bars"
    bars: list[str] = dataclasses.field(default_factory=list)  # headers drawn; [] = every column
    rest: str = ""             # bars: the complement to 100 % stacked on the one bar, so named
    x: str = ""                # curve: the header of the column on the x axis
    y: str = ""                # curve: the header of the column on the y axis
    points: str = ""           # curve: the row axis whose values are the points of a line
    connect: list[str] = dataclasses.field(default_factory=list)  # curve: joined, in order
    panels: list[str] = dataclasses.field(default_factory=list)   # curve: one panel per value

    def validate(self, where: str) -> None:
        super().validate(where)
        if self.kind not in FIGURE_KINDS:
            raise ConfigError(f"{where}.kind: {self.kind!r}; known: {', '.join(FIGURE_KINDS)}")
        if self.group_by:
            raise ConfigError(f"{where}.group_by: a figure's columns do not repeat; add the "
                              "axis to its rows")
        headers = [c.header for c in self.columns]
        if len(set(headers)) != len(headers):
            raise ConfigError(f"{where}.columns: a header is used twice ({headers})")
        curve_keys = [k for k in ("x", "y", "points", "connect", "panels") if getattr(self, k)]
        if self.kind == "roc":
            extra = curve_keys + [k for k in ("bars", "rest") if getattr(self, k)]
            if extra:
                raise ConfigError(f"{where}: {extra} are no keys of kind roc")
            if not self.rows or self.rows[-1] != CLASS_AXIS or self.weighted_average:
                raise ConfigError(f"{where}.rows: kind roc needs {CLASS_AXIS!r} as the last "
                                  "row axis (without weighted_average)")
            if len(self.columns) != 1 or self.columns[0].metric != "roc_auc":
                raise ConfigError(f"{where}.columns: kind roc has one column, metric roc_auc")
            return
        if self.kind == "bars":
            if curve_keys:
                raise ConfigError(f"{where}: {curve_keys} are keys of kind curve")
            unknown = [b for b in self.bars if b not in headers]
            if unknown:
                raise ConfigError(f"{where}.bars: {unknown} are no column headers ({headers})")
            drawn = [c for c in self.columns if c.header in (self.bars or headers)]
            if self.rest and (len(drawn) != 1 or drawn[0].kind != "percent"):
                raise ConfigError(f"{where}.rest: the complement to 100 % of one percent "
                                  "column; draw one bar")
            return
        if self.bars or self.rest:
            raise ConfigError(f"{where}: bars and rest are keys of kind bars")
        for key in ("x", "y"):
            if getattr(self, key) not in headers:
                raise ConfigError(f"{where}.{key}: {getattr(self, key)!r} is no column "
                                  f"header ({headers})")
        if self.points not in self.rows:
            raise ConfigError(f"{where}.points: {self.points!r} is no row axis ({self.rows})")
        unknown = [v for v in self.connect if v not in self.values(self.points)]
        if unknown:
            raise ConfigError(f"{where}.connect: {unknown} are no values of {self.points!r}")
        for axis in self.panels:
            if axis not in self.rows or axis == self.points:
                raise ConfigError(f"{where}.panels: {axis!r} is no row axis besides points")


@dataclasses.dataclass
class SampleColumn:
    column: str                # a column of the per-run file
    header: str = ""           # as printed; "" = the column's name


@dataclasses.dataclass
class SamplesDecl:
    """A declared listing: rows of a per-run CSV (``file``) of the cells its row axes name,
    at most ``max_rows`` per cell (every run of the cell, by seed and fold, in file order)."""

    paper: str
    name: str
    label: str                 # as the paper names it: "Table I"
    title: str
    experiment: str
    dataset: str
    rows: list[str]            # label axes; their values, in order, name the cells listed
    file: str                  # the file in each run folder: "corrected.csv"
    columns: list[SampleColumn]
    axes: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    max_rows: int = 20
    name_header: str = ""      # header of the column naming a row's cell by its printed labels
    class_set: str = ""
    class_sets: dict[str, str] = dataclasses.field(default_factory=dict)
    display: dict[str, str] = dataclasses.field(default_factory=dict)
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    description: str = ""
    per_dataset: bool = True
    sparse: bool = False
    experiments: list[str] = dataclasses.field(default_factory=list)

    def layout(self) -> TableDecl:
        """The table these cells would make (its positions, printed values and headers)."""
        return TableDecl(
            paper=self.paper, name=self.name, label=self.label, title=self.title,
            experiment=self.experiment, dataset=self.dataset, rows=list(self.rows),
            columns=[], class_set=self.class_set, class_sets=dict(self.class_sets),
            axes=dict(self.axes), display=dict(self.display), headers=dict(self.headers),
            description=self.description, per_dataset=self.per_dataset, sparse=self.sparse,
            experiments=list(self.experiments))

    def validate(self, where: str) -> None:
        if not self.rows:
            raise ConfigError(f"{where}.rows: at least one axis is needed")
        for axis in self.rows:
            if axis in (CLASS_AXIS, TARGET_AXIS, STRATUM_AXIS):
                raise ConfigError(f"{where}.rows: {axis!r}; a listing's axes are cell labels")
            if not self.axes.get(axis):
                raise ConfigError(f"{where}.axes.{axis}: list the values of axis {axis!r}")
        if not self.file or Path(self.file).name != self.file:
            raise ConfigError(f"{where}.file: {self.file!r}; the name of a file in each run "
                              "folder")
        if not self.columns:
            raise ConfigError(f"{where}.columns: at least one column is needed")
        if self.max_rows < 1:
            raise ConfigError(f"{where}.max_rows: must be >= 1")
        for dataset, name in self.class_sets.items():
            if name not in CLASS_SETS:
                raise ConfigError(f"{where}.class_sets.{dataset}: unknown class set {name!r}")

    def to_spec(self, cell_of, cell_experiments: Mapping[str, str] | None = None,
                corpora: Sequence[tuple[str, str, tuple[str, ...]]] = ()) -> TableSpec:
        """A one-column TableSpec whose rows are the listed cells (their runs, commands)."""
        layout = self.layout()
        rows = []
        for position in layout.positions():
            cell = cell_of(position)
            if cell is None:   # sparse: no cell has these labels
                continue
            rows.append(Row(tuple(layout.shown(position[a]) for a in self.rows),
                            (Entry(cell, "rows"),), tuple(position.items())))
        return TableSpec(
            paper=self.paper, name=self.name, label=self.label, title=self.title,
            experiment=self.experiment, class_set=self.class_set,
            class_sets=tuple(sorted(self.class_sets.items())), dataset=self.dataset,
            expected_folds=1, row_header=tuple(layout.header_of(a) for a in self.rows),
            columns=(Column("Rows", kind="count"),), rows=tuple(rows),
            description=self.description, per_dataset=self.per_dataset,
            experiments=tuple(dict.fromkeys([self.experiment, *self.experiments]))
            if self.experiments else (),
            cell_experiments=tuple(sorted((cell_experiments or {}).items())))


@dataclasses.dataclass(frozen=True)
class FigureSpec:
    """A declared figure resolved against the cells: its table and how it is drawn."""

    table: TableSpec
    decl: FigureDecl


@dataclasses.dataclass(frozen=True)
class SamplesSpec:
    """A declared listing resolved against the cells."""

    table: TableSpec
    decl: SamplesDecl


@dataclasses.dataclass
class TablesFile:
    """``experiments/<paper>/tables.yaml``: the paper, shared keys, its tables, figures and
    listings in order."""

    paper: str
    tables: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)
    templates: dict[str, Any] = dataclasses.field(default_factory=dict)  # YAML anchors only
    figures: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    samples: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # corpus count tables (a paper's dataset statistics): read from the store's manifests, not from
    # runs; declared and checked by ser_keras.reporting.corpus
    counts: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PaperDeclarations:
    """What tables.yaml files declare: tables, figures, listings (each in file order)."""

    tables: list[TableDecl] = dataclasses.field(default_factory=list)
    figures: list[FigureDecl] = dataclasses.field(default_factory=list)
    samples: list[SamplesDecl] = dataclasses.field(default_factory=list)

    def __add__(self, other: "PaperDeclarations") -> "PaperDeclarations":
        return PaperDeclarations(self.tables + other.tables, self.figures + other.figures,
                                 self.samples + other.samples)


def _first_upper(text: str) -> str:
    """"weighted average" -> "Weighted average"; unlike str.capitalize, "MELD" stays."""
    return text[:1].upper() + text[1:]


def _template_fields(template: str, where: str) -> set[str]:
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template)
                if field is not None}
    except ValueError as err:
        raise ConfigError(f"{where}: {template!r} is not a template ({err})") from None


# --- loading ---------------------------------------------------------------------------------

def load_paper(path: str | Path) -> PaperDeclarations:
    """The validated tables, figures and listings of one tables.yaml; ConfigError names the
    file. Names are unique over all three (they name the output files)."""
    path = Path(path)
    head = from_dict(TablesFile, read_yaml(path), str(path))
    out, names = PaperDeclarations(), set()
    sample_keys = {f.name for f in dataclasses.fields(SamplesDecl)}
    for section, cls, into in (("tables", TableDecl, out.tables),
                               ("figures", FigureDecl, out.figures),
                               ("samples", SamplesDecl, out.samples)):
        # a listing takes the defaults it knows (not a table's published or expected_folds)
        defaults = ({k: v for k, v in head.defaults.items() if k in sample_keys}
                    if cls is SamplesDecl else head.defaults)
        for i, table in enumerate(getattr(head, section)):
            at = f"{path}: {section}[{i}]"
            if not isinstance(table, Mapping):
                raise ConfigError(f"{at}: expected a mapping, got {table!r}")
            if "paper" in table:
                raise ConfigError(f"{at}.paper: set once, at the top of the file")
            merged = {**defaults, **table, "paper": head.paper}
            for key in ("display", "headers"):  # a table's own names add to the defaults'
                if isinstance(defaults.get(key), Mapping) and isinstance(table.get(key),
                                                                         Mapping):
                    merged[key] = {**defaults[key], **table[key]}
            decl = from_dict(cls, merged, at)
            at = f"{path}: {section}[{i}] ({decl.name})"
            # a name is declared once, or once per corpus (disjoint ``datasets``: a per-class
            # table whose classes differ between corpora); the files are named with them
            datasets = getattr(decl, "datasets", None) or [None]
            clash = [d for d in datasets if (decl.name, d) in names or (
                     (decl.name, None) in names) or (d is None and any(
                         n == decl.name for n, _ in names))]
            if clash:
                raise ConfigError(f"{at}.name: {decl.name!r} is declared twice"
                                  + (" (for one of its datasets)" if clash[0] else ""))
            names.update((decl.name, d) for d in datasets)
            decl.validate(at)
            into.append(decl)
    return out


def load_tables(path: str | Path) -> list[TableDecl]:
    """The validated table declarations of one tables.yaml; ConfigError names the file."""
    return load_paper(path).tables


def declaration_files(experiments_dir: str | Path) -> list[Path]:
    return sorted(Path(experiments_dir).glob(f"*/{TABLES_FILE}"))


def load_declarations(experiments_dir: str | Path) -> list[TableDecl]:
    """Every paper's declared tables, papers sorted by folder, tables in file order."""
    return [d for path in declaration_files(experiments_dir) for d in load_tables(path)]


def load_all(experiments_dir: str | Path) -> PaperDeclarations:
    """Every paper's declared tables, figures and listings (papers sorted by folder)."""
    return sum((load_paper(p) for p in declaration_files(experiments_dir)),
               PaperDeclarations())


def run_blocks(metrics) -> tuple[str, ...]:
    """The metrics.json blocks that metric names ``<block>.<key>`` read (``load_runs``)."""
    return tuple(sorted({m.partition(RUN_BLOCK_SEPARATOR)[0] for m in metrics
                         if RUN_BLOCK_SEPARATOR in m}))


def declared_metrics(decls: PaperDeclarations) -> list[str]:
    """Every metric name a table or figure column reads."""
    return [c.metric for d in (*decls.tables, *decls.figures) for c in d.columns]


# --- resolving positions to cells ------------------------------------------------------------

def experiment_cells(experiments_dir: str | Path, experiment: str) -> dict[str, dict[str, str]]:
    """{cell id: labels} of ``experiments/<experiment>.yaml`` (``extends`` followed); {} when
    there is no such file. Only ``id`` and ``labels`` of each cell are read: ser-train checks
    the rest, and reporting needs no model registry."""
    path = Path(experiments_dir) / f"{experiment}.yaml"
    if not path.is_file():
        return {}
    cells = read_experiment_yaml(path).get("cells") or []
    return {str(c["id"]): {str(k): str(v) for k, v in (c.get("labels") or {}).items()}
            for c in cells if isinstance(c, Mapping) and "id" in c}


def experiment_corpora(experiments_dir: str | Path, experiment: str, default: str
                       ) -> tuple[str, tuple[str, ...]]:
    """(the dataset ``experiments/<experiment>.yaml`` runs on, the corpora of its
    ``datasets:`` block); (``default``, ()) when there is no such file."""
    path = Path(experiments_dir) / f"{experiment}.yaml"
    if not path.is_file():
        return default, ()
    data = read_experiment_yaml(path)
    blocks = data.get("datasets") if isinstance(data.get("datasets"), Mapping) else {}
    return str(data.get("dataset") or default), tuple(str(k) for k in blocks)


def run_cells(runs: pd.DataFrame | None, experiment: str) -> dict[str, dict[str, str]]:
    """{cell id: labels} of the runs of ``experiment`` (one row per distinct cell)."""
    if runs is None or runs.empty:
        return {}
    mine = runs[runs["experiment"] == experiment]
    label_cols = [c for c in mine.columns if c.startswith(LABEL_PREFIX)]
    cells: dict[str, dict[str, str]] = {}
    for cell, group in mine.groupby("cell", sort=True):
        first = group.iloc[0]
        cells[str(cell)] = {c[len(LABEL_PREFIX):]: str(first[c]) for c in label_cols
                            if pd.notna(first[c])}
    return cells


def _matching(cells: Mapping[str, Mapping[str, str]], labels: Mapping[str, str]) -> list[str]:
    return [cid for cid, have in cells.items()
            if all(have.get(k) == v for k, v in labels.items())]


def cell_resolver(decl: TableDecl, declared: Mapping[str, Mapping[str, str]],
                  seen: Mapping[str, Mapping[str, str]]):
    """``cell_of(labels)`` for ``TableDecl.to_spec``: the experiment's cell, else a run's."""
    def cell_of(labels: Mapping[str, str]) -> str:
        hits = _matching(declared, labels)
        if len(hits) > 1:
            raise ConfigError(f"{decl.paper} {decl.name}: cells {hits} of {decl.experiment} "
                              f"all match {dict(labels)}; add the axis that tells them apart")
        if not hits:
            hits = _matching(seen, labels)
            if len(hits) > 1:
                warnings.warn(f"{decl.paper} {decl.name}: runs of cells {hits} all match "
                              f"{dict(labels)}; reading {hits[0]}", stacklevel=3)
        if hits:
            return hits[0]
        if decl.sparse:
            return None
        if declared:
            warnings.warn(f"{decl.paper} {decl.name}: no cell of {decl.experiment} has labels "
                          f"{dict(labels)}", stacklevel=3)
        return "-".join(labels.values())
    return cell_of


def resolve(decl: TableDecl | SamplesDecl, experiments_dir: str | Path,
            runs: pd.DataFrame | None):
    """(``cell_of``, {cell: its experiment}) of a declaration: the cells of its experiments'
    YAMLs, then those seen in the runs (see the module docstring)."""
    declared, seen, owner, corpora = {}, {}, {}, []
    for experiment in dict.fromkeys([decl.experiment, *decl.experiments]):
        corpora.append((experiment, *experiment_corpora(experiments_dir, experiment,
                                                         decl.dataset)))
        cells = experiment_cells(experiments_dir, experiment)
        twice = sorted(set(cells) & set(declared))
        if twice:
            raise ConfigError(f"{decl.paper} {decl.name}: cells {twice} are in two of its "
                              f"experiments ({', '.join([decl.experiment, *decl.experiments])})")
        declared.update(cells)
        owner.update({c: experiment for c in cells})
        ran = run_cells(runs, experiment)
        seen.update(ran)
        owner.update({c: experiment for c in ran if c not in owner})
    return cell_resolver(decl, declared, seen), owner, tuple(corpora)


def table_specs(experiments_dir: str | Path, runs: pd.DataFrame | None = None,
                decls: Sequence[TableDecl] | None = None) -> list[TableSpec]:
    """Every declared table as a TableSpec, its positions resolved to cells (see the module
    docstring); ``decls`` defaults to ``load_declarations(experiments_dir)``."""
    decls = load_declarations(experiments_dir) if decls is None else decls
    return [decl.to_spec(*resolve(decl, experiments_dir, runs)) for decl in decls]


def figure_specs(experiments_dir: str | Path, runs: pd.DataFrame | None = None,
                 decls: Sequence[FigureDecl] | None = None) -> list[FigureSpec]:
    """Every declared figure, its table's positions resolved to cells."""
    decls = load_all(experiments_dir).figures if decls is None else decls
    return [FigureSpec(decl.to_spec(*resolve(decl, experiments_dir, runs)), decl)
            for decl in decls]


def samples_specs(experiments_dir: str | Path, runs: pd.DataFrame | None = None,
                  decls: Sequence[SamplesDecl] | None = None) -> list[SamplesSpec]:
    """Every declared listing, its cells resolved."""
    decls = load_all(experiments_dir).samples if decls is None else decls
    return [SamplesSpec(decl.to_spec(*resolve(decl, experiments_dir, runs)), decl)
            for decl in decls]
