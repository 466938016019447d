"""One `analysis run` at a time per reports folder: an exclusive fcntl lock on ``reports/.lock``.

The lock dies with its process, so a killed run never leaves a stale lock behind; the file only
carries the holder's pid so that a refused run can say who holds it.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Self

from ..errors import AnalysisError

LOCK_NAME = ".lock"
POLL_SECONDS = 0.1


class RunLock:
    """Held from ``acquire`` to ``release``; a forked worker calls ``forget`` to drop its copy."""

    def __init__(self, reports_dir: Path):
        self.path = reports_dir / LOCK_NAME
        self.fd: int | None = None

    def acquire(self, wait: float) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise AnalysisError(
                        f"{self.path}: another `analysis run` (pid {holder}) is building these reports; "
                        f"wait for it to finish, or pass --wait SECONDS to queue behind it"
                    ) from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def forget(self) -> None:
        """In a forked child: close the inherited descriptor without releasing the parent's lock."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
