"""Surplus-value levy: expected value, extra increase and levy on a sale, with the trail."""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ledger.calendar import anniversary
from ledger.errors import InputError, RuleViolationError
from ledger.money import (
    MAX_CENTS,
    Rounding,
    brief_decimal,
    cents_to_eur,
    format_eur,
    plain_decimal,
    rate_str,
    round_to_cents,
)
from ledger.rules.price_rules import PRECISION


@dataclass(frozen=True)
class LevyComputation:
    """The levy on one sale and how it was found.

    Only levy_cents is charged. expected_cents and extra_cents are E and X rounded by the same
    rule for display and reports; the levy is computed from the exact E and X (expected_eur,
    extra_eur), so it is rounded once.
    """

    expected_cents: int
    extra_cents: int
    levy_cents: int
    in_term: bool
    expected_eur: Decimal
    extra_eur: Decimal
    steps: tuple[str, ...]
    inputs: dict[str, str] = field(default_factory=dict)


def term_end(delivered: date, term_years: int) -> date:
    """The first day without a levy: the term_years-th anniversary of delivery.

    From a 29 February delivery the anniversary in a common year is 1 March (as for prices):
    the term has fully run only then, so a sale on 28 February is still levied.
    """
    if term_years < 0:
        raise InputError(f"levy term {term_years} years is negative: expected 0 or more years")
    return anniversary(delivered, term_years)


