"""ser-tune: the tune block's schema and checks, a two-trial search on a fake store, its
outputs (trials.csv, best.yaml read back by ser-train --config), resuming (missing trials
only, a killed run's trial retried), failed trials, and scoring on validation only."""
import csv
import json
import shutil
import socket
import subprocess
import sys

import pytest
import yaml

from fake_store import make_fake_store
from ser_keras import tuning
from ser_keras.cli import train as train_cli
from ser_keras.cli.tune import main as tune_main
from ser_keras.config import apply_overrides
from ser_keras.errors import ConfigError
from ser_keras.experiment import experiment_from_dict

CELL = "vec"
SPACE = {"training.learning_rate": {"low": 1.0e-3, "high": 1.0e-1, "log": True},
         "models.mlp.hidden_units": {"choices": [[4], [8, 4]]}}


def _experiment(root, **extra):
    """A tiny mlp cell on the fake store's utterance-level set, with a two-parameter space."""
    return {"name": "test/tune", "dataset": "iemocap", "data_dir": str(root),
            "class_set": "iemocap4", "protocol": "loso10", "inputs": {"audio": "vec_feats"},
            "cells": [{"id": CELL, "model": "mlp"}],
            "models": {"mlp": {"hidden_units": [4]}},
            "training": {"optimizer": "adam", "learning_rate": 1e-2, "epochs": 2,
                         "batch_size": 16, "selection_metric": "uar"},
            "tune": {"trials": 2, "space": SPACE}, **extra}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    make_fake_store(root, corpus="iemocap")
    return root


@pytest.fixture(scope="module")
def experiment_yaml(store, tmp_path_factory):
    path = tmp_path_factory.mktemp("exp") / "tiny.yaml"
    path.write_text(yaml.safe_dump(_experiment(store)))
    return path


def _tune(experiment_yaml, store, study, *extra):
    return tune_main(["--experiment", str(experiment_yaml), "--cell", CELL, "--study",
                      str(study), "--data", str(store), *extra])


def _trials(study):
    with open(study / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def _run(study, number):
    return study / "trials" / f"trial-{number:04d}" / "test/tune/iemocap" / CELL / "fold00-seed0"


@pytest.fixture(scope="module")
def searched(experiment_yaml, store, tmp_path_factory):
    """A finished two-trial search whose jobs' test metrics are garbage: the score must not
    move (``runner.evaluate`` scores the test predictions only)."""
    from ser_keras.training import runner

    study = tmp_path_factory.mktemp("tune") / "study"
    real = runner.evaluate

    def garbage_test_metrics(*args, **kwargs):
        report = real(*args, **kwargs)
        report["metrics"] = {k: -1.0 for k in report["metrics"]}
        return report

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "evaluate", garbage_test_metrics)
        rc = _tune(experiment_yaml, store, study)
    assert rc == 0
    return study


# --- the schema ---------------------------------------------------------------------------
def test_a_space_declares_int_float_and_categorical_parameters():
    # act
    settings = tuning.parse_tune({"trials": 30, "folds": [0, 2], "space": {
        "training.learning_rate": {"low": 1.0e-5, "high": "1e-2", "log": True},
        "training.batch_size": {"low": 16, "high": 64, "step": 16},
        "models.mlp.dropout": {"low": 0, "high": 0.5},
        "models.mlp.hidden_units": {"choices": [[64], [128, 64]]},
        "training.optimizer.name": {"choices": ["adam", "sgd"]}}})
    # assert
    space = settings.space
    assert settings.trials == 30 and settings.folds == [0, 2] and settings.seed == 0
    assert space["training.learning_rate"].kind == "float" and space["training.learning_rate"].log
    assert space["training.learning_rate"].high == 1e-2      # PyYAML's "1e-2" string
    assert space["training.batch_size"].kind == "int" and space["training.batch_size"].step == 16
    assert space["models.mlp.dropout"].kind == "float"       # one float bound makes it float
    assert space["models.mlp.hidden_units"].optuna_choices() == ["[64]", "[128, 64]"]
    assert space["models.mlp.hidden_units"].decode("[128, 64]") == [128, 64]
    assert space["training.optimizer.name"].optuna_choices() == ["adam", "sgd"]


