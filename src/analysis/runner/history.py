"""What changed between builds: every cited number and every verdict, kept per build by commit.

After each run the site is rewritten (``index.write_site``); before that, :func:`record` reads what
is published: each report's ``numbers.json`` (macro and the text a paper prints) and the
summary's verdicts (``90_summary/headline.json``). When that differs from the last build kept (or
the commit does), it is stored as ``reports/_history/<sha256>.json`` and listed in
``reports/_history/index.json`` in build order with the commit HEAD was at and whether the tree
had uncommitted changes. :func:`compare` lists every verdict and every macro whose printed text
differs between two such states: the landing page and the status page show the last build
against the one before, ``analysis diff REF`` the current reports against the kept build of REF,
and ``analysis diff --against DIR`` against another reports folder (a build of another checkout).
Only the printed text counts: a change beyond the printed digits changes no citation.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import labels
from ..errors import AnalysisError, ConfigError, DataError
from ..report import site
from .cache import FAILED, canonical_json, read_json, write_atomic

HISTORY = "_history"
INDEX = "index.json"
NUMBERS = "numbers.json"
KEEP = 100  # builds listed in the index; a snapshot no build lists any more is deleted


@dataclass(frozen=True)
class Change:
    """One verdict or cited number that differs between two builds (None: absent there).

    ``kind`` is ``verdict``, ``number`` or ``report`` (a report with numbers in one build only,
    counted rather than listed number by number)."""

    kind: str
    report: str
    key: str
    old: str | None
    new: str | None
    what: str = ""


@dataclass(frozen=True)
class Build:
    """A kept build: the state's digest, the commit HEAD was at, and a dirty tree."""

    sha256: str
    commit: str | None
    dirty: bool | None

    @property
    def label(self) -> str:
        commit = self.commit[:12] if self.commit else "no git commit"
        return commit + (" + uncommitted changes" if self.dirty else "")


def state(reports_dir: Path) -> dict:
    """What the published reports say: every report's numbers (macro: text and description)
    and the summary's verdict for each claim and outcome."""
    reports_dir = Path(reports_dir)
    numbers = {}
    for path in sorted(reports_dir.glob(f"*/{NUMBERS}")):
        if path.parent.name.startswith((".", "_")) or path.parent.name == FAILED:
            continue
        entries = (read_json(path) or {}).get("numbers", {})
        numbers[path.parent.name] = {
            entry["macro"]: {"text": entry["text"], "what": entry.get("description", "")}
            for entry in entries.values()
        }
    verdicts = {}
    try:
        headline = site.load_headline(site.headline_path(reports_dir))
    except AnalysisError:  # a broken summary: the landing page says so; no verdicts to compare
        headline = None
    for row in (headline or {}).get("rows", []):
        verdicts[f"{row['id']} on {row['outcome']}"] = {
            "code": row["verdict"],
            "label": labels.verdict(row["verdict"]).label,
            "what": f"{row['id']} on {row['outcome_label']}",
        }
    return {"numbers": numbers, "verdicts": verdicts}


def compare(old: dict, new: dict) -> list[Change]:
    """Every verdict, then every number, whose text differs between two states (old → new)."""
    changes = []
    if old["verdicts"] and new["verdicts"]:  # a summary missing on one side compares nothing
        for key in sorted(old["verdicts"].keys() | new["verdicts"].keys()):
            before, after = old["verdicts"].get(key), new["verdicts"].get(key)
            if (before or {}).get("code") != (after or {}).get("code"):
                changes.append(
                    Change(
                        "verdict",
                        site.SUMMARY_REPORT,
                        key,
                        before and before["label"],
                        after and after["label"],
                        (after or before)["what"],
                    )
                )
    for report in sorted(old["numbers"].keys() | new["numbers"].keys()):
        before, after = old["numbers"].get(report), new["numbers"].get(report)
        if before is None or after is None:
            changes.append(Change("report", report, report, _count(before), _count(after)))
            continue
        for macro in sorted(before.keys() | after.keys()):
            was, now = before.get(macro), after.get(macro)
            if (was or {}).get("text") != (now or {}).get("text"):
                changes.append(
                    Change(
                        "number",
                        report,
                        macro,
                        was and was["text"],
                        now and now["text"],
                        (now or was)["what"],
                    )
                )
    return changes


