"""The words written from a verdict and the numbers beside it, never the other way round.

:func:`sentence` and :func:`caveats` read a result object whose verdict the study stage has
already classified (``study.verdicts``); nothing here decides anything. The same numbers are
printed to the precision they have (Monte Carlo errors, bounds that are not bounded).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .. import labels
from ..formatting import format_number, format_p
from ..results import HypothesisResult, Verdict

SIGN_WORDS = {"+": "more", "-": "fewer"}


def _per(result: HypothesisResult) -> str:
    return {"sd": "per SD", "switch": "switching on", "unit": "per unit"}[result.effect.per]


def _ratio(result: HypothesisResult, log_effect: float) -> str:
    return format_number(result.effect.display(log_effect), 2)


def interval_text(result: HypothesisResult, *, short: bool = False) -> str:
    """The interval's bounds on the display scale; a side the inverted test cannot bound says
    so (with the smallest p it gave there) instead of printing 0 or infinity, e.g. '0.50–not
    bounded' in a table, 'from 0.50, no upper bound from this test (p ≥ 0.087 there)' in words."""
    interval = result.interval
    sides = []
    for value, floor, side in (
        (interval.low, interval.low_floor, "lower"),
        (interval.high, interval.high_floor, "upper"),
    ):
        if math.isfinite(value) or math.isnan(value):
            sides.append((True, _ratio(result, value)))
        else:
            there = f" (p ≥ {format_p(floor)} there)" if math.isfinite(floor) else ""
            sides.append((False, f"no {side} bound from this test{there}"))
    (low_ok, low), (high_ok, high) = sides
    if low_ok and high_ok:
        return f"{low}–{high}"
    if short:
        return f"{low if low_ok else 'not bounded'}–{high if high_ok else 'not bounded'}"
    if low_ok:
        return f"from {low}, {high}"
    if high_ok:
        return f"{low}, up to {high}"
    return f"{low}, {high}"


def effect_text(result: HypothesisResult) -> str:
    """The estimate with its small-sample interval, e.g. 'IRR 1.71 switching on (95% CI
    0.82–3.55, inverted block-permutation test)'."""
    return (
        f"{result.effect.label()} {_ratio(result, result.log_effect)} "
        f"(95% CI {interval_text(result)}, {result.interval.method})"
    )


def finding_text(result: HypothesisResult) -> str:
    """What the data show, in words: what is counted and the direction of the estimate, e.g.
    "catalogued incidents concentrate in the months of 'Irrigation season (Apr–Sep)'"."""
    measure = result.model.spec.outcome
    what = result.outcome_label if measure == "incidents" else labels.outcome(measure)
    what = _lower(what)
    term = labels.term(result.term)
    if result.effect.per == "switch":
        periods = "months" if "-" in result.window[0] else "years"
        verb = "concentrate in" if result.log_effect > 0 else "are rarer in"
        return f"{what} {verb} the {periods} of '{term}'"
    more = "more" if result.log_effect > 0 else "less"
    return f"{what} are {more} frequent when '{term}' is higher"


def _lower(label: str) -> str:
    """A label inside a sentence: its first letter in lower case, unless it starts an acronym."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def model_text(result: HypothesisResult) -> str:
    """The fitted family and the controls beside the focal term."""
    model = result.model
    spec = model.spec
    registered, text = spec.distribution, model.family_label
    if model.family != registered.name:  # the data moved it to the boundary's family
        text += f" (the registered {registered.label}'s dispersion is at its boundary, 0)"
    elif model.dispersion is not None:
        text += f" (alpha {format_number(model.dispersion, 2)})"
    controls = [_lower(labels.term(c)) for c in spec.controls]
    if spec.period_effects:
        controls.append(
            {"year": "year effects", "year_season": "year-and-season effects"}[spec.period_effects]
        )
    if spec.trend:
        controls.append("a linear trend")
    if spec.season:
        controls.append(
            {"irrigation": "an irrigation-season dummy", "month": "month dummies"}[spec.season]
        )
    if spec.exposure:
        controls.append(f"exposure {_lower(labels.term(spec.exposure))}")
    return text + (f" with {', '.join(controls)}" if controls else ", focal term alone")


def p_with_error(result: HypothesisResult) -> str:
    """The reported p-value with its Monte Carlo standard error when it was resampled."""
    test = result.test
    mc = f" ± {format_number(test.p_mc_se, 3)}" if test.p_mc_se is not None else ""
    return f"{format_p(test.p_value)}{mc}"


def p_text(result: HypothesisResult) -> str:
    test = result.test
    holm = result.p_adjusted.get("holm_family")
    adjusted = (
        f"; Holm-adjusted within {result.multiplicity} {format_p(holm)}" if holm is not None else ""
    )
    bh = result.p_adjusted.get("bh_scope")
    if bh is not None and not result.control:
        adjusted += f"; Benjamini-Hochberg q across the {result.scope} tests {format_p(bh)}"
    return f"{test.label}: p = {p_with_error(result)}{adjusted}"


def mde_text(result: HypothesisResult) -> str:
    """The MDE as a table cell: a number only where the simulated power reached the target on
    a side the interval's own test can bound."""
    power = result.power
    if power is None:
        return ""
    if not power.reachable:
        return f"unreachable (min p {format_number(result.test.min_attainable_p, 3)})"
    if not power.achieved:
        return "not reached"
    if not result.mde_stated:
        return "not bounded by this test"
    return format_number(power.mde, 2)


