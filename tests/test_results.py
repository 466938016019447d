"""Result objects: frozen, tidy, and rendered safely in every format."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ConfigError
from analysis.inference.small_sample import BlockPermutation, Problem
from analysis.models.design import build_design
from analysis.models.fit import fit_spec
from analysis.models.spec import CountModelSpec
from analysis.results import (
    TIDY_COLUMNS,
    EffectScale,
    HypothesisResult,
    Interval,
    StatTest,
    Verdict,
)

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 80
    rain, hostile = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame(
        {"y": rng.poisson(np.exp(0.3 + 0.5 * rain)), "rain_mm": rain, HOSTILE: hostile}
    )


@pytest.fixture(scope="module")
def spec() -> CountModelSpec:
    return CountModelSpec("y", ("rain_mm", HOSTILE), family="poisson", cov="nonrobust")


@pytest.fixture(scope="module")
def model(data, spec):
    return fit_spec(data, spec)


def test_tidy_has_fixed_columns_and_is_a_copy(model):
    table = model.tidy()
    assert tuple(table.columns) == TIDY_COLUMNS
    assert list(table.index) == ["const", "rain_mm", HOSTILE]
    assert table.loc["rain_mm", "ratio"] == pytest.approx(np.exp(table.loc["rain_mm", "estimate"]))
    assert table.loc["rain_mm", "ratio_low"] == pytest.approx(
        np.exp(table.loc["rain_mm", "ci_low"])
    )
    table.loc["rain_mm", "estimate"] = 99.0
    assert model.tidy().loc["rain_mm", "estimate"] != 99.0
    assert model.effect_ratio == "IRR" and model.family == "poisson"


def test_results_are_frozen(model):
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.nobs = 1
    with pytest.raises(TypeError):
        model.sample["rows_used"] = 1  # read-only mapping


def test_markdown_latex_html_show_terms_and_escape(model):
    markdown = model.to_markdown()
    assert markdown.startswith("| term | estimate | std_error |")
    assert "| rain_mm |" in markdown and "- Observations: 80" in markdown

    latex = model.to_latex(caption="Rain & incidents", label="tab:rain")
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert rule in latex
    assert r"rain\_mm" in latex and r"Rain \& incidents" in latex
    assert r"\textless{}script\textgreater{}" in latex

    page = model.to_html()
    assert "<script>" not in page and "<script>" not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<td style="text-align:left">rain_mm</td>' in page


def test_summary_text(model):
    text = model.summary
    assert text.startswith("Poisson model of 'y' (IRR = exp(estimate))")
    assert "rain_mm" in text and "Converged: yes" in text and "LR test (predictors)" in text


def test_stat_test_text():
    test = StatTest("LR", 4.2, 0.0004, df=1.0, note="H0: none")
    assert str(test) == "LR: 4.200, df=1, p<0.001 (H0: none)"
    assert str(StatTest("Z", -1.0, 0.3173)) == "Z: -1.000, p=0.317"


def result(model, **changes) -> HypothesisResult:
    base = {
        "hypothesis_id": "H1", "outcome": "catalogue", "outcome_label": "Catalogued incidents",
        "statement": "Rain brings incidents.", "rationale": "Why.", "multiplicity": "F", "scope": "case",
        "control": False, "expected_sign": "+", "sided": "greater", "window": ("2000", "2006"),
        "model": model, "term": "rain_mm", "effect": EffectScale("IRR", "sd", sd=2.0),
        "interval": Interval(0.1, 0.9, "inverted block-permutation test"),
    }  # fmt: skip
    base.update(changes)
    return HypothesisResult(**base)


@pytest.fixture(scope="module")
def permutation_test(data, spec):
    problem = Problem.from_design(build_design(data, spec), "rain_mm")
    return BlockPermutation(problem, n_perm=99, seed=1, sided="greater", length=8).result()


def test_hypothesis_result_describes_itself(model, permutation_test):
    made = result(model, test=permutation_test)
    assert made.sign_agrees is True and made.key == ("H1", "catalogue")
    assert made.effect.label() == "IRR per SD (2.000)"
    adjusted = made.with_adjusted(holm_family=0.03).with_verdict(Verdict("evidence"))
    assert adjusted.p_adjusted == {"holm_family": 0.03} and made.p_adjusted == {}
    row = adjusted.to_row()
    assert row["hypothesis"] == "H1" and row["p_holm"] == 0.03 and row["verdict"] == "evidence"
    assert row["effect"] == pytest.approx(np.exp(2.0 * model.term("rain_mm")["estimate"]))
    assert row["ci_low"] == pytest.approx(np.exp(0.2)) and row["p"] == permutation_test.p_value
    assert row["effect_ratio"] == "IRR" and row["size"] is None and row["mde"] is None
    assert adjusted.tidy().index.names == ["hypothesis", "outcome"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"term": "wind"}, "term 'wind' is not in the model"),
        ({"sided": "up"}, "sided must be one of"),
        ({"expected_sign": "positive"}, "expected_sign must be"),
    ],
)
def test_hypothesis_result_validates(model, permutation_test, changes, message):
    with pytest.raises(ConfigError, match=message):
        result(model, test=permutation_test, **changes)


def test_effect_scales_are_checked():
    with pytest.raises(ConfigError, match="positive SD"):
        EffectScale("IRR", "sd", sd=0.0)
    with pytest.raises(ConfigError, match="sd, switch or unit"):
        EffectScale("OR", "decade")
    assert EffectScale("OR", "switch").label() == "OR, switching on"
