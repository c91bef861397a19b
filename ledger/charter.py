"""The charter: the cooperative's rulebook as validated data, read from TOML, adopted in the log."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from ledger import limits
from ledger.errors import InputError
from ledger.money import Rounding
from ledger.types import FROZEN, DecimalStr, Ident, NonNegCents, check_text

Role = Literal["governor", "coop-admin", "werk-admin", "levy-admin"]
ROLES: tuple[Role, ...] = ("governor", "coop-admin", "werk-admin", "levy-admin")

# A charter's rates and ratios are fractions written with at most this many decimals.
CHARTER_DECIMALS = 12


def _within(low: Decimal, high: Decimal, *, low_open: bool) -> AfterValidator:
    """A fraction in [low, high] (or (low, high]), with at most CHARTER_DECIMALS decimals."""
    bracket = "(" if low_open else "["

    def check(value: str) -> str:
        whole, _, frac = value.partition(".")
        shown = value if len(value) <= 20 else value[:20] + "..."
        if len(whole) > 1 or len(frac) > CHARTER_DECIMALS:
            raise ValueError(
                f"{shown!r} must be a fraction with at most {CHARTER_DECIMALS} decimals"
            )
        number = Decimal(value)
        if number > high or number < low or (low_open and number == low):
            raise ValueError(f"{shown!r} is outside {bracket}{low}, {high}]")
        return value

    return AfterValidator(check)


# (0, 1]: a ratio that must leave something (a rent cap of 0 lets no lease be granted).
Ratio = Annotated[DecimalStr, _within(Decimal(0), Decimal(1), low_open=True)]
# [0, 1]: rates, caps and targets, where 0 means none.
Fraction = Annotated[DecimalStr, _within(Decimal(0), Decimal(1), low_open=False)]
District = Annotated[str, Field(min_length=1, max_length=100)]


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"district {value!r} is listed twice")
        seen.add(value)
    return values


Districts = Annotated[tuple[District, ...], AfterValidator(_unique)]


class CooperativeTerms(BaseModel):
    model_config = FROZEN
    name: str = Field(min_length=1, max_length=200)
    currency: Literal["EUR"] = "EUR"
    rounding: Rounding = "half-up"
    districts: Annotated[Districts, Field(min_length=1)]


class ShareTerms(BaseModel):
    model_config = FROZEN
    max_dwelling_shares_per_member: int = Field(default=1, ge=1, le=1000)
    default_rule: Literal["nominal", "fixed-rate", "indexed", "shared-appreciation"] = "indexed"
    default_rate: Fraction = "0.02"
    default_compounding: Literal["simple", "compound"] = "compound"
    default_index: Ident = "CPI"


class LevyTerms(BaseModel):
    model_config = FROZEN
    rate: Fraction = "0.30"
    term_years: int = Field(default=40, ge=1, le=200)
    baseline_policy: Literal["reset-on-sale", "keep"] = "reset-on-sale"
    default_index: Ident = "CPI"


class ContributionTerms(BaseModel):
    model_config = FROZEN
    home_monthly_cents: NonNegCents = 1000
    # Per workspace in use (edition 1); per registered workplace of a business (edition 2).
    workspace_monthly_cents: NonNegCents = 1000
    # Edition 2 (version-2 charters only): who the contributions are for, and what a home or
    # business that starts or stops within a month pays for it.
    beneficiary: Ident = "area-management"
    part_month: Literal["whole-month", "pro-rata"] = "whole-month"


class LeaseTerms(BaseModel):
    model_config = FROZEN
    max_rent_ratio: Ratio = "0.60"
    max_indexation_per_year: Fraction = "0.03"
    max_term_years: int = Field(default=5, ge=1, le=99)
    max_founded_years: int = Field(default=5, ge=0, le=200)
    area_districts: Districts = ()
    affordable_target: Fraction = "0.20"
    exception_role: Literal["governor", "werk-admin"] = "governor"
    # Edition 2 (version-2 charters only): the CPI series of the ROZ indexation formula.
    index_series: Ident = "CPI"


# Parameters that exist only in version-2 charters (decision 0016), per table.
EDITION_2_PARAMETERS: dict[str, tuple[str, ...]] = {
    "contribution": ("beneficiary", "part_month"),
    "lease": ("index_series",),
}


class PlausibilityTerms(BaseModel):
    """Bounds on what one administrator key may publish or register (edition 2)."""

    model_config = FROZEN
    # An index value moving more than this against a published neighbour month needs a governor.
    index_monthly_change: Fraction = "0.20"
    # The highest yearly rate a rate carried by an entry may have (fixed-rate price rules).
    max_rate: Fraction = "0.10"


# Whole tables that exist only in version-2 charters: a version-1 charter may not carry
# them, and its dump leaves them out (as EDITION_2_PARAMETERS does for single parameters).
EDITION_2_TABLES: tuple[str, ...] = ("plausibility",)


class Charter(BaseModel):
    """Every parameter a rule reads; nothing Pampus has not decided is a constant in code."""

    model_config = FROZEN
    # The charter version is also the edition of the rules it adopts: entries decided under a
    # version-1 charter keep the rules they were made with; the rules of issue 12 (and their
    # parameters) apply from the entry that adopts a version-2 charter onward
    # (docs/decisions/0016-rules-by-charter-version.md). Test with `charter.rules_from(2)`.
    version: Literal[1, 2] = 2
    cooperative: CooperativeTerms
    shares: ShareTerms = ShareTerms()
    levy: LevyTerms = LevyTerms()
    contribution: ContributionTerms = ContributionTerms()
    lease: LeaseTerms = LeaseTerms()
    plausibility: PlausibilityTerms = PlausibilityTerms()

    @model_validator(mode="before")
    @classmethod
    def _edition_2_tables_need_version_2(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("version", 2) == 1:
            for table in EDITION_2_TABLES:
                if table in data:
                    raise ValueError(
                        f"[{table}] is a version-2 parameter: a version-1 charter cannot carry it"
                    )
        return data

    @model_validator(mode="after")
    def _lease_area_is_known(self) -> Charter:
        unknown = set(self.lease.area_districts) - set(self.cooperative.districts)
        if unknown:
            raise ValueError(f"lease.area_districts names unknown districts: {sorted(unknown)}")
        if self.rules_from(2) and Decimal(self.shares.default_rate) > Decimal(
            self.plausibility.max_rate
        ):
            raise ValueError(
                f"shares.default_rate {self.shares.default_rate} is above "
                f"plausibility.max_rate {self.plausibility.max_rate}"
            )
        return self

    @model_validator(mode="after")
    def _edition_2_parameters_need_version_2(self) -> Charter:
        if self.version < 2:
            for table, names in EDITION_2_PARAMETERS.items():
                carried = sorted(set(names) & getattr(self, table).model_fields_set)
                if carried:
                    raise ValueError(
                        f"{table}.{carried[0]} is a version-2 parameter; found it in a "
                        f"version-{self.version} charter"
                    )
        return self

    @model_serializer(mode="wrap")
    def _dump_edition(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # A version-1 charter is dumped without the version-2 parameters, so the charters
        # already signed in version-1 ledgers keep their one normal form.
        data: dict[str, object] = handler(self)
        if self.version < 2:
            for table, names in EDITION_2_PARAMETERS.items():
                section = data.get(table)
                if isinstance(section, dict):
                    data[table] = {k: v for k, v in section.items() if k not in names}
            for table in EDITION_2_TABLES:
                data.pop(table, None)
        return data

    def rules_from(self, version: int) -> bool:
        """Whether the rules introduced with charter `version` apply under this charter."""
        return self.version >= version

    @property
    def lease_area(self) -> frozenset[str]:
        """The districts a tenant must be located in: the charter's list, else every district."""
        return frozenset(self.lease.area_districts or self.cooperative.districts)


