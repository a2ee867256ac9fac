"""Reporting: runs -> the papers' tables (Markdown, CSV, LaTeX) beside the published numbers,
a summary of every run, and confusion-matrix and ROC figures.

    from ser_keras import reporting
    summary = reporting.write_report("results/runs", "results/tables", "experiments")
    runs = reporting.load_runs("results/runs")          # tidy frame, one row per metric
    specs = reporting.table_specs("experiments", runs)  # every declared table

Nothing here names a paper: each paper declares its tables, figures and listings in
``experiments/<paper>/tables.yaml`` (``declared``: rows x columns over axes, metrics by their
registry names). Generic machinery: ``runs`` (collect run folders), ``published`` (the papers'
numbers), ``declared`` (tables.yaml -> specs), ``tables`` (specs, aggregation, writers),
``summary`` (every run set), ``figures`` (per-cell figures and the declared figures' charts),
``samples`` (listings of per-run files); the whole report: ``report``. The console script is
``ser-report`` (``ser_keras.cli.report``).
"""
from ser_keras.reporting.declared import (ColumnDecl, FigureDecl, SamplesDecl, TableDecl,
                                          figure_specs, load_declarations, load_paper,
                                          load_tables, samples_specs, table_specs)
from ser_keras.reporting.figures import confusion_figure, roc_figure
from ser_keras.reporting.published import load_published, lookup
from ser_keras.reporting.report import ReportSummary, write_report
from ser_keras.reporting.runs import find_run_dirs, load_runs
from ser_keras.reporting.summary import summarize_runs, write_summary
from ser_keras.reporting.tables import (Column, Entry, Row, TableResult, TableSpec, build_table,
                                        to_csv_frame, to_latex, to_markdown, write_table)

__all__ = ["Column", "ColumnDecl", "Entry", "FigureDecl", "ReportSummary", "Row", "SamplesDecl",
           "TableDecl", "TableResult", "TableSpec", "build_table", "confusion_figure",
           "figure_specs", "find_run_dirs", "load_declarations", "load_paper", "load_published",
           "load_runs", "load_tables", "lookup", "roc_figure", "samples_specs",
           "summarize_runs", "table_specs", "to_csv_frame", "to_latex", "to_markdown",
           "write_report", "write_summary", "write_table"]
