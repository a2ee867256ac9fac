"""Corpus count tables: utterances (and their duration) per class and group, counted from a
prepared store's manifest (not from runs), beside the paper's dataset statistics.

    from ser_keras.reporting import corpus
    decls = corpus.load_counts(experiments_dir())          # every paper's ``counts:``
    result = corpus.build_counts(decls[0], "data", published_frame)
    corpus.write_counts(result, "results/tables")          # <paper>_<name>_<dataset>.md/.csv

A user sees at once whether their corpus release and our filters match the paper's numbers.
Nothing here names a paper: each paper declares its count tables in
``experiments/<paper>/tables.yaml`` under a top-level ``counts:`` list (the file's
``defaults:`` do not apply to them). One entry:

.. code-block:: yaml

    counts:
      - name: table1            # file stem <paper>_<name>_<dataset>; once per dataset
        label: Table 1          # as the paper names it
        title: utterances and duration per emotion
        dataset: iemocap        # the store corpus whose manifest is read
        classes:                # ordered: class -> manifest label codes (or score names)
          angry: [ang]
          neutral: [neu]
        groups:                 # ordered: group value -> {manifest column: [allowed values]}
          improvised: {scenario: [improvised]}
          mixed: {scenario: [improvised, scripted]}   # groups may overlap
        group_axis: scenario    # the groups' axis: header, published key field
        statistics: [count, duration_min]             # default [count]
        layout: classes_as_columns                    # default classes_as_rows
        reading: label          # label (default) | exactly_one | presence
        majority: false         # true: the majority-class baseline (groups train and test)
        total: false            # true: a last class "total", the utterances per group
        display: {neutral: Neutral}   # printed names: classes, group values, statistics,
                                      # the group axis, "class" (the classes' header)
        description: "..."      # a caption paragraph
        published: {table: "{table}", scenario: "{group}", class: "{class}",
                    metric: "{statistic}"}

- ``groups`` (default: one group ``all``, every row): a row is in a group when, for every
  column of its filter, the row's value is one of the listed values (an empty filter: every
  row; rows of no group are not counted, their number is stated). ``group_axis`` (default
  ``group``) is printed as the groups' header. A label code (score name) is in one class.
- Only rows with ``status`` ``ok`` count (the others are listed per status in the caption);
  augmented copies (``source_id`` non-empty) never count (their number is stated).
- ``reading``: how a row's class is found. ``label``: the manifest ``label`` through
  ``classes`` (a code of no class is listed as an "other label" with its count).
  ``exactly_one``: only rows whose ``scores`` (``name=value;...``) have exactly one value > 0,
  counted under that score's class (``classes`` then lists score names); rows with none or
  several are not counted (stated). ``presence``: a row counts once for every class with a
  score > 0 (the counts sum to more than the rows; stated). A manifest without scores under
  these readings is a note in the table, not an error.
- ``statistics``: ``count`` (utterances) and ``duration_min`` (sum of ``duration_s``, or
  ``end_s - start_s`` where it is empty, in minutes, 2 decimals).
- ``majority`` (needs groups ``train`` and ``test``): the class most frequent in ``train``
  and its share of ``test`` (the accuracy of always predicting it; under ``presence`` the
  share of test rows in which it is present; the test rows are those counted under some
  class), printed under the table and as the CSV row of statistic ``majority``; and the
  per-class share of ``test`` in percent (statistic ``test_share_pct``: a column in
  ``classes_as_rows``, a row in ``classes_as_columns``).
- ``published``: the published.csv row of a position, as a template per key column, with
  the fields ``{group}``, ``{class}``, ``{statistic}``, ``{table}`` (the entry's name) and
  ``{dataset}``.

Every position shows ours, the paper's number and Δ = ours − paper ("—" where either is
missing); the notes of the published rows are listed under the table. The CSV is tidy, one
row per position: ``dataset, group, class, statistic, ours, paper, diff, note`` (statistic
``count``, ``duration_min``, ``test_share_pct`` or ``majority``). Without a prepared
store (or without ``--data``) ours are "—" and the table names the ``ser-prepare`` command
that fills it. Mistakes in a declaration are one-line ``ConfigError`` naming the file, the
entry and the key.
"""
from __future__ import annotations

