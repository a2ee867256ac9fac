"""``ser-tune``: search a cell's hyperparameters with Optuna, scored on validation only.

    ser-tune --experiment alqurashi2024/table2 --cell lstm-st-sd [--trials 30] [--dataset demo]
    ser-tune --experiment my.yaml --cell vec --study results/tune/mine --epochs 5
    ser-train --experiment alqurashi2024/table2 --cells lstm-st-sd \
        --config results/tune/alqurashi2024/table2/lstm-st-sd/best.yaml

The search space is the experiment's (or the cell's) ``tune:`` block (``ser_keras.tuning``).
Each trial trains the cell on the tune folds with the experiment's first seed, in
``<study>/trials/trial-NNNN/``, and is scored by its validation selection value; the test
split is never read for scoring. The study is kept in ``<study>/optuna.db``: re-running the
same command resumes it (only missing trials run; one a killed run left is retried first).
``<study>/best.yaml`` holds the best values for ``ser-train --config``, ``<study>/trials.csv``
every trial. The experiment options are ser-train's (--set, --cell-set, --config,
--dataset, ...). A mistake is a one-line error (exit 2).
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

from ser_keras.errors import SerKerasError


def build_parser() -> argparse.ArgumentParser:
    from ser_keras.cli.train import add_experiment_options

    p = argparse.ArgumentParser(prog="ser-tune", description=__doc__.splitlines()[0])
    p.add_argument("--experiment", required=True,
                   help="a paper table, e.g. alqurashi2024/table2, or a YAML path")
    p.add_argument("--cell", required=True, help="the cell whose tune space to search")
    p.add_argument("--trials", type=int,
                   help="finished trials to reach (default: the tune block's trials)")
    p.add_argument("--study", help="study folder (default: results/tune/<experiment>/<cell>)")
    add_experiment_options(p)
    # ser-train's experiment_from_args reads these; a search has one cell and one seed
    p.set_defaults(model=None, seeds=None)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    from ser_keras import tuning
    from ser_keras.cli.train import experiment_from_args, experiment_overrides

    started = time.perf_counter()
    try:
        tuning.require_optuna()  # before TensorFlow starts: the missing extra is said first
        from ser_keras.training.strategy import make_strategy

        strategy = make_strategy("auto")
        exp = experiment_from_args(args)
        overrides, cell_overrides = experiment_overrides(args)
        searched_with = [*(f"--set {shlex.quote(o)}" for o in overrides
                           if not o.startswith("data_dir=")),
                         *(f"--cell-set {shlex.quote(o)}" for o in cell_overrides)]
        result = tuning.tune(exp, args.cell, args.study, trials=args.trials, strategy=strategy,
                             search_arguments=searched_with, experiment_ref=args.experiment)
    except SerKerasError as err:
        print(f"ser-tune: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ser-tune: interrupted; the same command resumes the search (the trial that was "
              "running runs again first)", file=sys.stderr)
        return 130
    print(f"{result.ran} trial(s) in {time.perf_counter() - started:.0f}s; {result.finished} "
          f"finished in {result.study_dir} (trials.csv)")
    if result.best is None:
        print("no trial has completed yet: no best.yaml")
        return 0
    best = result.best
    print(f"best: trial {best['trial']}, validation {best['metric']} {best['value']:.4f}; "
          f"{best['path']}")
    print(f"  ser-train --experiment {args.experiment} --cells {args.cell} "
          f"--config {best['path']}")
    print(f"  or: ser-train --experiment {args.experiment} --cells {args.cell} "
          + " ".join(result.cell_set))
    print(f"  (add --force where {args.cell} has finished runs of its old values; the cells "
          f"computed from its runs are redone when the experiment is run again)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
