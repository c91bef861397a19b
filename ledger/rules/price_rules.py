"""Preset share prices: price rules as signed data, and their computation with a trail."""

from __future__ import annotations

import decimal
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger.calendar import anniversary, whole_years
from ledger.errors import InputError, RuleViolationError
from ledger.money import (
    MAX_CENTS,
    Rounding,
    brief_decimal,
    cents_to_eur,
    format_eur,
    parse_rate,
    plain_decimal,
    rate_str,
    round_to_cents,
)
from ledger.types import edition_2_field

# Significant digits of the working context. Sums and products are exact (or refused); a
# division or a power is cut here, 30-odd digits below the cent, so the one rounding at the
# end, by the charter's rule, is the one that decides the cent. An auditor recomputes the same.
PRECISION = 50

IndexLookup = Callable[[str, str], Decimal | None]
"""(series id, "YYYY-MM") -> the published index value for that month, or None."""

# Rates and shares are short decimals, so that their sums and products fit PRECISION exactly.
_DECIMAL_TEXT_MAX = 64
_SIGNIFICANT_DIGITS_MAX = 20

# Strict: a float or a numeric string must never slip into a signed amount.
Cents = Annotated[int, Field(strict=True, ge=0, le=MAX_CENTS)]
DecimalText = Annotated[str, Field(min_length=1, max_length=_DECIMAL_TEXT_MAX)]
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def _canonical_decimal(text: str, what: str, *, at_most: Decimal | None = None) -> str:
    """Check a decimal string and return its canonical form, the one that gets signed."""
    try:
        value = parse_rate(text)
    except InputError as e:
        # A ValueError inside a validator becomes part of pydantic's ValidationError.
        raise ValueError(f"{what}: {e}") from None
    if value < 0:
        raise ValueError(f"{what} must be 0 or more, found {text!r}")
    if len(value.normalize().as_tuple().digits) > _SIGNIFICANT_DIGITS_MAX:
        raise ValueError(
            f"{what} must have at most {_SIGNIFICANT_DIGITS_MAX} significant digits, found {text!r}"
        )
    if at_most is not None and value > at_most:
        raise ValueError(f"{what} must be at most {at_most}, found {text!r}")
    # "-0" and "0E-3" are both zero; sign one spelling.
    canonical = rate_str(value) if value else "0"
    if len(canonical) > _DECIMAL_TEXT_MAX:
        raise ValueError(
            f"{what} must have at most {_DECIMAL_TEXT_MAX} characters written out, found {text!r}"
        )
    return canonical


class NominalRule(BaseModel):
    """The base price, unchanged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Literal["nominal"] = "nominal"
    base_price_cents: Cents
    base_date: date


class FixedRateRule(BaseModel):
    """The base price grown by a fixed yearly rate, simple P0·(1 + r·n) or compound P0·(1 + r)^n."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Literal["fixed-rate"] = "fixed-rate"
    base_price_cents: Cents
    base_date: date
    rate: DecimalText
    compounding: Literal["simple", "compound"]

    @field_validator("rate")
    @classmethod
    def _rate_is_a_decimal(cls, value: str) -> str:
        return _canonical_decimal(value, "rate")


class IndexedRule(BaseModel):
    """The base price times I(month of the date) / I(base month) of a published index series."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Literal["indexed"] = "indexed"
    base_price_cents: Cents
    base_date: date
    series: Annotated[str, Field(min_length=1, max_length=64)]
    # Filled in from base_date before validation, so the signed rule always names its month.
    base_month: Month = ""

    @model_validator(mode="before")
    @classmethod
    def _base_month_defaults_to_base_date(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("base_month") is None:
            base = data.get("base_date")
            if isinstance(base, str):
                try:
                    base = date.fromisoformat(base)
                except ValueError:
                    return data  # base_date's own error says what is wrong; one error is enough
            if isinstance(base, date):
                return {**data, "base_month": _month(base)}
        return data


class SharedAppreciationRule(BaseModel):
    """Price paid + improvements + owner's share of the appraised value's change (Koopgarant style).

    The appraisal now and the improvements are sale-time inputs, passed to compute_price. Both
    appraisals EXCLUDE the owner's improvements, which are appraised separately (as OpMaat
    does for Koopgarant): an appraisal that includes them would count them twice.
    `base_at_resale` (edition 2, from the charter): "stays" keeps this base from sale to
    sale; "resets" makes each sale to a member the base of the next price (ledger/rules/
    shares.py: price_base).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Literal["shared-appreciation"] = "shared-appreciation"
    base_price_cents: Cents
    base_date: date
    owner_share: DecimalText
    base_appraisal_cents: Cents
    base_at_resale: Literal["stays", "resets"] | None = edition_2_field(
        "whether the base stays the dwelling's or resets at each sale (edition 2)"
    )

    @field_validator("owner_share")
    @classmethod
    def _owner_share_is_a_fraction(cls, value: str) -> str:
        return _canonical_decimal(value, "owner_share", at_most=Decimal(1))


