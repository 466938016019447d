"""The documentation says what the code does: report names, the layout, the registry's keys, and
the constants docstrings name."""

import ast
import fnmatch
import importlib
import re

import pytest
from conftest import ROOT

from analysis.runner.plan import load_plan
from analysis.study.registry import ENTRY_KEYS, load_registry

README = (ROOT / "README.md").read_text(encoding="utf-8")
SOURCE = ROOT / "src" / "analysis"


def readme_section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.DOTALL | re.MULTILINE)
    assert match, f"README has no section '## {title}'"
    return match.group(1)


# --------------------------------------------------------------------------------------------
# report names


def test_readme_report_names_are_the_names_the_plan_expands_to():
    """`10_hypothesis-<id>` in the README stands for every `10_hypothesis-*` of the plan."""
    table = readme_section("What each report answers")
    documented = re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE)
    patterns = {name: re.sub(r"<[^>]+>", "*", name) for name in documented}
    plan = load_plan(ROOT / "reports.toml", lambda: list(load_registry()))
    names = [report.name for report in plan.reports]
    for name, pattern in patterns.items():
        assert fnmatch.filter(names, pattern), f"README names report '{name}'; the plan has none"
    for name in names:
        matching = [doc for doc, pattern in patterns.items() if fnmatch.fnmatchcase(name, pattern)]
        assert len(matching) == 1, f"plan report '{name}' is described by {matching} in the README"


# --------------------------------------------------------------------------------------------
# layout


def layout() -> tuple[str, str]:
    """The layout block: the src/analysis/ entries, and the lines after them."""
    block = re.search(r"```\n(.*?)```", readme_section("Layout"), re.DOTALL).group(1)
    rest = block.partition("src/analysis/\n")[2]
    entries = re.match(r"((?:  .*\n)*)", rest).group(1)
    return entries, rest[len(entries) :]


STAGES = ("data", "panels", "models", "inference", "study", "report")


def test_readme_layout_names_every_module_and_only_existing_ones():
    entries, _ = layout()
    named = set(re.findall(r"\b(\w+)\.py\b", entries))
    packages = set(re.findall(r"^  (\w+)/", entries, re.MULTILINE))
    modules = {p.stem for p in SOURCE.glob("*.py") if p.stem != "__init__"}
    modules |= {
        p.stem for stage in STAGES for p in (SOURCE / stage).glob("*.py") if p.stem != "__init__"
    }
    subpackages = {p.parent.name for p in SOURCE.glob("*/__init__.py")}
    assert named - modules == set(), "README layout names modules that do not exist"
    assert modules - named == set(), "modules of src/analysis missing from the README layout"
    assert packages == subpackages


def test_readme_layout_names_every_reader():
    entries, _ = layout()
    listed = re.search(r"sources/.*?\((.*?)\)", entries, re.DOTALL).group(1)
    readers = {name.strip() for name in re.split(r",\s*", listed)}
    folder = SOURCE / "data" / "sources"
    modules = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    assert readers == modules


def test_readme_layout_names_existing_folders_and_every_notebook():
    _, rest = layout()
    for top in re.findall(r"^(\S+)", rest, re.MULTILINE):
        assert (ROOT / top.rstrip("/")).exists(), f"README layout names {top}, which is absent"
    notebooks = re.search(r"^notebooks/\s+(.*)$", rest, re.MULTILINE).group(1)
    assert set(re.split(r",\s*", notebooks.strip())) == {
        p.stem for p in (ROOT / "notebooks").glob("*.ipynb")
    }


# --------------------------------------------------------------------------------------------
# the registry's documented keys


def test_registry_header_documents_every_entry_key():
    header = (SOURCE / "study" / "hypotheses.toml").read_text(encoding="utf-8").split("\n\n[", 1)[0]
    section = header.split("Keys of an entry", 1)[1].split("\n#\n", 1)[0]
    documented = set()
    for line in section.splitlines()[1:]:
        lead = re.match(r"#   (\w+(?:, \w+)*)\s", line)
        if lead:
            documented |= set(lead.group(1).split(", "))
        documented |= set(re.findall(r";\s+(\w+) =", line))
    keys = ENTRY_KEYS  # every key an entry may state (id and series are not stated)
    assert sorted(keys - documented) == [], "keys missing from the hypotheses.toml header"
    assert sorted(documented - keys) == [], "the hypotheses.toml header names unknown keys"


# --------------------------------------------------------------------------------------------
# constants named in docstrings

# `NAME` or :data:`NAME` (a reference); ``package.module.NAME`` (a literal naming a module's name)
REFERENCE = re.compile(r"(?<!`)(?::\w+:)?`~?((?:[A-Za-z_]\w*\.)*[A-Z][A-Z0-9_]*[A-Z0-9])`(?!`)")
QUALIFIED = re.compile(r"``((?:[a-z_]\w*\.)+[A-Z][A-Z0-9_]*[A-Z0-9])``")


def docstrings(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = [tree] + [
        n
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    return [doc for doc in map(ast.get_docstring, nodes) if doc]


def resolves(name: str, module) -> bool:
    owner, _, attribute = name.rpartition(".")
    for part in owner.split(".") if owner else ():  # "schema.X" where the module imports schema
        module = getattr(module, part, None)
        if module is None:
            break
    else:
        return hasattr(module, attribute)
    if owner:
        for candidate in (
            owner,
            f"analysis.{owner}",
            *(f"analysis.{s}.{owner}" for s in STAGES),
        ):  # "schema.X" inside the package
            try:
                module = importlib.import_module(candidate)
                break
            except ImportError:
                continue
        else:
            return False
    return hasattr(module, attribute)


MODULES = sorted(SOURCE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(SOURCE).as_posix())
def test_constants_named_in_docstrings_exist(path):
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    module = importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    named = {
        name
        for doc in docstrings(path)
        for pattern in (REFERENCE, QUALIFIED)
        for name in pattern.findall(doc)
    }
    assert sorted(n for n in named if not resolves(n, module)) == []
