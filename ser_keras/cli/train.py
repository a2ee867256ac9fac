"""``ser-train``: train the cells of a paper table, or one model, fold by fold, seed by seed.

    ser-train --experiment ho2020/table3 [--dataset demo] [--cells improvised-audio] [--folds 0,1]
    ser-train --model mlp --dataset urdu --classes urdu4 --protocol speaker-kfold \
        --features audio=egemaps_func
    ser-train --model mmfa --dataset demo [--classes iemocap4] [--scenario mixed] [--protocol loso10]
    ser-train --experiment alqurashi2024/table2 --cells lstm-st-sd --config best.yaml  # ser-tune's

Every (cell, fold, seed) is a separate job with its own run folder; finished jobs are skipped
and an interrupted one resumes, so the same command can be re-run until everything is done,
or split over machines with --cells/--folds/--seeds. The whole experiment (models, inputs,
recipe) is checked before any data is read; a mistake is a one-line error (exit 2).

On a cluster, ``--list-jobs`` prints the jobs of the command, one a line
(``INDEX CELL fold F seed S STATE[ stage N after CELL,...]``), and ``--job-index I`` runs
only the I-th of them: a scheduler's array (``--job-index $SLURM_ARRAY_TASK_ID``) runs an
experiment in parallel. Jobs that read other cells' finished runs (late fusion, evaluate,
hierarchical rule cells) come after all the others and say which cells they read.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

from ser_keras.config import parse_input_mapping, yaml_line
from ser_keras.errors import SerKerasError


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
    what.add_argument("--model", help="train one registered model (ad-hoc experiment, with "
                      "its family's recipe; ser-models lists them)")
    add_experiment_options(p)
    p.add_argument("--classes", default="iemocap4", help="class set for --model")
    p.add_argument("--scenario", default="mixed", help="improvised or mixed, for --model")
    p.add_argument("--protocol", default="loso10", help="protocol for --model")
    p.add_argument("--cells", help="comma-separated cell ids of the experiment (default: all)")
    p.add_argument("--folds", type=_ints, help="fold indices (default: all)")
    p.add_argument("--seeds", type=_ints, help="seeds (default: the experiment's)")
    p.add_argument("--runs", default="results/runs", help="runs root (default: %(default)s)")
    p.add_argument("--strategy", default="auto", choices=STRATEGIES)
    p.add_argument("--cpu-replicas", type=int, default=None,
                   help="with --strategy mirrored and no GPU: logical CPU devices to mirror over")
    p.add_argument("--force", action="store_true", help="retrain jobs that are done")
    p.add_argument("--wait", action="store_true",
                   help="wait for a job that another process is training (its lock) instead "
                        "of failing at once")
    p.add_argument("--list-jobs", action="store_true",
                   help="print the jobs this command runs, one a line: 'INDEX CELL fold F seed "
                        "S STATE' (STATE: done, todo, resumes, redo or other-config), with "
                        "' stage N after CELL,...' for the jobs that read those cells' "
                        "finished runs (listed after them); train nothing")
    p.add_argument("--job-index", type=int, metavar="I",
                   help="run only the I-th job (0-based) of --list-jobs' list, e.g. "
                        "--job-index $SLURM_ARRAY_TASK_ID")
    p.add_argument("--tensorboard", nargs="?", const=True, default=None, metavar="DIR",
                   help="write TensorBoard logs of every job: into <run folder>/tensorboard, "
                        "or with DIR into DIR/<experiment>/<dataset>/<cell>/fold<FF>-seed<S> "
                        "(tensorboard --logdir DIR); not part of the job's config")
    return p


def add_experiment_options(p: argparse.ArgumentParser) -> None:
    """The options that adjust the experiment a command runs (``ser-tune`` takes them too)."""
    p.add_argument("--dataset", help="prepared corpus to use (default: the experiment's)")
    p.add_argument("--test-dataset",
                   help="cross-corpus: test every job on this prepared corpus (whole), through "
                        "a class set that maps both corpora (e.g. rst7, cross4)")
    p.add_argument("--config", action="append", default=[], metavar="FILE",
                   help="a YAML file of overrides, applied before --set (repeatable): dotted "
                        "keys as --set takes them, and 'cells: {PATTERN: {KEY: VALUE}}' as "
                        "--cell-set takes them; 'tuned:' (what ser-tune found) is read, not "
                        "applied. ser-tune's best.yaml is such a file")
    p.add_argument("--cell-set", action="append", default=[], metavar="PATTERN:KEY=VALUE",
                   help="override KEY over the own overrides of the cells whose ids match "
                        "the glob PATTERN, e.g. '*-bert*:training.schedule.options."
                        "total_steps=100' (repeatable)")
    p.add_argument("--stand-in", metavar="CORPUS=PREPARED,...",
                   help="read these prepared corpora in place of the corpora the experiment's "
                        "cells name, e.g. iemocap=demo,msp-podcast=demo-msp (a demo of a "
                        "cross-corpus table)")
    p.add_argument("--features", metavar="INPUT=SET[+SET],...",
                   help="feature sets feeding the model's inputs, e.g. audio=mfcc39_smile,"
                        "text=bert_tokens or audio=mfcc39_mean+prosody8 (default: the "
                        "model's or the experiment's)")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted config override, e.g. training.batch_size=64 (repeatable)")
    p.add_argument("--data", default=os.environ.get("SER_KERAS_DATA", "data"),
                   help="store root (default: $SER_KERAS_DATA or ./data)")
    p.add_argument("--mixed-precision", action="store_true",
                   help="mixed_float16 on GPU, mixed_bfloat16 on CPU")


def read_config_file(path: str) -> tuple[list[str], list[str]]:
    """A ``--config`` file as (``--set`` overrides, ``--cell-set`` overrides), in file order.

    Top-level keys are dotted overrides (``training.learning_rate: 1.0e-4``; a mapping value
    merges key by key, as ``--set training={...}`` does); ``cells: {PATTERN: {KEY: VALUE}}``
    overrides the cells whose ids match the glob; ``tuned`` records where the values come from
    (ser-tune's best.yaml) and is not applied."""
    from pathlib import Path

    from ser_keras.config import read_yaml
    from ser_keras.errors import ConfigError

    if not Path(path).is_file():
        raise ConfigError(f"--config {path}: no such file")
    data = read_yaml(path)
    data.pop("tuned", None)
    cells = data.pop("cells", None) or {}
    if not isinstance(cells, dict) or not all(isinstance(v, dict) for v in cells.values()):
        raise ConfigError(f"--config {path}: cells: a mapping of cell-id patterns to "
                          "mappings of dotted keys, e.g. {'*-audio': {training.epochs: 5}}")
    overrides = [f"{key}={yaml_line(value)}" for key, value in data.items()]
    cell_overrides = [f"{pattern}:{key}={yaml_line(value)}"
                      for pattern, items in cells.items() for key, value in items.items()]
    return overrides, cell_overrides


def experiment_overrides(args) -> tuple[list[str], list[str]]:
    """The (``--set``, ``--cell-set``) overrides that the options of ``add_experiment_options``
    (and ``--seeds``) ask for, in the order they apply: the ``--config`` files, in order, then
    ``--set`` and the named options, which win."""
    overrides, cell_overrides = [], []
    for path in args.config:
        more, more_cells = read_config_file(path)
        overrides += more
        cell_overrides += more_cells
    overrides += args.set
    cell_overrides += args.cell_set
    overrides.append(f"data_dir={args.data}")
    if args.dataset:
        overrides.append(f"dataset={args.dataset}")
    if args.test_dataset:
        overrides.append(f"test_dataset={args.test_dataset}")
    if args.stand_in:
        overrides += [f"stand_ins.{k}={v}" for k, v in parse_input_mapping(args.stand_in,
                                                                             "--stand-in").items()]
    if args.epochs:
        overrides.append(f"training.epochs={args.epochs}")
    if args.seeds:
        overrides.append(f"seeds={args.seeds}")
    if args.mixed_precision:
        overrides.append("training.precision="
                         + ("mixed_float16" if _has_gpu() else "mixed_bfloat16"))
    return overrides, cell_overrides


def experiment_from_args(args):
    """The experiment (``--experiment``, or ad hoc with ``--model``) the options describe."""
    from ser_keras.experiment import adhoc_experiment, load_experiment

    overrides, cell_overrides = experiment_overrides(args)
    features = parse_input_mapping(args.features) if args.features else {}
    if args.experiment:
        overrides += [f"inputs.{k}={v}" for k, v in features.items()]
        return load_experiment(args.experiment, overrides, cell_overrides)
    return adhoc_experiment(args.model, dataset=args.dataset or "iemocap",
                            class_set=args.classes, protocol=args.protocol,
                            scenario=args.scenario, inputs=features, overrides=overrides)


@dataclasses.dataclass(frozen=True)
class Job:
    """One job of a command, as --list-jobs prints it and --job-index picks it."""

    cell: str
    fold: int
    seed: int
    stage: int = 0                    # > 0: reads the finished runs of ``after``
    after: tuple[str, ...] = ()

    def line(self, index: int, state: str) -> str:
        line = f"{index} {self.cell} fold {self.fold} seed {self.seed} {state}"
        if self.stage:
            line += f" stage {self.stage} after {','.join(self.after)}"
        return line


def list_jobs(exp, data, cell_ids: list[str] | None, folds: list[int] | None,
              note=print) -> list[Job]:
    """The jobs of a command in the order it runs them: cells by stage (the tasks that read
    finished runs after the cells they read), each cell's folds, each fold's seeds. The same
    for every process given the same command (the index of --job-index)."""
    from ser_keras.training.tasks import TASKS

    cells = [exp.cell(c) for c in cell_ids] if cell_ids else list(exp.cells)
    stage = {c.id: TASKS.get(data.plans[c.id].config.task).stage_of(data.plans[c.id].config)
             for c in cells}
    cells = sorted(cells, key=lambda c: stage[c.id])   # stable: the experiment's order
    jobs = []
    for cell in cells:
        config = data.plans[cell.id].config
        count = data.fold_count(config)
        chosen = folds if folds is not None else (config.folds or list(range(count)))
        beyond = [f for f in chosen if not 0 <= f < count]
        if beyond and folds is not None:
            # --folds 0,1 over cells of a 10-fold and a 1-fold protocol: each runs its own
            note(f"{cell.id}: {config.protocol} has {count} fold(s); skipping "
                 f"fold(s) {', '.join(map(str, beyond))}")
            chosen = [f for f in chosen if 0 <= f < count]
        after = _sources(config) if stage[cell.id] else ()
        jobs += [Job(cell.id, fold, seed, stage[cell.id], after)
                 for fold in chosen for seed in config.seeds]
    return jobs


def _sources(config) -> tuple[str, ...]:
    """The cells whose finished runs a cell of a later stage reads (``task_options``:
    ``source`` of evaluate and hierarchical rule cells, ``sources`` of a late fusion)."""
    options = config.task_options or {}
    sources = options.get("sources") or []
    if options.get("source"):
        sources = [options["source"], *sources]
    return tuple(dict.fromkeys(str(s) for s in sources))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    from ser_keras.training.strategy import make_strategy

    try:
        # First: logical CPU devices (--cpu-replicas) must be set before TensorFlow starts,
        # a MultiWorkerMirroredStrategy before any other op, and resolving the experiment
        # builds its optimizer. A list trains nothing: no strategy.
        if args.tensorboard is not None and not args.list_jobs and not _has_tensorboard():
            raise SerKerasError("--tensorboard writes its logs with the tensorboard package, "
                                "which is not installed: pip install tensorboard")
        strategy = (None if args.list_jobs
                    else make_strategy(args.strategy, args.cpu_replicas))
        exp = experiment_from_args(args)
        from ser_keras.training import ExperimentData, run_job
        from ser_keras.training.runner import job_state

        data = ExperimentData(exp)
        # notes go to stderr under --list-jobs: its stdout is the list (wc -l counts jobs)
        note = (lambda m: print(m, file=sys.stderr)) if args.list_jobs else print
        jobs = list_jobs(exp, data, args.cells.split(",") if args.cells else None,
                         args.folds, note)
        indices = range(len(jobs))
        if args.job_index is not None:
            if args.job_index not in indices:
                raise SerKerasError(
                    f"--job-index {args.job_index} is out of range: this command has "
                    f"{len(jobs)} job(s)"
                    + (f", 0 to {len(jobs) - 1}" if jobs else "")
                    + " (--list-jobs lists them)")
            indices = [args.job_index]
        if args.list_jobs:
            for i in indices:
                job = jobs[i]
                print(job.line(i, job_state(exp, job.cell, job.fold, job.seed, args.runs,
                                           data, args.force)))
            return 0
        on = (", ".join(f"{k} read from {v}" for k, v in exp.stand_ins.items())
              if exp.stand_ins else exp.dataset)
        cells = len({jobs[i].cell for i in indices})
        which = (f"job {args.job_index} of {len(jobs)}" if args.job_index is not None
                 else f"{len(jobs)} job(s)")
        print(f"{exp.name} on {on}: {which}, {cells} cell(s), seeds {exp.seeds}, "
              f"{strategy.num_replicas_in_sync} replica(s); runs in {args.runs}")
        started, done = time.perf_counter(), 0
        from ser_keras import store

        # a shard damaged after it was written: one line naming it and the prepare command,
        # not TensorFlow's DataLossError
        from ser_keras import locks

        # SIGTERM (a scheduler's timeout, scancel) leaves like an exception: job locks released
        with locks.exit_on_sigterm(), store.shard_errors():
            for i in indices:
                job = jobs[i]
                run_job(exp, exp.cell(job.cell), job.fold, job.seed, args.runs, data,
                        strategy, args.force, tensorboard=args.tensorboard, wait=args.wait)
                done += 1
    except SerKerasError as err:
        print(f"ser-train: error: {err}", file=sys.stderr)
        return 2
    print(f"{done} job(s) in {time.perf_counter() - started:.0f}s; report: ser-report "
          f"--runs {args.runs}")
    return 0


def _has_tensorboard() -> bool:
    """TensorFlow writes summaries through the tensorboard package (no longer one of its
    requirements)."""
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def _has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


if __name__ == "__main__":
    sys.exit(main())
