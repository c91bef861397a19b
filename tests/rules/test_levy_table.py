"""Surplus-value levy, one row per clause of DOMAIN.md's levy rule and its worked example."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import pytest

from ledger.errors import InputError, RuleViolationError
from ledger.money import Rounding
from ledger.rules.levy_rules import LevyComputation, compute_levy, term_end

DELIVERED = date(2031, 5, 1)
TERM_END = date(2071, 5, 1)


@dataclass(frozen=True)
class Sale:
    """DOMAIN.md's example (placeholder rate 30%); each row changes only what it is about."""

    baseline_cents: int = 400_000_00
    baseline_index: str = "100.0"
    sale_index: str = "125.0"
    sale_price_cents: int = 560_000_00
    appraisal_cents: int | None = None
    improvements_cents: int = 15_000_00
    rate: str = "0.30"
    delivered: date = DELIVERED
    sale_date: date = date(2040, 6, 1)
    term_years: int = 40
    rounding: Rounding = "half-up"

    def levy(self) -> LevyComputation:
        return compute_levy(
            baseline_cents=self.baseline_cents,
            baseline_index=Decimal(self.baseline_index),
            sale_index=Decimal(self.sale_index),
            sale_price_cents=self.sale_price_cents,
            appraisal_cents=self.appraisal_cents,
            improvements_cents=self.improvements_cents,
            rate=Decimal(self.rate),
            delivered=self.delivered,
            sale_date=self.sale_date,
            term_years=self.term_years,
            rounding=self.rounding,
        )


EXAMPLE = Sale()


@pytest.mark.parametrize(
    ("sale", "expected_cents", "extra_cents", "levy_cents"),
    [
        pytest.param(
            EXAMPLE,
            500_000_00,
            45_000_00,
            13_500_00,
            id="DOMAIN.md example: E = 500,000, X = 45,000, L = 13,500.00",
        ),
        pytest.param(
            replace(EXAMPLE, sale_price_cents=500_000_00, improvements_cents=0),
            500_000_00,
            0,
            0,
            id="sold at exactly the expected value: no levy",
        ),
        pytest.param(
            replace(EXAMPLE, sale_price_cents=450_000_00),
            500_000_00,
            0,
            0,
            id="sold below the expected value: no levy, never negative",
        ),
        pytest.param(
            replace(EXAMPLE, sale_price_cents=510_000_00),
            500_000_00,
            0,
            0,
            id="improvements larger than the rise: no levy, never negative",
        ),
        pytest.param(
            replace(EXAMPLE, appraisal_cents=600_000_00),
            500_000_00,
            85_000_00,
            25_500_00,
            id="appraisal above the declared price: the appraisal is used",
        ),
        pytest.param(
            replace(EXAMPLE, appraisal_cents=520_000_00),
            500_000_00,
            45_000_00,
            13_500_00,
            id="appraisal below the declared price: the price is used",
        ),
        pytest.param(
            replace(EXAMPLE, improvements_cents=0),
            500_000_00,
            60_000_00,
            18_000_00,
            id="without improvements the whole rise above E is levied",
        ),
        pytest.param(
            replace(EXAMPLE, improvements_cents=30_000_00),
            500_000_00,
            30_000_00,
            9_000_00,
            id="approved improvements are credited in full",
        ),
        pytest.param(
            replace(EXAMPLE, sale_index="100.0"),
            400_000_00,
            145_000_00,
            43_500_00,
            id="index unchanged: E is the baseline",
        ),
        pytest.param(
            replace(EXAMPLE, sale_index="90"),
            360_000_00,
            185_000_00,
            55_500_00,
            id="index fell: E falls with it",
        ),
        pytest.param(replace(EXAMPLE, rate="0"), 500_000_00, 45_000_00, 0, id="rate 0: no levy"),
    ],
)
def test_levy_clauses(sale: Sale, expected_cents: int, extra_cents: int, levy_cents: int) -> None:
    result = sale.levy()
    assert (result.expected_cents, result.extra_cents, result.levy_cents) == (
        expected_cents,
        extra_cents,
        levy_cents,
    )
    assert result.in_term


@pytest.mark.parametrize(
    ("sale_date", "in_term", "levy_cents"),
    [
        pytest.param(
            date(2071, 4, 30),
            True,
            13_500_00,
            id="the day before the 40th anniversary of delivery: levied",
        ),
        pytest.param(date(2071, 5, 1), False, 0, id="on the 40th anniversary itself: no levy"),
        pytest.param(date(2080, 1, 1), False, 0, id="after the term: no levy"),
        pytest.param(DELIVERED, True, 13_500_00, id="sold on the delivery date: levied"),
    ],
)
def test_forty_year_term(sale_date: date, in_term: bool, levy_cents: int) -> None:
    result = replace(EXAMPLE, sale_date=sale_date).levy()
    assert (result.in_term, result.levy_cents) == (in_term, levy_cents)
    # E and X are still computed and shown: the entry records why the levy is 0.
    assert result.extra_cents == 45_000_00


@pytest.mark.parametrize(
    ("delivered", "term_years", "end"),
    [
        pytest.param(DELIVERED, 40, TERM_END, id="the 40th anniversary of delivery"),
        pytest.param(
            date(2032, 2, 29), 40, date(2072, 2, 29), id="from 29 Feb into a leap year: 29 Feb"
        ),
        pytest.param(
            date(2032, 2, 29),
            41,
            date(2073, 3, 1),
            id="from 29 Feb into a common year: 1 March, never early",
        ),
        pytest.param(DELIVERED, 0, DELIVERED, id="a zero-year term ends on delivery"),
    ],
)
def test_term_end(delivered: date, term_years: int, end: date) -> None:
    assert term_end(delivered, term_years) == end


