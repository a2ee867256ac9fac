"""Paper tables declared as data: ``experiments/<paper>/tables.yaml`` -> ``TableSpec``.

    from ser_keras.reporting import declared
    decls = declared.load_declarations(experiments_dir())     # every paper's tables.yaml
    specs = declared.table_specs(experiments_dir(), runs)     # resolved against cells and runs

A paper declares each of its tables as rows x columns over axes; no code names a paper.

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
  per-class recall columns).
- ``group_by``: an axis; the columns repeat once per value, under its display name.
- ``published``: the published.csv row of a position, as a template per key column, filled
  with the position's axis values (an axis the table lacks reads ""), ``{table}`` (the
  table's name), ``{header}``, ``{metric}`` and ``{published}`` (the column's).
- ``experiment`` (whose runs fill it), ``dataset`` (the paper's corpus), ``class_set`` (runs
  of another are left out; ``class_sets`` names another per dataset, e.g. the class set of a
  stand-in corpus), ``expected_folds`` (fewer are marked (n=k)), ``figures``
  (confusion / ROC PNGs per cell), ``per_dataset`` (false: one table over every dataset of
  the experiment, ``<paper>_<table>_all``, for cells that name their corpus), ``sparse``
  (true: only the positions some cell matches are rows, for axes not crossed in full).
- ``display`` / ``headers``: how axis values / axis names are printed (default: underscores
  as spaces, the first letter upper-cased: ``weighted_average`` -> "Weighted average").

A table position (row values + group value) reads the cell whose labels match its label-axis
values: a cell of the experiment's YAML, else a cell seen in the runs; a position no cell
matches is named by its values joined with "-" (the papers' cell-id convention), so its
missing-cell command still reads ``--cells <id>``. ``defaults`` holds keys every table of the
file shares; a table's own keys replace them; ``templates`` only holds YAML anchors that
tables merge (``<<: *summary``).
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
from ser_keras.reporting.tables import (AGGREGATES, KINDS, RESIDUAL_STATS, SELECTS, Column,
                                        Entry, Row, TableSpec)

TABLES_FILE = "tables.yaml"
CLASS_AXIS, TARGET_AXIS, STRATUM_AXIS = "class", "target", "stratum"
# Placeholders of a published key template besides the axes.
TEMPLATE_FIELDS = ("table", "header", "metric", "published")


@dataclasses.dataclass
class ColumnDecl:
    header: str                # as the paper prints it: "ACC", "PRE"
    metric: str                # metric registry name, or a per-class statistic (class axis)
    kind: str = "percent"      # key of tables.KINDS
    published: str = ""        # the metric's name in published.csv; "" = the header
    for_class: str = ""        # a per-class statistic of this one class, in any table
    # cell labels this column adds to its position's (Table 1's {train: iemocap, test: ...})
    labels: dict[str, str] = dataclasses.field(default_factory=dict)

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

    def to_spec(self, cell_of, cell_experiments: Mapping[str, str] | None = None
                ) -> TableSpec:
        """The TableSpec; ``cell_of(labels)`` names the cell of a position's label values."""
        columns = tuple(Column(c.header, self.shown(g[self.group_by]) if g else "", c.kind)
                        for g in self.groups() for c in self.columns)

        def named(labels: Mapping[str, str]) -> str:
            cell = cell_of(labels)
            return "-".join(labels.values()) if cell is None else cell

        rows, baselines, figure_cells = [], {}, []
        for position in self.positions():
            labels = tuple(self.shown(position[a]) for a in self.rows)
            entries = []
            if self.sparse and all(
                    cell_of({**{a: {**position, **g}[a] for a in self.label_axes},
                             **c.labels}) is None
                    for g in self.groups() for c in self.columns):
                continue
            reference = any(position.get(a) in v for a, v in self.literature.items())
            for group in self.groups():
                where = {**position, **group}
                cls = where.get(CLASS_AXIS, where.get(TARGET_AXIS, ""))
                for column in self.columns:
                    metric = self._metric_name(column.metric, self.name, column.for_class)
                    key = self._published_key(where, column, metric)
                    if reference:
                        entries.append(Entry("", metric, published=key))
                        continue
                    cell_labels = {**{a: where[a] for a in self.label_axes}, **column.labels}
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
                                         annotation))
            rows.append(Row(labels, tuple(entries)))
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
            figure_select=self.figure_select)

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
                      published=column.published_name)
        return tuple((key, template.format_map(fields))
                     for key, template in self.published.items())


@dataclasses.dataclass
class TablesFile:
    """``experiments/<paper>/tables.yaml``: the paper, shared keys, its tables in order."""

    paper: str
    tables: list[dict[str, Any]]
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)
    templates: dict[str, Any] = dataclasses.field(default_factory=dict)  # YAML anchors only


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

def load_tables(path: str | Path) -> list[TableDecl]:
    """The validated table declarations of one tables.yaml; ConfigError names the file."""
    path = Path(path)
    head = from_dict(TablesFile, read_yaml(path), str(path))
    decls, names = [], set()
    for i, table in enumerate(head.tables):
        at = f"{path}: tables[{i}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{at}: expected a mapping, got {table!r}")
        if "paper" in table:
            raise ConfigError(f"{at}.paper: set once, at the top of the file")
        merged = {**head.defaults, **table, "paper": head.paper}
        for key in ("display", "headers"):  # a table's own names add to the defaults'
            if isinstance(head.defaults.get(key), Mapping) and isinstance(table.get(key), Mapping):
                merged[key] = {**head.defaults[key], **table[key]}
        decl = from_dict(TableDecl, merged, at)
        at = f"{path}: tables[{i}] ({decl.name})"
        if decl.name in names:
            raise ConfigError(f"{at}.name: {decl.name!r} is declared twice")
        names.add(decl.name)
        decl.validate(at)
        decls.append(decl)
    return decls


def declaration_files(experiments_dir: str | Path) -> list[Path]:
    return sorted(Path(experiments_dir).glob(f"*/{TABLES_FILE}"))


def load_declarations(experiments_dir: str | Path) -> list[TableDecl]:
    """Every paper's declared tables, papers sorted by folder, tables in file order."""
    return [d for path in declaration_files(experiments_dir) for d in load_tables(path)]


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


def table_specs(experiments_dir: str | Path, runs: pd.DataFrame | None = None,
                decls: Sequence[TableDecl] | None = None) -> list[TableSpec]:
    """Every declared table as a TableSpec, its positions resolved to cells (see the module
    docstring); ``decls`` defaults to ``load_declarations(experiments_dir)``."""
    decls = load_declarations(experiments_dir) if decls is None else decls
    specs = []
    for decl in decls:
        declared, seen, owner = {}, {}, {}
        for experiment in dict.fromkeys([decl.experiment, *decl.experiments]):
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
        specs.append(decl.to_spec(cell_resolver(decl, declared, seen), owner))
    return specs
