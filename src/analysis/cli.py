"""The `analysis` command: one subcommand group per verb of the pipeline.

Errors a user can fix (``AnalysisError``) print one message and exit with status 2, without a
Python traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import AnalysisError


def _data_build(args: argparse.Namespace) -> int:
    from .databuild import build

    manifest = build(Path(args.raw), Path(args.out))
    for name, entry in manifest["tables"].items():
        print(f"{entry['file']:<24} {entry['rows']:>7} rows  sha256 {entry['sha256'][:16]}…")
    print(f"wrote {args.out}/ (manifest.json, README.md, sources.bib)")
    return 0


def _data_check(args: argparse.Namespace) -> int:
    from .datasets import check, data_dir

    problems, coverage = check(args.data_dir)
    with_pandas_display(lambda: print(coverage.to_string(index=False)))
    if problems:
        print(f"\n{len(problems)} problem(s) in {data_dir(args.data_dir)}:", file=sys.stderr)
        for problem in problems:
            print(f"- {problem}", file=sys.stderr)
        return 1
    print(f"\nall tables in {data_dir(args.data_dir)} match their checksums and contracts")
    return 0


def with_pandas_display(show) -> None:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_colwidth", 60, "display.max_rows", 500):
        show()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analysis", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)

    data = verbs.add_parser("data", help="build and check the shipped tables in data/")
    data_verbs = data.add_subparsers(dest="data_verb", required=True)
    build = data_verbs.add_parser("build", help="rebuild data/ from the official raw files")
    build.add_argument("--raw", required=True, help="folder of raw files, e.g. ../shared/data")
    build.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "data"),
                       help="output folder (default: the repository's data/)")
    build.set_defaults(run=_data_build)
    check = data_verbs.add_parser("check", help="verify checksums and contracts; print coverage")
    check.add_argument("--data-dir", default=None, help="folder to check (default: data/)")
    check.set_defaults(run=_data_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
