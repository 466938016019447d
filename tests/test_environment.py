"""The pip path (pyproject + lock) and the conda path (environment.yml) install the same things."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return {_name(r): r.strip() for r in requirements}


def _environment_yml() -> dict[str, str]:
    packages = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("\ndependencies:\n", 1)[1].splitlines():
        match = re.match(r"^  - ([A-Za-z0-9_.\-]+)(.*)$", line)
        if match and match.group(1) not in {"python", "pip"}:
            packages[match.group(1).lower()] = (match.group(1) + match.group(2)).strip()
    return packages


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_environment_yml_lists_the_same_packages_and_bounds_as_pyproject():
    pip_side = {name: req.replace(" ", "") for name, req in _pyproject().items()}
    conda_side = {name: req.replace(" ", "") for name, req in _environment_yml().items()}
    assert sorted(conda_side) == sorted(pip_side)
    assert conda_side == pip_side


def test_lock_pins_every_declared_dependency():
    pins = _lock()
    missing = sorted(set(_pyproject()) - set(pins))
    assert not missing, f"requirements.lock lacks {missing}: run `make lock`"


def test_parsers_see_real_content():
    # Guards the two tests above against passing on empty parses.
    assert {"pandas", "statsmodels", "papermill", "seaborn", "pytest"} <= set(_environment_yml())
    assert len(_lock()) > 50


def test_optional_extras_are_documented_and_left_out_of_the_default_installs():
    """An extra beyond `test` (e.g. `slurm`) is for some users only: the README says how to
    install it, and neither the lock nor environment.yml installs it for everyone."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    readme = (ROOT / "README.md").read_text()
    optional = {name: reqs for name, reqs in extras.items() if name != "test"}
    assert optional, "guards the loop below against passing on nothing"
    for extra, requirements in optional.items():
        assert f"pip install -e .[{extra}]" in readme, extra
        for requirement in requirements:
            assert _name(requirement) in readme, requirement
            assert _name(requirement) not in _lock(), f"{requirement} is pinned for everyone"
            assert _name(requirement) not in _environment_yml(), requirement
