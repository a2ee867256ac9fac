"""ser_keras.locks: one holder at a time, fail fast naming the holder, stale locks taken over,
waiting; two ser-prepare commands on one corpus store."""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ser_keras import locks

REPO = Path(__file__).resolve().parent.parent


def _dead_pid() -> int:
    """The pid of a process that has finished (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def _write_lock(path: Path, **holder):
    path.write_text(json.dumps(dict({"host": locks.HOST, "started": "2020-01-01 00:00:00",
                                     "command": "ser-prepare old"}, **holder)))


def test_a_second_acquire_fails_fast_naming_the_holder(tmp_path):
    path = tmp_path / "store" / ".prepare.lock"
    with locks.acquire(path, command="first") as lock:
        holder = json.loads(path.read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == locks.HOST
        assert holder["command"] == "first" and holder["started"] and lock.held
        started = time.monotonic()
        with pytest.raises(locks.LockError) as caught:
            locks.acquire(path)
        assert time.monotonic() - started < 1.0
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(f"{path}: locked by pid {os.getpid()} on host {locks.HOST}")
        assert "(first)" in message and message.endswith("wait for it with --wait")
    assert not path.exists()
    with locks.acquire(path):   # free again
        pass


def test_the_lock_is_released_on_an_exception(tmp_path):
    path = tmp_path / ".lock"
    with pytest.raises(RuntimeError):
        with locks.acquire(path):
            raise RuntimeError("boom")
    assert not path.exists()


def test_a_lock_of_a_dead_process_is_taken_over_with_a_warning(tmp_path):
    path = tmp_path / ".lock"
    pid = _dead_pid()
    _write_lock(path, pid=pid)
    lines = []
    with locks.acquire(path, log=lines.append):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert lines == [f"warning: {path}: took over the stale lock of pid {pid} on host "
                     f"{locks.HOST} since 2020-01-01 00:00:00 (ser-prepare old): that process "
                     "is gone"]
    assert not path.exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times: /proc")
def test_a_reused_pid_and_a_half_written_lock_are_stale(tmp_path):
    path = tmp_path / ".lock"
    # a live pid (ours) whose start time is not the one recorded: the pid was reused
    _write_lock(path, pid=os.getpid(), pid_start="1")
    lines = []
    with locks.acquire(path, log=lines.append):
        pass
    assert "took over the stale lock of pid" in lines[0]
    # a lock file its writer never finished writing: held while young, stale once old
    path.write_text("")
    with pytest.raises(locks.LockError, match="locked by a process that is still writing it"):
        locks.acquire(path)
    old = time.time() - 2 * locks.UNREADABLE_STALE_S
    os.utime(path, (old, old))
    with locks.acquire(path, log=lines.append):
        pass
    assert "took over an unreadable lock file" in lines[1]


def test_a_holder_on_another_host_is_not_taken_over(tmp_path):
    path = tmp_path / ".lock"
    _write_lock(path, pid=_dead_pid(), host="elsewhere")
    with pytest.raises(locks.LockError) as caught:
        locks.acquire(path)
    assert "locked by pid" in str(caught.value) and "on host elsewhere" in str(caught.value)
    assert f"if that process is gone, delete {path}" in str(caught.value)


def test_wait_polls_until_a_releasing_thread_frees_it(tmp_path):
    path = tmp_path / ".lock"
    holding, lines = threading.Event(), []

    def hold():
        with locks.acquire(path, command="holder"):
            holding.set()
            time.sleep(0.6)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    started = time.monotonic()
    with locks.acquire(path, wait=True, poll_s=0.05, log=lines.append):
        waited = time.monotonic() - started
        assert json.loads(path.read_text())["command"] is None   # ours now
    thread.join()
    assert 0.3 < waited < 5
    assert len(lines) == 1 and lines[0].endswith("waiting for it to be released")
    with pytest.raises(locks.LockError, match="gave up waiting after 0.1 s"):
        with locks.acquire(path):
            locks.acquire(path, wait=True, poll_s=0.02, timeout_s=0.1, log=lambda m: None)


def test_two_ser_prepare_commands_on_one_store(tmp_path, monkeypatch):
    """The first (in this process, a slow prepare) holds <out>/<corpus>/.prepare.lock; a second
    ser-prepare process fails at once naming it and the pid; with --wait it waits for it."""
    from data_prep import cli
    from data_prep import prepare as prepare_module
    from data_prep.errors import PrepareError

    release, inside = threading.Event(), threading.Event()

    def slow_prepare(*args, **kwargs):
        inside.set()
        release.wait(30)
        raise PrepareError("stopped by the test")

    monkeypatch.setattr(prepare_module, "prepare", slow_prepare)
    out, source = tmp_path / "out", tmp_path / "release"
    lock = out / "iemocap" / ".prepare.lock"
    result = {}
    first = threading.Thread(target=lambda: result.setdefault(
        "code", cli.main(["iemocap", str(source), "--out", str(out), "--quiet"])))
    first.start()
    try:
        assert inside.wait(30)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        command = [sys.executable, "-m", "data_prep.cli", "iemocap", str(source), "--out",
                   str(out), "--quiet"]
        started = time.monotonic()
        second = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env,
                                timeout=60)
        assert second.returncode == 2 and time.monotonic() - started < 20
        error = second.stderr.strip().splitlines()
        assert error == [f"ser-prepare: error: {lock}: locked by pid {os.getpid()} on host "
                         f"{locks.HOST} since {json.loads(lock.read_text())['started']} "
                         f"(ser-prepare iemocap {source} --out {out} --quiet); another "
                         "ser-prepare is working on this corpus store: wait for it with "
                         "--wait, or stop that process"]
        # --wait: it waits (its line says so), then runs once the first is done
        waiting = subprocess.Popen([*command, "--verify", "--wait"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
        line = waiting.stderr.readline()
        assert line.startswith(f"{lock}: locked by pid {os.getpid()}")
        assert line.rstrip().endswith("waiting for it to be released")
        assert waiting.poll() is None
    finally:
        release.set()
        first.join(30)
    stdout, stderr = waiting.communicate(timeout=60)
    # it ran once the lock was free: the first prepared nothing, so there is nothing to verify
    assert waiting.returncode == 2 and "no manifest, no feature set): nothing to verify" in stderr
    assert result["code"] == 2 and not lock.exists()


def test_sigterm_releases_the_lock_of_a_command(tmp_path):
    path = tmp_path / ".lock"
    code = ("import sys, time\nfrom ser_keras import locks\n"
            f"with locks.exit_on_sigterm(), locks.acquire({str(path)!r}):\n"
            "    print('held', flush=True)\n    time.sleep(30)\n")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               cwd=REPO)
    assert process.stdout.readline().strip() == "held" and path.exists()
    process.terminate()
    assert process.wait(20) == 143 and not path.exists()
