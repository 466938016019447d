"""Each notebook family's config (config.py) declares exactly the parameters of its notebook's
parameters cell: the same names, types and defaults. The notebook names its family itself
(``config.make(config.Family, ...)``), so a new notebook is checked without listing it here."""

import re
from dataclasses import fields as dataclass_fields

import pytest
from conftest import ROOT

from analysis.runner.parameters import cell_source, read_cells, read_parameters
from analysis.study import config

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def family(path):
    code = "\n".join(cell_source(c) for c in read_cells(path) if c.get("cell_type") == "code")
    names = set(re.findall(r"config\.make\(\s*config\.(\w+)", code))
    assert len(names) == 1, f"{path.name} builds {sorted(names) or 'no'} config family"
    return getattr(config, names.pop())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_config_family_matches_the_parameters_cell(path):
    declared = {p.name: (p.type, p.default) for p in read_parameters(path).values()}
    fields = {
        f.name: (f.type if isinstance(f.type, str) else f.type.__name__, f.default)
        for f in dataclass_fields(family(path))
    }
    assert fields == declared