def parse_charter(text: str, source: str = "charter") -> Charter:
    """Parse and validate charter TOML; every problem becomes one InputError line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{source}: not valid TOML: {e}") from e
    except RecursionError:
        # tomllib recurses once per level; the size limit keeps this refusal quick.
        raise InputError(
            f"{source}: nested deeper than the TOML parser allows (the limit for TOML nesting)"
        ) from None
    _check_strings(data, source)
    return charter_from_dict(data, source)


def _check_strings(value: object, where: str) -> None:
    """A charter typed by a user holds no control characters (checked at input, not in the
    model, so that charters already in a ledger verify as before)."""
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, where)
            _check_strings(item, f"{where}: {key}")
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, where)


def charter_from_dict(data: object, source: str = "charter") -> Charter:
    try:
        return Charter.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise InputError(f"{source}: {where}: {first['msg']}") from e


def load_charter(path: Path) -> Charter:
    text = limits.read_text(path, "charter", limits.CHARTER_BYTES)
    return parse_charter(text, str(path))


TEMPLATE = """\
# coop-ledger charter: the cooperative's rulebook as data.
# Every value below is a PLACEHOLDER until the cooperative decides (see DOMAIN.md):
# nothing public fixes Pampus's percentages, price rules or index yet.
# Amounts are whole cents; rates and ratios are decimal strings ("0.30" = 30%).
# The charter version chooses the edition of the rules (docs/RULES.md): 2 is the current one.
version = 2