import csv
import dataclasses
import math
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ser_keras.config import from_dict, read_yaml
from ser_keras.errors import ConfigError, StoreError
from ser_keras.reporting.declared import _first_upper, _template_fields, declaration_files
from ser_keras.reporting.published import NOTE_SEPARATOR, lookup
from ser_keras.reporting.tables import MISSING, format_value
from ser_keras.store import (MANIFEST_COLUMNS, STATUS_OK, manifest_path, parse_scores,
                             read_manifest)

SECTION = "counts"
READINGS = ("label", "exactly_one", "presence")
LAYOUTS = ("classes_as_rows", "classes_as_columns")
COUNT, DURATION, TEST_SHARE, MAJORITY = "count", "duration_min", "test_share_pct", "majority"
STATISTICS = (COUNT, DURATION)
# printed header and decimals of every statistic a table shows
STAT_HEADERS = {COUNT: "Count", DURATION: "Duration (min)", TEST_SHARE: "Test share %",
                MAJORITY: "Majority baseline %"}
DECIMALS = {COUNT: 0, DURATION: 2, TEST_SHARE: 2, MAJORITY: 2}
TRAIN, TEST = "train", "test"
ALL_GROUP = "all"
TEMPLATE_FIELDS = ("group", "class", "statistic", "table", "dataset")
NOTE_MARK = "†"
# store corpora that ser-prepare synthesises (no release to point at)
PREPARE_COMMANDS = {"demo": "ser-prepare demo", "demo-msp": "ser-prepare demo --layout msp-podcast"}
CSV_COLUMNS = ("dataset", "group", "class", "statistic", "ours", "paper", "diff", "note")
TOTAL = "total"         # the class of a table's totals (``total: true``)
CLASS_HEADER = "class"  # the header of the classes (``display: {class: Emotion}`` renames it)


def _shown(value: str, display: Mapping[str, str]) -> str:
    """The printed name: ``display``'s, else underscores as spaces, first letter upper-cased."""
    return display.get(value) or _first_upper(value.replace("_", " "))