@pytest.mark.parametrize("block, message", [
    ({"trails": 3, "space": SPACE}, r"tune: unknown key\(s\) \['trails'\]"),
    ({"space": {}}, "tune.space: no parameter to search"),
    ({"space": {"training.learning_rate": {"low": 1, "hihg": 2}}},
     r"tune.space.training.learning_rate: unknown key\(s\) \['hihg'\]"),
    ({"space": {"training.learning_rate": {"low": 0.1, "high": 0.01}}},
     r"tune.space.training.learning_rate: low \(0.1\) must be < high"),
    ({"space": {"training.learning_rate": {"low": 0.0, "high": 0.1, "log": True}}},
     "tune.space.training.learning_rate: a log scale needs low > 0"),
    ({"space": {"models.mlp.dropout": {"low": 0.0, "high": 0.5, "choices": [0.1]}}},
     "tune.space.models.mlp.dropout: choices or low/high, not both"),
    ({"space": {"training.batch_size": {"choices": []}}},
     "tune.space.training.batch_size.choices: a non-empty list"),
    ({"space": {"training.selection_metric": {"choices": ["uar", "accuracy"]}}},
     "tune.space.training.selection_metric: cannot be searched"),
    ({"space": {"seeds": {"choices": [[0], [1]]}}}, "tune.space.seeds: cannot be searched"),
    ({"folds": [], "space": SPACE}, r"tune.folds: distinct fold indices >= 0"),
])
def test_a_bad_tune_block_is_a_one_line_error_naming_the_key(block, message):
    with pytest.raises(ConfigError, match=message) as err:
        tuning.parse_tune(block)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("key, spec, message", [
    ("training.learnin_rate", {"low": 1e-3, "high": 1e-2},
     r"tune.space.training.learnin_rate=0.001: .*unknown key\(s\) \['learnin_rate'\]"),
    ("models.mlp.hidden_unitz", {"choices": [[4], [8]]},
     r"tune.space.models.mlp.hidden_unitz=\[4\]: .*hidden_unitz"),
    ("models.mlp.dropout", {"low": 0.0, "high": 1.5}, r"tune.space.models.mlp.dropout=1.5: "),
    ("training.optimizer.name", {"choices": ["adam", "nope"]},
     "tune.space.training.optimizer.name=nope: "),
    ("models.mmfa.fusion_units", {"choices": [4, 8]},
     "cell vec trains mlp, so models.mmfa changes nothing"),
])
def test_the_space_is_checked_against_the_cells_config(store, key, spec, message):
    # build
    exp = experiment_from_dict(_experiment(store, tune={"space": {key: spec}}))
    # act, assert
    with pytest.raises(ConfigError, match=message) as err:
        tuning.check_space(exp, CELL, tuning.cell_tune(exp, CELL))
    assert "\n" not in str(err.value)


def test_a_cell_carries_its_own_space_merged_over_the_experiments(store):
    # build: the cell adds a parameter, changes the trials and drops the learning rate
    config = _experiment(store)
    config["cells"][0]["overrides"] = {"tune": {"trials": 7, "space": {
        "models.mlp.dropout": {"low": 0.0, "high": 0.5}, "training.learning_rate": None}}}
    exp = experiment_from_dict(config)
    # act
    settings = tuning.cell_tune(exp, CELL)
    # assert
    assert settings.trials == 7
    assert list(settings.space) == ["models.mlp.hidden_units", "models.mlp.dropout"]


def test_a_nested_key_reaches_into_a_stages_overrides():
    # build: a hierarchical cell's stage overrides (alqurashi2024/table2)
    overrides = {"task_options": {"stages": {
        "level1": {"model": "lstm-speech"},
        "emotions": {"model": "lstm-speech", "overrides": {"training": {"epochs": 3}}}}}}
    # act
    apply_overrides(overrides, {
        "task_options.stages.level1.overrides.models.lstm-speech.units": 128,
        "task_options.stages.emotions.overrides.models.lstm-speech.units": 64})
    # assert
    stages = overrides["task_options"]["stages"]
    assert stages["level1"] == {"model": "lstm-speech",
                                "overrides": {"models": {"lstm-speech": {"units": 128}}}}
    assert stages["emotions"]["overrides"] == {"training": {"epochs": 3},
                                               "models": {"lstm-speech": {"units": 64}}}


def test_sampled_values_become_the_cells_overrides(store):
    exp = experiment_from_dict(_experiment(store))
    trial = tuning.trial_experiment(exp, CELL, {"training.learning_rate": 0.05,
                                                "models.mlp.hidden_units": [8, 4]})
    config = trial.for_cell(CELL)
    assert config.training.learning_rate == 0.05
    assert config.models["mlp"]["hidden_units"] == [8, 4]
    assert exp.for_cell(CELL).training.learning_rate == 1e-2   # the experiment is untouched


