"""The `analysis` command: one subcommand group per verb of the pipeline.

Errors a user can fix (``AnalysisError``) print one message and exit with status 2, without a
Python traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import paths
from .errors import AnalysisError, ConfigError
from .formatting import TABLE_FORMATS
from .study.settings import TestSettings


def _data_build(args: argparse.Namespace) -> int:
    from .data.databuild import build, load_sources, not_present

    manifest = build(Path(args.raw), paths.data_dir(args.out), today=dt.date.today())
    for entry in manifest["tables"].values():
        print(f"{entry['file']:<24} {entry['rows']:>7} rows  sha256 {entry['sha256'][:16]}…")
    for source in not_present(manifest, load_sources()):
        print(
            f"{source.id:<24} not present (optional: put files matching "
            f"{', '.join(source.files)} under --raw to add {source.dataset})"
        )
    print(f"wrote {paths.data_dir(args.out)}/ (manifest.json, README.md, sources.bib)")
    return 0


def _data_check(args: argparse.Namespace) -> int:
    from .data.datasets import check

    folder = paths.data_dir(args.data_dir)
    problems, coverage = check(folder)
    with_pandas_display(lambda: print(coverage.to_string(index=False)))
    if problems:
        print(f"\n{len(problems)} problem(s) in {folder}:", file=sys.stderr)
        for problem in problems:
            print(f"- {problem}", file=sys.stderr)
        return 1
    print(f"\nall tables in {folder} match their checksums and contracts")
    return 0


def _hypotheses_list(args: argparse.Namespace) -> int:
    from .study.registry import load_registry, registry_frame

    with_pandas_display(lambda: print(registry_frame(load_registry()).to_string(index=False)))
    return 0


def _hypotheses_test(args: argparse.Namespace) -> int:
    from . import executors
    from .report.result_tables import conclusions, coverage_table, hypothesis_summary, render
    from .study.hypotheses import Tables
    from .study.registry import load_registry, select
    from .study.store import ResultStore, registry_results

    executors.check(args.executor, args.jobs, args.scheduler)

    registry = load_registry()
    if args.all == bool(args.ids):
        raise ConfigError(
            "name hypothesis ids or id prefixes (e.g. H1a, H1) or pass --all, not both"
        )
    chosen = list(registry if args.all else select(registry, args.ids))
    settings = TestSettings(
        n_perm=args.n_perm,
        n_size=args.n_size,
        n_power=args.n_power,
        calibrate=not args.no_calibrate,
    )
    tables = Tables.load(args.data_dir) if args.data_dir else None  # else loaded if needed
    with executors.open(args.executor, jobs=args.jobs, scheduler=args.scheduler) as executor:
        results = registry_results(
            registry, tables, settings, only=chosen, executor=executor, store=ResultStore.default()
        )
    table = conclusions(results) if args.long else hypothesis_summary(results)
    print(render(table, args.format), end="")
    if any(r.coverage is not None for r in results.results):
        print(
            "\nCoverage: how far the catalogue's reporting density would have to differ between "
            "the compared periods to produce each estimate with no real effect (tipping ratio), "
            "and the estimate across the detection paths the stated counts allow.\n"
        )
        print(render(coverage_table(results), args.format), end="")
    print(f"\nMultiplicity: {results.corrections}.")
    return 0


def _run(args: argparse.Namespace) -> int:
    from .runner import run

    with _plan_root(args) as plan:
        return run(
            _run_options(
                args,
                plan,
                list_plan=args.list,
                dry_run=args.dry_run,
                force=args.force,
                timeout=args.timeout,
                with_code=args.with_code,
                engine=args.engine,
                retries=args.retries,
                wait=args.wait,
            )
        )


def _verify(args: argparse.Namespace) -> int:
    from .runner.verify import verify

    with _plan_root(args) as plan:
        return verify(_run_options(args, plan))


def _run_options(args: argparse.Namespace, plan: Path, **more):
    """The options ``run`` and ``verify`` share (plan, output, selection, executor), plus
    ``more``."""
    from .runner import RunOptions

    return RunOptions(
        plan=plan,
        reports_dir=Path(args.reports_dir) if args.reports_dir else None,
        only=tuple(args.only or ()),
        jobs=args.jobs,
        executor=args.executor,
        scheduler=args.scheduler,
        **more,
    )


@contextmanager
def _plan_root(args: argparse.Namespace) -> Iterator[Path]:
    """The plan to run; without --plan, the project root's, and that root is pinned for the
    workers (a notebook's kernel starts in notebooks/, and must find the same data)."""
    if args.plan:
        yield Path(args.plan)
        return
    root = paths.project_root()
    with paths.pinned_root(root):
        yield root / paths.PLAN_FILE


def _cite(args: argparse.Namespace) -> int:
    from .report.citation import cite

    print(cite(args.item, paths.reports_dir(args.reports_dir), args.format), end="")
    return 0


def _diff(args: argparse.Namespace) -> int:
    from .runner import history

    reports = paths.reports_dir(args.reports_dir)
    if args.ref and args.against:
        raise ConfigError("name a commit (REF) or a folder (--against), not both")
    now = history.state(reports)
    if args.against:
        other = Path(args.against)
        if not other.is_dir():
            raise ConfigError(f"--against {other}: no such reports folder")
        changes, since = history.compare(history.state(other), now), f"the reports in {other}"
    elif args.ref:
        build = history.build_of(reports, history.resolve(args.ref, paths.project_root()))
        changes = history.compare(history.load(reports, build), now)
        since = f"the build of {build.label}"
    else:
        last = history.last_changes(reports)
        if last is None:
            raise ConfigError(
                f"fewer than two builds are kept in {reports / history.HISTORY}: run "
                "`analysis run` after a change, or name a commit (analysis diff REF)"
            )
        changes, since = last[1], f"the build before the last ({last[0].label})"
    print(history.as_text(changes, since), end="")
    return 0


def with_pandas_display(show) -> None:
    import pandas as pd

    with pd.option_context(
        "display.width", 200, "display.max_colwidth", 60, "display.max_rows", 500
    ):
        show()


def build_parser() -> argparse.ArgumentParser:
    from .runner.orchestrate import RETRIES

    parser = argparse.ArgumentParser(prog="analysis", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root",
        default=None,
        help=f"the project folder (default: ${paths.ROOT_ENV}, else the first folder upwards from "
        f"the working directory holding {' and '.join(paths.MARKERS)})",
    )
    verbs = parser.add_subparsers(dest="verb", required=True)

    data = verbs.add_parser("data", help="build and check the shipped tables in data/")
    data_verbs = data.add_subparsers(dest="data_verb", required=True)
    build = data_verbs.add_parser("build", help="rebuild data/ from the official raw files")
    build.add_argument("--raw", required=True, help="folder of raw files, e.g. ../shared/data")
    build.add_argument("--out", default=None, help="output folder (default: the project's data/)")
    build.set_defaults(run=_data_build)
    check = data_verbs.add_parser("check", help="verify checksums and contracts; print coverage")
    check.add_argument("--data-dir", default=None, help="folder to check (default: data/)")
    check.set_defaults(run=_data_check)

    hyp = verbs.add_parser("hypotheses", help="list or test the registered hypotheses")
    hyp_verbs = hyp.add_subparsers(dest="hyp_verb", required=True)
    listing = hyp_verbs.add_parser(
        "list", help="the registry: id, multiplicity group, model, expected sign"
    )
    listing.set_defaults(run=_hypotheses_list)
    test = hyp_verbs.add_parser(
        "test", help="test hypotheses on the shipped data and print the table"
    )
    test.add_argument("ids", nargs="*", help="hypothesis ids or id prefixes (H1 = every H1 entry)")
    test.add_argument("--all", action="store_true", help="test every registered hypothesis")
    defaults = TestSettings()
    for flag, name, help_text in (
        ("--n-perm", "n_perm", "draws of the reported resampling test"),
        ("--n-size", "n_size", "null samples for each test's size"),
        ("--n-power", "n_power", "samples per point of each power curve"),
    ):
        default = getattr(defaults, name)
        test.add_argument(
            flag, type=int, default=default, help=f"{help_text} (default {default:,})"
        )
    test.add_argument(
        "--no-calibrate",
        action="store_true",
        help="skip size, power and intervals: estimates, p-values and corrections only",
    )
    test.add_argument(
        "--long", action="store_true", help="print each verdict's sentence and caveats instead"
    )
    test.add_argument(
        "--format", choices=TABLE_FORMATS, default="text", help="output format (default text)"
    )
    test.add_argument("--data-dir", default=None, help="data folder (default: data/)")
    test.add_argument(
        "--executor",
        choices=["serial", "fork", "dask"],
        default="fork",
        help="where tests missing from the results store are computed: on forked workers "
        "(default, one per CPU), in this process, or on a dask cluster; stored tests are read "
        "back, and the numbers do not depend on where they were computed",
    )
    _add_cluster_options(test, jobs_help="workers for fork, or the size of a local dask cluster")
    test.set_defaults(run=_hypotheses_test)

    run = verbs.add_parser(
        "run",
        help="build the stale reports of the run plan into reports/",
        description="Execute every report of the plan whose notebook, parameters, input "
        "tables, package code, lock file or Python changed; publish each "
        "atomically and rewrite reports/index.html.",
    )
    run.add_argument(
        "--plan", default=None, help="the run plan (default: the project's reports.toml)"
    )
    run.add_argument(
        "--reports-dir", default=None, help="output folder (default: reports/ beside the plan)"
    )
    run.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these reports (names or shell globs)"
    )
    run.add_argument(
        "--list", action="store_true", help="show the expanded plan, what is stale and why"
    )
    run.add_argument(
        "--dry-run", action="store_true", help="show what would run, without running it"
    )
    run.add_argument(
        "--force", action="store_true", help="re-run the selected reports even if fresh"
    )
    run.add_argument(
        "--executor",
        choices=["fork", "dask"],
        default="fork",
        help="fork: workers forked from this process (default); dask: one task per report on "
        "a dask cluster (see README, 'Running on a cluster')",
    )
    _add_cluster_options(
        run,
        jobs_help="parallel workers, or the size of a local dask cluster (default: plan, "
        "else CPU count)",
    )
    run.add_argument(
        "--retries",
        type=int,
        default=RETRIES,
        help=f"dask: times a report is tried again when its worker dies (default {RETRIES})",
    )
    run.add_argument(
        "--timeout", type=float, default=None, help="seconds per report (default: the plan's)"
    )
    run.add_argument("--with-code", action="store_true", help="show code cells in the HTML reports")
    run.add_argument(
        "--engine",
        choices=["fork", "papermill"],
        default="fork",
        help="fork: warm in-process workers (default); papermill: a Jupyter kernel per report",
    )
    run.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="seconds to wait for another run's lock before giving up (default: 0)",
    )
    run.set_defaults(run=_run)

    verify = verbs.add_parser(
        "verify", help="rebuild published reports in scratch and diff them byte for byte"
    )
    verify.add_argument(
        "--plan", default=None, help="the run plan (default: the project's reports.toml)"
    )
    verify.add_argument(
        "--reports-dir", default=None, help="published reports (default: reports/ beside the plan)"
    )
    verify.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these reports (names or shell globs)"
    )
    verify.add_argument(
        "--executor",
        choices=["fork", "dask"],
        default="fork",
        help="rebuild with this executor (default fork); comparing with reports built by "
        "the other checks that both give the same bytes",
    )
    _add_cluster_options(verify, jobs_help="parallel workers (default: CPU count)")
    verify.set_defaults(run=_verify)

    cite = verbs.add_parser(
        "cite", help="how to cite a report, figure or table (software, data, commit)"
    )
    cite.add_argument("item", help="REPORT, REPORT/figures/NAME or REPORT/tables/NAME")
    cite.add_argument(
        "--format",
        choices=["text", "bibtex"],
        default="text",
        help="citation format (default text)",
    )
    cite.add_argument(
        "--reports-dir", default=None, help="published reports (default: the project's reports/)"
    )
    cite.set_defaults(run=_cite)

    diff = verbs.add_parser(
        "diff",
        help="which verdicts and cited numbers changed (old -> new), so you know which "
        "citations to update",
        description="List every verdict and every cited number (LaTeX macro) whose printed "
        "value differs: the last build against the one before (no argument), the current "
        "reports against the kept build of commit REF, or against another reports folder.",
    )
    diff.add_argument(
        "ref", nargs="?", default=None, help="a commit, tag or branch whose build is kept"
    )
    diff.add_argument(
        "--against", default=None, metavar="DIR", help="another reports folder to compare with"
    )
    diff.add_argument(
        "--reports-dir", default=None, help="published reports (default: the project's reports/)"
    )
    diff.set_defaults(run=_diff)
    return parser


def _add_cluster_options(parser: argparse.ArgumentParser, jobs_help: str) -> None:
    parser.add_argument("--jobs", type=int, default=None, help=jobs_help)
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="dask: a running scheduler, e.g. tcp://head:8786 (default: start a local cluster)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with paths.pinned_root(args.root):
            return args.run(args)
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
