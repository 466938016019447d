"""Tables a report shows or a paper cites, rendered from result objects (never estimated here).

Every function reads :mod:`results` objects only: the effect's ratio and scale come from the
fitted result (an odds ratio is never labelled an IRR), the verdict from its structured code,
and the words from :mod:`verdicts`. Nothing here imports the registry or the estimation layer.
"""

from __future__ import annotations

import math

import pandas as pd

from ..errors import ConfigError
from ..formatting import (
    TABLE_FORMATS,
    format_number,
    format_p,
    format_range,
    html_table,
    latex_table,
    markdown_table,
)
from ..results import VERDICTS, HypothesisResult, RegistryResults
from . import words

SUMMARY_COLUMNS = [
    "claim",
    "outcome",
    "window",
    "n",
    "effect",
    "95% CI",
    "scale",
    "test",
    "p",
    "p Holm (family)",
    "q BH (scope)",
    "size at 5%",
    "MDE",
    "verdict",
]

HEADLINE_SCHEMA = 4

#: The study's question in two sentences: the landing page and the summary open with it.
QUESTION = (
    "Do economic stress (falling remittances, weak growth, inflation, food and currency shocks) "
    "and militarisation (military spending, arms imports, drones, militias) predict how often "
    "violent incidents happen on the Kyrgyz–Tajik border? Each registered claim is tested on "
    "every outcome series it names, with small-sample tests whose size, power and sensitivity "
    "to the incident record's coverage are shown beside the verdict."
)


