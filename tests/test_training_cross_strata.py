"""Training features of triantafyllopoulos2022 on tiny fake stores (``fake_store.py``, no
audio) with the ``mlp`` on utterance-level vectors: a cross-corpus test restricted to one
manifest split (``test_split``), per-stratum metrics (``strata``), stand-in corpora
(``stand_ins``), late fusion of regression runs (averaged predictions, a pinned source seed,
its selection value from the averaged validation predictions); and the config merge rules
(a named component whose name changes is replaced whole; ``templates`` anchors).

    .venv/bin/python -m pytest -q tests/test_training_cross_strata.py
"""
import json

import numpy as np
import pytest
import yaml

from fake_store import make_fake_store
from ser_keras import config as cfg
from ser_keras import store
from ser_keras.errors import ConfigError
from ser_keras.evaluation import classification_report, compute
from ser_keras.experiment import experiment_from_dict, load_experiment, read_experiment_yaml
from ser_keras.training import ExperimentData, run_job
from ser_keras.training.runner import read_predictions

CROSS4_CODES = ("neu", "ang", "sad", "hap", "exc")
CROSS4 = ["neutral", "angry", "sad", "happy"]
SPLITS = ("train", "development", "test")
quiet = dict(log=lambda m: None)


def _with_splits(monkeypatch):
    """store.write_manifest giving every row a ``split`` (cycling train/development/test)."""
    real = store.write_manifest

    def write(path, rows):
        rows = list(rows)
        for i, row in enumerate(rows):
            row["split"] = SPLITS[i % 3]
        return real(path, rows)

    monkeypatch.setattr(store, "write_manifest", write)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Two fake corpora with distinct ids: iemocap, and demo (ids d-...) with splits."""
    root = tmp_path_factory.mktemp("store")
    make_fake_store(root, corpus="iemocap")
    with pytest.MonkeyPatch.context() as mp:
        _with_splits(mp)
        demo = make_fake_store(root, corpus="demo", per_speaker=8, seed=5, id_prefix="d-")
    return root, demo


def _experiment(data_dir, cells, **extra):
    return {"name": "test/tri", "paper": "test", "dataset": "iemocap",
            "data_dir": str(data_dir), "class_set": "cross4", "protocol": "loso10",
            "inputs": {"audio": "vec_feats"}, "cells": cells,
            "models": {"mlp": {"hidden_units": [8], "dropout": 0.0}},
            "training": {"optimizer": "adam", "learning_rate": 1e-2, "epochs": 2,
                         "batch_size": 16, "selection_metric": "uar"},
            "seeds": [0], **extra}


def _run(exp, cell, runs, fold=0, seed=0, data=None):
    data = data or ExperimentData(exp)
    return run_job(exp, exp.cell(cell), fold, seed, runs, data, **quiet)


# --- test_split ---------------------------------------------------------------------------------

def test_test_split_restricts_the_cross_corpus_test_to_that_split(root, tmp_path):
    data_dir, demo = root
    exp = experiment_from_dict(_experiment(data_dir, [{"id": "mlp", "model": "mlp"}],
                                           test_dataset="demo", test_split="test"))
    metrics = _run(exp, "mlp", tmp_path)
    expected = sorted(r["utt_id"] for r in demo if r["status"] == "ok"
                      and r["label"] in CROSS4_CODES and r["split"] == "test")
    whole = [r for r in demo if r["status"] == "ok" and r["label"] in CROSS4_CODES]
    assert 0 < len(expected) < len(whole)
    folds = json.loads((tmp_path / "test/tri/iemocap-to-demo/mlp/fold00-seed0/folds.json")
                       .read_text())
    assert sorted(folds["test"]) == expected
    assert metrics["n_test"] == len(expected) and metrics["run"]["test_dataset"] == "demo"
    # training and validation stay on the training corpus's fold
    assert not any(u.startswith("d-") for u in folds["train"] + folds["validation"])


def test_test_split_without_test_dataset_is_a_config_error(root):
    data_dir, _ = root
    with pytest.raises(ConfigError, match="test_split: only for a cross-corpus test"):
        experiment_from_dict(_experiment(data_dir, [{"id": "mlp", "model": "mlp"}],
                                         test_split="test"))
    # a cell's own override too
    with pytest.raises(ConfigError, match=r"cells\[mlp\].test_split"):
        experiment_from_dict(_experiment(data_dir, [{"id": "mlp", "model": "mlp",
                                                     "overrides": {"test_split": "test"}}]))


def test_a_test_split_no_utterance_has_stops_clearly(root, tmp_path):
    from ser_keras.data import ProtocolError

    data_dir, _ = root
    exp = experiment_from_dict(_experiment(data_dir, [{"id": "mlp", "model": "mlp"}],
                                           test_dataset="demo", test_split="test-2"))
    with pytest.raises(ProtocolError, match="no usable utterance in split 'test-2'"):
        _run(exp, "mlp", tmp_path)


# --- strata -------------------------------------------------------------------------------------

def test_strata_metrics_equal_those_recomputed_from_predictions(root, tmp_path):
    data_dir, _ = root
    exp = experiment_from_dict(_experiment(data_dir, [{"id": "mlp", "model": "mlp"}],
                                           strata=["scenario"]))
    data = ExperimentData(exp)
    metrics = _run(exp, "mlp", tmp_path, data=data)
    run = tmp_path / "test/tri/iemocap/mlp/fold00-seed0"
    on_disk = json.loads((run / "metrics.json").read_text())
    assert set(on_disk["strata"]) == {"scenario"}
    strata = on_disk["strata"]["scenario"]
    assert set(strata) == {"improvised", "scripted"}
    ids, y_true, probs = read_predictions(run / "predictions.csv", CROSS4)
    scenario = {r["utt_id"]: r["scenario"] for r in data.rows("iemocap")}
    counts = 0
    for value, report in strata.items():
        keep = np.array([scenario[u] == value for u in ids])
        again = classification_report(y_true[keep], probs[keep], CROSS4)
        assert report["n_test"] == int(keep.sum()) > 0
        counts += report["n_test"]
        assert report["confusion_matrix"] == again["confusion_matrix"]
        for name, v in again["metrics"].items():
            if v is None:
                assert report["metrics"][name] is None, name
            else:
                assert report["metrics"][name] == pytest.approx(v, abs=1e-4), name
    assert counts == metrics["n_test"]
    # the whole test set's metrics are there as before
    assert on_disk["metrics"]["accuracy"] == pytest.approx(
        classification_report(y_true, probs, CROSS4)["metrics"]["accuracy"])


def test_strata_of_a_column_the_manifest_lacks_stop_clearly(root, tmp_path):
    from ser_keras.data import ProtocolError

    data_dir, _ = root
    exp = experiment_from_dict(_experiment(data_dir, [{"id": "mlp", "model": "mlp"}],
                                           strata=["split"], training={
                                               "epochs": 1, "batch_size": 16,
                                               "selection_metric": "uar"}))
    with pytest.raises(ProtocolError, match="strata: no test utterance of iemocap has a "
                                            "value in the manifest column 'split'"):
        _run(exp, "mlp", tmp_path)


# --- stand_ins ----------------------------------------------------------------------------------

def test_stand_ins_make_a_cell_naming_iemocap_read_another_corpus(root, tmp_path):
    data_dir, _ = root
    exp = experiment_from_dict(_experiment(
        data_dir, [{"id": "mlp", "model": "mlp"},
                   {"id": "to-msp", "model": "mlp",
                    "overrides": {"test_dataset": "msp-podcast", "test_split": "test"}}],
        stand_ins={"iemocap": "demo", "msp-podcast": "demo-msp"}))
    assert exp.for_cell("mlp").dataset == "demo"
    crossing = exp.for_cell("to-msp")
    assert (crossing.dataset, crossing.test_dataset) == ("demo", "demo-msp")
    metrics = _run(exp, "mlp", tmp_path)
    run = tmp_path / "test/tri/demo/mlp/fold00-seed0"
    folds = json.loads((run / "folds.json").read_text())
    assert all(u.startswith("d-") for p in ("train", "validation", "test") for u in folds[p])
    assert metrics["run"]["dataset"] == "demo"
    assert metrics["run"]["stand_ins"] == {"iemocap": "demo", "msp-podcast": "demo-msp"}
    assert metrics["run"]["transcripts"] == {}     # a store without prepare_report.json
    assert json.loads((run / "metrics.json").read_text())["run"]["stand_ins"] == {
        "iemocap": "demo", "msp-podcast": "demo-msp"}


# --- late fusion of regression runs -------------------------------------------------------------

def _fusion_experiment(data_dir, seeds=None):
    options = {"sources": ["a", "b"]}
    if seeds is not None:
        options["seeds"] = seeds
    return experiment_from_dict(_experiment(
        data_dir,
        [{"id": "a", "model": "mlp", "inputs": {"audio": "vec_feats"}},
         {"id": "b", "model": "mlp", "inputs": {"audio": "vec_small"}},
         {"id": "lf", "overrides": {"task": "late-fusion", "task_options": options}}],
        class_set="cross-dims", targets=["arousal"], seeds=[0, 1],
        training={"optimizer": "adam", "learning_rate": 1e-2, "epochs": 2, "batch_size": 16,
                  "loss": "mse", "selection_metric": "ccc"}))


@pytest.fixture(scope="module")
def fusion(root, tmp_path_factory):
    """a (seed 0 only: pinned), b (seed 1) and lf (seed 1) on fold 0."""
    data_dir, _ = root
    runs = tmp_path_factory.mktemp("fusion_runs")
    exp = _fusion_experiment(data_dir, seeds={"a": 0})
    data = ExperimentData(exp)
    from ser_keras.data import ProtocolError

    with pytest.raises(ProtocolError, match=r"needs the finished run of a \(fold 0, seed 0\)"
                                            r".*--cells a --folds 0 --seeds 0"):
        run_job(exp, exp.cell("lf"), 0, 1, runs, data, **quiet)
    out = {"a": run_job(exp, exp.cell("a"), 0, 0, runs, data, **quiet),
           "b": run_job(exp, exp.cell("b"), 0, 1, runs, data, **quiet),
           "lf": run_job(exp, exp.cell("lf"), 0, 1, runs, data, **quiet)}
    dirs = {"a": runs / "test/tri/iemocap/a/fold00-seed0",
            "b": runs / "test/tri/iemocap/b/fold00-seed1",
            "lf": runs / "test/tri/iemocap/lf/fold00-seed1"}
    return out, dirs


def test_late_fusion_of_regression_runs_averages_their_predictions(fusion):
    metrics, dirs = fusion
    read = {k: read_predictions(d / "predictions.csv", ["arousal"], regression=True)
            for k, d in dirs.items()}
    (ids_a, true_a, pred_a), (ids_b, _, pred_b), (ids_f, true_f, pred_f) = (
        read["a"], read["b"], read["lf"])
    assert ids_f == ids_a == ids_b and len(ids_f) == metrics["lf"]["n_test"]
    np.testing.assert_allclose(pred_f, (pred_a + pred_b) / 2, atol=2e-6)
    np.testing.assert_allclose(true_f, true_a, atol=1e-6)
    assert metrics["lf"]["kind"] == "regression"
    assert metrics["lf"]["metrics"]["ccc"] == pytest.approx(
        compute("ccc", true_f, pred_f), abs=1e-4)


def test_late_fusion_pins_a_sources_seed(fusion):
    metrics, dirs = fusion
    selection = metrics["lf"]["selection"]
    assert selection["seeds"] == {"a": 0, "b": 1} and selection["sources"] == ["a", "b"]
    folds = json.loads((dirs["lf"] / "folds.json").read_text())
    assert folds["sources"] == {"a": str(dirs["a"]), "b": str(dirs["b"])}


def test_late_fusion_selection_is_the_metric_of_the_averaged_validation(fusion):
    metrics, dirs = fusion
    val = {k: read_predictions(d / "validation_predictions.csv", ["arousal"], regression=True)
           for k, d in dirs.items()}
    (ids_a, true_a, pred_a), (ids_b, _, pred_b) = val["a"], val["b"]
    assert ids_a == ids_b and len(ids_a) > 0
    averaged = (pred_a + pred_b) / 2
    selection = metrics["lf"]["selection"]
    assert selection["value"] == pytest.approx(compute("ccc", true_a, averaged), abs=1e-5)
    # the fusion writes its own (averaged) validation predictions
    ids_f, _, pred_f = val["lf"]
    assert ids_f == ids_a
    np.testing.assert_allclose(pred_f, averaged, atol=2e-6)
    # a trained source's selection value is the metric of its own validation predictions
    assert metrics["a"]["selection"]["value"] == pytest.approx(
        compute("ccc", true_a, pred_a), abs=1e-4)


def test_late_fusion_names_its_selection_metric_as_a_trained_run_does(fusion):
    metrics, _ = fusion
    assert metrics["a"]["selection"]["metric"] == "ccc"
    assert metrics["lf"]["selection"]["metric"] == metrics["a"]["selection"]["metric"]


def test_late_fusion_seeds_must_name_sources(root):
    data_dir, _ = root
    with pytest.raises(ConfigError, match=r"task_options.seeds: \{source cell: seed or best\}"):
        _fusion_experiment(data_dir, seeds={"c": 0})
    with pytest.raises(ConfigError, match="task_options.seeds"):
        _fusion_experiment(data_dir, seeds={"a": "zero"})


# --- merge and templates ------------------------------------------------------------------------

SGD = {"name": "sgd", "options": {"momentum": 0.9, "nesterov": True}}


def test_merge_replaces_a_named_component_whose_name_changes():
    base = {"name": "p/base", "class_set": "cross4",
            "training": {"optimizer": SGD, "learning_rate": 0.01,
                         "loss": {"name": "cross_entropy", "class_weights": "inverse_frequency"}}}
    top = {"name": "p/child", "training": {"optimizer": {"name": "adam"},
                                           "loss": {"name": "mse"}}}
    merged = cfg.merge(base, top)
    # the experiment's top level is merged (its name changes; nothing else goes)
    assert merged["name"] == "p/child" and merged["class_set"] == "cross4"
    assert merged["training"]["learning_rate"] == 0.01
    # a named component with another name is replaced whole: no SGD option, no class weights
    assert merged["training"]["optimizer"] == {"name": "adam"}
    assert merged["training"]["loss"] == {"name": "mse"}
    # the same name merges key by key
    same = cfg.merge(base, {"training": {"optimizer": {"name": "sgd",
                                                        "options": {"momentum": 0.5}}}})
    assert same["training"]["optimizer"] == {"name": "sgd", "options": {"momentum": 0.5,
                                                                        "nesterov": True}}
    # without a name on top, a mapping still merges
    bare = cfg.merge(base, {"training": {"optimizer": {"options": {"nesterov": False}}}})
    assert bare["training"]["optimizer"] == {"name": "sgd", "options": {"momentum": 0.9,
                                                                        "nesterov": False}}
    assert base["training"]["optimizer"] == SGD       # the inputs are left as they were


def test_overrides_follow_the_same_rule(root):
    data_dir, _ = root
    data = {"training": {"optimizer": dict(SGD), "learning_rate": 0.01}}
    cfg.apply_overrides(data, ["training.optimizer={name: adam, options: {beta_1: 0.8}}"])
    assert data["training"] == {"optimizer": {"name": "adam", "options": {"beta_1": 0.8}},
                                "learning_rate": 0.01}
    exp = experiment_from_dict(_experiment(
        data_dir,
        [{"id": "adam", "model": "mlp",
          "overrides": {"training": {"optimizer": {"name": "adam"}, "epochs": 3}}},
         {"id": "sgd", "model": "mlp",
          "overrides": {"training": {"optimizer": {"name": "sgd", "options": {
              "momentum": 0.5}}}}}],
        training={"optimizer": SGD, "learning_rate": 0.01, "epochs": 2, "batch_size": 16,
                  "selection_metric": "uar"}))
    adam = exp.for_cell("adam").training
    assert (adam.optimizer.name, adam.optimizer.options) == ("adam", {})
    assert adam.learning_rate == 0.01 and adam.epochs == 3 and adam.batch_size == 16
    sgd = exp.for_cell("sgd").training
    assert sgd.optimizer.options == {"momentum": 0.5, "nesterov": True}


def _write_yaml(path, data_or_text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data_or_text if isinstance(data_or_text, str)
                    else yaml.safe_dump(data_or_text))
    return path


def test_extends_merges_the_top_level_and_templates_anchors_load(tmp_path, monkeypatch):
    monkeypatch.setenv("SER_KERAS_EXPERIMENTS", str(tmp_path))
    _write_yaml(tmp_path / "p/base.yaml", {
        "name": "p/base", "paper": "p", "class_set": "iemocap4", "dataset": "iemocap",
        "inputs": {"audio": "vec_feats"},
        "training": {"optimizer": SGD, "learning_rate": 0.01, "epochs": 5,
                     "loss": {"name": "cross_entropy", "class_weights": "inverse_frequency"}},
        "cells": [{"id": "base-cell", "model": "mlp"}]})
    child = _write_yaml(tmp_path / "p/child.yaml", """\
