"""Where the project is: one root for every command, never the package's install location.

The root is the folder holding the run plan and the shipped data (:data:`MARKERS`). It is named
by ``--root`` (which sets :data:`ROOT_ENV` for the command and the workers it starts) or by
:data:`ROOT_ENV`, else found by walking up from the working directory. So a second clone run with
the first clone's environment reads its own plan, data and reports, and so does an install that
is not editable. Only the standard library is imported: a no-op ``analysis run`` must stay fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError

ROOT_ENV = "ANALYSIS_ROOT"
DATA_ENV = "ANALYSIS_DATA_DIR"  # overrides the data folder alone (a scratch copy of data/)
RESULTS_ENV = "ANALYSIS_RESULTS_DIR"  # overrides the results store alone (a scratch store)
REGISTRY_ENV = "ANALYSIS_REGISTRY"  # another hypothesis registry (a copy to try an edit on)
PLAN_FILE = "reports.toml"
DATA_DIR = "data"
REPORTS_DIR = "reports"
RESULTS_DIR = "build/results"  # the results store (git-ignored, like every build output)
MARKERS = (PLAN_FILE, f"{DATA_DIR}/manifest.json")


def is_root(folder: Path) -> bool:
    return all((folder / marker).is_file() for marker in MARKERS)


def project_root(start: str | Path | None = None) -> Path:
    """The project folder: $ANALYSIS_ROOT, else the first folder upwards from ``start`` (default:
    the working directory) that holds every one of :data:`MARKERS`."""
    named = os.environ.get(ROOT_ENV)
    if named:
        root = Path(named).absolute()
        if not is_root(root):
            raise ConfigError(
                f"${ROOT_ENV} (or --root) names {root}, which holds no {' and no '.join(MARKERS)}; "
                "point it at a clone of the project"
            )
        return root
    start = Path(start if start is not None else Path.cwd()).absolute()
    for folder in (start, *start.parents):
        if is_root(folder):
            return folder
    raise ConfigError(
        f"no project folder found: looked for {' and '.join(MARKERS)} in {start} and every folder "
        f"above it; run the command inside a clone of the project, or pass --root DIR "
        f"(or set ${ROOT_ENV})"
    )


@contextmanager
def environ(name: str, value: str) -> Iterator[None]:
    """``os.environ[name] = value`` for the duration (workers and kernels started within
    inherit it); the previous value, or its absence, is restored after."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@contextmanager
def pinned_root(root: str | Path | None) -> Iterator[None]:
    """Set $ANALYSIS_ROOT to ``root`` for the duration; ``None`` leaves the environment as it
    is."""
    if root is None:
        yield
        return
    with environ(ROOT_ENV, str(Path(root).absolute())):
        project_root()  # fail now, with the message above, if it is not a project
        yield


def data_dir(path: str | Path | None = None) -> Path:
    """The data folder: an explicit path, else $ANALYSIS_DATA_DIR, else the root's data/."""
    if path is not None:
        return Path(path)
    named = os.environ.get(DATA_ENV)
    if named:
        return Path(named)
    return project_root() / DATA_DIR


def reports_dir(path: str | Path | None = None) -> Path:
    """The published reports: an explicit path, else the root's reports/."""
    return Path(path) if path is not None else project_root() / REPORTS_DIR


def results_dir(path: str | Path | None = None) -> Path:
    """The results store: an explicit path, else $ANALYSIS_RESULTS_DIR, else the root's
    build/results."""
    if path is not None:
        return Path(path)
    named = os.environ.get(RESULTS_ENV)
    return Path(named) if named else project_root() / RESULTS_DIR


def pinned_results(folder: str | Path):
    """Use the results store in ``folder`` for the duration (a context manager)."""
    return environ(RESULTS_ENV, str(Path(folder).absolute()))


def registry_path() -> Path:
    """The hypothesis registry: $ANALYSIS_REGISTRY, else the package's hypotheses.toml."""
    named = os.environ.get(REGISTRY_ENV)
    return Path(named) if named else Path(__file__).parent / "study" / "hypotheses.toml"


def plan_path(path: str | Path | None = None) -> Path:
    """The run plan: an explicit path, else the root's reports.toml."""
    return Path(path) if path is not None else project_root() / PLAN_FILE
