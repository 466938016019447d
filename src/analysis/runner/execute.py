"""One report, inside its worker: parameterise, execute, normalise, render into the staging folder.

Two engines execute the notebook. ``fork`` runs the cells in the worker itself (see kernel.py);
``papermill`` starts a real Jupyter kernel through ``papermill.execute_notebook``, for comparison
and for notebooks that need a kernel. Both inject the parameters the way papermill does, as a cell
tagged ``injected-parameters`` after the one tagged ``parameters``.
"""

from __future__ import annotations

import importlib
import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .parameters import OUTPUT_DIR
from .plan import Report
from .publish import html_file, normalise, notebook_file, render_html

ENGINES = ("fork", "papermill")
KERNEL = "python3"  # the native kernel: the interpreter running `analysis run`
# Imported once in the parent so that every forked worker starts with them; best effort, since
# a module that fails to import will fail again, visibly, in the notebook that imports it.
WARM_MODULES = (
    "numpy",
    "pandas",
    "scipy.stats",
    "statsmodels.api",
    "statsmodels.formula.api",
    "matplotlib.pyplot",
    "seaborn",
    "analysis.data.datasets",
    "analysis.study.hypotheses",
    "analysis.report.reporting",
)


class ReportTimeout(Exception):
    """The report ran past its timeout (raised by SIGALRM inside the worker)."""


@dataclass(frozen=True)
class Job:
    report: Report
    staging: Path
    published_label: str  # where the report will be if it succeeds, as its notebook names it
    failed_label: str  # and where it will be if it fails
    engine: str
    timeout: float
    with_code: bool


def warm_up(engine: str, modules: tuple[str, ...]) -> None:
    """Do in the parent, once, every import and first-use cost that each worker would pay."""
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    import nbformat
    import papermill.execute  # noqa: F401  (parameterisation, for both engines)

    for name in modules if engine == "fork" else ():
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - see WARM_MODULES
            continue
    render_html(
        nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell(
                    "x", outputs=[nbformat.v4.new_output("stream", name="stdout", text="x")]
                ),
                nbformat.v4.new_markdown_cell("x"),
            ]
        ),
        "warm-up",
        with_code=True,
    )  # compiles nbconvert's templates and loads its filters


def build(job: Job) -> dict:
    """Runs in the worker. Leaves the executed notebook (and, if it succeeded, the HTML) in staging."""
    import nbformat

    parameters = {**job.report.parameters, OUTPUT_DIR: str(job.staging)}
    name = job.report.name
    started = time.perf_counter()
    nb, error = (_execute_forked if job.engine == "fork" else _execute_papermill)(job, parameters)
    executed = time.perf_counter()
    label = job.published_label if error is None else job.failed_label
    nb = normalise(nb, job.report.notebook_label, job.staging, label)
    nbformat.write(nb, job.staging / notebook_file(name))
    if error is None:
        (job.staging / html_file(name)).write_text(
            render_html(nb, name, job.with_code), encoding="utf-8"
        )
    return {
        "error": error,
        "seconds": {"execute": executed - started, "render": time.perf_counter() - executed},
    }


@contextmanager
def _time_limit(seconds: float):
    def expire(signum, frame):
        raise ReportTimeout(f"the report ran past its timeout of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _execute_forked(job: Job, parameters: dict):
    from papermill.execute import prepare_notebook_metadata
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from .kernel import execute

    source = str(job.report.notebook)
    nb = parameterize_notebook(
        load_notebook_node(source), parameters, kernel_name=KERNEL, language="python"
    )
    nb = prepare_notebook_metadata(nb, source, str(job.staging / notebook_file(job.report.name)))
    with _time_limit(job.timeout):
        nb = execute(nb, job.report.notebook.parent)
    return nb, first_error(nb)


def _execute_papermill(job: Job, parameters: dict):
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from papermill.execute import remove_error_markers

    output = job.staging / notebook_file(job.report.name)
    timed_out = None
    try:
        with _time_limit(job.timeout):
            papermill.execute_notebook(
                str(job.report.notebook),
                str(output),
                parameters=parameters,
                kernel_name=KERNEL,
                cwd=str(job.report.notebook.parent),
                progress_bar=False,
            )
    except PapermillExecutionError:
        pass  # papermill saved the notebook with the error in its cell
    except ReportTimeout as exc:
        timed_out = exc
    nb = remove_error_markers(nbformat.read(output, as_version=4))
    return nb, first_error(nb, timed_out)


def first_error(nb, timed_out: ReportTimeout | None = None) -> dict | None:
    """Where and how the run failed (cells numbered from 1): the timeout if there was one (the
    kernel reports it as an interrupt in the running cell), else the first error output."""
    errors = [
        (i, o)
        for i, c in enumerate(nb.cells, start=1)
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    if timed_out is not None:
        running = [
            i
            for i, c in enumerate(nb.cells, start=1)
            if c.metadata.get("papermill", {}).get("status") == "running"
        ]
        cells = running or [i for i, _ in errors]
        return {
            "cell": cells[0] if cells else None,
            "ename": type(timed_out).__name__,
            "evalue": str(timed_out),
        }
    if errors:
        index, output = errors[0]
        return {"cell": index, "ename": output.ename, "evalue": output.evalue}
    return None
