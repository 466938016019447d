"""The words a reader sees for model terms, table columns, outcomes and verdicts.

One label map (``labels.toml`` beside this file) serves every renderer, so a term reads the same
in a table, a forest plot and the study site, and no notebook keeps its own names. A name that is
not in the map is shown as it is: a new predictor is visible at once, and the registry test says
it needs a label.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import ConfigError

LABELS_PATH = Path(__file__).with_name("labels.toml")
SECTIONS = ("terms", "outcomes", "columns", "dimensions", "coverage", "reasons", "verdicts")
FORMATS = ("ratio", "p", "estimate", "count", "year", "share")
VERDICT_CODES = (
    "evidence",
    "opposite",
    "not_detected",
    "cannot_tell",
    "oversized",
    "control_clean",
    "control_failed",
    "not_testable",
)


@dataclass(frozen=True)
class Verdict:
    """How one verdict code is shown: words, colour, and a symbol and marker that read in grey."""

    code: str
    label: str
    meaning: str
    colour: str
    symbol: str
    marker: str
    filled: bool


@cache
def _load(path: Path = LABELS_PATH) -> dict:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; expected {list(SECTIONS)}")
    for name, entry in data.get("columns", {}).items():
        if entry.get("format") not in (None, *FORMATS):
            raise ConfigError(
                f"{path}: column '{name}' has format {entry.get('format')!r}; "
                f"expected one of {list(FORMATS)}"
            )
    codes = set(data.get("verdicts", {}))
    if codes != set(VERDICT_CODES):
        raise ConfigError(
            f"{path}: [verdicts] must define exactly {list(VERDICT_CODES)}; "
            f"missing {sorted(set(VERDICT_CODES) - codes)}, unknown {sorted(codes - set(VERDICT_CODES))}"
        )
    return data


def term(name: str) -> str:
    """A model term or predictor in words (``incidents_lag1`` → "Incidents last month")."""
    return _load()["terms"].get(name, name)


def outcome(name: str) -> str:
    return _load()["outcomes"].get(name, name)


def column(name: str) -> str:
    """A table column's header (``irr_low`` → "IRR, lower 95%")."""
    return _load()["columns"].get(name, {}).get("label", name)


#: A column name written as code (lower case, digits, underscores): it needs a label to be shown.
_CODE_NAME = re.compile(r"^[a-z][a-z0-9_]*( [a-z0-9_]+)*$")


def unlabelled(names: Iterable) -> list[str]:
    """The column names a table would show raw: code-like names without a label. A name that
    is data (a border code such as ``KGZ-TJK``, a year) or already words with capitals or
    signs (``95% CI``) is shown as it is."""
    columns = _load()["columns"]
    return [
        str(n) for n in names if isinstance(n, str) and _CODE_NAME.match(n) and n not in columns
    ]


def column_format(name: str) -> str | None:
    """How the column's numbers are written (see labels.toml), or None to decide from the values."""
    return _load()["columns"].get(name, {}).get("format")


def dimension(name: str) -> str:
    return _load()["dimensions"].get(name, name)


def coverage(control: str) -> str | None:
    """What a coverage control means for the estimate, said once for every test it applies
    to; None for a control the map does not explain (each row's own note does)."""
    return _load().get("coverage", {}).get(control)


def verdict(code: str) -> Verdict:
    """The display of a verdict code; an unknown code is an error (the set is closed)."""
    entries = _load()["verdicts"]
    if code not in entries:
        raise ConfigError(f"unknown verdict {code!r}; expected one of {list(VERDICT_CODES)}")
    return Verdict(code=code, **entries[code])


def verdicts() -> tuple[Verdict, ...]:
    """Every verdict, in the order of :data:`VERDICT_CODES` (legends list them so)."""
    return tuple(verdict(code) for code in VERDICT_CODES)


def known(section: str) -> frozenset[str]:
    """The names a section labels (for the test that the registry's names all have one)."""
    return frozenset(_load()[section])


def reasons() -> dict[str, str]:
    """Every reason code a verdict can carry, in words, in the order of the label map."""
    return dict(_load()["reasons"])