def _count(numbers: dict | None) -> str | None:
    return None if numbers is None else f"{len(numbers)} numbers"


def builds(reports_dir: Path) -> list[Build]:
    """The kept builds, oldest first."""
    index = read_json(Path(reports_dir) / HISTORY / INDEX) or {"builds": []}
    return [Build(b["sha256"], b["commit"], b["dirty"]) for b in index["builds"]]


def load(reports_dir: Path, build: Build) -> dict:
    return json.loads((Path(reports_dir) / HISTORY / f"{build.sha256}.json").read_text("utf-8"))


def record(reports_dir: Path, git: dict) -> Build | None:
    """Keep the published state as a build of ``git`` (HEAD's commit and dirty flag) unless the
    last kept build is the same state at the same commit; returns the build kept, if any."""
    reports_dir = Path(reports_dir)
    current = state(reports_dir)
    if not current["numbers"] and not current["verdicts"]:
        return None
    text = json.dumps(current, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    build = Build(
        hashlib.sha256(canonical_json(current)).hexdigest(), git.get("commit"), git.get("dirty")
    )
    kept = builds(reports_dir)
    if kept and kept[-1] == build:
        return None
    folder = reports_dir / HISTORY
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = folder / f"{build.sha256}.json"
    if not snapshot.is_file():
        write_atomic(snapshot, text)
    kept = [*kept, build][-KEEP:]
    index = {"builds": [vars(b) for b in kept]}
    write_atomic(folder / INDEX, json.dumps(index, indent=1, sort_keys=True) + "\n")
    listed = {f"{b.sha256}.json" for b in kept} | {INDEX}
    for path in folder.glob("*.json"):
        if path.name not in listed:
            path.unlink()
    return build


def last_changes(reports_dir: Path) -> tuple[Build, list[Change]] | None:
    """The last kept build against the one before it: (the earlier build, what changed), or
    None while fewer than two builds are kept."""
    kept = builds(reports_dir)
    if len(kept) < 2:
        return None
    return kept[-2], compare(load(reports_dir, kept[-2]), load(reports_dir, kept[-1]))


def resolve(ref: str, root: Path) -> str:
    """The full commit id of ``ref`` (a commit, tag or branch) in the repository at ``root``."""
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ConfigError(f"'{ref}' is not a commit of the repository at {root}")
    return done.stdout.strip()


def build_of(reports_dir: Path, commit: str) -> Build:
    """The latest kept build of ``commit`` (a clean tree preferred), or an error that says how
    to make one."""
    kept = [b for b in builds(reports_dir) if b.commit == commit]
    if kept:
        clean = [b for b in kept if not b.dirty]
        return (clean or kept)[-1]
    listed = ", ".join(dict.fromkeys(b.label for b in reversed(builds(reports_dir)))) or "none"
    raise DataError(
        Path(reports_dir) / HISTORY / INDEX,
        f"no build of commit {commit[:12]} is kept (kept: {listed})",
        hint=(
            f"Build it in its own checkout and compare the folders: `git worktree add "
            f"../at-{commit[:7]} {commit[:12]} && make -C ../at-{commit[:7]} reports`, then "
            f"`analysis diff --against ../at-{commit[:7]}/reports`"
        ),
    )


def as_text(changes: list[Change], since: str) -> str:
    """The changes as an author reads them in a terminal: verdicts, then numbers by report."""
    if not changes:
        return f"Against {since}: no verdict and no cited number changed.\n"
    lines = [f"Against {since}:"]
    for title, kind in (
        ("Verdicts", "verdict"),
        ("Cited numbers", "number"),
        ("Reports", "report"),
    ):
        chosen = [c for c in changes if c.kind == kind]
        if not chosen:
            continue
        lines.append(f"\n{title} ({len(chosen)}):")
        for c in chosen:
            old, new = c.old or "(absent)", c.new or "(absent)"
            if kind == "verdict":
                lines.append(f"  {c.what or c.key}: {old} -> {new}")
            elif kind == "number":
                lines.append(f"  {c.report}  \\{c.key}: {old} -> {new}  ({c.what})")
            else:
                lines.append(f"  {c.report}: {old} -> {new}")
    return "\n".join(lines) + "\n"
