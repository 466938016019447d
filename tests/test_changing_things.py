"""The README's "Changing things" walkthroughs, done as a newcomer would, on copies.

Each test follows its walkthrough to the letter: if a step stops being enough (another list to
edit, a check that no longer fires), the test fails and the README is out of date.
"""

import importlib
import re
import shutil
import sys
import textwrap
import tomllib

import numpy as np
import pytest
from conftest import SHARED_DATA, requires_shared
from scipy import stats
from statsmodels.discrete.discrete_model import NegativeBinomial

import analysis.data.sources
from analysis import labels, paths
from analysis.data import databuild
from analysis.errors import ConfigError, DataError
from analysis.models import families
from analysis.study import registry, store
from analysis.study.hypotheses import Tables
from analysis.study.settings import TestSettings

# Walkthrough "Add a data source": the reader module a newcomer writes (here into a scratch
# folder added to analysis.data.sources), exactly as the README shows it.
WHEAT_READER = '''
"""Monthly wheat prices (Month,Price) -> indicators."""

from pathlib import Path

import pandas as pd

from analysis.data.sources._common import (
    ReadContext, finish_table, parse_float_series, read_csv_table, source_label,
)


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    raw = read_csv_table(paths[0], ("Month", "Price"))
    return finish_table("indicators", pd.DataFrame({
        "iso3": "WLD", "frequency": "M", "period": raw["Month"],
        "indicator": "WHEAT", "indicator_name": "Wheat price",
        "value": parse_float_series(raw, "Price", paths[0]),
        "unit": "US$ per tonne", "source": "example wheat series", "flags": None,
        "source_file": source_label(paths[0], ctx.root), "source_row": raw["source_row"],
    }))
'''

WHEAT_ENTRY = """
[wheat]
table = "indicators"
files = ["indicators/wheat_monthly.csv"]
reader = "wheat.read_raw"
producer = "example producer"
dataset = "Monthly wheat price"
version = "2026-12"
licence = "CC BY 4.0"
citation = "Example (2026). Monthly wheat price."
bibtex = "@misc{wheat, title = {Monthly wheat price}, year = {2026}}"
"""


@pytest.fixture
def scratch_sources(tmp_path, monkeypatch):
    """A folder searched as part of analysis.data.sources, and a raw root with the crosswalk."""
    sys.modules.pop("analysis.data.sources.wheat", None)
    importlib.invalidate_caches()
    modules = tmp_path / "modules"
    modules.mkdir()
    monkeypatch.setattr(
        analysis.data.sources, "__path__", [*analysis.data.sources.__path__, str(modules)]
    )
    raw = tmp_path / "raw"
    crosswalk = "global/crosswalks/countrycode_codelist_without_cldr.csv"
    (raw / crosswalk).parent.mkdir(parents=True)
    shutil.copy(SHARED_DATA / crosswalk, raw / crosswalk)
    yield modules, raw
    sys.modules.pop("analysis.data.sources.wheat", None)


def _registry(tmp_path, *entries: str):
    """The shipped registry's crosswalk entry plus ``entries``, as a file of its own."""
    shipped = tomllib.loads(databuild.SOURCES_FILE.read_text(encoding="utf-8"))["countrycode"]
    crosswalk = "\n".join(f"{key} = {value!r}".replace("'", '"') for key, value in shipped.items())
    path = tmp_path / "registry.toml"
    path.write_text("[countrycode]\n" + crosswalk + "\n" + "\n".join(entries), encoding="utf-8")
    return path


@requires_shared
def test_add_a_data_source_is_one_reader_module_and_one_registry_entry(tmp_path, scratch_sources):
    modules, raw = scratch_sources
    (modules / "wheat.py").write_text(textwrap.dedent(WHEAT_READER), encoding="utf-8")
    (raw / "indicators").mkdir()
    (raw / "indicators" / "wheat_monthly.csv").write_text(
        "Month,Price\n2024-01,250.5\n2024-02,\n", encoding="utf-8"
    )
    tables, used = databuild.build_tables(raw, registry=_registry(tmp_path, WHEAT_ENTRY))
    wheat = tables["indicators"]
    assert wheat["period"].tolist() == ["2024-01", "2024-02"]
    assert wheat["value"].iloc[0] == 250.5 and wheat["value"].isna().iloc[1]  # missing stays
    assert wheat["source_file"].unique().tolist() == ["indicators/wheat_monthly.csv"]
    assert [p.name for p in used["wheat"]] == ["wheat_monthly.csv"]


@requires_shared
@pytest.mark.parametrize(
    "reader", ["wheat.read_raw", "nosuchmodule.read_raw", "wheat.helper", "read_raw"]
)
def test_a_registry_entry_naming_no_reader_is_an_error_at_load(tmp_path, scratch_sources, reader):
    modules, _ = scratch_sources
    if reader != "wheat.read_raw":
        (modules / "wheat.py").write_text(textwrap.dedent(WHEAT_READER), encoding="utf-8")
    entry = WHEAT_ENTRY.replace('"wheat.read_raw"', f'"{reader}"')
    with pytest.raises(DataError, match=r"column 'reader': source \[wheat\] names no reader"):
        databuild.load_sources(_registry(tmp_path, entry))


