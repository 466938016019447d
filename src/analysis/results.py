"""Frozen result objects of the estimation layer, with tidy frames and renderers.

Nothing here estimates anything: ``models`` and ``inference`` build these objects, reports and
notebooks read them. Every table a result exposes is returned as a copy, so a caller cannot
change a stored estimate by editing a frame.

Renderers (Markdown, LaTeX with booktabs, HTML) come from ``formatting``, shared with every
other table the package writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import ConfigError
from .formatting import format_number, format_p, html_table, latex_table, markdown_table

if TYPE_CHECKING:  # models imports this module, so the spec type is only named here
    from .models import CountModelSpec

#: The columns of every tidy coefficient table, in this order.
TIDY_COLUMNS = (
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "ci_low",
    "ci_high",
    "irr",
    "irr_low",
    "irr_high",
)

#: Accepted sidedness of a test, in scipy's vocabulary.
SIDES = ("two-sided", "greater", "less")


def check_sided(sided: str) -> str:
    """Fail early on a misspelt sidedness rather than silently testing two-sided."""
    if sided not in SIDES:
        raise ConfigError(f"sided must be one of {SIDES}; found {sided!r}")
    return sided


def _read_only(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _frozen_array(values: Any) -> np.ndarray:
    array = np.array(values, dtype=float)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class StatTest:
    """One test statistic with its p-value; ``note`` states H0 and sidedness in words."""

    name: str
    statistic: float
    p_value: float
    df: float | None = None
    note: str = ""

    def describe(self) -> str:
        """The test without its name: statistic, df, p-value and note."""
        df = f", df={self.df:g}" if self.df is not None else ""
        p = format_p(self.p_value)
        note = f" ({self.note})" if self.note else ""
        return f"{self.statistic:.3f}{df}, p{'' if p.startswith('<') else '='}{p}{note}"

    def __str__(self) -> str:
        return f"{self.name}: {self.describe()}"


@dataclass(frozen=True, eq=False)
class CountModelResult:
    """One fitted count model.

    ``coefficients`` holds the tidy table (see :data:`TIDY_COLUMNS`): count-equation terms
    carry ``irr = exp(estimate)`` with its CI (for ``const`` that is the baseline rate per
    unit of exposure, not a ratio); zero-inflation terms (``inflate_*``, log-odds of a
    structural zero) have no IRR, so those cells are NaN. The NB dispersion is reported in
    ``dispersion``/``dispersion_se``, not as a term.

    ``sample`` describes the rows: ``rows_input``, ``rows_used``, ``rows_dropped`` (total),
    ``dropped_by_reason`` (counts that sum to the total), ``period_start``, ``period_end``
    and ``gaps`` (periods missing inside the range once rows were dropped).
    """

    spec: CountModelSpec
    family: str
    cov_type: str
    cov_label: str
    coefficients: pd.DataFrame
    nobs: int
    events: int
    zeros_share: float
    dispersion: float | None
    dispersion_se: float | None
    loglik: float
    n_params: int
    aic: float
    bic: float
    converged: bool
    warnings: tuple[str, ...]
    overdispersion: StatTest
    excess_zeros: StatTest
    lr_test: StatTest | None
    wald_test: StatTest | None
    vuong: StatTest | None
    sample: Mapping[str, Any]
    fitted: pd.Series

    def __post_init__(self) -> None:
        if tuple(self.coefficients.columns) != TIDY_COLUMNS:
            raise ValueError(f"coefficient table must have columns {TIDY_COLUMNS}")
        object.__setattr__(self, "sample", _read_only(self.sample))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    def tidy(self) -> pd.DataFrame:
        """Coefficient table indexed by term (a copy)."""
        return self.coefficients.copy()

    to_frame = tidy

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.coefficients.index)

    def term(self, name: str) -> pd.Series:
        """One row of the tidy table; a clear error names the terms that exist."""
        if name not in self.coefficients.index:
            raise ConfigError(f"term {name!r} is not in the model; terms are {list(self.terms)}")
        return self.coefficients.loc[name].copy()

    def stats(self) -> list[tuple[str, str]]:
        """Model-level facts as (label, text) pairs, shared by every renderer."""
        items = [
            ("Family", self.family),
            ("Covariance", self.cov_label),
            ("Observations", str(self.nobs)),
            ("Events", str(self.events)),
            ("Share of zero periods", f"{self.zeros_share:.3f}"),
        ]
        if self.dispersion is not None:
            se = "" if self.dispersion_se is None else f" (se {format_number(self.dispersion_se)})"
            items.append(("NB dispersion alpha", f"{format_number(self.dispersion)}{se}"))
        items += [
            ("Log-likelihood", f"{self.loglik:.2f}"),
            ("AIC", f"{self.aic:.2f}"),
            ("BIC", f"{self.bic:.2f}"),
            ("Converged", "yes" if self.converged else "NO"),
        ]
        for test in (
            self.lr_test,
            self.wald_test,
            self.overdispersion,
            self.excess_zeros,
            self.vuong,
        ):
            if test is not None:
                items.append((test.name, test.describe()))
        return items

    def _notes(self) -> list[str]:
        return [f"{label}: {value}" for label, value in self.stats()] + [
            f"Warning: {text}" for text in self.warnings
        ]

    def to_markdown(self, digits: int = 3) -> str:
        header, rows = _cells(self.coefficients, digits)
        return markdown_table(["term", *header], rows, notes=self._notes())

    def to_latex(
        self, digits: int = 3, caption: str | None = None, label: str | None = None
    ) -> str:
        header, rows = _cells(self.coefficients, digits)
        return latex_table(
            ["term", *header], rows, notes=self._notes(), caption=caption, label=label
        )

    def to_html(self, digits: int = 3) -> str:
        header, rows = _cells(self.coefficients, digits)
        return html_table(["term", *header], rows, notes=self._notes(), css_class="count-model")

    @property
    def summary(self) -> str:
        header, rows = _cells(self.coefficients, 3)
        table = pd.DataFrame(rows, columns=["term", *header]).to_string(index=False)
        spec = self.spec
        title = f"{self.family} model of {spec.outcome!r} on {list(spec.predictors)}"
        facts = "\n".join(f"{label}: {value}" for label, value in self.stats())
        warned = "".join(f"\nWARNING: {text}" for text in self.warnings)
        return f"{title}\n{table}\n{facts}{warned}"


@dataclass(frozen=True, eq=False)
class PermutationResult:
    """Block-permutation test of one term: observed statistic, its null draws and p-value."""

    term: str
    statistic: float
    p_value: float
    n_perm: int
    block_length: int
    sided: str
    seed: int
    null_statistics: np.ndarray
    statistic_name: str = "score z"

    def __post_init__(self) -> None:
        object.__setattr__(self, "null_statistics", _frozen_array(self.null_statistics))


@dataclass(frozen=True, eq=False)
class PlaceboResult:
    """Placebo-date test of a step: the actual break ranked among all admissible dates."""

    term: str
    break_period: Any
    statistic: float
    p_value: float
    sided: str
    min_segment: int
    placebo: pd.DataFrame  # one row per admissible date: period, statistic

    def tidy(self) -> pd.DataFrame:
        return self.placebo.copy()


@dataclass(frozen=True, eq=False)
class MDEResult:
    """Simulated minimum detectable effect of one term and the power curve behind it.

    ``mde_irr`` is per one unit of the predictor as it enters the model (so it compares with
    the model's ``irr``); ``mde_irr_per_sd`` is the same effect per standard deviation.
    ``achieved`` is False (and the MDE NaN) when no effect up to the search bound reached
    the target power.
    """

    term: str
    mde_irr: float
    mde_log_irr: float
    mde_irr_per_sd: float
    predictor_sd: float
    target_power: float
    alpha: float
    sided: str
    n_sim: int
    seed: int
    achieved: bool
    null_dispersion: float
    curve: pd.DataFrame  # irr, log_irr, irr_per_sd, power, n_failed (fits that failed)

    def power_curve(self) -> pd.DataFrame:
        return self.curve.copy()


@dataclass(frozen=True, eq=False)
class HypothesisResult:
    """Everything said about one pre-registered hypothesis, kept generic for the registry.

    ``expected_sign`` is ``"+"``, ``"-"`` or None; ``p_adjusted`` maps a correction name
    (e.g. ``"holm"``) to the adjusted p-value of this hypothesis within its family.
    """

    hypothesis_id: str
    model: CountModelResult
    term: str
    sided: str
    p_asymptotic: float
    expected_sign: str | None = None
    permutation: PermutationResult | None = None
    placebo: PlaceboResult | None = None
    mde: MDEResult | None = None
    p_adjusted: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_sided(self.sided)
        if self.expected_sign not in ("+", "-", None):
            raise ConfigError(
                f"expected_sign must be '+', '-' or None; found {self.expected_sign!r}"
            )
        self.model.term(self.term)  # raises if the focal term is not in the model
        object.__setattr__(self, "p_adjusted", _read_only(self.p_adjusted))
        object.__setattr__(self, "notes", tuple(self.notes))

    @property
    def estimate(self) -> pd.Series:
        return self.model.term(self.term)

    @property
    def p_permutation(self) -> float | None:
        return None if self.permutation is None else self.permutation.p_value

    @property
    def sign_agrees(self) -> bool | None:
        """Whether the estimate has the expected sign (None when no sign was expected)."""
        if self.expected_sign is None:
            return None
        value = self.estimate["estimate"]
        return bool(value > 0) if self.expected_sign == "+" else bool(value < 0)

    def with_adjusted(self, method: str, p_value: float) -> HypothesisResult:
        """A copy with one more adjusted p-value (results are frozen)."""
        return replace(self, p_adjusted={**self.p_adjusted, method: float(p_value)})

    def to_row(self) -> dict[str, Any]:
        """One flat row for a results table across hypotheses."""
        est = self.estimate
        row: dict[str, Any] = {
            "hypothesis": self.hypothesis_id,
            "term": self.term,
            "model_family": self.model.family,
            "nobs": self.model.nobs,
            "irr": est["irr"],
            "irr_low": est["irr_low"],
            "irr_high": est["irr_high"],
            "expected_sign": self.expected_sign,
            "sign_agrees": self.sign_agrees,
            "sided": self.sided,
            "p_asymptotic": self.p_asymptotic,
            "p_permutation": self.p_permutation,
            "p_placebo": None if self.placebo is None else self.placebo.p_value,
            "mde_irr": None if self.mde is None else self.mde.mde_irr,
            "converged": self.model.converged,
        }
        row.update({f"p_{name}": p for name, p in self.p_adjusted.items()})
        return row


def _cells(table: pd.DataFrame, digits: int) -> tuple[list[str], list[list[str]]]:
    """Format a tidy table once, so every renderer shows the same digits."""
    header = list(table.columns)
    rows = []
    for term, values in table.iterrows():
        cells = [
            format_p(v, digits) if col == "p_value" else format_number(v, digits)
            for col, v in values.items()
        ]
        rows.append([str(term), *cells])
    return header, rows