def hypothesis_summary(results: RegistryResults) -> pd.DataFrame:
    """Every test (entry x outcome) in one frame of display strings; untestable ones say why."""
    rows = []
    for result in results.results:
        row = result.to_row()
        rows.append(
            {
                "claim": result.hypothesis_id,
                "outcome": result.outcome_label,
                "window": f"{row['window_start']}–{row['window_end']}",
                "n": str(result.model.nobs),
                "effect": format_number(row["effect"], 2),
                "95% CI": words.interval_text(result, short=True)
                if result.interval.computed
                else result.interval.method,
                "scale": result.effect.label(),
                "test": result.test.method.replace("_", " "),
                "p": words.p_with_error(result),
                "p Holm (family)": format_p(row["p_holm"]),
                "q BH (scope)": "control" if result.control else format_p(row["q_bh"]),
                "size at 5%": words.size_cell(result),
                "MDE": words.mde_text(result),
                "verdict": result.verdict.label if result.verdict else "",
            }
        )
    for failure in results.failures:
        rows.append(
            {
                "claim": failure.hypothesis_id,
                "outcome": failure.outcome,
                "verdict": VERDICTS["not_testable"],
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS).astype(object).fillna("")


def conclusions(results: RegistryResults) -> pd.DataFrame:
    """The long form: each test's verdict sentence and caveats (untestable: the reason)."""
    rows = [
        {
            "claim": r.hypothesis_id,
            "outcome": r.outcome_label,
            "verdict": r.verdict.label,
            "conclusion": words.sentence(r),
            "caveats": " ".join(f"{c[0].upper()}{c[1:]}." for c in words.caveats(r)),
        }
        for r in results.results
    ]
    rows += [
        {
            "claim": f.hypothesis_id,
            "outcome": f.outcome,
            "verdict": VERDICTS["not_testable"],
            "conclusion": f"Not testable on these data: {f.reason}",
            "caveats": "",
        }
        for f in results.failures
    ]
    return pd.DataFrame(rows, columns=["claim", "outcome", "verdict", "conclusion", "caveats"])


def headline_row(result: HypothesisResult) -> dict:
    """One row of the study's headline (``headline.json``, schema :data:`HEADLINE_SCHEMA`)."""
    row = result.to_row()
    size = result.size
    coverage = result.coverage
    return {
        "id": result.hypothesis_id,
        "scope": result.scope,
        "multiplicity": result.multiplicity,
        "control": result.control,
        "control_kind": _control_kind(result),
        "claim": result.statement,
        "focal": result.term,
        "outcome": result.outcome,
        "outcome_label": result.outcome_label,
        "window": f"{row['window_start']}–{row['window_end']}",
        "effect": _finite(row["effect"]),
        "ci_low": _finite(row["ci_low"]),
        "ci_high": _finite(row["ci_high"]),
        "ci_unbounded": result.interval.unbounded,
        "effect_label": result.effect.label(),
        "interval_method": result.interval.method,
        "p": row["p"],
        "p_mc_se": row["p_mc_se"],
        "p_label": result.test.label,
        "p_holm": row["p_holm"],
        "q_bh": None if result.control else row["q_bh"],
        "size": None if size is None else _finite(size.size),
        "size_mc_se": None if size is None else _finite(size.mc_se),
        "oversized": None if size is None else bool(size.oversized),
        "power_text": words.power_text(result),
        "mde": _finite(row["mde"]),
        "coverage_text": "" if coverage is None else coverage.note,
        "coverage_control": None if coverage is None else coverage.control,
        "coverage_could_produce": None if coverage is None else coverage.could_produce,
        "coverage_share_low": None
        if coverage is None or not coverage.bounds
        else _finite(coverage.bounds[0]),
        "coverage_share_high": None
        if coverage is None or not coverage.bounds
        else _finite(coverage.bounds[1]),
        "verdict": result.verdict.code,
        "verdict_label": result.verdict.label,
        "verdict_reasons": list(result.verdict.reasons),
        "verdict_sentence": words.sentence(result),
        "caveats": words.caveats(result),
        "report": f"10_hypothesis-{result.hypothesis_id}",
        "robustness": f"20_robustness-{result.hypothesis_id}",
    }


def headline(
    results: RegistryResults,
    question: str,
    *,
    citation: dict,
    forest: str | None = None,
    generated_from: str = "90_summary",
) -> dict:
    """The study's headline (the contract of ``site``): the question and one row per test,
    untestable ones included with their reason."""
    rows = [headline_row(r) for r in results.results]
    rows += [_failure_row(f) for f in results.failures]
    return {
        "schema": HEADLINE_SCHEMA,
        "question": question,
        "generated_from": generated_from,
        "rows": rows,
        "forest": forest,
        "citation": citation,
        "corrections": results.corrections,
    }


def _control_kind(test) -> str | None:
    """A control with an expected sign should find its effect (positive), one without should
    find nothing (negative); a claim is neither."""
    if not test.control:
        return None
    return "positive" if test.expected_sign else "negative"


def _failure_row(failure) -> dict:
    """A headline row for a test the data could not support: no numbers, the reason in words."""
    empty = dict.fromkeys(
        ("effect", "ci_low", "ci_high", "p", "p_mc_se", "p_holm", "q_bh", "size", "size_mc_se",
         "mde", "coverage_share_low", "coverage_share_high"),
    )  # fmt: skip
    return {
        **empty,
        "id": failure.hypothesis_id,
        "scope": failure.scope,
        "multiplicity": failure.multiplicity,
        "control": failure.control,
        "control_kind": _control_kind(failure),
        "claim": failure.statement,
        "focal": None,
        "outcome": failure.outcome,
        "outcome_label": failure.outcome_label,
        "window": "—",
        "effect_label": "—",
        "interval_method": None,
        "ci_unbounded": False,
        "p_label": None,
        "oversized": None,
        "power_text": None,
        "coverage_text": None,
        "coverage_control": None,
        "coverage_could_produce": None,
        "verdict": "not_testable",
        "verdict_label": VERDICTS["not_testable"],
        "verdict_reasons": [],
        "verdict_sentence": f"Not testable on these data: {failure.reason}",
        "caveats": [],
        "report": f"10_hypothesis-{failure.hypothesis_id}",
        "robustness": f"20_robustness-{failure.hypothesis_id}",
    }


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def render(
    frame: pd.DataFrame, fmt: str, *, caption: str | None = None, label: str | None = None
) -> str:
    """A display frame as text, markdown, latex (booktabs), html or csv."""
    header = list(frame.columns)
    rows = frame.astype(str).to_numpy().tolist()
    if fmt == "markdown":
        return markdown_table(header, rows)
    if fmt == "latex":
        return latex_table(header, rows, caption=caption, label=label)
    if fmt == "html":
        return html_table(header, rows)
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n")
    if fmt == "text":
        with pd.option_context("display.max_colwidth", 400, "display.width", 250):
            return frame.to_string(index=False) + "\n"
    raise ConfigError(f"unknown table format {fmt!r}; expected one of {list(TABLE_FORMATS)}")


def forest_rows(results: RegistryResults) -> pd.DataFrame:
    """Each test's effect and small-sample interval on its display scale (for a forest plot);
    ``scale`` names what the ratio is (IRR or OR, per SD or switching on) for that row."""
    rows = [
        {
            "hypothesis": r.hypothesis_id,
            "outcome": r.outcome_label,
            "label": f"{r.hypothesis_id} · {r.outcome_label}",
            "ratio": r.effect.ratio,
            "irr": r.to_row()["effect"],
            "irr_low": r.to_row()["ci_low"],
            "irr_high": r.to_row()["ci_high"],
            "scale": r.effect.label(),
            "verdict": r.verdict.code if r.verdict else "",
        }
        for r in results.results
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "hypothesis",
            "outcome",
            "label",
            "ratio",
            "irr",
            "irr_low",
            "irr_high",
            "scale",
            "verdict",
        ],
    )


