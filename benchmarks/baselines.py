"""Baselines on the same folds: scikit-learn's SVC beside models of the zoo.

    python benchmarks/baselines.py --data /tmp/urdu_store --dataset urdu --classes urdu4 \
        --protocol speaker-kfold --features audio=egemaps_func --models mlp,mmfa-audio

For every fold of the protocol (the folds ``ser-train`` makes: same protocol, same options),
an SVC (RBF kernel, C=1, gamma "scale", class_weight "balanced", features standardised on the
training part) is trained on the training part of the fold on the vector feature set(s) given
by ``--features`` and tested on its test part. The zoo models are trained and tested through
``ser-train``'s own jobs (their runs land in ``--runs`` and are reused when done), ``mlp`` on
the same ``--features``, other models on their default inputs. Printed: per fold and mean ±
sample std over folds, test accuracy, balanced accuracy (UAR) and macro F1 (zoo models: per
fold the mean over ``--seeds``), and chance (1 / classes).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def svc_fold(sets, train_ids, test_ids, labels, seed: int = 0) -> dict:
    """Fit the SVC on ``train_ids``, score ``test_ids``: {accuracy, balanced_accuracy, f1_macro}."""
    import numpy as np
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from ser_keras.evaluation import compute

    def matrix(ids):
        return np.concatenate([np.stack([arrays[u] for u in ids]) for arrays in sets], axis=1)

    model = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=1.0, gamma="scale",
                                                class_weight="balanced",
                                                random_state=seed))
    y_train = np.array([labels[u] for u in train_ids])
    y_test = np.array([labels[u] for u in test_ids])
    model.fit(matrix(train_ids), y_train)
    k = int(max(labels.values())) + 1
    pred = np.eye(k)[model.predict(matrix(test_ids))]  # one-hot "probabilities" for the registry
    return {name: compute(name, y_test, pred)
            for name in ("accuracy", "balanced_accuracy", "f1_macro")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SER_KERAS_DATA", "data"))
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--classes", required=True)
    parser.add_argument("--protocol", default="speaker-kfold")
    parser.add_argument("--scenario", default="mixed")
    parser.add_argument("--features", default="audio=egemaps_func",
                        help="vector feature set(s) of the SVC and of mlp (default: %(default)s)")
    parser.add_argument("--models", default="mlp", help="zoo models to train beside the SVC")
    parser.add_argument("--runs", default="results/runs")
    parser.add_argument("--epochs", type=int, help="override the models' epochs")
    parser.add_argument("--seeds", default="0",
                        help="training seeds of the zoo models; per fold, the mean over seeds "
                             "is shown (default: %(default)s)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override for the models (repeatable)")
    args = parser.parse_args(argv)

    import numpy as np

    from ser_keras.config import feature_sets_of, parse_input_mapping
    from ser_keras.data import get_class_set
    from ser_keras.data import input as data_input
    from ser_keras.experiment import adhoc_experiment
    from ser_keras.training import ExperimentData, run_job

    mapping = parse_input_mapping(args.features)
    overrides = [f"data_dir={args.data}", *args.set]
    if args.epochs:
        overrides.append(f"training.epochs={args.epochs}")
    class_set = get_class_set(args.classes)
    results: dict[str, list[dict]] = {}

    # --- the zoo models, through ser-train's jobs --------------------------------------------
    for model in [m for m in args.models.split(",") if m]:
        exp = adhoc_experiment(model, dataset=args.dataset, class_set=args.classes,
                               protocol=args.protocol, scenario=args.scenario,
                               inputs=mapping if model == "mlp" else None, overrides=overrides)
        data = ExperimentData(exp)
        cell = exp.cells[0]
        rows, _, folds = data.selection(data.plans[cell.id].config)
        started = time.perf_counter()
        seeds = [int(s) for s in args.seeds.split(",")]
        for fold in range(len(folds)):
            for seed in seeds:
                run_job(exp, cell, fold, seed, args.runs, data, log=lambda m: print("  " + m))
        results[f"{model} ({','.join(i.source for i in data.plans[cell.id].inputs)})"] = [
            _mean([_read(data, cell, fold, seed, args.runs) for seed in seeds])
            for fold in range(len(folds))]
        print(f"{model}: {len(folds)} folds in {time.perf_counter() - started:.0f}s")

    # --- the SVC on the same folds --------------------------------------------------------
    # ser-train's own selection (pooled datasets, augmented copies left out or on the
    # training side as --set augmentation=... says), through an mlp experiment on --features
    exp = adhoc_experiment("mlp", dataset=args.dataset, class_set=args.classes,
                           protocol=args.protocol, scenario=args.scenario, inputs=mapping,
                           overrides=overrides)
    data = ExperimentData(exp)
    rows, _, folds = data.selection(data.plans[exp.cells[0].id].config)
    labels = data_input.label_indices(rows, class_set)
    names = [fs for source in mapping.values() for fs in feature_sets_of(source)]
    sets = [data.feature_set(args.dataset, n).to_dict() for n in names]
    svc = []
    for fold in folds:
        train = [u for u in fold.train if all(u in s for s in sets)]
        test = [u for u in fold.test if all(u in s for s in sets)]
        svc.append(svc_fold(sets, train, test, labels))
    results[f"SVC-RBF ({'+'.join(names)})"] = svc

    # --- side by side ---------------------------------------------------------------------
    print(f"\n{args.dataset}, {args.classes}, {args.protocol}: {len(folds)} folds, chance "
          f"{100 / class_set.num_classes:.1f} % (balanced accuracy)")
    for metric in ("balanced_accuracy", "accuracy", "f1_macro"):
        print(f"\n{metric} (%), per fold and mean ± sample std")
        for name, per_fold in results.items():
            values = np.array([100 * r[metric] for r in per_fold], dtype=float)
            folds_text = " ".join(f"{v:5.1f}" for v in values)
            print(f"  {name:<42} {folds_text}   {values.mean():5.2f} ± {values.std(ddof=1):5.2f}")
    return 0


def _read(data, cell, fold, seed, runs) -> dict:
    import json

    from ser_keras.training import run_dir

    directory = run_dir(runs, data.plans[cell.id].config, cell.id, fold, seed)
    return json.loads((directory / "metrics.json").read_text())["metrics"]


def _mean(records: list[dict]) -> dict:
    return {k: sum(r[k] for r in records) / len(records) for k in records[0]}


if __name__ == "__main__":
    sys.exit(main())
