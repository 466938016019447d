"""Verdicts as data: the rules that classify a tested result (the words are the report's).

:func:`classify` reads only numbers and flags of a result (test, adjusted p, interval, size,
power, coverage, and the verdicts of the controls it names) and returns a
:class:`results.Verdict`; ``report.words`` writes the words from the verdict and the same
numbers. Nothing here, or anywhere, reads display text to decide anything. The rules
apply to any result object, whichever test produced it; in order:

1. A test that cannot reach the level on these data is ``cannot_tell`` (it has no size).
   Otherwise its size decides first: nothing but ``cannot_tell`` without a checked size (at
   least :attr:`SizeCheck.minimum` usable simulations); ``oversized`` when the simulated size
   exceeds the threshold (10% at nominal 5%) by more than two Monte Carlo s.e.; ``cannot_tell``
   when it lies within two s.e. of the threshold (``SizeCheck.borderline``).
2. A negative control (no expected sign) that rejects (unadjusted small-sample p <= level) has
   ``control_failed``; one that does not is ``control_clean`` only if its interval excludes
   effects of its MDE in either direction and that MDE is adequate (equivalence, as in Lakens'
   two one-sided tests), else ``cannot_tell``. A positive control (an expected sign) is
   ``control_clean`` when it rejects after Holm within its family with the expected sign;
   ``control_failed`` when it rejects with the other sign, or when it does not reject although
   its interval excludes an adequate MDE on the expected side; else ``cannot_tell``.
3. A claim is supported when the family-wise (Holm) adjusted p <= level: ``evidence`` if the
   estimate has the expected sign (or none was expected), ``opposite`` otherwise; but
   ``cannot_tell`` if the outcome's coverage alone could produce the estimate, or if coverage
   cannot be assessed (``CoverageCheck.could_produce`` None) and no registered control
   (``coverage_controls``) is clean on the same outcome.
4. Otherwise ``not_detected`` only when the data exclude an effect of adequate size: the MDE
   (80% power) is adequate and the interval from the reported test excludes it on the claim's
   side (again equivalence logic); else ``cannot_tell``, saying whether the test cannot reach
   the level, rejects only before the multiplicity correction, has too little power, cannot
   bound that side, or still holds the MDE in its interval.

Borderline Monte Carlo decisions (within two s.e. of the level) are flagged as a reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from ..results import HypothesisResult, Verdict

#: Interval bounds and MDEs closer than this on the log scale count as equal (a tie is not an
#: exclusion): rounding in the last bits never flips a verdict.
TIE = 1e-9


def _adequate_power(result: HypothesisResult, adequate_mde: float) -> bool:
    power = result.power
    if power is None or not power.achieved:
        return False
    return abs(math.log(power.mde)) <= math.log(adequate_mde) + TIE


def _equivalence(result: HypothesisResult, both_sides: bool) -> str | None:
    """None when the interval excludes the MDE-sized effect (on the claim's side, or on both
    sides for a control), else the reason it does not. Coefficient scale throughout."""
    mde_log = result.power.mde_log
    interval = result.interval
    sides = (1.0, -1.0) if both_sides else (math.copysign(1.0, mde_log),)
    for side in sides:
        edge = side * abs(mde_log)
        if result.open_towards(edge):
            return "unbounded"
        excluded = interval.high < edge - TIE if side > 0 else interval.low > edge + TIE
        if not excluded:
            return "interval_holds_mde"
    return None


def classify(
    result: HypothesisResult,
    *,
    level: float,
    adequate_mde: float,
    controls: Mapping[str, Verdict] | None = None,
) -> Verdict:
    """The verdict of one tested claim (module docstring); ``controls`` holds the verdicts of
    the controls it names (``coverage_controls``) on the same outcome, where they were run."""
    reasons: list[str] = []
    if result.test.borderline(level):
        reasons.append("mc_borderline")
    if not result.test.can_reach:
        return Verdict("cannot_tell", ("unreachable", *reasons))
    size = result.size
    if size is None or not size.checked:
        return Verdict("cannot_tell", ("size_unchecked", *reasons))
    if size.oversized:
        return Verdict("oversized", ("oversized", *reasons))
    if size.borderline:
        return Verdict("cannot_tell", ("size_borderline", *reasons))
    p = result.test.p_value
    adjusted = result.p_adjusted.get("holm_family", p)
    if result.control and result.expected_sign is None:
        if p <= level:
            return Verdict("control_failed", tuple(reasons))
        if not _adequate_power(result, adequate_mde):
            return Verdict("cannot_tell", ("low_power", *reasons))
        why = _equivalence(result, both_sides=True)
        if why:
            return Verdict("cannot_tell", (why, *reasons))
        return Verdict("control_clean", tuple(reasons))
    if result.control:  # a positive control: it should find its effect
        if adjusted <= level:
            code = "control_clean" if result.sign_agrees else "control_failed"
            return Verdict(code, tuple(reasons))
        if p <= level:
            return Verdict("cannot_tell", ("multiplicity", *reasons))
        if not _adequate_power(result, adequate_mde):
            return Verdict("cannot_tell", ("low_power", *reasons))
        why = _equivalence(result, both_sides=False)
        if why:
            return Verdict("cannot_tell", (why, *reasons))
        return Verdict("control_failed", tuple(reasons))
    if adjusted <= level:
        if result.coverage is not None and result.coverage.could_produce:
            return Verdict("cannot_tell", ("coverage", *reasons))
        named = tuple(
            (name, (controls or {})[name].code if name in (controls or {}) else "not_run")
            for name in result.coverage_controls
        )
        if result.coverage is not None and result.coverage.could_produce is None:
            if not named or any(code == "not_run" for _, code in named):
                return Verdict("cannot_tell", ("coverage_unaddressed", *reasons), named)
            if any(code != "control_clean" for _, code in named):
                return Verdict("cannot_tell", ("control_not_clean", *reasons), named)
        code = "evidence" if result.sign_agrees in (True, None) else "opposite"
        return Verdict(code, tuple(reasons), named)
    if p <= level:
        return Verdict("cannot_tell", ("multiplicity", *reasons))
    if not _adequate_power(result, adequate_mde):
        return Verdict("cannot_tell", ("low_power", *reasons))
    why = _equivalence(result, both_sides=result.expected_sign is None)
    if why:
        return Verdict("cannot_tell", (why, *reasons))
    return Verdict("not_detected", tuple(reasons))


def classify_all(
    results: Iterable[HypothesisResult], *, level: float, adequate_mde: float
) -> list[HypothesisResult]:
    """Every result with its verdict: the controls first, so that a claim's verdict can read
    the verdicts of the controls it names on the same outcome."""
    results = list(results)
    done: dict[tuple[str, str], Verdict] = {}
    for result in sorted(results, key=lambda r: not r.control):
        controls = {
            name: done[(name, result.outcome)]
            for name in result.coverage_controls
            if (name, result.outcome) in done
        }
        done[result.key] = classify(
            result, level=level, adequate_mde=adequate_mde, controls=controls
        )
    return [result.with_verdict(done[result.key]) for result in results]