@dataclasses.dataclass
class CountsDecl:
    """One entry of a tables.yaml ``counts:`` list (see the module docstring)."""

    paper: str                 # set from the file's ``paper:``
    name: str
    label: str
    title: str
    dataset: str
    classes: dict[str, list[str]]
    groups: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict)
    group_axis: str = "group"
    statistics: list[str] = dataclasses.field(default_factory=lambda: [COUNT])
    layout: str = "classes_as_rows"
    reading: str = "label"
    majority: bool = False
    total: bool = False        # a last class "total": the utterances counted per group
    display: dict[str, str] = dataclasses.field(default_factory=dict)
    description: str = ""
    published: dict[str, str] | None = None
    # "<file>: counts[i] (name)": where errors found later (published columns) point
    where: str = dataclasses.field(default="", init=False, repr=False, compare=False)

    def __post_init__(self):
        if not self.groups:
            self.groups = {ALL_GROUP: {}}

    def validate(self, where: str) -> None:
        """Every check that needs no manifest (one-line ConfigError naming the key)."""
        self.where = where
        for key in ("name", "label", "dataset"):
            if not getattr(self, key).strip():
                raise ConfigError(f"{where}.{key}: must not be empty")
        if not self.classes:
            raise ConfigError(f"{where}.classes: at least one class is needed")
        if self.total and TOTAL in self.classes:
            raise ConfigError(f"{where}.classes: {TOTAL!r} is the total's name (total: true)")
        owner: dict[str, str] = {}
        for cls, codes in self.classes.items():
            if not codes:
                raise ConfigError(f"{where}.classes.{cls}: list at least one "
                                  + ("label code" if self.reading == "label" else "score name"))
            for code in codes:
                if code in owner:
                    raise ConfigError(f"{where}.classes.{cls}: {code!r} is already a code of "
                                      f"class {owner[code]!r}")
                owner[code] = cls
        for group, where_ in self.groups.items():
            for column, values in where_.items():
                if column not in MANIFEST_COLUMNS:
                    raise ConfigError(f"{where}.groups.{group}.{column}: not a manifest column; "
                                      f"known: {list(MANIFEST_COLUMNS)}")
                if not values:
                    raise ConfigError(f"{where}.groups.{group}.{column}: list at least one "
                                      "allowed value")
        if not self.statistics:
            raise ConfigError(f"{where}.statistics: at least one of {list(STATISTICS)}")
        for stat in self.statistics:
            if stat not in STATISTICS:
                raise ConfigError(f"{where}.statistics: {stat!r} is no statistic; known: "
                                  f"{list(STATISTICS)}")
        if len(set(self.statistics)) != len(self.statistics):
            raise ConfigError(f"{where}.statistics: a statistic is listed twice")
        if self.layout not in LAYOUTS:
            raise ConfigError(f"{where}.layout: {self.layout!r}; known: {list(LAYOUTS)}")
        if self.reading not in READINGS:
            raise ConfigError(f"{where}.reading: {self.reading!r}; known: {list(READINGS)}")
        if self.majority:
            lacking = [g for g in (TRAIN, TEST) if g not in self.groups]
            if lacking:
                raise ConfigError(f"{where}.majority: needs groups named {TRAIN!r} and "
                                  f"{TEST!r}; groups lack {lacking}")
        names = {*self.shown_classes, *self.groups, *STAT_HEADERS, self.group_axis,
                 CLASS_HEADER}
        unknown = sorted(set(self.display) - names)
        if unknown:
            raise ConfigError(f"{where}.display: {unknown} name no class, group value, "
                              f"statistic, the group axis or {CLASS_HEADER!r}")
        for column, template in (self.published or {}).items():
            fields = _template_fields(template, f"{where}.published.{column}")
            bad = sorted(fields - set(TEMPLATE_FIELDS))
            if bad:
                raise ConfigError(f"{where}.published.{column}: unknown field(s) {bad}; "
                                  f"known: {list(TEMPLATE_FIELDS)}")

    # --- names -----------------------------------------------------------------------------
    @property
    def shown_classes(self) -> list[str]:
        """The classes of the table's positions: the declared ones, then the total."""
        return [*self.classes, *([TOTAL] if self.total else [])]

    def stem(self) -> str:
        return f"{self.paper}_{self.name}_{self.dataset}"

    def shown(self, value: str) -> str:
        if value in STAT_HEADERS and value not in self.display:
            return STAT_HEADERS[value]
        return _shown(value, self.display)

    def statistics_shown(self) -> list[str]:
        """The statistics of the table's positions: the declared ones, and the test share."""
        return [*self.statistics, *([TEST_SHARE] if self.majority else [])]

    def published_key(self, group: str, cls: str, statistic: str) -> dict[str, str] | None:
        if self.published is None:
            return None
        fields = {"group": group, "class": cls, "statistic": statistic, "table": self.name,
                  "dataset": self.dataset}
        return {column: template.format(**fields)
                for column, template in self.published.items()}