def test_leap_day_delivery_is_levied_on_28_february_of_the_last_year() -> None:
    leap = replace(EXAMPLE, delivered=date(2032, 2, 29), term_years=41)
    assert replace(leap, sale_date=date(2073, 2, 28)).levy().levy_cents == 13_500_00
    assert replace(leap, sale_date=date(2073, 3, 1)).levy().levy_cents == 0


def test_second_sale_levies_only_the_increase_since_the_first() -> None:
    first = EXAMPLE.levy()
    # Default baseline policy: the next baseline is the sale price at the sale month's index.
    second = replace(
        EXAMPLE,
        baseline_cents=EXAMPLE.sale_price_cents,
        baseline_index=EXAMPLE.sale_index,
        sale_index="150.0",
        sale_price_cents=700_000_00,
        improvements_cents=0,
        sale_date=date(2050, 3, 1),
    ).levy()
    assert first.levy_cents == 13_500_00
    assert second.expected_cents == 672_000_00  # 560,000 × 150 / 125
    assert second.extra_cents == 28_000_00
    assert second.levy_cents == 8_400_00
    # From the original baseline the second sale would have been levied on 100,000 of rise,
    # part of which was already levied at the first sale.
    from_origin = replace(
        EXAMPLE, sale_index="150.0", sale_price_cents=700_000_00, improvements_cents=0
    ).levy()
    assert from_origin.levy_cents == 30_000_00


@pytest.mark.parametrize(
    ("rounding", "levy_cents"),
    [
        pytest.param("half-up", 13_500_02, id="half-up: 13,500.015 gives 13,500.02"),
        pytest.param("truncate", 13_500_01, id="truncate: 13,500.015 gives 13,500.01"),
    ],
)
def test_rounding_rule_applies_once_to_the_levy(rounding: Rounding, levy_cents: int) -> None:
    result = replace(EXAMPLE, sale_price_cents=560_000_05, rounding=rounding).levy()
    assert result.extra_eur == Decimal("45000.05")
    assert result.levy_cents == levy_cents


def test_levy_is_computed_from_the_exact_expected_value() -> None:
    # E = 200,000 × 1/3 = 66,666.666...; X = 33,333.333... and L = 0.3 × X = exactly 10,000.
    # Subtracting a rounded E would leave L = 9,999.999... and truncation would lose a cent.
    result = replace(
        EXAMPLE,
        baseline_cents=200_000_00,
        baseline_index="3",
        sale_index="1",
        sale_price_cents=100_000_00,
        improvements_cents=0,
        rate="0.3",
        rounding="truncate",
    ).levy()
    assert result.expected_cents == 66_666_66
    assert result.extra_cents == 33_333_33
    assert result.levy_cents == 10_000_00


def test_trail_records_every_input_and_shows_exact_values() -> None:
    result = replace(EXAMPLE, appraisal_cents=520_000_00).levy()
    assert result.inputs == {
        "baseline_cents": "40000000",
        "baseline_index": "100",
        "sale_index": "125",
        "sale_price_cents": "56000000",
        "appraisal_cents": "52000000",
        "improvements_cents": "1500000",
        "rate": "0.3",
        "delivered": "2031-05-01",
        "sale_date": "2040-06-01",
        "term_years": "40",
        "term_end": "2071-05-01",
        "rounding": "half-up",
    }
    assert result.steps == (
        "term: 40 years from delivery on 2031-05-01, levied on sales before 2071-05-01; "
        "sale on 2040-06-01 is within the term",
        "E = V_base × I(sale) / I(base) = 400000.00 × 125.0 / 100.0 = 500000.00",
        "S = 560000.00, A = 520000.00: max(S, A) = 560000.00",
        "C = 15000.00 (approved improvements)",
        "X = max(0, max(S, A) − E − C) = max(0, 560000.00 − 500000.00 − 15000.00) = 45000.00",
        "L = rate × X = 0.3 × 45000.00 = 13500.0000",
        "rounded half-up to the cent: L = 13500.00",
    )


@pytest.mark.parametrize(
    ("sale", "error", "message"),
    [
        pytest.param(
            replace(EXAMPLE, sale_date=date(2031, 4, 30)),
            RuleViolationError,
            "sale date 2031-04-30 is before the delivery date 2031-05-01",
            id="a sale before delivery is refused",
        ),
        pytest.param(
            replace(EXAMPLE, rate="1.5"),
            InputError,
            "levy rate 1.5 is out of range: expected a fraction from 0 to 1",
            id="a rate above 1 is refused",
        ),
        pytest.param(
            replace(EXAMPLE, rate="-0.1"),
            InputError,
            "levy rate -0.1 is out of range: expected a fraction from 0 to 1",
            id="a negative rate is refused",
        ),
        pytest.param(
            replace(EXAMPLE, baseline_index="0"),
            InputError,
            "baseline index 0 is not usable: expected a positive decimal",
            id="a zero index is refused",
        ),
        pytest.param(
            replace(EXAMPLE, improvements_cents=-1),
            InputError,
            "improvements -0.01 is out of range: expected 0 to 90071992547409.91",
            id="negative improvements are refused",
        ),
        pytest.param(
            replace(EXAMPLE, baseline_index="0.001", sale_index="1000000"),
            InputError,
            "expected value (baseline 400000.00 × 1000000 / 0.001) is out of range: "
            "expected at most 90071992547409.91, found 400000000000000.00",
            id="an expected value beyond the largest amount is refused",
        ),
        pytest.param(
            replace(EXAMPLE, term_years=-1),
            InputError,
            "levy term -1 years is negative: expected 0 or more years",
            id="a negative term is refused",
        ),
    ],
)
def test_refusals(sale: Sale, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as raised:
        sale.levy()
    assert str(raised.value) == message
