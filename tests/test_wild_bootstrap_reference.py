"""The score wild cluster bootstrap against numbers from ``wildboottest`` on a public panel.

``tests/data/wild_bootstrap_reference/make_reference.py`` made ``reference.json`` and says in its
docstring what is compared and why it is the same quantity (Rademacher weights, every vector
enumerated: the p-values are exact, so they must agree to rounding).
"""

import importlib.util
import json

import pytest
from conftest import ROOT

from analysis.inference import clusters
from analysis.models.spec import CountModelSpec

FOLDER = ROOT / "tests" / "data" / "wild_bootstrap_reference"
REFERENCE = json.loads((FOLDER / "reference.json").read_text(encoding="utf-8"))


def _script():
    spec = importlib.util.spec_from_file_location("make_reference", FOLDER / "make_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def panel():
    script = _script()
    frame = script.panel()
    assert script.digest(frame) == REFERENCE["data_sha256"], (
        "statsmodels' Grunfeld data changed: rerun make_reference.py before comparing"
    )
    return frame


@pytest.mark.parametrize("row", REFERENCE["results"], ids=lambda row: row["term"])
@pytest.mark.parametrize("sided", ["two-sided", "greater", "less"])
def test_score_bootstrap_matches_wildboottest_on_grunfeld(panel, row, sided):
    others = tuple(term for term in ("value", "capital") if term != row["term"])
    spec = CountModelSpec(
        outcome="invest",
        predictors=(row["term"],),
        controls=others,
        family="poisson",
        fixed_effects=("firm",),
        cov="cluster",
        cluster="firm",
    )
    result = clusters.score_bootstrap(
        panel, spec, key="grunfeld", b0=row["b0"], sided=sided, weights="rademacher", ci=False
    )
    test = result.test
    assert test.n_draws is None and test.details["vectors"] == row["n_vectors"]  # enumerated
    assert test.statistic == pytest.approx(row["statistic"], rel=1e-6)
    expected = row["p_" + sided.replace("-", "_")]
    assert test.p_value == pytest.approx(expected, abs=1e-12)