[cooperative]
name = "Gebiedscoöperatie Almere Pampus"
currency = "EUR"
# Round once, at the end of a computation, to the cent: "half-up" or "truncate".
rounding = "half-up"
# Districts the cooperative works in; dwellings, properties and workspaces name one.
districts = ["Pampus-Centrum", "Pampus-Haven", "Pampus-Oost"]

[shares]
# Owner-occupancy: a member holds at most this many dwelling shares.
max_dwelling_shares_per_member = 1
# Defaults offered when a dwelling is registered without naming its price rule.
default_rule = "indexed"          # nominal | fixed-rate | indexed | shared-appreciation
default_rate = "0.02"             # fixed-rate: yearly rate
default_compounding = "compound"  # fixed-rate: simple | compound
default_index = "CPI"             # indexed: the published index series

[levy]
# Surplus-value levy: share of the EXTRA value increase, charged only on a sale.
rate = "0.30"
term_years = 40                   # from delivery; on the anniversary itself no levy
baseline_policy = "reset-on-sale" # reset-on-sale | keep
default_index = "CPI"             # the index that defines the expected value path

[contribution]
# Monthly area contribution per home and per workplace of a business, in cents.
home_monthly_cents = 1000
workspace_monthly_cents = 1000
beneficiary = "area-management"   # who the contributions are for (the area management)
part_month = "whole-month"        # start or stop within a month: whole-month | pro-rata

[lease]
# Werkcorporatie: affordable workspace for local starting businesses.
max_rent_ratio = "0.60"           # rent at most 60% of market rent
max_indexation_per_year = "0.03"  # rent indexation at most 3% a year
max_term_years = 5
max_founded_years = 5             # tenant founded at most 5 years before the lease starts
area_districts = []               # empty: every district above counts as "the area"
affordable_target = "0.20"        # affordable share of workspace floor area
exception_role = "governor"       # who may grant out of waiting-list order: governor | werk-admin
index_series = "CPI"              # yearly indexation by the ROZ formula on this CPI series

[plausibility]
# What one administrator key may do alone (version 2; docs/RULES.md §6, §7.1).
index_monthly_change = "0.20"     # an index value more than 20% from a published neighbour
                                  # month (or after a gap) is published by a governor
max_rate = "0.10"                 # a fixed-rate price rule's yearly rate is at most 10%
"""