def size_cell(result: HypothesisResult) -> str:
    """The size as a table cell: 'n/a' for a test that cannot reach the level."""
    size = result.size
    if size is None:
        return "not simulated"
    if not size.reachable:
        return "n/a"
    return f"{size.size:.3f} ± {size.mc_se:.3f}"


def power_text(result: HypothesisResult) -> str:
    power = result.power
    if power is None:
        return "power not simulated"
    if not power.reachable:
        return f"this test cannot reach p < {power.alpha:g}: {power.reason}"
    target = f"{power.target:.0%}"
    events = ""
    if power.event_limited:
        events = (
            f" among samples with event counts like the data (effects beyond "
            f"{result.effect.ratio} {format_number(power.search_limit, 2)} give on average "
            f"more than {power.event_factor:g} times the {format_number(power.observed_events, 0)} "
            "events observed, so they are not counted)"
        )
    if not power.achieved:
        return (
            f"no effect up to {result.effect.ratio} {format_number(power.search_limit, 2)} "
            f"{_per(result)} reaches {target} power{events}"
        )
    if not result.mde_stated:
        return (
            f"the inverted test rejects no effect on the claim's side on these data, so no "
            f"detectable effect is stated (the simulated power reaches {target} at "
            f"{result.effect.ratio} {format_number(power.mde, 2)} {_per(result)} on samples "
            "from the fitted model)"
        )
    return (
        f"with {target} power it detects {result.effect.ratio} "
        f"{'≥' if power.mde > 1 else '≤'} {format_number(power.mde, 2)} {_per(result)}{events}"
    )


def exaggeration_text(result: HypothesisResult) -> str:
    """Gelman & Carlin's design analysis at the adequate effect, or '' when not simulated."""
    power = result.power
    design = None if power is None else power.exaggeration
    if design is None or not design.like_data:
        return ""
    ratio = result.effect.ratio
    text = (
        f"at a true {ratio} of {format_number(design.effect, 2)} {_per(result)} its power is "
        f"{design.power:.0%} (± {design.mc_se:.0%})"
    )
    if design.n_significant:
        text += (
            f", and significant estimates then have median {format_number(design.median_significant, 2)}: "
            f"on average {format_number(design.type_m, 2)} times the true log effect (type M), "
            f"{design.type_s:.0%} with the wrong sign (type S; Gelman & Carlin 2014)"
        )
    return text


def loyo_text(result: HypothesisResult) -> str:
    """The leave-one-year-out range of the estimate and p, or '' when not computed."""
    table = result.loyo
    if table is None or table.empty:
        return ""
    worst = table.loc[table["p"].idxmax()]
    return (
        f"leaving out one year at a time ({len(table)} years), the {result.effect.ratio} ranges "
        f"{format_number(table['effect'].min(), 2)}–{format_number(table['effect'].max(), 2)} "
        f"and p up to {format_p(float(worst['p']))} (without {int(worst['year'])})"
    )


def size_text(result: HypothesisResult) -> str:
    size = result.size
    if size is None:
        return "size not simulated"
    if not size.reachable:
        return "its size is not a number: the test cannot reach the level on these data"
    if not size.checked:
        return (
            f"its size is unchecked ({size.usable} usable simulations, fewer than {size.minimum})"
        )
    wald = ""
    if size.wald_size is not None and math.isfinite(size.wald_size):
        wald = f"; the HAC Wald test beside it rejects {size.wald_size:.1%}"
    state = ""
    if size.borderline:
        state = (
            f", within two Monte Carlo s.e. ({size.threshold_se:.1%}) of the "
            f"{size.threshold:.0%} threshold"
        )
    return (
        f"it rejects {size.size:.1%} (± {size.mc_se:.1%}) of {size.n_sims:,} simulated samples "
        f"under the null at nominal {size.nominal:.0%}{state}{wald}"
    )


