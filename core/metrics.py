"""THE registry of Scorecard's metrics: every outcome and every cost component, in one list each.

Risk models (`core.build.risk`), the scorecard reads, charts, slides, sentences, the Definitions page,
`python -m core report`, the demo generator and the benchmark all read these tuples, so adding an
outcome or a cost component is an entry here plus its SQL columns (README, *How to add a metric*).

Column names follow the marts' conventions (`core/sql/`): an outcome's observed value per case is
`<source_column>` in `int_case_cost` / `mart_case`, its per-case expected value is `expected_column`;
a component's per-case value is `<key>_usd`, and its peer median in `mart_cost_position` is
`peer_<key>_usd`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """An outcome measured per case and risk-adjusted per procedure."""

    key: str  # the name used in marts' `outcome` column and in links
    label: str  # a heading: "Complications"
    short: str  # a chart legend or column header: "SSI"
    source_column: str  # the observed value per case in int_case_cost / mart_case
    expected_column: str  # the model's expected value per case in int_case_expected / mart_case
    extract_column: str | None  # the cases file's column (None: derived, as length of stay from the dates)
    family: str  # GLM family of the risk model: binomial (logistic) or poisson
    one: str  # one event in words ("complication"); for counts, the unit
    many: str  # several events in words ("complications")
    unit: str  # "events" or "days"
    case_label: str  # the column header of a case list: "Complication", "Died"
    definition: str  # what the Definitions page and the README say

    @property
    def binary(self) -> bool:
        """An event per case (yes/no) rather than a count such as days."""
        return self.family == "binomial"


@dataclass(frozen=True)
class Component:
    """A part of the case cost (shown separately, never only the sum)."""

    key: str
    label: str
    definition: str

    @property
    def column(self) -> str:
        """The component's per-case column in the marts."""
        return f"{self.key}_usd"

    @property
    def peer_column(self) -> str:
        """The component's peer median in mart_cost_position."""
        return f"peer_{self.key}_usd"


OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        key="complication",
        label="Complications",
        short="Complications",
        source_column="complication_flag",
        expected_column="expected_complication_rate",
        extract_column="complication",
        family="binomial",
        one="complication",
        many="complications",
        unit="events",
        case_label="Complication",
        definition="A complication recorded for the case (the extract's `complication`).",
    ),
    Outcome(
        key="readmit_30d",
        label="30-day readmissions",
        short="Readmissions",
        source_column="readmit_30d_flag",
        expected_column="expected_readmit_30d_rate",
        extract_column="readmit_30d",
        family="binomial",
        one="readmission within 30 days",
        many="readmissions within 30 days",
        unit="events",
        case_label="Readmitted",
        definition="An unplanned readmission within 30 days of discharge (the extract's `readmit_30d`).",
    ),
    Outcome(
        key="ssi",
        label="Surgical site infections",
        short="SSI",
        source_column="ssi_flag",
        expected_column="expected_ssi_rate",
        extract_column="ssi",
        family="binomial",
        one="surgical site infection",
        many="surgical site infections",
        unit="events",
        case_label="SSI",
        definition="A surgical site infection (the extract's `ssi`).",
    ),
    Outcome(
        key="mortality",
        label="Mortality",
        short="Mortality",
        source_column="mortality_flag",
        expected_column="expected_mortality_rate",
        extract_column="mortality",
        family="binomial",
        one="death",
        many="deaths",
        unit="events",
        case_label="Died",
        definition="Death in hospital or within 30 days (the extract's `mortality`).",
    ),
    Outcome(
        key="los_days",
        label="Length of stay (days)",
        short="Length of stay",
        source_column="los_days",
        expected_column="expected_los_days",
        extract_column=None,
        family="poisson",
        one="day",
        many="days",
        unit="days",
        case_label="LOS (days)",
        definition="Discharge date minus surgery date, in days (0 for same-day cases); observed and expected "
        "are summed days.",
    ),
)

# Case cost is modelled like an outcome (a gamma GLM) for the expected cost of a physician's case mix,
# but it is a cost, not an outcome: it is not in OUTCOMES and has no funnel.
CASE_COST_MODEL = ("case_cost", "case_cost_usd", "gamma", "expected_case_cost_usd")

