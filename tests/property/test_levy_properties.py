"""Surplus-value levy properties that hold for every sale, checked on generated sales."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger.money import Rounding, round_to_cents
from ledger.rules.levy_rules import LevyComputation, compute_levy, term_end

cents = st.integers(min_value=0, max_value=100_000_000_00)
# Index values within a factor 1,000 of each other keep E in range (refused beyond, see tables).
index_values = st.decimals(
    min_value=Decimal("1"),
    max_value=Decimal("1000"),
    places=3,
    allow_nan=False,
    allow_infinity=False,
)
rates = st.decimals(
    min_value=Decimal(0), max_value=Decimal(1), places=4, allow_nan=False, allow_infinity=False
)
roundings: st.SearchStrategy[Rounding] = st.sampled_from(["half-up", "truncate"])


@st.composite
def sales(draw: st.DrawFn) -> dict[str, Any]:
    """The keyword arguments of compute_levy for one sale, anywhere from delivery to long after."""
    delivered = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
    return {
        "baseline_cents": draw(cents),
        "baseline_index": draw(index_values),
        "sale_index": draw(index_values),
        "sale_price_cents": draw(cents),
        "appraisal_cents": draw(st.none() | cents),
        "improvements_cents": draw(cents),
        "rate": draw(rates),
        "delivered": delivered,
        "sale_date": delivered + timedelta(days=draw(st.integers(0, 70 * 366))),
        "term_years": draw(st.integers(0, 60)),
        "rounding": draw(roundings),
    }


def levy(sale: dict[str, Any]) -> LevyComputation:
    return compute_levy(**sale)


@given(sales())
def test_levy_is_never_negative(sale: dict[str, Any]) -> None:
    result = levy(sale)
    assert result.levy_cents >= 0
    assert result.extra_eur >= 0


@given(sales())
def test_no_levy_on_or_after_the_end_of_the_term(sale: dict[str, Any]) -> None:
    result = levy(sale)
    ended = sale["sale_date"] >= term_end(sale["delivered"], sale["term_years"])
    assert result.in_term is not ended
    if ended:
        assert result.levy_cents == 0


@given(sales())
def test_levy_is_at_most_the_rate_of_the_declared_value(sale: dict[str, Any]) -> None:
    declared = max(sale["sale_price_cents"], sale["appraisal_cents"] or 0)
    ceiling = round_to_cents(sale["rate"] * Decimal(declared) / 100, sale["rounding"])
    assert levy(sale).levy_cents <= ceiling


@given(sales(), cents)
def test_levy_grows_with_the_sale_price(sale: dict[str, Any], more: int) -> None:
    higher = {**sale, "sale_price_cents": sale["sale_price_cents"] + more}
    assert levy(sale).levy_cents <= levy(higher).levy_cents


@given(
    baseline=st.integers(min_value=1_00, max_value=10_000_000_00),
    base_index=index_values,
    steps=st.lists(
        st.tuples(index_values, st.integers(min_value=0, max_value=20_000_000_00), cents),
        min_size=1,
        max_size=6,
    ),
    rounding=roundings,
)
def test_keep_never_levies_the_same_increase_twice(
    baseline: int,
    base_index: Decimal,
    steps: list[tuple[Decimal, int, int]],
    rounding: Rounding,
) -> None:
    """Edition 2, `keep`: over any run of sales from one baseline, with K the largest cumulative
    extra assessed so far, the extras assessed add up to the largest cumulative extra (each
    rounded once), never more: no part of an increase is levied twice."""
    credit, total, largest = 0, 0, 0
    for sale_index, price, improvements in steps:
        common: dict[str, Any] = {
            "baseline_cents": baseline, "baseline_index": base_index, "sale_index": sale_index,
            "sale_price_cents": price, "appraisal_cents": None,
            "improvements_cents": improvements, "rate": Decimal("0.3"),
            "delivered": date(2031, 5, 1), "sale_date": date(2040, 6, 1), "term_years": 40,
            "rounding": rounding,
        }  # fmt: skip
        cumulative = compute_levy(**common).extra_cents  # measured from the baseline, no credit
        levied = compute_levy(**common, credit_cents=credit)
        assert levied.extra_cents == max(0, cumulative - credit)
        total += levied.extra_cents
        largest = max(largest, cumulative)
        credit = max(credit, credit + levied.extra_cents)
        assert total == largest == credit
