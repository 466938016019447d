"""SIGINT and SIGTERM during a run: stop cleanly rather than die with half-written folders.

While a run is going, both signals raise ``Interrupted`` in the main process, which unwinds the
worker pool and removes staging folders. Steps that must not be cut in half (the directory swap
that publishes a report, the final clean-up) run with the signals deferred.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_INTERRUPTED = 130


class Interrupted(BaseException):
    """The run was asked to stop (a BaseException, so that no ``except Exception`` swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum, frame):
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # one stop is enough: clean up undisturbed
    raise Interrupted(signum)


@contextmanager
def interruptible():
    """Within the block, SIGINT/SIGTERM raise ``Interrupted``; the clean-up it triggers runs with
    both signals blocked, a repeated signal is absorbed, and handlers and mask are restored on exit."""
    handlers = {s: signal.signal(s, _raise) for s in SIGNALS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        yield
    finally:
        while signal.sigtimedwait(SIGNALS, 0) is not None:
            pass
        for s, handler in handlers.items():
            signal.signal(s, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


@contextmanager
def deferred():
    """Hold SIGINT/SIGTERM until the block is done; a pending one is delivered on exit."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def reset_in_child() -> None:
    """A forked worker dies on these signals like any process, and starts with none blocked."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