COMPONENTS: tuple[Component, ...] = (
    Component("supplies", "Supplies", "Sum over the case's non-implant supply lines of quantity × price paid."),
    Component(
        "implants", "Implants", "Sum over the case's supply lines whose item is an implant of quantity × price paid."
    ),
    Component("pharmacy", "Pharmacy", "Sum of the case's drug_usage cost."),
    Component("or_time", "OR time", "or_minutes × or_cost_per_minute (a setting)."),
    Component("bed_days", "Bed days", "Length of stay × bed_day_cost (a setting)."),
)

OUTCOME_KEYS = tuple(o.key for o in OUTCOMES)
COMPONENT_KEYS = tuple(c.key for c in COMPONENTS)
_BY_KEY = {o.key: o for o in OUTCOMES}
_COMPONENT_BY_KEY = {c.key: c for c in COMPONENTS}


def outcome(key: str) -> Outcome:
    """The registry entry of an outcome (KeyError for one that is not in the registry)."""
    return _BY_KEY[key]


def component(key: str) -> Component:
    """The registry entry of a cost component."""
    return _COMPONENT_BY_KEY[key]


def outcome_labels() -> dict[str, str]:
    """{outcome key: heading} in registry order."""
    return {o.key: o.label for o in OUTCOMES}


def component_labels() -> dict[str, str]:
    """{component key: label} in registry order."""
    return {c.key: c.label for c in COMPONENTS}


def explanations(*, min_cases: int, min_peers: int, or_cost_per_minute: float, bed_day_cost: float) -> dict[str, str]:
    """Each figure's definition in plain words, with the data's settings: slide notes and exports read these,
    in the words of the Definitions page."""
    eligible = (
        f"A surgeon is eligible with at least {min_cases} cases of the procedure in the period; "
        f"figures about surgeons are shown only when at least {min_peers} are eligible."
    )
    return {
        "blinding": (
            "Surgeons are blinded as Surgeon A, B, C…. Letters are stable for this procedure and period, "
            "cannot be worked out from anyone's id, and each surgeon sees their own letter on their "
            "scorecard for the same procedure and period. Case volumes are banded."
        ),
        "cost": (
            f"Median case cost: each surgeon's median over all their cases in the period. Case cost = supplies "
            f"(non-implant lines, quantity × price paid) + implants + pharmacy + OR time (minutes × "
            f"${or_cost_per_minute:,.2f}) + bed days (length of stay × ${bed_day_cost:,.0f}). "
            f"Peer median: the median of the eligible surgeons' medians; best quartile: their 25th percentile. "
            + eligible
        ),
        "breakdown": (
            "Each bar is a surgeon's mean cost per case by component (supplies, implants, pharmacy, OR time, "
            "bed days); the bars add up to the mean case cost, which can differ from the median shown "
            "before. The figures at the side are the peer medians of each component. " + eligible
        ),
        "outcomes": (
            "Risk adjustment: per procedure, a model of each outcome on patient factors only (age, sex, ASA "
            "class, comorbidity index, admission type — never the surgeon, never the payer). Expected = the "
            "sum of the model's predictions over a surgeon's cases; O/E = observed ÷ expected. Where an "
            "outcome has too few events to fit a model it is shown unadjusted and nobody is called out. "
            "Rates here are over the eligible surgeons' cases."
        ),
        "funnel": (
            "Funnel plot: each surgeon's O/E against their expected count, with exact Poisson 95% and 99.8% "
            "limits, widened for overdispersion when the data show it (SHMI method: z = √E·ln(O/E), 10% "
            "trimmed at each end, τ² by DerSimonian–Laird). A surgeon is called out only outside the 99.8% "
            "limit; points between the limits are expected by chance. There are no rankings."
        ),
        "preferred": (
            "Preferred-product use: over a surgeon's lines in categories that have a preferred item, 100 × "
            "preferred units ÷ all units (the share by spend is beside it). Surgeons with no such lines "
            "are not drawn. " + eligible
        ),
        "switch": (
            "Switch saving: over non-preferred lines in categories with a preferred item, the sum of max(0, "
            "(price paid − the cheapest preferred item's unit cost) × quantity), for the eligible surgeons' "
            "cases in the period."
        ),
        "drivers": (
            "Spend per case by supply category: the category's spend over your cases ÷ your cases, against "
            "the median over eligible peers (0 for a peer who never used the category). Spend = quantity × "
            "price paid."
        ),
        "trend": (
            f"By calendar quarter over all the data (not only the period): the peer median of a quarter is the "
            f"median of the medians of the surgeons with cases that quarter, shown when at least "
            f"{min_peers} surgeons had cases. Cases removed by accepted flags are not counted."
        ),
    }
