"""ser-train on a cluster: --list-jobs and --job-index (one job of the list, a scheduler's
array task), a late fusion listed after its sources, per-epoch progress lines, TensorBoard
logs that leave a run's identity alone, and --strategy multiworker's TF_CONFIG."""
import json
import os
import re
import socket
import subprocess
import sys

import pytest
import yaml

from fake_store import make_fake_store
from ser_keras.cli import train
from ser_keras.errors import ConfigError
from ser_keras.training.strategy import read_tf_config

RUN = "test/jobs/iemocap"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    make_fake_store(root, corpus="iemocap", per_speaker=6)
    return root


def _experiment(root, tmp_path, epochs=1):
    """Two tiny MLPs on the separable vectors and their late fusion, listed first (it must
    still come after its sources)."""
    config = {
        "name": "test/jobs", "paper": "test", "dataset": "iemocap", "data_dir": str(root),
        "class_set": "iemocap4", "protocol": "loso10", "inputs": {"audio": "vec_feats"},
        "cells": [{"id": "fusion", "overrides": {"task": "late-fusion", "task_options": {
                      "sources": ["vec-a", "vec-b"]}}},
                  {"id": "vec-a", "model": "mlp"},
                  {"id": "vec-b", "model": "mlp", "overrides": {"training.learning_rate": 0.02}}],
        "models": {"mlp": {"hidden_units": [8], "dropout": 0.0}},
        "training": {"optimizer": "adam", "learning_rate": 1e-2, "epochs": epochs,
                     "batch_size": 16, "selection_metric": "uar"},
        "seeds": [0]}
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _ser_train(capsys, path, root, runs, *extra):
    """``ser-train`` in this process: (exit status, stdout lines, stderr)."""
    code = train.main(["--experiment", str(path), "--data", str(root), "--runs", str(runs),
                       "--folds", "0,1", *extra])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def _job_lines(out):
    """The per-job lines of a ser-train run (trained or skipped), as (cell, fold, seed)."""
    jobs = []
    for line in out:
        found = (re.match(r"(\S+) fold (\d+) \(.*\) seed (\d+): test ", line)
                 or re.match(r"(\S+) fold (\d+) seed (\d+): done already", line))
        if found:
            jobs.append((found[1], int(found[2]), int(found[3])))
    return jobs


def test_list_and_job_index_split_an_experiment_into_its_jobs(store, tmp_path, capsys):
    path, runs = _experiment(store, tmp_path), tmp_path / "runs"
    # --list-jobs: one line a job, sources first, nothing trained
    code, listed, _ = _ser_train(capsys, path, store, runs, "--list-jobs")
    assert code == 0 and not runs.exists()
    assert listed == ["0 vec-a fold 0 seed 0 todo", "1 vec-a fold 1 seed 0 todo",
                      "2 vec-b fold 0 seed 0 todo", "3 vec-b fold 1 seed 0 todo",
                      "4 fusion fold 0 seed 0 todo stage 2 after vec-a,vec-b",
                      "5 fusion fold 1 seed 0 todo stage 2 after vec-a,vec-b"]
    # --job-index: exactly that job
    code, out, _ = _ser_train(capsys, path, store, runs, "--job-index", "2")
    assert code == 0, out
    assert [p.parent.relative_to(runs / RUN).as_posix()
            for p in runs.rglob("metrics.json")] == ["vec-b/fold00-seed0"]
    assert "job 2 of 6" in out[0]
    # a fusion whose source has not finished: the existing one-line error, exit 2
    code, out, err = _ser_train(capsys, path, store, runs, "--job-index", "4")
    assert code == 2 and "needs the finished run of vec-a" in err
    assert len(err.strip().splitlines()) == 1
    # out of range: one line, exit 2
    code, out, err = _ser_train(capsys, path, store, runs, "--job-index", "6")
    assert code == 2 and err.strip().splitlines() == [
        "ser-train: error: --job-index 6 is out of range: this command has 6 job(s), "
        "0 to 5 (--list-jobs lists them)"]
    # the state column follows the runs; the list itself does not change
    code, listed, _ = _ser_train(capsys, path, store, runs, "--list-jobs")
    assert [line.split()[-1] if "stage" not in line else line.split()[6]
            for line in listed] == ["todo", "todo", "done", "todo", "todo", "todo"]
    # the whole command runs the listed jobs, in the listed order
    code, out, _ = _ser_train(capsys, path, store, runs)
    assert code == 0, out
    assert _job_lines(out) == [(line.split()[1], int(line.split()[3]), int(line.split()[5]))
                               for line in listed]
    assert "vec-b fold 0 seed 0: done already" in "\n".join(out)
    code, listed, _ = _ser_train(capsys, path, store, runs, "--list-jobs", "--job-index", "5")
    assert listed == ["5 fusion fold 1 seed 0 done stage 2 after vec-a,vec-b"]


