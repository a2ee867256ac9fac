"""Training jobs: the run folder contract, skipping finished jobs, resuming a killed job,
a 2-replica MirroredStrategy on CPU, and the demo end to end (prepare, train, report)."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from fake_store import make_fake_store
from ser_keras.config import experiment_from_dict
from ser_keras.training import ExperimentData, run_job

TINY_MMFA = {"audio_gru_factor": 1, "text_gru_factor": 1, "fusion_units": 4,
             "head_units": [4, 4]}


def _experiment(root, epochs=2, cells=("mixed-multimodal",)):
    models = {"mixed-multimodal": "mmfa", "mixed-audio": "mmfa-audio", "mixed-text": "mmfa-text"}
    return {
        "name": "test/fake", "paper": "test", "table": "fake", "dataset": "iemocap",
        "data_dir": str(root), "class_set": "iemocap4", "protocol": "loso10",
        "features": {"audio": "audio_feats", "text": "text_feats"},
        "cells": [{"scenario": "mixed", "modality": c.split("-")[1], "model": models[c]}
                  for c in cells],
        "models": {name: TINY_MMFA for name in ("mmfa", "mmfa-audio", "mmfa-text")},
        "training": {"epochs": epochs, "batch_size": 8}, "seeds": [0]}


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    make_fake_store(root, corpus="iemocap")
    return root


def test_job_writes_a_complete_run_folder_and_is_skipped_when_done(fake_root, tmp_path):
    # build
    exp = experiment_from_dict(_experiment(fake_root))
    data = ExperimentData(exp)
    # act
    metrics = run_job(exp, exp.cells[0], 0, 0, tmp_path, data, log=lambda m: None)
    again = run_job(exp, exp.cells[0], 0, 0, tmp_path, data, log=lambda m: None)
    # assert
    run = tmp_path / "test/fake/iemocap/mixed-multimodal/fold00-seed0"
    for name in ("config.yaml", "folds.json", "versions.json", "history.csv", "metrics.json",
                 "predictions.csv", "best.weights.h5", "best.json"):
        assert (run / name).is_file(), name
    assert not (run / "backup").exists() and again is None
    folds = json.loads((run / "folds.json").read_text())
    assert folds["info"] == {"test_speaker": "Ses01F", "validation_speaker": "Ses01M",
                             "test_session": 1}
    assert all(u.split("_")[-1][0] == "F" and u.startswith("Ses01") for u in folds["test"])
    assert not any(u.startswith("Ses01") for u in folds["train"])
    predictions = (run / "predictions.csv").read_text().splitlines()
    assert predictions[0] == "utt_id,true,predicted,prob_neutral,prob_angry,prob_sad,prob_happy"
    assert len(predictions) - 1 == len(folds["test"]) == metrics["n_test"]
    assert metrics["run"]["cell"] == "mixed-multimodal" and metrics["run"]["fold"] == 0
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 2 and "val_accuracy" in history[0]
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["job"]["fold"] == 0 and config["training"]["learning_rate"] == 1e-3


def test_unimodal_cells_read_only_their_features(fake_root, tmp_path):
    exp = experiment_from_dict(_experiment(fake_root, epochs=1,
                                           cells=("mixed-audio", "mixed-text")))
    data = ExperimentData(exp)
    for cell in exp.cells:
        metrics = run_job(exp, cell, 3, 0, tmp_path, data, log=lambda m: None)
        assert metrics["run"]["model"] == cell.model and 0 <= metrics["accuracy"] <= 1


def _cli(root, tmp_path, *extra, epochs=2):
    config = tmp_path / "fake.yaml"
    config.write_text(yaml.safe_dump(_experiment(root, epochs)))
    return [sys.executable, "-m", "ser_keras.cli.train", "--experiment", str(config),
            "--data", str(root), "--runs", str(tmp_path / "runs"), "--folds", "0", *extra]


@pytest.mark.slow
def test_two_replica_mirrored_strategy_on_cpu(fake_root, tmp_path):
    result = subprocess.run(_cli(fake_root, tmp_path, "--strategy", "mirrored",
                                 "--cpu-replicas", "2"),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 replica(s)" in result.stdout
    assert list((tmp_path / "runs").rglob("metrics.json"))


@pytest.mark.slow
def test_killed_job_resumes_where_it_stopped(fake_root, tmp_path):
    command = _cli(fake_root, tmp_path, epochs=6)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    history = None
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        found = list((tmp_path / "runs").rglob("history.csv"))
        if found and len(found[0].read_text().splitlines()) >= 3:  # two epochs done
            history = found[0]
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert history is not None, "the job finished or failed before it could be killed"
    run = history.parent
    assert not (run / "metrics.json").exists()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    epochs = [int(line.split(",")[0]) for line in history.read_text().splitlines()[1:]]
    assert epochs == list(range(6))
    assert (run / "metrics.json").is_file() and not (run / "backup").exists()


@pytest.mark.slow
def test_demo_end_to_end_prepare_train_report(tmp_path):
    data, runs, tables = tmp_path / "data", tmp_path / "runs", tmp_path / "tables"
    steps = [
        ["data_prep.cli", "demo", "--size", "tiny", "--out", str(data), "--quiet"],
        ["ser_keras.cli.train", "--experiment", "ho2020/table3", "--dataset", "demo",
         "--data", str(data), "--runs", str(runs), "--folds", "0,1", "--epochs", "1"],
        ["ser_keras.cli.report", "--runs", str(runs), "--out", str(tables)],
    ]
    for step in steps:
        result = subprocess.run([sys.executable, "-m", *step], capture_output=True, text=True,
                                timeout=900)
        assert result.returncode == 0, (step, result.stderr[-3000:])
    assert len(list(runs.rglob("metrics.json"))) == 6 * 2
    table = (tables / "ho2020_table3_demo.md").read_text()
    assert "(n=2)" in table and "76.00" in table  # ours beside the paper's headline
    assert list((tables / "figures").glob("*confusion.png"))


def test_mixed_precision_job_trains_and_leaves_the_policy_as_it_was(fake_root, tmp_path):
    import keras

    config = _experiment(fake_root, epochs=1)
    config["training"]["precision"] = "mixed_bfloat16"
    exp = experiment_from_dict(config)
    metrics = run_job(exp, exp.cells[0], 2, 0, tmp_path, ExperimentData(exp), log=lambda m: None)
    assert 0 <= metrics["accuracy"] <= 1
    assert keras.mixed_precision.global_policy().name == "float32"


def test_cross_corpus_job_tests_on_the_whole_other_corpus(fake_root, tmp_path):
    other = make_fake_store(fake_root, corpus="demo", per_speaker=4, seed=5)
    config = _experiment(fake_root, epochs=1)
    config["test_dataset"] = "demo"
    exp = experiment_from_dict(config)
    metrics = run_job(exp, exp.cells[0], 0, 0, tmp_path, ExperimentData(exp), log=lambda m: None)
    usable = [r for r in other if r["status"] == "ok" and r["label"] in ("neu", "ang", "sad",
                                                                             "hap", "exc")]
    assert metrics["n_test"] == len(usable)
    assert metrics["run"]["test_dataset"] == "demo"
    assert (tmp_path / "test/fake/iemocap-to-demo/mixed-multimodal/fold00-seed0").is_dir()


def test_text_model_on_a_corpus_without_transcripts_stops_clearly(tmp_path):
    from ser_keras.data import ProtocolError

    make_fake_store(tmp_path, corpus="iemocap", with_text=False)
    exp = experiment_from_dict(_experiment(tmp_path, epochs=1))
    with pytest.raises(ProtocolError, match="no transcripts.*mmfa-audio"):
        run_job(exp, exp.cells[0], 0, 0, tmp_path / "runs", ExperimentData(exp),
                log=lambda m: None)


def test_a_class_set_of_another_corpus_is_refused(fake_root):
    from ser_keras.data import ProtocolError

    exp = experiment_from_dict(dict(_experiment(fake_root), class_set="emodb7"))
    with pytest.raises(ProtocolError, match="class sets for iemocap: cross4, iemocap4, iemocap8"):
        ExperimentData(exp)
