"""What a published report is, and how it replaces the previous one without ever being half there.

A report is built in ``reports/.staging/<report>-<random>``; only once complete does it take the
place of ``reports/<report>`` (old folder renamed aside, new one renamed in, old one removed), with
SIGINT/SIGTERM deferred during the two renames. A run killed outright leaves nothing but staging
folders, which the next run removes, putting back a published folder caught between the renames.
A failed build goes to ``reports/_failed/<report>/`` and the last good report stays as it was.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from ..provenance import sha256_file
from .cache import FAILED, FAILURE, write_json
from .signals import deferred

STAGING = ".staging"
ASIDE_PREFIX = ".replaced-"  # report names start with a letter or digit, so never like this
RUN_TIMES = ("start_time", "end_time", "duration")
REPORT_TEMPLATE = (
    Path(__file__).parents[1] / "report" / "templates" / "report.html.j2"
)  # no CDN scripts


def notebook_file(name: str) -> str:
    return f"{name}.ipynb"


def html_file(name: str) -> str:
    return f"{name}.html"


def staging_root(reports_dir: Path) -> Path:
    return reports_dir / STAGING


def new_staging(reports_dir: Path, name: str) -> Path:
    root = staging_root(reports_dir)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    staging.chmod(0o755)  # mkdtemp's 0700 would make the published report private
    return staging


def clean_leftovers(reports_dir: Path) -> list[str]:
    """Undo what a killed run left: restore a report caught mid-swap, delete every staging folder
    and the temporary files of unfinished atomic writes.

    Returns what was restored, for the run to mention. Call only while holding the run lock.
    """
    root = staging_root(reports_dir)
    restored = []
    if root.is_dir():
        for aside in sorted(root.glob(f"{ASIDE_PREFIX}*")):
            for folder in aside.iterdir():
                if not (reports_dir / folder.name).exists():
                    folder.rename(reports_dir / folder.name)
                    restored.append(folder.name)
        shutil.rmtree(root)
    for temporary in reports_dir.glob(".*.tmp"):
        temporary.unlink()
    return restored


def publish(staging: Path, reports_dir: Path, name: str) -> Path:
    """Swap the complete staging folder in as ``reports/<name>``; clear that report's failure."""
    target = reports_dir / name
    aside = Path(tempfile.mkdtemp(prefix=ASIDE_PREFIX, dir=staging_root(reports_dir)))
    with deferred():
        if target.exists():
            target.rename(aside / name)
        staging.rename(target)
        shutil.rmtree(reports_dir / FAILED / name, ignore_errors=True)
    shutil.rmtree(aside)
    return target


def keep_failed(staging: Path, reports_dir: Path, name: str, failure: dict) -> Path:
    """Move a failed build to ``_failed/<name>`` (replacing an older failure) with its failure.json."""
    target = reports_dir / FAILED / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with deferred():
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    write_json(target / FAILURE, failure)
    return target


def cell_id(notebook_label: str, index: int) -> str:
    """A cell id that depends only on the notebook's path and the cell's position."""
    return hashlib.sha256(f"{notebook_label}#{index}".encode()).hexdigest()[:16]


def normalise(nb, notebook_label: str, staging: Path, published_label: str):
    """The executed notebook as published: the same content gives the same bytes.

    Drops run times (cell ``execution`` metadata, papermill's times and per-cell bookkeeping),
    derives cell ids from the notebook path and index, and writes the staging folder's path, which
    is random and disappears on publishing, as the published folder's path.
    """
    from nbformat import from_dict  # nbformat takes seconds to import: only where a notebook ran

    nb = from_dict(
        _replace_text(nb, {str(staging.resolve()): published_label, str(staging): published_label})
    )
    nb.nbformat_minor = max(nb.nbformat_minor, 5)  # cell ids exist from 4.5 on
    for index, cell in enumerate(nb.cells):
        cell.id = cell_id(notebook_label, index)
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
    papermill = nb.metadata.get("papermill")
    if papermill is not None:
        for key in RUN_TIMES:
            papermill.pop(key, None)
        papermill["input_path"] = notebook_label
        papermill["output_path"] = f"{published_label}/{notebook_file(Path(published_label).name)}"
    return nb


def _replace_text(node, replacements: dict[str, str]):
    if isinstance(node, str):
        for old, new in replacements.items():
            node = node.replace(old, new)
        return node
    if isinstance(node, list):
        return [_replace_text(item, replacements) for item in node]
    if isinstance(node, dict):
        return {key: _replace_text(value, replacements) for key, value in node.items()}
    return node


def render_html(nb, title: str, with_code: bool) -> str:
    """The reader's version of the report, rendered in-process (no ``jupyter nbconvert`` process)."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(
        exclude_input=not with_code,
        extra_template_paths=[str(REPORT_TEMPLATE.parent)],
        template_file=REPORT_TEMPLATE.name,
    ).from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def output_files(folder: Path, exclude: tuple[str, ...]) -> dict[str, str]:
    """sha256 of every file the report consists of, by path relative to its folder."""
    return {
        path.relative_to(folder).as_posix(): sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() not in exclude
    }
