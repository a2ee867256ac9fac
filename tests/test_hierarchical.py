"""The hierarchical task (alqurashi2024 Fig. 1, Algorithm 1): the routing rule on fabricated
probabilities, and whole jobs on a fake store (what each stage is trained on, the SI fold,
thresholds from one set of trained models, resuming, the errors)."""
import csv
import json

import numpy as np
import pytest

from fake_store import make_fake_store
from ser_keras.errors import ConfigError, ProtocolError
from ser_keras.experiment import experiment_from_dict
from ser_keras.training import ExperimentData, run_job
from ser_keras.training.hierarchical import cascade_counts, read_stage_predictions, route

# iemocap4's order: neutral, angry, sad, happy (neutral = 0; the emotions angry, sad, happy)
LEVEL1 = [[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.55, 0.45], [0.5, 0.5]]
EMOTIONS = [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.3, 0.3, 0.4], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]
TEXT = [[0.30, 0.10, 0.10, 0.50], [0.90, 0.05, 0.03, 0.02], [0.20, 0.50, 0.20, 0.10],
        [0.38, 0.12, 0.40, 0.10], [0.60, 0.20, 0.10, 0.10]]
TRUTH = [3, 1, 0, 2, 0]


@pytest.mark.parametrize("use_text, threshold, expected", [
    # Model 1 calls samples 0, 2, 3 and 4 (a tie: neutral) neutral; sample 1 goes to Model 2,
    # whose argmax is angry (1). S: the neutral calls stay neutral.
    (False, None, [0, 1, 0, 0, 0]),
    # ST: Model 3's argmax for every neutral call: happy, angry, sad, neutral
    (True, None, [3, 1, 1, 2, 0]),
    # Algorithm 1: kept neutral when Model 3's P(neutral) >= t (0.30, 0.20, 0.38, 0.60)
    (True, 0.25, [0, 1, 1, 0, 0]),
    (True, 0.30, [0, 1, 1, 0, 0]),   # 0.30 >= 0.30: kept
    (True, 0.35, [3, 1, 1, 0, 0]),
    (True, 0.40, [3, 1, 1, 2, 0]),
])
def test_the_cascade_routes_as_algorithm_1_says(use_text, threshold, expected):
    pred, scores, called = route(LEVEL1, EMOTIONS, TEXT, 0, use_text, threshold)
    assert pred.tolist() == expected
    assert np.argmax(scores, axis=1).tolist() == expected  # the scores agree with the decision
    assert called.tolist() == [True, False, True, True, True]


def test_corrected_counts_the_emotional_samples_model_1_called_neutral():
    called = np.array([True, False, True, True, True])
    # truths: happy, angry, neutral, sad, neutral: samples 0 and 3 are emotional called neutral
    st = cascade_counts(TRUTH, [3, 1, 1, 2, 0], called, 0)
    assert (st["emotional_called_neutral"], st["corrected"], st["corrected_share"]) == (2, 2, 1.0)
    assert st["called_neutral"] == 4 and st["kept_neutral"] == 1
    kept = cascade_counts(TRUTH, [0, 1, 1, 0, 0], called, 0)
    assert (kept["corrected"], kept["corrected_share"], kept["kept_neutral"]) == (0, 0.0, 3)
    assert cascade_counts([0, 0], [0, 0], [True, True], 0)["corrected_share"] is None


# --------------------------------------------------------------------------------------------
# Whole jobs on a fake store
# --------------------------------------------------------------------------------------------
STAGES = {"level1": {"model": "lstm-speech"}, "emotions": {"model": "lstm-speech"},
          "text": {"model": "lstm-text"}}