def load_counts_file(path: str | Path) -> list[CountsDecl]:
    """The validated ``counts:`` entries of one tables.yaml (``defaults:`` do not apply)."""
    path = Path(path)
    data = read_yaml(path)
    paper = data.get("paper")
    entries = data.get(SECTION) or []
    if not entries:
        return []
    if not isinstance(paper, str) or not paper:
        raise ConfigError(f"{path}: paper: missing (set once, at the top of the file)")
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: {SECTION}: expected a list, got {entries!r}")
    # a count table's files must not overwrite a table's, figure's or listing's
    taken = {str(t.get("name")) for section in ("tables", "figures", "samples")
             for t in (data.get(section) or []) if isinstance(t, Mapping) and "name" in t}
    out, names = [], set()
    for i, entry in enumerate(entries):
        at = f"{path}: {SECTION}[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{at}: expected a mapping, got {entry!r}")
        if "paper" in entry:
            raise ConfigError(f"{at}.paper: set once, at the top of the file")
        decl = from_dict(CountsDecl, {**entry, "paper": paper}, at)
        at = f"{at} ({decl.name})"
        if (decl.name, decl.dataset) in names:  # once per corpus: <paper>_<name>_<dataset>
            raise ConfigError(f"{at}.name: {decl.name!r} is declared twice in {SECTION} for "
                              f"{decl.dataset}")
        if decl.name in taken:
            raise ConfigError(f"{at}.name: {decl.name!r} is also a table, figure or listing "
                              "of the file (their files would collide)")
        names.add((decl.name, decl.dataset))
        decl.validate(at)
        out.append(decl)
    return out


def load_counts(experiments_dir: str | Path) -> list[CountsDecl]:
    """Every paper's count tables (papers sorted by folder, entries in file order)."""
    return [d for path in declaration_files(experiments_dir) for d in load_counts_file(path)]


# === Counting ===

@dataclasses.dataclass
class CountsResult:
    decl: CountsDecl
    manifest: Path | None                 # the manifest read (None: no store given)
    found: bool                           # the manifest was read and counted
    entries: pd.DataFrame                 # one row per position (ENTRY columns below)
    rows_counted: int = 0                 # distinct rows counted under some class
    not_ok: dict[str, int] = dataclasses.field(default_factory=dict)  # status -> rows
    augmented: int = 0                    # augmented copies skipped
    other_labels: dict[str, int] = dataclasses.field(default_factory=dict)
    lines: list[str] = dataclasses.field(default_factory=list)     # caption: what was counted
    status: list[str] = dataclasses.field(default_factory=list)    # notes: problems, commands
    # the majority baseline: class, share, train_count, train_n, test_count, test_n
    majority: dict[str, Any] | None = None
    majority_line: str = ""               # ... as printed under the table

    @property
    def notes(self) -> list[str]:
        """Distinct notes on the published numbers, in table order, one per remark."""
        return list(dict.fromkeys(part for note in self.entries["note"]
                                  for part in note.split(NOTE_SEPARATOR) if part))


ENTRY_COLUMNS = ("group", "class", "statistic", "ours", "paper_mean", "paper_std", "diff",
                 "ours_text", "paper_text", "diff_text", "note")


def _duration(row: Mapping[str, str]) -> float:
    """Seconds: ``duration_s``, else ``end_s - start_s``; NaN when neither is known (or
    it is not positive)."""
    try:
        if row.get("duration_s", "").strip():
            seconds = float(row["duration_s"])
        else:
            seconds = float(row["end_s"]) - float(row["start_s"])
    except (TypeError, ValueError, KeyError):
        return math.nan
    return seconds if seconds > 0 else math.nan   # an empty or reversed interval: unknown


def _in_group(row: Mapping[str, str], where: Mapping[str, Sequence[str]]) -> bool:
    return all(row.get(column, "") in values for column, values in where.items())


