"""The ``parameters`` cell of a notebook: what each parameter is, and whether a value fits it.

The cell is the notebook's contract with the run plan. Its syntax, ``name: type = value  # help``,
is the one ``papermill --help-notebook`` reads, so one declaration documents and validates. The help
may end with ``(choices: a, b)``, ``(range: LOW..HIGH)`` or ``(choices: registry)`` (the ids of the
hypothesis registry). Notebooks are read as plain JSON: importing nbformat costs seconds, and a
no-op run must stay well under one.
"""

from __future__ import annotations

import ast
import io
import json
import math
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ConfigError, suggest

TYPES = {"int": int, "float": float, "str": str, "bool": bool}
REGISTRY = "registry"
OUTPUT_DIR = "output_dir"
_CONSTRAINT = re.compile(r"\((?P<kind>choices|range):\s*(?P<spec>[^()]*)\)\s*$")


@dataclass(frozen=True)
class Parameter:
    """One declared parameter; ``choices`` holds typed values, or None when unconstrained."""

    name: str
    type: str
    default: object
    help: str
    choices: tuple | None = None
    from_registry: bool = False
    range: tuple[float, float] | None = None

    def check(self, value: object, registry_ids: Sequence[str] = ()) -> object:
        """The value as the notebook will receive it, or ValueError saying what is wrong."""
        if self.type == "float" and type(value) is int:
            value = float(value)
        if type(value) is not TYPES[self.type]:
            raise ValueError(f"expected a {self.type}, found {_describe(value)}")
        if self.type == "float" and not math.isfinite(value):
            raise ValueError(f"expected a finite float, found {value!r}")
        if self.range is not None and not self.range[0] <= value <= self.range[1]:
            raise ValueError(f"{value!r} is outside the range {self.range[0]}..{self.range[1]}")
        allowed = tuple(registry_ids) if self.from_registry else self.choices
        if allowed is not None and value not in allowed:
            where = "the hypothesis registry" if self.from_registry else "the choices"
            raise ValueError(
                f"{value!r} is not in {where} ({', '.join(map(str, allowed))}){suggest(value, allowed)}"
            )
        return value


def _describe(value: object) -> str:
    kind = {bool: "bool", int: "int", float: "float", str: "str"}.get(
        type(value), type(value).__name__
    )
    return f"{kind} {value!r}"


def read_cells(path: Path) -> list[dict]:
    """The notebook's cells as JSON dicts; ConfigError if the file is not a notebook."""
    try:
        document = json.loads(path.read_bytes())
        cells = document["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a readable Jupyter notebook ({exc})") from None
    return cells


def cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def read_parameters(path: Path) -> dict[str, Parameter]:
    """The declarations of the notebook's cell tagged ``parameters``, checked against their own help."""
    cells = [c for c in read_cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ConfigError(f"{path}: no code cell is tagged 'parameters'")
    parameters = parse_parameters(cell_source(cells[0]), f"{path}: parameters cell")
    if OUTPUT_DIR not in parameters:
        raise ConfigError(
            f'{path}: parameters cell has no `{OUTPUT_DIR}: str = ""` (the runner sets it to the folder '
            "where the notebook writes figures/, tables/ and numbers.json)"
        )
    return parameters


def parse_parameters(source: str, where: str) -> dict[str, Parameter]:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ConfigError(f"{where}, line {exc.lineno}: not valid Python ({exc.msg})") from None
    comments = {
        token.start[0]: token.string[1:].strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    parameters: dict[str, Parameter] = {}
    for node in tree.body:
        parameter = _declaration(
            node, comments.get(node.end_lineno, ""), f"{where}, line {node.lineno}"
        )
        if parameter.name in parameters:
            raise ConfigError(f"{where}, line {node.lineno}: '{parameter.name}' is declared twice")
        parameters[parameter.name] = parameter
    return parameters


def _declaration(node: ast.stmt, help_text: str, where: str) -> Parameter:
    expected = "expected `name: type = value  # help` with type one of " + ", ".join(TYPES)
    if not (
        isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and isinstance(node.annotation, ast.Name)
        and node.annotation.id in TYPES
        and node.value is not None
    ):
        raise ConfigError(f"{where}: {expected}")
    try:
        default = ast.literal_eval(node.value)
    except ValueError:
        raise ConfigError(
            f"{where}: the default of '{node.target.id}' must be a plain literal"
        ) from None
    parameter = _with_constraint(
        Parameter(node.target.id, node.annotation.id, default, help_text), help_text, where
    )
    if not parameter.from_registry:  # registry ids are checked with the plan, which loads them
        try:
            parameter.check(default)
        except ValueError as exc:
            raise ConfigError(f"{where}: default of '{parameter.name}': {exc}") from None
    return parameter


def _with_constraint(parameter: Parameter, help_text: str, where: str) -> Parameter:
    match = _CONSTRAINT.search(help_text)
    if match is None:
        return parameter
    kind, spec = match["kind"], match["spec"].strip()
    if kind == "choices" and spec == REGISTRY:
        return replace(parameter, from_registry=True)
    try:
        if kind == "range":
            low, high = (_number(part) for part in spec.split(".."))
            return replace(parameter, range=(low, high))
        convert = _parse_bool if parameter.type == "bool" else TYPES[parameter.type]
        return replace(
            parameter, choices=tuple(convert(c.strip().strip("'\"")) for c in spec.split(","))
        )
    except ValueError:
        raise ConfigError(
            f"{where}: cannot read the {kind} of '{parameter.name}' from '({kind}: {spec})'; expected "
            + (
                "(range: LOW..HIGH)"
                if kind == "range"
                else "(choices: a, b, c) or (choices: registry)"
            )
        ) from None


def _number(text: str) -> float:
    text = text.strip()
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)


def _parse_bool(text: str) -> bool:
    if text not in ("True", "False"):
        raise ValueError(text)
    return text == "True"
