"""Reporting: runs -> the papers' tables (Markdown, CSV, LaTeX) beside the published numbers,
plus confusion-matrix and ROC figures.

    from ser_keras import reporting
    summary = reporting.write_report("results/runs", "results/tables", "experiments")
    runs = reporting.load_runs("results/runs")          # tidy frame, one row per metric

Generic machinery: ``runs`` (collect run folders), ``published`` (the papers' numbers),
``tables`` (specs, aggregation, writers), ``figures``; paper layouts: ``ho2020``; the whole
report: ``report``. The console script is ``ser-report`` (``ser_keras.cli.report``).
"""
from ser_keras.reporting import ho2020
from ser_keras.reporting.figures import confusion_figure, roc_figure
from ser_keras.reporting.published import load_published, lookup
from ser_keras.reporting.report import ReportSummary, all_table_specs, write_report
from ser_keras.reporting.runs import find_run_dirs, load_runs
from ser_keras.reporting.tables import (Column, Entry, Row, TableResult, TableSpec, build_table,
                                        to_csv_frame, to_latex, to_markdown, write_table)

__all__ = ["Column", "Entry", "ReportSummary", "Row", "TableResult", "TableSpec",
           "all_table_specs", "build_table", "confusion_figure", "find_run_dirs", "ho2020",
           "load_published", "load_runs", "lookup", "roc_figure", "to_csv_frame", "to_latex",
           "to_markdown", "write_report", "write_table"]