extends: p/base
name: p/child
description: a child
training:
  optimizer: {name: adam}
templates:
  fast: &fast
    training: {epochs: 1, optimizer: {name: sgd, options: {momentum: 0.1}}}
  cross: &cross {test_dataset: demo, test_split: test}
cells:
  - {id: quick, model: mlp, overrides: *fast}
  - {id: crossing, model: mlp, overrides: {<<: [*fast, *cross]}}
""")
    data = read_experiment_yaml(child)
    assert "templates" not in data and "extends" not in data
    assert data["name"] == "p/child" and data["class_set"] == "iemocap4"   # merged, not replaced
    assert data["training"]["optimizer"] == {"name": "adam"}
    assert data["training"]["learning_rate"] == 0.01 and data["training"]["loss"] == {
        "name": "cross_entropy", "class_weights": "inverse_frequency"}
    exp = load_experiment("p/child")
    assert [c.id for c in exp.cells] == ["quick", "crossing"]
    assert exp.training.optimizer.options == {}
    quick = exp.for_cell("quick")
    assert quick.training.epochs == 1 and quick.training.optimizer.options == {"momentum": 0.1}
    crossing = exp.for_cell("crossing")
    assert (crossing.test_dataset, crossing.test_split) == ("demo", "test")
    bad = _write_yaml(tmp_path / "p/bad.yaml", "name: p/bad\ntemplates: [1, 2]\n")
    with pytest.raises(ConfigError, match="templates: a mapping of YAML anchors"):
        read_experiment_yaml(bad)


def test_the_shipped_table2_merges_table1_and_its_templates():
    exp = load_experiment("triantafyllopoulos2022/table2")
    assert exp.training.loss.name == "mse" and exp.training.loss.class_weights is None
    assert exp.training.optimizer.name == "sgd"
    # the regressions clip gradients (table2.yaml), on top of table1's SGD
    assert exp.training.optimizer.options == {"momentum": 0.9, "nesterov": True,
                                              "clipnorm": 1.0}
    bert = exp.for_cell("iemocap-iemocap-bert-arousal")
    assert bert.training.optimizer.name == "ser_keras>AdamNoBiasCorrection"
    assert "momentum" not in bert.training.optimizer.options
    assert bert.training.schedule.name == "linear_warmup_decay" and bert.seeds == [0]
    assert bert.training.loss.name == "mse" and bert.strata == ["scenario"]
    cross = exp.for_cell("iemocap-msp-cnn14-arousal")
    assert (cross.test_dataset, cross.test_split) == ("msp-podcast", "test")
    assert cross.task == "evaluate"
    assert cross.task_options == {"source": "iemocap-iemocap-cnn14-arousal"}
    lf = exp.for_cell("iemocap-iemocap-lf-arousal")
    assert lf.task_options["seeds"] == {"iemocap-iemocap-bert-arousal": "best",
                                        "iemocap-iemocap-cnn14-arousal": "best"}
    assert lf.seeds == [0]
    demo = load_experiment("triantafyllopoulos2022/table2",
                           ["stand_ins.iemocap=demo", "stand_ins.msp-podcast=demo-msp"])
    moved = demo.for_cell("msp-iemocap-cnn14-arousal")
    assert (moved.dataset, moved.test_dataset) == ("demo-msp", "demo")


# --- evaluate: a finished run's model tested on another corpus ---------------------------------

def test_evaluate_tests_the_source_runs_model_on_the_other_corpus(root, tmp_path):
    data_dir, _ = root
    cells = [{"id": "in", "model": "mlp"},
             {"id": "cross", "model": "mlp", "overrides": {
                 "task": "evaluate", "task_options": {"source": "in"},
                 "test_dataset": "demo", "test_split": "test"}}]
    exp = experiment_from_dict(_experiment(data_dir, cells))
    data = ExperimentData(exp)
    from ser_keras.data import ProtocolError

    with pytest.raises(ProtocolError, match="ser-train --experiment test/tri --cells in"):
        _run(exp, "cross", tmp_path, data=data)        # the source is not finished yet
    source = _run(exp, "in", tmp_path, data=data)
    cross = _run(exp, "cross", tmp_path, data=data)
    in_dir = tmp_path / "test/tri/iemocap/in/fold00-seed0"
    cross_dir = tmp_path / "test/tri/iemocap-to-demo/cross/fold00-seed0"
    # no training: no weights of its own, the source's selection, the source's validation
    assert not (cross_dir / "best.weights.h5").exists()
    assert cross["selection"]["epoch"] == source["selection"]["epoch"]
    assert cross["selection"]["source"] == str(in_dir)
    assert ((cross_dir / "validation_predictions.csv").read_text()
            == (in_dir / "validation_predictions.csv").read_text())
    assert all(u.startswith("d-") for u in
               json.loads((cross_dir / "folds.json").read_text())["test"])
    # the same model: testing the source's weights by hand gives the same probabilities
    from ser_keras.data import input as data_input

    plan = data.plans["cross"]
    feeds = data.feeds(plan, "demo")
    ids, _, probs = read_predictions(cross_dir / "predictions.csv", CROSS4)
    from ser_keras import models

    spec = data_input.input_spec(feeds, 4)
    model = models.build_model("mlp", spec, plan.model_config)
    model.load_weights(in_dir / "best.weights.h5")
    ds, order = data_input.make_dataset(feeds, {u: 0 for u in ids}, batch_size=16)
    again = np.concatenate([np.asarray(model(x, training=False)) for x, _ in ds])
    by_id = dict(zip(order, again))
    np.testing.assert_allclose(np.stack([by_id[u] for u in ids]), probs, atol=1e-5)


def test_evaluate_checks_its_source(root):
    data_dir, _ = root
    base = {"id": "in", "model": "mlp"}
    bad = [({"task_options": {"source": "nope"}, "test_dataset": "demo"}, "not another cell"),
           ({"task_options": {"source": "in"}}, "set test_dataset"),
           ({"task_options": {"source": "in"}, "test_dataset": "demo", "protocol": "loso-session"},
            "protocol differs")]
    for overrides, message in bad:
        cells = [base, {"id": "cross", "model": "mlp",
                        "overrides": {"task": "evaluate", **overrides}}]
        with pytest.raises(ConfigError, match=message):
            experiment_from_dict(_experiment(data_dir, cells))


# --- late fusion of the best seeds --------------------------------------------------------------

def test_late_fusion_of_the_best_seeds_reads_the_seed_best_on_validation(root, tmp_path):
    data_dir, _ = root
    cells = [{"id": "a", "model": "mlp", "overrides": {"seeds": [0, 1]}},
             {"id": "b", "model": "mlp", "overrides": {"seeds": [0, 1]}},
             {"id": "lf", "overrides": {"task": "late-fusion", "seeds": [0], "task_options": {
                 "sources": ["a", "b"], "seeds": {"a": "best", "b": "best"}}}}]
    exp = experiment_from_dict(_experiment(data_dir, cells, protocol="loso-session"))
    data = ExperimentData(exp)
    folds = data.fold_count(exp.for_cell("a"))
    for cell in ("a", "b"):
        for fold in range(folds):
            for seed in (0, 1):
                _run(exp, cell, tmp_path, fold=fold, seed=seed, data=data)
    lf = _run(exp, "lf", tmp_path, data=data)

    def best(cell):
        values = {seed: np.mean([json.loads((tmp_path / f"test/tri/iemocap/{cell}/fold{f:02d}-"
                                             f"seed{seed}/best.json").read_text())["value"]
                                 for f in range(folds)]) for seed in (0, 1)}
        return max(values, key=values.get)

    assert lf["selection"]["seeds"] == {"a": best("a"), "b": best("b")}


# --- command-line overrides -------------------------------------------------------------------

def test_cell_set_changes_only_the_matching_cells_even_through_a_shared_anchor():
    exp = load_experiment("triantafyllopoulos2022/table1", [], ["msp-msp-bert:training.epochs=2"])
    assert exp.for_cell("msp-msp-bert").training.epochs == 2
    assert exp.for_cell("iemocap-iemocap-bert").training.epochs == 4   # shares the anchor
    with pytest.raises(ConfigError, match="--cell-set"):
        load_experiment("triantafyllopoulos2022/table1", [], ["nothing-*:training.epochs=2"])


def test_a_dotted_name_override_replaces_the_named_component():
    exp = load_experiment("triantafyllopoulos2022/table1", ["training.optimizer.name=adam",
                                                            "training.loss.name=cross_entropy"])
    assert exp.training.optimizer.name == "adam" and exp.training.optimizer.options == {}
    # the same name keeps the component's options
    same = load_experiment("triantafyllopoulos2022/table1", ["training.optimizer.name=sgd"])
    assert same.training.optimizer.options == {"momentum": 0.9, "nesterov": True}
    assert same.training.loss.class_weights == "inverse_frequency"


def test_a_stand_in_for_a_corpus_no_cell_names_is_refused():
    with pytest.raises(ConfigError, match="stand_ins \\[.msp_podcast.\\]: no such corpus"):
        load_experiment("triantafyllopoulos2022/table1", ["stand_ins.msp_podcast=demo-msp"])


# --- regression heads and diverged epochs -------------------------------------------------------

def test_a_regression_head_starts_at_the_training_mean_and_nan_epochs_are_never_best():
    from ser_keras import models
    from ser_keras.config import from_dict, ExperimentConfig
    from ser_keras.training.tasks import start_at_the_mean, validator

    spec = {"inputs": {"audio": {"rank": "vector", "dim": 4}}, "num_outputs": 2,
            "output": "values"}
    model = models.build_model("mlp", spec, {"hidden_units": [3], "dropout": 0.0})
    targets = [[1.0, 5.0], [3.0, 7.0]]
    start_at_the_mean(model, targets)
    head = next(layer for layer in model.layers if layer.name == "predictions")
    np.testing.assert_allclose(np.asarray(head.bias), [2.0, 6.0])
    config = from_dict(ExperimentConfig, {"name": "x", "class_set": "cross-dims", "cells": [
        {"id": "a", "model": "mlp"}], "targets": ["arousal", "valence"],
        "training": {"loss": "mse", "selection_metric": "ccc"}})
    validate = validator(config, np.array(targets), lambda y, p: np.mean((y - p) ** 2, axis=1))
    logs = validate(np.array([[np.nan, 1.0], [2.0, 3.0]]))
    assert all(np.isnan(v) for v in logs.values()) and "val_ccc" in logs
    assert np.isfinite(validate(np.array([[1.0, 5.0], [2.0, 8.0]]))["val_ccc"])
