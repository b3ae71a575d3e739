"""The extract contract (README, *The data contract*): which files a hospital hands over, their columns,
types and rules.

This module is data, not logic: `core.validate` turns it into checks and `core.build` into staging
tables. Keeping it declarative means the README, the checks and the error messages all come from
one description, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTRACT_VERSION = "1.0"

TEXT, INT, FLOAT, DATE, BOOL = "text", "int", "float", "date", "bool"

# Accepted spellings of booleans in CSV extracts (case-insensitive); Parquet booleans pass as is.
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


@dataclass(frozen=True)
class Column:
    """One column of an extract file and the rules its values must keep."""

    name: str
    type: str = TEXT
    required: bool = True  # the column must be present in the file
    nullable: bool = False  # an empty value is allowed
    choices: tuple[str, ...] = ()  # allowed values (compared lower-case, trimmed)
    minimum: float | None = None  # smallest allowed value (numbers)
    maximum: float | None = None  # largest allowed value (numbers)


@dataclass(frozen=True)
class Table:
    """One extract file: its key and its columns."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    required: bool = True  # the file must be present
    must_have_rows: bool = True  # an empty file is an error rather than a warning
    description: str = ""
    # An absent optional file is a warning ("the table will be empty") unless the feature that uses
    # it simply stays off without it (drugs, post_acute, targets): then nothing is said.
    warn_when_missing: bool = True

    def column(self, name: str) -> Column:
        """The column called `name`."""
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every contract column, in order."""
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class ForeignKey:
    """A column whose values must exist as a key in another table."""

    table: str
    column: str
    ref_table: str
    ref_column: str
    severity: str = "error"  # "warning" where an unknown value is tolerated (e.g. a drug off the formulary)


def _line() -> Column:
    # Hospital systems rarely export a line number (README "Data contract"): when the column is
    # absent, the build numbers lines in file order within a case and no duplicate-line rule applies.
    return Column("line", INT, required=False, minimum=0)


def _money(name: str, *, required: bool = True, nullable: bool = False) -> Column:
    # Money and quantities are never negative (README, *The data contract*: "negative cost or quantity").
    return Column(name, FLOAT, required=required, nullable=nullable, minimum=0)


POST_ACUTE_SETTINGS = ("snf", "irf", "home_health", "readmission", "outpatient", "other")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "physicians",
            ("physician_id",),
            (
                Column("physician_id"),
                Column("name"),
                Column("specialty"),
                Column("service_line"),
                Column("email", required=False, nullable=True),
            ),
            description="one row per physician",
        ),
        Table(
            "procedures",
            ("procedure_code",),
            (Column("procedure_code"), Column("name"), Column("service_line")),
            description="one row per procedure",
        ),
        Table(
            "cases",
            ("case_id",),
            (
                Column("case_id"),
                Column("physician_id"),
                Column("procedure_code"),
                Column("surgery_date", DATE),
                Column("discharge_date", DATE),
                Column("patient_age", INT, minimum=0, maximum=120),
                Column("patient_sex", choices=("f", "m", "u", "x")),
                Column("asa_class", INT, minimum=1, maximum=5),
                Column("comorbidity_index", FLOAT, minimum=0),
                Column("admission_type", choices=("elective", "urgent", "emergency")),
                Column("payer"),
                Column("or_minutes", FLOAT, minimum=0),
                Column("readmit_30d", BOOL),
                Column("complication", BOOL),
                Column("ssi", BOOL),
                Column("mortality", BOOL),
                Column("facility", required=False, nullable=True),
                Column("race_ethnicity", required=False, nullable=True),
                Column("dual_eligible", BOOL, required=False, nullable=True),
            ),
            description="one row per surgical case",
        ),
        Table(
            "items",
            ("item_id",),
            (
                Column("item_id"),
                Column("description"),
                Column("manufacturer"),
                # An uncategorised item is a warning, not an error (README, *The data contract*).
                Column("category", nullable=True),
                _money("unit_cost"),
                Column("is_implant", BOOL),
                Column("preferred", BOOL),
                Column("criticality", required=False, nullable=True, choices=("high", "medium", "low")),
                Column("approved_sources", INT, required=False, nullable=True, minimum=0),
                Column("on_backorder", BOOL, required=False, nullable=True),
            ),
            description="the item master: one row per supply item",
        ),
        Table(
            "supply_usage",
            ("case_id", "item_id", "line"),
            (
                Column("case_id"),
                Column("item_id"),
                _line(),
                Column("quantity", FLOAT, minimum=0),
                _money("unit_cost", required=False, nullable=True),
                Column("wasted_quantity", FLOAT, required=False, nullable=True, minimum=0),
            ),
            description="one row per supply line charged to a case",
        ),
        Table(
            "drug_usage",
            ("case_id", "line"),
            (
                Column("case_id"),
                _line(),
                Column("drug_name"),
                Column("drug_class"),
                Column("quantity", FLOAT, minimum=0),
                _money("cost"),
            ),
            must_have_rows=False,
            description="one row per drug line charged to a case",
        ),
        Table(
            "drugs",
            ("drug_name",),
            (
                Column("drug_name"),
                Column("drug_class"),
                Column("preferred", BOOL),
                _money("unit_cost", required=False, nullable=True),
            ),
            required=False,
            must_have_rows=False,
            warn_when_missing=False,
            description="the formulary: one row per drug, with the preferred drug of each class",
        ),
        Table(
            "post_acute",
            ("case_id", "line"),
            (
                Column("case_id"),
                _line(),
                Column("setting", choices=POST_ACUTE_SETTINGS),
                Column("service_date", DATE),
                _money("cost"),
            ),
            required=False,
            must_have_rows=False,
            warn_when_missing=False,
            description="spending in the 30 days after discharge, one row per claim line, for episode cost",
        ),
        Table(
            "targets",
            ("procedure_code",),
            (Column("procedure_code"), _money("episode_target_usd")),
            required=False,
            must_have_rows=False,
            warn_when_missing=False,
            description="the episode target price per procedure (e.g. a TEAM or bundle target)",
        ),
        Table(
            "evidence",
            ("evidence_id",),
            (
                Column("evidence_id"),
                Column("category"),
                Column("preferred_item_id"),
                Column("title"),
                Column("summary"),
                Column("evidence_grade", choices=("high", "moderate", "low", "very low")),
                Column("outcomes", nullable=True),
                Column("sources", nullable=True),
                Column("reviewed_on", DATE),
                Column("reviewed_by"),
                Column("next_review", DATE),
            ),
            required=False,
            must_have_rows=False,
            description="one evidence summary per preferred product",
        ),
        Table(
            "users",
            ("email",),
            (
                Column("email"),
                Column("role", choices=("physician", "champion", "supply", "admin")),
                Column("physician_id", nullable=True),
                Column("service_line", nullable=True),
            ),
            description="the roster: who may sign in, and as what",
        ),
        Table(
            "settings",
            ("key",),
            (Column("key"), Column("value")),
            required=False,
            must_have_rows=False,
            description="key/value settings such as or_cost_per_minute",
        ),
    )
}

FOREIGN_KEYS: tuple[ForeignKey, ...] = (
    ForeignKey("cases", "physician_id", "physicians", "physician_id"),
    ForeignKey("cases", "procedure_code", "procedures", "procedure_code"),
    ForeignKey("supply_usage", "case_id", "cases", "case_id"),
    ForeignKey("supply_usage", "item_id", "items", "item_id"),
    ForeignKey("drug_usage", "case_id", "cases", "case_id"),
    # Only checked when a formulary is handed over; a drug missing from it is listed, not refused.
    ForeignKey("drug_usage", "drug_name", "drugs", "drug_name", severity="warning"),
    ForeignKey("post_acute", "case_id", "cases", "case_id"),
    ForeignKey("targets", "procedure_code", "procedures", "procedure_code"),
    ForeignKey("evidence", "preferred_item_id", "items", "item_id"),
    ForeignKey("users", "physician_id", "physicians", "physician_id"),
)

# Settings the metrics need, with the defaults the Definitions page gives; numbers, all of them.
SETTINGS_DEFAULTS: dict[str, float] = {
    "or_cost_per_minute": 38.0,
    "bed_day_cost": 2400.0,
    "min_cases": 10,
    "min_peers": 5,
}

# Optional settings without a default: the features that use them stay off when they are absent.
SETTINGS_OPTIONAL: dict[str, str] = {
    "savings_target_usd": FLOAT,  # the year's savings target, a non-negative amount
    "program_start_date": DATE,  # when the standardization programme began (ISO 8601)
}

# Tables whose `line` column may be left out (numbered in file order within a case instead).
LINE_TABLES = tuple(name for name, t in TABLES.items() if "line" in t.column_names and not t.column("line").required)

FILE_FORMATS = ("csv", "parquet")
