"""`analysis verify`: rebuild reports into a scratch folder and compare them byte for byte.

Regenerating with unchanged inputs must give identical bytes, so a paper's figures and numbers
can be trusted to come from the code and data they cite. Everything a report publishes is
compared except the timing file, which records wall-clock time on purpose.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from ..paths import pinned_results
from .orchestrate import TIMINGS, RunOptions, run

IGNORED = {TIMINGS}
MANIFEST = "manifest.json"


def compare_trees(published: Path, rebuilt: Path) -> list[tuple[str, str]]:
    """(relative path, what differs) for every file that is missing, extra or different."""

    def files(root: Path) -> dict[str, Path]:
        return {
            p.relative_to(root).as_posix(): p
            for p in root.rglob("*")
            if p.is_file() and p.name not in IGNORED
        }

    old, new = files(published), files(rebuilt)
    problems = [(name, "missing from the rebuild") for name in sorted(old.keys() - new.keys())]
    problems += [(name, "only in the rebuild") for name in sorted(new.keys() - old.keys())]
    for name in sorted(old.keys() & new.keys()):
        if old[name].read_bytes() != new[name].read_bytes():
            problems.append(
                (
                    name,
                    _manifest_difference(old[name], new[name])
                    if name == MANIFEST
                    else "bytes differ",
                )
            )
    return [(name, what) for name, what in problems if what]


def _manifest_difference(published: Path, rebuilt: Path) -> str:
    """The manifest records the commit it was built at: a report built at an older commit with
    the same content key is the same report, so only other differences count."""
    old, new = json.loads(published.read_text()), json.loads(rebuilt.read_text())
    if {k: v for k, v in old.items() if k != "git"} == {k: v for k, v in new.items() if k != "git"}:
        return ""
    keys = sorted(k for k in old.keys() | new.keys() if k != "git" and old.get(k) != new.get(k))
    return f"manifest differs in {keys}"


def verify(options: RunOptions, out: TextIO | None = None) -> int:
    """Rebuild the selected, already published reports in scratch; 0 if all identical, else 1.

    The rebuild names its folder as the published one (``published_as``), so paths written
    into notebooks match; the published reports are only read. The rebuild computes its stored
    results afresh, in a scratch results store: it checks the numbers, not only their rendering.
    """
    stream = out or sys.stdout

    def say(line: str) -> None:
        print(line, file=stream)

    reports_dir = (
        Path(options.reports_dir) if options.reports_dir else Path(options.plan).parent / "reports"
    ).absolute()
    with tempfile.TemporaryDirectory(prefix="analysis-verify-") as scratch:
        log = io.StringIO()
        with pinned_results(Path(scratch) / ".results"):
            status = run(
                replace(options, reports_dir=Path(scratch), force=True, published_as=reports_dir),
                out=log,
            )
        if status != 0:
            say(
                log.getvalue()
                + f"verify: the rebuild itself failed (exit {status}); nothing compared"
            )
            return status
        differing = 0
        for folder in sorted(
            p for p in Path(scratch).iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
        ):
            published = reports_dir / folder.name
            if not published.is_dir():
                say(f"{folder.name}: not published yet, nothing to compare")
                continue
            problems = compare_trees(published, folder)
            differing += bool(problems)
            say(
                f"{folder.name}: {'identical' if not problems else f'{len(problems)} file(s) differ'}"
            )
            for name, what in problems:
                say(f"    {name}: {what}")
    say(
        "all compared reports are byte-identical"
        if not differing
        else f"{differing} report(s) differ"
    )
    return 1 if differing else 0
