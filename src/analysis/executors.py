"""Run one pure function over a list of items, in this process, on forked workers or on a cluster.

The seam for heavy inner loops (resampling, size and power simulations) and the one place in the
package that opens a ``distributed`` client::

    from analysis import executors

    with executors.open("dask", scheduler="tcp://head-node:8786") as ex:
        results = ex.map(simulate_chunk, chunks)  # results[i] == simulate_chunk(chunks[i])

Kinds (:data:`KINDS`):

* ``serial`` (default): ``[fn(item) for item in items]`` in this process.
* ``fork``: a ``ProcessPoolExecutor`` of ``jobs`` workers forked from this process (so they start
  with its imports), default one per CPU.
* ``dask``: a ``distributed.Client`` of the scheduler at ``scheduler``, or, without an address, of
  a ``LocalCluster`` of ``jobs`` single-threaded worker processes started for the block.

What ``fn`` must be: a top-level function of an installed module (workers import it by name;
bind constant arguments with ``functools.partial``, which travel with every task, so keep them
small), whose result depends on its item alone. Randomness is seeded from the item (e.g. chunk
``i`` draws from ``numpy.random.default_rng([seed, i])``) and the chunking does not depend on the
number of workers, so every kind and every ``jobs`` gives the same results. Worker processes run
BLAS on one thread (:func:`single_blas_thread`): parallelism comes from the processes, and a
floating-point reduction never rounds differently because a worker had more threads.

Results come back in item order. If ``fn`` raises, the caller gets that exception (with ``fork``
and ``dask``, that of the first failing item in item order, once every item has run).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

KINDS = ("serial", "fork", "dask")
BLAS_ENVIRONMENT = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Executor:
    """What ``open`` yields: ``map`` runs ``fn`` over ``items``; ``workers`` is how many at once."""

    kind: str
    workers: int
    _map: Callable[[Callable, Sequence], list]

    def map(self, fn: Callable[[Any], Any], items: Iterable) -> list:
        return self._map(fn, list(items))


@contextmanager
def open(
    kind: str = "serial", *, jobs: int | None = None, scheduler: str | None = None
) -> Iterator[Executor]:
    """An executor of ``kind`` for the block; its workers (and a local cluster) stop after it."""
    check(kind, jobs, scheduler)
    if kind == "serial":
        yield Executor(kind, 1, lambda fn, items: [fn(item) for item in items])
    elif kind == "fork":
        workers = jobs or os.cpu_count() or 1
        with ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("fork"), initializer=single_blas_thread
        ) as pool:
            yield Executor(kind, workers, lambda fn, items: _on_pool(pool, fn, items))
    else:
        with dask_client(scheduler, workers=jobs) as client:
            yield Executor(
                kind, total_threads(client), lambda fn, items: _on_dask(client, fn, items)
            )


def check(kind: str, jobs: int | None, scheduler: str | None) -> None:
    """The combination is valid, or a ConfigError says which option to change."""
    if kind not in KINDS:
        raise ConfigError(f"executor must be one of {', '.join(KINDS)}, found '{kind}'")
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, found {jobs}")
    if jobs is not None and kind == "serial":
        raise ConfigError("--jobs needs --executor fork or dask (serial runs in this process)")
    if scheduler is not None and kind != "dask":
        raise ConfigError(f"--scheduler needs --executor dask (executor is '{kind}')")
    if scheduler is not None and jobs is not None:
        raise ConfigError(
            "--jobs sets the size of a local cluster; with --scheduler the cluster's workers "
            "decide, so drop --jobs"
        )


def _on_pool(pool: ProcessPoolExecutor, fn: Callable, items: list) -> list:
    futures = [pool.submit(fn, item) for item in items]
    wait(futures)
    return [future.result() for future in futures]  # raises the first failing item's exception


def _on_dask(client, fn: Callable, items: list) -> list:
    import distributed

    futures = client.map(fn, items, pure=False)
    distributed.wait(futures)
    return [future.result() for future in futures]  # raises the task's own exception


@contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    allowed_failures: int | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client`` of the scheduler at ``scheduler``, or of a ``LocalCluster`` of
    ``workers`` (default: one per CPU) single-threaded worker processes, closed after the block.

    ``allowed_failures`` (local cluster only): how many workers may die while running one task
    before the task fails with ``KilledWorker``; a scheduler of one's own has its own setting
    (``distributed.scheduler.allowed-failures``).
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(
                f"--scheduler {scheduler}: cannot connect ({exc}); start one with "
                "`dask scheduler` (and workers with `dask worker ADDRESS`), or leave out "
                "--scheduler to run on a local cluster"
            ) from None
        with client:
            yield client
        return
    # No dashboard; its HTTP server (health checks) on a free port, never a fixed one.
    scheduler_kwargs: dict = {"dashboard": False, "dashboard_address": ":0"}
    if allowed_failures is not None:
        scheduler_kwargs["allowed_failures"] = allowed_failures
    with (
        LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            scheduler_kwargs=scheduler_kwargs,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def total_threads(client) -> int:
    """Tasks the cluster runs at once now (workers can join and leave)."""
    return sum(client.nthreads().values())


def single_blas_thread() -> None:
    """Limit BLAS/OpenMP to one thread in this process and in processes it starts."""
    from threadpoolctl import threadpool_limits

    for name in BLAS_ENVIRONMENT:
        os.environ[name] = "1"
    threadpool_limits(1)