PriceRule = Annotated[
    NominalRule | FixedRateRule | IndexedRule | SharedAppreciationRule,
    Field(discriminator="rule"),
]


@dataclass(frozen=True)
class PriceComputation:
    """A preset price and how it was found: lines for the member, inputs for the entry.

    The lines are written when asked for (`steps`): the rules only compare the price and the
    inputs, and formatting the lines cost a third of a computation."""

    price_cents: int
    inputs: dict[str, str]
    explain: Callable[[], tuple[str, ...]] = field(repr=False, compare=False)

    @property
    def steps(self) -> tuple[str, ...]:
        return self.explain()


# The last computations, by everything a price depends on. A writer computes each price twice
# (its rule decides, the applier checks); the second is a lookup. Bounded, so a replay of
# millions of sales keeps a constant size (docs/decisions/0013-perf-rules-replay.md).
_MEMO: dict[tuple[object, ...], PriceComputation] = {}
_MEMO_MAX = 4096


def compute_price(
    rule: PriceRule,
    on: date,
    rounding: Rounding,
    index: IndexLookup,
    appraisal_cents: int | None = None,
    improvements_cents: int | None = None,
) -> PriceComputation:
    """The preset price of a share on a date, by its rule, rounded once at the end."""
    if isinstance(rule, IndexedRule):
        # The two index values are part of what the price depends on; a missing or bad one
        # is left to the computation below, which names it.
        i0 = index(rule.series, rule.base_month)
        it = index(rule.series, _month(on))
        key: tuple[object, ...] = (rule, on, rounding, appraisal_cents, improvements_cents, i0, it)
    else:
        key = (rule, on, rounding, appraisal_cents, improvements_cents)
    found = _MEMO.get(key)
    if found is None:
        # The values looked up above serve the computation and, later, its explanation,
        # whatever the index holds by then; the memo keeps no reference to the caller's lookup
        # (nor so to its state and connection).
        lookup = _frozen_lookup(
            {(rule.series, rule.base_month): i0, (rule.series, _month(on)): it}
            if isinstance(rule, IndexedRule)
            else {}
        )
        price_cents, inputs = _compute_price(
            rule, on, rounding, lookup, appraisal_cents, improvements_cents, None
        )

        def explain() -> tuple[str, ...]:
            steps: list[str] = []
            _compute_price(rule, on, rounding, lookup, appraisal_cents, improvements_cents, steps)
            return tuple(steps)

        found = PriceComputation(price_cents, inputs, explain)
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        _MEMO[key] = found
    # The caller gets its own inputs dict: a cached computation is never changed through it.
    return PriceComputation(found.price_cents, dict(found.inputs), found.explain)


def _frozen_lookup(values: dict[tuple[str, str], Decimal | None]) -> IndexLookup:
    return lambda series, month: values.get((series, month))


