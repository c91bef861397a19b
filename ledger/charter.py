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
from ledger.types import FROZEN, DecimalStr, Ident, NonNegCents, check_text, edition_2_field

Role = Literal["governor", "coop-admin", "werk-admin", "levy-admin"]
ROLES: tuple[Role, ...] = ("governor", "coop-admin", "werk-admin", "levy-admin")

# A charter's rates and ratios are fractions written with at most this many decimals.
CHARTER_DECIMALS = 12


def _within(low: Decimal, high: Decimal, *, low_open: bool) -> AfterValidator:
    """A fraction in [low, high] (or (low, high]), with at most CHARTER_DECIMALS decimals."""
    assert high < 10  # the whole part is one digit (see check)
    bracket = "(" if low_open else "["

    def check(value: str) -> str:
        whole, _, frac = value.partition(".")
        shown = value if len(value) <= 20 else value[:20] + "..."
        outside = ValueError(f"{shown!r} is outside {bracket}{low}, {high}]")
        # A DecimalStr has no sign and no leading zero: two digits before the point are 10 or
        # more, outside the range whatever their length (and never handed to Decimal).
        if len(whole) > 1:
            raise outside
        if len(frac) > CHARTER_DECIMALS:
            raise ValueError(f"{shown!r} has more than {CHARTER_DECIMALS} decimals")
        number = Decimal(value)
        if number > high or number < low or (low_open and number == low):
            raise outside
        return value

    return AfterValidator(check)


# (0, 1]: a ratio that must leave something (a rent cap of 0 lets no lease be granted).
Ratio = Annotated[DecimalStr, _within(Decimal(0), Decimal(1), low_open=True)]
# [0, 1]: rates, caps and targets, where 0 means none.
Fraction = Annotated[DecimalStr, _within(Decimal(0), Decimal(1), low_open=False)]
District = Annotated[str, Field(min_length=1, max_length=100)]

# The levy's default expected-value path from version 2: the regional house-price index
# (placeholder: the CBS/Kadaster price index of existing homes for Almere, DOMAIN.md).
DEFAULT_LEVY_INDEX = "HPI-ALMERE"


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


MemberKind = Literal["person", "household", "business"]


def _no_duplicate_kinds(values: tuple[MemberKind, ...]) -> tuple[MemberKind, ...]:
    if len(set(values)) != len(values):
        raise ValueError(f"holder_kinds lists a kind twice: {list(values)}")
    return values


def _unset(value: object) -> bool:
    return value is None


class ShareTerms(BaseModel):
    model_config = FROZEN
    max_dwelling_shares_per_member: int = Field(default=1, ge=1, le=1000)
    default_rule: Literal["nominal", "fixed-rate", "indexed", "shared-appreciation"] = "indexed"
    default_rate: Fraction = "0.02"
    default_compounding: Literal["simple", "compound"] = "compound"
    default_index: Ident = "CPI"
    shared_appreciation_base: Literal["stays", "resets"] | None = edition_2_field(
        "shared-appreciation: whether the price base (price paid, base appraisal, base date) "
        "stays the dwelling's from sale to sale or resets to each sale (edition 2)"
    )
    # Version-2 parameters (None: not given; left out of the signed charter, so version-1
    # charters keep their bytes). Read them through the properties below.
    holder_kinds: (
        Annotated[tuple[MemberKind, ...], Field(min_length=1), AfterValidator(_no_duplicate_kinds)]
        | None
    ) = Field(default=None, exclude_if=_unset)
    buyback_deadline_months: int | None = Field(default=None, ge=1, le=120, exclude_if=_unset)

    @property
    def home_holder_kinds(self) -> tuple[MemberKind, ...]:
        """Who may hold a home share (edition 2; placeholder: persons and households)."""
        return self.holder_kinds or ("person", "household")

    @property
    def offer_deadline_months(self) -> int:
        """Months the cooperative has to buy back or resell after an owner's offer (edition 2;
        placeholder 3, as in Koopgarant)."""
        return self.buyback_deadline_months or 3


# Transfers a charter may exempt from the levy (they pay nothing and keep the baseline).
ExemptTransfer = Literal["inheritance", "divorce", "expropriation"]
EXEMPT_TRANSFERS: tuple[ExemptTransfer, ...] = ("inheritance", "divorce", "expropriation")


