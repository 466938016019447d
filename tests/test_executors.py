"""executors: the same results, in item order, whether items run here, on forked workers or on dask."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import executors
from analysis.cli import main
from analysis.errors import ConfigError

SEED = 20260101


def simulate_chunk(item: tuple[int, int]) -> list[float]:
    """A chunk of a seeded simulation: its draws depend on (seed, chunk index) alone."""
    index, size = item
    rng = np.random.default_rng([SEED, index])
    draws = rng.negative_binomial(2, 0.3, size=(size, 40))
    design = np.column_stack([np.ones(40), np.arange(40) / 40])
    coefficients, *_ = np.linalg.lstsq(design, draws.T.astype(float), rcond=None)
    return coefficients[1].tolist()  # one slope per simulated series


def fails_from_two(item: int) -> int:
    if item >= 2:
        raise ValueError(f"item {item} is bad")
    return item


def blas_threads(_: object) -> list[int]:
    from threadpoolctl import threadpool_info

    return [library["num_threads"] for library in threadpool_info()]


CHUNKS = [(index, 25) for index in range(8)]


@pytest.fixture(scope="module")
def dask_executor():
    """One local cluster of two worker processes for the module (it takes seconds to start)."""
    with executors.open("dask", jobs=2) as executor:
        yield executor


@pytest.mark.dask
@pytest.mark.slow
def test_serial_fork_and_dask_give_the_same_numbers_in_item_order(dask_executor):
    with executors.open() as serial:
        expected = serial.map(simulate_chunk, CHUNKS)
    assert serial.kind == "serial" and len(expected) == len(CHUNKS)
    assert len({tuple(chunk) for chunk in expected}) == len(CHUNKS), "each chunk draws its own"
    for jobs in (1, 2):
        with executors.open("fork", jobs=jobs) as fork:
            assert fork.workers == jobs
            assert fork.map(simulate_chunk, CHUNKS) == expected
    assert dask_executor.kind == "dask" and dask_executor.workers == 2
    assert dask_executor.map(simulate_chunk, CHUNKS) == expected
    assert dask_executor.map(simulate_chunk, reversed(CHUNKS)) == expected[::-1]


@pytest.mark.dask
@pytest.mark.slow
def test_an_item_that_raises_raises_its_own_exception_in_the_caller(dask_executor):
    with executors.open() as serial, executors.open("fork", jobs=2) as fork:
        for executor in (serial, fork, dask_executor):
            with pytest.raises(ValueError, match="^item 2 is bad$"):
                executor.map(fails_from_two, range(5))
            assert executor.map(fails_from_two, [0, 1]) == [0, 1], "usable after a failure"


@pytest.mark.dask
@pytest.mark.slow
def test_workers_run_blas_on_one_thread(dask_executor):
    with executors.open("fork", jobs=2) as fork:
        for executor in (fork, dask_executor):
            counts = executor.map(blas_threads, range(2))
            assert counts and all(count == [1] * len(counts[0]) for count in counts)


@pytest.mark.parametrize(
    "kind, options, message",
    [
        ("threads", {}, "executor must be one of serial, fork, dask, found 'threads'"),
        ("fork", {"jobs": 0}, "--jobs must be at least 1, found 0"),
        ("serial", {"jobs": 2}, "--jobs needs --executor fork or dask"),
        ("fork", {"scheduler": "tcp://127.0.0.1:8786"}, "--scheduler needs --executor dask"),
        ("dask", {"scheduler": "tcp://127.0.0.1:8786", "jobs": 2}, "drop --jobs"),
    ],
)
def test_wrong_options_are_config_errors(kind, options, message):
    with pytest.raises(ConfigError, match=message), executors.open(kind, **options):
        pass


@pytest.mark.slow
def test_a_scheduler_that_does_not_answer_is_named():
    import dask

    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(ConfigError, match=r"--scheduler tcp://127.0.0.1:9: cannot connect"),
        executors.open("dask", scheduler="tcp://127.0.0.1:9"),
    ):
        pass


def test_hypotheses_test_refuses_a_scheduler_without_dask(capsys):
    code = main(["hypotheses", "test", "H1a", "--scheduler", "tcp://127.0.0.1:8786"])
    assert code == 2
    assert "--scheduler needs --executor dask (executor is 'fork')" in capsys.readouterr().err