def _experiment(root, protocol="sd-80-10-10", epochs=25, extra_cells=()):
    return {
        "name": "test/cascade", "paper": "test", "dataset": "iemocap", "data_dir": str(root),
        "class_set": "iemocap4", "protocol": protocol, "task": "hierarchical",
        "inputs": {"audio": "vec_feats", "text": "text_feats"},
        "models": {"lstm-speech": {"units": 16, "dense_units": 16, "dropout": 0.1},
                   "lstm-text": {"units": 8, "dense_units": 8}},
        "training": {"optimizer": "adam", "learning_rate": 1e-2, "epochs": epochs,
                     "batch_size": 16, "selection_metric": "balanced_accuracy"},
        "cells": [
            {"id": "st", "overrides": {"task_options": {"stages": STAGES}}},
            {"id": "s", "overrides": {"task_options": {"source": "st", "text": False}}},
            {"id": "st-0.3", "overrides": {"task_options": {"source": "st", "threshold": 0.3}}},
            *extra_cells],
        "seeds": [0]}


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    make_fake_store(root, corpus="iemocap", per_speaker=30)
    return root


@pytest.fixture(scope="module")
def trained(fake_root, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    exp = experiment_from_dict(_experiment(fake_root))
    data = ExperimentData(exp)
    reports = {c.id: run_job(exp, c, 0, 0, runs, data, log=lambda m: None)
               for c in exp.cells}
    return exp, data, runs, reports


def _run(runs, cell, dataset="iemocap"):
    return runs / "test/cascade" / dataset / cell / "fold00-seed0"


def test_model_2_never_sees_a_neutral_sample_and_models_1_and_3_see_all(trained):
    exp, data, runs, _ = trained
    fold = json.loads((_run(runs, "st") / "folds.json").read_text())
    code = {r["utt_id"]: r["label"] for r in data.rows("iemocap")}
    emotions = json.loads((_run(runs, "st") / "stages/emotions/folds.json").read_text())
    assert emotions["classes"] == ["angry", "sad", "happy"]
    for part in ("train", "validation", "test"):
        assert emotions[part] and all(code[u] != "neu" for u in emotions[part])
        assert set(emotions[part]) == {u for u in fold[part] if code[u] != "neu"}
    for stage in ("level1", "text"):
        stage_fold = json.loads((_run(runs, "st") / f"stages/{stage}/folds.json").read_text())
        assert stage_fold["train"] == fold["train"]
    level1 = json.loads((_run(runs, "st") / "stages/level1/folds.json").read_text())
    assert level1["classes"] == ["neutral", "emotional"]


def test_every_stage_predicts_every_validation_and_test_sample(trained):
    _, _, runs, _ = trained
    fold = json.loads((_run(runs, "st") / "folds.json").read_text())
    parts = read_stage_predictions(_run(runs, "st") / "stage_predictions.csv",
                                   ["neutral", "angry", "sad", "happy"], "neutral", "emotional")
    for part in ("validation", "test"):
        assert parts[part]["ids"] == fold[part]
        assert parts[part]["level1"].shape == (len(fold[part]), 2)
        assert parts[part]["emotions"].shape == (len(fold[part]), 3)
        assert parts[part]["text"].shape == (len(fold[part]), 4)
        np.testing.assert_allclose(parts[part]["emotions"].sum(axis=1), 1, atol=1e-5)


def test_the_baseline_and_thresholds_reuse_the_trained_models(trained):
    _, _, runs, reports = trained
    parts = read_stage_predictions(_run(runs, "st") / "stage_predictions.csv",
                                   ["neutral", "angry", "sad", "happy"], "neutral", "emotional")
    test = parts["test"]
    for cell, use_text, threshold in (("st", True, None), ("s", False, None),
                                      ("st-0.3", True, 0.3)):
        assert (_run(runs, cell) / "stages").exists() == (cell == "st")
        with open(_run(runs, cell) / "predictions.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert [r["utt_id"] for r in rows] == test["ids"]
        pred, _, called = route(test["level1"], test["emotions"], test["text"], 0, use_text,
                                threshold)
        assert [r["predicted"] for r in rows] == [["neutral", "angry", "sad", "happy"][p]
                                              for p in pred]
        block = reports[cell]["cascade"]
        assert block == {**cascade_counts(test["y"], pred, called, 0),
                         "source": None if cell == "st" else "st", "text": use_text,
                         "threshold": threshold, "neutral": "neutral"}
    # the speech-only baseline learns the separable speech features (chance: 0.25)
    assert reports["s"]["metrics"]["balanced_accuracy"] >= 0.7


def test_corrected_csv_lists_the_corrected_samples_with_their_transcripts(trained):
    _, data, runs, reports = trained
    text = {r["utt_id"]: r["text"] for r in data.rows("iemocap")}
    for cell in ("st", "s", "st-0.3"):
        with open(_run(runs, cell) / "corrected.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == reports[cell]["cascade"]["corrected"]
        for r in rows:
            assert r["speech_prediction"] == "neutral" and r["prediction"] == r["label"]
            assert r["label"] != "neutral" and r["text"] == text[r["utt_id"]]


def test_an_interrupted_cascade_keeps_its_trained_stages(trained):
    exp, data, runs, reports = trained
    (_run(runs, "st") / "metrics.json").unlink()
    messages = []
    again = run_job(exp, "st", 0, 0, runs, data, log=messages.append)
    assert sum("trained already" in m for m in messages) == 3
    assert again["metrics"] == reports["st"]["metrics"]


def test_the_si_fold_trains_on_sessions_1_to_4_and_tests_session_5_female(fake_root, tmp_path):
    exp = experiment_from_dict(_experiment(fake_root, protocol="si-session5", epochs=1))
    data = ExperimentData(exp)
    run_job(exp, "st", 0, 0, tmp_path, data, log=lambda m: None)
    fold = json.loads((_run(tmp_path, "st") / "folds.json").read_text())
    speaker = {r["utt_id"]: r["speaker"] for r in data.rows("iemocap")}
    assert {speaker[u] for u in fold["validation"]} == {"Ses05M"}
    assert {speaker[u] for u in fold["test"]} == {"Ses05F"}
    assert {speaker[u][:5] for u in fold["train"]} == {"Ses01", "Ses02", "Ses03", "Ses04"}


def test_a_rule_cell_before_its_source_is_trained_names_the_command(fake_root, tmp_path):
    exp = experiment_from_dict(_experiment(fake_root))
    data = ExperimentData(exp)
    with pytest.raises(ProtocolError, match="ser-train --experiment test/cascade --cells st"):
        run_job(exp, "st-0.3", 0, 0, tmp_path, data, log=lambda m: None)


@pytest.mark.parametrize("options, message", [
    ({"source": "st", "text": False, "threshold": 0.3}, "needs text: true"),
    ({"source": "st", "threshold": 1.5}, "a probability in"),
    ({"source": "nowhere"}, "is not another cell"),
    ({}, "give stages .* or source"),
    ({"stages": {"level1": {"model": "lstm-speech"}}}, r"task_options.stages: needs"),
    ({"source": "st", "neutral": "calm"}, "must be one of"),
    ({"stages": STAGES, "extra": 1}, "unknown key"),
])
def test_bad_cascade_options_are_one_line_errors(fake_root, options, message):
    config = _experiment(fake_root, extra_cells=[{"id": "bad",
                                                  "overrides": {"task_options": options}}])
    with pytest.raises(ConfigError, match=message):
        ExperimentData(experiment_from_dict(config))


def test_an_unknown_stage_model_is_caught_before_any_data_is_read(fake_root):
    config = _experiment(fake_root)
    config["cells"][0]["overrides"]["task_options"]["stages"] = {
        **STAGES, "text": {"model": "no-such-model"}}
    with pytest.raises(ConfigError, match="no-such-model"):
        ExperimentData(experiment_from_dict(config))


def test_rule_cells_are_redone_when_their_source_is_retrained(fake_root, tmp_path):
    exp = experiment_from_dict(_experiment(fake_root, epochs=2))
    data = ExperimentData(exp)
    for cell in ("st", "st-0.3"):
        run_job(exp, cell, 0, 0, tmp_path, data, log=lambda m: None)
    messages = []
    assert run_job(exp, "st-0.3", 0, 0, tmp_path, data, log=messages.append) is None
    assert "done already" in messages[-1]
    # the source retrained (here: its stage probabilities rewritten)
    path = _run(tmp_path, "st") / "stage_predictions.csv"
    path.write_text(path.read_text().replace("0.", "0.0", 1))
    again = run_job(exp, "st-0.3", 0, 0, tmp_path, data, log=messages.append)
    assert again is not None and any("source st was retrained" in m for m in messages)


def test_a_changed_stage_model_config_is_not_reused_silently(fake_root, tmp_path):
    exp = experiment_from_dict(_experiment(fake_root, epochs=1))
    data = ExperimentData(exp)
    run_job(exp, "st", 0, 0, tmp_path, data, log=lambda m: None)
    (_run(tmp_path, "st") / "metrics.json").unlink()  # interrupted after its stages
    config = _experiment(fake_root, epochs=1)
    config["models"]["lstm-speech"]["units"] = 12     # e.g. a changed default
    exp2 = experiment_from_dict(config)
    with pytest.raises(ConfigError, match="stages/level1 holds a run made with another config"):
        run_job(exp2, "st", 0, 0, tmp_path, ExperimentData(exp2), log=lambda m: None)


def test_a_cells_search_space_is_not_part_of_its_runs(fake_root, tmp_path):
    config = _experiment(fake_root, epochs=1)
    config["cells"][0]["overrides"]["tune"] = {"trials": 3}
    exp = experiment_from_dict(config)
    run_job(exp, "st", 0, 0, tmp_path, ExperimentData(exp), log=lambda m: None)
    config["cells"][0]["overrides"]["tune"] = {"trials": 30}
    exp = experiment_from_dict(config)
    assert run_job(exp, "st", 0, 0, tmp_path, ExperimentData(exp), log=lambda m: None) is None


def test_input_options_of_another_cells_stage_are_known(fake_root):
    config = _experiment(fake_root)
    config["input_options"] = {"text": {"pad_to_frames": 16}}
    config["cells"].append({"id": "speech-only", "overrides": {"task_options": {
        "text": False, "stages": {k: STAGES[k] for k in ("level1", "emotions")}}}})
    ExperimentData(experiment_from_dict(config))  # no "no model has input(s) ['text']"


@pytest.mark.parametrize("stage_spec, message", [
    ({"model": "lstm-speech", "overrides": {"class_set": "iemocap4"}}, r"\['class_set'\] are the cell's"),
    ({"model": "lstm-speech", "overrides": {"protocol": "loso10"}}, r"\['protocol'\] are the cell's"),
    ({"model": "lstm-speech", "inputs": "vec_feats"}, "inputs: a mapping"),
    ({"model": "lstm-speech", "overrides": ["x"]}, "overrides: a mapping"),
])
def test_a_stage_sets_only_its_own_recipe(fake_root, stage_spec, message):
    config = _experiment(fake_root)
    config["cells"][0]["overrides"]["task_options"]["stages"] = {**STAGES, "level1": stage_spec}
    with pytest.raises(ConfigError, match=message):
        ExperimentData(experiment_from_dict(config))


def test_the_merged_class_must_not_be_a_class_and_loss_cannot_select_a_cascade(fake_root):
    config = _experiment(fake_root)
    config["cells"][0]["overrides"]["task_options"]["rest"] = "happy"
    with pytest.raises(ConfigError, match="rest: 'happy' names the merged"):
        ExperimentData(experiment_from_dict(config))
    config = _experiment(fake_root)
    config["training"]["selection_metric"] = "loss"
    with pytest.raises(ConfigError, match="needs a metric"):
        ExperimentData(experiment_from_dict(config))
