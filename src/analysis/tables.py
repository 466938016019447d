"""Tables a report shows or a paper cites, rendered from result objects (never estimated here)."""

from __future__ import annotations

import pandas as pd

from .errors import ConfigError
from .formatting import (
    TABLE_FORMATS,
    format_number,
    format_p,
    html_table,
    latex_table,
    markdown_table,
)
from .hypotheses import HypothesisSpec, RegistryResults, conclusion, effect_scale, small_sample_p
from .models import BINARY_FAMILIES

SUMMARY_COLUMNS = [
    "hypothesis",
    "scope",
    "family",
    "n",
    "IRR / OR",
    "95% CI",
    "scale",
    "p asympt.",
    "p small-sample",
    "p Holm (family)",
    "q BH (all)",
    "MDE (ratio)",
    "conclusion",
]


def hypothesis_summary(
    results: RegistryResults, registry: dict[str, HypothesisSpec]
) -> pd.DataFrame:
    """Every registered test in one frame of display strings; untestable entries say why."""
    rows = []
    for result in results.results:
        spec = registry[result.hypothesis_id]
        irr, low, high, unit = effect_scale(result, spec)
        mde = result.mde
        binary = unit == "switching on"
        mde_text = (
            "not reached"
            if mde is None or not mde.achieved
            else format_number(mde.mde_irr if binary else mde.mde_irr_per_sd, 2)
        )
        rows.append(
            {
                "hypothesis": result.hypothesis_id,
                "scope": spec.scope,
                "family": spec.family,
                "n": str(result.model.nobs),
                "IRR / OR": format_number(irr, 2),
                "95% CI": f"{format_number(low, 2)}–{format_number(high, 2)}",
                "scale": f"{'OR' if spec.model in BINARY_FAMILIES else 'IRR'} {unit}",
                "p asympt.": format_p(result.p_asymptotic),
                "p small-sample": format_p(small_sample_p(result)),
                "p Holm (family)": format_p(result.p_adjusted.get("holm_family")),
                "q BH (all)": format_p(result.p_adjusted.get("bh_all")),
                "MDE (ratio)": mde_text,
                "conclusion": conclusion(result, spec),
            }
        )
    for failure in results.failures:
        rows.append(
            {
                "hypothesis": failure.hypothesis_id,
                "scope": registry[failure.hypothesis_id].scope,
                "family": failure.family,
                "conclusion": f"Not testable on these data: {failure.reason}",
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS).astype(object).fillna("")


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


def forest_rows(results: RegistryResults, registry: dict[str, HypothesisSpec]) -> pd.DataFrame:
    """Focal IRR and interval of every tested hypothesis on its display scale (for a forest plot)."""
    rows = []
    for result in results.results:
        irr, low, high, unit = effect_scale(result, registry[result.hypothesis_id])
        rows.append(
            {
                "hypothesis": result.hypothesis_id,
                "irr": irr,
                "irr_low": low,
                "irr_high": high,
                "scale": unit,
            }
        )
    return pd.DataFrame(rows, columns=["hypothesis", "irr", "irr_low", "irr_high", "scale"])
