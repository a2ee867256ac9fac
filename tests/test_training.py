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
from ser_keras.errors import ConfigError
from ser_keras.experiment import experiment_from_dict
from ser_keras.training import ExperimentData, run_job

TINY_MMFA = {"audio_gru_factor": 1, "text_gru_factor": 1, "fusion_units": 4,
             "head_units": [4, 4]}
MODELS = {"mixed-multimodal": "mmfa", "mixed-audio": "mmfa-audio", "mixed-text": "mmfa-text"}


def _experiment(root, epochs=2, cells=("mixed-multimodal",)):
    return {
        "name": "test/fake", "paper": "test", "dataset": "iemocap",
        "data_dir": str(root), "class_set": "iemocap4", "protocol": "loso10",
        "inputs": {"audio": "audio_feats", "text": "text_feats"},
        "cells": [{"id": c, "model": MODELS[c], "labels": {"modality": c.split("-")[1]}}
                  for c in cells],
        "models": {name: TINY_MMFA for name in ("mmfa", "mmfa-audio", "mmfa-text")},
        "training": {"optimizer": "sgd", "learning_rate": 1e-3, "epochs": epochs,
                     "batch_size": 8, "selection_metric": "accuracy"},
        "seeds": [0]}


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
    assert metrics["run"]["labels"] == {"modality": "multimodal"}
    assert metrics["run"]["inputs"] == {"audio": "audio_feats", "text": "text_feats"}
    assert metrics["selection"]["metric"] == "accuracy"
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 2 and "val_accuracy" in history[0]
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["job"]["fold"] == 0 and config["training"]["learning_rate"] == 1e-3


def test_a_finished_run_of_another_config_is_not_taken_for_this_one(fake_root, tmp_path):
    exp = experiment_from_dict(_experiment(fake_root, epochs=1, cells=("mixed-audio",)))
    run_job(exp, exp.cells[0], 1, 0, tmp_path, ExperimentData(exp), log=lambda m: None)
    other = experiment_from_dict(_experiment(fake_root, epochs=2, cells=("mixed-audio",)))
    with pytest.raises(ConfigError, match="another config.*training.epochs"):
        run_job(other, other.cells[0], 1, 0, tmp_path, ExperimentData(other),
                log=lambda m: None)


def test_unimodal_cells_read_only_their_features(fake_root, tmp_path):
    exp = experiment_from_dict(_experiment(fake_root, epochs=1,
                                           cells=("mixed-audio", "mixed-text")))
    data = ExperimentData(exp)
    for cell in exp.cells:
        metrics = run_job(exp, cell, 3, 0, tmp_path, data, log=lambda m: None)
        assert metrics["run"]["model"] == cell.model
        assert list(metrics["run"]["inputs"]) == [cell.id.split("-")[1]]


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
    # An ad-hoc run is reported too (ser-report's summary of every run).
    adhoc = subprocess.run([sys.executable, "-m", "ser_keras.cli.train", "--model", "mmfa",
                            "--dataset", "demo", "--data", str(data), "--runs", str(runs),
                            "--folds", "0", "--epochs", "1"], capture_output=True, text=True,
                           timeout=900)
    assert adhoc.returncode == 0, adhoc.stderr[-3000:]
    report = subprocess.run([sys.executable, "-m", "ser_keras.cli.report", "--runs", str(runs),
                             "--out", str(tables)], capture_output=True, text=True, timeout=900)
    assert report.returncode == 0, report.stderr[-3000:]
    summary = (tables / "runs_summary.md").read_text()
    assert "mmfa-iemocap4-loso10" in summary and "runs_summary" in (tables / "README.md").read_text()


def test_mixed_precision_job_trains_and_leaves_the_policy_as_it_was(fake_root, tmp_path):
    import keras

    config = _experiment(fake_root, epochs=1)
    config["training"]["precision"] = "mixed_bfloat16"
    exp = experiment_from_dict(config)
    metrics = run_job(exp, exp.cells[0], 2, 0, tmp_path, ExperimentData(exp), log=lambda m: None)
    assert metrics["n_test"] > 0 and metrics["params"] > 0
    assert keras.mixed_precision.global_policy().name == "float32"