class LevyTerms(BaseModel):
    model_config = FROZEN
    rate: Fraction = "0.30"
    term_years: int = Field(default=40, ge=1, le=200)
    baseline_policy: Literal["reset-on-sale", "keep"] = "reset-on-sale"
    # Default by version: CPI in a version-1 charter, the regional house-price index from
    # version 2 (Charter._edition_defaults).
    default_index: Ident = "CPI"
    exempt_transfers: tuple[ExemptTransfer, ...] | None = edition_2_field(
        "transfers that pay no levy and keep the baseline (edition 2)"
    )
    dwellings_exempt: bool | None = edition_2_field(
        "whether the cooperative's own dwellings pay no levy (edition 2)"
    )


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


# Parameters that exist from charter version 2 (decision 0016), per table, with DOMAIN.md's
# placeholder values: a version-2 charter that leaves one out gets the placeholder; a
# version-1 charter may not carry one (its rules would silently ignore it), and is written
# without them, so the charters signed in version-1 ledgers keep their one normal form.
EDITION_2_PARAMETERS: dict[str, dict[str, object]] = {
    "shares": {
        "shared_appreciation_base": "stays",
        "holder_kinds": ["person", "household"],
        "buyback_deadline_months": 3,
    },
    "levy": {"exempt_transfers": list(EXEMPT_TRANSFERS), "dwellings_exempt": True},
    "contribution": {"beneficiary": "area-management", "part_month": "whole-month"},
    "lease": {"index_series": "CPI"},
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
    def _edition_defaults(cls, data: object) -> object:
        """Edition-2 parameters: DOMAIN.md's placeholders when a version-2 charter leaves them
        out; refused in a version-1 charter, whose rules would silently ignore them."""
        if not isinstance(data, dict) or data.get("version", 2) not in (1, 2):
            return data  # the field validators say what is wrong
        version = data.get("version", 2)
        if version < 2:
            for table in EDITION_2_TABLES:
                if table in data:
                    raise ValueError(
                        f"[{table}] is a version-2 parameter: a version-1 charter cannot carry it"
                    )
        data = dict(data)
        for table, params in EDITION_2_PARAMETERS.items():
            given = data.get(table, {})
            if not isinstance(given, dict):
                continue
            given = dict(given)
            for name, placeholder in params.items():
                if version < 2 and given.get(name) is not None:
                    raise ValueError(
                        f"{table}.{name} is a version-2 parameter: a version-1 charter cannot "
                        f"carry it (set version = 2)"
                    )
                if version >= 2 and given.get(name) is None:
                    given[name] = placeholder
            if table == "levy" and "default_index" not in given:
                given["default_index"] = "CPI" if version < 2 else DEFAULT_LEVY_INDEX
            data[table] = given
        return data

    @model_validator(mode="after")
    def _lease_area_is_known(self) -> Charter:
        unknown = set(self.lease.area_districts) - set(self.cooperative.districts)
        if unknown:
            raise ValueError(f"lease.area_districts names unknown districts: {sorted(unknown)}")
        return self

    @model_validator(mode="after")
    def _default_rate_is_plausible(self) -> Charter:
        if self.rules_from(2) and Decimal(self.shares.default_rate) > Decimal(
            self.plausibility.max_rate
        ):
            raise ValueError(
                f"shares.default_rate {self.shares.default_rate} is above "
                f"plausibility.max_rate {self.plausibility.max_rate}"
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
# shared-appreciation: the base (price paid, appraisal, date) "stays" the dwelling's from
# sale to sale (community land trust), or "resets" to each sale (Koopgarant).
shared_appreciation_base = "stays"
# Home shares go only to members of these kinds, who declare they will live in the home.
holder_kinds = ["person", "household"]
# After a member offers the share, the cooperative buys it back or arranges a resale within
# this many months (Koopgarant's 3).
buyback_deadline_months = 3

[levy]
# Surplus-value levy: share of the EXTRA value increase, charged on every disposal in the term.
rate = "0.30"
term_years = 40                   # from delivery; on the anniversary itself no levy
# reset-on-sale: the next baseline is max(price, appraisal) at the sale month;
# keep: the baseline stays and each sale is credited with the extra already assessed.
baseline_policy = "reset-on-sale"
# The expected value path: a regional house-price index (placeholder: CBS/Kadaster price
# index of existing homes, Almere), so ordinary market rises are not levied.
default_index = "HPI-ALMERE"
# Transfers that pay no levy and keep the baseline: inheritance | divorce | expropriation.
exempt_transfers = ["inheritance", "divorce", "expropriation"]
dwellings_exempt = true           # the cooperative's own dwellings (their price is preset)

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