def _compute_price(
    rule: PriceRule,
    on: date,
    rounding: Rounding,
    index: IndexLookup,
    appraisal_cents: int | None,
    improvements_cents: int | None,
    steps: list[str] | None,
) -> tuple[int, dict[str, str]]:
    """The price and its recorded inputs; the explanation lines go to `steps` when given."""
    if on < rule.base_date:
        raise RuleViolationError(
            f"date {on} is before the base date {rule.base_date} of the {rule.rule} price rule"
        )
    if not isinstance(rule, SharedAppreciationRule):
        # Silently ignoring them would hide a caller who thinks they change the price.
        for name, given in (("appraisal", appraisal_cents), ("improvements", improvements_cents)):
            if given is not None:
                raise InputError(
                    f"the {rule.rule} price rule takes no {name}: expected none, "
                    f"found {format_eur(given)}"
                )
    trail = _Trail(steps)
    trail.record(
        rule=rule.rule,
        date=on.isoformat(),
        base_date=rule.base_date.isoformat(),
        base_price_cents=str(rule.base_price_cents),
        rounding=rounding,
    )
    try:
        with decimal.localcontext(prec=PRECISION) as ctx:
            # Sums and products must come out exact; only a division or a power may round,
            # inside _may_round, so the trail's values are exact or 50 digits close.
            ctx.traps[decimal.Inexact] = True
            if isinstance(rule, NominalRule):
                exact = _nominal(rule, trail)
            elif isinstance(rule, FixedRateRule):
                exact = _fixed_rate(rule, on, trail)
            elif isinstance(rule, IndexedRule):
                exact = _indexed(rule, on, index, trail)
            else:
                exact = _shared_appreciation(rule, appraisal_cents, improvements_cents, trail)
            ctx.traps[decimal.Inexact] = False
            if exact > cents_to_eur(MAX_CENTS):
                raise InputError(
                    f"the {rule.rule} price on {on} is out of range: expected at most "
                    f"{format_eur(MAX_CENTS)}, found {brief_decimal(exact)}"
                )
            price_cents = round_to_cents(exact, rounding)
    except decimal.Inexact:
        raise InputError(
            f"the {rule.rule} price rule's values have too many digits: expected the "
            f"computation to fit {PRECISION} significant digits"
        ) from None
    except decimal.DecimalException:
        raise InputError(
            f"the {rule.rule} price on {on} is out of range: expected at most "
            f"{format_eur(MAX_CENTS)}"
        ) from None
    if trail.explaining:
        trail.step(f"rounded {rounding} to the cent: {format_eur(price_cents)}")
    return price_cents, trail.inputs


def _nominal(rule: NominalRule, trail: _Trail) -> Decimal:
    p0 = cents_to_eur(rule.base_price_cents)
    if trail.explaining:
        trail.step("rule nominal: the base price, unchanged")
        trail.step(f"P0 = {p0} (base price on {rule.base_date})")
        trail.step(f"price = P0 = {p0}")
    return p0


def _fixed_rate(rule: FixedRateRule, on: date, trail: _Trail) -> Decimal:
    p0 = cents_to_eur(rule.base_price_cents)
    r = Decimal(rule.rate)
    n = whole_years(rule.base_date, on)
    trail.record(rate=rule.rate, compounding=rule.compounding, years=str(n))
    if rule.compounding == "simple":
        factor = 1 + r * n
        price = p0 * factor
    else:
        # A long term or a long rate outgrows 50 digits: the power, and then the product, round.
        with _may_round():
            factor = (1 + r) ** n
            price = p0 * factor
    if trail.explaining:
        if rule.compounding == "simple":
            trail.step("rule fixed-rate simple: P0 × (1 + r·n)")
        else:
            trail.step("rule fixed-rate compound: P0 × (1 + r)^n")
        trail.step(f"P0 = {p0} (base price on {rule.base_date}), r = {rule.rate}")
        counted = f" (anniversary {n} was {anniversary(rule.base_date, n)})" if n else ""
        trail.step(f"n = {n} whole years from {rule.base_date} to {on}{counted}")
        if rule.compounding == "simple":
            trail.step(f"1 + r·n = 1 + {rule.rate} × {n} = {plain_decimal(factor)}")
        else:
            trail.step(f"(1 + r)^n = {plain_decimal(1 + r)}^{n} = {plain_decimal(factor)}")
        trail.step(f"price = {p0} × {plain_decimal(factor)} = {plain_decimal(price)}")
    return price