def compute_levy(
    *,
    baseline_cents: int,
    baseline_index: Decimal,
    sale_index: Decimal,
    sale_price_cents: int,
    appraisal_cents: int | None,
    improvements_cents: int = 0,
    rate: Decimal,
    delivered: date,
    sale_date: date,
    term_years: int,
    rounding: Rounding,
    credit_cents: int | None = None,
) -> LevyComputation:
    """The levy on a sale: L = rate × max(0, max(S, A) − E − C − K), with E = V·I(sale) / I(base).

    K (`credit_cents`, edition 2, `keep` policy only) is the extra increase already assessed on
    earlier sales measured from the same baseline: it is never levied twice. A sale before the
    end of the term pays L rounded once by the charter's rule; a sale on the anniversary or
    later pays nothing. The caller looks up the two index values by month.
    """
    if sale_date < delivered:
        raise RuleViolationError(f"sale date {sale_date} is before the delivery date {delivered}")
    amounts = [("baseline value", baseline_cents), ("sale price", sale_price_cents)]
    amounts.append(("improvements", improvements_cents))
    if appraisal_cents is not None:
        amounts.append(("appraisal", appraisal_cents))
    if credit_cents is not None:
        amounts.append(("extra already assessed", credit_cents))
    for what, cents in amounts:
        if not 0 <= cents <= MAX_CENTS:
            raise InputError(
                f"{what} {format_eur(cents)} is out of range: expected 0 to {format_eur(MAX_CENTS)}"
            )
    for what, value in (("baseline index", baseline_index), ("sale index", sale_index)):
        if not value.is_finite() or value <= 0:
            raise InputError(f"{what} {value} is not usable: expected a positive decimal")
    if not rate.is_finite() or not 0 <= rate <= 1:
        raise InputError(f"levy rate {rate} is out of range: expected a fraction from 0 to 1")
    end = term_end(delivered, term_years)
    in_term = sale_date < end

    steps: list[str] = []
    inputs = {
        "baseline_cents": str(baseline_cents),
        "baseline_index": rate_str(baseline_index),
        "sale_index": rate_str(sale_index),
        "sale_price_cents": str(sale_price_cents),
        "improvements_cents": str(improvements_cents),
        "rate": rate_str(rate),
        "delivered": delivered.isoformat(),
        "sale_date": sale_date.isoformat(),
        "term_years": str(term_years),
        "term_end": end.isoformat(),
        "rounding": rounding,
    }
    if appraisal_cents is not None:
        inputs["appraisal_cents"] = str(appraisal_cents)
    if credit_cents is not None:
        inputs["credit_cents"] = str(credit_cents)

    v_base, s, c, k = (
        cents_to_eur(baseline_cents),
        cents_to_eur(sale_price_cents),
        cents_to_eur(improvements_cents),
        cents_to_eur(credit_cents or 0),
    )
    steps.append(
        f"term: {term_years} years from delivery on {delivered}, levied on sales before {end}; "
        f"sale on {sale_date} is {'within' if in_term else 'on or after the end of'} the term"
    )
    if appraisal_cents is None:
        declared = s
        declared_line = f"S = {s}, no appraisal A: max(S, A) = {s}"
    else:
        a = cents_to_eur(appraisal_cents)
        # The appraisal guards against an under-declared sale price.
        declared = max(s, a)
        declared_line = f"S = {s}, A = {a}: max(S, A) = {declared}"
    try:
        with decimal.localcontext(prec=PRECISION) as ctx:
            # E, X and L are each one division of an exact numerator by I(base). Subtracting a
            # rounded E instead can leave L a hair below a whole cent, which truncation then
            # loses: baseline 200,000 at index 3, sold for 100,000 at index 1, rate 0.3 gives
            # exactly 10,000.00, not 9,999.99.
            ctx.traps[decimal.Inexact] = True
            expected_scaled = v_base * sale_index
            extra_scaled = max(
                Decimal(0),
                declared * baseline_index - expected_scaled - (c + k) * baseline_index,
            )
            levy_scaled = rate * extra_scaled
            ctx.traps[decimal.Inexact] = False
            expected = expected_scaled / baseline_index
            extra = extra_scaled / baseline_index
            exact_levy = levy_scaled / baseline_index
            if expected > cents_to_eur(MAX_CENTS):
                raise InputError(
                    f"expected value (baseline {v_base} × {sale_index} / {baseline_index}) is "
                    f"out of range: expected at most {format_eur(MAX_CENTS)}, "
                    f"found {brief_decimal(expected)}"
                )
            expected_cents = round_to_cents(expected, rounding)
            extra_cents = round_to_cents(extra, rounding)
            levy_cents = round_to_cents(exact_levy, rounding) if in_term else 0
    except decimal.Inexact:
        raise InputError(
            f"the levy inputs (indexes {baseline_index} and {sale_index}, rate {rate}) have too "
            f"many digits: expected the computation to fit {PRECISION} significant digits"
        ) from None
    except decimal.DecimalException:
        raise InputError(
            f"expected value (baseline {v_base} × {sale_index} / {baseline_index}) is out of "
            f"range: expected at most {format_eur(MAX_CENTS)}"
        ) from None
    steps.append(
        f"E = V_base × I(sale) / I(base) = {v_base} × {plain_decimal(sale_index)} / "
        f"{plain_decimal(baseline_index)} = {plain_decimal(expected)}"
    )
    steps.append(declared_line)
    steps.append(f"C = {c} (approved improvements)")
    if credit_cents is None:
        steps.append(
            f"X = max(0, max(S, A) − E − C) = max(0, {declared} − {plain_decimal(expected)} − "
            f"{c}) = {plain_decimal(extra)}"
        )
    else:
        steps.append(f"K = {k} (extra increase already assessed since the baseline)")
        steps.append(
            f"X = max(0, max(S, A) − E − C − K) = max(0, {declared} − {plain_decimal(expected)} "
            f"− {c} − {k}) = {plain_decimal(extra)}"
        )
    if in_term:
        steps.append(
            f"L = rate × X = {rate_str(rate)} × {plain_decimal(extra)} = {plain_decimal(exact_levy)}"
        )
        steps.append(f"rounded {rounding} to the cent: L = {format_eur(levy_cents)}")
    else:
        steps.append(f"sale on or after {end}, the end of the term: L = 0.00")
    return LevyComputation(
        expected_cents=expected_cents,
        extra_cents=extra_cents,
        levy_cents=levy_cents,
        in_term=in_term,
        expected_eur=expected,
        extra_eur=extra,
        steps=tuple(steps),
        inputs=inputs,
    )