def headline_rows(results: RegistryResults) -> list[dict]:
    """The headline rows of every test in ``results`` (the verdict boxes of a report)."""
    return [headline_row(r) for r in results.results] + [_failure_row(f) for f in results.failures]


def claim_text(results: RegistryResults) -> str:
    """The claim, why it is specified so, and each outcome it is tested on (Markdown)."""
    first = results.results[0] if results.results else None
    lines = []
    if first is not None:
        lines += [
            f"**{first.hypothesis_id}.** {first.statement}",
            "",
            f"*Why this specification:* {first.rationale}",
            "",
        ]
    lines += ["Outcomes tested:", ""]
    lines += [
        f"- **{r.outcome_label}**, {r.window[0]}–{r.window[1]}: {r.coverage.description if r.coverage else ''}"
        for r in results.results
    ]
    lines += [
        f"- **{f.outcome_label or f.outcome}**: not testable ({f.reason})" for f in results.failures
    ]
    return "\n".join(lines)


def citable_numbers(results: RegistryResults) -> list[tuple]:
    """(key, value, digits, description) of every number a text may quote about each test:
    effect, interval, p and its Monte Carlo s.e., Holm p, size, MDE and the verdict label."""
    items = []
    for r in results.results:
        row = r.to_row()
        key = f"{r.hypothesis_id} {r.outcome}"
        what = f"{r.hypothesis_id} on {r.outcome_label}"
        items += [
            (f"{key} effect", row["effect"], 2, f"{what}: {r.effect.label()}"),
            (f"{key} low", row["ci_low"], 2, f"{what}: lower 95% bound ({r.interval.method})"),
            (f"{key} high", row["ci_high"], 2, f"{what}: upper 95% bound"),
            (f"{key} p", row["p"], 3, f"{what}: {r.test.label}"),
            (f"{key} p mc", row["p_mc_se"], 3, f"{what}: Monte Carlo s.e. of p"),
            (f"{key} holm", row["p_holm"], 3, f"{what}: Holm-adjusted p within {r.multiplicity}"),
            (f"{key} size", row["size"], 3, f"{what}: simulated size at nominal 5%"),
            (
                f"{key} mde",
                row["mde"],
                2,
                f"{what}: minimum detectable effect ({r.effect.label()})",
            ),
            (f"{key} verdict", r.verdict.label, 0, f"{what}: verdict"),
        ]
    return items


def coverage_table(results: RegistryResults) -> pd.DataFrame:
    """Each test's coverage control and what coverage could do to its estimate."""
    rows = []
    for r in results.results:
        check = r.coverage
        if check is None:  # global tests: their outcome is not the catalogue
            continue
        rows.append(
            {
                "claim": r.hypothesis_id,
                "outcome": r.outcome_label,
                "coverage control": check.control,
                "tipping ratio": format_number(check.tipping_ratio, 2),
                "detection ratios observed": ""
                if check.plausible_range is None
                else format_range(*check.plausible_range),
                "coverage could produce it": {True: "yes", False: "no", None: "cannot assess"}[
                    check.could_produce
                ],
                "estimate across detection paths": ""
                if not check.bounds
                else format_range(*check.bounds),
                "note": check.note,
            }
        )
    return pd.DataFrame(rows)


