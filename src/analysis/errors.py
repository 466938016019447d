"""The project's errors: each message says what was found, where, and what to do about it.

The CLI prints an ``AnalysisError`` without a traceback and exits with status 2; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class AnalysisError(Exception):
    """Base of every error a user can fix by changing an input, a parameter or the data."""


class DataError(AnalysisError):
    """A data file (or a table built from one) breaks its contract.

    ``row`` is the 1-based line number in the file as a text editor shows it (the header is
    line 1), so that a user can jump straight to it.
    """

    def __init__(
        self,
        file: str | Path | None,
        problem: str,
        *,
        row: int | None = None,
        column: str | None = None,
        found: object = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.found = found
        self.expected = expected
        self.problem = problem
        self.hint = hint
        where = [self.file or "<table>"]
        if row is not None:
            where.append(f"line {row}")
        if column is not None:
            where.append(f"column '{column}'")
        text = f"{', '.join(where)}: {problem}"
        if found is not None:
            text += f"; found {found!r}"
        if expected is not None:
            text += f"; expected {expected}"
        if hint:
            text += f". {hint}"
        super().__init__(text)


REBUILD_HINT = (
    "rebuild it from the raw files with `analysis data build --raw ../shared/data`, "
    "or restore it with `git checkout -- data/`"
)


class ChecksumError(DataError):
    """A shipped table no longer matches the checksum recorded when it was built."""


class ConfigError(AnalysisError):
    """A parameter, plan or registry entry is invalid (unknown name, wrong type, out of range)."""


def suggest(value: object, names: Iterable) -> str:
    """ "; did you mean 'X'?" for the closest of ``names``, or "" when none is close (callers add
    the full list with ``or``)."""
    match = difflib.get_close_matches(str(value), [str(n) for n in names], n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


class ModelError(AnalysisError):
    """A model cannot be estimated on the data given (degenerate outcome, collinear design...)."""
