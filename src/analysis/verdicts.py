"""Verdicts as data, and the words written from them.

:func:`classify` reads only numbers and flags of a result (test, adjusted p, interval, size,
power, coverage) and returns a :class:`results.Verdict`; :func:`sentence` and
:func:`caveats` write words from the verdict and the same numbers. Nothing here, or anywhere,
reads display text to decide anything. The rules, in order:

1. A test whose simulated size exceeds its threshold (10% at nominal 5%) is ``oversized``: its
   p-value is not evidence, whatever it is.
2. A negative control that rejects (unadjusted small-sample p <= level) has ``control_failed``;
   one that does not is ``control_clean`` only if the test could have failed (adequate power),
   else ``cannot_tell``.
3. A claim is supported when the family-wise (Holm) adjusted p <= level: ``evidence`` if the
   estimate has the expected sign (or none was expected), ``opposite`` otherwise; but if the
   test's size was not simulated (or too few simulations were usable), or the outcome's
   coverage alone could produce the estimate, ``cannot_tell``.
4. Otherwise: ``cannot_tell`` when the test cannot reach the level on these data, when it
   rejects only before the multiplicity correction, or when its power is inadequate (no
   effect up to the adequate MDE reaches the target power); else ``not_detected``.

Borderline Monte Carlo decisions (within two s.e. of the level) are flagged as a reason.
"""

from __future__ import annotations

import math

from .formatting import format_number, format_p, format_range
from .results import VERDICT_REASONS, HypothesisResult, Verdict

SIGN_WORDS = {"+": "more", "-": "fewer"}


def _adequate_power(result: HypothesisResult, adequate_mde: float) -> bool:
    power = result.power
    if power is None or not power.achieved:
        return False
    return abs(math.log(power.mde)) <= math.log(adequate_mde)


def classify(result: HypothesisResult, *, level: float, adequate_mde: float) -> Verdict:
    """The verdict of one tested claim (module docstring)."""
    reasons: list[str] = []
    if result.test.borderline(level):
        reasons.append("mc_borderline")
    if result.size is None or not result.size.checked:
        reasons.append("size_unchecked")
    elif result.size.oversized:
        return Verdict("oversized", ("oversized", *reasons))
    p = result.test.p_value
    if result.control:
        if p <= level:
            return Verdict("control_failed", tuple(reasons))
        if not result.test.can_reach:
            return Verdict("cannot_tell", ("unreachable", *reasons))
        if not _adequate_power(result, adequate_mde):
            return Verdict("cannot_tell", ("low_power", *reasons))
        return Verdict("control_clean", tuple(reasons))
    adjusted = result.p_adjusted.get("holm_family", p)
    if adjusted <= level:
        if "size_unchecked" in reasons:  # a p-value is evidence only from a test of known size
            return Verdict("cannot_tell", tuple(reasons))
        if result.coverage is not None and result.coverage.could_produce:
            return Verdict("cannot_tell", ("coverage", *reasons))
        code = "evidence" if result.sign_agrees in (True, None) else "opposite"
        return Verdict(code, tuple(reasons))
    if not result.test.can_reach:
        return Verdict("cannot_tell", ("unreachable", *reasons))
    if p <= level:
        return Verdict("cannot_tell", ("multiplicity", *reasons))
    if not _adequate_power(result, adequate_mde):
        return Verdict("cannot_tell", ("low_power", *reasons))
    return Verdict("not_detected", tuple(reasons))


def effect_text(result: HypothesisResult) -> str:
    """The estimate with its small-sample interval, e.g. 'IRR 1.71 switching on (95% CI
    0.82–3.55, inverted block-permutation test)'."""
    row = result.to_row()
    bound = format_range(row["ci_low"], row["ci_high"])
    if result.interval.unbounded:
        bound += " (unbounded)"
    return (
        f"{result.effect.label()} {format_number(row['effect'], 2)} "
        f"(95% CI {bound}, {result.interval.method})"
    )


def p_with_error(result: HypothesisResult) -> str:
    """The reported p-value with its Monte Carlo standard error when it was resampled."""
    test = result.test
    mc = f" ± {format_number(test.p_mc_se, 3)}" if test.p_mc_se is not None else ""
    return f"{format_p(test.p_value)}{mc}"


