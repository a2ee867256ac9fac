"""The one config mechanism: typed from_dict, YAML tables, overrides, and every mistake named
before any data is read."""
import subprocess
import sys
import zipfile

import pytest

from ser_keras.config import (ExperimentConfig, LossConfig, TrainingConfig, from_dict,
                              parse_input_mapping)
from ser_keras.errors import ConfigError
from ser_keras.experiment import experiment_from_dict, load_experiment, required_feature_sets

BASE = {"name": "x", "class_set": "iemocap4", "data_dir": "/nonexistent/store",
        "cells": [{"id": "a", "model": "mmfa-audio"}]}


def test_ho2020_tables_load_with_the_papers_recipe_from_their_yaml():
    exp = load_experiment("ho2020/table3")
    assert exp.class_set == "iemocap4" and exp.protocol == "loso10"
    assert [c.id for c in exp.cells] == [
        "improvised-audio", "improvised-text", "improvised-multimodal",
        "mixed-audio", "mixed-text", "mixed-multimodal"]
    t = exp.training
    assert (t.optimizer.name, t.learning_rate, t.schedule.name, t.schedule.options) == (
        "sgd", 1e-3, "inverse_time", {"decay_steps": 1, "decay_rate": 1e-6})
    assert exp.for_cell("improvised-text").scenario == "improvised"
    assert exp.for_cell("mixed-text").scenario == "mixed"
    table4 = load_experiment("ho2020/table4")  # extends table3
    assert table4.class_set == "iemocap8" and table4.cells == exp.cells
    assert table4.training == exp.training and table4.name == "ho2020/table4"


def test_one_experiment_over_meld_and_mosei_follows_the_dataset(tmp_path):
    # ho2020/table6: --dataset picks the datasets: block's keys; overrides still win
    meld = load_experiment("ho2020/table6")
    mosei = load_experiment("ho2020/table6", ["dataset=mosei"])
    assert (meld.dataset, meld.class_set, meld.protocol) == ("meld", "meld7", "official")
    assert (mosei.dataset, mosei.class_set) == ("mosei", "mosei6")
    assert mosei.training == meld.training == load_experiment("ho2020/table3").training
    forced = load_experiment("ho2020/table6", ["dataset=mosei", "class_set=meld7"])
    assert forced.class_set == "meld7"
    scores = load_experiment("ho2020/table7")         # extends table6: the block is inherited
    assert (scores.dataset, scores.class_set, scores.regression) == ("mosei", "mosei6", True)
    assert scores.targets == ["happy", "sad", "anger", "surprise", "disgust", "fear"]
    # a file's own key beats its base's per-dataset one; --set edits a block; dotted keys
    child = tmp_path / "child.yaml"
    child.write_text("extends: ho2020/table6\nname: c\ndataset: mosei\nclass_set: meld7\n")
    assert load_experiment(str(child)).class_set == "meld7"
    edited = load_experiment("ho2020/table6", ["dataset=mosei",
                                               "datasets.mosei.training.epochs=3"])
    assert edited.training.epochs == 3 and edited.class_set == "mosei6"
    dotted = tmp_path / "dotted.yaml"
    dotted.write_text("extends: ho2020/table6\nname: d\n"
                      "datasets: {mosei: {training.epochs: 7}}\n")
    assert load_experiment(str(dotted), ["dataset=mosei"]).training.epochs == 7
    assert load_experiment(str(dotted)).training.epochs == 100       # on meld: the base's
    moved = tmp_path / "moved.yaml"
    moved.write_text("extends: ho2020/table6\nname: m\n"
                     "cells: [{id: a, model: mmfa-audio, overrides: {dataset: mosei}}]\n")
    with pytest.raises(ConfigError, match=r"cells\[a\].overrides.dataset: mosei has keys"):
        load_experiment(str(moved))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nclass_set: iemocap4\ncells: [{id: a, model: mmfa-audio}]\n"
                   "datasets: {demo: {cells: []}}\n")
    with pytest.raises(ConfigError, match=r"datasets.demo: cannot set \['cells'\]"):
        load_experiment(str(bad))


def test_regression_targets_are_dimensions_or_score_names():
    ok = experiment_from_dict({**BASE, "targets": ["happy", "valence"],
                               "training": {"loss": "mae", "selection_metric": "mae"}})
    assert ok.regression and ok.training.loss.name == "mae"
    for targets in (["speaker"], ["Happy"], ["happy", "happy"], ["classes", "valence"]):
        with pytest.raises(ConfigError, match="targets"):
            experiment_from_dict({**BASE, "targets": targets,
                                  "training": {"loss": "mse", "selection_metric": "mse"}})


def test_generic_defaults_carry_no_papers_recipe():
    t = TrainingConfig()
    assert (t.optimizer.name, t.schedule.name, t.loss.name) == ("adam", "none",
                                                                 "cross_entropy")