def test_cross_corpus_job_tests_on_the_whole_other_corpus(fake_root, tmp_path):
    from ser_keras.data import ProtocolError

    clash_root = fake_root / "clash"
    make_fake_store(clash_root, corpus="iemocap")
    make_fake_store(clash_root, corpus="demo", per_speaker=4, seed=5)
    clash = _experiment(clash_root, epochs=1)
    clash["test_dataset"] = "demo"
    clash = experiment_from_dict(clash)
    with pytest.raises(ProtocolError, match="share .* utt_id"):
        run_job(clash, clash.cells[0], 0, 0, tmp_path, ExperimentData(clash),
                log=lambda m: None)
    other = make_fake_store(fake_root, corpus="demo", per_speaker=4, seed=5, id_prefix="d-")
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
    with pytest.raises(ProtocolError, match="class sets for iemocap: cross-dims, cross4, iemocap4, iemocap8"):
        ExperimentData(exp)


def test_a_vector_model_learns_separable_data(fake_root, tmp_path):
    # build: mlp on the separable utterance-level set (class means 3 apart)
    config = _experiment(fake_root, epochs=30, cells=())
    config.update(inputs={"audio": "vec_feats"},
                  cells=[{"id": "vec", "model": "mlp"}],
                  models={"mlp": {"hidden_units": [16], "dropout": 0.1}},
                  training={"optimizer": "adam", "learning_rate": 1e-2, "epochs": 30,
                            "batch_size": 16, "selection_metric": "uar",
                            "loss": {"name": "cross_entropy",
                                     "class_weights": "inverse_frequency"}})
    exp = experiment_from_dict(config)
    data = ExperimentData(exp)
    # act: three folds (a test speaker has ~8 utterances: one error is 0.88)
    runs = [run_job(exp, exp.cells[0], fold, 0, tmp_path, data, log=lambda m: None)
            for fold in range(3)]
    # assert: chance is 0.25
    assert sum(r["metrics"]["accuracy"] for r in runs) / 3 >= 0.9
    assert runs[0]["run"]["inputs"] == {"audio": "vec_feats"}


def test_late_fusion_averages_the_probabilities_of_finished_runs(fake_root, tmp_path):
    import numpy as np
    import pandas as pd

    config = _experiment(fake_root, epochs=1, cells=("mixed-audio", "mixed-text"))
    config["cells"].append({"id": "fusion", "labels": {"modality": "late-fusion"},
                            "overrides": {"task": "late-fusion", "task_options": {
                                "sources": ["mixed-audio", "mixed-text"]}}})
    exp = experiment_from_dict(config)
    data = ExperimentData(exp)
    with pytest.raises(Exception, match="needs the finished run of mixed-audio"):
        run_job(exp, exp.cell("fusion"), 0, 0, tmp_path, data, log=lambda m: None)
    for cell in exp.cells:
        run_job(exp, cell, 0, 0, tmp_path, data, force=True, log=lambda m: None)
    read = lambda c: pd.read_csv(tmp_path / f"test/fake/iemocap/{c}/fold00-seed0/predictions.csv")
    audio, text, fused = read("mixed-audio"), read("mixed-text"), read("fusion")
    probs = [c for c in fused.columns if c.startswith("prob_")]
    np.testing.assert_allclose(fused[probs], (audio[probs] + text[probs]) / 2, atol=2e-6)
    assert list(fused["utt_id"]) == list(audio["utt_id"])


def test_continuous_targets_train_with_the_ccc_loss(fake_root, tmp_path):
    config = _experiment(fake_root, epochs=2, cells=())
    config.update(inputs={"audio": "vec_feats"}, targets=["valence", "arousal"],
                  cells=[{"id": "dims", "model": "mlp"}],
                  models={"mlp": {"hidden_units": [8]}},
                  training={"loss": "ccc", "selection_metric": "ccc", "epochs": 2,
                            "batch_size": 16})
    exp = experiment_from_dict(config)
    metrics = run_job(exp, exp.cells[0], 0, 0, tmp_path, ExperimentData(exp),
                      log=lambda m: None)
    assert metrics["kind"] == "regression" and set(metrics["per_target"]) == {"valence",
                                                                             "arousal"}
    header = (tmp_path / "test/fake/iemocap/dims/fold00-seed0/predictions.csv").read_text()
    assert header.startswith("utt_id,true_valence,true_arousal,pred_valence,pred_arousal")