def p_text(result: HypothesisResult) -> str:
    test = result.test
    holm = result.p_adjusted.get("holm_family")
    adjusted = (
        f"; Holm-adjusted within {result.family} {format_p(holm)}" if holm is not None else ""
    )
    return f"{test.label}: p = {p_with_error(result)}{adjusted}"


def power_text(result: HypothesisResult) -> str:
    power = result.power
    if power is None:
        return "power not simulated"
    if not power.reachable:
        return f"this test cannot reach p < {power.alpha:g}: {power.reason}"
    target = f"{power.target:.0%}"
    if not power.achieved:
        return (
            f"no effect up to {result.effect.ratio} {format_number(power.search_limit, 2)} "
            f"{_per(result)} reaches {target} power"
        )
    return (
        f"with {target} power it detects {result.effect.ratio} "
        f"{'≥' if power.mde > 1 else '≤'} {format_number(power.mde, 2)} {_per(result)}"
    )


def _per(result: HypothesisResult) -> str:
    return {"sd": "per SD", "switch": "switching on", "unit": "per unit"}[result.effect.per]


def size_text(result: HypothesisResult) -> str:
    size = result.size
    if size is None:
        return "size not simulated"
    if not size.checked:
        usable = size.n_sims - size.n_failed
        return f"its size is unchecked ({usable} usable simulations, fewer than {size.minimum})"
    wald = ""
    if size.wald_size is not None and math.isfinite(size.wald_size):
        wald = f"; the HAC Wald test beside it rejects {size.wald_size:.1%}"
    return (
        f"it rejects {size.size:.1%} (± {size.mc_se:.1%}) of {size.n_sims:,} simulated samples "
        f"under the null at nominal {size.nominal:.0%}{wald}"
    )


def sentence(result: HypothesisResult) -> str:
    """The verdict in one sentence, written from the verdict and the numbers beside it."""
    verdict = result.verdict
    if verdict is None:
        raise ValueError(f"{result.hypothesis_id}: no verdict yet (run the registry's corrections)")
    code = verdict.code
    effect, p = effect_text(result), p_text(result)
    if code == "oversized":
        return (
            f"{verdict.label}: not evidence either way, because {size_text(result)}. "
            f"Estimate {effect}; {p}."
        )
    if code == "control_failed":
        return (
            f"{verdict.label}: the test finds an effect where none is expected ({effect}; {p}), "
            "so this outcome or specification picks up something other than the claims, such as "
            "reporting density; read the tests that share it with that in mind."
        )
    if code == "control_clean":
        return f"{verdict.label}: no effect where none is expected ({effect}; {p}); {power_text(result)}."
    if code in ("evidence", "opposite"):
        direction = ""
        if code == "opposite" and result.expected_sign:
            direction = f" (the claim expected {SIGN_WORDS[result.expected_sign]} incidents)"
        return f"{verdict.label}{direction}: {effect}; {p}; {size_text(result)}."
    if code == "not_detected":
        return (
            f"{verdict.label}: {effect}; {p}. Effects at least that large would have been found: "
            f"{power_text(result)}."
        )
    why = "; ".join(VERDICT_REASONS[r] for r in verdict.reasons if r != "mc_borderline")
    return f"{verdict.label} ({why}): {effect}; {p}; {power_text(result)}."


def caveats(result: HypothesisResult) -> list[str]:
    """Short caveats a reader should see beside the verdict (coverage, Monte Carlo, size)."""
    notes = []
    if result.verdict is not None and "mc_borderline" in result.verdict.reasons:
        notes.append(VERDICT_REASONS["mc_borderline"])
    if result.coverage is not None and result.coverage.note:
        notes.append(result.coverage.note)
    if result.coverage is not None and result.coverage.bounds:
        low, high = result.coverage.bounds
        notes.append(
            f"across the detection paths the stated counts allow, the estimate ranges "
            f"{format_number(low, 2)}–{format_number(high, 2)}"
        )
    if result.size is not None and not result.size.oversized:
        notes.append(size_text(result))
    return notes