def _counter_text(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{name or '(empty)'} {n}" for name, n in
                     sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _has_scores_column(path: Path) -> bool:
    with open(path, encoding="utf-8", newline="") as f:
        return "scores" in next(csv.reader(f), [])


def prepare_command(dataset: str, data_dir: str | Path | None) -> str:
    """The ``ser-prepare`` command that writes the store of ``dataset`` into ``data_dir``."""
    out = data_dir if data_dir is not None else "DIR"
    base = PREPARE_COMMANDS.get(dataset, f"ser-prepare {dataset} <path to the {dataset} "
                                         "release>")
    return f"{base} --out {out}"


def _classes_of(decl: CountsDecl, row: Mapping[str, str], code_class: Mapping[str, str],
                tally: dict[str, Counter]) -> list[str]:
    """The classes a usable row counts under (per the reading); what is not counted is
    tallied in ``tally`` (other labels, reasons)."""
    if decl.reading == "label":
        cls = code_class.get(row["label"])
        if cls is None:
            tally["other"][row["label"]] += 1
            return []
        return [cls]
    text = row.get("scores", "")
    if not text.strip():
        tally["reason"]["without scores"] += 1
        return []
    try:
        scores = parse_scores(text, f"{row['utt_id']}: scores")
    except ValueError as err:
        tally["reason"]["with unreadable scores"] += 1
        tally["error"][str(err)] += 1
        return []
    positive = [name for name, value in scores.items() if value > 0]
    if decl.reading == "exactly_one":
        if len(positive) != 1:
            tally["reason"]["with no score > 0" if not positive else "with ≥ 2 scores > 0"] += 1
            return []
        cls = code_class.get(positive[0])
        if cls is None:
            tally["other"][positive[0]] += 1
            return []
        return [cls]
    classes = list(dict.fromkeys(code_class[n] for n in positive if n in code_class))
    for name in positive:
        if name not in code_class:
            tally["other"][name] += 1
    if not positive:
        tally["reason"]["with no score > 0"] += 1
    return [c for c in decl.classes if c in classes]


def build_counts(decl: CountsDecl, data_dir: str | Path | None,
                 published: pd.DataFrame | None = None) -> CountsResult:
    """Count the manifest of ``decl.dataset`` under ``data_dir`` into the table's positions,
    beside the published numbers (``published``: the paper's published.csv frame)."""
    groups, classes = list(decl.groups), list(decl.classes)
    counts = {(g, c): 0 for g in groups for c in [*classes, TOTAL]}
    seconds = {(g, c): 0.0 for g in groups for c in [*classes, TOTAL]}
    group_rows = Counter()                  # group -> rows counted under some class
    path = manifest_path(data_dir, decl.dataset) if data_dir is not None else None
    result = CountsResult(decl, path, False, pd.DataFrame(columns=list(ENTRY_COLUMNS)))
    scored = decl.reading != "label"
    if path is None or not path.is_file():
        where = (f"No prepared {decl.dataset} store at {path}" if path is not None else
                 f"No prepared {decl.dataset} store given (ser-report --data DIR)")
        result.status.append(f"{where}: `{prepare_command(decl.dataset, data_dir)}` fills it.")
    else:
        try:
            rows = read_manifest(path)
        except StoreError as err:
            rows = None
            result.status.append(f"{err}.")
        if rows is not None and scored and not _has_scores_column(path):
            result.status.append(f"{path}: no scores column; re-run ser-prepare "
                                 f"(`{prepare_command(decl.dataset, data_dir)}`): the "
                                 f"{decl.reading} reading needs the per-utterance scores.")
            rows = None
        if rows is not None:
            result.found = True
            _count(decl, rows, result, counts, seconds, group_rows)
    records = []
    for g, c, stat in _positions(decl):
        if not result.found:
            ours = math.nan
        elif stat == COUNT:
            ours = float(counts[g, c])
        elif stat == DURATION:
            ours = seconds[g, c] / 60.0
        else:  # TEST_SHARE
            n = group_rows[TEST]
            ours = 100.0 * counts[TEST, c] / n if n else math.nan
        records.append(_entry(decl, published, g, c, stat, ours))
    if decl.majority:
        record = _majority(decl, result, counts, group_rows)
        records.append(_entry(decl, published, TEST, record["class"], MAJORITY,
                              record["share"]))
    result.entries = pd.DataFrame(records, columns=list(ENTRY_COLUMNS))
    return result


def _count(decl: CountsDecl, rows: list[dict[str, str]], result: CountsResult, counts,
           seconds, group_rows) -> None:
    """Fill ``counts`` / ``seconds`` / ``group_rows`` from the manifest rows; say in the
    result's caption lines what was (not) counted."""
    code_class = {code: cls for cls, codes in decl.classes.items() for code in codes}
    tally: dict[str, Counter] = {"other": Counter(), "reason": Counter(), "error": Counter()}
    not_ok, augmented, outside, no_duration, counted = Counter(), 0, 0, 0, 0
    presences = 0
    for row in rows:
        if row.get("source_id", "").strip():
            augmented += 1
            continue
        if row.get("status") != STATUS_OK:
            not_ok[row.get("status", "")] += 1
            continue
        member = [g for g, where in decl.groups.items() if _in_group(row, where)]
        if not member:
            outside += 1
            continue
        found = _classes_of(decl, row, code_class, tally)
        if not found:
            continue
        counted += 1
        presences += len(found)
        duration = _duration(row)
        if math.isnan(duration):
            no_duration += 1
        for g in member:
            group_rows[g] += 1
            counts[g, TOTAL] += 1
            if not math.isnan(duration):
                seconds[g, TOTAL] += duration
            for cls in found:
                counts[g, cls] += 1
                if not math.isnan(duration):
                    seconds[g, cls] += duration
    result.rows_counted, result.not_ok, result.augmented = counted, dict(not_ok), augmented
    result.other_labels = dict(tally["other"])
    lines = result.lines
    reading = {
        "label": "each counted under the class of its label",
        "exactly_one": "only utterances whose scores have exactly one value > 0, each counted "
                       "under that score's class",
        "presence": "each counted once for every class whose score is > 0, so the counts sum "
                    f"to more than the utterances ({counted} utterances, {presences} class "
                    "presences)"}[decl.reading]
    lines.append(f"Ours: utterances of {result.manifest} with status ok, {reading}; "
                 f"{counted} utterances counted.")
    if DURATION in decl.statistics:
        lines.append("Duration in minutes: duration_s, else end_s − start_s"
                     + (f"; {no_duration} counted rows without either (no duration)"
                        if no_duration else "") + ".")
    if not_ok:
        lines.append(f"Rows not counted (status): {_counter_text(not_ok)}.")
    if augmented:
        lines.append(f"Augmented copies skipped (source_id set): {augmented}.")
    if outside:
        lines.append(f"Rows of no group (not counted): {outside}.")
    if tally["other"]:
        kind = "labels" if decl.reading == "label" else "scores > 0 of no class"
        lines.append(f"Other {kind} (not counted): {_counter_text(tally['other'])}.")
    if tally["reason"]:
        lines.append(f"Rows not counted ({decl.reading} reading): " + ", ".join(
            f"{n} {reason}" for reason, n in tally["reason"].items()) + ".")
    if tally["error"]:
        more = sum(tally["error"].values()) - 1
        result.status.append(f"{result.manifest}: {next(iter(tally['error']))}"
                             + (f" (and {more} more rows)" if more else "") + ".")


def _majority(decl: CountsDecl, result: CountsResult, counts, group_rows) -> dict[str, Any]:
    """The majority-class baseline: the class most frequent in train (the first in class
    order on ties), its share of the test rows in percent; a caption line."""
    record = {"class": "", "share": math.nan}
    if not result.found or not group_rows[TRAIN]:
        result.majority_line = f"Majority baseline: {MISSING} (" + (
            f"no counted {decl.shown(TRAIN)} rows)." if result.found else "nothing counted).")
        return record
    best = max(decl.classes, key=lambda c: counts[TRAIN, c])  # max keeps the first on ties
    n_test, k_test = group_rows[TEST], counts[TEST, best]
    share = 100.0 * k_test / n_test if n_test else math.nan
    record.update({"class": best, "share": share, "train_count": counts[TRAIN, best],
                   "train_n": group_rows[TRAIN], "test_count": k_test, "test_n": n_test})
    result.majority = record
    what = ("is present in" if decl.reading == "presence" else "is")
    meaning = ("the share of test rows in which it is present" if decl.reading == "presence"
               else "the accuracy of always predicting it")
    share_text = MISSING if math.isnan(share) else f"{share:.2f} %"
    result.majority_line = (
        f"Majority baseline: {decl.shown(best)} (most frequent in {decl.shown(TRAIN)}: "
        f"{counts[TRAIN, best]} of {group_rows[TRAIN]} rows) {what} {share_text} of "
        f"{decl.shown(TEST)} ({k_test} of {n_test} rows): {meaning}.")
    return record


def _positions(decl: CountsDecl) -> list[tuple[str, str, str]]:
    """(group, class, statistic) of every position, in the CSV's order."""
    out = [(g, c, s) for g in decl.groups for c in decl.shown_classes for s in decl.statistics]
    if decl.majority:   # the total's share would be 100 % by definition: none
        out += [(TEST, c, TEST_SHARE) for c in decl.classes]
    return out


def _entry(decl: CountsDecl, published: pd.DataFrame | None, group: str, cls: str,
           stat: str, ours: float) -> dict[str, Any]:
    key = decl.published_key(group, cls, stat) if cls else None
    try:
        paper = lookup(published, key)
    except KeyError as err:
        raise ConfigError(f"{decl.where}.published: {err.args[0]}") from None
    except ValueError as err:
        raise ConfigError(f"{decl.where}.published: {err}") from None
    p_mean, p_std = (paper.mean, paper.std) if paper else (math.nan, math.nan)
    diff = ours - p_mean
    d = DECIMALS[stat]
    return {"group": group, "class": cls, "statistic": stat, "ours": ours,
            "paper_mean": p_mean, "paper_std": p_std, "diff": diff,
            "ours_text": format_value(ours, math.nan, d),
            "paper_text": format_value(p_mean, p_std, d) + (NOTE_MARK if paper and paper.note
                                                       else ""),
            "diff_text": MISSING if math.isnan(diff) else f"{diff:+.{d}f}",
            "note": paper.note if paper else ""}


# === Writers ===

def _title(result: CountsResult) -> str:
    d = result.decl
    return f"{d.paper} {d.label}: {d.title} — dataset: {d.dataset}"


def caption(result: CountsResult) -> list[str]:
    """Caption paragraphs: the description, what was counted, how the paper's numbers read."""
    d = result.decl
    lines = [d.description] if d.description else []
    filters = "; ".join(
        f"{_shown(g, d.display)} = " + (" and ".join(
            f"{col} in {{{', '.join(vals)}}}" for col, vals in where.items()) or "every row")
        for g, where in d.groups.items())
    lines.append(f"{_shown(d.group_axis, d.display)}: {filters}.")
    lines += result.lines
    lines.append(f"Paper: {d.paper} {d.label} as printed. Δ = ours − paper; {NOTE_MARK} the "
                 "paper's cell has a note (see the notes).")
    return lines


def _grid(result: CountsResult) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """(row header, row labels, cells) of the Markdown table in the declared layout; the
    cells of a position are ours, paper, Δ."""
    d, entries = result.decl, result.entries
    by_key = {(e["group"], e["class"], e["statistic"]): e for _, e in entries.iterrows()}
    pairs = [(g, s) for g in d.groups for s in d.statistics]
    if d.majority:
        pairs.append((TEST, TEST_SHARE))
    one_stat = len(d.statistics) == 1

    def pair_label(g, s):
        if s == TEST_SHARE:
            return d.shown(TEST_SHARE)
        return _shown(g, d.display) if one_stat else f"{_shown(g, d.display)} {d.shown(s)}"

    def three(e):  # a position the table has not (the total's test share): blank
        return ["", "", ""] if e is None else [e["ours_text"], e["paper_text"], e["diff_text"]]

    if d.layout == "classes_as_rows":
        header = [_shown(CLASS_HEADER, d.display)]
        for g, s in pairs:
            label = pair_label(g, s)
            header += [label, f"{label} paper", f"{label} Δ"]
        labels = [[d.shown(c)] for c in d.shown_classes]
        cells = [[x for g, s in pairs for x in three(by_key.get((g, c, s)))]
                 for c in d.shown_classes]
        return header, labels, cells
    header = [_shown(d.group_axis, d.display)] + ([] if one_stat else ["Statistic"])
    for c in d.shown_classes:
        header += [d.shown(c), f"{d.shown(c)} paper", f"{d.shown(c)} Δ"]
    labels = [[_shown(g, d.display)] + ([] if one_stat else [d.shown(s)]) for g, s in pairs]
    if one_stat and d.majority:  # only the test share row differs in statistic: name it
        labels[-1] = [f"{_shown(TEST, d.display)} ({d.shown(TEST_SHARE)})"]
    cells = [[x for c in d.shown_classes for x in three(by_key.get((g, c, s)))]
             for g, s in pairs]
    return header, labels, cells


def to_markdown(result: CountsResult) -> str:
    """The count table in Markdown: title, caption, the pipe table, notes."""
    out = [f"# {_title(result)}", ""]
    out += [f"{line}\n" for line in caption(result)]
    header, labels, cells = _grid(result)
    n_lab = len(labels[0]) if labels else 1
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join([":--"] * n_lab + ["--:"] * (len(header) - n_lab)) + "|")
    for lab, row in zip(labels, cells):
        out.append("| " + " | ".join(lab + row) + " |")
    out.append("")
    if result.majority_line:
        out += [result.majority_line, ""]
    if result.status:
        out += [f"Note: {line}" for line in result.status] + [""]
    if result.notes:
        out += [f"Notes on the published numbers ({NOTE_MARK}):", ""]
        out += [f"- {note}" for note in result.notes] + [""]
    return "\n".join(out)


