"""``ser-report``: regenerate the papers' tables from the runs, beside the published numbers,
and summarise every run.

    ser-report [--runs results/runs] [--out results/tables] [--experiments DIR]
               [--annotations dialogue_act=acts.csv] [--data DIR]

Writes, for every table declared in ``<experiments>/*/tables.yaml`` and every dataset with
runs (the paper's own dataset when there are none): ``<out>/<paper>_<table>_<dataset>.md``,
``.csv`` and ``.tex``; figures under ``<out>/figures/``
(``<paper>_<table>_<dataset>_<cell>_confusion.png`` and ``..._roc.png``); the summary of every
run set under ``--runs``, paper table or ad-hoc run (``<out>/runs_summary.md`` / ``.csv``, a
confusion PNG per classification run set); and an index ``<out>/README.md``. Works with no
runs at all: the tables then show "—" and list the ``ser-train`` commands that fill them.
The declared count tables (``<out>/<paper>_<counts>_<dataset>.md`` / ``.csv``: utterances
and durations per class, ``ser_keras.reporting.corpus``) are counted from the prepared store
under ``--data``; without a prepared corpus they show "—" and the ``ser-prepare`` command.
A bad tables.yaml is a one-line error (exit 2). The work is
``ser_keras.reporting.write_report``.
"""
from __future__ import annotations

import argparse
import os
import sys

from ser_keras.config import experiments_dir
from ser_keras.errors import SerKerasError
from ser_keras.reporting import write_report
from ser_keras.reporting.report import read_annotations


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ser-report", description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="results/runs",
                   help="runs root, searched at any depth for metrics.json (default: %(default)s)")
    p.add_argument("--out", default="results/tables",
                   help="output folder for tables, figures and README.md (default: %(default)s)")
    p.add_argument("--experiments", default=None,
                   help="experiments folder holding <paper>/tables.yaml and published.csv "
                        "(default: $SER_KERAS_EXPERIMENTS or the experiments/ folder beside "
                        "the package)")
    p.add_argument("--annotations", action="append", default=[], metavar="NAME=CSV",
                   help="a per-utterance annotation file (header utt_id,<value>) for the "
                        "tables that test residuals per value, e.g. dialogue_act=acts.csv "
                        "(triantafyllopoulos2022 Table 4); repeatable")
    p.add_argument("--data", default=os.environ.get("SER_KERAS_DATA", "data"),
                   help="store root whose manifests the count tables read "
                        "(default: $SER_KERAS_DATA or ./data)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    experiments = args.experiments or experiments_dir()
    try:
        items = {}
        for item in args.annotations:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise ValueError(f"--annotations {item!r}: expected NAME=CSV")
            items[name] = path
        annotations = read_annotations(items)
    except ValueError as err:
        print(f"ser-report: error: {err}", file=sys.stderr)
        return 2
    try:
        summary = write_report(args.runs, args.out, experiments, annotations=annotations,
                               data_dir=args.data)
    except SerKerasError as err:
        print(f"ser-report: error: {err}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