def test_epoch_lines_and_tensorboard_logs_leave_the_run_done(store, tmp_path, capsys):
    pytest.importorskip("tensorboard")  # TensorFlow writes summaries with it
    path, runs = _experiment(store, tmp_path, epochs=2), tmp_path / "runs"
    code, out, _ = _ser_train(capsys, path, store, runs, "--cells", "vec-a", "--folds", "0",
                              "--tensorboard")
    assert code == 0, out
    epochs = [line for line in out if re.match(r"\S+ fold \d+ seed \d+ epoch ", line)]
    assert [line.split(":")[0] for line in epochs] == [
        "vec-a fold 0 seed 0 epoch 1/2", "vec-a fold 0 seed 0 epoch 2/2"]
    assert all(", val balanced_accuracy " in line and ", best " in line for line in epochs)
    assert any(line.startswith("vec-a fold 0 (") and "test acc" in line for line in out)
    assert not any("/step" in line for line in out)  # no progress bar outside a terminal
    run = runs / RUN / "vec-a/fold00-seed0"
    events = sorted(p.parent.name for p in (run / "tensorboard").rglob("events.out.tfevents*"))
    assert events == ["train", "validation"]
    # without and with --tensorboard, the run is the same run: done already
    for extra in ((), ("--tensorboard",), ("--tensorboard", str(tmp_path / "board"))):
        code, out, _ = _ser_train(capsys, path, store, runs, "--cells", "vec-a", "--folds", "0",
                                  *extra)
        assert code == 0 and any("vec-a fold 0 seed 0: done already" in x for x in out), out
    # --tensorboard DIR: one folder per job under DIR, as under --runs
    code, out, _ = _ser_train(capsys, path, store, runs, "--cells", "vec-b", "--folds", "1",
                              "--tensorboard", str(tmp_path / "board"))
    assert code == 0, out
    board = tmp_path / "board" / RUN / "vec-b/fold01-seed0"
    assert list(board.rglob("events.out.tfevents*"))
    assert not (runs / RUN / "vec-b/fold01-seed0/tensorboard").exists()


def test_keras_progress_bar_on_a_terminal_only(store, tmp_path, capsys, monkeypatch):
    path, runs = _experiment(store, tmp_path), tmp_path / "runs"
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = _ser_train(capsys, path, store, runs, "--cells", "vec-a", "--folds", "2")
    assert code == 0, out
    assert any("/step" in line for line in out)
    assert any(re.match(r"vec-a fold 2 seed 0 epoch 1/1: ", line) for line in out)


def test_tensorboard_without_its_package_stops_before_training(store, tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.setattr(train, "_has_tensorboard", lambda: False)
    path, runs = _experiment(store, tmp_path), tmp_path / "runs"
    code, _, err = _ser_train(capsys, path, store, runs, "--tensorboard")
    assert code == 2 and not runs.exists()
    assert err.strip().splitlines() == ["ser-train: error: --tensorboard writes its logs with "
                                        "the tensorboard package, which is not installed: pip "
                                        "install tensorboard"]


def test_tf_config_is_checked_with_a_one_line_error():
    example = '"task": {"type": "worker", "index": 0}'
    for value, problem in ((None, "TF_CONFIG is not set"), ("{cluster", "is not JSON"),
                           ('{"task": {"type": "worker", "index": 0}}', "no 'cluster'"),
                           ('{"cluster": {"worker": ["a:1"]}}', "has no 'task'"),
                           ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", '
                            '"index": 1}}', "task.index 1"),
                           ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker", '
                            '"index": 0}}', "cluster.worker: not a non-empty list")):
        environ = {} if value is None else {"TF_CONFIG": value}
        with pytest.raises(ConfigError, match=problem) as caught:
            read_tf_config(environ)
        message = str(caught.value)
        assert "\n" not in message and example in message and "multiworker" in message
    config = read_tf_config({"TF_CONFIG": json.dumps(
        {"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]},
         "task": {"type": "worker", "index": 1}})})
    assert config["task"] == {"type": "worker", "index": 1}