def to_csv_frame(result: CountsResult) -> pd.DataFrame:
    """The tidy CSV: one row per position (a last row of statistic ``majority`` with
    ``majority: true``); ``ours``, ``paper`` (the published number) and ``diff`` in the
    table's units (counts, minutes, percent), empty where missing."""
    d, e = result.decl, result.entries

    def numbers(column: str) -> pd.Series:  # counts as integers; NaN is written empty
        return pd.Series([int(v) if s == COUNT and not math.isnan(v) and v.is_integer()
                          else v for s, v in zip(e["statistic"], e[column].astype(float))],
                         index=e.index, dtype=object)

    return pd.DataFrame({"dataset": d.dataset, "group": e["group"], "class": e["class"],
                         "statistic": e["statistic"], "ours": numbers("ours"),
                         "paper": numbers("paper_mean"), "diff": numbers("diff"),
                         "note": e["note"]}, columns=list(CSV_COLUMNS))


def write_counts(result: CountsResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``<paper>_<name>_<dataset>.md`` and ``.csv`` into ``out_dir``; {suffix: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {s: out_dir / f"{result.decl.stem()}.{s}" for s in ("md", "csv")}
    paths["md"].write_text(to_markdown(result), encoding="utf-8")
    to_csv_frame(result).to_csv(paths["csv"], index=False)
    return paths


def summary_line(result: CountsResult) -> str:
    """One console line: which count table, what was counted (or that the store is lacking)."""
    d = result.decl
    head = f"{d.paper} {d.name} [{d.dataset}]: "
    if result.found:
        return head + f"{result.rows_counted} utterances counted from {result.manifest}"
    return head + f"no counts ({result.status[0] if result.status else 'no store'})"


__all__ = ["CountsDecl", "CountsResult", "build_counts", "load_counts", "load_counts_file",
           "prepare_command", "summary_line", "to_csv_frame", "to_markdown", "write_counts"]