# --- the search ---------------------------------------------------------------------------
def test_a_search_writes_its_trials_and_the_best_as_an_override_file(searched):
    # assert: two complete trials with their values
    rows = _trials(searched)
    assert [r["number"] for r in rows] == ["0", "1"]
    assert all(r["state"] == "COMPLETE" for r in rows)
    assert set(rows[0]) >= {"number", "state", "value", "training.learning_rate",
                            "models.mlp.hidden_units"}
    assert all(1e-3 <= float(r["training.learning_rate"]) <= 1e-1 for r in rows)
    assert {r["models.mlp.hidden_units"] for r in rows} <= {"[4]", "[8, 4]"}
    # best.yaml: the best trial's values, scoped to the cell, with where they come from
    text = (searched / "best.yaml").read_text()
    best = yaml.safe_load(text)
    chosen = max(rows, key=lambda r: float(r["value"]))
    assert text.startswith("# ser-tune: trial ")
    assert best["tuned"]["trial"] == int(chosen["number"])
    assert best["tuned"]["value"] == pytest.approx(float(chosen["value"]))
    assert best["tuned"]["metric"] == "balanced_accuracy"
    assert best["tuned"]["direction"] == "maximize"
    assert set(best["cells"]) == {CELL}
    assert best["cells"][CELL]["training.learning_rate"] == pytest.approx(
        float(chosen["training.learning_rate"]))
    assert (searched / "optuna.db").is_file()


def test_scores_are_the_validation_selection_values_not_the_test(searched):
    # the jobs' test metrics were replaced by -1 (see the fixture); the scores are best.json's
    for row in _trials(searched):
        run = _run(searched, int(row["number"]))
        best = json.loads((run / "best.json").read_text())
        test = json.loads((run / "metrics.json").read_text())["metrics"]
        assert float(row["value"]) == pytest.approx(best["value"])
        assert best["metric"] == "balanced_accuracy" and test["balanced_accuracy"] == -1.0
        assert not (run / "best.weights.h5").exists()       # a scored trial keeps no weights


def test_ser_train_config_applies_best_yaml(searched, experiment_yaml, store):
    # build
    best = yaml.safe_load((searched / "best.yaml").read_text())["cells"][CELL]
    args = train_cli.build_parser().parse_args([
        "--experiment", str(experiment_yaml), "--cells", CELL, "--data", str(store),
        "--config", str(searched / "best.yaml")])
    # act
    config = train_cli.experiment_from_args(args).for_cell(CELL)
    # assert
    assert config.training.learning_rate == best["training.learning_rate"]
    assert config.models["mlp"]["hidden_units"] == best["models.mlp.hidden_units"]


def test_ser_train_set_wins_over_config_files(tmp_path, experiment_yaml, store):
    # build: two files, the second over the first; --set over both
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("training.epochs: 4\ntraining: {batch_size: 8}\n"
                     "cells: {'v*': {training.learning_rate: 1.0e-4}}\n")
    second.write_text("training.epochs: 5\ntuned: {value: 0.5}\n")
    args = train_cli.build_parser().parse_args([
        "--experiment", str(experiment_yaml), "--data", str(store), "--config", str(first),
        "--config", str(second), "--set", "training.batch_size=12"])
    # act
    config = train_cli.experiment_from_args(args).for_cell(CELL)
    # assert
    assert config.training.epochs == 5 and config.training.batch_size == 12
    assert config.training.learning_rate == 1e-4
    with pytest.raises(ConfigError, match="--config .*nope.yaml: no such file"):
        train_cli.read_config_file(str(tmp_path / "nope.yaml"))


def test_a_rerun_runs_only_the_missing_trials(searched, experiment_yaml, store, tmp_path,
                                              capsys):
    # build
    study = tmp_path / "study"
    shutil.copytree(searched, study)
    # act
    same = _tune(experiment_yaml, store, study, "--trials", "2")
    same_out = capsys.readouterr().out
    more = _tune(experiment_yaml, store, study, "--trials", "3")
    more_out = capsys.readouterr().out
    # assert
    assert same == more == 0
    assert "0 trial(s) in" in same_out and "1 trial(s) in" in more_out
    rows = _trials(study)
    assert [(r["number"], r["state"]) for r in rows] == [
        ("0", "COMPLETE"), ("1", "COMPLETE"), ("2", "COMPLETE")]
    assert "--cell-set 'vec:models.mlp.hidden_units=[" in more_out   # the equivalent arguments