def verdict_text(results: RegistryResults) -> str:
    """Every verdict sentence with its caveats, and what the corrections computed."""
    parts = [
        f"{r.hypothesis_id} on {r.outcome_label}: {words.sentence(r)}"
        + "".join(f"\n  - {c}" for c in words.caveats(r))
        for r in results.results
    ]
    parts += [
        f"{f.hypothesis_id} on {f.outcome}: not testable on these data: {f.reason}"
        for f in results.failures
    ]
    return "\n\n".join([*parts, f"Multiplicity: {results.corrections}."])


def model_summaries(results: RegistryResults) -> str:
    """Each fitted model's full summary, one after the other."""
    return "\n\n".join(
        f"{r.hypothesis_id} on {r.outcome_label}\n{r.model.summary}" for r in results.results
    )


def summary_numbers(results: RegistryResults) -> list[tuple]:
    """Counts a paper quotes (tests, claims, each verdict) and every test's own numbers."""
    codes = [r.verdict.code for r in results.results] + ["not_testable"] * len(results.failures)
    items = [
        (
            "tests registered",
            len(codes),
            0,
            "tests: registered claims on each outcome series they name",
        ),
        (
            "claims registered",
            len(
                {r.hypothesis_id for r in results.results}
                | {f.hypothesis_id for f in results.failures}
            ),
            0,
            "registered claims (entries)",
        ),
    ]
    items += [
        (f"tests {code}", codes.count(code), 0, f"tests with verdict '{VERDICTS[code]}'")
        for code in VERDICTS
    ]
    return items + citable_numbers(results)


def robustness_findings(curve: pd.DataFrame) -> list[str]:
    """How the estimate moves across specifications, in a few sentences."""
    estimated = curve.dropna(subset=["effect"])
    registered = curve[curve["dimension"] == "registered"]
    points = [f"{len(estimated)} of {len(curve)} specifications could be estimated."]
    if len(registered) and not registered["effect"].isna().all():
        row = registered.iloc[0]
        points.append(
            f"As registered: {row['scale']} {format_number(row['effect'], 2)} (95% CI {format_range(row['ci_low'], row['ci_high'])}), "
            f"{row['test']} p = {format_p(row['p'])}."
        )
    if len(estimated):
        rejects = (estimated["p"] <= 0.05).mean()
        points.append(
            f"The estimate ranges {format_number(estimated['effect'].min(), 2)}–{format_number(estimated['effect'].max(), 2)}; "
            f"the reported test rejects at 5% in {rejects:.0%} of the estimable specifications (uncorrected)."
        )
    return points


def robustness_table(curve: pd.DataFrame) -> pd.DataFrame:
    """The specification curve as a report shows it: the effect and its bounds are ratios (not
    coefficients), so they are named as such."""
    ratios = {"effect": "ratio", "ci_low": "ratio_low", "ci_high": "ratio_high"}
    return curve.rename(columns=ratios)


def robustness_numbers(curve: pd.DataFrame, hypothesis_id: str) -> list[tuple]:
    estimated = curve.dropna(subset=["effect"])
    share = 100 * (estimated["p"] <= 0.05).mean() if len(estimated) else math.nan
    return [
        (
            f"{hypothesis_id} robust share",
            share,
            0,
            "per cent of estimable specifications whose reported test rejects at 5% (uncorrected)",
        ),
        (f"{hypothesis_id} variants", len(curve), 0, "specifications tried"),
    ]


def contrasts(results: RegistryResults) -> pd.DataFrame:
    """For 0/1 focal terms (steps, regimes, the season): events per period with the term off
    and on, per test, beside the modelled ratio (a description, not the test)."""
    frames = [
        r.contrast.assign(claim=r.hypothesis_id, outcome=r.outcome_label)
        for r in results.results
        if r.contrast is not None
    ]
    columns = ["claim", "outcome", "state", "periods", "events", "per_period"]
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )
