"""Preset share prices, one row per clause of DOMAIN.md's price rules and its worked examples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from ledger.errors import InputError, RuleViolationError
from ledger.money import Rounding
from ledger.rules.price_rules import (
    FixedRateRule,
    IndexedRule,
    NominalRule,
    PriceRule,
    SharedAppreciationRule,
    anniversary,
    compute_price,
    whole_years,
)

BASE = date(2021, 5, 1)
TEN_YEARS_ON = date(2031, 5, 1)

# A published series, by calendar month (placeholder values from DOMAIN.md's example).
CPI = {"2021-05": "130000", "2031-05": "150000", "2031-04": "149000"}


def index(series: str, month: str) -> Decimal | None:
    if series != "CPI" or month not in CPI:
        return None
    return Decimal(CPI[month])


def no_index(series: str, month: str) -> Decimal | None:
    raise AssertionError("this rule must not read an index")


def rule(**params: object) -> PriceRule:
    """A rule as the charter stores it: plain JSON-like data, parsed by the discriminator."""
    return TypeAdapter(PriceRule).validate_python(params)


def nominal(cents: int) -> PriceRule:
    return rule(rule="nominal", base_price_cents=cents, base_date=BASE)


def fixed(cents: int, rate: str, compounding: str, base: date = BASE) -> PriceRule:
    return rule(
        rule="fixed-rate",
        base_price_cents=cents,
        base_date=base,
        rate=rate,
        compounding=compounding,
    )


def indexed(cents: int) -> PriceRule:
    return rule(rule="indexed", base_price_cents=cents, base_date=BASE, series="CPI")


def shared(paid: int, share: str, appraisal_then: int) -> PriceRule:
    return rule(
        rule="shared-appreciation",
        base_price_cents=paid,
        base_date=BASE,
        owner_share=share,
        base_appraisal_cents=appraisal_then,
    )


@pytest.mark.parametrize(
    ("price_rule", "on", "rounding", "expected_cents"),
    [
        pytest.param(
            nominal(250_000_00),
            TEN_YEARS_ON,
            "half-up",
            250_000_00,
            id="nominal 250,000 stays 250,000.00",
        ),
        pytest.param(
            fixed(250_000_00, "0.02", "simple"),
            TEN_YEARS_ON,
            "half-up",
            300_000_00,
            id="fixed-rate simple 2% over 10 years on 250,000 gives 300,000.00",
        ),
        pytest.param(
            fixed(250_000_00, "0.02", "compound"),
            TEN_YEARS_ON,
            "half-up",
            304_748_60,
            id="fixed-rate compound 2% over 10 years on 250,000 gives 304,748.60",
        ),
        pytest.param(
            fixed(250_000_00, "0.02", "compound"),
            TEN_YEARS_ON,
            "truncate",
            304_748_60,
            id="compound 2% truncated: 304,748.6049... also 304,748.60",
        ),
        pytest.param(
            fixed(350_000_00, "0.015", "compound", date(2024, 5, 1)),
            TEN_YEARS_ON,
            "half-up",
            388_445_72,
            id="fixed-rate compound 1.5% over 7 years on 350,000 gives 388,445.72",
        ),
        pytest.param(
            fixed(350_000_00, "0.015", "compound", date(2024, 5, 1)),
            TEN_YEARS_ON,
            "truncate",
            388_445_71,
            id="compound 1.5% truncated: 388,445.7195... gives 388,445.71",
        ),
        pytest.param(
            indexed(250_000_00),
            TEN_YEARS_ON,
            "half-up",
            288_461_54,
            id="indexed 130,000 to 150,000 on 250,000 gives 288,461.54",
        ),
        pytest.param(
            indexed(250_000_00),
            TEN_YEARS_ON,
            "truncate",
            288_461_53,
            id="indexed truncated: 288,461.538... gives 288,461.53",
        ),
        pytest.param(
            indexed(250_000_00),
            date(2031, 5, 31),
            "half-up",
            288_461_54,
            id="indexed uses the calendar month of the date, any day in it",
        ),
        pytest.param(
            indexed(250_000_00),
            date(2021, 5, 20),
            "half-up",
            250_000_00,
            id="indexed in the base month is the base price",
        ),
        pytest.param(
            fixed(250_000_00, "0.02", "simple"),
            BASE,
            "half-up",
            250_000_00,
            id="fixed-rate on the base date itself: n = 0, the base price",
        ),
        pytest.param(
            fixed(250_000_00, "0", "compound"),
            TEN_YEARS_ON,
            "half-up",
            250_000_00,
            id="fixed-rate at rate 0 stays the base price",
        ),
    ],
)
def test_worked_examples(
    price_rule: PriceRule, on: date, rounding: Rounding, expected_cents: int
) -> None:
    result = compute_price(price_rule, on, rounding, index)
    assert result.price_cents == expected_cents
    assert result.inputs["rounding"] == rounding
    assert result.steps[-1].startswith(f"rounded {rounding} to the cent")


@pytest.mark.parametrize(
    ("base", "on", "years"),
    [
        pytest.param(
            date(2021, 5, 1),
            date(2031, 4, 30),
            9,
            id="the day before the 10th anniversary counts 9 whole years",
        ),
        pytest.param(
            date(2021, 5, 1), date(2031, 5, 1), 10, id="the 10th anniversary itself counts 10"
        ),
        pytest.param(date(2021, 5, 1), date(2021, 12, 31), 0, id="within the first year: 0"),
        pytest.param(
            date(2028, 2, 29),
            date(2029, 2, 28),
            0,
            id="from 29 Feb, 28 Feb of a common year is not yet a whole year",
        ),
        pytest.param(
            date(2028, 2, 29),
            date(2029, 3, 1),
            1,
            id="from 29 Feb, the anniversary in a common year is 1 March",
        ),
        pytest.param(
            date(2028, 2, 29),
            date(2032, 2, 29),
            4,
            id="from 29 Feb, the anniversary in a leap year is 29 Feb",
        ),
        pytest.param(
            date(2028, 2, 28), date(2029, 2, 28), 1, id="from 28 Feb, the anniversary is 28 Feb"
        ),
    ],
)
def test_whole_years_count_anniversaries(base: date, on: date, years: int) -> None:
    assert whole_years(base, on) == years


@pytest.mark.parametrize(
    ("on", "expected_cents"),
    [
        pytest.param(
            date(2031, 4, 30),
            298_773_14,
            id="compound, day before the anniversary: 1.02^9 gives 298,773.14",
        ),
        pytest.param(
            date(2031, 5, 1),
            304_748_60,
            id="compound, on the anniversary: 1.02^10 gives 304,748.60",
        ),
    ],
)
def test_price_steps_up_on_the_anniversary(on: date, expected_cents: int) -> None:
    assert (
        compute_price(fixed(250_000_00, "0.02", "compound"), on, "half-up", index).price_cents
        == expected_cents
    )


def test_leap_day_anniversary_is_1_march() -> None:
    assert anniversary(date(2028, 2, 29), 1) == date(2029, 3, 1)
    assert anniversary(date(2028, 2, 29), 4) == date(2032, 2, 29)


@pytest.mark.parametrize(
    ("appraisal_now", "improvements", "expected_cents"),
    [
        pytest.param(
            300_000_00, None, 225_000_00, id="paid 200,000 + half of a 50,000 rise gives 225,000.00"
        ),
        pytest.param(
            300_000_00, 10_000_00, 235_000_00, id="approved improvements are added in full"
        ),
        pytest.param(250_000_00, 0, 200_000_00, id="no change in value: the price paid"),
        pytest.param(
            200_000_00, 0, 175_000_00, id="a fall in value is shared too: the price goes down"
        ),
        pytest.param(
            0, 0, 75_000_00, id="appraised at nothing: paid less the owner's share of the fall"
        ),
    ],
)
def test_shared_appreciation(
    appraisal_now: int, improvements: int | None, expected_cents: int
) -> None:
    result = compute_price(
        shared(200_000_00, "0.5", 250_000_00),
        TEN_YEARS_ON,
        "half-up",
        no_index,
        appraisal_cents=appraisal_now,
        improvements_cents=improvements,
    )
    assert result.price_cents == expected_cents
    assert result.inputs["appraisal_cents"] == str(appraisal_now)
    assert result.inputs["improvements_cents"] == str(improvements or 0)


def test_shared_appreciation_never_goes_below_zero() -> None:
    result = compute_price(
        shared(10_000_00, "1", 250_000_00),
        TEN_YEARS_ON,
        "half-up",
        no_index,
        appraisal_cents=0,
    )
    assert result.price_cents == 0
    assert "price is below 0: floored at 0" in result.steps


@pytest.mark.parametrize(
    ("price_rule", "on", "error", "message"),
    [
        pytest.param(
            indexed(250_000_00),
            date(2031, 6, 1),
            RuleViolationError,
            "index CPI has no value for 2031-06",
            id="indexed: a missing month is a clear error, not a guess",
        ),
        pytest.param(
            rule(
                rule="indexed",
                base_price_cents=1,
                base_date=BASE,
                series="CPI",
                base_month="2020-12",
            ),
            TEN_YEARS_ON,
            RuleViolationError,
            "index CPI has no value for 2020-12",
            id="indexed: a missing base month too",
        ),
        pytest.param(
            fixed(250_000_00, "0.02", "simple", date(2031, 5, 1)),
            date(2030, 1, 1),
            RuleViolationError,
            "date 2030-01-01 is before the base date 2031-05-01 of the fixed-rate price rule",
            id="a date before the base date is refused",
        ),
        pytest.param(
            nominal(1),
            date(2021, 4, 30),
            RuleViolationError,
            "date 2021-04-30 is before the base date 2021-05-01 of the nominal price rule",
            id="even for nominal, a date before the base date is refused",
        ),
    ],
)
def test_refusals(price_rule: PriceRule, on: date, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as raised:
        compute_price(price_rule, on, "half-up", index)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("price_rule", "appraisal", "improvements", "message"),
    [
        pytest.param(
            shared(1, "0.5", 1),
            None,
            None,
            "the shared-appreciation price rule needs the appraised value now: "
            "expected an appraisal, found none",
            id="shared-appreciation without an appraisal is refused",
        ),
        pytest.param(
            nominal(1),
            300_000_00,
            None,
            "the nominal price rule takes no appraisal: expected none, found 300000.00",
            id="an appraisal given to a rule that does not use it is refused",
        ),
        pytest.param(
            fixed(1, "0.02", "simple"),
            None,
            5_000_00,
            "the fixed-rate price rule takes no improvements: expected none, found 5000.00",
            id="improvements given to a rule that does not use them are refused",
        ),
        pytest.param(
            shared(90_000_000_000_000_00, "1", 0),
            90_000_000_000_000_00,
            None,
            "the shared-appreciation price on 2031-05-01 is out of range: expected at "
            "most 90071992547409.91, found 180000000000000.00",
            id="a price beyond the largest amount is refused",
        ),
        pytest.param(
            shared(1, "0.5", 1),
            -1,
            None,
            "appraisal -0.01 is out of range: expected 0 to 90071992547409.91",
            id="a negative appraisal is refused",
        ),
    ],
)
def test_sale_time_inputs(
    price_rule: PriceRule, appraisal: int | None, improvements: int | None, message: str
) -> None:
    with pytest.raises(InputError) as raised:
        compute_price(
            price_rule,
            TEN_YEARS_ON,
            "half-up",
            index,
            appraisal_cents=appraisal,
            improvements_cents=improvements,
        )
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        pytest.param(
            dict(rule="nominal", base_price_cents=-1, base_date=BASE),
            "greater than or equal to 0",
            id="negative base price",
        ),
        pytest.param(
            dict(rule="nominal", base_price_cents=250000.0, base_date=BASE),
            "valid integer",
            id="a float base price (no floats anywhere)",
        ),
        pytest.param(
            dict(rule="nominal", base_price_cents="25000000", base_date=BASE),
            "valid integer",
            id="a numeric string as base price",
        ),
        pytest.param(
            dict(
                rule="fixed-rate",
                base_price_cents=1,
                base_date=BASE,
                rate="2%",
                compounding="simple",
            ),
            "not a decimal number: '2%'",
            id="malformed rate string",
        ),
        pytest.param(
            dict(
                rule="fixed-rate",
                base_price_cents=1,
                base_date=BASE,
                rate="NaN",
                compounding="simple",
            ),
            "not a decimal number: 'NaN'",
            id="rate is not a number",
        ),
        pytest.param(
            dict(
                rule="fixed-rate",
                base_price_cents=1,
                base_date=BASE,
                rate="-0.01",
                compounding="simple",
            ),
            "rate must be 0 or more, found '-0.01'",
            id="negative rate",
        ),
        pytest.param(
            dict(
                rule="fixed-rate",
                base_price_cents=1,
                base_date=BASE,
                rate="1" + "0" * 99,
                compounding="simple",
            ),
            "String should have at most",
            id="rate too long",
        ),
        pytest.param(
            dict(
                rule="fixed-rate",
                base_price_cents=1,
                base_date=BASE,
                rate="2E-2",
                compounding="simple",
            ),
            "not a decimal number: '2E-2'",
            id="rate in exponent notation refused",
        ),
        pytest.param(
            dict(
                rule="fixed-rate",
                base_price_cents=1,
                base_date=BASE,
                rate="0.123456789012345678901",
                compounding="simple",
            ),
            "rate must have at most 20 significant digits",
            id="rate too precise",
        ),
        pytest.param(
            dict(
                rule="fixed-rate",
                base_price_cents=1,
                base_date=BASE,
                rate=0.02,
                compounding="simple",
            ),
            "valid string",
            id="a float rate (rates are decimal strings)",
        ),
        pytest.param(
            dict(
                rule="fixed-rate",
                base_price_cents=1,
                base_date=BASE,
                rate="0.02",
                compounding="continuous",
            ),
            "'simple' or 'compound'",
            id="unknown compounding",
        ),
        pytest.param(
            dict(
                rule="indexed",
                base_price_cents=1,
                base_date=BASE,
                series="CPI",
                base_month="2021-13",
            ),
            "should match pattern",
            id="base month is not YYYY-MM",
        ),
        pytest.param(
            dict(rule="indexed", base_price_cents=1, base_date=BASE, series=""),
            "at least 1 character",
            id="empty index series",
        ),
        pytest.param(
            dict(
                rule="shared-appreciation",
                base_price_cents=1,
                base_date=BASE,
                owner_share="1.5",
                base_appraisal_cents=1,
            ),
            "owner_share must be at most 1, found '1.5'",
            id="owner share above 1",
        ),
        pytest.param(
            dict(rule="nominal", base_price_cents=1, base_date=BASE, rate="0.02"),
            "Extra inputs are not permitted",
            id="a parameter the rule does not have",
        ),
        pytest.param(
            dict(rule="linear", base_price_cents=1, base_date=BASE),
            "does not match any of the expected tags",
            id="unknown rule",
        ),
    ],
)
def test_bad_rule_parameters_are_refused(params: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError) as raised:
        rule(**params)
    assert complaint in str(raised.value)


@pytest.mark.parametrize(
    ("params", "field", "canonical"),
    [
        pytest.param(
            dict(
                rule="fixed-rate",
                base_price_cents=1,
                base_date=BASE,
                rate="0.020",
                compounding="simple",
            ),
            "rate",
            "0.02",
            id="rate trailing zeros are dropped before signing",
        ),
        pytest.param(
            dict(
                rule="fixed-rate",
                base_price_cents=1,
                base_date=BASE,
                rate="-0",
                compounding="simple",
            ),
            "rate",
            "0",
            id="negative zero is zero",
        ),
        pytest.param(
            dict(rule="indexed", base_price_cents=1, base_date="2021-05-17", series="CPI"),
            "base_month",
            "2021-05",
            id="base month defaults to the base date's month",
        ),
    ],
)
def test_parameters_are_stored_canonically(
    params: dict[str, object], field: str, canonical: str
) -> None:
    assert getattr(rule(**params), field) == canonical


def test_rules_are_frozen_and_round_trip_through_json() -> None:
    adapter: TypeAdapter[PriceRule] = TypeAdapter(PriceRule)
    for price_rule in (nominal(1), fixed(1, "0.02", "compound"), indexed(1), shared(1, "0.5", 1)):
        with pytest.raises(ValidationError):
            price_rule.base_price_cents = 2  # type: ignore[misc]
        assert adapter.validate_json(adapter.dump_json(price_rule)) == price_rule
    assert isinstance(nominal(1), NominalRule)
    assert isinstance(fixed(1, "0", "simple"), FixedRateRule)
    assert isinstance(indexed(1), IndexedRule)
    assert isinstance(shared(1, "0", 1), SharedAppreciationRule)


def test_trail_records_every_input() -> None:
    result = compute_price(indexed(250_000_00), TEN_YEARS_ON, "truncate", index)
    assert result.inputs == {
        "rule": "indexed",
        "date": "2031-05-01",
        "base_date": "2021-05-01",
        "base_price_cents": "25000000",
        "rounding": "truncate",
        "series": "CPI",
        "base_month": "2021-05",
        "month": "2031-05",
        "index_base": "130000",
        "index_now": "150000",
    }
    assert result.steps == (
        "rule indexed: P0 × I(t) / I(t0), index series CPI by calendar month",
        "P0 = 250000.00 (base price on 2021-05-01)",
        "I(t0) = I(CPI, 2021-05) = 130000",
        "I(t) = I(CPI, 2031-05) = 150000",
        "price = 250000.00 × 150000 / 130000 = 288461.53846153846153846153846153846153846153846154",
        "rounded truncate to the cent: 288461.53",
    )
    compound = compute_price(fixed(250_000_00, "0.02", "compound"), TEN_YEARS_ON, "half-up", index)
    assert compound.inputs["years"] == "10"
    assert "(1 + r)^n = 1.02^10 = 1.21899441999475713024" in compound.steps
