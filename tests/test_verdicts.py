"""Verdicts follow fixed rules from the numbers, and the words never contradict them."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis import verdicts
from analysis.errors import ConfigError
from analysis.models import fit_count_model
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


def make(model, *, p=0.01, holm=None, size=0.05, mde=1.6, estimate_sign=1.0, control=False, could=None,
         reachable=True, mc=0.001, expected="+"):  # fmt: skip
    test = SmallSampleTest(
        "block_permutation", "block permutation (9,999 draws)", 2.5, p, "two-sided", p_mc_se=mc,
        n_draws=9999, min_attainable_p=1e-4 if reachable else 0.125,
    )  # fmt: skip
    coverage = CoverageCheck(
        "catalogue", "none (annual catalogue)", "", pd.DataFrame(), 1.5, (0.0, math.inf) if could else None, could
    )  # fmt: skip
    fitted = model
    if estimate_sign < 0:  # the same model with the estimate's sign flipped
        table = model.tidy()
        table.loc["x", ["estimate", "ci_low", "ci_high"]] *= -1
        fitted = replace(model, coefficients=table)
    return HypothesisResult(
        "H9", "catalogue", "Catalogued incidents", "A claim.", "Why.", "F", "case", control,
        None if control else expected, "two-sided", ("2008", "2024"), fitted, "x",
        EffectScale("IRR", "sd", sd=1.0), test, Interval(0.1, 0.9, "inverted block-permutation test"),
        size=SizeCheck(LEVEL, size, 0.007, 1000, 0, "null"), power=power(mde, reachable),
        coverage=coverage, p_adjusted={"holm_family": p if holm is None else holm, "bh_scope": p},
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
    assert classify(make(model, p=0.001, size=0.09)).code == "evidence"


def test_a_test_of_unknown_size_is_never_evidence(model):
    unsimulated = replace(make(model, p=0.001), size=None)
    assert classify(unsimulated) == Verdict("cannot_tell", ("size_unchecked",))
    few_usable = make(model, p=0.001)
    few_usable = replace(few_usable, size=replace(few_usable.size, n_sims=100, n_failed=20))
    assert classify(few_usable).code == "cannot_tell"
    words = verdicts.sentence(replace(unsimulated, verdict=classify(unsimulated)))
    assert words.startswith("Cannot tell") and "size could not be simulated" in words


def test_coverage_that_could_produce_the_estimate_blocks_evidence(model):
    assert classify(make(model, p=0.001, could=True)) == Verdict("cannot_tell", ("coverage",))
    assert classify(make(model, p=0.001, could=False)).code == "evidence"


def test_not_detected_only_with_adequate_power(model):
    assert classify(make(model, p=0.4, mde=1.6)).code == "not_detected"
    assert classify(make(model, p=0.4, mde=1 / 1.6)).code == "not_detected"  # negative direction
    assert classify(make(model, p=0.4, mde=3.5)) == Verdict("cannot_tell", ("low_power",))
    assert classify(make(model, p=0.4, reachable=False)) == Verdict("cannot_tell", ("unreachable",))


def test_negative_controls_fail_or_come_out_clean(model):
    assert classify(make(model, p=0.03, control=True)).code == "control_failed"
    assert classify(make(model, p=0.6, control=True)).code == "control_clean"
    assert classify(make(model, p=0.6, control=True, mde=5.0)).code == "cannot_tell"


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
        ({"p": 0.6, "control": True}, "Control clean"),
    ]:
        result = make(model, **kwargs)
        result = result.with_verdict(classify(result))
        words = verdicts.sentence(result)
        assert words.startswith(first), words
        assert f"p = {kwargs['p']:.3f}"[:9] in words
        if result.verdict.code == "not_detected":
            assert "detects IRR ≥ 1.60 per SD" in words


def test_a_result_without_verdict_and_unknown_codes_are_errors(model):
    with pytest.raises(ValueError, match="no verdict yet"):
        verdicts.sentence(make(model))
    with pytest.raises(ConfigError, match="not one of"):
        Verdict("probably")
    with pytest.raises(ConfigError, match="reasons"):
        Verdict("cannot_tell", ("vibes",))