def _controls_text(verdict: Verdict) -> str:
    if not verdict.controls:
        return ""
    parts = [
        f"{name}: {labels.verdict(code).label.lower() if code != 'not_run' else 'not run'}"
        for name, code in verdict.controls
    ]
    return "its registered control for what coverage cannot assess: " + ", ".join(parts)


def _join(head: str, clauses: Iterable[str]) -> str:
    """One sentence: the head, then the non-empty clauses separated by semicolons."""
    body = "; ".join(c for c in clauses if c)
    return f"{head}: {body}."


def sentence(result: HypothesisResult) -> str:
    """The verdict in one sentence, written from the verdict and the numbers beside it."""
    verdict = result.verdict
    if verdict is None:
        raise ValueError(f"{result.hypothesis_id}: no verdict yet (run the registry's corrections)")
    code = verdict.code
    effect, p, model = effect_text(result), p_text(result), f"model: {model_text(result)}"
    if code == "oversized":
        return _join(
            f"{verdict.label}: not evidence either way, because {size_text(result)}",
            [f"estimate {effect}", p, model],
        )
    positive = result.control and result.expected_sign is not None
    if code == "control_failed" and positive:
        return _join(
            verdict.label,
            [
                (
                    f"the positive control misses the effect it should show ({effect}; {p}), "
                    f"although {power_text(result)}"
                ),
                model,
            ],
        )
    if code == "control_clean" and positive:
        return _join(
            f"{verdict.label}: the positive control shows the effect it should: "
            f"{finding_text(result)}",
            [effect, p, size_text(result), power_text(result), model],
        )
    if code == "control_failed":
        return _join(
            verdict.label,
            [
                (
                    f"the test finds an effect where none is expected ({effect}; {p}), so this "
                    "outcome or specification picks up something other than the claims, such "
                    "as reporting density; read the tests that share it with that in mind"
                ),
                model,
            ],
        )
    if code == "control_clean":
        return _join(
            verdict.label,
            [
                f"no effect where none is expected ({effect}; {p})",
                f"{power_text(result)}, and the interval excludes effects that large either way",
                model,
            ],
        )
    significant = result.test.p_value <= (result.size.nominal if result.size else 0.05)
    extras = [
        exaggeration_text(result) if significant else "",
        loyo_text(result),
        _controls_text(verdict),
        model,
    ]
    if code in ("evidence", "opposite"):
        direction = ""
        if code == "opposite" and result.expected_sign:
            direction = f" (the claim expected {SIGN_WORDS[result.expected_sign]} incidents)"
        return _join(
            f"{verdict.label}{direction}: {finding_text(result)}",
            [effect, p, size_text(result), power_text(result), *extras],
        )
    if code == "not_detected":
        return _join(
            verdict.label,
            [
                effect,
                p,
                (
                    f"{power_text(result)}, and the interval excludes that effect, so effects "
                    "at least that large are excluded by the data (equivalence, as in two "
                    "one-sided tests)"
                ),
                model,
            ],
        )
    why = "; ".join(labels.reasons()[r] for r in verdict.reasons if r != "mc_borderline")
    head = f"{verdict.label} ({why})"
    if significant:
        head += f": {finding_text(result)}"
    clauses = [effect, p, power_text(result), *extras]
    if "size_borderline" in verdict.reasons:
        clauses.insert(2, size_text(result))
    return _join(head, clauses)


def caveats(result: HypothesisResult) -> list[str]:
    """Short caveats a reader should see beside the verdict (coverage, Monte Carlo, size), as
    clauses without a final full stop; the size only where the sentence does not give it."""
    notes = []
    if result.verdict is not None and "mc_borderline" in result.verdict.reasons:
        notes.append(labels.reasons()["mc_borderline"])
    if result.coverage is not None and result.coverage.note:
        notes.append(result.coverage.note)
    if result.coverage is not None and result.coverage.bounds:
        low, high = result.coverage.bounds
        notes.append(
            f"across the detection paths the stated counts allow, the estimate ranges "
            f"{format_number(low, 2)}–{format_number(high, 2)}"
        )
    positive = result.control and result.expected_sign is not None
    in_sentence = result.verdict is not None and (
        result.verdict.code in ("evidence", "opposite", "oversized")
        or (positive and result.verdict.code == "control_clean")
        or "size_borderline" in result.verdict.reasons
    )
    if result.size is not None and not in_sentence:
        notes.append(size_text(result))
    return [note.rstrip(". ") for note in notes]