# Walkthrough "Add a claim": one registry entry, and the words for its new term.
NEW_CLAIM = """
[H9_example]
statement = "Faster Tajik consumer-price inflation goes with more border incidents."
multiplicity = "H9_example"
frequency = "A"
outcome = { dyad = "KGZ-TJK", measure = "incidents" }
outcomes = ["catalogue"]
focal = "tjk_prices_example"
predictors = [{ indicator = "FP.CPI.TOTL.ZG", iso3 = "TJK", name = "tjk_prices_example" }]
model = "poisson"
expected_sign = "positive"
sided = "two-sided"
inference = "permutation"
rationale = "An example claim, added as the README's walkthrough says."
"""
QUICK = TestSettings(n_perm=99, calibrate=False)


@pytest.fixture
def registry_copy(tmp_path):
    """The shipped registry as a file of its own, for an edit to try."""
    path = tmp_path / "hypotheses.toml"
    shutil.copy(paths.registry_path(), path)
    return path


@pytest.fixture
def labels_copy(tmp_path, monkeypatch):
    """labels.toml as a file of its own (the label map reads it instead)."""
    path = tmp_path / "labels.toml"
    shutil.copy(labels.LABELS_PATH, path)
    monkeypatch.setattr(labels, "_load", lambda: labels_load(path))  # read at each call
    return path


labels_load = labels._load.__wrapped__  # the uncached reader, given another file


@pytest.mark.slow
@requires_shared
def test_add_a_claim_is_one_registry_entry_and_its_labels(registry_copy, labels_copy):
    with registry_copy.open("a", encoding="utf-8") as handle:
        handle.write(NEW_CLAIM)
    with pytest.raises(ConfigError, match=r"H9_example: no label for term\(s\) \['tjk_prices"):
        registry.load_registry(registry_copy)  # the label is checked when the registry loads
    text = labels_copy.read_text(encoding="utf-8")
    labels_copy.write_text(
        text.replace("[terms]\n", '[terms]\ntjk_prices_example = "Tajik inflation (%)"\n', 1),
        encoding="utf-8",
    )
    claims = registry.load_registry(registry_copy)
    results = store.registry_results(claims, Tables.load(), QUICK, only=["H9_example"])
    (result,) = results.results
    assert (result.hypothesis_id, result.outcome, result.model.family) == (
        "H9_example",
        "catalogue",
        "poisson",
    )
    assert result.verdict is not None and 0 < result.test.p_value <= 1


class NB1(families.NegativeBinomial2):
    """The walkthrough's new family: NB1, variance ``mu (1 + alpha)`` (NB2's chain, starts and
    boundary; its own variance, likelihood, draws and statsmodels fitter)."""

    name = "nb1"
    label = "NB1"

    def variance(self, mu, alpha=0.0):
        return np.asarray(mu, dtype=float) * (1 + alpha)

    def loglik(self, y, mu, alpha=0.0):
        return stats.nbinom.logpmf(y, np.asarray(mu) / alpha, 1 / (1 + alpha))

    def draw(self, rng, mu, alpha=0.0, size=None):
        mu = np.broadcast_to(mu, size or np.shape(mu))
        return rng.poisson(rng.gamma(mu / alpha, alpha)).astype(float)

    def fit(self, design, start):
        model = NegativeBinomial(design.y, design.X, loglike_method="nb1", offset=design.offset)
        values = np.r_[start.params.to_numpy(), 0.5]
        result, messages = families.run(
            lambda: model.fit(start_params=values, method="bfgs", maxiter=2000, disp=0)
        )
        converged = bool(result.mle_retvals["converged"])
        return families.from_statsmodels(model, result, converged, messages)


@pytest.mark.slow
@requires_shared
def test_change_a_family_is_one_word_and_a_new_family_is_one_object(registry_copy, monkeypatch):
    def fitted(model: str):
        text = registry_copy.read_text(encoding="utf-8")
        start = text.index("[H1c]")
        entry_end = text.index("\n[", start + 1)
        edited = re.sub(r'(?m)^model = "\w+"$', f'model = "{model}"', text[start:entry_end])
        registry_copy.write_text(text[:start] + edited + text[entry_end:], encoding="utf-8")
        claims = registry.load_registry(registry_copy)
        results = store.registry_results(claims, Tables.load(), QUICK, only=["H1c"])
        return next(r for r in results.results if r.outcome == "catalogue").model

    assert fitted("negbin").family_label == "NB2"
    poisson = fitted("poisson")
    assert poisson.family_label == "Poisson"
    with pytest.raises(ConfigError, match="unknown model family 'nb1'"):
        fitted("nb1")
    monkeypatch.setitem(families.FAMILIES, "nb1", NB1())  # the one line in FAMILIES
    nb1 = fitted("nb1")
    assert nb1.family_label == "NB1" and nb1.dispersion > 0
    estimate = [m.coefficients.loc["tjk_gdppc_growth", "estimate"] for m in (poisson, nb1)]
    assert estimate[0] != pytest.approx(estimate[1])  # NB1's own fit, not Poisson's
