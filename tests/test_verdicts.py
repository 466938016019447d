"""Verdicts follow fixed rules from the numbers, and the words never contradict them."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ConfigError
from analysis.models.fit import fit_count_model
from analysis.report import words
from analysis.results import (
    CoverageCheck,
    EffectScale,
    HypothesisResult,
    Interval,
    PowerCheck,
    SizeCheck,
    SmallSampleTest,
    Verdict,
)
from analysis.study import verdicts

LEVEL, ADEQUATE = 0.05, 2.0


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(4)
    x = rng.normal(size=120)
    y = rng.poisson(np.exp(0.3 + 0.5 * x))
    return fit_count_model(
        pd.DataFrame({"y": y, "x": x}), "y", ["x"], family="poisson", cov="nonrobust"
    )


def power(mde: float = 1.6, reachable: bool = True) -> PowerCheck:
    curve = pd.DataFrame(
        {"effect": [1.2, mde], "log_effect": [0.1, 0.4], "power": [0.3, 0.8], "n_failed": [0, 0]}
    )
    return PowerCheck(
        reachable,
        0.8,
        LEVEL,
        500,
        mde,
        math.log(mde),
        20.0,
        curve,
        reason="" if reachable else "8 dates",
    )


def make(model, *, p=0.01, holm=None, size=0.05, mde=1.6, estimate_sign=1.0, control=False, could=False,
         reachable=True, mc=0.001, expected="+", interval=(-0.2, 0.3), controls=()):  # fmt: skip
    test = SmallSampleTest(
        "block_permutation", "block permutation (9,999 draws)", 2.5, p, "two-sided", p_mc_se=mc,
        n_draws=9999, min_attainable_p=1e-4 if reachable else 0.125,
    )  # fmt: skip
    coverage = CoverageCheck(
        "catalogue", "none (annual catalogue)", "", pd.DataFrame(), 1.5,
        (0.0, math.inf) if could else (0.5, 1.2) if could is False else None, could,
    )  # fmt: skip
    fitted = model
    if estimate_sign < 0:  # the same model with the estimate's sign flipped
        table = model.tidy()
        table.loc["x", ["estimate", "ci_low", "ci_high"]] *= -1
        fitted = replace(model, coefficients=table)
    return HypothesisResult(
        "H9", "catalogue", "Catalogued incidents", "A claim.", "Why.", "F", "case", control,
        expected, "two-sided", ("2008", "2024"), fitted, "x",
        EffectScale("IRR", "sd", sd=1.0), test, Interval(*interval, "inverted block-permutation test"),
        size=SizeCheck(LEVEL, size, 0.007, 1000, 0, "null"), power=power(mde, reachable),
        coverage=coverage, p_adjusted={"holm_family": p if holm is None else holm, "bh_scope": p},
        coverage_controls=controls,
    )  # fmt: skip


def classify(result):
    return verdicts.classify(result, level=LEVEL, adequate_mde=ADEQUATE)


def test_evidence_needs_the_family_wise_p_and_the_expected_sign(model):
    assert classify(make(model, p=0.01)).code == "evidence"
    assert classify(make(model, p=0.01, estimate_sign=-1)).code == "opposite"
    significant_alone = classify(make(model, p=0.01, holm=0.2))
    assert significant_alone == Verdict("cannot_tell", ("multiplicity",))


def test_an_oversized_test_is_never_evidence(model):
    verdict = classify(make(model, p=0.001, size=0.24))
    assert verdict.code == "oversized" and "oversized" in verdict.reasons
    assert classify(make(model, p=0.001, size=0.07)).code == "evidence"


def test_the_threshold_is_read_with_its_monte_carlo_error(model):
    """At 1,000 usable samples the threshold's s.e. is 0.95%: sizes within two of it of 10%
    decide nothing, in either direction."""
    for size in (0.09, 0.105, 0.118):
        assert classify(make(model, p=0.001, size=size)) == Verdict(
            "cannot_tell", ("size_borderline",)
        ), size
    assert classify(make(model, p=0.001, size=0.121)).code == "oversized"
    assert classify(make(model, p=0.001, size=0.079)).code == "evidence"


def test_a_test_of_unknown_size_decides_nothing(model):
    unsimulated = replace(make(model, p=0.001), size=None)
    assert classify(unsimulated) == Verdict("cannot_tell", ("size_unchecked",))
    for p in (0.001, 0.4):  # neither evidence nor "not detected" rests on 199 usable samples
        few_usable = make(model, p=p)
        few_usable = replace(few_usable, size=replace(few_usable.size, n_sims=250, n_failed=51))
        assert classify(few_usable) == Verdict("cannot_tell", ("size_unchecked",))
    control = make(model, p=0.6, control=True, expected=None)
    assert classify(replace(control, size=None)).code == "cannot_tell"
    said = words.sentence(replace(unsimulated, verdict=classify(unsimulated)))
    assert said.startswith("Cannot tell") and "size could not be simulated" in said


def test_a_test_that_cannot_reach_the_level_has_no_size(model):
    result = make(model, p=0.4, reachable=False)
    result = replace(
        result, size=SizeCheck(LEVEL, math.nan, math.nan, 0, 0, "null", reachable=False)
    )
    assert classify(result) == Verdict("cannot_tell", ("unreachable",))
    assert words.size_cell(result) == "n/a" and "not a number" in words.size_text(result)


def test_coverage_that_could_produce_the_estimate_blocks_evidence(model):
    assert classify(make(model, p=0.001, could=True)) == Verdict("cannot_tell", ("coverage",))
    assert classify(make(model, p=0.001, could=False)).code == "evidence"


def test_coverage_that_cannot_be_assessed_needs_a_clean_registered_control(model):
    """could_produce None (e.g. seasonal reporting within years) blocks "Evidence" unless each
    control the entry names is clean on the same outcome."""
    unnamed = make(model, p=0.001, could=None)
    assert classify(unnamed) == Verdict("cannot_tell", ("coverage_unaddressed",))
    named = make(model, p=0.001, could=None, controls=("NC_x", "PC_y"))
    clean, failed = Verdict("control_clean"), Verdict("control_failed")
    controls = {"NC_x": clean, "PC_y": clean}
    verdict = verdicts.classify(named, level=LEVEL, adequate_mde=ADEQUATE, controls=controls)
    assert verdict.code == "evidence"
    assert verdict.controls == (("NC_x", "control_clean"), ("PC_y", "control_clean"))
    controls["NC_x"] = failed
    verdict = verdicts.classify(named, level=LEVEL, adequate_mde=ADEQUATE, controls=controls)
    assert verdict.code == "cannot_tell" and verdict.reasons == ("control_not_clean",)
    not_run = verdicts.classify(named, level=LEVEL, adequate_mde=ADEQUATE, controls={})
    assert not_run.reasons == ("coverage_unaddressed",)
    said = words.sentence(named.with_verdict(verdict))
    assert "NC_x: control failed" in said and "PC_y: control clean" in said


def test_classify_all_reads_the_controls_verdicts_first(model):
    claim = replace(make(model, p=0.001, could=None, controls=("NC_x",)), hypothesis_id="H9")
    control = replace(make(model, p=0.6, control=True, expected=None), hypothesis_id="NC_x")
    done = verdicts.classify_all([claim, control], level=LEVEL, adequate_mde=ADEQUATE)
    assert [r.verdict.code for r in done] == ["evidence", "control_clean"]
    failing = replace(control, test=replace(control.test, p_value=0.01))
    done = verdicts.classify_all([claim, failing], level=LEVEL, adequate_mde=ADEQUATE)
    assert [r.verdict.code for r in done] == ["cannot_tell", "control_failed"]


def test_not_detected_only_when_the_interval_excludes_an_adequate_mde(model):
    assert classify(make(model, p=0.4, mde=1.6)).code == "not_detected"
    assert classify(make(model, p=0.4, mde=1 / 1.6)).code == "not_detected"  # negative direction
    assert classify(make(model, p=0.4, mde=3.5)) == Verdict("cannot_tell", ("low_power",))
    assert classify(make(model, p=0.4, reachable=False)) == Verdict("cannot_tell", ("unreachable",))
    holds = make(model, p=0.4, mde=1.6, interval=(-0.2, 0.6))  # log 1.6 = 0.47 inside
    assert classify(holds) == Verdict("cannot_tell", ("interval_holds_mde",))
    open_side = make(model, p=0.4, mde=1.6, interval=(-0.2, math.inf))
    assert classify(open_side) == Verdict("cannot_tell", ("unbounded",))
    result = open_side.with_verdict(classify(open_side))
    assert not result.mde_stated and result.to_row()["mde"] is None
    assert words.mde_text(result) == "not bounded by this test"
    assert "95% CI from 0.82, no upper bound from this test" in words.sentence(result)
    assert words.interval_text(result, short=True) == "0.82–not bounded"
    assert "∞" not in words.sentence(result) and "inf" not in words.sentence(result)


def test_negative_controls_fail_or_come_out_clean(model):
    def control(**kwargs):
        return make(model, control=True, expected=None, **kwargs)

    assert classify(control(p=0.03)).code == "control_failed"
    assert classify(control(p=0.6)).code == "control_clean"
    assert classify(control(p=0.6, mde=5.0)).code == "cannot_tell"
    # clean only if effects of its MDE are excluded in both directions
    low_side = control(p=0.6, interval=(-0.6, 0.3))
    assert classify(low_side) == Verdict("cannot_tell", ("interval_holds_mde",))


def test_positive_controls_must_find_their_effect(model):
    def control(**kwargs):
        return make(model, control=True, expected="+", **kwargs)

    assert classify(control(p=0.01)).code == "control_clean"
    assert classify(control(p=0.01, estimate_sign=-1)).code == "control_failed"
    assert classify(control(p=0.01, holm=0.2)).reasons == ("multiplicity",)
    assert classify(control(p=0.4)).code == "control_failed"  # an adequate MDE excluded
    assert classify(control(p=0.4, interval=(-0.2, 0.6))).code == "cannot_tell"
    assert classify(control(p=0.4, mde=5.0)).code == "cannot_tell"


def test_borderline_monte_carlo_decisions_are_flagged(model):
    verdict = classify(make(model, p=0.049, mc=0.002))
    assert verdict.code == "evidence" and "mc_borderline" in verdict.reasons


def test_words_follow_the_verdict_and_never_contradict_the_numbers(model):
    for kwargs, first in [
        ({"p": 0.01}, "Evidence"),
        (
            {"p": 0.01, "estimate_sign": -1},
            "Opposite direction (the claim expected more incidents)",
        ),
        ({"p": 0.4}, "Not detected"),
        ({"p": 0.4, "mde": 5.0}, "Cannot tell (the test could not detect a large effect)"),
        ({"p": 0.001, "size": 0.3}, "Oversized test"),
        ({"p": 0.6, "control": True, "expected": None}, "Control clean"),
    ]:
        result = make(model, **kwargs)
        result = result.with_verdict(classify(result))
        said = words.sentence(result)
        assert said.startswith(first), said
        assert f"p = {kwargs['p']:.3f}"[:9] in said
        if result.verdict.code == "not_detected":
            assert "detects IRR ≥ 1.60 per SD" in said and "interval excludes" in said
        assert said.endswith(".") and not said.endswith("..") and said.count(". ") == 0
        assert "model: Poisson" in said
        assert sum(said.count(c) for c in words.caveats(result)) == 0  # said once


def test_evidence_words_name_what_the_data_show_and_carry_no_clause_twice(model):
    result = make(model, p=0.001)
    result = result.with_verdict(classify(result))
    said = words.sentence(result)
    assert "Evidence: y are more frequent when 'x' is higher:" in said
    assert "Benjamini-Hochberg q" in said and said.count("rejects 5.0%") == 1
    notes = words.caveats(result)
    assert not any(n.endswith(".") for n in notes)
    assert not any("simulated samples under the null" in n for n in notes)


def test_a_result_without_verdict_and_unknown_codes_are_errors(model):
    with pytest.raises(ValueError, match="no verdict yet"):
        words.sentence(make(model))
    with pytest.raises(ConfigError, match="not one of"):
        Verdict("probably")
    with pytest.raises(ConfigError, match="reasons"):
        Verdict("cannot_tell", ("vibes",))
