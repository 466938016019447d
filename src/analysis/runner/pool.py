"""Warm workers: this process holds the heavy imports; each report runs in a child forked from it.

Forking costs milliseconds and the child starts with the imports already done, yet shares no
state with other reports: whatever a notebook does dies with its process. At most ``jobs`` children
run at once; a child past its hard time limit is killed with its whole process group, and if the
parent is interrupted every child is.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..executors import single_blas_thread
from .signals import reset_in_child


@dataclass(frozen=True)
class Task:
    name: str
    work: Callable[[], dict]  # runs in the child; returns a JSON-able result
    limit: float  # seconds before the child is killed
    log: Path  # the child's file descriptors 1 and 2 (C-level output, a crash's last words)


@dataclass
class _Child:
    task: Task
    pid: int
    fd: int
    started: float
    data: bytearray = field(default_factory=bytearray)


def failure(ename: str, evalue: str, cell: int | None = None) -> dict:
    """A result for a report that failed outside its cells."""
    return {"error": {"cell": cell, "ename": ename, "evalue": evalue}}


def run_pool(
    tasks: Iterable[Task],
    jobs: int,
    on_done: Callable[[Task, dict, float], None],
    after_fork: Callable[[], None] = lambda: None,
) -> None:
    """Run every task in its own forked child, ``jobs`` at a time; ``on_done`` runs in this process."""
    pending = deque(tasks)
    running: dict[int, _Child] = {}
    selector = selectors.DefaultSelector()

    def finish(child: _Child, killed: str | None = None) -> None:
        selector.unregister(child.fd)
        os.close(child.fd)
        del running[child.fd]
        _, status = os.waitpid(child.pid, 0)
        on_done(child.task, _result(child, status, killed), time.monotonic() - child.started)

    try:
        while pending or running:
            while pending and len(running) < jobs:
                child = _start(pending.popleft(), after_fork)
                running[child.fd] = child
                selector.register(child.fd, selectors.EVENT_READ)
            deadline = min(c.started + c.task.limit for c in running.values())
            for key, _ in selector.select(max(0.0, deadline - time.monotonic())):
                child = running[key.fd]
                chunk = os.read(key.fd, 1 << 16)
                if chunk:
                    child.data += chunk
                else:
                    finish(child)
            now = time.monotonic()
            for child in [c for c in running.values() if now >= c.started + c.task.limit]:
                _kill(child.pid)
                finish(child, killed=f"killed after {child.task.limit:g} s")
    finally:
        for child in running.values():
            _kill(child.pid)
            os.waitpid(child.pid, 0)
            os.close(child.fd)
        selector.close()


def _start(task: Task, after_fork: Callable[[], None]) -> _Child:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns from here
        os.close(read_fd)
        _child_main(task, write_fd, after_fork)
    os.close(write_fd)
    try:
        os.setpgid(pid, pid)  # also done by the child; whichever runs first wins the race
    except OSError:
        pass
    return _Child(task, pid, read_fd, time.monotonic())


def _child_main(task: Task, write_fd: int, after_fork: Callable[[], None]) -> None:
    status = 1
    try:
        os.setpgid(0, 0)
        reset_in_child()
        single_blas_thread()  # `jobs` reports share the cores; any executor, the same rounding
        after_fork()
        _redirect_stdio(task.log)
        result = task.work()
        status = 0
    except BaseException as exc:  # noqa: BLE001 - whatever it was, the parent must hear of it
        traceback.print_exc()
        result = failure(type(exc).__name__, str(exc))
    finally:
        try:
            payload = json.dumps(result).encode()
            while payload:
                payload = payload[os.write(write_fd, payload) :]
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


def _redirect_stdio(log: Path) -> None:
    """No terminal for a worker: stdin is empty (``input()`` fails fast), output goes to its log."""
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    # The parent's sys.stdout may not be fd 1 (under pytest it is not); these live as long as the worker.
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115


def _result(child: _Child, status: int, killed: str | None) -> dict:
    if killed is not None:
        return failure("ReportTimeout", f"the worker was {killed}")
    try:
        return json.loads(child.data)
    except ValueError:
        if os.WIFSIGNALED(status):
            return failure(
                "WorkerDied", f"the worker died of {signal.Signals(os.WTERMSIG(status)).name}"
            )
        return failure(
            "WorkerDied", f"the worker exited with status {os.WEXITSTATUS(status)} and no result"
        )


def _kill(pid: int) -> None:
    """SIGKILL the child's process group (whatever the notebook started dies too)."""
    for kill, target in ((os.killpg, pid), (os.kill, pid)):
        try:
            kill(target, signal.SIGKILL)
            return
        except ProcessLookupError:
            continue