def test_yaml_strings_are_converted_and_bad_values_are_config_errors():
    exp = load_experiment("ho2020/table3", ["training.learning_rate=1e-3",
                                            "training.epochs=3", "dataset=demo"])
    assert exp.training.learning_rate == 0.001 and isinstance(exp.training.learning_rate, float)
    assert (exp.training.epochs, exp.dataset) == (3, "demo")
    with pytest.raises(ConfigError, match="training.epochs: expected an integer, got 'ten'"):
        load_experiment("ho2020/table3", ["training.epochs=ten"])
    with pytest.raises(ConfigError, match="unknown key.*'epoch'"):
        load_experiment("ho2020/table3", ["training.epoch=3"])


def test_model_config_mistakes_are_caught_before_data_is_read():
    # data_dir does not exist: every error below comes from resolution, not from the store.
    with pytest.raises(ConfigError, match="dropot"):
        experiment_from_dict(dict(BASE, models={"mmfa-audio": {"dropot": 0.1}}))
    with pytest.raises(ConfigError, match="dropout: must be in"):
        experiment_from_dict(dict(BASE, models={"mmfa-audio": {"dropout": 1.5}}))
    with pytest.raises(ConfigError, match="unknown model 'no-such-model'"):
        experiment_from_dict(dict(BASE, cells=[{"id": "a", "model": "no-such-model"}]))
    with pytest.raises(ConfigError, match="class_set"):
        experiment_from_dict(dict(BASE, class_set="nope"))
    with pytest.raises(ConfigError, match="no such experiment"):
        load_experiment("ho2020/table99")


def test_recipe_mistakes_are_caught_before_data_is_read():
    def training(**kw):
        return experiment_from_dict(dict(BASE, training=kw))

    with pytest.raises(ConfigError, match="regression loss"):
        training(loss="mse")
    with pytest.raises(ConfigError, match="unknown metric 'uarr'"):
        training(selection_metric="uarr")
    with pytest.raises(ConfigError, match="momentm"):
        training(optimizer={"name": "sgd", "options": {"momentm": 0.9}})
    with pytest.raises(ConfigError, match="schedule"):
        training(schedule={"name": "inverse_time", "options": {"decay_rte": 1}})
    with pytest.raises(ConfigError, match="class_weights"):
        training(loss={"name": "cross_entropy", "class_weights": "inverse"})
    exp = training(selection_metric="uar", loss={"name": "cross_entropy",
                                                 "class_weights": "smallest"})
    assert exp.training.loss == LossConfig("cross_entropy", "smallest")


def test_inputs_are_resolved_per_cell():
    exp = experiment_from_dict(dict(
        BASE, inputs={"audio": "mfcc39_mean+prosody8"},
        cells=[{"id": "a", "model": "mlp"},
               {"id": "b", "model": "mlp", "inputs": {"audio": "egemaps_func"}},
               {"id": "c", "model": "mmfa"}]))
    assert required_feature_sets(exp) == ["mfcc39_mean", "prosody8", "egemaps_func",
                                          "bert_tokens"]
    with pytest.raises(ConfigError, match="has no input.*'speech'"):
        experiment_from_dict(dict(BASE, cells=[{"id": "a", "model": "mlp",
                                                "inputs": {"speech": "x"}}]))
    with pytest.raises(ConfigError, match="'transcript' is not a feature set"):
        experiment_from_dict(dict(BASE, inputs={"audio": "transcript"}))
    assert parse_input_mapping("audio=a+b, text=c") == {"audio": "a+b", "text": "c"}
    with pytest.raises(ConfigError, match="expected input=feature_set"):
        parse_input_mapping("audio")


def test_from_dict_builds_nested_typed_dataclasses():
    exp = from_dict(ExperimentConfig, {
        "name": "n", "class_set": "c", "cells": [{"id": "a", "labels": {"threshold": 0.25}}],
        "training": {"loss": "ccc", "optimizer": {"name": "adamw"}, "patience": "5"},
        "input_options": {"audio": {"crop_seconds": "5"}}})
    assert exp.cells[0].labels == {"threshold": "0.25"}
    assert exp.training.loss.name == "ccc" and exp.training.patience == 5
    assert exp.input_options["audio"].crop_seconds == 5.0
    with pytest.raises(ConfigError, match="cells\\[0\\]: missing key"):
        from_dict(ExperimentConfig, {"name": "n", "class_set": "c", "cells": [{}]})


def test_config_imports_no_model_code():
    code = ("import sys, ser_keras.config, ser_keras.errors; "
            "assert not [m for m in sys.modules if m.startswith('ser_keras.models')]")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.slow
def test_the_wheel_ships_the_experiments(tmp_path):
    # build
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                             "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    # act
    (wheel,) = tmp_path.glob("ser_keras-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    # assert
    for name in ("experiments/__init__.py", "experiments/ho2020/table3.yaml",
                 "experiments/ho2020/tables.yaml", "experiments/ho2020/published.csv"):
        assert name in names, name


def test_experiments_are_found_from_any_working_directory(tmp_path):
    code = ("from ser_keras.experiment import load_experiment; "
            "print(load_experiment('ho2020/table3').name)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.stdout.strip() == "ho2020/table3", result.stderr[-2000:]