def test_a_trial_left_running_by_a_killed_process_runs_again_first(searched, experiment_yaml,
                                                                   store, tmp_path):
    import optuna

    # build: trial 2 RUNNING in a process that is gone, its folder holding a started job
    study_dir = tmp_path / "study"
    shutil.copytree(searched, study_dir)
    study = optuna.load_study(study_name=f"test/tune/{CELL}",
                              storage=f"sqlite:///{study_dir / 'optuna.db'}")
    trial = study.ask()
    stale = {"training.learning_rate": trial.suggest_float("training.learning_rate", 1e-3,
                                                           1e-1, log=True),
             "models.mlp.hidden_units": trial.suggest_categorical(
                 "models.mlp.hidden_units", ["[4]", "[8, 4]"])}
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", dead.pid)
    (study_dir / "trials" / "trial-0002").mkdir()
    (study_dir / "trials" / "trial-0002" / "started").write_text("")
    # act
    rc = _tune(experiment_yaml, store, study_dir, "--trials", "3")
    # assert: FAIL, then the same values run as trial 3 in the renamed folder
    assert rc == 0
    rows = {r["number"]: r for r in _trials(study_dir)}
    assert rows["2"]["state"] == "FAIL" and "run again as trial 3" in rows["2"]["note"]
    assert rows["3"]["state"] == "COMPLETE" and rows["3"]["note"] == "retry of trial 2"
    assert float(rows["3"]["training.learning_rate"]) == pytest.approx(
        stale["training.learning_rate"])
    assert rows["3"]["models.mlp.hidden_units"] == stale["models.mlp.hidden_units"]
    assert (study_dir / "trials" / "trial-0003" / "started").is_file()
    assert list(rows) == ["0", "1", "2", "3"]


def test_a_diverged_trial_is_recorded_and_the_search_goes_on(experiment_yaml, store, tmp_path,
                                                             monkeypatch):
    from ser_keras import training

    # build: the first job diverges
    real, calls = training.run_job, []

    def first_diverges(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConfigError("vec fold 0 seed 0: training diverged (non-finite predictions)")
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "run_job", first_diverges)
    # act
    rc = _tune(experiment_yaml, store, tmp_path / "study")
    # assert: two finished trials, the first failed with its message
    rows = _trials(tmp_path / "study")
    assert rc == 0 and [r["state"] for r in rows] == ["FAIL", "COMPLETE"]
    assert "training diverged" in rows[0]["note"] and rows[0]["value"] == ""
    assert yaml.safe_load((tmp_path / "study" / "best.yaml").read_text())["tuned"]["trial"] == 1


def test_a_config_error_of_every_trial_stops_the_search_after_the_first(
        experiment_yaml, store, tmp_path, monkeypatch, capsys):
    from ser_keras import training

    calls = []

    def always_fails(*args, **kwargs):
        calls.append(1)
        raise ConfigError("no such loss option")

    monkeypatch.setattr(training, "run_job", always_fails)
    rc = _tune(experiment_yaml, store, tmp_path / "study", "--trials", "5")
    err = capsys.readouterr().err
    assert rc == 2 and len(calls) == 1
    assert "trial 0 failed and no trial has completed" in err and err.count("\n") == 1
    rows = _trials_of_study(tmp_path / "study")
    assert rows == ["FAIL", "WAITING"]  # retried on the next run


def _trials_of_study(study_dir):
    import optuna

    study = optuna.load_study(study_name=f"test/tune/{CELL}",
                              storage=f"sqlite:///{study_dir / 'optuna.db'}")
    return [t.state.name for t in study.trials]


def test_an_unknown_space_key_fails_before_any_training(store, tmp_path, capsys):
    # build
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(_experiment(store, tune={"space": {
        "training.learnin_rate": {"low": 1e-3, "high": 1e-2}}})))
    # act
    rc = _tune(path, store, tmp_path / "study")
    # assert
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith("ser-tune: error: test/tune: tune.space.training.learnin_rate=0.001")
    assert not (tmp_path / "study").exists()


def test_another_config_on_the_same_study_is_refused(searched, experiment_yaml, store, tmp_path,
                                                     capsys):
    study = tmp_path / "study"
    shutil.copytree(searched, study)
    rc = _tune(experiment_yaml, store, study, "--epochs", "3")
    err = capsys.readouterr().err
    assert rc == 2 and "holds a search made with another config (differs at training.epochs)" \
        in err


def test_without_optuna_the_error_says_how_to_install_it(experiment_yaml, store, tmp_path,
                                                          monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    rc = _tune(experiment_yaml, store, tmp_path / "study")
    assert rc == 2
    assert capsys.readouterr().err == ("ser-tune: error: ser-tune needs optuna: pip install "
                                       "ser-keras[tune]\n")