@pytest.mark.parametrize("mode", ["none", "after-split", "before-split"])
def test_augmented_copies_follow_the_experiments_augmentation_mode(tmp_path, mode):
    """ser-prepare --augment copies: never tested on; trained on only as the config says."""
    make_fake_store(tmp_path, corpus="iemocap", per_speaker=12, copies=1)
    config = dict(_experiment(tmp_path, epochs=1), protocol="random-stratified",
                  augmentation=mode, inputs={"audio": "vec_feats"},
                  cells=[{"id": "mlp", "model": "mlp"}])
    exp = experiment_from_dict(config)
    run_job(exp, exp.cells[0], 0, 0, tmp_path / "runs", ExperimentData(exp), log=lambda m: None)
    folds = json.loads((tmp_path / "runs/test/fake/iemocap/mlp/fold00-seed0/folds.json")
                       .read_text())
    copies = lambda part: [u for u in folds[part] if "~noise" in u]
    source = lambda u: u.split("~")[0]
    if mode == "none":
        assert not any(copies(p) for p in ("train", "validation", "test"))
    elif mode == "after-split":
        assert not copies("validation") and not copies("test")
        assert {source(u) for u in copies("train")} == set(folds["train"]) - set(copies("train"))
        assert folds["info"]["augmented_train"] == len(copies("train"))
    else:  # the leaky reading: copies are utterances of their own, so some test ones leak
        assert folds["info"]["leaked_test_sources"] > 0
        train = {source(u) for u in folds["train"]}
        assert any(source(u) in train for u in folds["test"])


def test_cells_differing_only_in_augmentation_get_their_own_folds(tmp_path):
    make_fake_store(tmp_path, corpus="iemocap", per_speaker=12, copies=1)
    config = dict(_experiment(tmp_path, epochs=1), protocol="random-stratified",
                  augmentation="after-split", inputs={"audio": "vec_feats"},
                  cells=[{"id": "leaky", "model": "mlp",
                          "overrides": {"augmentation": "before-split"}},
                         {"id": "clean", "model": "mlp"}])
    exp = experiment_from_dict(config)
    data = ExperimentData(exp)
    leaky = data.selection(data.plans["leaky"].config)[2][0]
    clean = data.selection(data.plans["clean"].config)[2][0]
    assert leaky.info["augmentation_mode"] == "before-split"
    assert clean.info["augmentation_mode"] == "after-split"
    assert not [u for u in clean.test if "~noise" in u]


def test_augmentation_without_copies_in_the_manifest_stops_clearly(fake_root):
    from ser_keras.data import ProtocolError

    exp = experiment_from_dict(dict(_experiment(fake_root), augmentation="after-split"))
    data = ExperimentData(exp)
    with pytest.raises(ProtocolError, match="manifest has none: prepare it with .*--augment noise"):
        data.selection(data.plans[exp.cells[0].id].config)


def test_a_cross_corpus_test_never_holds_copies_or_the_training_corpus(tmp_path):
    from ser_keras.data import ProtocolError

    make_fake_store(tmp_path, corpus="iemocap")
    others = make_fake_store(tmp_path, corpus="demo", per_speaker=4, id_prefix="d-", copies=1)
    config = dict(_experiment(tmp_path, epochs=1), test_dataset="demo",
                  inputs={"audio": "vec_feats"}, cells=[{"id": "mlp", "model": "mlp"}])
    exp = experiment_from_dict(config)
    metrics = run_job(exp, exp.cells[0], 0, 0, tmp_path / "runs", ExperimentData(exp),
                      log=lambda m: None)
    originals = [r for r in others if r["status"] == "ok" and not r.get("source_id")
                 and r["label"] in ("neu", "ang", "sad", "hap", "exc")]
    assert metrics["n_test"] == len(originals)
    pooled = experiment_from_dict(dict(config, dataset="iemocap+demo",
                                       protocol="speaker-kfold"))
    with pytest.raises(ProtocolError, match="part of. the training dataset"):
        run_job(pooled, pooled.cells[0], 0, 0, tmp_path / "runs2", ExperimentData(pooled),
                log=lambda m: None)


def test_a_run_made_before_a_config_key_existed_is_still_recognised(fake_root, tmp_path):
    exp = experiment_from_dict(_experiment(fake_root, epochs=1))
    data = ExperimentData(exp)
    run_job(exp, exp.cells[0], 0, 0, tmp_path, data, log=lambda m: None)
    path = tmp_path / "test/fake/iemocap/mixed-multimodal/fold00-seed0/config.yaml"
    old = yaml.safe_load(path.read_text())
    old.pop("augmentation")                           # as written before the key existed
    old["model_config"].pop(next(iter(old["model_config"])))
    path.write_text(yaml.safe_dump(old))
    assert run_job(exp, exp.cells[0], 0, 0, tmp_path, data, log=lambda m: None) is None