def test_a_job_trains_under_a_multiworker_strategy_built_from_tf_config(store, tmp_path):
    # a missing TF_CONFIG stops ser-train with one line naming it (exit 2), before TensorFlow
    path = _experiment(store, tmp_path)
    command = ["--experiment", str(path), "--data", str(store), "--runs", str(tmp_path / "runs"),
               "--folds", "0", "--job-index", "0", "--strategy", "multiworker"]
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    result = subprocess.run([sys.executable, "-m", "ser_keras.cli.train", *command],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and not (tmp_path / "runs").exists()
    assert result.stderr.strip().splitlines()[-1].startswith(
        "ser-train: error: --strategy multiworker: TF_CONFIG is not set")
    # a single-worker cluster in one process: the strategy reads it through the resolver, and
    # the job trains under it
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    env["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"localhost:{port}"]},
                                   "task": {"type": "worker", "index": 0}})
    script = ("import sys\n"
              "from ser_keras.cli import train\n"
              "from ser_keras.training import strategy\n"
              "made, make = [], strategy.make_strategy\n"
              "strategy.make_strategy = lambda *a, **k: made.append(make(*a, **k)) or made[-1]\n"
              "code = train.main(sys.argv[1:])\n"
              "r = made[0].cluster_resolver\n"
              "print('made', code, type(made[0]).__name__, type(r).__name__, r.task_type,"
              " r.task_id, r.cluster_spec().as_dict()['worker'])\n")
    result = subprocess.run([sys.executable, "-c", script, *command], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1].split() == [
        "made", "0", "CollectiveAllReduceStrategy", "TFConfigClusterResolver", "worker", "0",
        f"['localhost:{port}']"]
    assert "1 replica(s)" in result.stdout
    assert (tmp_path / "runs" / RUN / "vec-a/fold00-seed0/metrics.json").is_file()


def test_a_job_another_process_trains_is_refused_and_a_dead_holders_lock_taken_over(
        store, tmp_path, capsys):
    from ser_keras import locks

    path, runs = _experiment(store, tmp_path), tmp_path / "runs"
    lock = runs / RUN / "vec-a" / ".fold00-seed0.lock"
    # a live holder (this process, as another ser-train would be): refused at once, named
    with locks.acquire(lock, command="ser-train (the other one)"):
        code, out, err = _ser_train(capsys, path, store, runs, "--job-index", "0")
        assert code == 2 and not (runs / RUN / "vec-a/fold00-seed0/metrics.json").exists()
        assert f"{lock}: locked by pid {os.getpid()}" in err
        assert "another process is training this job (ser-train --wait waits for it)" in err
    # other jobs of the experiment are not locked by it
    with locks.acquire(lock):
        code, out, _ = _ser_train(capsys, path, store, runs, "--job-index", "2")
        assert code == 0 and _job_lines(out) == [("vec-b", 0, 0)]
    # a lock left by a killed process: taken over, the job trains, the lock is gone after
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    lock.write_text(json.dumps({"pid": int(dead.stdout), "host": locks.HOST,
                                "started": "2020-01-01 00:00:00", "command": "ser-train"}))
    code, out, err = _ser_train(capsys, path, store, runs, "--job-index", "0")
    assert code == 0 and _job_lines(out) == [("vec-a", 0, 0)]
    assert "took over the stale lock" in err + "\n".join(out) and not lock.exists()
