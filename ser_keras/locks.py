"""Exclusive lock files: one process at a time works on a corpus store (or a job folder).

>>> with locks.acquire(out / corpus / ".prepare.lock", wait=args.wait, command="ser-prepare ..."):
...     prepare(...)          # released on leaving the block, exceptions included

How it works. The lock is a file created with ``os.open(O_CREAT | O_EXCL | O_WRONLY)``: the
creation is atomic (local filesystems, NFSv3 and later), so of two processes exactly one creates
it; that one holds the lock and writes into it, as JSON, who it is: ``pid``, ``host``,
``boot_id`` (Linux: ``/proc/sys/kernel/random/boot_id``), ``pid_start`` (the process's start
time in clock ticks since boot, ``/proc/<pid>/stat``), ``started`` (local time), ``command`` and
a random ``token``. Releasing deletes the file (only while it still holds this lock's token).
The others fail at once with a one-line ``LockError`` naming the lock file and its holder, or,
with ``wait=True``, poll until it is free.

Why not ``fcntl.flock``: a flock is released by the kernel when its holder dies, which makes
stale locks impossible, but it is advisory per open file description, is not reliable on NFS
and network mounts (Colab's Drive) and says nothing about who holds it. A lock file can be
read by a person (``cat .prepare.lock``) and works on those filesystems; the price is stale
detection, done here as robustly as a file allows:

* a holder on this host (same ``host`` and ``boot_id``) whose pid no longer exists, is a zombie,
  or is now another process (its start time differs from ``pid_start``: the pid was reused) is
  dead: the lock is taken over with a warning line. A lock from before a reboot (another
  ``boot_id``) is dead too.
* the take-over itself is serialised by a second file created the same way
  (``<lock>.takeover``, held for microseconds): the one that gets it re-reads the lock, removes
  it only if it still holds the very content judged dead, and creates its own; a take-over file
  left by a process killed in that instant is removed after ``TAKEOVER_STALE_S``.
* a lock file that cannot be parsed (a holder killed between creating it and writing it) is
  stale once it is ``UNREADABLE_STALE_S`` old; younger, it is being written and counts as held.
* a holder on another host cannot be checked from here: it counts as alive, and the message
  says which host and pid to look at, and that the file may be deleted once that process is
  gone.

The lock is released when the ``with`` block is left, by an exception too (Ctrl-C included);
``exit_on_sigterm`` makes SIGTERM (what schedulers and ``kill`` send) leave it the same way. A
process killed by SIGKILL (or a power cut) leaves its lock file; the next acquire finds the
holder dead and takes it over, so nothing has to be cleaned by hand on one machine.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from ser_keras.errors import SerKerasError

TAKEOVER_STALE_S = 30.0     # a take-over file older than this was left by a killed process
UNREADABLE_STALE_S = 10.0   # an unparseable lock file older than this was left half-written


class LockError(SerKerasError):
    """A lock held by another process (one line: the lock file, its holder, how to wait)."""


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of ``pid`` from /proc, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()   # the name (field 2) may hold spaces
    return fields[0], fields[19]                     # fields 3 (state) and 22 (starttime)


HOST = socket.gethostname()


def holder_alive(holder: dict) -> bool | None:
    """True / False for a holder on this host, None for one on another (cannot be checked)."""
    if holder.get("host") != HOST:
        return None
    boot = _boot_id()
    if boot and holder.get("boot_id") and holder["boot_id"] != boot:
        return False                                  # written before a reboot
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass                                          # alive, another user's
    stat = _proc_stat(pid)
    if stat is not None:
        state, start = stat
        if state in ("Z", "X"):                       # exited, not yet reaped
            return False
        if holder.get("pid_start") and holder["pid_start"] != start:
            return False                              # the pid now names another process
    return True


def describe(holder: dict | None) -> str:
    """``pid 123 on host h since 2024-05-01 10:00:00 (ser-prepare demo ...)``."""
    if holder is None:
        return "a process that is still writing it"
    words = f"pid {holder.get('pid')} on host {holder.get('host')}"
    if holder.get("started"):
        words += f" since {holder['started']}"
    if holder.get("command"):
        words += f" ({holder['command']})"
    return words


class FileLock:
    """An exclusive lock file (see the module); ``acquire`` it, or use ``locks.acquire``."""

    def __init__(self, path: str | os.PathLike, command: str | None = None):
        self.path = Path(path)
        self.command = command
        self.token: str | None = None

    # -- low level ------------------------------------------------------------------------
    def _content(self) -> bytes:
        stat = _proc_stat(os.getpid())
        return (json.dumps({
            "pid": os.getpid(), "host": HOST, "boot_id": _boot_id(),
            "pid_start": stat[1] if stat else None,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "time": time.time(),
            "command": self.command, "token": self.token,
        }, sort_keys=True) + "\n").encode()

    def _create(self) -> bool:
        """Create the lock file (atomically); False when it exists."""
        self.token = secrets.token_hex(8)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            self.token = None
            return False
        try:
            os.write(fd, self._content())
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(self.path)
            self.token = None
            raise
        os.close(fd)
        return True

    def _read(self) -> tuple[bytes | None, dict | None]:
        """(raw bytes, parsed holder) of the lock file; (None, None) when there is none."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None, None
        try:
            holder = json.loads(raw)
        except ValueError:
            holder = None
        return raw, holder if isinstance(holder, dict) else None

    def _age(self, path: Path) -> float:
        try:
            return time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def _take_over(self, seen: bytes) -> bool:
        """Replace the lock file, if it still holds ``seen`` (judged dead), by ours."""
        guard = self.path.with_name(self.path.name + ".takeover")
        try:
            fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if self._age(guard) > TAKEOVER_STALE_S:
                guard.unlink(missing_ok=True)
            return False
        os.close(fd)
        try:
            raw, _ = self._read()
            if raw is not None:
                if raw != seen:
                    return False          # changed meanwhile: someone else took it over
                self.path.unlink(missing_ok=True)
            return self._create()
        finally:
            guard.unlink(missing_ok=True)

    # -- the interface --------------------------------------------------------------------
    def acquire(self, wait: bool = False, *, poll_s: float = 0.5,
                timeout_s: float | None = None, hint: str = "wait for it with --wait",
                log: Callable[[str], None] = _stderr) -> "FileLock":
        """Hold the lock; LockError at once when another live process holds it (``wait``
        False), else poll every ``poll_s`` until it is free (LockError after ``timeout_s``).
        A dead holder's lock is taken over with a warning line through ``log``."""
        if self.token is not None:
            raise LockError(f"{self.path}: already held by this lock object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        started, announced = time.monotonic(), False
        while True:
            if self._create():
                return self
            raw, holder = self._read()
            if raw is None:
                continue                                  # released meanwhile: try again
            if holder is None:
                alive = self._age(self.path) <= UNREADABLE_STALE_S
                why = "an unreadable lock file (its writer was killed while creating it)"
            else:
                alive = holder_alive(holder)
                why = (f"the stale lock of {describe(holder)}: that process is gone")
            if alive is False:
                if self._take_over(raw):
                    log(f"warning: {self.path}: took over {why}")
                    return self
                time.sleep(0.01)                           # another one is taking it over
                continue
            if holder is None and not wait and time.monotonic() - started < 1.0:
                time.sleep(0.05)                           # being written: look again
                continue
            where = ("" if alive else
                     f"; it cannot be checked from {HOST}: if that process is gone, delete "
                     f"{self.path}")
            message = f"{self.path}: locked by {describe(holder)}{where}"
            if not wait:
                raise LockError(f"{message}; {hint}")
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                raise LockError(f"{message}; gave up waiting after {timeout_s:g} s")
            if not announced:
                log(f"{message}; waiting for it to be released")
                announced = True
            time.sleep(poll_s)

    @property
    def held(self) -> bool:
        return self.token is not None

    def release(self) -> None:
        """Delete the lock file if it is still ours (idempotent)."""
        if self.token is None:
            return
        _, holder = self._read()
        if holder is not None and holder.get("token") == self.token:
            self.path.unlink(missing_ok=True)
        self.token = None

    def __enter__(self) -> "FileLock":
        if self.token is None:
            self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire(path: str | os.PathLike, wait: bool = False, *, command: str | None = None,
            poll_s: float = 0.5, timeout_s: float | None = None,
            hint: str = "wait for it with --wait",
            log: Callable[[str], None] = _stderr) -> FileLock:
    """Acquire the exclusive lock file ``path`` (see ``FileLock.acquire``); use the result as a
    context manager to release it (also on an exception)."""
    return FileLock(path, command).acquire(wait, poll_s=poll_s, timeout_s=timeout_s,
                                           hint=hint, log=log)


@contextlib.contextmanager
def exit_on_sigterm():
    """Within the block, SIGTERM raises SystemExit(143) (in the main thread only), so that
    ``with`` blocks, locks among them, are left as on an exception; the previous handler is
    restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def read_holder(path: str | os.PathLike) -> dict | None:
    """Who holds the lock file ``path`` (its JSON), or None when it is free or unreadable."""
    return FileLock(path)._read()[1]


__all__ = ["FileLock", "LockError", "acquire", "describe", "exit_on_sigterm", "holder_alive",
           "read_holder"]
