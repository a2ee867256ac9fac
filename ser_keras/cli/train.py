"""``ser-train``: train the cells of a paper table, or one model, fold by fold, seed by seed.

    ser-train --experiment ho2020/table3 [--dataset demo] [--cells improvised-audio] [--folds 0,1]
    ser-train --model mmfa --dataset demo [--classes iemocap4] [--scenario mixed] [--protocol loso10]

Every (cell, fold, seed) is a separate job with its own run folder; finished jobs are skipped
and an interrupted one resumes, so the same command can be re-run until everything is done,
or split over machines with --cells/--folds/--seeds.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from ser_keras.config import ConfigError, experiment_from_dict, load_experiment


def _ints(value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}")\
            from None


def build_parser() -> argparse.ArgumentParser:
    from ser_keras.training.strategy import STRATEGIES

    p = argparse.ArgumentParser(prog="ser-train", description=__doc__.splitlines()[0])
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--experiment", help="a paper table, e.g. ho2020/table3, or a YAML path")
    what.add_argument("--model", help="train one registered model (ad-hoc experiment)")
    p.add_argument("--dataset", help="prepared corpus to use (default: the experiment's)")
    p.add_argument("--test-dataset",
                   help="cross-corpus: test every job on this prepared corpus (whole), through "
                        "a class set that maps both corpora (e.g. rst7, cross4)")
    p.add_argument("--classes", default="iemocap4", help="class set for --model")
    p.add_argument("--scenario", default="mixed", help="improvised or mixed, for --model")
    p.add_argument("--protocol", default="loso10", help="protocol for --model")
    p.add_argument("--cells", help="comma-separated cell ids of the experiment (default: all)")
    p.add_argument("--folds", type=_ints, help="fold indices (default: all)")
    p.add_argument("--seeds", type=_ints, help="seeds (default: the experiment's)")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted config override, e.g. training.batch_size=64 (repeatable)")
    p.add_argument("--data", default=os.environ.get("SER_KERAS_DATA", "data"),
                   help="store root (default: $SER_KERAS_DATA or ./data)")
    p.add_argument("--runs", default="results/runs", help="runs root (default: %(default)s)")
    p.add_argument("--strategy", default="auto", choices=STRATEGIES)
    p.add_argument("--cpu-replicas", type=int, default=None,
                   help="with --strategy mirrored and no GPU: logical CPU devices to mirror over")
    p.add_argument("--mixed-precision", action="store_true",
                   help="mixed_float16 on GPU, mixed_bfloat16 on CPU")
    p.add_argument("--force", action="store_true", help="retrain jobs that are done")
    return p


def _experiment(args):
    overrides = list(args.set)
    overrides.append(f"data_dir={args.data}")
    if args.dataset:
        overrides.append(f"dataset={args.dataset}")
    if args.test_dataset:
        overrides.append(f"test_dataset={args.test_dataset}")
    if args.epochs:
        overrides.append(f"training.epochs={args.epochs}")
    if args.seeds:
        overrides.append(f"seeds={args.seeds}")
    if args.experiment:
        return load_experiment(args.experiment, overrides)
    from ser_keras import models
    from ser_keras.config import apply_overrides

    try:
        entry = models.get_entry(args.model)
    except (KeyError, ValueError) as err:
        raise ConfigError(str(err)) from None
    modality = "multimodal" if len(entry.modalities) > 1 else entry.modalities[0]
    data = {"name": f"{args.model}-{args.classes}-{args.protocol}", "class_set": args.classes,
            "protocol": args.protocol, "dataset": args.dataset or "iemocap",
            "cells": [{"scenario": args.scenario, "modality": modality, "model": args.model}]}
    return experiment_from_dict(apply_overrides(data, overrides), "command line")


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        exp = _experiment(args)
        cells = [exp.cell(c) for c in args.cells.split(",")] if args.cells else exp.cells
    except ConfigError as err:
        print(f"ser-train: error: {err}", file=sys.stderr)
        return 2
    if args.mixed_precision:
        exp.training.precision = "mixed_float16" if _has_gpu() else "mixed_bfloat16"
    from ser_keras import store
    from ser_keras.data import ProtocolError
    from ser_keras.training import ExperimentData, make_strategy, run_job

    try:
        data = ExperimentData(exp)
    except store.StoreError as err:
        print(f"ser-train: error: {err}", file=sys.stderr)
        return 2
    strategy = make_strategy(args.strategy, args.cpu_replicas)
    print(f"{exp.name} on {exp.dataset}: {len(cells)} cell(s), seeds {exp.seeds}, "
          f"{strategy.num_replicas_in_sync} replica(s); runs in {args.runs}")
    started, done = time.perf_counter(), 0
    try:
        for cell in cells:
            folds = range(len(data.selection(cell.scenario)[2]))
            chosen = args.folds if args.folds is not None else (exp.folds or list(folds))
            for fold in chosen:
                for seed in exp.seeds:
                    run_job(exp, cell, fold, seed, args.runs, data, strategy, args.force)
                    done += 1
    except (store.StoreError, ProtocolError) as err:
        print(f"ser-train: error: {err}", file=sys.stderr)
        return 2
    print(f"{done} job(s) in {time.perf_counter() - started:.0f}s; report: ser-report "
          f"--runs {args.runs}")
    return 0


def _has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


if __name__ == "__main__":
    sys.exit(main())