def _indexed(rule: IndexedRule, on: date, index: IndexLookup, trail: _Trail) -> Decimal:
    p0 = cents_to_eur(rule.base_price_cents)
    month = _month(on)
    i0 = _index_value(index, rule.series, rule.base_month)
    it = _index_value(index, rule.series, month)
    trail.record(
        series=rule.series,
        base_month=rule.base_month,
        month=month,
        index_base=rate_str(i0),
        index_now=rate_str(it),
    )
    # Multiply before dividing: the product is exact, so only the division can round.
    scaled = p0 * it
    with _may_round():
        price = scaled / i0
    if trail.explaining:
        trail.step(f"rule indexed: P0 × I(t) / I(t0), index series {rule.series} by calendar month")
        trail.step(f"P0 = {p0} (base price on {rule.base_date})")
        trail.step(f"I(t0) = I({rule.series}, {rule.base_month}) = {plain_decimal(i0)}")
        trail.step(f"I(t) = I({rule.series}, {month}) = {plain_decimal(it)}")
        trail.step(
            f"price = {p0} × {plain_decimal(it)} / {plain_decimal(i0)} = {plain_decimal(price)}"
        )
    return price


def _shared_appreciation(
    rule: SharedAppreciationRule,
    appraisal_cents: int | None,
    improvements_cents: int | None,
    trail: _Trail,
) -> Decimal:
    if appraisal_cents is None:
        raise InputError(
            "the shared-appreciation price rule needs the appraised value now: expected an "
            "appraisal, found none"
        )
    if improvements_cents is None:
        improvements_cents = 0
    for name, cents in (("appraisal", appraisal_cents), ("improvements", improvements_cents)):
        if not 0 <= cents <= MAX_CENTS:
            raise InputError(
                f"{name} {format_eur(cents)} is out of range: expected 0 to {format_eur(MAX_CENTS)}"
            )
    paid = cents_to_eur(rule.base_price_cents)
    improvements = cents_to_eur(improvements_cents)
    then = cents_to_eur(rule.base_appraisal_cents)
    now = cents_to_eur(appraisal_cents)
    share = Decimal(rule.owner_share)
    trail.record(
        owner_share=rule.owner_share,
        base_appraisal_cents=str(rule.base_appraisal_cents),
        appraisal_cents=str(appraisal_cents),
        improvements_cents=str(improvements_cents),
    )
    part = share * (now - then)
    price = paid + improvements + part
    # A fall in value is shared too, but the cooperative never charges to take a share back.
    floored = price < 0
    if trail.explaining:
        trail.step(
            "rule shared-appreciation: paid + improvements + owner share × (appraisal now − "
            "appraisal then), never below 0; both appraisals exclude the owner's improvements"
        )
        trail.step(f"paid = {paid} (on {rule.base_date}), improvements = {improvements}")
        trail.step(
            f"appraisal then = {then}, appraisal now = {now} (without improvements), "
            f"owner share = {rule.owner_share}"
        )
        trail.step(f"owner's part = {rule.owner_share} × ({now} − {then}) = {plain_decimal(part)}")
        trail.step(
            f"price = {paid} + {improvements} + {plain_decimal(part)} = {plain_decimal(price)}"
        )
        if floored:
            trail.step("price is below 0: floored at 0")
    return Decimal(0) if floored else price


def _may_round() -> AbstractContextManager[decimal.Context]:
    """A block allowed to round to the working precision (a division, a power)."""
    ctx = decimal.getcontext().copy()
    ctx.traps[decimal.Inexact] = False
    return decimal.localcontext(ctx)


def _index_value(index: IndexLookup, series: str, month: str) -> Decimal:
    value = index(series, month)
    if value is None:
        raise RuleViolationError(f"index {series} has no value for {month}")
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise InputError(
            f"index {series} value for {month} is {value!r}: expected a positive decimal"
        )
    return value


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class _Trail:
    """Collects the recorded inputs of one computation, and its explanation lines when they
    are asked for (`explaining`: every line is written under that test, so a price that is
    only compared formats none)."""

    def __init__(self, steps: list[str] | None) -> None:
        self._steps = steps
        self.explaining = steps is not None
        self.inputs: dict[str, str] = {}

    def step(self, line: str) -> None:
        assert self._steps is not None, "a line written without explaining"
        self._steps.append(line)

    def record(self, **inputs: str) -> None:
        self.inputs.update(inputs)
